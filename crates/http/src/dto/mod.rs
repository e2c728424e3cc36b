//! The JSON shapes of the API, separate from the domain types they carry.

mod audit;
mod bookings;
mod events;
mod instant;
mod page;
mod tickets;
mod users;

pub use audit::*;
pub use bookings::*;
pub use events::*;
pub use instant::Instant;
pub use page::*;
pub use tickets::*;
pub use users::*;

use serde::{Deserialize, Deserializer};

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`) in PATCH bodies.
#[allow(clippy::option_option)]
fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
