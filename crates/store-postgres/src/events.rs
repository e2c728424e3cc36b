//! [`EventRepository`] over `events` and `ticket_types`.

use crate::PgStore;
use crate::models::{
    EventDetailsRow, EventRow, NewEventKeys, NewTicketTypeRow, TicketTypeRow, to_u32,
};
use crate::schema::{events, ticket_types};
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::event::{
    Event, EventCursor, EventDetails, EventQuery, EventStatus, NewEvent,
};
use boxoffice_domain::page::Page;
use boxoffice_domain::ports::{CancelEventError, EventRepository, UpdateEventError};
use boxoffice_domain::{EventId, Timestamp};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
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

/// `rows` with their ticket types, read in one query, in the order of `rows`.
async fn with_ticket_types(
    conn: &mut AsyncPgConnection,
    rows: Vec<EventRow>,
) -> anyhow::Result<Vec<Event>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let types = ticket_types::table
        .filter(ticket_types::event_id.eq_any(&ids))
        .order((ticket_types::event_id.asc(), ticket_types::position.asc()))
        .select(TicketTypeRow::as_select())
        .load(conn)
        .await
        .context("cannot read ticket types")?;
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

/// The event `id` with its ticket types, read on `conn` (inside the caller's transaction).
async fn load_event(conn: &mut AsyncPgConnection, id: Uuid) -> anyhow::Result<Option<Event>> {
    let row = events::table
        .find(id)
        .select(EventRow::as_select())
        .first(conn)
        .await
        .optional()
        .with_context(|| format!("cannot read event {id}"))?;
    match row {
        Some(row) => Ok(with_ticket_types(conn, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// `load_event` for an event the caller has just written: missing is a bug.
async fn reload_event(conn: &mut AsyncPgConnection, id: Uuid) -> anyhow::Result<Event> {
    load_event(conn, id)
        .await?
        .with_context(|| format!("event {id} vanished inside its own transaction"))
}

/// How `update_details` ended without a store failure.
type Updated = Result<Event, UpdateEventError>;

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
        let mut conn = self.conn().await?;
        conn.transaction::<_, anyhow::Error, _>(async |conn| {
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
            reload_event(conn, event.id.as_uuid()).await
        })
        .await
        .with_context(|| format!("cannot create event {}", event.id))
    }

    async fn find(&self, id: EventId, _now: Timestamp) -> anyhow::Result<Option<Event>> {
        let mut conn = self.conn().await?;
        // One snapshot for the event and its types, so their counters agree.
        conn.build_transaction()
            .read_only()
            .repeatable_read()
            .run::<_, anyhow::Error, _>(async |conn| load_event(conn, id.as_uuid()).await)
            .await
    }

    async fn list_scheduled(&self, query: &EventQuery) -> anyhow::Result<Page<Event, EventCursor>> {
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
        let limit = query.page.limit;
        let mut conn = self.conn().await?;
        conn.build_transaction()
            .read_only()
            .repeatable_read()
            .run::<_, anyhow::Error, _>(async |conn| {
                let rows = select.load(conn).await.context("cannot list events")?;
                let page = Page::from_rows(rows, limit, |row: &EventRow| EventCursor {
                    starts_at: row.starts_at,
                    id: EventId::from_uuid(row.id),
                });
                Ok(Page {
                    items: with_ticket_types(conn, page.items).await?,
                    next: page.next,
                })
            })
            .await
    }

    async fn update_details(
        &self,
        id: EventId,
        details: &EventDetails,
    ) -> Result<Event, UpdateEventError> {
        let changes = EventDetailsRow::new(details)?;
        let mut conn = self.conn().await?;
        conn.transaction::<Updated, anyhow::Error, _>(async |conn| {
            let Some((status, sold, held)) = events::table
                .find(id.as_uuid())
                .select((events::status, events::sold, events::held))
                .for_update()
                .first::<(String, i32, i32)>(conn)
                .await
                .optional()?
            else {
                return Ok(Err(UpdateEventError::NotFound));
            };
            if status == EventStatus::Cancelled.as_str() {
                return Ok(Err(UpdateEventError::Cancelled));
            }
            let taken = to_u32(sold, "sold")? + to_u32(held, "held")?;
            if details.capacity < taken {
                return Ok(Err(UpdateEventError::CapacityBelowSold { taken }));
            }
            diesel::update(events::table.find(id.as_uuid()))
                .set(changes)
                .execute(conn)
                .await?;
            Ok(Ok(reload_event(conn, id.as_uuid()).await?))
        })
        .await
        .with_context(|| format!("cannot update event {id}"))?
    }

    async fn cancel(&self, id: EventId, now: Timestamp) -> Result<Event, CancelEventError> {
        let mut conn = self.conn().await?;
        let cancelled = conn
            .transaction::<_, anyhow::Error, _>(async |conn| {
                let Some(status) = events::table
                    .find(id.as_uuid())
                    .select(events::status)
                    .for_update()
                    .first::<String>(conn)
                    .await
                    .optional()?
                else {
                    return Ok(None);
                };
                // Already cancelled: keep the first cancellation time.
                if status != EventStatus::Cancelled.as_str() {
                    diesel::update(events::table.find(id.as_uuid()))
                        .set((
                            events::status.eq(EventStatus::Cancelled.as_str()),
                            events::cancelled_at.eq(now),
                        ))
                        .execute(conn)
                        .await?;
                }
                Ok(Some(reload_event(conn, id.as_uuid()).await?))
            })
            .await
            .with_context(|| format!("cannot cancel event {id}"))?;
        cancelled.ok_or(CancelEventError::NotFound)
    }
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
