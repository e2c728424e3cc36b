//! Unit tests of the booking use cases, with mocked ports.

use super::*;
use crate::booking::{BookingSource, BookingStatus};
use crate::event::{Event, EventStatus, tests_support::details};
use crate::planner::SeatOp;
use crate::ports::{
    Keyed, MockAnalytics, MockBookings, MockCheckIns, MockEventRepository, MockKeyedSeats,
    MockReservations, MockWaitlists, Replay,
};
use crate::time::MockClock;

struct Mocks {
    reservations: MockReservations,
    bookings: MockBookings,
    analytics: MockAnalytics,
    events: MockEventRepository,
    keyed: MockKeyedSeats,
    check_ins: MockCheckIns,
}

impl Mocks {
    fn new() -> Self {
        Self {
            reservations: MockReservations::new(),
            bookings: MockBookings::new(),
            analytics: MockAnalytics::new(),
            events: MockEventRepository::new(),
            keyed: MockKeyedSeats::new(),
            check_ins: {
                let mut check_ins = MockCheckIns::new();
                check_ins.expect_booking_tickets().returning(|_| Ok(None));
                check_ins
            },
        }
    }

    fn service(self) -> BookingService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        BookingService::new(
            BookingPorts {
                reservations: Arc::new(self.reservations),
                bookings: Arc::new(self.bookings),
                waitlists: Arc::new(MockWaitlists::new()),
                keyed: Arc::new(self.keyed),
                analytics: Arc::new(self.analytics),
                events: Arc::new(self.events),
                check_ins: Arc::new(self.check_ins),
                clock: Arc::new(clock),
            },
            Duration::minutes(10),
        )
    }
}

fn user(role: Role) -> User {
    User {
        id: UserId::generate(),
        name: "U".into(),
        email: "u@example.org".into(),
        role,
        active: true,
        created_at: Utc::now(),
        tokens_valid_from: None,
    }
}

fn booking_of(user: UserId, event: EventId) -> Booking {
    Booking {
        id: BookingId::generate(),
        event_id: event,
        ticket_type_id: TicketTypeId::generate(),
        user_id: user,
        quantity: 2,
        price_cents: 0,
        status: BookingStatus::Confirmed,
        source: BookingSource::Direct,
        created_at: Utc::now(),
        cancelled_at: None,
    }
}

fn event_by(organizer: UserId) -> Event {
    Event {
        id: EventId::generate(),
        organizer_id: organizer,
        details: details(),
        status: EventStatus::Scheduled,
        created_at: Utc::now(),
        sold: 0,
        held: 0,
        waitlist_count: 0,
        ticket_types: vec![],
    }
}

fn intent(quantity: u32, key: Option<&str>) -> BookingIntent {
    BookingIntent {
        event_id: EventId::from_uuid(uuid::Uuid::nil()),
        ticket_type_id: None,
        quantity: Quantity::new(quantity).expect("valid"),
        on_sold_out: OnSoldOut::Waitlist,
        allow_partial: false,
        idempotency_key: key.map(str::to_owned),
    }
}

#[test]
fn request_hash_tells_repeats_from_reuse() {
    assert_eq!(
        intent(2, Some("a")).request_hash(),
        intent(2, Some("b")).request_hash()
    );
    assert_ne!(
        intent(2, None).request_hash(),
        intent(3, None).request_hash()
    );
    let mut partial = intent(2, None);
    partial.allow_partial = true;
    assert_ne!(partial.request_hash(), intent(2, None).request_hash());
}

#[tokio::test]
async fn bookings_carry_the_key_and_its_hash_to_the_store() {
    let mut m = Mocks::new();
    let want = intent(2, Some("key-1")).request_hash();
    m.bookings
        .expect_book()
        .withf(move |r, _| {
            r.idempotency
                .as_ref()
                .is_some_and(|i| i.key == "key-1" && i.request_hash == want)
                && r.seats.quantity.get() == 2
        })
        .times(1)
        .returning(|_, _| {
            Ok(BookingOutcome {
                booking: None,
                waitlist_entry: None,
            })
        });
    m.service()
        .book(UserId::generate(), intent(2, Some("key-1")))
        .await
        .expect("booked");
}

#[tokio::test]
async fn bookings_are_seen_by_owner_organizer_and_admin_only() {
    let owner = user(Role::Attendee);
    let organizer = user(Role::Organizer);
    let event = event_by(organizer.id);
    let booking = booking_of(owner.id, event.id);
    let mut m = Mocks::new();
    let found = booking.clone();
    m.bookings
        .expect_find_booking()
        .returning(move |_| Ok(Some(found.clone())));
    m.events
        .expect_find()
        .returning(move |_, _| Ok(Some(event.clone())));
    let service = m.service();
    assert!(service.booking(&owner, booking.id).await.is_ok());
    assert!(service.booking(&organizer, booking.id).await.is_ok());
    assert!(
        service
            .booking(&user(Role::Admin), booking.id)
            .await
            .is_ok()
    );
    for stranger in [user(Role::Attendee), user(Role::Organizer)] {
        assert!(matches!(
            service.booking(&stranger, booking.id).await,
            Err(AccessError::NotFound)
        ));
    }
}

#[tokio::test]
async fn strangers_cannot_cancel_and_learn_nothing() {
    let owner = user(Role::Attendee);
    let booking = booking_of(owner.id, EventId::generate());
    let mut m = Mocks::new();
    m.bookings
        .expect_find_booking()
        .returning(move |_| Ok(Some(booking.clone())));
    m.bookings.expect_cancel_booking().never();
    let result = m
        .service()
        .cancel_booking(&user(Role::Organizer), BookingId::generate(), None, None)
        .await;
    assert!(matches!(result, Err(CancelBookingError::NotFound)));
}

fn stats(name: &str, capacity: u32, sold: u32, cancelled: u32) -> EventStats {
    EventStats {
        event_id: EventId::generate(),
        name: name.into(),
        capacity,
        sold,
        held: 0,
        booked_since: 0,
        cancelled,
        waitlist_count: 0,
    }
}

#[tokio::test]
async fn analytics_rank_by_utilisation_and_scope_by_role() {
    let organizer = user(Role::Organizer);
    let id = organizer.id;
    let mut m = Mocks::new();
    m.analytics
        .expect_event_stats()
        .withf(move |org, since| *org == Some(id) && *since <= Utc::now())
        .returning(|_, _| {
            Ok(vec![
                stats("half", 100, 50, 50),
                stats("full", 10, 10, 0),
                stats("none", 5, 0, 0),
            ])
        });
    let reports = m.service().analytics(&organizer).await.expect("reports");
    let names: Vec<_> = reports.iter().map(|r| r.stats.name.as_str()).collect();
    assert_eq!(names, ["full", "half", "none"]);
    assert!((reports[1].utilisation - 0.5).abs() < f64::EPSILON);
    assert!((reports[1].cancellation_rate - 0.5).abs() < f64::EPSILON);
    assert!(
        reports[2].cancellation_rate.abs() < f64::EPSILON,
        "no sales, no rate"
    );

    let attendee_view = Mocks::new()
        .service()
        .analytics(&user(Role::Attendee))
        .await;
    assert!(matches!(attendee_view, Err(AccessError::Forbidden)));
}

#[tokio::test]
async fn expiry_runs_batches_until_one_is_short() {
    let mut m = Mocks::new();
    let mut answers = vec![500, 500, 7].into_iter();
    m.reservations
        .expect_expire_holds()
        .times(3)
        .returning(move |_, _| Ok(answers.next().unwrap_or(0)));
    assert_eq!(m.service().expire_due_holds().await.expect("expired"), 1007);
}

/// A keyed partial cancellation runs once through the keyed port with a hash of what it
/// asks; a repeat answers the booking as it is now; another request with the key is
/// refused.
#[tokio::test]
async fn keyed_cancellations_run_once_and_repeat_their_booking() {
    let owner = user(Role::Attendee);
    let booking = booking_of(owner.id, EventId::generate());
    let one = Quantity::new(1).expect("1");
    let hashes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let answers = Arc::new(std::sync::Mutex::new(vec![
        Keyed::KeyReused,
        Keyed::Repeat(Replay {
            booking: Some(booking.clone()),
            ..Replay::default()
        }),
    ]));
    let mut m = Mocks::new();
    let found = booking.clone();
    m.bookings
        .expect_find_booking()
        .returning(move |_| Ok(Some(found.clone())));
    m.bookings.expect_cancel_booking().never();
    let (id, user_id, seen) = (booking.id, owner.id, hashes.clone());
    m.keyed
        .expect_run_keyed()
        .withf(move |_, user, key, timed| {
            *user == user_id
                && key.key == "k1"
                && timed.op
                    == SeatOp::Cancel {
                        booking_id: id,
                        quantity: Some(one),
                    }
        })
        .times(2)
        .returning(move |_, _, key, _| {
            seen.lock().expect("lock").push(key.request_hash.clone());
            Ok(answers.lock().expect("lock").pop().expect("an answer"))
        });
    let service = m.service();
    let repeat = service
        .cancel_booking(&owner, booking.id, Some(one), Some("k1".into()))
        .await
        .expect("the repeat answers the booking");
    assert_eq!(repeat, booking);
    let reused = service
        .cancel_booking(&owner, booking.id, Some(one), Some("k1".into()))
        .await;
    assert!(matches!(
        reused,
        Err(CancelBookingError::IdempotencyKeyReused)
    ));
    let hashes = hashes.lock().expect("lock").clone();
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0], hashes[1], "one request, one hash");
    let all = Idempotency::new("k1".into(), &["cancel", &booking.id.to_string(), "all"]);
    assert_ne!(
        all.request_hash, hashes[0],
        "cancelling all is another request"
    );
}

/// A booking of 2 whose second ticket is checked in.
fn half_used(owner: &User) -> (Booking, crate::ticket::BookingTickets) {
    use crate::ticket::{BookingTickets, CheckIn, Scanner, TicketClaims, TicketNumber};
    let booking = booking_of(owner.id, EventId::generate());
    let tickets = BookingTickets {
        booking: booking.clone(),
        issued: 2,
        voided: std::collections::BTreeSet::new(),
        check_ins: vec![CheckIn {
            id: uuid::Uuid::now_v7(),
            ticket: TicketClaims {
                event_id: booking.event_id,
                booking_id: booking.id,
                ticket_type_id: booking.ticket_type_id,
                number: TicketNumber::new(2).expect("in range"),
            },
            scanner: Scanner::User(owner.id),
            scanned_at: Utc::now(),
            recorded_at: Utc::now(),
        }],
    };
    (booking, tickets)
}

#[tokio::test]
async fn the_seat_of_a_checked_in_ticket_is_never_given_back() {
    let owner = user(Role::Attendee);
    let (booking, tickets) = half_used(&owner);
    let mut m = Mocks::new();
    m.check_ins = MockCheckIns::new();
    m.check_ins
        .expect_booking_tickets()
        .returning(move |_| Ok(Some(tickets.clone())));
    let found = booking.clone();
    m.bookings
        .expect_find_booking()
        .returning(move |_| Ok(Some(found.clone())));
    m.bookings.expect_cancel_booking().never();
    let service = m.service();
    for quantity in [None, Some(Quantity::new(2).expect("2"))] {
        let refused = service
            .cancel_booking(&owner, booking.id, quantity, None)
            .await;
        assert!(
            matches!(refused, Err(CancelBookingError::TicketsUsed { unused: 1 })),
            "{refused:?}"
        );
    }
}

/// Once the seats are back, a failure to record which tickets were voided is not
/// answered: a 503 would tell the client that nothing happened.
#[tokio::test]
async fn a_cancellation_that_happened_is_answered_even_if_its_voids_are_not_recorded() {
    let owner = user(Role::Attendee);
    let (booking, tickets) = half_used(&owner);
    let mut m = Mocks::new();
    m.check_ins = MockCheckIns::new();
    m.check_ins
        .expect_booking_tickets()
        .returning(move |_| Ok(Some(tickets.clone())));
    m.check_ins
        .expect_void_tickets()
        .times(1)
        .withf(|_, numbers, _| numbers.len() == 1 && numbers[0].get() == 1)
        .returning(|_, _, _| Err(anyhow::anyhow!("the store went away")));
    let found = booking.clone();
    m.bookings
        .expect_find_booking()
        .returning(move |_| Ok(Some(found.clone())));
    let cancelled = Booking {
        quantity: 1,
        ..booking.clone()
    };
    m.bookings
        .expect_cancel_booking()
        .times(1)
        .returning(move |_, _, _| Ok(cancelled.clone()));
    let one = Quantity::new(1).expect("1");
    let answer = m
        .service()
        .cancel_booking(&owner, booking.id, Some(one), None)
        .await;
    assert_eq!(answer.expect("the cancellation happened").quantity, 1);
}
