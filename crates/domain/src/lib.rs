//! The domain of boxoffice: entities, validated values, ports and use cases.
//!
//! This crate knows nothing of HTTP, SQL or Redis. Adapters implement the traits in
//! [`ports`]; the edge calls the use cases in [`services`].

pub mod api_token;
pub mod audit;
pub mod booking;
pub mod event;
pub mod group_commit;
pub mod ids;
pub mod outbox;
pub mod page;
pub mod planner;
pub mod ports;
pub mod seats;
pub mod secret;
pub mod services;
pub mod ticket;
pub mod time;
pub mod user;
pub mod validation;

pub use ids::{BookingId, EventId, HoldId, TicketTypeId, TokenFamilyId, UserId, WaitlistEntryId};
pub use time::{Clock, SystemClock, Timestamp};
