//! The acceptance criteria under concurrency: a flash sale, cancellations racing each
//! other into the queue, and a seeded random mixed workload that checks the seat
//! invariants after every operation and at the end.

use crate::EngineStores;
use crate::engine::{
    all_bookings, attendees, base, book_n, booking, counters, entries, event_with, keyed,
    open_details, open_event, organizer, promoted_booking, queue, seats, secs, seen, still_waiting,
    wait_n,
};
use crate::fixtures::ticket_type;
use boxoffice_domain::booking::{BookingSource, BookingStatus, OnSoldOut, WaitlistStatus};
use boxoffice_domain::event::{Event, EventDetails, TicketTypeChanges};
use boxoffice_domain::ports::{
    BookError, ConfirmHoldError, HoldError, JoinWaitlistError, LeaveWaitlistError, TicketTypeError,
    UpdateEventError,
};
use boxoffice_domain::seats::SaleRefusal;
use boxoffice_domain::{EventId, HoldId, TicketTypeId, Timestamp, UserId};
use chrono::Duration;
use futures_util::future::join_all;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{Rng as _, SeedableRng as _};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

/// 500 distinct clients each book one ticket of a 100-seat event at once: exactly 100
/// are confirmed and 400 queued, and counters, rows and the queue agree.
pub async fn flash_sale_sells_exactly_capacity(stores: EngineStores) {
    const CLIENTS: usize = 500;
    const SEATS: u32 = 100;
    let org = organizer(&stores).await;
    let users = attendees(&stores, CLIENTS).await;
    let t = base();
    let ev = open_event(&stores, &org, t, SEATS).await;
    let started = std::time::Instant::now();
    let tasks: Vec<_> = users
        .iter()
        .map(|user| {
            let stores = stores.clone();
            let request = booking(seats(ev.id, None, user.id, 1), OnSoldOut::Waitlist, false);
            tokio::spawn(async move { stores.bookings.book(&request, t).await })
        })
        .collect();
    let outcomes: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    eprintln!(
        "flash sale: {CLIENTS} concurrent requests answered in {:?}, {} failed",
        started.elapsed(),
        outcomes.iter().filter(|r| r.is_err()).count()
    );
    let outcomes: Vec<_> = outcomes
        .into_iter()
        .map(|r| r.expect("every request is booked or queued"))
        .collect();

    let mut booked_users = HashSet::new();
    let mut queued = HashSet::new();
    for (user, outcome) in users.iter().zip(&outcomes) {
        match (&outcome.booking, &outcome.waitlist_entry) {
            (Some(b), None) => {
                assert_eq!(
                    (b.user_id, b.quantity, b.status),
                    (user.id, 1, BookingStatus::Confirmed)
                );
                booked_users.insert(user.id);
            }
            (None, Some(e)) => {
                assert_eq!(
                    (e.user_id, e.quantity, e.status),
                    (user.id, 1, WaitlistStatus::Waiting)
                );
                queued.insert(e.id);
            }
            other => panic!("a booking or an entry, not {other:?}"),
        }
    }
    assert_eq!(booked_users.len(), 100, "exactly the capacity is confirmed");
    assert_eq!(queued.len(), 400, "everyone else is queued");
    assert_eq!(counters(&stores, ev.id, t).await, (SEATS, 0, 400));

    let lists = join_all(users.iter().map(|u| all_bookings(&stores, u.id, None))).await;
    let mut sold_in_rows = 0;
    for (user, list) in users.iter().zip(&lists) {
        let seats: u32 = list.iter().map(|b| b.quantity).sum();
        assert_eq!(
            seats,
            u32::from(booked_users.contains(&user.id)),
            "rows match outcomes"
        );
        sold_in_rows += seats;
    }
    assert_eq!(sold_in_rows, SEATS, "the users' bookings add up to sold");

    let waiting = queue(&stores, ev.id, WaitlistStatus::Waiting).await;
    assert_eq!(waiting.len(), 400);
    assert_eq!(waiting.iter().map(|e| e.id).collect::<HashSet<_>>(), queued);
    for (i, e) in waiting.iter().enumerate() {
        assert_eq!(
            e.position,
            Some(u32::try_from(i).expect("small") + 1),
            "positions 1..400"
        );
        assert!(!booked_users.contains(&e.user_id));
    }

    // 250 more seats: one transaction promotes the first 250 entries, reading the queue
    // past any batch size, and the other 150 keep their order.
    let details = EventDetails {
        capacity: SEATS + 250,
        ..ev.details.clone()
    };
    let raised = stores
        .events
        .update_details(ev.id, &details, secs(t, 1))
        .await
        .expect("raise the capacity");
    assert_eq!(
        (raised.sold, raised.held, raised.waitlist_count),
        (SEATS + 250, 0, 150)
    );
    let promoted: HashSet<_> = queue(&stores, ev.id, WaitlistStatus::Promoted)
        .await
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        promoted,
        waiting[..250].iter().map(|e| e.id).collect::<HashSet<_>>(),
        "the first 250 in queue order"
    );
    let still: Vec<_> = queue(&stores, ev.id, WaitlistStatus::Waiting)
        .await
        .iter()
        .map(|e| (e.id, e.position))
        .collect();
    let want: Vec<_> = waiting[250..]
        .iter()
        .zip(1..)
        .map(|(e, position)| (e.id, Some(position)))
        .collect();
    assert_eq!(still, want);
    let lists = join_all(users.iter().map(|u| all_bookings(&stores, u.id, None))).await;
    let in_rows: u32 = lists.iter().flatten().map(|b| b.quantity).sum();
    assert_eq!(in_rows, SEATS + 250, "the users' bookings add up to sold");
}

/// 20 bookings cancelled at once promote exactly the first 20 of 30 waiting entries,
/// in join order; the other 10 keep waiting, at positions 1..10.
pub async fn concurrent_cancellations_promote_first_waiting(stores: EngineStores) {
    const SEATS: usize = 20;
    const WAITING: usize = 30;
    let org = organizer(&stores).await;
    let holders = attendees(&stores, SEATS).await;
    let waiters = attendees(&stores, WAITING).await;
    let t = base();
    let ev = open_event(&stores, &org, t, u32::try_from(SEATS).expect("small")).await;
    let bookings = join_all(holders.iter().map(|u| book_n(&stores, ev.id, u.id, 1, t))).await;
    let mut joined = Vec::new();
    for (i, user) in waiters.iter().enumerate() {
        let at = secs(t, 1) + Duration::milliseconds(i64::try_from(i).expect("small"));
        joined.push(wait_n(&stores, ev.id, user.id, 1, at).await);
    }
    let at = secs(t, 10);
    let tasks: Vec<_> = bookings
        .iter()
        .map(|b| {
            let stores = stores.clone();
            let id = b.id;
            tokio::spawn(async move { stores.bookings.cancel_booking(id, None, at).await })
        })
        .collect();
    for result in join_all(tasks).await {
        let cancelled = result.expect("task").expect("cancel");
        assert_eq!(cancelled.status, BookingStatus::Cancelled);
    }
    assert_eq!(counters(&stores, ev.id, at).await, (20, 0, 10));
    for e in &joined[..SEATS] {
        let booked = promoted_booking(&stores, e).await;
        assert_eq!(booked.created_at, at);
    }
    for (i, e) in joined[SEATS..].iter().enumerate() {
        still_waiting(&stores, e, u32::try_from(i).expect("small") + 1).await;
    }
    let promoted = queue(&stores, ev.id, WaitlistStatus::Promoted).await;
    assert_eq!(promoted.len(), SEATS, "each entry promoted once");
}

/// What every client of the mixed workload shares.
struct Workload {
    stores: EngineStores,
    event: Event,
    vip: TicketTypeId,
    general: TicketTypeId,
    t0: Timestamp,
    /// Virtual milliseconds after `t0`; every operation moves it on.
    clock: AtomicI64,
    /// Successful operations, to see the workload did something.
    holds: AtomicU32,
    confirms: AtomicU32,
    expired_confirms: AtomicU32,
    bookings: AtomicU32,
    capacity_changes: AtomicU32,
    type_changes: AtomicU32,
}

impl Workload {
    fn tick(&self) -> Timestamp {
        self.t0 + Duration::milliseconds(self.clock.fetch_add(10, Ordering::SeqCst))
    }

    /// Invariant 1 as `find` shows it at `now`: nothing is oversold, per event and type.
    async fn check(&self, now: Timestamp, what: &str) {
        let e = seen(&self.stores, self.event.id, now).await;
        assert!(
            e.sold + e.held <= e.details.capacity,
            "after {what}: sold {} + held {} > capacity {}",
            e.sold,
            e.held,
            e.details.capacity
        );
        for ty in &e.ticket_types {
            if let Some(quota) = ty.quantity {
                assert!(
                    ty.sold + ty.held <= quota,
                    "after {what}: type {} sold {} + held {} > quota {quota}",
                    ty.name,
                    ty.sold,
                    ty.held
                );
            }
            assert!(
                ty.sold + ty.held <= e.details.capacity,
                "after {what}: type {} over capacity",
                ty.name
            );
        }
    }
}

const CLIENTS: u64 = 24;
const OPS_PER_CLIENT: usize = 30;
const SEED: u64 = 0x5EA7_0B0C;

/// One client: random operations on the shared event, checking after each.
async fn client(w: Arc<Workload>, user: UserId, index: u64) {
    let mut rng = StdRng::seed_from_u64(SEED + index);
    let mut holds: Vec<HoldId> = Vec::new();
    let event = w.event.id;
    let s = &w.stores;
    for op in 0..OPS_PER_CLIENT {
        let now = w.tick();
        let ty = *[None, Some(w.vip), Some(w.general)]
            .choose(&mut rng)
            .expect("non-empty");
        let n = rng.random_range(1..=3);
        let roll = rng.random_range(0..100);
        let what = match roll {
            0..15 => {
                let ttl = Duration::milliseconds(rng.random_range(200..=4000));
                match s
                    .reservations
                    .hold(
                        HoldId::generate(),
                        &seats(event, ty, user, n),
                        now,
                        now + ttl,
                    )
                    .await
                {
                    Ok(h) => {
                        assert_eq!((h.user_id, h.quantity), (user, n));
                        holds.push(h.id);
                        w.holds.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(
                        HoldError::SoldOut { .. }
                        | HoldError::Refused(SaleRefusal::PurchaseLimitExceeded { .. }),
                    ) => {}
                    Err(e) => panic!("client {index} op {op}: hold: {e:?}"),
                }
                "hold"
            }
            15..27 if !holds.is_empty() => {
                let id = holds.swap_remove(rng.random_range(0..holds.len()));
                match s.reservations.confirm_hold(id, user, now).await {
                    Ok(b) => {
                        assert_eq!(
                            (b.user_id, b.source, b.status),
                            (user, BookingSource::Hold, BookingStatus::Confirmed)
                        );
                        w.confirms.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(ConfirmHoldError::Expired) => {
                        w.expired_confirms.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => panic!("client {index} op {op}: confirm of an own hold: {e:?}"),
                }
                "confirm"
            }
            27..33 if !holds.is_empty() => {
                let id = holds.swap_remove(rng.random_range(0..holds.len()));
                match s.reservations.release_hold(id, user, now).await {
                    Ok(()) | Err(ConfirmHoldError::NotFound) => {}
                    Err(e) => panic!("client {index} op {op}: release: {e:?}"),
                }
                "release"
            }
            33..58 => {
                let on_sold_out = if rng.random_bool(0.5) {
                    OnSoldOut::Waitlist
                } else {
                    OnSoldOut::Fail
                };
                let allow_partial = rng.random_bool(0.3);
                let mut request = booking(seats(event, ty, user, n), on_sold_out, allow_partial);
                if rng.random_bool(0.3) {
                    let key = format!("key-{}", rng.random_range(0..3));
                    let hash = format!("{ty:?}/{n}/{on_sold_out:?}/{allow_partial}");
                    request = keyed(request, &key, &hash);
                }
                match s.bookings.book(&request, now).await {
                    Ok(outcome) => {
                        assert!(
                            outcome.booking.is_some() || outcome.waitlist_entry.is_some(),
                            "client {index} op {op}: an empty outcome"
                        );
                        if let Some(b) = &outcome.booking {
                            assert!(
                                b.user_id == user && b.quantity <= n,
                                "client {index} op {op}: {b:?}"
                            );
                        }
                        w.bookings.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(
                        BookError::SoldOut { .. }
                        | BookError::AlreadyWaitlisted
                        | BookError::IdempotencyKeyReused
                        | BookError::Refused(SaleRefusal::PurchaseLimitExceeded { .. }),
                    ) => {}
                    Err(e) => panic!("client {index} op {op}: book: {e:?}"),
                }
                "book"
            }
            58..72 => {
                let mine: Vec<_> = all_bookings(s, user, Some(BookingStatus::Confirmed)).await;
                if let Some(b) = mine.choose(&mut rng) {
                    let part = if rng.random_bool(0.5) {
                        None
                    } else {
                        Some(crate::engine::qty(rng.random_range(1..=b.quantity)))
                    };
                    let cancelled = s.bookings.cancel_booking(b.id, part, now).await;
                    let cancelled = cancelled.unwrap_or_else(|e| {
                        panic!("client {index} op {op}: cancel of an own confirmed booking: {e:?}")
                    });
                    assert_eq!(cancelled.id, b.id);
                }
                "cancel"
            }
            72..82 => {
                match s.waitlists.join(&seats(event, ty, user, n), now).await {
                    Ok(e) => assert_eq!((e.user_id, e.status), (user, WaitlistStatus::Waiting)),
                    Err(
                        JoinWaitlistError::TicketsAvailable
                        | JoinWaitlistError::AlreadyWaitlisted
                        | JoinWaitlistError::Refused(SaleRefusal::PurchaseLimitExceeded { .. }),
                    ) => {}
                    Err(e) => panic!("client {index} op {op}: join: {e:?}"),
                }
                "join"
            }
            82..92 => {
                let waiting: Vec<_> = entries(s, user)
                    .await
                    .into_iter()
                    .filter(|e| e.status == WaitlistStatus::Waiting)
                    .collect();
                if let Some(e) = waiting.choose(&mut rng) {
                    match s.waitlists.leave(e.id, user, now).await {
                        Ok(())
                        | Err(LeaveWaitlistError::NotWaiting(
                            WaitlistStatus::Promoted | WaitlistStatus::Closed,
                        )) => {}
                        Err(err) => panic!("client {index} op {op}: leave: {err:?}"),
                    }
                }
                "leave"
            }
            92..95 => {
                let details = EventDetails {
                    capacity: rng.random_range(25..=60),
                    ..w.event.details.clone()
                };
                match s.events.update_details(event, &details, now).await {
                    Ok(_) => {
                        w.capacity_changes.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(UpdateEventError::CapacityBelowSold { .. }) => {}
                    Err(e) => panic!("client {index} op {op}: update_details: {e:?}"),
                }
                "capacity change"
            }
            95..99 => {
                // The VIP cap moves, or is lifted; sometimes the price changes with it.
                let quantity = rng.random_bool(0.8).then(|| rng.random_range(4..=14));
                let changes = TicketTypeChanges {
                    quantity: Some(quantity),
                    price_cents: rng
                        .random_bool(0.3)
                        .then(|| rng.random_range(8000..=10_000)),
                    ..TicketTypeChanges::default()
                };
                match s
                    .events
                    .change_ticket_type(event, w.vip, &changes, now)
                    .await
                {
                    Ok(_) => {
                        w.type_changes.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(TicketTypeError::QuantityBelowSold { .. }) => {}
                    Err(e) => panic!("client {index} op {op}: change_ticket_type: {e:?}"),
                }
                "ticket type change"
            }
            _ => {
                tokio::task::yield_now().await;
                "nothing"
            }
        };
        w.check(now, &format!("client {index} op {op} ({what})"))
            .await;
    }
}

/// A seeded random mix of holds, confirmations, releases, bookings (some idempotent),
/// full and partial cancellations, waitlist joins and leaves and capacity changes from
/// many concurrent clients. After every operation nothing is oversold; at the end, once
/// every hold has ended, no seat is lost, the users' bookings add up to `sold`, and no
/// seat is free while the head of the queue would fit.
pub async fn mixed_workload_keeps_invariants(stores: EngineStores) {
    let org = organizer(&stores).await;
    let users = attendees(&stores, usize::try_from(CLIENTS).expect("small")).await;
    let t0 = base();
    let details = EventDetails {
        max_tickets_per_user: Some(8),
        ..open_details(t0, 40)
    };
    let types = vec![
        ticket_type("VIP", 9000, Some(10)),
        ticket_type("General", 2000, None),
    ];
    let event = event_with(&stores, &org, details, types).await;
    let w = Arc::new(Workload {
        vip: event.ticket_types[0].id,
        general: event.ticket_types[1].id,
        event,
        stores: stores.clone(),
        t0,
        clock: AtomicI64::new(0),
        holds: AtomicU32::new(0),
        confirms: AtomicU32::new(0),
        expired_confirms: AtomicU32::new(0),
        bookings: AtomicU32::new(0),
        capacity_changes: AtomicU32::new(0),
        type_changes: AtomicU32::new(0),
    });
    let tasks: Vec<_> = users
        .iter()
        .zip(0..)
        .map(|(user, i)| tokio::spawn(client(Arc::clone(&w), user.id, i)))
        .collect();
    for result in join_all(tasks).await {
        result.expect("client");
    }
    eprintln!(
        "mixed workload: {} holds, {} confirmed, {} expired at confirmation, {} bookings, {} capacity changes, {} ticket type changes",
        w.holds.load(Ordering::SeqCst),
        w.confirms.load(Ordering::SeqCst),
        w.expired_confirms.load(Ordering::SeqCst),
        w.bookings.load(Ordering::SeqCst),
        w.capacity_changes.load(Ordering::SeqCst),
        w.type_changes.load(Ordering::SeqCst),
    );
    assert!(
        w.holds.load(Ordering::SeqCst) > 0 && w.bookings.load(Ordering::SeqCst) > 0,
        "the workload ran"
    );

    let late = t0 + Duration::days(1);
    stores
        .reservations
        .expire_holds(late, 100_000)
        .await
        .expect("expire every hold");
    assert_eq!(
        stores
            .reservations
            .expire_holds(late, 100_000)
            .await
            .expect("expire"),
        0
    );
    final_checks(
        &stores,
        w.event.id,
        &users.iter().map(|u| u.id).collect::<Vec<_>>(),
        late,
    )
    .await;
}

/// Invariants 2 and 3 once every hold has ended.
async fn final_checks(stores: &EngineStores, event: EventId, users: &[UserId], late: Timestamp) {
    let e = seen(stores, event, late).await;
    let availability = e.availability();
    assert_eq!(e.held, 0, "every hold ended");
    assert_eq!(
        availability.sold + availability.available,
        availability.capacity,
        "no seat is lost: {e:?}"
    );
    assert!(e.ticket_types.iter().all(|ty| ty.held == 0), "{e:?}");
    assert_eq!(
        e.ticket_types.iter().map(|ty| ty.sold).sum::<u32>(),
        e.sold,
        "types add up: {e:?}"
    );

    let mut sold_by_type = vec![0_u32; e.ticket_types.len()];
    for user in users {
        for b in all_bookings(stores, *user, Some(BookingStatus::Confirmed)).await {
            assert_eq!(b.event_id, event);
            let i = e
                .ticket_types
                .iter()
                .position(|ty| ty.id == b.ticket_type_id)
                .expect("a type of the event");
            sold_by_type[i] += b.quantity;
        }
        for b in all_bookings(stores, *user, Some(BookingStatus::Cancelled)).await {
            assert!(b.cancelled_at.is_some());
        }
    }
    let per_type: Vec<_> = e.ticket_types.iter().map(|ty| ty.sold).collect();
    assert_eq!(
        sold_by_type, per_type,
        "the users' confirmed bookings add up to sold, per type"
    );

    let waiting = queue(stores, event, WaitlistStatus::Waiting).await;
    assert_eq!(
        u32::try_from(waiting.len()).expect("small"),
        e.waitlist_count,
        "waitlist_count matches the queue"
    );
    for (i, entry) in waiting.iter().enumerate() {
        assert_eq!(entry.position, Some(u32::try_from(i).expect("small") + 1));
    }
    if let Some(head) = waiting.first() {
        let ty = e
            .ticket_types
            .iter()
            .find(|ty| ty.id == head.ticket_type_id)
            .expect("the head's type");
        let free = ty.available(availability.available);
        assert!(
            head.quantity > free,
            "{free} seats of the head's type are free and the head wants {}: it should have been promoted",
            head.quantity
        );
    }
    let promoted = queue(stores, event, WaitlistStatus::Promoted).await;
    eprintln!(
        "mixed workload end: capacity {}, sold {}, {} promoted, {} waiting",
        availability.capacity,
        availability.sold,
        promoted.len(),
        waiting.len()
    );
    for promoted in promoted {
        let booking = stores
            .bookings
            .find_booking(
                promoted
                    .booking_id
                    .expect("promoted entries name their booking"),
            )
            .await
            .expect("find")
            .expect("exists");
        assert_eq!(
            (booking.source, booking.user_id),
            (BookingSource::Waitlist, promoted.user_id)
        );
    }
}
