//! Row structs: the shape of each table as diesel reads and writes it, and the
//! conversions to and from the domain's types.

use crate::schema::{
    bookings, events, holds, password_reset_tokens, refresh_tokens, ticket_types, users,
    waitlist_entries,
};
use anyhow::Context as _;
use boxoffice_domain::booking::{Booking, Hold, HoldStatus, WaitlistEntry, WaitlistStatus};
use boxoffice_domain::event::{Event, EventDetails, NewEvent, NewTicketType, TicketType};
use boxoffice_domain::ports::{NewRefreshToken, NewResetToken};
use boxoffice_domain::user::{Credentials, NewUser, PasswordHash, User};
use boxoffice_domain::{
    BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId,
};
use diesel::prelude::*;
use uuid::Uuid;

/// The stored status of a hold whose seats are held.
pub(crate) const ACTIVE: &str = HoldStatus::Active.as_str();

/// Seat counts and capacities are `u32` in the domain and `integer` in the schema.
pub(crate) fn to_i32(value: u32, what: &str) -> anyhow::Result<i32> {
    i32::try_from(value).with_context(|| format!("{what} {value} does not fit the database"))
}

/// The reverse of [`to_i32`]: a negative count in the database is a bug worth reporting.
pub(crate) fn to_u32(value: i32, what: &str) -> anyhow::Result<u32> {
    u32::try_from(value).with_context(|| format!("{what} {value} in the database is negative"))
}

fn opt_to_i32(value: Option<u32>, what: &str) -> anyhow::Result<Option<i32>> {
    value.map(|v| to_i32(v, what)).transpose()
}

fn opt_to_u32(value: Option<i32>, what: &str) -> anyhow::Result<Option<u32>> {
    value.map(|v| to_u32(v, what)).transpose()
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub active: bool,
    pub created_at: Timestamp,
    pub tokens_valid_from: Option<Timestamp>,
}

impl UserRow {
    pub(crate) fn into_user(self) -> anyhow::Result<User> {
        Ok(self.into_credentials()?.user)
    }

    pub(crate) fn into_credentials(self) -> anyhow::Result<Credentials> {
        let role = self.role.parse().map_err(|e: String| {
            anyhow::anyhow!("user {}: bad role {:?}: {e}", self.id, self.role)
        })?;
        Ok(Credentials {
            user: User {
                id: UserId::from_uuid(self.id),
                name: self.name,
                email: self.email,
                role,
                active: self.active,
                created_at: self.created_at,
                tokens_valid_from: self.tokens_valid_from,
            },
            password_hash: PasswordHash::new(self.password_hash),
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub active: bool,
    pub created_at: Timestamp,
    pub email_key: String,
}

impl<'a> From<&'a NewUser> for NewUserRow<'a> {
    fn from(user: &'a NewUser) -> Self {
        Self {
            id: user.id.as_uuid(),
            name: user.name.as_str(),
            email: user.email.as_str(),
            password_hash: user.password_hash.as_str(),
            role: user.role.as_str(),
            active: true,
            created_at: user.created_at,
            email_key: user.email.key().as_str().to_owned(),
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub(crate) struct RefreshRow {
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: Timestamp,
    pub rotated_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
pub(crate) struct NewRefreshRow<'a> {
    pub token_hash: &'a str,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

impl<'a> From<&'a NewRefreshToken> for NewRefreshRow<'a> {
    fn from(token: &'a NewRefreshToken) -> Self {
        Self {
            token_hash: token.hash.as_str(),
            family_id: token.family.as_uuid(),
            user_id: token.user_id.as_uuid(),
            issued_at: token.issued_at,
            expires_at: token.expires_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = password_reset_tokens, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ResetRow {
    pub user_id: Uuid,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

#[derive(Insertable)]
#[diesel(table_name = password_reset_tokens)]
pub(crate) struct NewResetRow<'a> {
    pub token_hash: &'a str,
    pub user_id: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl<'a> From<&'a NewResetToken> for NewResetRow<'a> {
    fn from(token: &'a NewResetToken) -> Self {
        Self {
            token_hash: token.hash.as_str(),
            user_id: token.user_id.as_uuid(),
            created_at: token.created_at,
            expires_at: token.expires_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EventRow {
    pub id: Uuid,
    pub organizer_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub venue: String,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub currency: String,
    pub capacity: i32,
    pub max_tickets_per_user: Option<i32>,
    pub sales_open_at: Option<Timestamp>,
    pub sales_close_at: Option<Timestamp>,
    pub status: String,
    pub sold: i32,
    pub held: i32,
    pub waitlist_count: i32,
    pub created_at: Timestamp,
}

impl EventRow {
    /// The event with `ticket_types`, which must be this event's rows in position order.
    pub(crate) fn into_event(self, ticket_types: Vec<TicketTypeRow>) -> anyhow::Result<Event> {
        let id = self.id;
        let status = self
            .status
            .parse()
            .map_err(|e: String| anyhow::anyhow!("event {id}: {e}"))?;
        Ok(Event {
            id: EventId::from_uuid(id),
            organizer_id: UserId::from_uuid(self.organizer_id),
            details: EventDetails {
                name: self.name,
                description: self.description,
                venue: self.venue,
                starts_at: self.starts_at,
                ends_at: self.ends_at,
                latitude: self.latitude,
                longitude: self.longitude,
                currency: self.currency,
                capacity: to_u32(self.capacity, "capacity")?,
                max_tickets_per_user: opt_to_u32(
                    self.max_tickets_per_user,
                    "max_tickets_per_user",
                )?,
                sales_open_at: self.sales_open_at,
                sales_close_at: self.sales_close_at,
            },
            status,
            created_at: self.created_at,
            sold: to_u32(self.sold, "sold")?,
            held: to_u32(self.held, "held")?,
            waitlist_count: to_u32(self.waitlist_count, "waitlist_count")?,
            ticket_types: ticket_types
                .into_iter()
                .map(TicketTypeRow::into_ticket_type)
                .collect::<anyhow::Result<_>>()
                .with_context(|| format!("ticket types of event {id}"))?,
        })
    }
}

/// The organizer's fields of an event, for inserts and updates alike. `None` writes NULL.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = events, treat_none_as_null = true)]
pub(crate) struct EventDetailsRow<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub venue: &'a str,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub currency: &'a str,
    pub capacity: i32,
    pub max_tickets_per_user: Option<i32>,
    pub sales_open_at: Option<Timestamp>,
    pub sales_close_at: Option<Timestamp>,
}

impl<'a> EventDetailsRow<'a> {
    pub(crate) fn new(d: &'a EventDetails) -> anyhow::Result<Self> {
        Ok(Self {
            name: &d.name,
            description: d.description.as_deref(),
            venue: &d.venue,
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            latitude: d.latitude,
            longitude: d.longitude,
            currency: &d.currency,
            capacity: to_i32(d.capacity, "capacity")?,
            max_tickets_per_user: opt_to_i32(d.max_tickets_per_user, "max_tickets_per_user")?,
            sales_open_at: d.sales_open_at,
            sales_close_at: d.sales_close_at,
        })
    }
}

/// What an event row has besides the organizer's fields; inserted together with an
/// [`EventDetailsRow`] as a tuple.
#[derive(Insertable)]
#[diesel(table_name = events)]
pub(crate) struct NewEventKeys {
    pub id: Uuid,
    pub organizer_id: Uuid,
    pub created_at: Timestamp,
}

impl From<&NewEvent> for NewEventKeys {
    fn from(event: &NewEvent) -> Self {
        Self {
            id: event.id.as_uuid(),
            organizer_id: event.organizer_id.as_uuid(),
            created_at: event.created_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = ticket_types, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TicketTypeRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub name: String,
    pub price_cents: i64,
    pub quantity: Option<i32>,
    pub sold: i32,
    pub held: i32,
    pub retired: bool,
}

impl TicketTypeRow {
    fn into_ticket_type(self) -> anyhow::Result<TicketType> {
        Ok(TicketType {
            id: TicketTypeId::from_uuid(self.id),
            name: self.name,
            price_cents: self.price_cents,
            quantity: opt_to_u32(self.quantity, "quantity")?,
            sold: to_u32(self.sold, "sold")?,
            held: to_u32(self.held, "held")?,
            retired: self.retired,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = ticket_types)]
pub(crate) struct NewTicketTypeRow<'a> {
    pub id: Uuid,
    pub event_id: Uuid,
    pub position: i32,
    pub name: &'a str,
    pub price_cents: i64,
    pub quantity: Option<i32>,
}

impl<'a> NewTicketTypeRow<'a> {
    /// The row of `ticket_type`, the `position`-th type of `event`.
    pub(crate) fn new(
        event: EventId,
        position: usize,
        ticket_type: &'a NewTicketType,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            id: ticket_type.id.as_uuid(),
            event_id: event.as_uuid(),
            position: i32::try_from(position).context("too many ticket types")?,
            name: &ticket_type.name,
            price_cents: ticket_type.price_cents,
            quantity: opt_to_i32(ticket_type.quantity, "quantity")?,
        })
    }
}

/// A status column's text as the domain's enum; a bad value in the database is a bug.
fn parse_status<T: std::str::FromStr<Err = String>>(text: &str, what: Uuid) -> anyhow::Result<T> {
    text.parse()
        .map_err(|e: String| anyhow::anyhow!("row {what}: {e}"))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = holds, check_for_backend(diesel::pg::Pg))]
pub(crate) struct HoldRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub ticket_type_id: Uuid,
    pub user_id: Uuid,
    pub quantity: i32,
    pub status: String,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub price_cents: i64,
}

impl HoldRow {
    pub(crate) fn into_hold(self) -> anyhow::Result<Hold> {
        Ok(Hold {
            id: HoldId::from_uuid(self.id),
            event_id: EventId::from_uuid(self.event_id),
            ticket_type_id: TicketTypeId::from_uuid(self.ticket_type_id),
            user_id: UserId::from_uuid(self.user_id),
            quantity: to_u32(self.quantity, "hold quantity")?,
            price_cents: self.price_cents,
            expires_at: self.expires_at,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = bookings, check_for_backend(diesel::pg::Pg))]
pub(crate) struct BookingRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub ticket_type_id: Uuid,
    pub user_id: Uuid,
    pub quantity: i32,
    pub status: String,
    pub source: String,
    pub created_at: Timestamp,
    pub cancelled_at: Option<Timestamp>,
    pub price_cents: i64,
}

impl BookingRow {
    pub(crate) fn into_booking(self) -> anyhow::Result<Booking> {
        Ok(Booking {
            id: BookingId::from_uuid(self.id),
            event_id: EventId::from_uuid(self.event_id),
            ticket_type_id: TicketTypeId::from_uuid(self.ticket_type_id),
            user_id: UserId::from_uuid(self.user_id),
            quantity: to_u32(self.quantity, "booking quantity")?,
            price_cents: self.price_cents,
            status: parse_status(&self.status, self.id)?,
            source: parse_status(&self.source, self.id)?,
            created_at: self.created_at,
            cancelled_at: self.cancelled_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = waitlist_entries, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EntryRow {
    pub id: Uuid,
    pub seq: i64,
    pub event_id: Uuid,
    pub ticket_type_id: Uuid,
    pub user_id: Uuid,
    pub quantity: i32,
    pub status: String,
    pub booking_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub closed_reason: Option<String>,
}

impl EntryRow {
    /// The entry, with `position` when it is waiting (ignored otherwise).
    pub(crate) fn into_entry(self, position: u32) -> anyhow::Result<WaitlistEntry> {
        let status: WaitlistStatus = parse_status(&self.status, self.id)?;
        Ok(WaitlistEntry {
            id: WaitlistEntryId::from_uuid(self.id),
            event_id: EventId::from_uuid(self.event_id),
            ticket_type_id: TicketTypeId::from_uuid(self.ticket_type_id),
            user_id: UserId::from_uuid(self.user_id),
            quantity: to_u32(self.quantity, "entry quantity")?,
            position: (status == WaitlistStatus::Waiting).then_some(position),
            status,
            closed_reason: self
                .closed_reason
                .as_deref()
                .map(|r| parse_status(r, self.id))
                .transpose()?,
            booking_id: self.booking_id.map(BookingId::from_uuid),
            created_at: self.created_at,
            queue_seq: u64::try_from(self.seq).context("negative waitlist seq")?,
        })
    }
}
