//! What cancellations do to tickets: the seats of used tickets are never given back,
//! the tickets a cancellation voids are recorded (so an undone check-in cannot bring a
//! voided ticket back), and a cancellation may name its tickets.

use super::BookingService;
use crate::BookingId;
use crate::booking::{Booking, BookingStatus, Quantity};
use crate::ports::CancelBookingError;
use crate::ticket::{BookingTickets, TicketId, TicketNumber, TicketStatus};
use crate::user::{Role, User};
use std::collections::BTreeSet;

/// Why named tickets were not cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelTicketsError {
    /// As for any cancellation.
    #[error(transparent)]
    Cancel(#[from] CancelBookingError),
    /// A named ticket is not one of the booking's.
    #[error("ticket {0} is not a ticket of this booking")]
    NotOfBooking(TicketId),
    /// A named ticket was used at the door.
    #[error("ticket {0} is checked in")]
    CheckedIn(TicketId),
}

impl From<anyhow::Error> for CancelTicketsError {
    fn from(e: anyhow::Error) -> Self {
        Self::Cancel(CancelBookingError::Backend(e))
    }
}

impl BookingService {
    /// Cancels the seats of the named tickets of a booking (its owner or an admin), and
    /// voids exactly those tickets. Tickets already voided are skipped, so naming them
    /// again (or naming tickets of a cancelled booking) changes nothing and answers the
    /// booking as it is; naming every valid ticket cancels the booking.
    ///
    /// The seats are given back first, in the seat batch; the names are recorded right
    /// after. Until then (or for good, should the process die in between) the newest
    /// valid tickets count as the voided ones: never more tickets than seats.
    /// # Errors
    /// See [`CancelTicketsError`].
    pub async fn cancel_tickets(
        &self,
        actor: &User,
        id: BookingId,
        tickets: &[TicketId],
        key: Option<String>,
    ) -> Result<Booking, CancelTicketsError> {
        let found = self
            .ports
            .check_ins
            .booking_tickets(id)
            .await?
            .ok_or(CancelBookingError::NotFound)?;
        if found.booking.user_id != actor.id && actor.role != Role::Admin {
            return Err(CancelBookingError::NotFound.into());
        }
        let listed = found.tickets();
        let mut numbers = BTreeSet::new();
        for &ticket in tickets {
            let named = listed
                .iter()
                .find(|t| t.id == ticket)
                .ok_or(CancelTicketsError::NotOfBooking(ticket))?;
            match named.status {
                TicketStatus::Valid => {
                    numbers.insert(named.number);
                }
                TicketStatus::Voided => {}
                TicketStatus::CheckedIn => return Err(CancelTicketsError::CheckedIn(ticket)),
            }
        }
        // Every named ticket is void already (a repeat, or a cancelled booking).
        if numbers.is_empty() {
            return Ok(found.booking);
        }
        let count = u32::try_from(numbers.len()).map_err(anyhow::Error::from)?;
        let quantity = Quantity::new(count).map_err(anyhow::Error::msg)?;
        let booking = match key {
            Some(key) => {
                let named: Vec<String> = numbers.iter().map(|n| n.get().to_string()).collect();
                let seats = format!("tickets {}", named.join(","));
                self.cancel_keyed(actor, &found.booking, Some(quantity), &seats, key)
                    .await?
            }
            None => {
                self.ports
                    .bookings
                    .cancel_booking(id, Some(quantity), self.now())
                    .await?
            }
        };
        let named: Vec<_> = numbers.into_iter().collect();
        self.record_voids(Some(found), &booking, &named).await;
        Ok(booking)
    }

    /// The tickets of booking `id` before a cancellation of `quantity` seats (all for
    /// `None`), refusing one that would give back the seat of a checked-in ticket.
    ///
    /// The check reads the check-ins before the seat batch runs: a scan that commits in
    /// between is not seen (see docs/tickets.md).
    pub(super) async fn tickets_before_cancel(
        &self,
        id: BookingId,
        quantity: Option<Quantity>,
    ) -> Result<Option<BookingTickets>, CancelBookingError> {
        let Some(tickets) = self.ports.check_ins.booking_tickets(id).await? else {
            return Ok(None);
        };
        if tickets.booking.status == BookingStatus::Confirmed && !tickets.check_ins.is_empty() {
            let unused = valid(&tickets).len();
            let unused = u32::try_from(unused).map_err(anyhow::Error::from)?;
            if quantity.map_or(tickets.booking.quantity, Quantity::get) > unused {
                return Err(CancelBookingError::TicketsUsed { unused });
            }
        }
        Ok(Some(tickets))
    }

    /// Records the tickets a cancellation voided: `named` when it named them, else those
    /// valid `before` and not after it (the newest). Stored, they stay void whatever
    /// check-ins are undone later. Nothing needs recording for a repeat, nor when no
    /// ticket was named or checked in: the rule alone then keeps voiding the newest.
    ///
    /// The seats were given back already, so a failure here does not fail the request
    /// (a 503 would tell the client nothing happened): it is logged, and the rule's
    /// choice (the newest tickets) stands for the tickets it meant to record.
    pub(super) async fn record_voids(
        &self,
        before: Option<BookingTickets>,
        after: &Booking,
        named: &[TicketNumber],
    ) {
        let Some(before) = before else {
            return;
        };
        if named.is_empty() && before.check_ins.is_empty() {
            return;
        }
        let mut voided: BTreeSet<TicketNumber> = named.iter().copied().collect();
        let valid_before = valid(&before);
        let now_valid = valid(&BookingTickets {
            booking: after.clone(),
            voided: before.voided.union(&voided).copied().collect(),
            ..before
        });
        voided.extend(valid_before.difference(&now_valid));
        if voided.is_empty() {
            return;
        }
        let voided: Vec<_> = voided.into_iter().collect();
        let recorded = self
            .ports
            .check_ins
            .void_tickets(after.id, &voided, self.now())
            .await;
        if let Err(error) = recorded {
            tracing::warn!(
                booking_id = %after.id,
                error = format!("{error:#}"),
                "cancelled, but could not record which tickets were voided; the newest count as voided"
            );
        }
    }
}

/// The numbers of the valid tickets.
fn valid(tickets: &BookingTickets) -> BTreeSet<TicketNumber> {
    tickets
        .tickets()
        .into_iter()
        .filter(|t| t.status == TicketStatus::Valid)
        .map(|t| t.number)
        .collect()
}
