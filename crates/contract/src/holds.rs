//! Contract of [`Reservations`](boxoffice_domain::ports::Reservations): holds taken,
//! found, confirmed, released and expired, alone and under concurrency.

use crate::EngineStores;
use crate::engine::{
    all_bookings, attendee, attendees, base, counters, open_event, promoted_booking, seats, secs,
    seen, still_waiting, two_type_event, type_counters, wait_n,
};
use boxoffice_domain::booking::{Booking, BookingSource, BookingStatus, Hold};
use boxoffice_domain::event::EventQuery;
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::ports::{ConfirmHoldError, HoldError};
use boxoffice_domain::{EventId, HoldId, TicketTypeId};
use chrono::Duration;
use futures_util::future::join_all;

/// `hold` takes seats of the first type by default, returns the hold as asked and
/// `find_hold` reads it back while it lives (`expires_at > now`).
pub async fn hold_then_find(stores: EngineStores) {
    let org = crate::engine::organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = two_type_event(&stores, &org, t, 10, 4).await;
    let (vip, general) = (ev.ticket_types[0].id, ev.ticket_types[1].id);
    let expires_at = secs(t, 600);

    let hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 3),
            t,
            expires_at,
        )
        .await
        .expect("hold");
    let want = Hold {
        id: hold.id,
        event_id: ev.id,
        ticket_type_id: vip,
        user_id: ann.id,
        quantity: 3,
        price_cents: ev.ticket_types[0].price_cents,
        expires_at,
        created_at: t,
    };
    assert_eq!(hold, want, "no type named: the first type by position");
    let other = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(general), ann.id, 2),
            secs(t, 1),
            secs(t, 900),
        )
        .await
        .expect("hold of a named type");
    assert_eq!((other.ticket_type_id, other.quantity), (general, 2));
    assert_ne!(other.id, hold.id);

    let at = secs(t, 2);
    assert_eq!(
        stores
            .reservations
            .find_hold(hold.id, at)
            .await
            .expect("find"),
        Some(want.clone())
    );
    assert_eq!(counters(&stores, ev.id, at).await, (0, 5, 0));
    assert_eq!(type_counters(&stores, ev.id, at).await, [(0, 3), (0, 2)]);
    let just_before = expires_at - Duration::microseconds(1);
    assert_eq!(
        stores
            .reservations
            .find_hold(hold.id, just_before)
            .await
            .expect("find"),
        Some(want),
        "alive until its expiry"
    );
    assert_eq!(
        stores
            .reservations
            .find_hold(hold.id, expires_at)
            .await
            .expect("find"),
        None,
        "not alive at expires_at"
    );
    assert_eq!(
        counters(&stores, ev.id, expires_at).await,
        (0, 2, 0),
        "find leaves out the expired hold at once"
    );
    assert_eq!(
        type_counters(&stores, ev.id, expires_at).await,
        [(0, 0), (0, 2)],
        "per type too"
    );
    let listed = stores
        .events
        .list_scheduled(&EventQuery {
            from: t,
            text: None,
            page: PageRequest {
                limit: 10,
                after: None,
            },
            now: expires_at,
        })
        .await
        .expect("list");
    assert_eq!(
        listed.items,
        [seen(&stores, ev.id, expires_at).await],
        "list_scheduled counts as of its now like find"
    );
    assert_eq!(listed.items[0].held, 2);
    assert_eq!(
        stores
            .reservations
            .find_hold(boxoffice_domain::HoldId::generate(), at)
            .await
            .expect("find"),
        None
    );
}

/// Unknown events and types are `NotFound`; more than is free is `SoldOut` with what is free.
pub async fn hold_refuses_unknown_and_oversized_requests(stores: EngineStores) {
    let org = crate::engine::organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = two_type_event(&stores, &org, t, 10, 4).await;
    let (vip, general) = (ev.ticket_types[0].id, ev.ticket_types[1].id);
    let exp = secs(t, 600);

    let unknown_event = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(EventId::generate(), None, ann.id, 1),
            t,
            exp,
        )
        .await;
    assert!(
        matches!(unknown_event, Err(HoldError::NotFound)),
        "got {unknown_event:?}"
    );
    let unknown_type = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(TicketTypeId::generate()), ann.id, 1),
            t,
            exp,
        )
        .await;
    assert!(
        matches!(unknown_type, Err(HoldError::NotFound)),
        "got {unknown_type:?}"
    );

    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(vip), ann.id, 3),
            t,
            exp,
        )
        .await
        .expect("hold 3 VIP");
    let over_quota = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(vip), ann.id, 2),
            t,
            exp,
        )
        .await;
    assert!(
        matches!(over_quota, Err(HoldError::SoldOut { available: 1 })),
        "VIP quota 4, 3 held: got {over_quota:?}"
    );
    let over_capacity = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(general), ann.id, 8),
            t,
            exp,
        )
        .await;
    assert!(
        matches!(over_capacity, Err(HoldError::SoldOut { available: 7 })),
        "capacity 10, 3 held: got {over_capacity:?}"
    );
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(general), ann.id, 6),
            t,
            exp,
        )
        .await
        .expect("hold 6 General");
    let vip_after = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(vip), ann.id, 1),
            t,
            exp,
        )
        .await
        .expect("the last seat, VIP");
    assert_eq!(vip_after.quantity, 1);
    let full = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(general), ann.id, 1),
            t,
            exp,
        )
        .await;
    assert!(
        matches!(full, Err(HoldError::SoldOut { available: 0 })),
        "got {full:?}"
    );
    assert_eq!(
        counters(&stores, ev.id, t).await,
        (0, 10, 0),
        "refusals take nothing"
    );
    assert_eq!(type_counters(&stores, ev.id, t).await, [(0, 4), (0, 6)]);
}

/// Confirming a live hold makes a `source: hold` booking of its seats and moves them
/// from held to sold; the hold is gone, so it confirms or releases no more.
pub async fn confirm_turns_hold_into_booking(stores: EngineStores) {
    let org = crate::engine::organizer(&stores).await;
    let ann = attendee(&stores).await;
    let bob = attendee(&stores).await;
    let t = base();
    let ev = two_type_event(&stores, &org, t, 10, 4).await;
    let general = ev.ticket_types[1].id;
    let hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(general), ann.id, 2),
            t,
            secs(t, 600),
        )
        .await
        .expect("hold");

    let by_other = stores
        .reservations
        .confirm_hold(hold.id, bob.id, secs(t, 1))
        .await;
    assert!(
        matches!(by_other, Err(ConfirmHoldError::NotFound)),
        "another user's hold: got {by_other:?}"
    );
    assert_eq!(
        counters(&stores, ev.id, secs(t, 1)).await,
        (0, 2, 0),
        "still held"
    );

    let at = secs(t, 2);
    let booked = stores
        .reservations
        .confirm_hold(hold.id, ann.id, at)
        .await
        .expect("confirm");
    let want = Booking {
        id: booked.id,
        event_id: ev.id,
        ticket_type_id: general,
        user_id: ann.id,
        quantity: 2,
        price_cents: hold.price_cents,
        status: BookingStatus::Confirmed,
        source: BookingSource::Hold,
        created_at: at,
        cancelled_at: None,
    };
    assert_eq!(booked, want);
    assert_eq!(
        stores.bookings.find_booking(booked.id).await.expect("find"),
        Some(want.clone())
    );
    assert_eq!(all_bookings(&stores, ann.id, None).await, [want]);
    assert_eq!(
        counters(&stores, ev.id, at).await,
        (2, 0, 0),
        "held -> sold"
    );
    assert_eq!(type_counters(&stores, ev.id, at).await, [(0, 0), (2, 0)]);
    assert_eq!(
        stores
            .reservations
            .find_hold(hold.id, at)
            .await
            .expect("find"),
        None
    );

    let again = stores
        .reservations
        .confirm_hold(hold.id, ann.id, secs(t, 3))
        .await;
    assert!(
        matches!(again, Err(ConfirmHoldError::NotFound)),
        "confirmed twice: got {again:?}"
    );
    let release = stores
        .reservations
        .release_hold(hold.id, ann.id, secs(t, 3))
        .await;
    assert!(
        matches!(release, Err(ConfirmHoldError::NotFound)),
        "release after confirm: got {release:?}"
    );
    let unknown = stores
        .reservations
        .confirm_hold(boxoffice_domain::HoldId::generate(), ann.id, secs(t, 3))
        .await;
    assert!(
        matches!(unknown, Err(ConfirmHoldError::NotFound)),
        "got {unknown:?}"
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 3)).await, (2, 0, 0));
    assert_eq!(
        all_bookings(&stores, ann.id, None).await.len(),
        1,
        "one hold, one booking"
    );
}

/// Releasing returns the seats at once; only the holder may, and only once.
pub async fn release_returns_seats_at_once(stores: EngineStores) {
    let org = crate::engine::organizer(&stores).await;
    let ann = attendee(&stores).await;
    let bob = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 5).await;
    let hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 5),
            t,
            secs(t, 600),
        )
        .await
        .expect("hold");
    let blocked = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, bob.id, 1),
            secs(t, 1),
            secs(t, 600),
        )
        .await;
    assert!(
        matches!(blocked, Err(HoldError::SoldOut { available: 0 })),
        "got {blocked:?}"
    );

    let by_other = stores
        .reservations
        .release_hold(hold.id, bob.id, secs(t, 2))
        .await;
    assert!(
        matches!(by_other, Err(ConfirmHoldError::NotFound)),
        "got {by_other:?}"
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 2)).await, (0, 5, 0));

    stores
        .reservations
        .release_hold(hold.id, ann.id, secs(t, 3))
        .await
        .expect("release");
    assert_eq!(
        counters(&stores, ev.id, secs(t, 3)).await,
        (0, 0, 0),
        "seats back at once"
    );
    assert_eq!(
        stores
            .reservations
            .find_hold(hold.id, secs(t, 3))
            .await
            .expect("find"),
        None
    );
    let twice = stores
        .reservations
        .release_hold(hold.id, ann.id, secs(t, 4))
        .await;
    assert!(
        matches!(twice, Err(ConfirmHoldError::NotFound)),
        "got {twice:?}"
    );
    let confirm = stores
        .reservations
        .confirm_hold(hold.id, ann.id, secs(t, 4))
        .await;
    assert!(
        matches!(confirm, Err(ConfirmHoldError::NotFound)),
        "confirm after release: got {confirm:?}"
    );

    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, bob.id, 5),
            secs(t, 5),
            secs(t, 600),
        )
        .await
        .expect("the seats are free for others");
    assert!(all_bookings(&stores, ann.id, None).await.is_empty());
}

/// A hold past `expires_at` stops counting in `find` at once; `expire_holds` then ends it,
/// returns its seats (to the waitlist first) and ends it only once.
pub async fn expired_hold_stops_counting_and_sweep_promotes(stores: EngineStores) {
    let org = crate::engine::organizer(&stores).await;
    let ann = attendee(&stores).await;
    let bob = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 4).await;
    let expires_at = secs(t, 10);
    let hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 4),
            t,
            expires_at,
        )
        .await
        .expect("hold");
    let waiting = wait_n(&stores, ev.id, bob.id, 3, secs(t, 5)).await;

    assert_eq!(counters(&stores, ev.id, secs(t, 5)).await, (0, 4, 1));
    assert_eq!(
        counters(&stores, ev.id, expires_at - Duration::microseconds(1)).await,
        (0, 4, 1),
        "held until expires_at"
    );
    assert_eq!(
        counters(&stores, ev.id, expires_at).await,
        (0, 0, 1),
        "an expired hold stops counting in find at once, before any sweep"
    );
    assert_eq!(
        stores
            .reservations
            .find_hold(hold.id, expires_at)
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        counters(&stores, ev.id, secs(t, 5)).await,
        (0, 4, 1),
        "find writes nothing: earlier instants still see the hold"
    );

    let sweep_at = secs(t, 20);
    assert_eq!(
        stores
            .reservations
            .expire_holds(sweep_at, 100)
            .await
            .expect("expire"),
        1
    );
    assert_eq!(
        counters(&stores, ev.id, sweep_at).await,
        (3, 0, 0),
        "seats went to the queue"
    );
    let promoted = promoted_booking(&stores, &waiting).await;
    assert_eq!(promoted.created_at, sweep_at);
    assert_eq!(
        stores
            .reservations
            .expire_holds(secs(t, 21), 100)
            .await
            .expect("expire"),
        0,
        "ended once"
    );
    let confirm = stores
        .reservations
        .confirm_hold(hold.id, ann.id, secs(t, 22))
        .await;
    assert!(
        matches!(confirm, Err(ConfirmHoldError::Expired)),
        "got {confirm:?}"
    );
    let release = stores
        .reservations
        .release_hold(hold.id, ann.id, secs(t, 22))
        .await;
    assert!(
        matches!(release, Err(ConfirmHoldError::NotFound)),
        "got {release:?}"
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 22)).await, (3, 0, 0));
    assert!(all_bookings(&stores, ann.id, None).await.is_empty());
}

/// `expire_holds` ends at most `limit` holds per call, those that expired first, and
/// leaves live holds alone.
pub async fn expire_holds_takes_oldest_first_up_to_limit(stores: EngineStores) {
    let org = crate::engine::organizer(&stores).await;
    let ann = attendee(&stores).await;
    let bob = attendee(&stores).await;
    let t = base();
    // One expiring hold and one waiting entry per event, so each sweep shows in the queue.
    let mut events = Vec::new();
    for i in 0..3 {
        let ev = open_event(&stores, &org, t, 1).await;
        stores
            .reservations
            .hold(
                HoldId::generate(),
                &seats(ev.id, None, ann.id, 1),
                secs(t, i),
                secs(t, 10 + i),
            )
            .await
            .expect("hold");
        let waiting = wait_n(&stores, ev.id, bob.id, 1, secs(t, 5)).await;
        events.push((ev, waiting));
    }
    let live_event = open_event(&stores, &org, t, 1).await;
    let live = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(live_event.id, None, ann.id, 1),
            secs(t, 5),
            secs(t, 3600),
        )
        .await
        .expect("live hold");

    let at = secs(t, 60);
    assert_eq!(
        stores
            .reservations
            .expire_holds(at, 2)
            .await
            .expect("expire"),
        2
    );
    promoted_booking(&stores, &events[0].1).await;
    promoted_booking(&stores, &events[1].1).await;
    still_waiting(&stores, &events[2].1, 1).await;
    assert_eq!(
        counters(&stores, events[2].0.id, secs(t, 5)).await,
        (0, 1, 1)
    );

    assert_eq!(
        stores
            .reservations
            .expire_holds(at, 2)
            .await
            .expect("expire"),
        1
    );
    promoted_booking(&stores, &events[2].1).await;
    assert_eq!(
        stores
            .reservations
            .expire_holds(at, 2)
            .await
            .expect("expire"),
        0
    );
    assert_eq!(
        stores
            .reservations
            .find_hold(live.id, at)
            .await
            .expect("find")
            .map(|h| h.id),
        Some(live.id),
        "a live hold is untouched"
    );
    for (ev, _) in &events {
        assert_eq!(counters(&stores, ev.id, at).await, (1, 0, 0));
    }
    assert_eq!(counters(&stores, live_event.id, at).await, (0, 1, 0));
}

/// Confirming at or after `expires_at` is `Expired`, returns the seats (to the queue
/// first), and never also makes a booking; a microsecond earlier it confirms.
pub async fn confirm_at_or_after_expiry_is_expired_and_never_booked(stores: EngineStores) {
    let org = crate::engine::organizer(&stores).await;
    let ann = attendee(&stores).await;
    let bob = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 3).await;
    let expires_at = secs(t, 10);
    let late = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 2),
            t,
            expires_at,
        )
        .await
        .expect("hold");
    let in_time = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 1),
            t,
            expires_at,
        )
        .await
        .expect("hold");
    let waiting = wait_n(&stores, ev.id, bob.id, 2, secs(t, 1)).await;

    let just_before = expires_at - Duration::microseconds(1);
    let booked = stores
        .reservations
        .confirm_hold(in_time.id, ann.id, just_before)
        .await
        .expect("confirm a microsecond before expiry");
    assert_eq!((booked.quantity, booked.source), (1, BookingSource::Hold));

    let result = stores
        .reservations
        .confirm_hold(late.id, ann.id, expires_at)
        .await;
    assert!(
        matches!(result, Err(ConfirmHoldError::Expired)),
        "at expires_at: got {result:?}"
    );
    assert_eq!(
        counters(&stores, ev.id, expires_at).await,
        (3, 0, 0),
        "the expired hold's seats went to the queue"
    );
    promoted_booking(&stores, &waiting).await;
    let again = stores
        .reservations
        .confirm_hold(late.id, ann.id, secs(t, 11))
        .await;
    assert!(
        matches!(again, Err(ConfirmHoldError::Expired)),
        "after expiry: got {again:?}"
    );
    assert_eq!(
        stores
            .reservations
            .expire_holds(secs(t, 12), 100)
            .await
            .expect("expire"),
        0,
        "the failed confirmation committed the expiry"
    );
    let mine = all_bookings(&stores, ann.id, None).await;
    assert_eq!(
        mine.iter().map(|b| b.id).collect::<Vec<_>>(),
        [booked.id],
        "no booking of the expired hold"
    );
    assert_eq!(counters(&stores, ev.id, secs(t, 12)).await, (3, 0, 0));
}

/// Many rounds of fresh holds, each confirmed while `expire_holds` runs at its expiry:
/// every hold ends exactly one way (a booking, or expired), and the counters agree.
pub async fn confirm_racing_expire_holds_ends_each_hold_once(stores: EngineStores) {
    const ROUNDS: i64 = 25;
    const PER_ROUND: usize = 4;
    let org = crate::engine::organizer(&stores).await;
    let users = attendees(&stores, PER_ROUND).await;
    let t = base();
    let capacity = u32::try_from(ROUNDS).expect("small") * u32::try_from(PER_ROUND).expect("small");
    let ev = open_event(&stores, &org, t, capacity).await;
    let mut confirmed_total = 0_u32;
    for round in 0..ROUNDS {
        let taken_at = secs(t, 10 * round);
        let expires_at = secs(t, 10 * round + 5);
        let mut holds = Vec::new();
        for user in &users {
            let hold = stores
                .reservations
                .hold(
                    HoldId::generate(),
                    &seats(ev.id, None, user.id, 1),
                    taken_at,
                    expires_at,
                )
                .await
                .expect("hold");
            holds.push(hold);
        }
        // Odd rounds confirm a microsecond early (a real race), even ones exactly at expiry
        // (always Expired, whoever runs first).
        let confirm_at = if round % 2 == 1 {
            expires_at - Duration::microseconds(1)
        } else {
            expires_at
        };
        let confirms: Vec<_> = holds
            .iter()
            .map(|hold| {
                let stores = stores.clone();
                let (id, user) = (hold.id, hold.user_id);
                tokio::spawn(
                    async move { stores.reservations.confirm_hold(id, user, confirm_at).await },
                )
            })
            .collect();
        let sweeps: Vec<_> = (0..2)
            .map(|_| {
                let stores = stores.clone();
                tokio::spawn(
                    async move { stores.reservations.expire_holds(expires_at, 1000).await },
                )
            })
            .collect();
        let confirms: Vec<_> = join_all(confirms)
            .await
            .into_iter()
            .map(|r| r.expect("task"))
            .collect();
        let swept: u32 = join_all(sweeps)
            .await
            .into_iter()
            .map(|r| r.expect("task").expect("expire_holds"))
            .sum();

        let mut ok = 0_u32;
        let mut expired = 0_u32;
        for (hold, result) in holds.iter().zip(&confirms) {
            match result {
                Ok(b) => {
                    assert_eq!(
                        (b.quantity, b.source, b.user_id),
                        (1, BookingSource::Hold, hold.user_id)
                    );
                    ok += 1;
                }
                Err(ConfirmHoldError::Expired) => expired += 1,
                Err(e) => panic!("round {round}: confirm ended with {e:?}"),
            }
        }
        if round % 2 == 0 {
            assert_eq!(ok, 0, "round {round}: confirming at expires_at never books");
            assert!(
                swept <= expired,
                "round {round}: swept {swept}, expired {expired}"
            );
        } else {
            assert_eq!(
                swept, expired,
                "round {round}: every Expired hold was ended by a sweeper"
            );
        }
        assert_eq!(ok + expired, 4, "round {round}");
        confirmed_total += ok;
        assert_eq!(
            counters(&stores, ev.id, expires_at).await,
            (confirmed_total, 0, 0),
            "round {round}: {ok} confirmed, {expired} expired"
        );
        for hold in &holds {
            assert_eq!(
                stores
                    .reservations
                    .find_hold(hold.id, taken_at)
                    .await
                    .expect("find"),
                None,
                "round {round}"
            );
        }
    }
    let mut booked = 0;
    for user in &users {
        let mine = all_bookings(&stores, user.id, None).await;
        assert!(
            mine.iter()
                .all(|b| b.status == BookingStatus::Confirmed && b.source == BookingSource::Hold)
        );
        booked += mine.iter().map(|b| b.quantity).sum::<u32>();
    }
    assert_eq!(
        booked, confirmed_total,
        "one booking per confirmed hold, none for expired ones"
    );
    let end = secs(t, 10 * ROUNDS + 100);
    assert_eq!(
        stores
            .reservations
            .expire_holds(end, 1000)
            .await
            .expect("expire"),
        0,
        "nothing left to expire"
    );
    assert_eq!(counters(&stores, ev.id, end).await, (confirmed_total, 0, 0));
}

/// 100 concurrent one-seat holds on 30 seats: exactly 30 succeed; with a capped type
/// racing an uncapped one, neither the quota nor the capacity is passed.
pub async fn concurrent_holds_never_exceed_capacity(stores: EngineStores) {
    let org = crate::engine::organizer(&stores).await;
    let users = attendees(&stores, 100).await;
    let t = base();
    let exp = secs(t, 600);

    let ev = open_event(&stores, &org, t, 30).await;
    let tasks: Vec<_> = users
        .iter()
        .map(|user| {
            let stores = stores.clone();
            let request = seats(ev.id, None, user.id, 1);
            tokio::spawn(async move {
                stores
                    .reservations
                    .hold(HoldId::generate(), &request, t, exp)
                    .await
            })
        })
        .collect();
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let held = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(held, 30, "exactly the capacity is held");
    for result in &results {
        assert!(
            matches!(result, Ok(_) | Err(HoldError::SoldOut { available: 0 })),
            "got {result:?}"
        );
    }
    assert_eq!(counters(&stores, ev.id, t).await, (0, 30, 0));

    let typed = two_type_event(&stores, &org, t, 30, 10).await;
    let (vip, general) = (typed.ticket_types[0].id, typed.ticket_types[1].id);
    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let stores = stores.clone();
            let ty = if i % 2 == 0 { vip } else { general };
            let request = seats(typed.id, Some(ty), user.id, 1);
            tokio::spawn(async move {
                (
                    ty,
                    stores
                        .reservations
                        .hold(HoldId::generate(), &request, t, exp)
                        .await,
                )
            })
        })
        .collect();
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let ok_of = |ty| {
        u32::try_from(
            results
                .iter()
                .filter(|(t, r)| *t == ty && r.is_ok())
                .count(),
        )
        .expect("small")
    };
    let (vip_ok, general_ok) = (ok_of(vip), ok_of(general));
    assert!(vip_ok <= 10, "VIP quota passed: {vip_ok}");
    assert_eq!(
        vip_ok + general_ok,
        30,
        "50 uncapped requests fill the event"
    );
    for (_, result) in &results {
        assert!(
            matches!(result, Ok(_) | Err(HoldError::SoldOut { .. })),
            "got {result:?}"
        );
    }
    assert_eq!(counters(&stores, typed.id, t).await, (0, 30, 0));
    assert_eq!(
        type_counters(&stores, typed.id, t).await,
        [(0, vip_ok), (0, general_ok)]
    );
}

/// Three sweepers at once expire every hold exactly once: the returned counts add up,
/// and the freed seats promote exactly as many entries, in join order.
pub async fn concurrent_sweepers_expire_each_hold_once(stores: EngineStores) {
    const EVENTS: usize = 3;
    const SEATS: u32 = 10;
    const WAITING: usize = 15;
    let org = crate::engine::organizer(&stores).await;
    let holders = attendees(&stores, 5).await;
    let waiters = attendees(&stores, WAITING).await;
    let t = base();
    let mut events = Vec::new();
    for _ in 0..EVENTS {
        let ev = open_event(&stores, &org, t, SEATS).await;
        for s in 0..SEATS {
            let user = &holders[usize::try_from(s).expect("small") % holders.len()];
            let expires_at = secs(t, 10 + i64::from(s));
            stores
                .reservations
                .hold(
                    HoldId::generate(),
                    &seats(ev.id, None, user.id, 1),
                    t,
                    expires_at,
                )
                .await
                .expect("hold");
        }
        let mut queue = Vec::new();
        for user in &waiters {
            queue.push(wait_n(&stores, ev.id, user.id, 1, secs(t, 5)).await);
        }
        events.push((ev, queue));
    }

    let at = secs(t, 60);
    let sweeps: Vec<_> = (0..3)
        .map(|_| {
            let stores = stores.clone();
            tokio::spawn(async move { stores.reservations.expire_holds(at, 1000).await })
        })
        .collect();
    let swept: u32 = join_all(sweeps)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("expire_holds"))
        .sum();
    assert_eq!(
        swept,
        u32::try_from(EVENTS).expect("small") * SEATS,
        "each hold expired once"
    );
    assert_eq!(
        stores
            .reservations
            .expire_holds(at, 1000)
            .await
            .expect("expire"),
        0
    );

    let left = u32::try_from(WAITING).expect("small") - SEATS;
    for (ev, queue) in &events {
        assert_eq!(
            counters(&stores, ev.id, at).await,
            (SEATS, 0, left),
            "no double promotion"
        );
        for entry in &queue[..usize::try_from(SEATS).expect("small")] {
            promoted_booking(&stores, entry).await;
        }
        for (i, entry) in queue[usize::try_from(SEATS).expect("small")..]
            .iter()
            .enumerate()
        {
            still_waiting(&stores, entry, u32::try_from(i).expect("small") + 1).await;
        }
    }
    for user in &holders {
        assert!(
            all_bookings(&stores, user.id, None).await.is_empty(),
            "expired holds book nothing"
        );
    }
}

/// A batch that fails as a whole (here one of its holds reuses a stored hold's id,
/// which the primary key refuses) answers every request of it with an error and stores
/// none of them; requests of other batches are unaffected; the counters agree with the
/// holds that were answered.
pub async fn a_failed_batch_stores_none_of_its_requests(stores: EngineStores) {
    let org = crate::engine::organizer(&stores).await;
    let users = attendees(&stores, 40).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 100).await;
    let (exp, at) = (secs(t, 600), secs(t, 2));
    let taken = HoldId::generate();
    stores
        .reservations
        .hold(taken, &seats(ev.id, None, users[0].id, 1), t, exp)
        .await
        .expect("first hold");
    let ids: Vec<HoldId> = (0..users.len())
        .map(|i| if i == 20 { taken } else { HoldId::generate() })
        .collect();
    let answers = join_all(ids.iter().zip(&users).map(|(id, u)| {
        let request = seats(ev.id, None, u.id, 1);
        let reservations = &stores.reservations;
        async move { reservations.hold(*id, &request, secs(t, 1), exp).await }
    }))
    .await;
    assert!(
        matches!(answers[20], Err(HoldError::Backend(_))),
        "a stored hold's id again: {:?}",
        answers[20]
    );
    let mut held = 1;
    for (id, answer) in ids.iter().zip(&answers) {
        let found = stores.reservations.find_hold(*id, at).await.expect("find");
        match answer {
            Ok(hold) => {
                assert_eq!(found.as_ref(), Some(hold), "an answered hold is stored");
                held += 1;
            }
            Err(HoldError::Backend(_)) if *id == taken => {}
            Err(HoldError::Backend(_)) => {
                assert_eq!(found, None, "a request of the failed batch was stored");
            }
            Err(other) => panic!("hold {id}: {other:?}"),
        }
    }
    assert_eq!(counters(&stores, ev.id, at).await, (0, held, 0));
}
