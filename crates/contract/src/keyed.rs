//! Contract of [`KeyedSeats`](boxoffice_domain::ports::KeyedSeats): a seat request with
//! an idempotency key runs once per user and key, even when repeats race it.

use crate::EngineStores;
use crate::engine::{attendee, base, book_n, counters, open_event, organizer, qty, seats, secs};
use boxoffice_domain::HoldId;
use boxoffice_domain::planner::{Outcome, Refusal, SeatOp, Timed};
use boxoffice_domain::ports::{Idempotency, Keyed};
use futures_util::future::join_all;

fn key(name: &str, request: &str) -> Idempotency {
    Idempotency::new(name.to_owned(), &[request])
}

/// A keyed hold holds once: a repeat answers the same hold and takes no seats, another
/// request with the key is refused, and a refused request keeps no key.
pub async fn keyed_holds_hold_once(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 4).await;
    let hold = |n: u32| SeatOp::Hold {
        id: HoldId::generate(),
        request: seats(ev.id, None, ann.id, n),
        expires_at: secs(t, 600),
    };
    let run = |k: Idempotency, op: SeatOp| {
        let stores = stores.clone();
        async move {
            stores
                .keyed
                .run_keyed(
                    ev.id,
                    ann.id,
                    &k,
                    Timed {
                        op,
                        now: secs(t, 1),
                    },
                )
                .await
                .expect("keyed hold")
        }
    };
    let first = run(key("h1", "hold 2"), hold(2)).await;
    let Keyed::Ran(Outcome::Held(held)) = first else {
        panic!("the first keyed hold runs, got {first:?}");
    };
    let again = run(key("h1", "hold 2"), hold(2)).await;
    let Keyed::Repeat(replay) = again else {
        panic!("a repeat replays, got {again:?}");
    };
    assert_eq!(replay.hold, Some(held.clone()));
    assert_eq!(
        counters(&stores, ev.id, secs(t, 1)).await,
        (0, 2, 0),
        "held once"
    );
    assert_eq!(run(key("h1", "hold 1"), hold(1)).await, Keyed::KeyReused);

    // Refused (too few seats): no key is kept, so the same key works once seats are free.
    let refused = run(key("h2", "hold 3"), hold(3)).await;
    assert_eq!(
        refused,
        Keyed::Ran(Outcome::Refused(Refusal::SoldOut { available: 2 }))
    );
    stores
        .reservations
        .release_hold(held.id, ann.id, secs(t, 2))
        .await
        .expect("release");
    let second = stores
        .keyed
        .run_keyed(
            ev.id,
            ann.id,
            &key("h2", "hold 3"),
            Timed {
                op: hold(3),
                now: secs(t, 3),
            },
        )
        .await
        .expect("keyed hold");
    assert!(matches!(second, Keyed::Ran(Outcome::Held(_))), "{second:?}");
    assert_eq!(counters(&stores, ev.id, secs(t, 3)).await, (0, 3, 0));
}

/// Twenty racing repeats of one keyed partial cancellation cancel one ticket: one runs,
/// the others replay the booking.
pub async fn racing_keyed_cancellations_cancel_once(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let booking = book_n(&stores, ev.id, ann.id, 5, t).await;
    let cancel = key("c1", "cancel 1");
    let answers = join_all((0..20).map(|_| {
        let (stores, cancel) = (stores.clone(), cancel.clone());
        async move {
            let op = SeatOp::Cancel {
                booking_id: booking.id,
                quantity: Some(qty(1)),
            };
            stores
                .keyed
                .run_keyed(
                    ev.id,
                    ann.id,
                    &cancel,
                    Timed {
                        op,
                        now: secs(t, 1),
                    },
                )
                .await
                .expect("keyed cancellation")
        }
    }))
    .await;
    let ran = answers
        .iter()
        .filter(|a| matches!(a, Keyed::Ran(Outcome::Cancelled(_))))
        .count();
    assert_eq!(ran, 1, "{answers:?}");
    for answer in &answers {
        match answer {
            Keyed::Ran(Outcome::Cancelled(b)) => assert_eq!(b.quantity, 4),
            Keyed::Repeat(replay) => {
                assert_eq!(replay.booking.as_ref().map(|b| b.quantity), Some(4));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(counters(&stores, ev.id, secs(t, 1)).await, (4, 0, 0));
    let found = stores
        .bookings
        .find_booking(booking.id)
        .await
        .expect("find");
    assert_eq!(found.map(|b| b.quantity), Some(4));
}

/// Keyed joins queue once, and keyed confirmations book a hold once.
pub async fn keyed_joins_and_confirmations_run_once(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = open_event(&stores, &org, t, 2).await;
    let at = secs(t, 1);
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
    let confirm = || SeatOp::Confirm {
        hold_id: hold.id,
        user_id: ann.id,
    };
    let run = |user, k: &str, op| {
        let stores = stores.clone();
        let k = key(k, "same");
        async move {
            stores
                .keyed
                .run_keyed(ev.id, user, &k, Timed { op, now: at })
                .await
                .expect("keyed")
        }
    };
    let first = run(ann.id, "confirm", confirm()).await;
    let Keyed::Ran(Outcome::Confirmed(booked)) = first else {
        panic!("the first confirmation runs, got {first:?}");
    };
    let again = run(ann.id, "confirm", confirm()).await;
    assert!(
        matches!(&again, Keyed::Repeat(r) if r.booking.as_ref() == Some(&booked)),
        "{again:?}"
    );
    let join = || SeatOp::Join(seats(ev.id, None, bob.id, 1));
    let joined = run(bob.id, "join", join()).await;
    let Keyed::Ran(Outcome::Joined(entry)) = joined else {
        panic!("the first join runs, got {joined:?}");
    };
    let again = run(bob.id, "join", join()).await;
    assert!(
        matches!(&again, Keyed::Repeat(r) if r.waitlist_entry.as_ref().map(|e| e.id) == Some(entry.id)),
        "{again:?}"
    );
    assert_eq!(
        counters(&stores, ev.id, at).await,
        (2, 0, 1),
        "booked once, queued once"
    );
    // Keys are per user: ann's key is not bob's.
    let bobs = run(bob.id, "confirm", join()).await;
    assert!(
        matches!(
            bobs,
            Keyed::Ran(Outcome::Refused(Refusal::AlreadyWaitlisted))
        ),
        "{bobs:?}"
    );
}
