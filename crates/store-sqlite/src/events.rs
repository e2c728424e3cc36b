//! Events and their ticket types.

use crate::SqliteStore;
use crate::batch::run_one;
use crate::convert::{micros, micros_opt, stored_count, uuid};
use crate::outbox;
use crate::rows::{EventRow, TicketTypeRow, load_event, with_ticket_types};
use crate::schema::{events, holds, ticket_types};
use crate::versions;
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::booking::HoldStatus;
use boxoffice_domain::event::{
    CatalogSnapshot, Event, EventCursor, EventDetails, EventQuery, EventSnapshot, EventStatus,
    NewEvent, NewTicketType, TicketTypeChanges,
};
use boxoffice_domain::outbox::{Message, MessageType};
use boxoffice_domain::page::Page;
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{
    CancelEventError, EventRepository, TicketTypeError, UpdateEventError, VersionKey,
};
use boxoffice_domain::{EventId, TicketTypeId, Timestamp};
use diesel::prelude::*;

/// The organizer's columns, written on create and on update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = events, treat_none_as_null = true)]
struct DetailsRow {
    name: String,
    description: Option<String>,
    venue: String,
    starts_at: i64,
    ends_at: Option<i64>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    currency: String,
    capacity: i32,
    max_tickets_per_user: Option<i32>,
    sales_open_at: Option<i64>,
    sales_close_at: Option<i64>,
}

impl DetailsRow {
    fn new(d: &EventDetails) -> anyhow::Result<Self> {
        Ok(Self {
            name: d.name.clone(),
            description: d.description.clone(),
            venue: d.venue.clone(),
            starts_at: micros(d.starts_at),
            ends_at: micros_opt(d.ends_at),
            latitude: d.latitude,
            longitude: d.longitude,
            currency: d.currency.clone(),
            capacity: stored_count(d.capacity)?,
            max_tickets_per_user: d.max_tickets_per_user.map(stored_count).transpose()?,
            sales_open_at: micros_opt(d.sales_open_at),
            sales_close_at: micros_opt(d.sales_close_at),
        })
    }
}

fn load_existing(c: &mut SqliteConnection, id: EventId) -> anyhow::Result<Event> {
    load_event(c, id)?.with_context(|| format!("event {id} vanished inside its transaction"))
}

/// Leaves out of `held` (event and type) the active holds that expired by `now` but are
/// not swept yet, so they stop counting at once.
fn discount_expired_holds(
    c: &mut SqliteConnection,
    events: &mut [Event],
    now: Timestamp,
) -> anyhow::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    let expired: Vec<(String, String, Option<i64>)> = holds::table
        .filter(holds::event_id.eq_any(&ids))
        .filter(holds::status.eq(HoldStatus::Active.as_str()))
        .filter(holds::expires_at.le(micros(now)))
        .group_by((holds::event_id, holds::ticket_type_id))
        .select((
            holds::event_id,
            holds::ticket_type_id,
            diesel::dsl::sum(holds::quantity),
        ))
        .load(c)
        .context("cannot read expired holds")?;
    for (event_id, ty, seats) in expired {
        let seats = u32::try_from(seats.unwrap_or(0)).context("held seats out of range")?;
        let (event_id, ty) = (uuid(&event_id)?, TicketTypeId::from_uuid(uuid(&ty)?));
        let Some(event) = events.iter_mut().find(|e| e.id.as_uuid() == event_id) else {
            continue;
        };
        event.held = event.held.saturating_sub(seats);
        if let Some(t) = event.ticket_types.iter_mut().find(|t| t.id == ty) {
            t.held = t.held.saturating_sub(seats);
        }
    }
    Ok(())
}

/// `text` as a LIKE pattern matching it anywhere, with `\` as the escape character.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// Scheduled events matching `query`, by `starts_at` then id, with held seats as of
/// `query.now`.
fn scheduled(
    c: &mut SqliteConnection,
    query: &EventQuery,
) -> anyhow::Result<Page<Event, EventCursor>> {
    let limit = query.page.limit;
    let mut sql = events::table
        .filter(events::status.eq(EventStatus::Scheduled.as_str()))
        .filter(events::starts_at.ge(micros(query.from)))
        .order((events::starts_at, events::id))
        .limit(i64::from(limit) + 1)
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(text) = query.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = contains_pattern(text);
        sql = sql.filter(
            events::name
                .like(pattern.clone())
                .escape('\\')
                .or(events::venue.like(pattern).escape('\\')),
        );
    }
    if let Some(after) = query.page.after {
        let (starts_at, id) = (micros(after.starts_at), after.id.to_string());
        sql = sql.filter(
            events::starts_at
                .gt(starts_at)
                .or(events::starts_at.eq(starts_at).and(events::id.gt(id))),
        );
    }
    let rows = sql.load(c).context("cannot list events")?;
    let mut events = with_ticket_types(c, rows)?;
    discount_expired_holds(c, &mut events, query.now)?;
    Ok(Page::from_rows(events, limit, |e| EventCursor {
        starts_at: e.details.starts_at,
        id: e.id,
    }))
}

#[async_trait]
impl EventRepository for SqliteStore {
    async fn create(&self, event: &NewEvent) -> anyhow::Result<Event> {
        let (id, at) = (event.id, event.created_at);
        let base = (
            events::id.eq(id.to_string()),
            events::organizer_id.eq(event.organizer_id.to_string()),
            events::created_at.eq(micros(event.created_at)),
        );
        let details = DetailsRow::new(&event.details)?;
        let types = event
            .ticket_types
            .iter()
            .enumerate()
            .map(|(position, t)| {
                Ok(TicketTypeRow {
                    id: t.id.to_string(),
                    event_id: id.to_string(),
                    position: i32::try_from(position)?,
                    name: t.name.clone(),
                    price_cents: t.price_cents,
                    quantity: t.quantity.map(stored_count).transpose()?,
                    sold: 0,
                    held: 0,
                    retired: false,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let board = self.versions.clone();
        self.write(move |c| {
            diesel::insert_into(events::table)
                .values((base, details))
                .execute(c)
                .context("cannot insert event")?;
            diesel::insert_into(ticket_types::table)
                .values(&types)
                .execute(c)
                .context("cannot insert ticket types")?;
            outbox::append(c, &Message::about_event(id, MessageType::EventCreated, at))?;
            versions::bump(c, &board, VersionKey::Event(id))?;
            versions::bump(c, &board, VersionKey::Catalog)?;
            load_existing(c, id)
        })
        .await
    }

    async fn find(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<Event>> {
        self.read(move |c| {
            let mut events: Vec<Event> = load_event(c, id)?.into_iter().collect();
            discount_expired_holds(c, &mut events, now)?;
            Ok(events.pop())
        })
        .await
    }

    async fn snapshot(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<EventSnapshot>> {
        self.read(move |c| {
            let mut found: Vec<Event> = load_event(c, id)?.into_iter().collect();
            discount_expired_holds(c, &mut found, now)?;
            let Some(event) = found.pop() else {
                return Ok(None);
            };
            let read = versions::of_events(c, &[id], now)?
                .remove(&id)
                .with_context(|| format!("event {id} has no version"))?;
            Ok(Some(EventSnapshot::new(event, read)))
        })
        .await
    }

    async fn list_scheduled(&self, query: &EventQuery) -> anyhow::Result<Page<Event, EventCursor>> {
        let query = query.clone();
        self.read(move |c| scheduled(c, &query)).await
    }

    async fn list_snapshot(&self, query: &EventQuery) -> anyhow::Result<CatalogSnapshot> {
        let query = query.clone();
        self.read(move |c| {
            let page = scheduled(c, &query)?;
            let ids: Vec<EventId> = page.items.iter().map(|e| e.id).collect();
            let versions = versions::of_events(c, &ids, query.now)?;
            CatalogSnapshot::new(page, versions, versions::catalog(c)?)
        })
        .await
    }

    async fn update_details(
        &self,
        id: EventId,
        details: &EventDetails,
        now: Timestamp,
    ) -> Result<Event, UpdateEventError> {
        let changes = DetailsRow::new(details)?;
        let (capacity, board) = (details.capacity, self.versions.clone());
        self.write(move |c| {
            let resize = Timed {
                op: SeatOp::Resize { capacity },
                now,
            };
            // The counters, with the new capacity, are written before the other fields.
            if let Err(refused) = run_one(c, &board, id, resize)?.into_resize() {
                return Ok(Err(refused));
            }
            diesel::update(events::table.find(id.to_string()))
                .set(&changes)
                .execute(c)
                .context("cannot update event")?;
            versions::bump(c, &board, VersionKey::Event(id))?;
            versions::bump(c, &board, VersionKey::Catalog)?;
            Ok(Ok(load_existing(c, id)?))
        })
        .await?
    }

    async fn add_ticket_type(
        &self,
        id: EventId,
        ticket_type: &NewTicketType,
        now: Timestamp,
    ) -> Result<Event, TicketTypeError> {
        self.add_type(id, ticket_type, now).await
    }

    async fn change_ticket_type(
        &self,
        id: EventId,
        ticket_type: TicketTypeId,
        changes: &TicketTypeChanges,
        now: Timestamp,
    ) -> Result<Event, TicketTypeError> {
        self.change_type(id, ticket_type, changes, now).await
    }

    async fn retire_ticket_type(
        &self,
        id: EventId,
        ticket_type: TicketTypeId,
        now: Timestamp,
    ) -> Result<Event, TicketTypeError> {
        self.retire_type(id, ticket_type, now).await
    }

    async fn cancel(&self, id: EventId, now: Timestamp) -> Result<Event, CancelEventError> {
        let board = self.versions.clone();
        self.write(move |c| {
            let cancel = Timed {
                op: SeatOp::CancelEvent,
                now,
            };
            if !run_one(c, &board, id, cancel)?.into_event_cancelled()? {
                return Ok(Err(CancelEventError::NotFound));
            }
            versions::bump(c, &board, VersionKey::Catalog)?;
            Ok(Ok(load_existing(c, id)?))
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_wildcards_in_search_text_are_literal() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
