//! What the contract suite cannot reach through the ports alone: counters set by the
//! booking engine, columns the domain does not expose, and migrations run twice.

#![allow(clippy::expect_used)] // test code: failing loudly is the point

use boxoffice_domain::event::{EventDetails, NewEvent, NewTicketType};
use boxoffice_domain::ports::{EventRepository, UpdateEventError, UserRepository};
use boxoffice_domain::time::to_store_precision;
use boxoffice_domain::user::{Email, NewUser, PasswordHash, PersonName, Role};
use boxoffice_domain::{EventId, Timestamp, UserId};
use boxoffice_store_postgres::PgStore;
use boxoffice_store_postgres::testing::TestDatabase;
use chrono::{Duration, Utc};
use diesel::sql_types::{Integer, Nullable, Timestamptz, Uuid as SqlUuid};
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
    let refused = store.update_details(event.id, &smaller).await;
    assert!(
        matches!(
            refused,
            Err(UpdateEventError::CapacityBelowSold { taken: 5 })
        ),
        "got {refused:?}"
    );
    smaller.capacity = 5;
    let updated = store
        .update_details(event.id, &smaller)
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
