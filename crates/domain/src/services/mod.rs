//! Use cases: what the edge calls. They check permissions, validate, and call the ports.

mod accounts;
mod events;

pub use accounts::*;
pub use events::*;
