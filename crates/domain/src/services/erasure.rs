//! Erasing an account (GDPR art. 17): its personal data goes for good; what organizers'
//! figures need stays, without it. Bookings stay counted (those of events still to
//! come are cancelled, their seats go back and promote the waitlist), waiting entries
//! are taken out of their queues (status `left`), audit lines keep the account's id
//! only, its scanner tokens are revoked.

use super::{AccountService, AdminError, BookingService, ChangePasswordError, TicketService};
use crate::UserId;
use crate::booking::{BookingStatus, WaitlistStatus};
use crate::page::PageRequest;
use crate::ports::{CancelBookingError, LeaveWaitlistError};
use crate::user::{Role, User};

/// Why an account was not erased.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The password given is not the account's.
    #[error("password is wrong")]
    InvalidCredentials,
    /// The caller may not erase this account.
    #[error("admins only")]
    Forbidden,
    /// No such account.
    #[error("user not found")]
    NotFound,
    /// The account is the only active admin.
    #[error("the only active admin cannot be erased")]
    LastAdmin,
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

impl From<AdminError> for EraseError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Forbidden => Self::Forbidden,
            AdminError::NotFound => Self::NotFound,
            AdminError::LastAdmin => Self::LastAdmin,
            AdminError::Backend(e) => Self::Backend(e),
        }
    }
}

/// Bookings or waiting entries read per page while erasing.
const PAGE: u32 = 100;

/// The erasure use cases, which span accounts, seats and scanner tokens.
#[derive(Clone, Copy)]
pub struct Erasure<'a> {
    /// Accounts.
    pub accounts: &'a AccountService,
    /// Bookings and waitlists.
    pub bookings: &'a BookingService,
    /// Scanner tokens.
    pub tickets: &'a TicketService,
}

impl Erasure<'_> {
    /// Erases the caller's account once `password` proves it is theirs.
    /// # Errors
    /// `InvalidCredentials`, `LastAdmin`.
    pub async fn erase_self(&self, user: UserId, password: &str) -> Result<(), EraseError> {
        self.accounts
            .check_password(user, password)
            .await
            .map_err(|e| match e {
                ChangePasswordError::InvalidCredentials => EraseError::InvalidCredentials,
                ChangePasswordError::Backend(e) => EraseError::Backend(e),
            })?;
        self.erase(user, user).await
    }

    /// Erases account `id` (admins). Erasing an erased account changes nothing.
    /// # Errors
    /// `Forbidden` for non-admins, `NotFound`, `LastAdmin`.
    pub async fn erase_user(&self, admin: &User, id: UserId) -> Result<(), EraseError> {
        if admin.role != Role::Admin {
            return Err(EraseError::Forbidden);
        }
        self.erase(admin.id, id).await
    }

    /// The identity goes first, in one transaction that also refuses the last admin;
    /// seats and tokens follow. Every step may run again: a repeat after a failure
    /// finishes what the first attempt left (an admin's `DELETE /users/{id}`, since the
    /// account itself can no longer sign in).
    async fn erase(&self, actor: UserId, id: UserId) -> Result<(), EraseError> {
        self.accounts.erase_identity(actor, id).await?;
        self.bookings.give_back_seats_of(id).await?;
        self.tickets.revoke_api_tokens_of(id).await?;
        Ok(())
    }
}

impl BookingService {
    /// Takes `user`'s waiting entries out of their queues (status `left`), then cancels
    /// their bookings of events still to come, each as its own seat operation (seats go
    /// back and promote the waitlist as any cancellation does). Entries go first: a
    /// cancellation could otherwise promote the user's own entry into a new booking.
    /// Bookings of events that started or were cancelled, and bookings with a ticket
    /// used at the door, stay as they are.
    async fn give_back_seats_of(&self, user: UserId) -> anyhow::Result<()> {
        let mut page = PageRequest {
            limit: PAGE,
            after: None,
        };
        loop {
            let entries = self.ports.waitlists.user_entries(user, &page).await?;
            for entry in entries
                .items
                .iter()
                .filter(|e| e.status == WaitlistStatus::Waiting)
            {
                match self.ports.waitlists.leave(entry.id, user, self.now()).await {
                    Ok(())
                    | Err(LeaveWaitlistError::NotWaiting(_) | LeaveWaitlistError::NotFound) => {}
                    Err(LeaveWaitlistError::Backend(e)) => return Err(e),
                }
            }
            match entries.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        let mut page = PageRequest {
            limit: PAGE,
            after: None,
        };
        loop {
            let bookings = self
                .ports
                .bookings
                .user_bookings(user, Some(BookingStatus::Confirmed), &page)
                .await?;
            for booking in &bookings.items {
                self.cancel_if_to_come(booking.id, booking.event_id).await?;
            }
            match bookings.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        Ok(())
    }

    /// Cancels booking `id` whole if its event is still to come and none of its
    /// tickets was used.
    async fn cancel_if_to_come(
        &self,
        id: crate::BookingId,
        event: crate::EventId,
    ) -> anyhow::Result<()> {
        let now = self.now();
        let to_come = self.ports.events.find(event, now).await?.is_some_and(|e| {
            e.status == crate::event::EventStatus::Scheduled && e.details.starts_at > now
        });
        if !to_come {
            return Ok(());
        }
        let before = match self.tickets_before_cancel(id, None).await {
            Ok(before) => before,
            Err(CancelBookingError::Backend(e)) => return Err(e),
            Err(_) => return Ok(()), // a ticket was used at the door: the booking stays
        };
        match self.ports.bookings.cancel_booking(id, None, now).await {
            Ok(cancelled) => {
                self.record_voids(before, &cancelled, &[]).await;
                Ok(())
            }
            // Cancelled meanwhile, by its event or a concurrent erasure.
            Err(CancelBookingError::AlreadyCancelled | CancelBookingError::NotFound) => Ok(()),
            Err(CancelBookingError::Backend(e)) => Err(e),
            Err(other) => Err(anyhow::anyhow!(other)),
        }
    }
}

impl TicketService {
    /// Revokes every scanner token `owner` made.
    async fn revoke_api_tokens_of(&self, owner: UserId) -> anyhow::Result<()> {
        let now = self.now();
        for token in self.ports.api_tokens.list(Some(owner)).await? {
            if token.revoked_at.is_none() {
                self.ports.api_tokens.revoke(token.id, now).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "erasure_tests.rs"]
mod tests;
