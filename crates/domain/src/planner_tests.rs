//! The planner against the contract's rules, and batches against the same requests
//! planned one by one on a model of a store.

use super::*;
use crate::booking::{ClosedReason, Quantity};
use crate::event::EventStatus;
use crate::seats::SaleRefusal;
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
    /// Holds and where each stands.
    holds: Vec<(Hold, HoldStatus)>,
    /// Bookings and the hold each confirmed.
    bookings: Vec<(Booking, Option<HoldId>)>,
    cancelled_seats: u32,
    /// Entries in queue order.
    entries: Vec<WaitlistEntry>,
    /// The outbox: what each message told, and when.
    messages: Vec<(crate::outbox::MessageType, Timestamp)>,
}

impl Model {
    fn new(capacity: u32, quantities: &[Option<u32>], limit: Option<u32>) -> Self {
        let types = quantities
            .iter()
            .enumerate()
            .map(|(i, &quantity)| TypeSeats {
                id: TicketTypeId::from_uuid(uuid(1000 + i as u128)),
                quantity,
                price_cents: 100 * (i as i64 + 1),
                retired: false,
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
            cancelled_seats: 0,
            holds: Vec::new(),
            bookings: Vec::new(),
            entries: Vec::new(),
            messages: Vec::new(),
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
            .filter(|(h, status)| *status == HoldStatus::Active && h.expires_at <= last)
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
            .filter_map(|t| t.op.requester())
            .map(|user| {
                let booked: u32 = self
                    .bookings
                    .iter()
                    .filter(|(b, _)| b.user_id == user && b.status == BookingStatus::Confirmed)
                    .map(|(b, _)| b.quantity)
                    .sum();
                let held: u32 = self
                    .holds
                    .iter()
                    .filter(|(h, status)| *status == HoldStatus::Active && h.user_id == user)
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
        let mut holds = HashMap::new();
        let mut bookings = HashMap::new();
        let mut entries = HashMap::new();
        for t in batch {
            match &t.op {
                SeatOp::Confirm { hold_id, .. } | SeatOp::Release { hold_id, .. } => {
                    if let Some(row) = self.holds.iter().find(|(h, _)| h.id == *hold_id) {
                        holds.insert(*hold_id, row.clone());
                    }
                }
                SeatOp::Cancel { booking_id, .. } => {
                    if let Some((b, _)) = self.bookings.iter().find(|(b, _)| b.id == *booking_id) {
                        bookings.insert(*booking_id, b.clone());
                    }
                }
                SeatOp::Leave { entry_id, .. } => {
                    if let Some(e) = self.entries.iter().find(|e| e.id == *entry_id) {
                        entries.insert(*entry_id, e.clone());
                    }
                }
                _ => {}
            }
        }
        let closing = may_close(batch);
        let closable = self
            .waiting()
            .map(|e| Queued {
                id: e.id,
                user_id: e.user_id,
                ticket_type_id: e.ticket_type_id,
                quantity: e.quantity,
            })
            .filter(|q| closing.covers(q))
            .collect();
        EventFacts {
            event_id: self.event_id,
            seats: self.seats.clone(),
            terms: self.terms,
            waitlist_count: self.waitlist_count,
            expiring,
            queue_complete: queue.len() == self.waiting().count(),
            queue,
            closable,
            users,
            holds,
            bookings,
            entries,
        }
    }

    /// Writes `plan` as a store does.
    fn apply(&mut self, plan: &Plan) {
        self.seats = plan.seats.clone();
        self.waitlist_count = plan.waitlist_count;
        self.cancelled_seats += plan.cancelled_seats;
        self.holds
            .extend(plan.holds.iter().map(|h| (h.clone(), HoldStatus::Active)));
        let new = plan.bookings.iter().map(|n| (n.booking.clone(), n.hold_id));
        self.bookings.extend(new);
        self.entries.extend(plan.entries.iter().cloned());
        let told = plan.messages.iter().map(|m| (m.kind, m.at));
        self.messages.extend(told);
        for end in &plan.ended_holds {
            let hold = self.holds.iter_mut().find(|(h, _)| h.id == end.hold_id);
            let (_, status) = hold.expect("an ended hold exists");
            assert_eq!(*status, HoldStatus::Active, "only active holds end");
            *status = end.status;
        }
        for end in &plan.ended_entries {
            let entry = self.entries.iter_mut().find(|e| e.id == end.entry_id);
            let entry = entry.expect("an ended entry exists");
            assert_eq!(entry.status, WaitlistStatus::Waiting);
            entry.status = end.status;
            entry.booking_id = end.booking_id;
            entry.closed_reason = end.closed_reason;
        }
        for changed in &plan.changed_bookings {
            let booking = self.bookings.iter_mut().find(|(b, _)| b.id == changed.id);
            let (booking, _) = booking.expect("a changed booking exists");
            assert_eq!(booking.status, BookingStatus::Confirmed);
            *booking = changed.clone();
        }
        if let Some(at) = plan.cancelled_at {
            self.terms.status = EventStatus::Cancelled;
            for (b, _) in &mut self.bookings {
                if b.status == BookingStatus::Confirmed {
                    b.status = BookingStatus::Cancelled;
                    b.cancelled_at = Some(at);
                }
            }
            for (_, status) in &mut self.holds {
                if *status == HoldStatus::Active {
                    *status = HoldStatus::Released;
                }
            }
            for e in &mut self.entries {
                if e.status == WaitlistStatus::Waiting {
                    e.status = WaitlistStatus::Closed;
                    e.closed_reason = Some(ClosedReason::EventCancelled);
                }
            }
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
        let bookings: Vec<_> = self
            .bookings
            .iter()
            .map(|(b, hold)| (booking_shape(b), *hold))
            .collect();
        let entries: Vec<_> = self
            .entries
            .iter()
            .map(|e| {
                let booking = e.booking_id.map(|id| {
                    let booking = self.bookings.iter().find(|(b, _)| b.id == id);
                    booking_shape(&booking.expect("a promotion's booking exists").0)
                });
                (entry_shape(e), booking)
            })
            .collect();
        (
            (
                self.seats.clone(),
                self.waitlist_count,
                self.cancelled_seats,
            ),
            self.terms.status,
            self.holds.clone(),
            bookings,
            entries,
            self.messages.clone(),
        )
    }

    /// The counters agree with the rows, and nothing is oversold.
    fn check(&self) {
        let confirmed = || {
            self.bookings
                .iter()
                .map(|(b, _)| b)
                .filter(|b| b.status == BookingStatus::Confirmed)
        };
        let active = || {
            self.holds
                .iter()
                .filter(|(_, s)| *s == HoldStatus::Active)
                .map(|(h, _)| h)
        };
        assert_eq!(
            self.seats.sold,
            confirmed().map(|b| b.quantity).sum::<u32>()
        );
        assert_eq!(self.seats.held, active().map(|h| h.quantity).sum::<u32>());
        for t in &self.seats.types {
            let sold: u32 = confirmed()
                .filter(|b| b.ticket_type_id == t.id)
                .map(|b| b.quantity)
                .sum();
            let held: u32 = active()
                .filter(|h| h.ticket_type_id == t.id)
                .map(|h| h.quantity)
                .sum();
            assert_eq!((t.sold, t.held), (sold, held), "type counters");
            if let Some(quantity) = t.quantity {
                assert!(sold + held <= quantity, "type oversold");
            }
        }
        assert!(
            self.seats.sold + self.seats.held <= self.seats.capacity,
            "oversold"
        );
        assert_eq!(self.waitlist_count as usize, self.waiting().count());
        let told = |kind| self.messages.iter().filter(|(k, _)| *k == kind).count();
        use crate::outbox::MessageType as M;
        assert_eq!(
            told(M::BookingConfirmed),
            self.bookings.len(),
            "a message per booking"
        );
        assert_eq!(told(M::HoldCreated), self.holds.len(), "a message per hold");
        assert_eq!(
            told(M::WaitlistJoined),
            self.entries.len(),
            "a message per entry"
        );
        let promoted = self
            .entries
            .iter()
            .filter(|e| e.status == WaitlistStatus::Promoted);
        assert_eq!(
            told(M::WaitlistPromoted),
            promoted.count(),
            "a message per promotion"
        );
        for e in self.waiting() {
            let t = self.seats.of(e.ticket_type_id).expect("a known type");
            assert!(!t.retired, "an entry waits for a retired type");
            assert!(
                t.quantity.is_none_or(|q| e.quantity <= q),
                "an entry waits for more than its type's quantity"
            );
            assert!(
                e.quantity <= self.seats.capacity,
                "an entry waits for more than the capacity"
            );
        }
        // Every transaction ends with the queue promoted: its head does not fit.
        if let Some(head) = self.waiting().next() {
            assert!(
                self.seats.free(head.ticket_type_id) < head.quantity,
                "the head of the queue fits but waits"
            );
        }
    }
}

type BookingShape = (
    Option<BookingId>,
    UserId,
    TicketTypeId,
    (u32, i64),
    BookingSource,
    Timestamp,
    BookingStatus,
    Option<Timestamp>,
);

fn booking_shape(b: &Booking) -> BookingShape {
    // Promotions and confirmations get generated ids.
    let id = (b.source == BookingSource::Direct).then_some(b.id);
    (
        id,
        b.user_id,
        b.ticket_type_id,
        (b.quantity, b.price_cents),
        b.source,
        b.created_at,
        b.status,
        b.cancelled_at,
    )
}

type EntryShape = (
    UserId,
    TicketTypeId,
    u32,
    Option<u32>,
    (WaitlistStatus, Option<ClosedReason>),
    Timestamp,
);

fn entry_shape(e: &WaitlistEntry) -> EntryShape {
    (
        e.user_id,
        e.ticket_type_id,
        e.quantity,
        e.position,
        (e.status, e.closed_reason),
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
        Outcome::Confirmed(b) => format!("confirmed {:?}", booking_shape(b)),
        Outcome::Cancelled(b) => format!("cancelled {:?}", booking_shape(b)),
        other => format!("{other:?}"),
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
        .filter(|(b, _)| b.source == BookingSource::Waitlist)
        .map(|(b, _)| (b.user_id, b.created_at))
        .collect();
    assert_eq!(promoted, [(user(1), at(5))]);
    assert_eq!(model.seats.sold, 2);
    assert_eq!(model.holds[0].1, HoldStatus::Expired);
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

/// A one-seat event: user 0 holds the seat until 5, users 1 to 3 joined the queue at 1.
fn one_seat_held_until_5_and_three_waiting() -> Model {
    let mut model = Model::new(1, &[None], None);
    model.run(&[hold(&model, 0, 1, 950, 0, 5)], 100);
    let joins: Vec<_> = (1..=3)
        .map(|u| Timed {
            op: SeatOp::Join(seats_of(&model, None, u, 1)),
            now: at(1),
        })
        .collect();
    model.run(&joins, 100);
    model
}

#[test]
fn promotion_asks_for_more_of_the_queue_when_all_it_read_fit() {
    let mut model = one_seat_held_until_5_and_three_waiting();
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
        .find(|(b, _)| b.source == BookingSource::Waitlist);
    assert_eq!(
        promoted.map(|(b, _)| b.user_id),
        Some(user(1)),
        "the head, not user 9"
    );
}

fn op(op: SeatOp, now: i64) -> Timed {
    Timed { op, now: at(now) }
}

#[test]
fn cancellations_give_seats_back_count_them_and_promote() {
    let mut model = Model::new(3, &[None], None);
    model.run(
        &[book(&model, 0, 3, 1100, 0), book(&model, 1, 2, 1101, 0)],
        100,
    );
    let id = BookingId::from_uuid(uuid(1100));
    let part = Quantity::new(1).ok();
    let outcomes = model.run(
        &[
            op(
                SeatOp::Cancel {
                    booking_id: id,
                    quantity: Quantity::new(4).ok(),
                },
                1,
            ),
            op(
                SeatOp::Cancel {
                    booking_id: id,
                    quantity: part,
                },
                1,
            ),
            op(
                SeatOp::Cancel {
                    booking_id: id,
                    quantity: None,
                },
                2,
            ),
            op(
                SeatOp::Cancel {
                    booking_id: id,
                    quantity: None,
                },
                3,
            ),
        ],
        100,
    );
    assert_eq!(
        outcomes[0],
        Outcome::Refused(Refusal::TooMany { booked: 3 })
    );
    assert!(
        matches!(&outcomes[1], Outcome::Cancelled(b) if b.quantity == 2 && b.status == BookingStatus::Confirmed)
    );
    assert!(
        matches!(&outcomes[2], Outcome::Cancelled(b) if b.status == BookingStatus::Cancelled && b.cancelled_at == Some(at(2)))
    );
    assert_eq!(outcomes[3], Outcome::Refused(Refusal::AlreadyCancelled));
    assert_eq!(model.cancelled_seats, 3);
    // User 1 waited for 2 seats: the first seat back was not enough, the third was.
    assert_eq!((model.seats.sold, model.waitlist_count), (2, 0));
    model.check();
}

#[test]
fn confirming_ends_a_live_hold_and_refuses_an_expired_or_foreign_one() {
    let mut model = Model::new(2, &[None], None);
    model.run(
        &[
            hold(&model, 0, 1, 1200, 0, 10),
            hold(&model, 1, 1, 1201, 0, 5),
        ],
        100,
    );
    let confirm = |hold, user_n, now| {
        op(
            SeatOp::Confirm {
                hold_id: HoldId::from_uuid(uuid(hold)),
                user_id: user(user_n),
            },
            now,
        )
    };
    let outcomes = model.run(
        &[
            confirm(1200, 1, 1),
            confirm(1200, 0, 2),
            confirm(1200, 0, 3),
            confirm(1201, 1, 6),
        ],
        100,
    );
    assert_eq!(
        outcomes[0],
        Outcome::Refused(Refusal::HoldNotFound),
        "another user's"
    );
    assert!(matches!(&outcomes[1], Outcome::Confirmed(b) if b.source == BookingSource::Hold));
    assert_eq!(
        outcomes[2],
        Outcome::Refused(Refusal::HoldNotFound),
        "confirmed already"
    );
    assert_eq!(outcomes[3], Outcome::Refused(Refusal::HoldExpired));
    assert_eq!((model.seats.sold, model.seats.held), (1, 0));
    assert_eq!(model.bookings[0].1, Some(HoldId::from_uuid(uuid(1200))));
    model.check();
}

#[test]
fn leaving_the_blocking_head_lets_the_next_entry_in() {
    let mut model = Model::new(2, &[None], None);
    model.run(
        &[
            book(&model, 0, 1, 1300, 0),
            book(&model, 1, 2, 1301, 0),
            book(&model, 2, 1, 1302, 0),
        ],
        100,
    );
    assert_eq!(
        model.waitlist_count, 1,
        "user 1 waits for 2 seats, user 2 got the last"
    );
    model.run(&[op(SeatOp::Join(seats_of(&model, None, 3, 1)), 1)], 100);
    let head = model.waiting().next().expect("user 1 waits").id;
    let leave = |user_n| {
        op(
            SeatOp::Leave {
                entry_id: head,
                user_id: user(user_n),
            },
            2,
        )
    };
    let cancel = SeatOp::Cancel {
        booking_id: BookingId::from_uuid(uuid(1302)),
        quantity: None,
    };
    model.run(&[op(cancel, 1)], 100);
    assert_eq!(
        model.waitlist_count, 2,
        "one seat is free but the head wants two"
    );
    let outcomes = model.run(&[leave(3), leave(1), leave(1)], 100);
    assert_eq!(
        outcomes,
        [
            Outcome::Refused(Refusal::EntryNotFound),
            Outcome::Left,
            Outcome::Left
        ]
    );
    let promoted: Vec<_> = model
        .bookings
        .iter()
        .filter(|(b, _)| b.source == BookingSource::Waitlist)
        .map(|(b, _)| b.user_id)
        .collect();
    assert_eq!(promoted, [user(3)]);
    model.check();
}

#[test]
fn a_raised_capacity_promotes_and_a_capacity_below_the_taken_seats_is_refused() {
    let mut model = Model::new(1, &[None], None);
    model.run(
        &[book(&model, 0, 1, 1400, 0), book(&model, 1, 1, 1401, 0)],
        100,
    );
    let outcomes = model.run(
        &[
            op(SeatOp::Resize { capacity: 0 }, 1),
            op(SeatOp::Resize { capacity: 2 }, 1),
        ],
        100,
    );
    assert_eq!(
        outcomes[0],
        Outcome::Refused(Refusal::CapacityBelowSold { taken: 1 })
    );
    assert_eq!(outcomes[1], Outcome::Resized);
    assert_eq!(
        (model.seats.capacity, model.seats.sold, model.waitlist_count),
        (2, 2, 0)
    );
    model.check();
}

/// A request of `user_n` for `qty` seats of type `ty` (`None`: the default type).
fn book_type(model: &Model, ty: Option<usize>, user_n: u128, qty: u32, id: u128) -> Timed {
    let ty = ty.map(|i| model.ty(i));
    Timed {
        op: SeatOp::Book {
            id: BookingId::from_uuid(uuid(id)),
            request: seats_of(model, ty, user_n, qty),
            on_sold_out: OnSoldOut::Waitlist,
            allow_partial: false,
        },
        now: at(1),
    }
}

fn change_type(
    model: &Model,
    i: usize,
    quantity: Option<Option<u32>>,
    price: Option<i64>,
) -> Timed {
    op(
        SeatOp::ChangeType {
            ticket_type_id: model.ty(i),
            quantity,
            price_cents: price,
        },
        2,
    )
}

fn waiting_users(model: &Model) -> Vec<UserId> {
    model.waiting().map(|e| e.user_id).collect()
}

#[test]
fn a_raised_type_quantity_promotes_in_fifo_order_within_the_capacity() {
    // VIP is capped at 2 of 10 seats; three users queue for VIP behind its sale.
    let mut model = Model::new(10, &[Some(2), None], None);
    let batch: Vec<_> = [(0, 2), (1, 2), (2, 1), (3, 1)]
        .iter()
        .map(|&(u, qty)| book_type(&model, Some(0), u, qty, 1600 + u))
        .collect();
    model.run(&batch, 100);
    assert_eq!(waiting_users(&model), [user(1), user(2), user(3)]);
    let outcomes = model.run(&[change_type(&model, 0, Some(Some(5)), None)], 100);
    assert_eq!(outcomes, [Outcome::TypeChanged]);
    assert_eq!(
        waiting_users(&model),
        [user(3)],
        "user 1 (2 seats) then user 2 fit; user 3 waits"
    );
    let lifted = model.run(&[change_type(&model, 0, Some(None), None)], 100);
    assert_eq!(lifted, [Outcome::TypeChanged]);
    assert_eq!(model.seats.types[0].quantity, None);
    assert!(
        model.waiting().next().is_none(),
        "a lifted cap promotes the rest"
    );
    assert_eq!((model.seats.sold, model.seats.types[0].sold), (6, 6));
    model.check();
}

#[test]
fn a_lower_type_quantity_is_refused_below_its_taken_seats_and_closes_larger_entries() {
    let mut model = Model::new(10, &[Some(4), None], None);
    let batch = [
        book_type(&model, Some(0), 0, 2, 1700),
        hold(&model, 1, 1, 1701, 1, 100),
        book_type(&model, Some(0), 2, 3, 1702),
        book_type(&model, Some(0), 3, 1, 1703),
        book_type(&model, Some(1), 4, 1, 1704),
    ];
    model.run(&batch, 100);
    // Type 0: 2 sold, 1 held (the default type), user 2 waits for 3, user 3 got the last.
    assert_eq!(waiting_users(&model), [user(2)]);
    let refused = model.run(&[change_type(&model, 0, Some(Some(3)), None)], 100);
    assert_eq!(
        refused,
        [Outcome::Refused(Refusal::QuantityBelowSold { taken: 4 })]
    );
    let cancel = SeatOp::Cancel {
        booking_id: BookingId::from_uuid(uuid(1703)),
        quantity: None,
    };
    let release = SeatOp::Release {
        hold_id: HoldId::from_uuid(uuid(1701)),
        user_id: user(1),
    };
    model.run(&[op(cancel, 2), op(release, 2)], 100);
    assert_eq!(waiting_users(&model), [user(2)], "3 seats do not fit in 2");
    let lowered = model.run(&[change_type(&model, 0, Some(Some(2)), Some(250))], 100);
    assert_eq!(lowered, [Outcome::TypeChanged]);
    let entry = &model.entries[0];
    assert_eq!(
        (entry.status, entry.closed_reason),
        (WaitlistStatus::Closed, Some(ClosedReason::QuantityLowered)),
        "3 seats could never fit in a type of 2"
    );
    assert_eq!(model.waitlist_count, 0);
    assert_eq!(
        (
            model.seats.types[0].quantity,
            model.seats.types[0].price_cents
        ),
        (Some(2), 250)
    );
    model.check();
}

#[test]
fn prices_are_fixed_when_seats_are_taken() {
    let mut model = Model::new(10, &[None], None);
    model.run(&[hold(&model, 0, 1, 1800, 1, 100)], 100);
    model.run(&[change_type(&model, 0, None, Some(900))], 100);
    let hold_id = HoldId::from_uuid(uuid(1800));
    let outcomes = model.run(
        &[
            op(
                SeatOp::Confirm {
                    hold_id,
                    user_id: user(0),
                },
                3,
            ),
            book(&model, 1, 2, 1801, 3),
        ],
        100,
    );
    let prices: Vec<_> = model.bookings.iter().map(|(b, _)| b.price_cents).collect();
    assert_eq!(
        prices,
        [100, 900],
        "the hold keeps the price it was taken at; a new booking pays the new one"
    );
    assert!(matches!(outcomes[0], Outcome::Confirmed(_)));
    model.check();
}

#[test]
fn a_retired_type_sells_nothing_closes_its_queue_and_keeps_its_holds() {
    let mut model = Model::new(3, &[None, None], None);
    let batch = [
        hold(&model, 0, 1, 1900, 1, 100),
        book_type(&model, Some(0), 1, 2, 1901),
        book_type(&model, Some(0), 2, 1, 1902),
        book_type(&model, Some(1), 3, 1, 1903),
    ];
    model.run(&batch, 100);
    assert_eq!(waiting_users(&model), [user(2), user(3)]);
    let retire = op(
        SeatOp::RetireType {
            ticket_type_id: model.ty(0),
        },
        2,
    );
    let outcomes = model.run(&[retire.clone(), retire], 100);
    assert_eq!(outcomes, [Outcome::TypeChanged, Outcome::TypeChanged]);
    assert_eq!(waiting_users(&model), [user(3)]);
    assert_eq!(
        model.entries[0].closed_reason,
        Some(ClosedReason::TicketTypeRetired)
    );
    let refused = Outcome::Refused(Refusal::Refused(SaleRefusal::TicketTypeRetired));
    let named = model.run(&[book_type(&model, Some(0), 4, 1, 1904)], 100);
    assert_eq!(named, [refused]);
    let changed = model.run(&[change_type(&model, 0, None, Some(5))], 100);
    assert_eq!(changed, [Outcome::Refused(Refusal::TypeRetired)]);
    // The hold of the retired type still confirms; a cancellation's seats go to type 1.
    let confirm = SeatOp::Confirm {
        hold_id: HoldId::from_uuid(uuid(1900)),
        user_id: user(0),
    };
    let cancel = SeatOp::Cancel {
        booking_id: BookingId::from_uuid(uuid(1901)),
        quantity: None,
    };
    let outcomes = model.run(&[op(confirm, 3), op(cancel, 3)], 100);
    assert!(matches!(outcomes[0], Outcome::Confirmed(_)));
    assert!(model.waiting().next().is_none(), "user 3 was promoted");
    // Requests without a type now go to type 1, the first on sale.
    let default = model.run(&[book_type(&model, None, 5, 2, 1905)], 100);
    let Outcome::Booked(booked) = &default[0] else {
        panic!("expected a booking outcome, got {default:?}");
    };
    let entry = booked.waitlist_entry.as_ref().expect("sold out: queued");
    assert_eq!(entry.ticket_type_id, model.ty(1));
    model.check();
}

#[test]
fn cancelling_an_event_ends_everything_without_promoting_first() {
    let mut model = Model::new(2, &[None], None);
    model.run(
        &[hold(&model, 0, 2, 1500, 0, 5), book(&model, 1, 1, 1501, 1)],
        100,
    );
    // The hold has expired by 6: a promotion would book user 1 before the cancellation.
    let outcomes = model.run(
        &[
            op(SeatOp::CancelEvent, 6),
            op(SeatOp::CancelEvent, 7),
            book(&model, 2, 1, 1502, 8),
        ],
        100,
    );
    assert_eq!(
        outcomes[..2],
        [Outcome::EventCancelled, Outcome::EventCancelled]
    );
    assert_eq!(
        outcomes[2],
        Outcome::Refused(Refusal::Refused(SaleRefusal::EventCancelled))
    );
    assert!(model.bookings.is_empty(), "nobody was promoted");
    assert_eq!(model.holds[0].1, HoldStatus::Expired);
    assert_eq!(model.entries[0].status, WaitlistStatus::Closed);
    assert_eq!(
        (model.seats.sold, model.seats.held, model.waitlist_count),
        (0, 0, 0)
    );
    let resized = model.run(&[op(SeatOp::Resize { capacity: 5 }, 9)], 100);
    assert_eq!(resized, [Outcome::Refused(Refusal::Cancelled)]);
}

/// A request as generated: which op, who, how many, which type or row, when.
#[derive(Debug, Clone)]
struct Gen {
    kind: u8,
    user: u128,
    qty: u32,
    pick: u8,
    now: i64,
    ttl: i64,
    fail: bool,
    partial: bool,
}

fn gen_request() -> impl Strategy<Value = Gen> {
    (
        0..22_u8,
        0..4_u128,
        1..5_u32,
        0..8_u8,
        0..30_i64,
        1..40_i64,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(kind, user, qty, pick, now, ttl, fail, partial)| Gen {
            kind,
            user,
            qty,
            pick,
            now,
            ttl,
            fail,
            partial,
        })
}

/// The `nth` (modulo) of the rows that `live` accepts, or of all rows if none is.
fn pick<T>(rows: &[T], nth: usize, live: impl Fn(&T) -> bool) -> Option<&T> {
    let alive: Vec<&T> = rows.iter().filter(|r| live(r)).collect();
    if alive.is_empty() {
        rows.get(nth % rows.len().max(1))
    } else {
        alive.get(nth % alive.len()).copied()
    }
}

/// A user that is usually the row's owner, sometimes another.
fn owner_or_not(owner: UserId, g: &Gen) -> UserId {
    if g.fail && g.partial {
        user(g.user)
    } else {
        owner
    }
}

fn timed(model: &Model, g: &Gen, id: u128) -> Timed {
    // Types 0 and 1 are named, 2 and 3 mean the default, 4 is unknown.
    let ty = match g.pick % 5 {
        0 | 1 => Some(model.ty(usize::from(g.pick))),
        2 | 3 => None,
        _ => Some(TicketTypeId::from_uuid(uuid(9999))),
    };
    let request = seats_of(model, ty, g.user, g.qty);
    let nth = usize::from(g.pick);
    let op = match g.kind {
        0..=3 => SeatOp::Hold {
            id: HoldId::from_uuid(uuid(id)),
            request,
            expires_at: at(g.now + g.ttl),
        },
        4..=7 => SeatOp::Book {
            id: BookingId::from_uuid(uuid(id)),
            request,
            on_sold_out: if g.fail {
                OnSoldOut::Fail
            } else {
                OnSoldOut::Waitlist
            },
            allow_partial: g.partial,
        },
        8 | 9 => SeatOp::Join(request),
        10 | 11 => match pick(&model.holds, nth, |(_, s)| *s == HoldStatus::Active) {
            Some((h, _)) => SeatOp::Confirm {
                hold_id: h.id,
                user_id: owner_or_not(h.user_id, g),
            },
            None => SeatOp::Sweep,
        },
        12 => match pick(&model.holds, nth, |(_, s)| *s == HoldStatus::Active) {
            Some((h, _)) => SeatOp::Release {
                hold_id: h.id,
                user_id: owner_or_not(h.user_id, g),
            },
            None => SeatOp::Sweep,
        },
        13 | 14 => match pick(&model.bookings, nth, |(b, _)| {
            b.status == BookingStatus::Confirmed
        }) {
            Some((b, _)) => SeatOp::Cancel {
                booking_id: b.id,
                quantity: (!g.fail).then(|| Quantity::new(g.qty).expect("valid quantity")),
            },
            None => SeatOp::Sweep,
        },
        15 | 16 => match pick(&model.entries, nth, |e| e.status == WaitlistStatus::Waiting) {
            Some(e) => SeatOp::Leave {
                entry_id: e.id,
                user_id: owner_or_not(e.user_id, g),
            },
            None => SeatOp::Sweep,
        },
        17 => SeatOp::Resize {
            capacity: g.qty * 3 + u32::from(g.pick),
        },
        18 if g.fail && g.partial && g.pick == 0 => SeatOp::CancelEvent,
        19 | 20 => SeatOp::ChangeType {
            ticket_type_id: model.ty(nth),
            quantity: (!g.fail).then(|| (!g.partial).then_some(g.qty + u32::from(g.pick % 3))),
            price_cents: g.partial.then_some(i64::from(g.qty) * 50),
        },
        21 if g.pick < 2 => SeatOp::RetireType {
            ticket_type_id: model.ty(nth),
        },
        _ => SeatOp::Sweep,
    };
    Timed { op, now: at(g.now) }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// A batch decides and writes exactly what its requests would, one by one.
    #[test]
    fn a_batch_equals_its_requests_one_by_one(
        capacity in 0..12_u32,
        quantities in prop::collection::vec(prop::option::of(0..8_u32), 1..3),
        limit in prop::option::of(1..7_u32),
        before in prop::collection::vec(gen_request(), 0..16),
        batch in prop::collection::vec(gen_request(), 1..24),
        first_read in 0..4_usize,
    ) {
        let mut model = Model::new(capacity, &quantities, limit);
        for (i, g) in before.iter().enumerate() {
            let op = timed(&model, g, 10_000 + i as u128);
            model.run(&[op], first_read);
            model.check();
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
        batched.check();
    }
}

#[test]
fn the_queue_is_read_first_only_where_promotion_may_happen() {
    let free = Model::new(2, &[None], None).seats;
    let mut full = free.clone();
    full.sold = 2;
    full.types[0].sold = 2;
    assert_eq!(first_queue_read(&free, 0, true), None, "nobody waits");
    assert_eq!(first_queue_read(&free, 3, false), Some(QUEUE_READ));
    assert_eq!(first_queue_read(&full, 3, false), Some(0), "sold out");
    assert_eq!(
        first_queue_read(&full, 3, true),
        Some(QUEUE_READ),
        "a hold ends"
    );
}

#[test]
fn planning_reads_the_queue_only_when_asked_and_as_far_as_asked() {
    let model = one_seat_held_until_5_and_three_waiting();
    // Sold out and nothing expiring by 2: the queue is not read.
    let early = [book(&model, 9, 1, 1601, 2)];
    let planning = Planning::new(model.facts(&early, 0));
    assert_eq!(planning.queue_to_read(), None);
    // At 6 the hold has expired: the head is read, and the planner needs no more.
    let late = [book(&model, 9, 1, 1602, 6)];
    let mut planning = Planning::new(model.facts(&late, 0));
    let mut reads = Vec::new();
    let (outcomes, plan) = loop {
        let n = planning.queue_to_read();
        reads.push(n);
        let queue = model.facts(&late, n.unwrap_or(0)).queue;
        if let Some(planned) = planning.try_plan(queue, &late) {
            break planned;
        }
    };
    assert_eq!(reads, [Some(QUEUE_READ)]);
    assert!(matches!(&outcomes[0], Outcome::Booked(b) if b.booking.is_none()));
    assert_eq!(plan.ended_entries.len(), 1, "the head was promoted");
}
