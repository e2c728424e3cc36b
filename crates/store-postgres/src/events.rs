//! [`EventRepository`] over `events` and `ticket_types`.

use crate::PgStore;
use crate::batch::run_one;
use crate::models::ACTIVE;
use crate::models::{
    EventDetailsRow, EventRow, NewEventKeys, NewTicketTypeRow, TicketTypeRow, to_u32,
};
use crate::outbox;
use crate::schema::{events, holds, ticket_types};
use crate::versions::{self, Publisher};
use anyhow::Context as _;
use async_trait::async_trait;
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
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;
use uuid::Uuid;

/// `text` as a `LIKE` pattern that matches it anywhere, with its own `%`, `_` and `\`
/// taken literally (backslash is the default `LIKE` escape character in Postgres).
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Seats of `active` holds of `events` that expired by `now`, by event and ticket type.
async fn expired_held(
    conn: &mut AsyncPgConnection,
    events: &[Uuid],
    now: Timestamp,
) -> anyhow::Result<Vec<(Uuid, Uuid, i64)>> {
    let rows = holds::table
        .filter(holds::event_id.eq_any(events))
        .filter(holds::status.eq(ACTIVE))
        .filter(holds::expires_at.le(now))
        .group_by((holds::event_id, holds::ticket_type_id))
        .select((
            holds::event_id,
            holds::ticket_type_id,
            diesel::dsl::sum(holds::quantity),
        ))
        .load::<(Uuid, Uuid, Option<i64>)>(conn)
        .await
        .context("cannot read expired holds")?;
    Ok(rows
        .into_iter()
        .map(|(event, ty, seats)| (event, ty, seats.unwrap_or(0)))
        .collect())
}

/// `held` less `expired` seats, never below zero.
fn less(held: i32, expired: i64) -> i32 {
    i32::try_from((i64::from(held) - expired).max(0)).unwrap_or(held)
}

/// Takes the seats of holds that expired by `now` (but are not swept yet) out of `held`
/// of `events` and their `types`.
async fn discount_expired_holds(
    conn: &mut AsyncPgConnection,
    events: &mut [EventRow],
    types: &mut [TicketTypeRow],
    now: Timestamp,
) -> anyhow::Result<()> {
    let ids: Vec<Uuid> = events.iter().filter(|e| e.held > 0).map(|e| e.id).collect();
    if ids.is_empty() {
        return Ok(()); // nothing held: no active holds
    }
    for (event, ty, seats) in expired_held(conn, &ids, now).await? {
        if let Some(row) = events.iter_mut().find(|row| row.id == event) {
            row.held = less(row.held, seats);
        }
        if let Some(row) = types.iter_mut().find(|row| row.id == ty) {
            row.held = less(row.held, seats);
        }
    }
    Ok(())
}

/// `rows` with their ticket types, read in one query, in the order of `rows`; holds that
/// expired by `now` no longer count as held.
async fn with_ticket_types(
    conn: &mut AsyncPgConnection,
    mut rows: Vec<EventRow>,
    now: Timestamp,
) -> anyhow::Result<Vec<Event>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut types = ticket_types::table
        .filter(ticket_types::event_id.eq_any(&ids))
        .order((ticket_types::event_id.asc(), ticket_types::position.asc()))
        .select(TicketTypeRow::as_select())
        .load::<TicketTypeRow>(conn)
        .await
        .context("cannot read ticket types")?;
    discount_expired_holds(conn, &mut rows, &mut types, now).await?;
    let mut by_event: HashMap<Uuid, Vec<TicketTypeRow>> = HashMap::with_capacity(rows.len());
    for ticket_type in types {
        by_event
            .entry(ticket_type.event_id)
            .or_default()
            .push(ticket_type);
    }
    rows.into_iter()
        .map(|row| {
            let types = by_event.remove(&row.id).unwrap_or_default();
            row.into_event(types)
        })
        .collect()
}

/// The event `id` with its ticket types and counters as of `now`, read on `conn` (inside
/// the caller's transaction).
async fn load_event(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: Timestamp,
) -> anyhow::Result<Option<Event>> {
    let row = events::table
        .find(id)
        .select(EventRow::as_select())
        .first::<EventRow>(conn)
        .await
        .optional()
        .with_context(|| format!("cannot read event {id}"))?;
    match row {
        Some(row) => Ok(with_ticket_types(conn, vec![row], now).await?.pop()),
        None => Ok(None),
    }
}

/// `load_event` for an event the caller has just written: missing is a bug.
pub(crate) async fn reload_event(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: Timestamp,
) -> anyhow::Result<Event> {
    load_event(conn, id, now)
        .await?
        .with_context(|| format!("event {id} vanished inside its own transaction"))
}

/// How `update_details` ended without a store failure.
type Updated = Result<Event, UpdateEventError>;

/// Scheduled events matching `query`, by `starts_at` then id, with held seats as of
/// `query.now`, read on `conn` (inside the caller's snapshot).
async fn scheduled(
    conn: &mut AsyncPgConnection,
    query: &EventQuery,
) -> anyhow::Result<Page<Event, EventCursor>> {
    let mut select = events::table
        .filter(events::status.eq(EventStatus::Scheduled.as_str()))
        .filter(events::starts_at.ge(query.from))
        .select(EventRow::as_select())
        .order((events::starts_at.asc(), events::id.asc()))
        .limit(i64::from(query.page.limit) + 1)
        .into_boxed();
    if let Some(text) = query.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = contains_pattern(text);
        select = select.filter(
            events::name
                .ilike(pattern.clone())
                .or(events::venue.ilike(pattern)),
        );
    }
    if let Some(after) = query.page.after {
        let (starts_at, id) = (after.starts_at, after.id.as_uuid());
        select = select.filter(
            events::starts_at
                .gt(starts_at)
                .or(events::starts_at.eq(starts_at).and(events::id.gt(id))),
        );
    }
    let rows = select
        .load::<EventRow>(conn)
        .await
        .context("cannot list events")?;
    let page = Page::from_rows(rows, query.page.limit, |row: &EventRow| EventCursor {
        starts_at: row.starts_at,
        id: EventId::from_uuid(row.id),
    });
    Ok(Page {
        items: with_ticket_types(conn, page.items, query.now).await?,
        next: page.next,
    })
}

#[async_trait]
impl EventRepository for PgStore {
    async fn create(&self, event: &NewEvent) -> anyhow::Result<Event> {
        let details = EventDetailsRow::new(&event.details)?;
        let types = event
            .ticket_types
            .iter()
            .enumerate()
            .map(|(position, t)| NewTicketTypeRow::new(event.id, position, t))
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.transaction(async |conn| {
            diesel::insert_into(events::table)
                .values((NewEventKeys::from(event), details))
                .execute(conn)
                .await?;
            if !types.is_empty() {
                diesel::insert_into(ticket_types::table)
                    .values(&types)
                    .execute(conn)
                    .await?;
            }
            let created = MessageType::EventCreated;
            outbox::append(
                conn,
                &Message::about_event(event.id, created, event.created_at),
            )
            .await?;
            // Published before the commit, so that readers can serve it from memory.
            self.versions
                .publish(VersionKey::Event(event.id), 0)
                .await?;
            self.versions.bump(conn, VersionKey::Catalog).await?;
            reload_event(conn, event.id.as_uuid(), event.created_at).await
        })
        .await
        .with_context(|| format!("cannot create event {}", event.id))
    }

    async fn find(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<Event>> {
        // One snapshot for the event and its types, so their counters agree.
        self.snapshot(async |conn| load_event(conn, id.as_uuid(), now).await)
            .await
    }

    async fn snapshot(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<EventSnapshot>> {
        self.snapshot(async |conn| {
            let Some(event) = load_event(conn, id.as_uuid(), now).await? else {
                return Ok(None);
            };
            let read = versions::of_events(conn, &[id], now)
                .await?
                .remove(&id)
                .with_context(|| format!("event {id} has no version"))?;
            Ok(Some(EventSnapshot::new(event, read)))
        })
        .await
    }

    async fn list_scheduled(&self, query: &EventQuery) -> anyhow::Result<Page<Event, EventCursor>> {
        self.snapshot(async |conn| scheduled(conn, query).await)
            .await
    }

    async fn list_snapshot(&self, query: &EventQuery) -> anyhow::Result<CatalogSnapshot> {
        self.snapshot(async |conn| {
            let page = scheduled(conn, query).await?;
            let ids: Vec<EventId> = page.items.iter().map(|e| e.id).collect();
            let versions = versions::of_events(conn, &ids, query.now).await?;
            CatalogSnapshot::new(page, versions, versions::catalog(conn).await?)
        })
        .await
    }

    async fn update_details(
        &self,
        id: EventId,
        details: &EventDetails,
        now: Timestamp,
    ) -> Result<Event, UpdateEventError> {
        let changes = EventDetailsRow::new(details)?;
        self.transaction(async |conn| update_in(conn, &self.versions, id, changes, now).await)
            .await
            .with_context(|| format!("cannot update event {id}"))?
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
        let cancelled = self
            .transaction(async |conn| cancel_in(conn, &self.versions, id, now).await)
            .await
            .with_context(|| format!("cannot cancel event {id}"))?;
        cancelled.ok_or(CancelEventError::NotFound)
    }
}

/// The transaction of `update_details`: the capacity first, decided by the seat planner
/// (its counters, with the new capacity, are written before the other fields, so no
/// statement sees more seats taken than capacity), then the other fields.
async fn update_in(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    id: EventId,
    changes: EventDetailsRow<'_>,
    now: Timestamp,
) -> anyhow::Result<Updated> {
    let capacity = to_u32(changes.capacity, "capacity")?;
    let resize = Timed {
        op: SeatOp::Resize { capacity },
        now,
    };
    if let Err(refused) = run_one(conn, versions, id, resize).await?.into_resize() {
        return Ok(Err(refused));
    }
    diesel::update(events::table.find(id.as_uuid()))
        .set(changes)
        .execute(conn)
        .await?;
    versions.bump(conn, VersionKey::Event(id)).await?;
    versions.bump(conn, VersionKey::Catalog).await?;
    Ok(Ok(reload_event(conn, id.as_uuid(), now).await?))
}

/// The transaction of `cancel`: the seat planner ends the event's bookings, holds and
/// entries (cancelling again changes nothing); `None` when there is no such event.
async fn cancel_in(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    id: EventId,
    now: Timestamp,
) -> anyhow::Result<Option<Event>> {
    let cancel = Timed {
        op: SeatOp::CancelEvent,
        now,
    };
    if !run_one(conn, versions, id, cancel)
        .await?
        .into_event_cancelled()?
    {
        return Ok(None);
    }
    versions.bump(conn, VersionKey::Catalog).await?;
    Ok(Some(reload_event(conn, id.as_uuid(), now).await?))
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_wildcards_in_the_text_are_taken_literally() {
        assert_eq!(contains_pattern("rust"), "%rust%");
        assert_eq!(contains_pattern(r"50%_off\now"), r"%50\%\_off\\now%");
    }
}
