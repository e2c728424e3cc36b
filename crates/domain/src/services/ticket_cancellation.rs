//! Cancelling the tickets a caller names, rather than a number of seats.

use super::BookingService;
use crate::BookingId;
use crate::booking::{Booking, BookingStatus, Quantity};
use crate::ports::CancelBookingError;
use crate::ticket::{TicketId, TicketStatus};
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
    /// again changes nothing; naming every valid ticket cancels the booking.
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
        if found.booking.status == BookingStatus::Cancelled {
            return Err(CancelBookingError::AlreadyCancelled.into());
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
        let numbers: Vec<_> = numbers.into_iter().collect();
        self.ports
            .check_ins
            .void_tickets(id, &numbers, self.now())
            .await?;
        Ok(booking)
    }
}
