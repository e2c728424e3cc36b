//! Builders of domain values for the contract tests. Every timestamp is already at store
//! precision (microseconds), so values compare equal after a round trip.

use crate::Stores;
use boxoffice_domain::event::{Event, EventDetails, NewEvent, NewTicketType};
use boxoffice_domain::ports::{NewRefreshToken, NewResetToken};
use boxoffice_domain::secret::SecretToken;
use boxoffice_domain::time::to_store_precision;
use boxoffice_domain::user::{Email, NewUser, PasswordHash, PersonName, Role, User};
use boxoffice_domain::{
    Clock, EventId, SystemClock, TicketTypeId, Timestamp, TokenFamilyId, UserId,
};
use chrono::Duration;

/// The current instant at store precision.
#[must_use]
pub fn now() -> Timestamp {
    SystemClock.now()
}

/// A new attendee with this email and a fresh id.
#[must_use]
pub fn new_user(email: &str) -> NewUser {
    let id = UserId::generate();
    NewUser {
        id,
        name: PersonName::parse("Ann Example").expect("valid name"),
        email: Email::parse(email).expect("valid email"),
        password_hash: PasswordHash::new(format!("hash-{id}")),
        role: Role::Attendee,
        created_at: now(),
    }
}

/// Creates an attendee with this email.
pub async fn user(stores: &Stores, email: &str) -> User {
    stores
        .users
        .create(&new_user(email))
        .await
        .expect("create user")
}

/// Creates an organizer with a unique email.
pub async fn organizer(stores: &Stores) -> User {
    let mut new = new_user(&format!("organizer-{}@example.org", UserId::generate()));
    new.role = Role::Organizer;
    stores.users.create(&new).await.expect("create organizer")
}

/// Details with every optional field set, starting at `starts_at` (truncated to µs).
#[must_use]
pub fn event_details(starts_at: Timestamp) -> EventDetails {
    let starts_at = to_store_precision(starts_at);
    EventDetails {
        name: "RustConf".to_owned(),
        description: Some("Three days of talks".to_owned()),
        venue: "Hall A".to_owned(),
        starts_at,
        ends_at: Some(starts_at + Duration::hours(3)),
        latitude: Some(48.137_154),
        longitude: Some(11.576_124),
        currency: "EUR".to_owned(),
        capacity: 100,
        max_tickets_per_user: Some(4),
        sales_open_at: Some(starts_at - Duration::days(30)),
        sales_close_at: Some(starts_at - Duration::hours(1)),
    }
}

/// A ticket type with a fresh id.
#[must_use]
pub fn ticket_type(name: &str, price_cents: i64, quantity: Option<u32>) -> NewTicketType {
    NewTicketType {
        id: TicketTypeId::generate(),
        name: name.to_owned(),
        price_cents,
        quantity,
    }
}

/// A new event with a fresh id, created now.
#[must_use]
pub fn new_event(
    organizer_id: UserId,
    details: EventDetails,
    ticket_types: Vec<NewTicketType>,
) -> NewEvent {
    NewEvent {
        id: EventId::generate(),
        organizer_id,
        details,
        ticket_types,
        created_at: now(),
    }
}

/// Creates an event of `organizer` with these details and one `General` ticket type.
pub async fn event(stores: &Stores, organizer: &User, details: EventDetails) -> Event {
    let new = new_event(organizer.id, details, vec![NewTicketType::general()]);
    stores.events.create(&new).await.expect("create event")
}

/// A refresh token of `family` issued at `now` and working for `ttl`.
#[must_use]
pub fn refresh_token(
    user_id: UserId,
    family: TokenFamilyId,
    now: Timestamp,
    ttl: Duration,
) -> (SecretToken, NewRefreshToken) {
    let secret = SecretToken::generate();
    let token = NewRefreshToken {
        hash: secret.hash(),
        user_id,
        family,
        issued_at: to_store_precision(now),
        expires_at: to_store_precision(now + ttl),
    };
    (secret, token)
}

/// Saves the first refresh token of a new session of `user_id`, working for a day.
pub async fn session(
    stores: &Stores,
    user_id: UserId,
    now: Timestamp,
) -> (SecretToken, TokenFamilyId) {
    let family = TokenFamilyId::generate();
    let (secret, token) = refresh_token(user_id, family, now, Duration::days(1));
    stores
        .tokens
        .save_refresh(&token)
        .await
        .expect("save refresh token");
    (secret, family)
}

/// A password-reset token made at `now` and working for `ttl`.
#[must_use]
pub fn reset_token(user_id: UserId, now: Timestamp, ttl: Duration) -> (SecretToken, NewResetToken) {
    let secret = SecretToken::generate();
    let token = NewResetToken {
        hash: secret.hash(),
        user_id,
        created_at: to_store_precision(now),
        expires_at: to_store_precision(now + ttl),
    };
    (secret, token)
}

/// Saves a reset token of `user_id` made at `now`, working for an hour.
pub async fn saved_reset(stores: &Stores, user_id: UserId, now: Timestamp) -> SecretToken {
    let (secret, token) = reset_token(user_id, now, Duration::hours(1));
    stores
        .tokens
        .save_reset(&token)
        .await
        .expect("save reset token");
    secret
}
