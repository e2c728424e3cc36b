//! Request handlers: parse the DTO, call one use case, shape the answer.

pub mod auth;
pub mod events;
pub mod ops;
pub mod users;
