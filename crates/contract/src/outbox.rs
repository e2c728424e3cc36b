//! The transactional outbox: the messages a scripted sequence writes, in order and
//! numbered without gaps, also under concurrency.

use crate::EngineStores;
use crate::engine::{
    attendee, attendees, base, book_n, booking, open_event, organizer, seats, secs, wait_n,
};
use crate::fixtures::ticket_type;
use boxoffice_domain::booking::{BookingSource, HoldStatus, OnSoldOut};
use boxoffice_domain::event::EventDetails;
use boxoffice_domain::outbox::{Message, MessageType, Payload};
use boxoffice_domain::{EventId, HoldId};
use futures_util::future::join_all;
use std::collections::HashSet;

async fn messages(stores: &EngineStores, event: EventId) -> Vec<Message> {
    let read = stores.outbox.messages_after(event, 0, 10_000).await;
    read.expect("read the outbox")
}

/// Asserts messages are numbered 1, 2, 3... with distinct ids, about `event`.
fn assert_numbered(messages: &[Message], event: EventId) {
    let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
    let want: Vec<u64> = (1..=messages.len() as u64).collect();
    assert_eq!(seqs, want, "numbered without gaps");
    let ids: HashSet<_> = messages.iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), messages.len(), "distinct ids");
    assert!(messages.iter().all(|m| m.event_id == event));
}

/// Every change of a scripted sequence writes its messages, in the order it happened;
/// refused requests write none.
pub async fn a_scripted_sequence_writes_its_messages_in_order(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, cid) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let ev = open_event(&stores, &org, t, 2).await;
    let sold = book_n(&stores, ev.id, ann.id, 2, secs(t, 1)).await;
    let entry = wait_n(&stores, ev.id, bob.id, 1, secs(t, 2)).await;
    let refused = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, cid.id, 1),
            secs(t, 3),
            secs(t, 60),
        )
        .await;
    assert!(refused.is_err(), "sold out");
    let one = Some(crate::engine::qty(1));
    let cancelled = stores
        .bookings
        .cancel_booking(sold.id, one, secs(t, 4))
        .await;
    cancelled.expect("cancel one seat");
    let details = EventDetails {
        capacity: 3,
        ..ev.details.clone()
    };
    stores
        .events
        .update_details(ev.id, &details, secs(t, 5))
        .await
        .expect("raise");
    let held = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, cid.id, 1),
            secs(t, 6),
            secs(t, 60),
        )
        .await
        .expect("hold");
    stores
        .reservations
        .release_hold(held.id, cid.id, secs(t, 7))
        .await
        .expect("release");
    let expiring = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, cid.id, 1),
            secs(t, 8),
            secs(t, 9),
        )
        .await
        .expect("hold");
    stores
        .reservations
        .expire_holds(secs(t, 10), 100)
        .await
        .expect("sweep");
    let added = ticket_type("Late", 100, None);
    stores
        .events
        .add_ticket_type(ev.id, &added, secs(t, 11))
        .await
        .expect("add a type");
    stores
        .events
        .cancel(ev.id, secs(t, 12))
        .await
        .expect("cancel");

    let all = messages(&stores, ev.id).await;
    let kinds: Vec<MessageType> = all.iter().map(|m| m.kind).collect();
    use MessageType as M;
    assert_eq!(
        kinds,
        [
            M::EventCreated,
            M::BookingConfirmed,
            M::WaitlistJoined,
            M::BookingCancelled,
            M::BookingConfirmed,
            M::WaitlistPromoted,
            M::EventUpdated,
            M::HoldCreated,
            M::HoldReleased,
            M::HoldCreated,
            M::HoldExpired,
            M::EventUpdated,
            M::EventCancelled,
        ]
    );
    assert_numbered(&all, ev.id);
    assert_eq!(all[0].at, ev.created_at);
    match &all[3].payload {
        Payload::BookingCancelled {
            booking,
            quantity: 1,
            partial: true,
        } => assert_eq!((booking.id, booking.quantity), (sold.id, 1)),
        other => panic!("a partial cancellation: {other:?}"),
    }
    let Payload::BookingConfirmed { booking: promoted } = &all[4].payload else {
        panic!("the promotion's booking: {:?}", all[4]);
    };
    assert_eq!(
        (promoted.user_id, promoted.source),
        (bob.id, BookingSource::Waitlist)
    );
    assert_eq!(
        all[5].payload,
        Payload::WaitlistPromoted {
            entry_id: entry.id,
            booking_id: promoted.id
        }
    );
    match &all[10].payload {
        Payload::HoldEnded {
            hold_id, status, ..
        } => assert_eq!((*hold_id, *status), (expiring.id, HoldStatus::Expired)),
        other => panic!("an expiry: {other:?}"),
    }
    assert_eq!(
        all[10].at,
        secs(t, 10),
        "an expiry is told when it is swept"
    );

    let page = stores
        .outbox
        .messages_after(ev.id, 5, 3)
        .await
        .expect("read");
    let seqs: Vec<u64> = page.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [6, 7, 8], "read from a number on");
    assert_eq!(page, all[5..8]);
    let other = stores
        .outbox
        .messages_after(EventId::generate(), 0, 10)
        .await;
    assert_eq!(other.expect("read"), []);
}

/// Concurrent bookings of one event: one message per booking and per entry, numbered
/// without gaps.
pub async fn concurrent_requests_number_messages_without_gaps(stores: EngineStores) {
    const CLIENTS: usize = 60;
    let org = organizer(&stores).await;
    let users = attendees(&stores, CLIENTS).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 25).await;
    let requests = users.iter().map(|user| {
        let stores = stores.clone();
        let request = booking(seats(ev.id, None, user.id, 1), OnSoldOut::Waitlist, false);
        async move { stores.bookings.book(&request, secs(t, 1)).await }
    });
    for outcome in join_all(requests).await {
        outcome.expect("booked or queued");
    }
    let all = messages(&stores, ev.id).await;
    assert_numbered(&all, ev.id);
    let count = |kind| all.iter().filter(|m| m.kind == kind).count();
    assert_eq!(count(MessageType::BookingConfirmed), 25);
    assert_eq!(count(MessageType::WaitlistJoined), CLIENTS - 25);
    assert_eq!(count(MessageType::EventCreated), 1);
    assert_eq!(all.len(), CLIENTS + 1);
}
