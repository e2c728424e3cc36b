//! Use cases: what the edge calls. They check permissions, validate, and call the ports.

mod accounts;
mod api_tokens;
mod audit_trail;
mod bookings;
mod copies;
mod erasure;
mod events;
mod listings;
mod retries;
mod sessions;
mod ticket_cancellation;
mod tickets;

pub use accounts::*;
pub use api_tokens::{ApiTokenError, NewApiToken};
pub use bookings::*;
pub use copies::{ReadSource, Versioned};
pub use erasure::{EraseError, Erasure};
pub use events::*;
pub use ticket_cancellation::CancelTicketsError;
pub use tickets::*;
