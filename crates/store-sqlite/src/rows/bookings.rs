//! Booking rows and how they become bookings.

use crate::convert::{count, instant, instant_opt, uuid};
use crate::schema::bookings;
use anyhow::Context;
use boxoffice_domain::booking::Booking;
use boxoffice_domain::{BookingId, EventId, TicketTypeId, UserId};
use diesel::prelude::*;

/// A booking as stored.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = bookings, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct BookingRow {
    pub(crate) id: String,
    pub(crate) event_id: String,
    pub(crate) ticket_type_id: String,
    pub(crate) user_id: String,
    pub(crate) quantity: i32,
    pub(crate) status: String,
    pub(crate) source: String,
    pub(crate) hold_id: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) cancelled_at: Option<i64>,
    pub(crate) price_cents: i64,
}

impl BookingRow {
    /// The booking this row stores.
    pub(crate) fn into_booking(self) -> anyhow::Result<Booking> {
        Ok(Booking {
            id: BookingId::from_uuid(uuid(&self.id)?),
            event_id: EventId::from_uuid(uuid(&self.event_id)?),
            ticket_type_id: TicketTypeId::from_uuid(uuid(&self.ticket_type_id)?),
            user_id: UserId::from_uuid(uuid(&self.user_id)?),
            quantity: count(self.quantity)?,
            price_cents: self.price_cents,
            status: self.status.parse().map_err(anyhow::Error::msg)?,
            source: self.source.parse().map_err(anyhow::Error::msg)?,
            created_at: instant(self.created_at)?,
            cancelled_at: instant_opt(self.cancelled_at)?,
        })
    }
}

/// Booking `id`'s row.
fn find_row(c: &mut SqliteConnection, id: BookingId) -> anyhow::Result<Option<BookingRow>> {
    bookings::table
        .find(id.to_string())
        .select(BookingRow::as_select())
        .first(c)
        .optional()
        .context("cannot read booking")
}

/// One booking as it is now.
pub(crate) fn load_booking(
    c: &mut SqliteConnection,
    id: BookingId,
) -> anyhow::Result<Option<Booking>> {
    find_row(c, id)?.map(BookingRow::into_booking).transpose()
}
