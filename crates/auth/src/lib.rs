//! Credential adapters: HS256 JWT access tokens, bcrypt password hashing and Ed25519
//! ticket code signing.

mod jwt;
mod password;
mod ticket_keys;

pub use jwt::JwtAccessTokens;
pub use password::BcryptHasher;
pub use ticket_keys::{Ed25519Signer, generate_seed};
