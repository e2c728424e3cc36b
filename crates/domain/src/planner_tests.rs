//! The planner against the contract's rules, and batches against the same requests
//! planned one by one on a model of a store.

use super::*;
use crate::booking::Quantity;
use crate::event::EventStatus;
use crate::seats::TypeSeats;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use uuid::Uuid;

fn at(seconds: i64) -> Timestamp {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::seconds(seconds)
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// A store reduced to the rows the planner reads and writes.
#[derive(Debug, Clone)]
struct Model {
    event_id: EventId,
    seats: Seats,
    terms: SaleTerms,
    waitlist_count: u32,
    /// Holds and whether each is still active.
    holds: Vec<(Hold, bool)>,
    bookings: Vec<Booking>,
    /// Entries in queue order.
    entries: Vec<WaitlistEntry>,
}

impl Model {
    fn new(capacity: u32, quantities: &[Option<u32>], limit: Option<u32>) -> Self {
        let types = quantities
            .iter()
            .enumerate()
            .map(|(i, &quantity)| TypeSeats {
                id: TicketTypeId::from_uuid(uuid(1000 + i as u128)),
                quantity,
                sold: 0,
                held: 0,
            })
            .collect();
        Self {
            event_id: EventId::from_uuid(uuid(1)),
            seats: Seats {
                capacity,
                sold: 0,
                held: 0,
                types,
            },
            terms: SaleTerms {
                status: EventStatus::Scheduled,
                sales_open_at: None,
                sales_close_at: None,
                starts_at: at(1_000_000),
                max_tickets_per_user: limit,
            },
            waitlist_count: 0,
            holds: Vec::new(),
            bookings: Vec::new(),
            entries: Vec::new(),
        }
    }

    fn ty(&self, i: usize) -> TicketTypeId {
        self.seats.types[i % self.seats.types.len()].id
    }

    fn waiting(&self) -> impl Iterator<Item = &WaitlistEntry> {
        self.entries
            .iter()
            .filter(|e| e.status == WaitlistStatus::Waiting)
    }

    /// What a store reads under the lock before `batch`, with at most `limit` entries
    /// of the queue.
    fn facts(&self, batch: &[Timed], limit: usize) -> EventFacts {
        let last = batch.iter().map(|t| t.now).max().unwrap_or(at(0));
        let mut expiring: Vec<_> = self
            .holds
            .iter()
            .filter(|(h, active)| *active && h.expires_at <= last)
            .map(|(h, _)| ExpiringHold {
                id: h.id,
                user_id: h.user_id,
                ticket_type_id: h.ticket_type_id,
                quantity: h.quantity,
                expires_at: h.expires_at,
            })
            .collect();
        expiring.sort_by_key(|h| h.expires_at);
        let queue: Vec<_> = self
            .waiting()
            .take(limit)
            .map(|e| Queued {
                id: e.id,
                user_id: e.user_id,
                ticket_type_id: e.ticket_type_id,
                quantity: e.quantity,
            })
            .collect();
        let users = batch
            .iter()
            .map(|t| {
                let user = t.op.user_id();
                let booked: u32 = self
                    .bookings
                    .iter()
                    .filter(|b| b.user_id == user && b.status == BookingStatus::Confirmed)
                    .map(|b| b.quantity)
                    .sum();
                let held: u32 = self
                    .holds
                    .iter()
                    .filter(|(h, active)| *active && h.user_id == user)
                    .map(|(h, _)| h.quantity)
                    .sum();
                let waits: Vec<_> = self.waiting().filter(|e| e.user_id == user).collect();
                let waited: u32 = waits.iter().map(|e| e.quantity).sum();
                let tickets = UserTickets {
                    tickets: booked + held + waited,
                    waiting: waits.iter().map(|e| e.ticket_type_id).collect(),
                };
                (user, tickets)
            })
            .collect();
        EventFacts {
            event_id: self.event_id,
            seats: self.seats.clone(),
            terms: self.terms,
            waitlist_count: self.waitlist_count,
            expiring,
            queue_complete: queue.len() == self.waiting().count(),
            queue,
            users,
        }
    }

    /// Writes `plan` as a store does.
    fn apply(&mut self, plan: &Plan) {
        self.seats = plan.seats.clone();
        self.waitlist_count = plan.waitlist_count;
        self.holds
            .extend(plan.holds.iter().map(|h| (h.clone(), true)));
        self.bookings.extend(plan.bookings.iter().cloned());
        self.entries.extend(plan.entries.iter().cloned());
        for expiry in &plan.expired {
            let hold = self.holds.iter_mut().find(|(h, _)| h.id == expiry.hold_id);
            let (_, active) = hold.expect("expired hold exists");
            assert!(*active, "only active holds expire");
            *active = false;
        }
        for promotion in &plan.promotions {
            let entry = self.entries.iter_mut().find(|e| e.id == promotion.entry_id);
            let entry = entry.expect("promoted entry exists");
            assert_eq!(entry.status, WaitlistStatus::Waiting);
            entry.status = WaitlistStatus::Promoted;
            entry.booking_id = Some(promotion.booking_id);
        }
    }

    /// Plans `batch` as a store does, reading more of the queue when the planner asks.
    fn run(&mut self, batch: &[Timed], first_read: usize) -> Vec<Outcome> {
        let mut limit = first_read;
        loop {
            match plan(self.facts(batch, limit), batch) {
                Ok((outcomes, plan)) => {
                    self.apply(&plan);
                    return outcomes;
                }
                Err(NeedQueue { needed }) => {
                    assert!(needed > limit, "asks for more than it had");
                    limit = needed;
                }
            }
        }
    }

    /// The model with generated ids replaced by what they stand for.
    fn shape(&self) -> impl PartialEq + std::fmt::Debug {
        let holds: Vec<_> = self.holds.clone();
        let bookings: Vec<_> = self.bookings.iter().map(booking_shape).collect();
        let entries: Vec<_> = self
            .entries
            .iter()
            .map(|e| {
                let booking = e.booking_id.map(|id| {
                    let booking = self.bookings.iter().find(|b| b.id == id);
                    booking_shape(booking.expect("a promotion's booking exists"))
                });
                (entry_shape(e), booking)
            })
            .collect();
        (
            self.seats.clone(),
            self.waitlist_count,
            holds,
            bookings,
            entries,
        )
    }
}

type BookingShape = (
    Option<BookingId>,
    UserId,
    TicketTypeId,
    u32,
    BookingSource,
    Timestamp,
);

fn booking_shape(b: &Booking) -> BookingShape {
    let id = (b.source != BookingSource::Waitlist).then_some(b.id);
    (
        id,
        b.user_id,
        b.ticket_type_id,
        b.quantity,
        b.source,
        b.created_at,
    )
}

type EntryShape = (
    UserId,
    TicketTypeId,
    u32,
    Option<u32>,
    WaitlistStatus,
    Timestamp,
);

fn entry_shape(e: &WaitlistEntry) -> EntryShape {
    (
        e.user_id,
        e.ticket_type_id,
        e.quantity,
        e.position,
        e.status,
        e.created_at,
    )
}

/// An outcome with generated ids replaced by what they stand for.
fn outcome_shape(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Held(h) => format!("held {h:?}"),
        Outcome::Booked(b) => format!(
            "booked {:?} {:?}",
            b.booking.as_ref().map(booking_shape),
            b.waitlist_entry.as_ref().map(entry_shape)
        ),
        Outcome::Joined(e) => format!("joined {:?}", entry_shape(e)),
        Outcome::Refused(r) => format!("refused {r:?}"),
    }
}

fn user(n: u128) -> UserId {
    UserId::from_uuid(uuid(100 + n))
}

fn seats_of(model: &Model, ty: Option<TicketTypeId>, user_n: u128, qty: u32) -> SeatRequest {
    SeatRequest {
        event_id: model.event_id,
        ticket_type_id: ty,
        user_id: user(user_n),
        quantity: Quantity::new(qty).expect("valid quantity"),
    }
}

fn book(model: &Model, user_n: u128, qty: u32, id: u128, now: i64) -> Timed {
    Timed {
        op: SeatOp::Book {
            id: BookingId::from_uuid(uuid(id)),
            request: seats_of(model, None, user_n, qty),
            on_sold_out: OnSoldOut::Waitlist,
            allow_partial: false,
        },
        now: at(now),
    }
}

fn hold(model: &Model, user_n: u128, qty: u32, id: u128, now: i64, ttl: i64) -> Timed {
    Timed {
        op: SeatOp::Hold {
            id: HoldId::from_uuid(uuid(id)),
            request: seats_of(model, None, user_n, qty),
            expires_at: at(now + ttl),
        },
        now: at(now),
    }
}

#[test]
fn a_flash_sale_books_capacity_then_queues_in_arrival_order() {
    let mut model = Model::new(3, &[None], None);
    let batch: Vec<_> = (0..6).map(|i| book(&model, i, 1, 500 + i, 0)).collect();
    let outcomes = model.run(&batch, 100);
    let positions: Vec<_> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Booked(b) => (
                b.booking.is_some(),
                b.waitlist_entry.as_ref().and_then(|e| e.position),
            ),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        positions,
        [
            (true, None),
            (true, None),
            (true, None),
            (false, Some(1)),
            (false, Some(2)),
            (false, Some(3))
        ]
    );
    assert_eq!((model.seats.sold, model.waitlist_count), (3, 3));
}

#[test]
fn an_expiry_between_two_requests_promotes_the_queue_head_first() {
    let mut model = Model::new(2, &[None], None);
    let first = [hold(&model, 0, 2, 600, 0, 5), book(&model, 1, 1, 601, 1)];
    model.run(&first, 100);
    assert_eq!(model.waitlist_count, 1, "user 1 waits");
    // At 5 the hold ends: user 1 is promoted before user 2 asks, who gets the last seat.
    let outcomes = model.run(&[book(&model, 2, 1, 602, 5)], 100);
    assert!(
        matches!(&outcomes[0], Outcome::Booked(b) if b.booking.is_some() && b.waitlist_entry.is_none()),
        "{outcomes:?}"
    );
    let promoted: Vec<_> = model
        .bookings
        .iter()
        .filter(|b| b.source == BookingSource::Waitlist)
        .map(|b| (b.user_id, b.created_at))
        .collect();
    assert_eq!(promoted, [(user(1), at(5))]);
    assert_eq!(model.seats.sold, 2);
    assert!(model.holds.iter().all(|(_, active)| !active));
}

#[test]
fn a_join_of_an_entry_already_waiting_changes_nothing() {
    let mut model = Model::new(1, &[None], None);
    model.run(&[book(&model, 0, 1, 700, 0)], 100);
    let join = |now| Timed {
        op: SeatOp::Join(seats_of(&model, None, 1, 1)),
        now: at(now),
    };
    let outcomes = model.run(&[join(1), join(2)], 100);
    assert!(matches!(outcomes[0], Outcome::Joined(_)));
    assert_eq!(outcomes[1], Outcome::Refused(Refusal::AlreadyWaitlisted));
    assert_eq!(model.waitlist_count, 1);
}

#[test]
fn the_purchase_limit_counts_what_the_batch_gave_the_user() {
    let mut model = Model::new(10, &[None], Some(3));
    let batch = [
        hold(&model, 0, 2, 800, 0, 60),
        book(&model, 0, 1, 801, 0),
        book(&model, 0, 1, 802, 0),
    ];
    let outcomes = model.run(&batch, 100);
    assert_eq!(
        outcomes[2],
        Outcome::Refused(Refusal::Refused(SaleRefusal::PurchaseLimitExceeded {
            limit: 3,
            already: 3
        }))
    );
    assert_eq!((model.seats.held, model.seats.sold), (2, 1));
}

#[test]
fn a_sold_out_event_plans_without_reading_the_queue() {
    let mut model = Model::new(1, &[None], None);
    model.run(
        &[book(&model, 0, 1, 900, 0), book(&model, 1, 1, 901, 0)],
        100,
    );
    let batch = [book(&model, 2, 1, 902, 1)];
    let facts = model.facts(&batch, 0);
    assert!(!facts.queue_complete);
    let (outcomes, plan) = plan(facts, &batch).expect("no free seat: the queue is not needed");
    assert!(matches!(&outcomes[0], Outcome::Booked(b) if b.booking.is_none()));
    assert_eq!(plan.waitlist_count, 2);
}

#[test]
fn promotion_asks_for_more_of_the_queue_when_all_it_read_fit() {
    let mut model = Model::new(1, &[None], None);
    model.run(&[hold(&model, 0, 1, 950, 0, 5)], 100);
    let joins: Vec<_> = (1..=3)
        .map(|u| Timed {
            op: SeatOp::Join(seats_of(&model, None, u, 1)),
            now: at(1),
        })
        .collect();
    model.run(&joins, 100);
    let batch = [book(&model, 9, 1, 951, 6)];
    let facts = model.facts(&batch, 0);
    assert_eq!(
        plan(facts, &batch).map(drop),
        Err(NeedQueue { needed: 100 })
    );
    let outcomes = model.run(&batch, 0);
    assert!(matches!(&outcomes[0], Outcome::Booked(b) if b.booking.is_none()));
    let promoted = model
        .bookings
        .iter()
        .find(|b| b.source == BookingSource::Waitlist);
    assert_eq!(
        promoted.map(|b| b.user_id),
        Some(user(1)),
        "the head, not user 9"
    );
}

/// A request as generated: which op, who, how many, which type, when.
#[derive(Debug, Clone)]
struct Gen {
    kind: u8,
    user: u128,
    qty: u32,
    ty: u8,
    now: i64,
    ttl: i64,
    fail: bool,
    partial: bool,
}

fn gen_request() -> impl Strategy<Value = Gen> {
    (
        0..3_u8,
        0..4_u128,
        1..5_u32,
        0..5_u8,
        0..30_i64,
        1..12_i64,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(kind, user, qty, ty, now, ttl, fail, partial)| Gen {
            kind,
            user,
            qty,
            ty,
            now,
            ttl,
            fail,
            partial,
        })
}

fn timed(model: &Model, g: &Gen, id: u128) -> Timed {
    // Types 0 and 1 are named, 2 and 3 mean the default, 4 is unknown.
    let ty = match g.ty {
        0 | 1 => Some(model.ty(usize::from(g.ty))),
        2 | 3 => None,
        _ => Some(TicketTypeId::from_uuid(uuid(9999))),
    };
    let request = seats_of(model, ty, g.user, g.qty);
    let op = match g.kind {
        0 => SeatOp::Hold {
            id: HoldId::from_uuid(uuid(id)),
            request,
            expires_at: at(g.now + g.ttl),
        },
        1 => SeatOp::Book {
            id: BookingId::from_uuid(uuid(id)),
            request,
            on_sold_out: if g.fail {
                OnSoldOut::Fail
            } else {
                OnSoldOut::Waitlist
            },
            allow_partial: g.partial,
        },
        _ => SeatOp::Join(request),
    };
    Timed { op, now: at(g.now) }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// A batch decides and writes exactly what its requests would, one by one.
    #[test]
    fn a_batch_equals_its_requests_one_by_one(
        capacity in 0..12_u32,
        quantities in prop::collection::vec(prop::option::of(0..8_u32), 1..3),
        limit in prop::option::of(1..7_u32),
        before in prop::collection::vec(gen_request(), 0..12),
        batch in prop::collection::vec(gen_request(), 1..24),
        first_read in 0..4_usize,
    ) {
        let mut model = Model::new(capacity, &quantities, limit);
        for (i, g) in before.iter().enumerate() {
            let op = timed(&model, g, 10_000 + i as u128);
            model.run(&[op], first_read);
        }
        // The batch runs after what came before.
        let batch: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let g = Gen { now: g.now + 30, ..g.clone() };
                timed(&model, &g, 20_000 + i as u128)
            })
            .collect();
        let mut batched = model.clone();
        let together = batched.run(&batch, first_read);
        let mut alone = model;
        let one_by_one: Vec<_> = batch
            .iter()
            .map(|t| alone.run(std::slice::from_ref(t), first_read).remove(0))
            .collect();
        let shapes = |o: &[Outcome]| o.iter().map(outcome_shape).collect::<Vec<_>>();
        prop_assert_eq!(shapes(&together), shapes(&one_by_one));
        prop_assert_eq!(batched.shape(), alone.shape());
        // The counters agree with the rows.
        let sold: u32 = batched
            .bookings
            .iter()
            .filter(|b| b.status == BookingStatus::Confirmed)
            .map(|b| b.quantity)
            .sum();
        let held: u32 = batched.holds.iter().filter(|(_, a)| *a).map(|(h, _)| h.quantity).sum();
        prop_assert_eq!((batched.seats.sold, batched.seats.held), (sold, held));
        prop_assert!(sold + held <= capacity, "never oversold");
        prop_assert_eq!(batched.waitlist_count as usize, batched.waiting().count());
    }
}
