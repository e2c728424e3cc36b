//! Contract of [`Bookings`](boxoffice_domain::ports::Bookings): direct booking with its
//! waitlist fallback, sale terms, idempotency, cancellation and the user's list.

use crate::EngineStores;
use crate::engine::{
    all_bookings, attendee, base, book_n, booking, counters, entries, keyed, only_booking,
    open_details, open_event, organizer, qty, seats, secs, two_type_event, type_counters,
};
use boxoffice_domain::booking::{
    Booking, BookingOutcome, BookingSource, BookingStatus, OnSoldOut, WaitlistEntry, WaitlistStatus,
};
use boxoffice_domain::event::{EventDetails, NewTicketType};
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::ports::{
    BookError, CancelBookingError, ConfirmHoldError, HoldError, JoinWaitlistError, UpdateEventError,
};
use boxoffice_domain::seats::SaleRefusal;
use boxoffice_domain::{BookingId, EventId, HoldId, TicketTypeId};
use chrono::Duration;
use futures_util::future::join_all;
use std::collections::HashSet;

/// A booking with enough seats is confirmed at once (`source: direct`), of the first type
/// when none is named, and `find_booking` reads it back.
pub async fn direct_booking_is_confirmed_and_found(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = two_type_event(&stores, &org, t, 10, 4).await;
    let vip = ev.ticket_types[0].id;

    let outcome = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, ann.id, 3), OnSoldOut::Waitlist, false),
            t,
        )
        .await;
    let booked = only_booking(&outcome, 3);
    let want = Booking {
        id: booked.id,
        event_id: ev.id,
        ticket_type_id: vip,
        user_id: ann.id,
        quantity: 3,
        price_cents: ev.ticket_types[0].price_cents,
        status: BookingStatus::Confirmed,
        source: BookingSource::Direct,
        created_at: t,
        cancelled_at: None,
    };
    assert_eq!(booked, want);
    assert_eq!(
        stores.bookings.find_booking(want.id).await.expect("find"),
        Some(want.clone())
    );
    assert_eq!(
        stores
            .bookings
            .find_booking(BookingId::generate())
            .await
            .expect("find"),
        None
    );
    assert_eq!(counters(&stores, ev.id, t).await, (3, 0, 0));
    assert_eq!(type_counters(&stores, ev.id, t).await, [(3, 0), (0, 0)]);
    assert_eq!(all_bookings(&stores, ann.id, None).await, [want]);
}

/// Booking for an unknown event or ticket type is `NotFound` (also another event's type).
pub async fn book_refuses_unknown_event_and_type(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let other = open_event(&stores, &org, t, 10).await;
    for (event, ty) in [
        (EventId::generate(), None),
        (ev.id, Some(TicketTypeId::generate())),
        (ev.id, Some(other.ticket_types[0].id)),
    ] {
        let result = stores
            .bookings
            .book(
                &booking(seats(event, ty, ann.id, 1), OnSoldOut::Waitlist, false),
                t,
            )
            .await;
        assert!(
            matches!(result, Err(BookError::NotFound)),
            "{ty:?}: got {result:?}"
        );
    }
    assert_eq!(counters(&stores, ev.id, t).await, (0, 0, 0));
    assert_eq!(counters(&stores, other.id, t).await, (0, 0, 0));
}

/// A type's quota and the event's capacity both cap bookings.
pub async fn type_quota_and_event_capacity_both_limit_bookings(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = two_type_event(&stores, &org, t, 10, 4).await;
    let (vip, general) = (ev.ticket_types[0].id, ev.ticket_types[1].id);
    let book = |ty, n| booking(seats(ev.id, Some(ty), ann.id, n), OnSoldOut::Fail, false);

    only_booking(&stores.bookings.book(&book(vip, 3), t).await, 3);
    let over_quota = stores.bookings.book(&book(vip, 2), t).await;
    assert!(
        matches!(over_quota, Err(BookError::SoldOut { available: 1 })),
        "got {over_quota:?}"
    );
    only_booking(&stores.bookings.book(&book(general, 7), t).await, 7);
    let full = stores.bookings.book(&book(general, 1), t).await;
    assert!(
        matches!(full, Err(BookError::SoldOut { available: 0 })),
        "got {full:?}"
    );
    let vip_left_but_event_full = stores.bookings.book(&book(vip, 1), t).await;
    assert!(
        matches!(
            vip_left_but_event_full,
            Err(BookError::SoldOut { available: 0 })
        ),
        "the quota has a seat but the event has none: got {vip_left_but_event_full:?}"
    );
    assert_eq!(counters(&stores, ev.id, t).await, (10, 0, 0));
    assert_eq!(type_counters(&stores, ev.id, t).await, [(3, 0), (7, 0)]);
}

/// Asking for more tickets than a ticket type has in all is refused for holds, bookings
/// and the waitlist alike (such an entry could never be promoted and would block the
/// queue behind it), and changes nothing; exactly the type's size is fine.
pub async fn requests_beyond_a_type_size_are_refused(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = two_type_event(&stores, &org, t, 20, 4).await;
    let vip = ev.ticket_types[0].id;
    only_booking(
        &stores
            .bookings
            .book(
                &booking(seats(ev.id, Some(vip), ann.id, 4), OnSoldOut::Fail, false),
                t,
            )
            .await,
        4,
    );
    let too_many = seats(ev.id, Some(vip), bob.id, 5);
    let refused = SaleRefusal::NeverServable { most: 4 };
    let held = stores
        .reservations
        .hold(HoldId::generate(), &too_many, t, secs(t, 600))
        .await;
    assert!(
        matches!(held, Err(HoldError::Refused(r)) if r == refused),
        "got {held:?}"
    );
    for allow_partial in [false, true] {
        let booked = stores
            .bookings
            .book(&booking(too_many, OnSoldOut::Waitlist, allow_partial), t)
            .await;
        assert!(
            matches!(booked, Err(BookError::Refused(r)) if r == refused),
            "got {booked:?}"
        );
    }
    let joined = stores.waitlists.join(&too_many, t).await;
    assert!(
        matches!(joined, Err(JoinWaitlistError::Refused(r)) if r == refused),
        "got {joined:?}"
    );
    let event = crate::engine::seen(&stores, ev.id, t).await;
    assert_eq!((event.sold, event.held, event.waitlist_count), (4, 0, 0));
    let exactly = stores
        .waitlists
        .join(&seats(ev.id, Some(vip), bob.id, 4), t)
        .await;
    assert!(
        exactly.is_ok(),
        "a request for the whole type may wait: {exactly:?}"
    );
}

/// `allow_partial` books what is free and queues the rest (with `on_sold_out: waitlist`)
/// or books what is free only (with `fail`); with nothing free it books nothing.
pub async fn allow_partial_books_what_is_left(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, cid) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let ev = open_event(&stores, &org, t, 5).await;
    book_n(&stores, ev.id, ann.id, 3, t).await;

    let at = secs(t, 1);
    let outcome = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, bob.id, 4), OnSoldOut::Waitlist, true),
            at,
        )
        .await
        .expect("partial booking");
    let booked = outcome.booking.expect("a booking for what is left");
    let entry = outcome.waitlist_entry.expect("an entry for the rest");
    assert_eq!(
        (booked.quantity, booked.status, booked.source),
        (2, BookingStatus::Confirmed, BookingSource::Direct)
    );
    let want_entry = WaitlistEntry {
        id: entry.id,
        event_id: ev.id,
        ticket_type_id: ev.ticket_types[0].id,
        user_id: bob.id,
        quantity: 2,
        position: Some(1),
        status: WaitlistStatus::Waiting,
        closed_reason: None,
        booking_id: None,
        created_at: at,
        queue_seq: entry.queue_seq,
    };
    assert_eq!(entry, want_entry);
    assert_eq!(entries(&stores, bob.id).await, [want_entry]);
    assert_eq!(counters(&stores, ev.id, at).await, (5, 0, 1));

    let nothing_free = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, cid.id, 2), OnSoldOut::Fail, true),
            at,
        )
        .await;
    assert!(
        matches!(nothing_free, Err(BookError::SoldOut { available: 0 })),
        "got {nothing_free:?}"
    );
    let queued = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, cid.id, 2), OnSoldOut::Waitlist, true),
            at,
        )
        .await
        .expect("queued");
    assert_eq!(queued.booking, None, "nothing free: entry only");
    assert_eq!(
        queued.waitlist_entry.map(|e| (e.quantity, e.position)),
        Some((2, Some(2)))
    );

    let small = open_event(&stores, &org, t, 3).await;
    book_n(&stores, small.id, cid.id, 1, t).await;
    let partial_fail = stores
        .bookings
        .book(
            &booking(seats(small.id, None, ann.id, 3), OnSoldOut::Fail, true),
            at,
        )
        .await;
    only_booking(&partial_fail, 2);
    assert_eq!(
        counters(&stores, small.id, at).await,
        (3, 0, 0),
        "no entry with fail"
    );
    assert!(entries(&stores, ann.id).await.is_empty());

    // More than the event holds could never be served: refused whatever the options.
    let beyond = open_event(&stores, &org, t, 3).await;
    for (on_sold_out, allow_partial) in [
        (OnSoldOut::Fail, true),
        (OnSoldOut::Waitlist, true),
        (OnSoldOut::Waitlist, false),
    ] {
        let request = booking(
            seats(beyond.id, None, ann.id, 4),
            on_sold_out,
            allow_partial,
        );
        let refused = stores.bookings.book(&request, at).await;
        assert!(
            matches!(
                refused,
                Err(BookError::Refused(SaleRefusal::NeverServable { most: 3 }))
            ),
            "got {refused:?}"
        );
    }
    assert_eq!(counters(&stores, beyond.id, at).await, (0, 0, 0));
    assert!(entries(&stores, ann.id).await.is_empty());
}

/// Without enough seats `on_sold_out: fail` is `SoldOut` with the free seats, and
/// `waitlist` queues the whole request.
pub async fn sold_out_fails_or_waitlists(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = open_event(&stores, &org, t, 5).await;
    book_n(&stores, ev.id, ann.id, 3, t).await;

    let fail = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, bob.id, 3), OnSoldOut::Fail, false),
            t,
        )
        .await;
    assert!(
        matches!(fail, Err(BookError::SoldOut { available: 2 })),
        "got {fail:?}"
    );
    assert_eq!(
        counters(&stores, ev.id, t).await,
        (3, 0, 0),
        "a failure changes nothing"
    );
    assert!(entries(&stores, bob.id).await.is_empty());

    let at = secs(t, 1);
    let queued = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, bob.id, 3), OnSoldOut::Waitlist, false),
            at,
        )
        .await
        .expect("queued");
    assert_eq!(
        queued.booking, None,
        "without allow_partial nothing is booked"
    );
    let entry = queued.waitlist_entry.expect("an entry");
    assert_eq!(
        (
            entry.user_id,
            entry.quantity,
            entry.position,
            entry.status,
            entry.booking_id,
            entry.created_at
        ),
        (bob.id, 3, Some(1), WaitlistStatus::Waiting, None, at)
    );
    assert_eq!(counters(&stores, ev.id, at).await, (3, 0, 1));
    assert!(all_bookings(&stores, bob.id, None).await.is_empty());
}

/// A user who already waits for the event and type gets `AlreadyWaitlisted` and nothing
/// is booked, also with `allow_partial`; another type is another queue place.
pub async fn already_waitlisted_books_nothing(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = two_type_event(&stores, &org, t, 5, 2).await;
    let (vip, general) = (ev.ticket_types[0].id, ev.ticket_types[1].id);
    let book = |ty, n, partial| {
        booking(
            seats(ev.id, Some(ty), bob.id, n),
            OnSoldOut::Waitlist,
            partial,
        )
    };
    only_booking(
        &stores
            .bookings
            .book(
                &booking(
                    seats(ev.id, Some(general), ann.id, 4),
                    OnSoldOut::Fail,
                    false,
                ),
                t,
            )
            .await,
        4,
    );
    let first = stores
        .bookings
        .book(&book(general, 2, false), t)
        .await
        .expect("queued");
    assert!(
        first.booking.is_none() && first.waitlist_entry.is_some(),
        "got {first:?}"
    );

    let again = stores
        .bookings
        .book(&book(general, 2, false), secs(t, 1))
        .await;
    assert!(
        matches!(again, Err(BookError::AlreadyWaitlisted)),
        "got {again:?}"
    );
    let partial = stores
        .bookings
        .book(&book(general, 3, true), secs(t, 1))
        .await;
    assert!(
        matches!(partial, Err(BookError::AlreadyWaitlisted)),
        "a partial booking that would queue the rest: got {partial:?}"
    );
    assert_eq!(
        counters(&stores, ev.id, secs(t, 1)).await,
        (4, 0, 1),
        "nothing booked"
    );
    let join = stores
        .waitlists
        .join(&seats(ev.id, Some(general), bob.id, 2), secs(t, 1))
        .await;
    assert!(
        matches!(join, Err(JoinWaitlistError::AlreadyWaitlisted)),
        "got {join:?}"
    );

    let fits = stores.bookings.book(&book(vip, 1, false), secs(t, 2)).await;
    only_booking(&fits, 1);
    let other_type = stores
        .bookings
        .book(&book(vip, 2, false), secs(t, 3))
        .await
        .expect("queued for VIP");
    assert!(
        other_type.booking.is_none() && other_type.waitlist_entry.is_some(),
        "got {other_type:?}"
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 3)).await, (5, 0, 2));
    assert_eq!(all_bookings(&stores, bob.id, None).await.len(), 1);
}

/// Outside the sales window (open inclusive, close exclusive; without a close, the start)
/// and on a cancelled event, booking, holding and joining are `Refused`.
pub async fn sales_window_and_cancelled_event_refuse(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let (open, close) = (t + Duration::hours(1), t + Duration::hours(2));
    let windowed = crate::engine::event_with(
        &stores,
        &org,
        EventDetails {
            sales_open_at: Some(open),
            sales_close_at: Some(close),
            ..open_details(t, 10)
        },
        vec![NewTicketType::general()],
    )
    .await;
    let ev = windowed.id;
    let refused = |at| {
        let stores = stores.clone();
        let ann = ann.id;
        async move {
            let request = seats(ev, None, ann, 1);
            let book = stores
                .bookings
                .book(&booking(request, OnSoldOut::Waitlist, false), at)
                .await;
            let hold = stores
                .reservations
                .hold(HoldId::generate(), &request, at, at + Duration::minutes(10))
                .await;
            let join = stores.waitlists.join(&request, at).await;
            (book, hold, join)
        }
    };
    for at in [t, open - Duration::microseconds(1)] {
        let (book, hold, join) = refused(at).await;
        assert!(
            matches!(book, Err(BookError::Refused(SaleRefusal::SalesClosed))),
            "book: {book:?}"
        );
        assert!(
            matches!(hold, Err(HoldError::Refused(SaleRefusal::SalesClosed))),
            "hold: {hold:?}"
        );
        assert!(
            matches!(
                join,
                Err(JoinWaitlistError::Refused(SaleRefusal::SalesClosed))
            ),
            "join: {join:?}"
        );
    }
    book_n(&stores, ev, ann.id, 1, open).await;
    book_n(&stores, ev, ann.id, 1, close - Duration::microseconds(1)).await;
    let (book, hold, join) = refused(close).await;
    assert!(
        matches!(book, Err(BookError::Refused(SaleRefusal::SalesClosed))),
        "book: {book:?}"
    );
    assert!(
        matches!(hold, Err(HoldError::Refused(SaleRefusal::SalesClosed))),
        "hold: {hold:?}"
    );
    assert!(
        matches!(
            join,
            Err(JoinWaitlistError::Refused(SaleRefusal::SalesClosed))
        ),
        "join: {join:?}"
    );
    assert_eq!(counters(&stores, ev, close).await, (2, 0, 0));

    let unwindowed = open_event(&stores, &org, t, 10).await;
    let starts_at = unwindowed.details.starts_at;
    let at_start = stores
        .bookings
        .book(
            &booking(
                seats(unwindowed.id, None, ann.id, 1),
                OnSoldOut::Waitlist,
                false,
            ),
            starts_at,
        )
        .await;
    assert!(
        matches!(at_start, Err(BookError::Refused(SaleRefusal::SalesClosed))),
        "sales end when the event starts: got {at_start:?}"
    );

    let cancelled = open_event(&stores, &org, t, 10).await;
    stores
        .events
        .cancel(cancelled.id, t)
        .await
        .expect("cancel event");
    let request = seats(cancelled.id, None, ann.id, 1);
    let at = secs(t, 1);
    let book = stores
        .bookings
        .book(&booking(request, OnSoldOut::Waitlist, false), at)
        .await;
    assert!(
        matches!(book, Err(BookError::Refused(SaleRefusal::EventCancelled))),
        "book: {book:?}"
    );
    let hold = stores
        .reservations
        .hold(HoldId::generate(), &request, at, secs(t, 600))
        .await;
    assert!(
        matches!(hold, Err(HoldError::Refused(SaleRefusal::EventCancelled))),
        "hold: {hold:?}"
    );
    let join = stores.waitlists.join(&request, at).await;
    assert!(
        matches!(
            join,
            Err(JoinWaitlistError::Refused(SaleRefusal::EventCancelled))
        ),
        "join: {join:?}"
    );
    assert_eq!(counters(&stores, cancelled.id, at).await, (0, 0, 0));
}

/// `max_tickets_per_user` counts the user's booked seats, live hold seats and waiting
/// seats together with the whole request; cancelled and expired seats stop counting.
pub async fn purchase_limit_counts_bookings_holds_and_waiting(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = crate::engine::event_with(
        &stores,
        &org,
        EventDetails {
            max_tickets_per_user: Some(4),
            ..open_details(t, 6)
        },
        vec![NewTicketType::general()],
    )
    .await;
    let limit = |already| SaleRefusal::PurchaseLimitExceeded { limit: 4, already };
    let req = |user, n| booking(seats(ev.id, None, user, n), OnSoldOut::Waitlist, false);

    let first = book_n(&stores, ev.id, ann.id, 2, t).await;
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 1),
            t,
            secs(t, 10),
        )
        .await
        .expect("hold");
    let over = stores.bookings.book(&req(ann.id, 2), secs(t, 1)).await;
    assert!(
        matches!(over, Err(BookError::Refused(r)) if r == limit(3)),
        "2 booked + 1 held + 2: {over:?}"
    );
    book_n(&stores, ev.id, ann.id, 1, secs(t, 1)).await;
    let hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 1),
            secs(t, 2),
            secs(t, 60),
        )
        .await;
    assert!(
        matches!(hold, Err(HoldError::Refused(r)) if r == limit(4)),
        "hold: {hold:?}"
    );
    let join = stores
        .waitlists
        .join(&seats(ev.id, None, ann.id, 1), secs(t, 2))
        .await;
    assert!(
        matches!(join, Err(JoinWaitlistError::Refused(r)) if r == limit(4)),
        "join: {join:?}"
    );

    book_n(&stores, ev.id, bob.id, 2, secs(t, 3)).await;
    let queued = stores
        .bookings
        .book(&req(bob.id, 2), secs(t, 3))
        .await
        .expect("bob queues");
    assert!(queued.waitlist_entry.is_some(), "got {queued:?}");
    let more = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, bob.id, 1), OnSoldOut::Fail, false),
            secs(t, 4),
        )
        .await;
    assert!(
        matches!(more, Err(BookError::Refused(r)) if r == limit(4)),
        "2 booked + 2 waiting + 1 (refusal comes before sold out): {more:?}"
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 4)).await, (5, 1, 1));

    // Ann's hold expired at t+10: it counts no more (and its seat does not fit Bob's 2).
    let at = secs(t, 20);
    book_n(&stores, ev.id, ann.id, 1, at).await;
    assert_eq!(counters(&stores, ev.id, at).await, (6, 0, 1));
    stores
        .bookings
        .cancel_booking(first.id, Some(qty(1)), secs(t, 21))
        .await
        .expect("cancel one seat");
    assert_eq!(
        counters(&stores, ev.id, secs(t, 21)).await,
        (5, 0, 1),
        "one seat does not fit Bob's 2"
    );
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 1),
            secs(t, 22),
            secs(t, 600),
        )
        .await
        .expect("a cancelled seat no longer counts");
    let full = stores.bookings.book(&req(ann.id, 1), secs(t, 23)).await;
    assert!(
        matches!(full, Err(BookError::Refused(r)) if r == limit(4)),
        "got {full:?}"
    );
}

/// The same key and request hash returns what the first request made, loaded as it is
/// now, and books nothing new; keys are scoped to the user.
pub async fn idempotent_repeat_returns_first_outcome(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob, cid) = (
        attendee(&stores).await,
        attendee(&stores).await,
        attendee(&stores).await,
    );
    let t = base();
    let ev = open_event(&stores, &org, t, 4).await;
    let ann_req = keyed(
        booking(seats(ev.id, None, ann.id, 2), OnSoldOut::Waitlist, false),
        "k1",
        "h1",
    );

    let first = stores.bookings.book(&ann_req, t).await.expect("book");
    let booked = only_booking(&Ok(first.clone()), 2);
    let repeat = stores
        .bookings
        .book(&ann_req, secs(t, 1))
        .await
        .expect("repeat");
    assert_eq!(repeat, first, "the repeat returns the first outcome");
    assert_eq!(
        counters(&stores, ev.id, secs(t, 1)).await,
        (2, 0, 0),
        "booked once"
    );
    assert_eq!(all_bookings(&stores, ann.id, None).await.len(), 1);

    let bob_req = keyed(
        booking(seats(ev.id, None, bob.id, 2), OnSoldOut::Waitlist, false),
        "k1",
        "h1",
    );
    let bobs = only_booking(&stores.bookings.book(&bob_req, secs(t, 2)).await, 2);
    assert_ne!(bobs.id, booked.id, "another user's key is another key");
    assert_eq!(counters(&stores, ev.id, secs(t, 2)).await, (4, 0, 0));

    let cid_req = keyed(
        booking(seats(ev.id, None, cid.id, 3), OnSoldOut::Waitlist, false),
        "kw",
        "hw",
    );
    let queued = stores
        .bookings
        .book(&cid_req, secs(t, 3))
        .await
        .expect("queued");
    let entry = queued.waitlist_entry.clone().expect("an entry");
    assert_eq!(queued.booking, None);
    let repeat = stores
        .bookings
        .book(&cid_req, secs(t, 4))
        .await
        .expect("repeat of a queued request");
    assert_eq!(repeat, queued, "the same entry, not AlreadyWaitlisted");
    assert_eq!(counters(&stores, ev.id, secs(t, 4)).await, (4, 0, 1));

    // Cancelling Ann's booking frees 2 seats: Cid's 3 do not fit yet.
    let cancelled = stores
        .bookings
        .cancel_booking(booked.id, None, secs(t, 5))
        .await
        .expect("cancel");
    let repeat = stores
        .bookings
        .book(&ann_req, secs(t, 6))
        .await
        .expect("repeat after cancel");
    assert_eq!(
        repeat,
        BookingOutcome {
            booking: Some(cancelled),
            waitlist_entry: None
        },
        "loaded as it is now, and nothing booked again"
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 6)).await, (2, 0, 1));

    // Bob gives one seat back: Cid's entry is promoted.
    stores
        .bookings
        .cancel_booking(bobs.id, Some(qty(1)), secs(t, 7))
        .await
        .expect("cancel part");
    let repeat = stores
        .bookings
        .book(&cid_req, secs(t, 8))
        .await
        .expect("repeat after promotion");
    assert_eq!(repeat.booking, None, "the key recorded an entry only");
    let now_entry = repeat.waitlist_entry.expect("the entry");
    assert_eq!(
        (now_entry.id, now_entry.status, now_entry.position),
        (entry.id, WaitlistStatus::Promoted, None)
    );
    assert!(now_entry.booking_id.is_some());
    assert_eq!(counters(&stores, ev.id, secs(t, 8)).await, (4, 0, 0));
    assert_eq!(
        all_bookings(&stores, cid.id, None).await.len(),
        1,
        "the promotion only"
    );
}

/// The same key with another request hash is `IdempotencyKeyReused` and changes nothing.
pub async fn idempotency_key_with_other_request_is_refused(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let req = |n| booking(seats(ev.id, None, ann.id, n), OnSoldOut::Waitlist, false);
    only_booking(&stores.bookings.book(&keyed(req(2), "k", "h2"), t).await, 2);
    for (request, what) in [
        (keyed(req(3), "k", "h3"), "another body"),
        (keyed(req(2), "k", "other"), "another hash"),
    ] {
        let result = stores.bookings.book(&request, secs(t, 1)).await;
        assert!(
            matches!(result, Err(BookError::IdempotencyKeyReused)),
            "{what}: got {result:?}"
        );
    }
    assert_eq!(counters(&stores, ev.id, secs(t, 1)).await, (2, 0, 0));
    only_booking(
        &stores
            .bookings
            .book(&keyed(req(3), "k-2", "h3"), secs(t, 2))
            .await,
        3,
    );
    assert_eq!(all_bookings(&stores, ann.id, None).await.len(), 2);
}

/// A request that fails stores no key: the key can then be used with another request.
pub async fn failed_request_stores_no_idempotency_key(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = open_event(&stores, &org, t, 1).await;
    let bobs = book_n(&stores, ev.id, bob.id, 1, t).await;
    let fail = keyed(
        booking(seats(ev.id, None, ann.id, 1), OnSoldOut::Fail, false),
        "k",
        "fail",
    );
    let result = stores.bookings.book(&fail, secs(t, 1)).await;
    assert!(
        matches!(result, Err(BookError::SoldOut { available: 0 })),
        "got {result:?}"
    );
    stores
        .bookings
        .cancel_booking(bobs.id, None, secs(t, 2))
        .await
        .expect("cancel");
    let other = keyed(
        booking(seats(ev.id, None, ann.id, 1), OnSoldOut::Waitlist, false),
        "k",
        "other",
    );
    only_booking(&stores.bookings.book(&other, secs(t, 3)).await, 1);
    assert_eq!(counters(&stores, ev.id, secs(t, 3)).await, (1, 0, 0));
}

/// 16 concurrent requests with one key and body book once, and all return that booking.
pub async fn concurrent_repeats_of_one_key_book_once(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let request = keyed(
        booking(seats(ev.id, None, ann.id, 2), OnSoldOut::Waitlist, false),
        "race",
        "same",
    );
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let stores = stores.clone();
            let request = request.clone();
            tokio::spawn(async move { stores.bookings.book(&request, t).await })
        })
        .collect();
    let outcomes: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let ids: Vec<_> = outcomes.iter().map(|o| only_booking(o, 2).id).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every request returns the one booking: {ids:?}"
    );
    assert_eq!(counters(&stores, ev.id, t).await, (2, 0, 0), "booked once");
    let mine = all_bookings(&stores, ann.id, None).await;
    assert_eq!(mine.iter().map(|b| b.id).collect::<Vec<_>>(), [ids[0]]);
}

/// Concurrent requests with one key but two bodies: one body books once, every request
/// with it returns that booking, and every request with the other is refused.
pub async fn concurrent_requests_with_one_key_and_two_bodies_book_once(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let tasks: Vec<_> = (0..16_u32)
        .map(|i| {
            let stores = stores.clone();
            let n = 1 + i % 2;
            let request = keyed(
                booking(seats(ev.id, None, ann.id, n), OnSoldOut::Waitlist, false),
                "race",
                &format!("body-{n}"),
            );
            tokio::spawn(async move { (n, stores.bookings.book(&request, t).await) })
        })
        .collect();
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let winner = results
        .iter()
        .find_map(|(n, r)| r.is_ok().then_some(*n))
        .expect("one body books");
    let mut ids = HashSet::new();
    for (n, result) in &results {
        if *n == winner {
            ids.insert(only_booking(result, winner).id);
        } else {
            assert!(
                matches!(result, Err(BookError::IdempotencyKeyReused)),
                "the other body: got {result:?}"
            );
        }
    }
    assert_eq!(ids.len(), 1, "one booking: {ids:?}");
    assert_eq!(counters(&stores, ev.id, t).await, (winner, 0, 0));
    assert_eq!(all_bookings(&stores, ann.id, None).await.len(), 1);
}

/// Cancelling part lowers the quantity and keeps the booking confirmed; cancelling the
/// rest (by count or `None`) marks it cancelled at `now` and keeps its last quantity.
pub async fn cancel_part_then_all(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let four = book_n(&stores, ev.id, ann.id, 4, t).await;
    let two = book_n(&stores, ev.id, ann.id, 2, t).await;

    let part = stores
        .bookings
        .cancel_booking(four.id, Some(qty(1)), secs(t, 1))
        .await
        .expect("cancel 1");
    let want = Booking {
        quantity: 3,
        ..four.clone()
    };
    assert_eq!(part, want);
    assert_eq!(
        stores.bookings.find_booking(four.id).await.expect("find"),
        Some(want)
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 1)).await, (5, 0, 0));

    let rest = stores
        .bookings
        .cancel_booking(four.id, Some(qty(3)), secs(t, 2))
        .await
        .expect("cancel 3");
    let want = Booking {
        quantity: 3,
        status: BookingStatus::Cancelled,
        cancelled_at: Some(secs(t, 2)),
        ..four
    };
    assert_eq!(
        rest, want,
        "cancelling every remaining seat cancels the booking"
    );
    assert_eq!(
        stores.bookings.find_booking(want.id).await.expect("find"),
        Some(want)
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 2)).await, (2, 0, 0));

    let all = stores
        .bookings
        .cancel_booking(two.id, None, secs(t, 3))
        .await
        .expect("cancel all");
    assert_eq!(
        all,
        Booking {
            status: BookingStatus::Cancelled,
            cancelled_at: Some(secs(t, 3)),
            ..two
        }
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 3)).await, (0, 0, 0));
    book_n(&stores, ev.id, ann.id, 10, secs(t, 4)).await;
}

/// Cancelling an unknown booking is `NotFound`, more seats than booked `TooMany`, and a
/// cancelled one `AlreadyCancelled`; none of them changes anything.
pub async fn cancel_refuses_unknown_too_many_and_cancelled(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let two = book_n(&stores, ev.id, ann.id, 2, t).await;

    let unknown = stores
        .bookings
        .cancel_booking(BookingId::generate(), None, t)
        .await;
    assert!(
        matches!(unknown, Err(CancelBookingError::NotFound)),
        "got {unknown:?}"
    );
    let too_many = stores
        .bookings
        .cancel_booking(two.id, Some(qty(3)), t)
        .await;
    assert!(
        matches!(too_many, Err(CancelBookingError::TooMany { booked: 2 })),
        "got {too_many:?}"
    );
    assert_eq!(
        stores.bookings.find_booking(two.id).await.expect("find"),
        Some(two.clone())
    );
    assert_eq!(counters(&stores, ev.id, t).await, (2, 0, 0));

    stores
        .bookings
        .cancel_booking(two.id, None, secs(t, 1))
        .await
        .expect("cancel");
    for quantity in [None, Some(qty(1))] {
        let again = stores
            .bookings
            .cancel_booking(two.id, quantity, secs(t, 2))
            .await;
        assert!(
            matches!(again, Err(CancelBookingError::AlreadyCancelled)),
            "got {again:?}"
        );
    }
    let found = stores
        .bookings
        .find_booking(two.id)
        .await
        .expect("find")
        .expect("kept");
    assert_eq!(
        (found.status, found.cancelled_at),
        (BookingStatus::Cancelled, Some(secs(t, 1)))
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 2)).await, (0, 0, 0));
}

/// `user_bookings` lists the user's bookings newest first, of one status when asked,
/// in pages that continue after the last id.
pub async fn user_bookings_newest_first_filtered_and_paged(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = open_event(&stores, &org, t, 50).await;
    let other = open_event(&stores, &org, t, 50).await;
    let mut ids = Vec::new();
    for i in 0..5_u32 {
        let at = secs(t, i64::from(i));
        let event = if i % 2 == 0 { ev.id } else { other.id };
        if i == 2 {
            let hold = stores
                .reservations
                .hold(
                    HoldId::generate(),
                    &seats(event, None, ann.id, 1),
                    at,
                    secs(t, 600),
                )
                .await
                .expect("hold");
            ids.push(
                stores
                    .reservations
                    .confirm_hold(hold.id, ann.id, at)
                    .await
                    .expect("confirm")
                    .id,
            );
        } else {
            ids.push(book_n(&stores, event, ann.id, i + 1, at).await.id);
        }
        book_n(&stores, event, bob.id, 1, at).await;
    }
    for id in [ids[1], ids[3]] {
        stores
            .bookings
            .cancel_booking(id, None, secs(t, 10))
            .await
            .expect("cancel");
    }
    let mut current = Vec::new();
    for id in ids.iter().rev() {
        current.push(
            stores
                .bookings
                .find_booking(*id)
                .await
                .expect("find")
                .expect("exists"),
        );
    }
    // Newest first: ids[4], ids[3], ..., ids[0].
    let pages = |status, limit, after| {
        let stores = stores.clone();
        let ann = ann.id;
        async move {
            stores
                .bookings
                .user_bookings(ann, status, &PageRequest { limit, after })
                .await
                .expect("user bookings")
        }
    };
    let p1 = pages(None, 2, None).await;
    assert_eq!(p1.items, current[..2]);
    assert_eq!(p1.next, Some(current[1].id));
    let p2 = pages(None, 2, p1.next).await;
    assert_eq!(p2.items, current[2..4]);
    assert_eq!(p2.next, Some(current[3].id));
    let p3 = pages(None, 2, p2.next).await;
    assert_eq!(p3.items, current[4..]);
    assert_eq!(p3.next, None, "last page");
    let exact = pages(None, 5, None).await;
    assert_eq!(
        (exact.items, exact.next),
        (current.clone(), None),
        "an exact fit has no next page"
    );

    let confirmed: Vec<_> = current
        .iter()
        .filter(|b| b.status == BookingStatus::Confirmed)
        .cloned()
        .collect();
    let cancelled: Vec<_> = current
        .iter()
        .filter(|b| b.status == BookingStatus::Cancelled)
        .cloned()
        .collect();
    assert_eq!(
        confirmed.iter().map(|b| b.id).collect::<Vec<_>>(),
        [ids[4], ids[2], ids[0]]
    );
    let c1 = pages(Some(BookingStatus::Confirmed), 2, None).await;
    assert_eq!(
        (c1.items.as_slice(), c1.next),
        (&confirmed[..2], Some(ids[2]))
    );
    let c2 = pages(Some(BookingStatus::Confirmed), 2, c1.next).await;
    assert_eq!((c2.items.as_slice(), c2.next), (&confirmed[2..], None));
    let x = pages(Some(BookingStatus::Cancelled), 10, None).await;
    assert_eq!((x.items, x.next), (cancelled, None));
    assert_eq!(
        all_bookings(&stores, bob.id, None).await.len(),
        5,
        "Bob's are his own"
    );
    assert!(all_bookings(&stores, org.id, None).await.is_empty());
}

/// Lowering the capacity below `sold + held` is `CapacityBelowSold` and changes nothing;
/// down to exactly `sold + held` is fine.
pub async fn capacity_cannot_drop_below_sold_and_held(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    book_n(&stores, ev.id, ann.id, 3, t).await;
    // Live for a day, so it still counts when the capacity change is judged at `t`.
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, bob.id, 2),
            t,
            t + Duration::days(1),
        )
        .await
        .expect("hold");
    let with = |capacity| EventDetails {
        capacity,
        ..ev.details.clone()
    };
    let refused = stores.events.update_details(ev.id, &with(4), t).await;
    assert!(
        matches!(
            refused,
            Err(UpdateEventError::CapacityBelowSold { taken: 5 })
        ),
        "got {refused:?}"
    );
    assert_eq!(
        crate::engine::seen(&stores, ev.id, t)
            .await
            .details
            .capacity,
        10
    );
    let updated = stores
        .events
        .update_details(ev.id, &with(5), t)
        .await
        .expect("update to sold + held");
    assert_eq!(
        (updated.details.capacity, updated.sold, updated.held),
        (5, 3, 2)
    );
    let full = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, bob.id, 1),
            secs(t, 1),
            secs(t, 600),
        )
        .await;
    assert!(
        matches!(full, Err(HoldError::SoldOut { available: 0 })),
        "got {full:?}"
    );

    // Judged after the sweep: a hold that expired by `t` no longer counts, and its seats
    // go to the queue in the same transaction.
    let past = t - Duration::minutes(10);
    let ev = open_event(&stores, &org, past, 10).await;
    book_n(&stores, ev.id, ann.id, 3, past).await;
    let stale = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, bob.id, 7),
            past,
            past + Duration::minutes(5),
        )
        .await
        .expect("hold");
    let cid = attendee(&stores).await;
    let waiting = crate::engine::wait_n(&stores, ev.id, cid.id, 2, past).await;
    let updated = stores
        .events
        .update_details(
            ev.id,
            &EventDetails {
                capacity: 6,
                ..ev.details.clone()
            },
            t,
        )
        .await
        .expect("3 sold and an expired hold fit in 6");
    assert_eq!(
        (
            updated.details.capacity,
            updated.sold,
            updated.held,
            updated.waitlist_count
        ),
        (6, 5, 0, 0),
        "the expired hold's seats went to the queue"
    );
    crate::engine::promoted_booking(&stores, &waiting).await;
    let confirm = stores.reservations.confirm_hold(stale.id, bob.id, t).await;
    assert!(
        matches!(confirm, Err(ConfirmHoldError::Expired)),
        "got {confirm:?}"
    );
}
