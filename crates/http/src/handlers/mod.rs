//! Request handlers: parse the DTO, call one use case, shape the answer.

pub mod analytics;
pub mod api_tokens;
pub mod audit;
pub mod auth;
pub mod bookings;
pub mod check_ins;
pub mod events;
pub mod holds;
pub mod ops;
pub mod redoc;
pub mod ticket_types;
pub mod tickets;
pub mod users;
pub mod waitlist;
