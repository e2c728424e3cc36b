//! Use cases: what the edge calls. They check permissions, validate, and call the ports.

mod accounts;
mod bookings;
mod event_cache;
mod events;

pub use accounts::*;
pub use bookings::*;
pub use event_cache::ReadSource;
pub use events::*;
