//! Authentication adapters: HS256 JWT access tokens and bcrypt password hashing.

mod jwt;
mod password;

pub use jwt::JwtAccessTokens;
pub use password::BcryptHasher;
