//! Unit tests of what an erasure does to seats, with mocked ports.

use super::*;
use crate::booking::{Booking, BookingSource, WaitlistEntry};
use crate::event::{Event, EventStatus, tests_support::details};
use crate::page::Page;
use crate::ports::{
    MockAnalytics, MockBookings, MockCheckIns, MockEventRepository, MockKeyedSeats,
    MockReservations, MockWaitlists,
};
use crate::services::BookingPorts;
use crate::time::MockClock;
use crate::{BookingId, EventId, TicketTypeId, WaitlistEntryId};
use chrono::{Duration, Utc};
use std::sync::Arc;

fn event(starts_in: Duration, status: EventStatus) -> Event {
    let mut details = details();
    details.starts_at = Utc::now() + starts_in;
    details.ends_at = None;
    Event {
        id: EventId::generate(),
        organizer_id: UserId::generate(),
        details,
        status,
        created_at: Utc::now(),
        sold: 2,
        held: 0,
        waitlist_count: 0,
        ticket_types: vec![],
    }
}

fn booking(user: UserId, event: &Event) -> Booking {
    Booking {
        id: BookingId::generate(),
        event_id: event.id,
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

fn entry(user: UserId, status: WaitlistStatus, seq: u64) -> WaitlistEntry {
    WaitlistEntry {
        id: WaitlistEntryId::generate(),
        event_id: EventId::generate(),
        ticket_type_id: TicketTypeId::generate(),
        user_id: user,
        quantity: 1,
        position: (status == WaitlistStatus::Waiting).then_some(1),
        status,
        closed_reason: None,
        booking_id: None,
        created_at: Utc::now(),
        queue_seq: seq,
    }
}

/// Only bookings of events still to come are cancelled (not those of events that
/// started or were cancelled), and only waiting entries are left.
#[tokio::test]
async fn an_erasure_gives_back_only_seats_still_to_come() {
    let user = UserId::generate();
    let to_come = event(Duration::days(30), EventStatus::Scheduled);
    let started = event(Duration::hours(-1), EventStatus::Scheduled);
    let called_off = event(Duration::days(30), EventStatus::Cancelled);
    let keep = booking(user, &to_come);
    let bookings_of_user = vec![
        keep.clone(),
        booking(user, &started),
        booking(user, &called_off),
    ];
    let events = [to_come, started, called_off];
    let waiting = entry(user, WaitlistStatus::Waiting, 1);
    let promoted = entry(user, WaitlistStatus::Promoted, 2);

    // Entries leave before any cancellation could promote one of them.
    let mut order = mockall::Sequence::new();
    let mut waitlists = MockWaitlists::new();
    let entries = vec![waiting.clone(), promoted];
    waitlists.expect_user_entries().returning(move |_, _| {
        Ok(Page {
            items: entries.clone(),
            next: None,
        })
    });
    let left = waiting.id;
    waitlists
        .expect_leave()
        .withf(move |id, who, _| *id == left && *who == user)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(()));
    let mut bookings = MockBookings::new();
    bookings
        .expect_user_bookings()
        .returning(move |_, status, _| {
            assert_eq!(status, Some(BookingStatus::Confirmed));
            Ok(Page {
                items: bookings_of_user.clone(),
                next: None,
            })
        });
    let cancelled = keep.id;
    bookings
        .expect_cancel_booking()
        .withf(move |id, quantity, _| *id == cancelled && quantity.is_none())
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _, now| {
            Ok(Booking {
                status: BookingStatus::Cancelled,
                cancelled_at: Some(now),
                ..keep.clone()
            })
        });
    let mut repository = MockEventRepository::new();
    repository
        .expect_find()
        .returning(move |id, _| Ok(events.iter().find(|e| e.id == id).cloned()));
    let mut check_ins = MockCheckIns::new();
    check_ins.expect_booking_tickets().returning(|_| Ok(None));
    let mut clock = MockClock::new();
    clock.expect_now().returning(Utc::now);
    let service = BookingService::new(
        BookingPorts {
            reservations: Arc::new(MockReservations::new()),
            bookings: Arc::new(bookings),
            waitlists: Arc::new(waitlists),
            keyed: Arc::new(MockKeyedSeats::new()),
            analytics: Arc::new(MockAnalytics::new()),
            events: Arc::new(repository),
            check_ins: Arc::new(check_ins),
            clock: Arc::new(clock),
        },
        Duration::minutes(10),
    );

    service.give_back_seats_of(user).await.expect("erased");
}
