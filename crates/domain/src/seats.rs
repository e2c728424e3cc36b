//! Seat accounting, as pure functions: the stores read an event's counters inside the
//! transaction that locks it, decide here, and write the result back. Every store thus
//! shares one set of rules for capacity, quotas, FIFO promotion and sale terms.

use crate::booking::OnSoldOut;
use crate::event::EventStatus;
use crate::{TicketTypeId, Timestamp, WaitlistEntryId};

/// One ticket type as the seat rules see it: its cap, price, whether it sells, and its
/// counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeSeats {
    /// The type.
    pub id: TicketTypeId,
    /// Its own cap, if any.
    pub quantity: Option<u32>,
    /// Price of one ticket, in minor units: what a booking made now is charged.
    pub price_cents: i64,
    /// Retired types sell nothing any more.
    pub retired: bool,
    /// Seats of this type sold.
    pub sold: u32,
    /// Seats of this type held.
    pub held: u32,
}

/// Counters of an event and its ticket types, read under the event's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seats {
    /// Seats in all.
    pub capacity: u32,
    /// Seats sold, all types.
    pub sold: u32,
    /// Seats held, all types.
    pub held: u32,
    /// Per-type counters.
    pub types: Vec<TypeSeats>,
}

/// Whether seats are taken for a hold or sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// In a live hold.
    Held,
    /// In a confirmed booking.
    Sold,
}

impl Seats {
    fn event_free(&self) -> u32 {
        self.capacity.saturating_sub(self.sold + self.held)
    }

    /// The counters of type `ty`, if the event has it.
    #[must_use]
    pub fn of(&self, ty: TicketTypeId) -> Option<&TypeSeats> {
        self.types.iter().find(|t| t.id == ty)
    }

    /// The type a request without a ticket type asks for: the first type (in creation
    /// order) that is not retired, or the first type when every one is.
    #[must_use]
    pub fn default_type(&self) -> Option<&TypeSeats> {
        let on_sale = self.types.iter().find(|t| !t.retired);
        on_sale.or_else(|| self.types.first())
    }

    /// Seats of type `ty` that can be taken now (0 for an unknown or retired type).
    #[must_use]
    pub fn free(&self, ty: TicketTypeId) -> u32 {
        self.of(ty).filter(|t| !t.retired).map_or(0, |t| {
            let type_free = t
                .quantity
                .map_or(u32::MAX, |q| q.saturating_sub(t.sold + t.held));
            type_free.min(self.event_free())
        })
    }

    fn apply(&mut self, ty: TicketTypeId, taken: Taken, change: impl Fn(u32) -> u32) {
        let (event, ticket) = match taken {
            Taken::Held => (
                &mut self.held,
                self.types
                    .iter_mut()
                    .find(|t| t.id == ty)
                    .map(|t| &mut t.held),
            ),
            Taken::Sold => (
                &mut self.sold,
                self.types
                    .iter_mut()
                    .find(|t| t.id == ty)
                    .map(|t| &mut t.sold),
            ),
        };
        *event = change(*event);
        if let Some(ticket) = ticket {
            *ticket = change(*ticket);
        }
    }

    /// Takes `qty` seats of `ty` if that many are free; says whether it did.
    pub fn take(&mut self, ty: TicketTypeId, qty: u32, taken: Taken) -> bool {
        if qty == 0 || self.free(ty) < qty {
            return false;
        }
        self.apply(ty, taken, |n| n + qty);
        true
    }

    /// Gives back `qty` seats of `ty` that were `taken` (never below zero).
    pub fn give_back(&mut self, ty: TicketTypeId, qty: u32, taken: Taken) {
        self.apply(ty, taken, |n| n.saturating_sub(qty));
    }

    /// Turns `qty` held seats of `ty` into sold ones (a confirmed hold).
    pub fn sell_held(&mut self, ty: TicketTypeId, qty: u32) {
        self.give_back(ty, qty, Taken::Held);
        self.apply(ty, Taken::Sold, |n| n + qty);
    }
}

/// A waiting entry as promotion sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// The entry.
    pub id: WaitlistEntryId,
    /// The type it waits for.
    pub ticket_type_id: TicketTypeId,
    /// Seats it wants, all at once.
    pub quantity: u32,
}

/// Strict FIFO promotion: walks `queue` (in join order) and sells seats to each entry
/// while it fits, stopping at the first that does not, so nobody overtakes the head.
/// Returns the promoted entries, in order.
pub fn promote(seats: &mut Seats, queue: &[Waiting]) -> Vec<Waiting> {
    let mut promoted = Vec::new();
    for entry in queue {
        if !seats.take(entry.ticket_type_id, entry.quantity, Taken::Sold) {
            break;
        }
        promoted.push(*entry);
    }
    promoted
}

/// How a booking request splits between seats booked now and seats to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Seats to book now.
    pub book: u32,
    /// Seats to put on the waitlist.
    pub wait: u32,
}

/// Splits a request for `qty` seats when `free` are free.
///
/// Enough seats: book all. Not enough, `allow_partial` and some free: book what is free,
/// and wait for the rest when `on_sold_out` is `Waitlist`. Otherwise wait for all, or
/// with `Fail` refuse.
///
/// # Errors
/// The number of free seats, when the request fails as sold out.
pub fn plan_booking(
    free: u32,
    qty: u32,
    allow_partial: bool,
    on_sold_out: OnSoldOut,
) -> Result<Plan, u32> {
    let waitlist = on_sold_out == OnSoldOut::Waitlist;
    if free >= qty {
        Ok(Plan { book: qty, wait: 0 })
    } else if allow_partial && free > 0 {
        Ok(Plan {
            book: free,
            wait: if waitlist { qty - free } else { 0 },
        })
    } else if waitlist {
        Ok(Plan { book: 0, wait: qty })
    } else {
        Err(free)
    }
}

/// The terms under which an event sells tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleTerms {
    /// Cancelled events sell nothing.
    pub status: EventStatus,
    /// Sales start, if set.
    pub sales_open_at: Option<Timestamp>,
    /// Sales end; without it, sales end when the event starts.
    pub sales_close_at: Option<Timestamp>,
    /// When the event starts.
    pub starts_at: Timestamp,
    /// Most tickets one user may hold, book and wait for.
    pub max_tickets_per_user: Option<u32>,
}

/// Why an event does not sell to this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleRefusal {
    /// The event is cancelled.
    EventCancelled,
    /// Outside the sales window.
    SalesClosed,
    /// The user would pass `max_tickets_per_user`.
    PurchaseLimitExceeded {
        /// The limit.
        limit: u32,
        /// Tickets the user already has (booked, held or waiting).
        already: u32,
    },
    /// The ticket type was retired: it sells nothing any more.
    TicketTypeRetired,
    /// More tickets than the event's capacity or the ticket type's quantity: such a
    /// request could never be served, and queued it would block the waitlist behind it
    /// for good.
    NeverServable {
        /// The most tickets of the type the event can hold: the smaller of the two.
        most: u32,
    },
}

/// Whether a user who already has `already` tickets of the event may ask for `qty`
/// tickets of type `ty` at `now`: the sale terms, then whether the type is on sale, then
/// the most seats of the type the event holds (its capacity, or the type's own quantity
/// when smaller).
///
/// # Errors
/// The first rule the request breaks.
pub fn admit(
    seats: &Seats,
    terms: &SaleTerms,
    ty: TicketTypeId,
    already: u32,
    qty: u32,
    now: Timestamp,
) -> Result<(), SaleRefusal> {
    terms.allow(already, qty, now)?;
    if seats.of(ty).is_some_and(|t| t.retired) {
        return Err(SaleRefusal::TicketTypeRetired);
    }
    let most = seats
        .of(ty)
        .and_then(|t| t.quantity)
        .map_or(seats.capacity, |quantity| quantity.min(seats.capacity));
    if qty > most {
        return Err(SaleRefusal::NeverServable { most });
    }
    Ok(())
}

impl SaleTerms {
    /// Whether a user who already has `already` tickets may ask for `qty` more at `now`.
    ///
    /// # Errors
    /// The first rule the request breaks.
    pub fn allow(&self, already: u32, qty: u32, now: Timestamp) -> Result<(), SaleRefusal> {
        if self.status == EventStatus::Cancelled {
            return Err(SaleRefusal::EventCancelled);
        }
        let opened = self.sales_open_at.is_none_or(|open| now >= open);
        let closes = self.sales_close_at.unwrap_or(self.starts_at);
        if !opened || now >= closes {
            return Err(SaleRefusal::SalesClosed);
        }
        match self.max_tickets_per_user {
            Some(limit) if already + qty > limit => {
                Err(SaleRefusal::PurchaseLimitExceeded { limit, already })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn seats(capacity: u32, types: &[Option<u32>]) -> (Seats, Vec<TicketTypeId>) {
        let types: Vec<_> = types
            .iter()
            .map(|&quantity| TypeSeats {
                id: TicketTypeId::generate(),
                quantity,
                price_cents: 0,
                retired: false,
                sold: 0,
                held: 0,
            })
            .collect();
        let ids = types.iter().map(|t| t.id).collect();
        (
            Seats {
                capacity,
                sold: 0,
                held: 0,
                types,
            },
            ids,
        )
    }

    #[test]
    fn type_quota_and_event_capacity_both_limit() {
        let (mut s, ids) = seats(10, &[Some(4), None]);
        assert_eq!(s.free(ids[0]), 4);
        assert!(s.take(ids[0], 4, Taken::Held));
        assert!(!s.take(ids[0], 1, Taken::Sold), "type quota is full");
        assert!(s.take(ids[1], 6, Taken::Sold));
        assert_eq!(s.free(ids[1]), 0, "event capacity is full");
        assert_eq!((s.sold, s.held), (6, 4));
        s.sell_held(ids[0], 2);
        assert_eq!(
            (s.sold, s.held, s.types[0].sold, s.types[0].held),
            (8, 2, 2, 2)
        );
        s.give_back(ids[0], 2, Taken::Held);
        assert_eq!(s.free(ids[0]), 2);
        assert_eq!(
            s.free(TicketTypeId::generate()),
            0,
            "unknown types have no seats"
        );
        assert!(!s.take(ids[1], 0, Taken::Sold), "taking nothing is refused");
    }

    #[test]
    fn promotion_is_strict_fifo() {
        let (mut s, ids) = seats(5, &[None]);
        assert!(s.take(ids[0], 2, Taken::Sold));
        let w = |quantity| Waiting {
            id: WaitlistEntryId::generate(),
            ticket_type_id: ids[0],
            quantity,
        };
        let queue = [w(2), w(2), w(1)];
        let promoted = promote(&mut s, &queue);
        assert_eq!(
            promoted,
            &queue[..1],
            "the second entry does not fit, so the third may not overtake"
        );
        assert_eq!(s.free(ids[0]), 1);
    }

    #[test]
    fn booking_plans_follow_the_contract() {
        use OnSoldOut::{Fail, Waitlist};
        assert_eq!(
            plan_booking(5, 3, false, Fail),
            Ok(Plan { book: 3, wait: 0 })
        );
        assert_eq!(
            plan_booking(2, 3, true, Waitlist),
            Ok(Plan { book: 2, wait: 1 })
        );
        assert_eq!(
            plan_booking(2, 3, true, Fail),
            Ok(Plan { book: 2, wait: 0 })
        );
        assert_eq!(
            plan_booking(2, 3, false, Waitlist),
            Ok(Plan { book: 0, wait: 3 })
        );
        assert_eq!(
            plan_booking(0, 3, true, Waitlist),
            Ok(Plan { book: 0, wait: 3 })
        );
        assert_eq!(plan_booking(2, 3, false, Fail), Err(2));
    }

    #[test]
    fn requests_beyond_a_type_size_or_the_capacity_are_refused() {
        let (s, ids) = seats(100, &[Some(10), None, Some(150)]);
        let now = Utc::now();
        let terms = SaleTerms {
            status: EventStatus::Scheduled,
            sales_open_at: None,
            sales_close_at: None,
            starts_at: now + Duration::days(1),
            max_tickets_per_user: None,
        };
        assert_eq!(admit(&s, &terms, ids[0], 0, 10, now), Ok(()));
        assert_eq!(
            admit(&s, &terms, ids[0], 0, 11, now),
            Err(SaleRefusal::NeverServable { most: 10 })
        );
        assert_eq!(admit(&s, &terms, ids[1], 0, 100, now), Ok(()));
        for ty in [ids[1], ids[2]] {
            assert_eq!(
                admit(&s, &terms, ty, 0, 101, now),
                Err(SaleRefusal::NeverServable { most: 100 }),
                "a request beyond the capacity would block the queue for good"
            );
        }
        let closed = SaleTerms {
            sales_close_at: Some(now),
            ..terms
        };
        assert_eq!(
            admit(&s, &closed, ids[0], 0, 11, now),
            Err(SaleRefusal::SalesClosed)
        );
    }

    #[test]
    fn sale_terms_check_status_window_and_limit() {
        let now = Utc::now();
        let terms = SaleTerms {
            status: EventStatus::Scheduled,
            sales_open_at: Some(now - Duration::hours(1)),
            sales_close_at: None,
            starts_at: now + Duration::days(1),
            max_tickets_per_user: Some(4),
        };
        assert_eq!(terms.allow(1, 3, now), Ok(()));
        assert_eq!(
            terms.allow(2, 3, now),
            Err(SaleRefusal::PurchaseLimitExceeded {
                limit: 4,
                already: 2
            })
        );
        assert_eq!(
            terms.allow(0, 1, now - Duration::hours(2)),
            Err(SaleRefusal::SalesClosed)
        );
        assert_eq!(
            terms.allow(0, 1, now + Duration::days(1)),
            Err(SaleRefusal::SalesClosed)
        );
        let cancelled = SaleTerms {
            status: EventStatus::Cancelled,
            ..terms
        };
        assert_eq!(cancelled.allow(0, 1, now), Err(SaleRefusal::EventCancelled));
    }
}
