//! Use cases: what the edge calls. They check permissions, validate, and call the ports.

mod accounts;
mod audit_trail;
mod bookings;
mod copies;
mod events;
mod listings;
mod retries;
mod sessions;
mod ticket_cancellation;
mod tickets;

pub use accounts::*;
pub use bookings::*;
pub use copies::{ReadSource, Versioned};
pub use events::*;
pub use ticket_cancellation::CancelTicketsError;
pub use tickets::*;
