//! What the contract suite cannot reach through the ports alone: counters set by the
//! booking engine, columns the domain does not expose, promotion across queue batches,
//! key cleanup, and migrations run twice.

#![allow(clippy::expect_used)] // test code: failing loudly is the point

use boxoffice_domain::booking::{OnSoldOut, Quantity, WaitlistStatus};
use boxoffice_domain::event::{EventDetails, NewEvent, NewTicketType};
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::ports::{
    BookError, BookRequest, Bookings, EventRepository, Idempotency, Reservations, SeatRequest,
    UpdateEventError, UserRepository, Waitlists,
};
use boxoffice_domain::time::to_store_precision;
use boxoffice_domain::user::{Email, NewUser, PasswordHash, PersonName, Role};
use boxoffice_domain::{BookingId, EventId, HoldId, Timestamp, UserId};
use boxoffice_store_postgres::PgStore;
use boxoffice_store_postgres::testing::TestDatabase;
use chrono::{Duration, Utc};
use diesel::sql_types::{Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

async fn fresh() -> Option<(PgStore, AsyncPgConnection, TestDatabase)> {
    let database = TestDatabase::create().await?;
    let store = boxoffice_store_postgres::connect(database.url(), 2)
        .await
        .expect("connect");
    let raw = AsyncPgConnection::establish(database.url())
        .await
        .expect("raw connection");
    Some((store, raw, database))
}

fn now() -> Timestamp {
    to_store_precision(Utc::now())
}

async fn event_of_new_organizer(store: &PgStore, capacity: u32) -> NewEvent {
    let organizer = NewUser {
        id: UserId::generate(),
        name: PersonName::parse("Olga").expect("name"),
        email: Email::parse("olga@example.org").expect("email"),
        password_hash: PasswordHash::new("hash".into()),
        role: Role::Organizer,
        created_at: now(),
    };
    UserRepository::create(store, &organizer)
        .await
        .expect("organizer");
    let starts_at = now() + Duration::days(7);
    let event = NewEvent {
        id: EventId::generate(),
        organizer_id: organizer.id,
        details: EventDetails {
            name: "Gig".into(),
            description: None,
            venue: "Club".into(),
            starts_at,
            ends_at: None,
            latitude: None,
            longitude: None,
            currency: "EUR".into(),
            capacity,
            max_tickets_per_user: None,
            sales_open_at: None,
            sales_close_at: None,
        },
        ticket_types: vec![NewTicketType::general()],
        created_at: now(),
    };
    EventRepository::create(store, &event).await.expect("event");
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_below_sold_plus_held_is_refused() {
    let Some((store, mut raw, _db)) = fresh().await else {
        return;
    };
    let event = event_of_new_organizer(&store, 10).await;
    diesel::sql_query("UPDATE events SET sold = $1, held = $2 WHERE id = $3")
        .bind::<Integer, _>(3)
        .bind::<Integer, _>(2)
        .bind::<SqlUuid, _>(event.id.as_uuid())
        .execute(&mut raw)
        .await
        .expect("set counters");

    let mut smaller = event.details.clone();
    smaller.capacity = 4;
    let refused = store.update_details(event.id, &smaller, now()).await;
    assert!(
        matches!(
            refused,
            Err(UpdateEventError::CapacityBelowSold { taken: 5 })
        ),
        "got {refused:?}"
    );
    smaller.capacity = 5;
    let updated = store
        .update_details(event.id, &smaller, now())
        .await
        .expect("exactly sold + held");
    assert_eq!(
        (updated.details.capacity, updated.sold, updated.held),
        (5, 3, 2)
    );
}

#[derive(diesel::QueryableByName)]
struct CancelledAt {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    cancelled_at: Option<Timestamp>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_twice_keeps_the_first_time() {
    let Some((store, mut raw, _db)) = fresh().await else {
        return;
    };
    let event = event_of_new_organizer(&store, 10).await;
    let first = now();
    store.cancel(event.id, first).await.expect("cancel");
    store
        .cancel(event.id, first + Duration::hours(1))
        .await
        .expect("again");
    let row: CancelledAt = diesel::sql_query("SELECT cancelled_at FROM events WHERE id = $1")
        .bind::<SqlUuid, _>(event.id.as_uuid())
        .get_result(&mut raw)
        .await
        .expect("read");
    assert_eq!(row.cancelled_at, Some(first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_once() {
    let Some((_store, _raw, db)) = fresh().await else {
        return;
    };
    boxoffice_store_postgres::run_migrations(db.url())
        .await
        .expect("second run is a no-op");
}

#[tokio::test(flavor = "current_thread")]
async fn migrations_run_on_a_current_thread_runtime() {
    // actix's runtime is current-thread: the migration path must not need block_in_place.
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    boxoffice_store_postgres::run_migrations(db.url())
        .await
        .expect("migrate");
}

async fn attendee(store: &PgStore, n: usize) -> UserId {
    let user = NewUser {
        id: UserId::generate(),
        name: PersonName::parse("Ann").expect("name"),
        email: Email::parse(&format!("ann{n}@example.org")).expect("email"),
        password_hash: PasswordHash::new("hash".into()),
        role: Role::Attendee,
        created_at: now(),
    };
    UserRepository::create(store, &user)
        .await
        .expect("attendee");
    user.id
}

fn one_seat(event: EventId, user: UserId) -> SeatRequest {
    SeatRequest {
        event_id: event,
        ticket_type_id: None,
        user_id: user,
        quantity: Quantity::new(1).expect("quantity"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_reads_the_queue_in_batches() {
    let Some((store, _raw, _db)) = fresh().await else {
        return;
    };
    let event = event_of_new_organizer(&store, 1).await;
    let t = now();
    let first = attendee(&store, 0).await;
    let request = BookRequest {
        booking_id: BookingId::generate(),
        seats: one_seat(event.id, first),
        on_sold_out: OnSoldOut::Fail,
        allow_partial: false,
        idempotency: None,
    };
    store.book(&request, t).await.expect("the one seat");
    let mut queue = Vec::new();
    for n in 1..=250 {
        let user = attendee(&store, n).await;
        queue.push(
            store
                .join(&one_seat(event.id, user), t)
                .await
                .expect("join"),
        );
    }

    // 230 new seats: two whole batches of 100 and 30 of the third.
    let mut details = event.details.clone();
    details.capacity = 231;
    let updated = store
        .update_details(event.id, &details, t)
        .await
        .expect("raise");
    assert_eq!(
        (updated.sold, updated.held, updated.waitlist_count),
        (231, 0, 20)
    );
    let promoted = store
        .event_queue(
            event.id,
            WaitlistStatus::Promoted,
            &PageRequest {
                limit: 100,
                after: None,
            },
        )
        .await
        .expect("promoted");
    assert_eq!(
        promoted.items.as_slice().first().map(|e| e.id),
        Some(queue[229].id),
        "newest first"
    );
    let waiting = store
        .event_queue(
            event.id,
            WaitlistStatus::Waiting,
            &PageRequest {
                limit: 100,
                after: None,
            },
        )
        .await
        .expect("waiting");
    let ids: Vec<_> = waiting.items.iter().map(|e| (e.id, e.position)).collect();
    let want: Vec<_> = queue[230..]
        .iter()
        .zip(1..)
        .map(|(e, position)| (e.id, Some(position)))
        .collect();
    assert_eq!(ids, want, "the last 20 wait, in join order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgotten_idempotency_keys_can_be_used_again() {
    let Some((store, _raw, _db)) = fresh().await else {
        return;
    };
    let event = event_of_new_organizer(&store, 10).await;
    let user = attendee(&store, 0).await;
    let t = now();
    let keyed = |hash: &str| BookRequest {
        booking_id: BookingId::generate(),
        seats: one_seat(event.id, user),
        on_sold_out: OnSoldOut::Fail,
        allow_partial: false,
        idempotency: Some(Idempotency {
            key: "k".into(),
            request_hash: hash.into(),
        }),
    };
    store.book(&keyed("first"), t).await.expect("book");
    assert!(matches!(
        store.book(&keyed("second"), t).await,
        Err(BookError::IdempotencyKeyReused)
    ));
    assert_eq!(
        store.forget_idempotency_keys(t).await.expect("forget"),
        0,
        "not before t"
    );
    assert_eq!(
        store
            .forget_idempotency_keys(t + Duration::seconds(1))
            .await
            .expect("forget"),
        1
    );
    let again = store
        .book(&keyed("second"), t)
        .await
        .expect("a new request");
    assert!(again.booking.is_some());
    let seen = EventRepository::find(&store, event.id, t)
        .await
        .expect("find")
        .expect("event");
    assert_eq!(seen.sold, 2);
}

#[derive(diesel::QueryableByName)]
struct HoldStatus {
    #[diesel(sql_type = Text)]
    status: String,
}

#[derive(diesel::QueryableByName)]
struct CancelledSeats {
    #[diesel(sql_type = Integer)]
    cancelled_seats: i32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_cancel_expires_due_holds_and_releases_live_ones() {
    let Some((store, mut raw, _db)) = fresh().await else {
        return;
    };
    let event = event_of_new_organizer(&store, 10).await;
    let user = attendee(&store, 0).await;
    let t = now();
    let due = store
        .hold(
            HoldId::generate(),
            &one_seat(event.id, user),
            t,
            t + Duration::seconds(5),
        )
        .await
        .expect("hold");
    let live = store
        .hold(
            HoldId::generate(),
            &one_seat(event.id, user),
            t,
            t + Duration::hours(1),
        )
        .await
        .expect("hold");
    let request = BookRequest {
        booking_id: BookingId::generate(),
        seats: SeatRequest {
            quantity: Quantity::new(3).expect("quantity"),
            ..one_seat(event.id, user)
        },
        on_sold_out: OnSoldOut::Fail,
        allow_partial: false,
        idempotency: None,
    };
    store.book(&request, t).await.expect("book");
    store
        .cancel(event.id, t + Duration::seconds(10))
        .await
        .expect("cancel");

    for (hold, want) in [(due.id, "expired"), (live.id, "released")] {
        let row: HoldStatus = diesel::sql_query("SELECT status FROM holds WHERE id = $1")
            .bind::<SqlUuid, _>(hold.as_uuid())
            .get_result(&mut raw)
            .await
            .expect("hold row");
        assert_eq!(row.status, want);
    }
    let row: CancelledSeats = diesel::sql_query("SELECT cancelled_seats FROM events WHERE id = $1")
        .bind::<SqlUuid, _>(event.id.as_uuid())
        .get_result(&mut raw)
        .await
        .expect("event row");
    assert_eq!(
        row.cancelled_seats, 3,
        "booked seats count as cancelled, held ones do not"
    );
}
