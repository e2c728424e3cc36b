//! The ports: what the domain needs from the outside world, as small traits of whole
//! operations. Each adapter runs one operation in one transaction of its own.

mod admission;
mod audit;
mod booking;
mod events;
mod health;
mod keyed;
mod mailer;
mod outbox;
mod rate_limit;
mod security;
mod tickets;
mod tokens;
mod users;
mod versions;

pub use admission::*;
pub use audit::*;
pub use booking::*;
pub use events::*;
pub use health::*;
pub use keyed::*;
pub use mailer::*;
pub use outbox::*;
pub use rate_limit::*;
pub use security::*;
pub use tickets::*;
pub use tokens::*;
pub use users::*;
pub use versions::*;
