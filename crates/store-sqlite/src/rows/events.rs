//! Event and ticket type rows, and how they become events.

use crate::convert::{count, instant, instant_opt, uuid};
use crate::schema::{events, ticket_types};
use anyhow::Context;
use boxoffice_domain::event::{Event, EventDetails, TicketType};
use boxoffice_domain::{EventId, TicketTypeId, UserId};
use diesel::prelude::*;
use std::collections::HashMap;

/// An event as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct EventRow {
    pub(crate) id: String,
    pub(crate) organizer_id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) venue: String,
    pub(crate) starts_at: i64,
    pub(crate) ends_at: Option<i64>,
    pub(crate) latitude: Option<f64>,
    pub(crate) longitude: Option<f64>,
    pub(crate) currency: String,
    pub(crate) capacity: i32,
    pub(crate) max_tickets_per_user: Option<i32>,
    pub(crate) sales_open_at: Option<i64>,
    pub(crate) sales_close_at: Option<i64>,
    pub(crate) status: String,
    pub(crate) sold: i32,
    pub(crate) held: i32,
    pub(crate) waitlist_count: i32,
    pub(crate) created_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_types, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct TicketTypeRow {
    pub(crate) id: String,
    pub(crate) event_id: String,
    pub(crate) position: i32,
    pub(crate) name: String,
    pub(crate) price_cents: i64,
    pub(crate) quantity: Option<i32>,
    pub(crate) sold: i32,
    pub(crate) held: i32,
    pub(crate) retired: bool,
}

impl TicketTypeRow {
    fn into_ticket_type(self) -> anyhow::Result<TicketType> {
        Ok(TicketType {
            id: TicketTypeId::from_uuid(uuid(&self.id)?),
            name: self.name,
            price_cents: self.price_cents,
            quantity: self.quantity.map(count).transpose()?,
            sold: count(self.sold)?,
            held: count(self.held)?,
            retired: self.retired,
        })
    }
}

impl EventRow {
    fn into_event(self, types: Vec<TicketTypeRow>) -> anyhow::Result<Event> {
        Ok(Event {
            id: EventId::from_uuid(uuid(&self.id)?),
            organizer_id: UserId::from_uuid(uuid(&self.organizer_id)?),
            details: EventDetails {
                name: self.name,
                description: self.description,
                venue: self.venue,
                starts_at: instant(self.starts_at)?,
                ends_at: instant_opt(self.ends_at)?,
                latitude: self.latitude,
                longitude: self.longitude,
                currency: self.currency,
                capacity: count(self.capacity)?,
                max_tickets_per_user: self.max_tickets_per_user.map(count).transpose()?,
                sales_open_at: instant_opt(self.sales_open_at)?,
                sales_close_at: instant_opt(self.sales_close_at)?,
            },
            status: self.status.parse().map_err(anyhow::Error::msg)?,
            created_at: instant(self.created_at)?,
            sold: count(self.sold)?,
            held: count(self.held)?,
            waitlist_count: count(self.waitlist_count)?,
            ticket_types: types
                .into_iter()
                .map(TicketTypeRow::into_ticket_type)
                .collect::<anyhow::Result<_>>()?,
        })
    }
}

/// Event `id`'s row.
fn find_row(c: &mut SqliteConnection, id: EventId) -> anyhow::Result<Option<EventRow>> {
    events::table
        .find(id.to_string())
        .select(EventRow::as_select())
        .first(c)
        .optional()
        .context("cannot read event")
}

/// The events of `rows` with their ticket types, read in one query.
pub(crate) fn with_ticket_types(
    c: &mut SqliteConnection,
    rows: Vec<EventRow>,
) -> anyhow::Result<Vec<Event>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut types: HashMap<String, Vec<TicketTypeRow>> = HashMap::new();
    for row in ticket_types::table
        .filter(ticket_types::event_id.eq_any(&ids))
        .order((ticket_types::event_id, ticket_types::position))
        .select(TicketTypeRow::as_select())
        .load(c)
        .context("cannot read ticket types")?
    {
        types.entry(row.event_id.clone()).or_default().push(row);
    }
    rows.into_iter()
        .map(|row| {
            let own = types.remove(&row.id).unwrap_or_default();
            row.into_event(own)
        })
        .collect()
}

/// The event with its ticket types and counters as stored.
pub(crate) fn load_event(c: &mut SqliteConnection, id: EventId) -> anyhow::Result<Option<Event>> {
    let Some(row) = find_row(c, id)? else {
        return Ok(None);
    };
    Ok(with_ticket_types(c, vec![row])?.pop())
}
