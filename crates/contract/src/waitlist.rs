//! Contract of [`Waitlists`](boxoffice_domain::ports::Waitlists) and of promotion: strict
//! FIFO, on every way seats come back, in the transaction that frees them.

use crate::EngineStores;
use crate::engine::{
    all_bookings, attendee, attendees, base, book_n, booking, counters, entries, entry,
    only_booking, open_event, organizer, promoted_booking, qty, queue, seats, secs, seen,
    still_waiting, two_type_event, type_counters, wait_n,
};
use boxoffice_domain::booking::{
    BookingStatus, ClosedReason, OnSoldOut, WaitlistEntry, WaitlistStatus,
};
use boxoffice_domain::event::{EventDetails, EventStatus};
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::ports::{BookError, ConfirmHoldError, JoinWaitlistError, LeaveWaitlistError};
use boxoffice_domain::seats::SaleRefusal;
use boxoffice_domain::{EventId, HoldId, TicketTypeId, WaitlistEntryId};

/// Joining is `TicketsAvailable` while enough seats are free (holds count as taken), and
/// `AlreadyWaitlisted` for a second entry of the same user, event and type.
pub async fn join_refused_while_seats_are_free(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, cid) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let ev = open_event(&stores, &org, t, 3).await;

    let free = stores
        .waitlists
        .join(&seats(ev.id, None, ann.id, 2), t)
        .await;
    assert!(
        matches!(free, Err(JoinWaitlistError::TicketsAvailable)),
        "got {free:?}"
    );
    book_n(&stores, ev.id, bob.id, 2, t).await;
    let at = secs(t, 1);
    let joined = stores
        .waitlists
        .join(&seats(ev.id, None, ann.id, 2), at)
        .await
        .expect("join");
    let want = WaitlistEntry {
        id: joined.id,
        event_id: ev.id,
        ticket_type_id: ev.ticket_types[0].id,
        user_id: ann.id,
        quantity: 2,
        position: Some(1),
        status: WaitlistStatus::Waiting,
        closed_reason: None,
        booking_id: None,
        created_at: at,
        queue_seq: joined.queue_seq,
    };
    assert_eq!(joined, want);
    assert_eq!(entries(&stores, ann.id).await, std::slice::from_ref(&want));
    assert_eq!(queue(&stores, ev.id, WaitlistStatus::Waiting).await, [want]);
    assert_eq!(counters(&stores, ev.id, at).await, (2, 0, 1));

    let one_fits = stores
        .waitlists
        .join(&seats(ev.id, None, cid.id, 1), at)
        .await;
    assert!(
        matches!(one_fits, Err(JoinWaitlistError::TicketsAvailable)),
        "got {one_fits:?}"
    );
    let twice = stores
        .waitlists
        .join(&seats(ev.id, None, ann.id, 2), at)
        .await;
    assert!(
        matches!(twice, Err(JoinWaitlistError::AlreadyWaitlisted)),
        "got {twice:?}"
    );
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, cid.id, 1),
            at,
            secs(t, 600),
        )
        .await
        .expect("hold the last seat");
    let after_hold = stores
        .waitlists
        .join(&seats(ev.id, None, bob.id, 1), secs(t, 2))
        .await
        .expect("join");
    assert_eq!(after_hold.position, Some(2));
    assert_eq!(counters(&stores, ev.id, secs(t, 2)).await, (2, 1, 2));

    // Free seats are counted per type: a full type may be joined while the event has room.
    let typed = two_type_event(&stores, &org, t, 10, 2).await;
    let (vip, general) = (typed.ticket_types[0].id, typed.ticket_types[1].id);
    stores
        .bookings
        .book(
            &booking(
                seats(typed.id, Some(vip), ann.id, 2),
                OnSoldOut::Fail,
                false,
            ),
            t,
        )
        .await
        .expect("book VIP");
    let vip_entry = stores
        .waitlists
        .join(&seats(typed.id, Some(vip), bob.id, 1), secs(t, 1))
        .await
        .expect("the VIP quota is full");
    assert_eq!(vip_entry.ticket_type_id, vip);
    let general_free = stores
        .waitlists
        .join(&seats(typed.id, Some(general), bob.id, 1), secs(t, 1))
        .await;
    assert!(
        matches!(general_free, Err(JoinWaitlistError::TicketsAvailable)),
        "got {general_free:?}"
    );
}

/// Unknown events and types are `NotFound`; a cancelled event refuses.
pub async fn join_refuses_unknown_and_closed_events(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 1).await;
    book_n(&stores, ev.id, org.id, 1, t).await;
    for request in [
        seats(EventId::generate(), None, ann.id, 1),
        seats(ev.id, Some(TicketTypeId::generate()), ann.id, 1),
    ] {
        let result = stores.waitlists.join(&request, t).await;
        assert!(
            matches!(result, Err(JoinWaitlistError::NotFound)),
            "got {result:?}"
        );
    }
    stores.events.cancel(ev.id, t).await.expect("cancel");
    let cancelled = stores
        .waitlists
        .join(&seats(ev.id, None, ann.id, 1), secs(t, 1))
        .await;
    assert!(
        matches!(
            cancelled,
            Err(JoinWaitlistError::Refused(SaleRefusal::EventCancelled))
        ),
        "got {cancelled:?}"
    );
    assert!(entries(&stores, ann.id).await.is_empty());
}

/// Promotion takes entries in join order while each fits whole and stops at the first
/// that does not: nobody overtakes the head, not even for another ticket type.
pub async fn promotion_is_strict_fifo(stores: EngineStores) {
    let org = organizer(&stores).await;
    let users = attendees(&stores, 4).await;
    let (ann, b, c, d) = (&users[0], &users[1], &users[2], &users[3]);
    let t = base();
    let ev = open_event(&stores, &org, t, 5).await;
    let anns = book_n(&stores, ev.id, ann.id, 5, t).await;
    let eb = wait_n(&stores, ev.id, b.id, 3, secs(t, 1)).await;
    let ec = wait_n(&stores, ev.id, c.id, 1, secs(t, 2)).await;
    let ed = wait_n(&stores, ev.id, d.id, 1, secs(t, 3)).await;

    stores
        .bookings
        .cancel_booking(anns.id, Some(qty(2)), secs(t, 4))
        .await
        .expect("cancel 2");
    assert_eq!(
        counters(&stores, ev.id, secs(t, 4)).await,
        (3, 0, 3),
        "the head needs 3: nobody moves"
    );
    still_waiting(&stores, &eb, 1).await;
    still_waiting(&stores, &ec, 2).await;
    still_waiting(&stores, &ed, 3).await;

    stores
        .bookings
        .cancel_booking(anns.id, Some(qty(1)), secs(t, 5))
        .await
        .expect("cancel 1");
    assert_eq!(counters(&stores, ev.id, secs(t, 5)).await, (5, 0, 2));
    let booked = promoted_booking(&stores, &eb).await;
    assert_eq!(
        booked.created_at,
        secs(t, 5),
        "promoted by the cancellation, at its instant"
    );
    still_waiting(&stores, &ec, 1).await;
    still_waiting(&stores, &ed, 2).await;

    stores
        .bookings
        .cancel_booking(anns.id, None, secs(t, 6))
        .await
        .expect("cancel the rest");
    assert_eq!(counters(&stores, ev.id, secs(t, 6)).await, (5, 0, 0));
    promoted_booking(&stores, &ec).await;
    promoted_booking(&stores, &ed).await;

    // Across types: a VIP head blocked by its quota holds back a General entry behind it.
    let typed = two_type_event(&stores, &org, t, 4, 1).await;
    let (vip, general) = (typed.ticket_types[0].id, typed.ticket_types[1].id);
    let book = |ty, n| booking(seats(typed.id, Some(ty), ann.id, n), OnSoldOut::Fail, false);
    let ann_vip = only_booking(&stores.bookings.book(&book(vip, 1), t).await, 1);
    let ann_general = only_booking(&stores.bookings.book(&book(general, 3), t).await, 3);
    let head = stores
        .waitlists
        .join(&seats(typed.id, Some(vip), b.id, 1), secs(t, 1))
        .await
        .expect("join VIP");
    let behind = stores
        .waitlists
        .join(&seats(typed.id, Some(general), c.id, 1), secs(t, 2))
        .await;
    let behind = match behind {
        Err(JoinWaitlistError::TicketsAvailable) => panic!("the event is full"),
        other => other.expect("join General"),
    };
    stores
        .bookings
        .cancel_booking(ann_general.id, Some(qty(1)), secs(t, 3))
        .await
        .expect("cancel");
    assert_eq!(
        counters(&stores, typed.id, secs(t, 3)).await,
        (3, 0, 2),
        "a General seat is free, but the VIP head does not fit and nobody overtakes it"
    );
    still_waiting(&stores, &head, 1).await;
    still_waiting(&stores, &behind, 2).await;
    stores
        .bookings
        .cancel_booking(ann_vip.id, None, secs(t, 4))
        .await
        .expect("cancel VIP");
    promoted_booking(&stores, &head).await;
    promoted_booking(&stores, &behind).await;
    assert_eq!(counters(&stores, typed.id, secs(t, 4)).await, (4, 0, 0));
    assert_eq!(
        type_counters(&stores, typed.id, secs(t, 4)).await,
        [(1, 0), (3, 0)]
    );
}

/// A full cancellation promotes in the same transaction: the waiting user has a confirmed
/// `source: waitlist` booking made at the cancellation's instant.
pub async fn cancellation_promotes(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = open_event(&stores, &org, t, 2).await;
    let anns = book_n(&stores, ev.id, ann.id, 2, t).await;
    let waiting = wait_n(&stores, ev.id, bob.id, 2, secs(t, 1)).await;
    stores
        .bookings
        .cancel_booking(anns.id, None, secs(t, 2))
        .await
        .expect("cancel");
    assert_eq!(counters(&stores, ev.id, secs(t, 2)).await, (2, 0, 0));
    let booked = promoted_booking(&stores, &waiting).await;
    assert_eq!(booked.created_at, secs(t, 2));
    assert_eq!(
        all_bookings(&stores, bob.id, Some(BookingStatus::Confirmed)).await,
        [booked]
    );
}

/// Releasing a hold promotes at once.
pub async fn hold_release_promotes(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = open_event(&stores, &org, t, 2).await;
    let hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 2),
            t,
            secs(t, 600),
        )
        .await
        .expect("hold");
    let waiting = wait_n(&stores, ev.id, bob.id, 2, secs(t, 1)).await;
    stores
        .reservations
        .release_hold(hold.id, ann.id, secs(t, 2))
        .await
        .expect("release");
    assert_eq!(counters(&stores, ev.id, secs(t, 2)).await, (2, 0, 0));
    let booked = promoted_booking(&stores, &waiting).await;
    assert_eq!(booked.created_at, secs(t, 2));
}

/// Seats of a hold that expired go to the queue before anyone new: the next request on
/// the event sweeps and promotes first, so a newcomer finds no seat.
pub async fn hold_expiry_promotes_before_anyone_new(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, cid) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let ev = open_event(&stores, &org, t, 2).await;
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 2),
            t,
            secs(t, 10),
        )
        .await
        .expect("hold");
    let waiting = wait_n(&stores, ev.id, bob.id, 2, secs(t, 1)).await;
    let at = secs(t, 20);
    let newcomer = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, cid.id, 1), OnSoldOut::Waitlist, false),
            at,
        )
        .await
        .expect("book");
    assert_eq!(
        newcomer.booking, None,
        "the expired seats went to the queue first: {newcomer:?}"
    );
    assert_eq!(newcomer.waitlist_entry.map(|e| e.position), Some(Some(1)));
    let booked = promoted_booking(&stores, &waiting).await;
    assert_eq!(booked.created_at, at);
    assert_eq!(counters(&stores, ev.id, at).await, (2, 0, 1));
    assert_eq!(
        stores
            .reservations
            .expire_holds(secs(t, 30), 100)
            .await
            .expect("expire"),
        0,
        "already ended"
    );

    // Also when the newcomer's own request fails: the sweep and promotion still happen,
    // so no seat is left free while the head of the queue would fit.
    let ev = open_event(&stores, &org, t, 2).await;
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 2),
            t,
            secs(t, 10),
        )
        .await
        .expect("hold");
    let waiting = wait_n(&stores, ev.id, bob.id, 2, secs(t, 1)).await;
    let failed = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, cid.id, 1), OnSoldOut::Fail, false),
            at,
        )
        .await;
    assert!(
        matches!(failed, Err(BookError::SoldOut { available: 0 })),
        "the queue came first: got {failed:?}"
    );
    assert_eq!(counters(&stores, ev.id, at).await, (2, 0, 0));
    promoted_booking(&stores, &waiting).await;
}

/// Raising the capacity promotes in `update_details`' transaction, still strictly FIFO.
pub async fn raised_capacity_promotes(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, cid) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let ev = open_event(&stores, &org, t, 2).await;
    book_n(&stores, ev.id, ann.id, 2, t).await;
    let eb = wait_n(&stores, ev.id, bob.id, 1, secs(t, 1)).await;
    let ec = wait_n(&stores, ev.id, cid.id, 2, secs(t, 2)).await;
    let with = |capacity| EventDetails {
        capacity,
        ..ev.details.clone()
    };

    let updated = stores
        .events
        .update_details(ev.id, &with(3), secs(t, 3))
        .await
        .expect("raise to 3");
    assert_eq!(
        (
            updated.details.capacity,
            updated.sold,
            updated.held,
            updated.waitlist_count
        ),
        (3, 3, 0, 1),
        "the returned event shows the promotion"
    );
    promoted_booking(&stores, &eb).await;
    still_waiting(&stores, &ec, 1).await;
    let updated = stores
        .events
        .update_details(ev.id, &with(4), secs(t, 4))
        .await
        .expect("raise to 4");
    assert_eq!(
        (updated.sold, updated.waitlist_count),
        (3, 1),
        "one free seat does not fit 2"
    );
    let updated = stores
        .events
        .update_details(ev.id, &with(6), secs(t, 5))
        .await
        .expect("raise to 6");
    assert_eq!((updated.sold, updated.waitlist_count), (5, 0));
    promoted_booking(&stores, &ec).await;
    let seen_now = seen(&stores, ev.id, secs(t, 3)).await;
    assert_eq!(
        (
            seen_now.details.capacity,
            seen_now.sold,
            seen_now.waitlist_count
        ),
        (6, 5, 0)
    );
}

/// A head that does not fit blocks the queue until it leaves; then the next is promoted.
pub async fn blocking_head_leaving_promotes(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, cid) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let ev = open_event(&stores, &org, t, 3).await;
    let anns = book_n(&stores, ev.id, ann.id, 3, t).await;
    let head = wait_n(&stores, ev.id, bob.id, 3, secs(t, 1)).await;
    let behind = wait_n(&stores, ev.id, cid.id, 1, secs(t, 2)).await;
    stores
        .bookings
        .cancel_booking(anns.id, Some(qty(1)), secs(t, 3))
        .await
        .expect("cancel 1");
    assert_eq!(counters(&stores, ev.id, secs(t, 3)).await, (2, 0, 2));
    still_waiting(&stores, &behind, 2).await;

    stores
        .waitlists
        .leave(head.id, bob.id, secs(t, 4))
        .await
        .expect("leave");
    assert_eq!(counters(&stores, ev.id, secs(t, 4)).await, (3, 0, 0));
    let booked = promoted_booking(&stores, &behind).await;
    assert_eq!(booked.created_at, secs(t, 4));
    let left = entry(&stores, bob.id, head.id).await;
    assert_eq!(
        (left.status, left.position, left.booking_id),
        (WaitlistStatus::Left, None, None)
    );
}

/// Leaving: unknown or another user's entry is `NotFound`, leaving twice is fine, a
/// promoted entry is `NotWaiting`; after leaving, the user may queue again, at the end.
pub async fn leave_rules(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, cid) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let ev = open_event(&stores, &org, t, 1).await;
    let anns = book_n(&stores, ev.id, ann.id, 1, t).await;
    let eb = wait_n(&stores, ev.id, bob.id, 1, secs(t, 1)).await;
    let ec = wait_n(&stores, ev.id, cid.id, 1, secs(t, 2)).await;

    let unknown = stores
        .waitlists
        .leave(WaitlistEntryId::generate(), bob.id, secs(t, 3))
        .await;
    assert!(
        matches!(unknown, Err(LeaveWaitlistError::NotFound)),
        "got {unknown:?}"
    );
    let not_mine = stores.waitlists.leave(eb.id, cid.id, secs(t, 3)).await;
    assert!(
        matches!(not_mine, Err(LeaveWaitlistError::NotFound)),
        "got {not_mine:?}"
    );
    still_waiting(&stores, &eb, 1).await;

    stores
        .waitlists
        .leave(eb.id, bob.id, secs(t, 4))
        .await
        .expect("leave");
    stores
        .waitlists
        .leave(eb.id, bob.id, secs(t, 5))
        .await
        .expect("leaving twice is harmless");
    assert_eq!(counters(&stores, ev.id, secs(t, 5)).await, (1, 0, 1));
    still_waiting(&stores, &ec, 1).await;
    let again = wait_n(&stores, ev.id, bob.id, 1, secs(t, 6)).await;
    assert_ne!(again.id, eb.id);
    assert_eq!(again.position, Some(2), "a new entry queues at the end");

    stores
        .bookings
        .cancel_booking(anns.id, None, secs(t, 7))
        .await
        .expect("cancel");
    promoted_booking(&stores, &ec).await;
    let promoted = stores.waitlists.leave(ec.id, cid.id, secs(t, 8)).await;
    assert!(
        matches!(
            promoted,
            Err(LeaveWaitlistError::NotWaiting(WaitlistStatus::Promoted))
        ),
        "got {promoted:?}"
    );
    still_waiting(&stores, &again, 1).await;
    assert_eq!(counters(&stores, ev.id, secs(t, 8)).await, (1, 0, 1));
}

/// `event_queue` lists waiting entries in join order with positions 1..n, in pages that
/// continue after a `queue_seq`; positions close up when an entry leaves or is promoted;
/// other statuses are listed newest first without positions.
pub async fn event_queue_positions_follow_join_order(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let users = attendees(&stores, 5).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 1).await;
    let anns = book_n(&stores, ev.id, ann.id, 1, t).await;
    let mut joined = Vec::new();
    for (i, user) in users.iter().enumerate() {
        joined.push(
            wait_n(
                &stores,
                ev.id,
                user.id,
                1,
                secs(t, 1 + i64::try_from(i).expect("small")),
            )
            .await,
        );
    }
    let waiting = queue(&stores, ev.id, WaitlistStatus::Waiting).await;
    assert_eq!(waiting, joined, "entries as joined, with their positions");
    for (i, e) in waiting.iter().enumerate() {
        assert_eq!(e.position, Some(u32::try_from(i).expect("small") + 1));
    }
    assert!(waiting.windows(2).all(|w| w[0].queue_seq < w[1].queue_seq));

    let page = |status, after| {
        let stores = stores.clone();
        let event = ev.id;
        async move {
            stores
                .waitlists
                .event_queue(event, status, &PageRequest { limit: 2, after })
                .await
                .expect("event queue")
        }
    };
    let p1 = page(WaitlistStatus::Waiting, None).await;
    assert_eq!(
        (p1.items.as_slice(), p1.next),
        (&joined[..2], Some(joined[1].queue_seq))
    );
    let p2 = page(WaitlistStatus::Waiting, p1.next).await;
    assert_eq!(
        (p2.items.as_slice(), p2.next),
        (&joined[2..4], Some(joined[3].queue_seq))
    );
    let p3 = page(WaitlistStatus::Waiting, p2.next).await;
    assert_eq!((p3.items.as_slice(), p3.next), (&joined[4..], None));

    stores
        .waitlists
        .leave(joined[2].id, users[2].id, secs(t, 10))
        .await
        .expect("leave");
    stores
        .waitlists
        .leave(joined[4].id, users[4].id, secs(t, 11))
        .await
        .expect("leave");
    stores
        .bookings
        .cancel_booking(anns.id, None, secs(t, 12))
        .await
        .expect("cancel");
    let positions: Vec<_> = queue(&stores, ev.id, WaitlistStatus::Waiting)
        .await
        .iter()
        .map(|e| (e.id, e.position))
        .collect();
    assert_eq!(
        positions,
        [(joined[1].id, Some(1)), (joined[3].id, Some(2))]
    );
    let left: Vec<_> = queue(&stores, ev.id, WaitlistStatus::Left)
        .await
        .iter()
        .map(|e| (e.id, e.status, e.position))
        .collect();
    assert_eq!(
        left,
        [
            (joined[4].id, WaitlistStatus::Left, None),
            (joined[2].id, WaitlistStatus::Left, None)
        ],
        "newest first"
    );
    let promoted = queue(&stores, ev.id, WaitlistStatus::Promoted).await;
    assert_eq!(
        promoted
            .iter()
            .map(|e| (e.id, e.position))
            .collect::<Vec<_>>(),
        [(joined[0].id, None)]
    );
    assert!(promoted[0].booking_id.is_some());
    assert!(
        queue(&stores, ev.id, WaitlistStatus::Closed)
            .await
            .is_empty()
    );
    let other = open_event(&stores, &org, t, 1).await;
    assert!(
        queue(&stores, other.id, WaitlistStatus::Waiting)
            .await
            .is_empty(),
        "per event"
    );
}

/// `user_entries` lists a user's entries of every status, newest first, waiting ones with
/// their positions, in pages that continue after a `queue_seq`.
pub async fn user_entries_newest_first(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, vic) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let mut mine = Vec::new();
    let mut sellouts = Vec::new();
    for i in 0..3 {
        let ev = open_event(&stores, &org, t, 1).await;
        sellouts.push(book_n(&stores, ev.id, ann.id, 1, secs(t, i)).await);
        if i == 2 {
            wait_n(&stores, ev.id, vic.id, 1, secs(t, 10 + i)).await;
        }
        mine.push(wait_n(&stores, ev.id, bob.id, 1, secs(t, 10 + i)).await);
    }
    stores
        .bookings
        .cancel_booking(sellouts[0].id, None, secs(t, 20))
        .await
        .expect("cancel");
    stores
        .waitlists
        .leave(mine[1].id, bob.id, secs(t, 21))
        .await
        .expect("leave");

    let listed = entries(&stores, bob.id).await;
    let summary: Vec<_> = listed
        .iter()
        .map(|e| (e.id, e.status, e.position))
        .collect();
    assert_eq!(
        summary,
        [
            (mine[2].id, WaitlistStatus::Waiting, Some(2)),
            (mine[1].id, WaitlistStatus::Left, None),
            (mine[0].id, WaitlistStatus::Promoted, None),
        ]
    );
    assert!(listed[2].booking_id.is_some());
    let p1 = stores
        .waitlists
        .user_entries(
            bob.id,
            &PageRequest {
                limit: 2,
                after: None,
            },
        )
        .await
        .expect("page 1");
    assert_eq!(
        (p1.items.as_slice(), p1.next),
        (&listed[..2], Some(listed[1].queue_seq))
    );
    let p2 = stores
        .waitlists
        .user_entries(
            bob.id,
            &PageRequest {
                limit: 2,
                after: p1.next,
            },
        )
        .await
        .expect("page 2");
    assert_eq!((p2.items.as_slice(), p2.next), (&listed[2..], None));
    assert_eq!(entries(&stores, vic.id).await.len(), 1, "Vic's are his own");
    assert!(entries(&stores, ann.id).await.is_empty());
}

/// Cancelling the event cancels its bookings, releases its holds, closes its waitlist
/// and zeroes every counter, in one go; closed entries cannot be left.
pub async fn event_cancel_cascades(stores: EngineStores) {
    let org = organizer(&stores).await;
    let users = attendees(&stores, 5).await;
    let (ann, bob, cid, dan, eve) = (&users[0], &users[1], &users[2], &users[3], &users[4]);
    let t = base();
    let ev = two_type_event(&stores, &org, t, 6, 6).await;
    let other = open_event(&stores, &org, t, 6).await;
    let others = book_n(&stores, other.id, ann.id, 2, t).await;

    let anns = book_n(&stores, ev.id, ann.id, 2, t).await;
    let bob_hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, bob.id, 1),
            t,
            secs(t, 600),
        )
        .await
        .expect("hold");
    let bobs = stores
        .reservations
        .confirm_hold(bob_hold.id, bob.id, secs(t, 1))
        .await
        .expect("confirm");
    let cid_hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, cid.id, 2),
            secs(t, 1),
            secs(t, 600),
        )
        .await
        .expect("hold");
    let ed = wait_n(&stores, ev.id, dan.id, 3, secs(t, 2)).await;
    let ee = wait_n(&stores, ev.id, eve.id, 2, secs(t, 3)).await;
    assert_eq!(counters(&stores, ev.id, secs(t, 3)).await, (3, 2, 2));

    let at = secs(t, 5);
    let cancelled = stores.events.cancel(ev.id, at).await.expect("cancel event");
    assert_eq!(cancelled.status, EventStatus::Cancelled);
    assert_eq!(
        (cancelled.sold, cancelled.held, cancelled.waitlist_count),
        (0, 0, 0)
    );
    assert!(
        cancelled
            .ticket_types
            .iter()
            .all(|ty| ty.sold == 0 && ty.held == 0),
        "{cancelled:?}"
    );
    assert_eq!(seen(&stores, ev.id, at).await, cancelled);

    for booked in [&anns, &bobs] {
        let now = stores
            .bookings
            .find_booking(booked.id)
            .await
            .expect("find")
            .expect("kept");
        assert_eq!(
            (now.status, now.cancelled_at, now.quantity),
            (BookingStatus::Cancelled, Some(at), booked.quantity)
        );
        let again = stores
            .bookings
            .cancel_booking(booked.id, None, secs(t, 6))
            .await;
        assert!(
            matches!(
                again,
                Err(boxoffice_domain::ports::CancelBookingError::AlreadyCancelled)
            ),
            "got {again:?}"
        );
    }
    assert_eq!(
        stores
            .reservations
            .find_hold(cid_hold.id, secs(t, 6))
            .await
            .expect("find"),
        None
    );
    let confirm = stores
        .reservations
        .confirm_hold(cid_hold.id, cid.id, secs(t, 6))
        .await;
    assert!(
        matches!(confirm, Err(ConfirmHoldError::NotFound)),
        "a released hold: got {confirm:?}"
    );
    let release = stores
        .reservations
        .release_hold(cid_hold.id, cid.id, secs(t, 6))
        .await;
    assert!(
        matches!(release, Err(ConfirmHoldError::NotFound)),
        "got {release:?}"
    );
    assert!(all_bookings(&stores, cid.id, None).await.is_empty());

    for (e, user) in [(&ed, dan), (&ee, eve)] {
        let now = entry(&stores, user.id, e.id).await;
        assert_eq!(
            (now.status, now.position, now.booking_id),
            (WaitlistStatus::Closed, None, None)
        );
        let leave = stores.waitlists.leave(e.id, user.id, secs(t, 6)).await;
        assert!(
            matches!(
                leave,
                Err(LeaveWaitlistError::NotWaiting(WaitlistStatus::Closed))
            ),
            "got {leave:?}"
        );
    }
    assert!(
        queue(&stores, ev.id, WaitlistStatus::Waiting)
            .await
            .is_empty()
    );
    let closed: Vec<_> = queue(&stores, ev.id, WaitlistStatus::Closed)
        .await
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(closed, [ee.id, ed.id], "newest first");
    assert_eq!(
        stores
            .reservations
            .expire_holds(secs(t, 3600), 100)
            .await
            .expect("expire"),
        0
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 3600)).await, (0, 0, 0));

    assert_eq!(
        counters(&stores, other.id, at).await,
        (2, 0, 0),
        "other events untouched"
    );
    assert_eq!(
        stores
            .bookings
            .find_booking(others.id)
            .await
            .expect("find")
            .map(|b| b.status),
        Some(BookingStatus::Confirmed)
    );
    let again = stores
        .events
        .cancel(ev.id, secs(t, 7))
        .await
        .expect("cancel again");
    assert_eq!(again, cancelled, "cancelling twice changes nothing");
    let stats = stores
        .analytics
        .event_stats(Some(org.id), t)
        .await
        .expect("stats");
    let of = stats
        .iter()
        .find(|s| s.event_id == ev.id)
        .expect("stats of the event");
    assert_eq!(
        (
            of.sold,
            of.held,
            of.cancelled,
            of.waitlist_count,
            of.booked_since
        ),
        (0, 0, 3, 0, 0)
    );
}

/// A capacity lowered below what an entry waits for closes that entry (it could never
/// be served and would block the queue), and the entries behind it move up at once.
pub async fn lowered_capacity_closes_entries_it_cannot_serve(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, cid, dan) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let ev = open_event(&stores, &org, t, 5).await;
    book_n(&stores, ev.id, ann.id, 2, t).await;
    let big = wait_n(&stores, ev.id, bob.id, 4, secs(t, 1)).await;
    let rest = book_n(&stores, ev.id, cid.id, 3, secs(t, 2)).await;
    let small = wait_n(&stores, ev.id, dan.id, 1, secs(t, 3)).await;
    stores
        .bookings
        .cancel_booking(rest.id, None, secs(t, 4))
        .await
        .expect("cancel");
    still_waiting(&stores, &small, 2).await;
    let details = EventDetails {
        capacity: 3,
        ..ev.details.clone()
    };
    let lowered = stores
        .events
        .update_details(ev.id, &details, secs(t, 5))
        .await
        .expect("lower to 3");
    assert_eq!(
        (
            lowered.details.capacity,
            lowered.sold,
            lowered.waitlist_count
        ),
        (3, 3, 0)
    );
    let closed = entry(&stores, bob.id, big.id).await;
    assert_eq!(
        (closed.status, closed.closed_reason),
        (WaitlistStatus::Closed, Some(ClosedReason::CapacityLowered))
    );
    promoted_booking(&stores, &small).await;
}
