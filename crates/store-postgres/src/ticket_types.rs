//! Ticket types after their event's creation: added under the event's lock, changed
//! and retired by the seat planner (a quantity or a retirement moves seats and the
//! waitlist), renamed in the same transaction.

use crate::PgStore;
use crate::batch::run_one;
use crate::events::reload_event;
use crate::models::NewTicketTypeRow;
use crate::outbox;
use crate::schema::{events, ticket_types};
use crate::versions::Publisher;
use anyhow::Context as _;
use boxoffice_domain::event::{
    Event, EventStatus, MAX_TICKET_TYPES, NewTicketType, TicketTypeChanges, same_name,
};
use boxoffice_domain::outbox::{Message, MessageType};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{TicketTypeError, VersionKey};
use boxoffice_domain::{EventId, TicketTypeId, Timestamp};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// How a ticket type operation ended without a store failure.
type Changed = Result<Event, TicketTypeError>;

/// Locks event `id`'s row; whether it is scheduled (`None`: no such event).
async fn lock_event(conn: &mut AsyncPgConnection, id: EventId) -> anyhow::Result<Option<bool>> {
    let status = events::table
        .find(id.as_uuid())
        .select(events::status)
        .for_update()
        .first::<String>(conn)
        .await
        .optional()
        .with_context(|| format!("cannot lock event {id}"))?;
    Ok(status.map(|s| s == EventStatus::Scheduled.as_str()))
}

/// The event's types as `(id, name, position)`, read under its lock.
async fn types_of(
    conn: &mut AsyncPgConnection,
    id: EventId,
) -> anyhow::Result<Vec<(Uuid, String, i32)>> {
    ticket_types::table
        .filter(ticket_types::event_id.eq(id.as_uuid()))
        .select((ticket_types::id, ticket_types::name, ticket_types::position))
        .load(conn)
        .await
        .with_context(|| format!("cannot read the ticket types of event {id}"))
}

/// Whether a type of `types` other than `except` is named `name`.
fn name_taken(types: &[(Uuid, String, i32)], name: &str, except: Option<Uuid>) -> bool {
    types
        .iter()
        .any(|(id, other, _)| Some(*id) != except && same_name(other, name))
}

/// Bumps the versions that show the event's types, and reads the event back.
async fn changed(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    id: EventId,
    now: Timestamp,
) -> anyhow::Result<Changed> {
    versions.bump(conn, VersionKey::Event(id)).await?;
    versions.bump(conn, VersionKey::Catalog).await?;
    Ok(Ok(reload_event(conn, id.as_uuid(), now).await?))
}

async fn add_in(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    id: EventId,
    new: &NewTicketType,
    now: Timestamp,
) -> anyhow::Result<Changed> {
    match lock_event(conn, id).await? {
        None => return Ok(Err(TicketTypeError::NotFound)),
        Some(false) => return Ok(Err(TicketTypeError::EventCancelled)),
        Some(true) => {}
    }
    let types = types_of(conn, id).await?;
    if types.len() >= MAX_TICKET_TYPES {
        return Ok(Err(TicketTypeError::TooMany));
    }
    if name_taken(&types, &new.name, None) {
        return Ok(Err(TicketTypeError::NameTaken));
    }
    let last = types.iter().map(|(_, _, position)| *position).max();
    let position = usize::try_from(last.map_or(0, |p| p + 1)).context("negative position")?;
    diesel::insert_into(ticket_types::table)
        .values(NewTicketTypeRow::new(id, position, new)?)
        .execute(conn)
        .await
        .context("cannot insert the ticket type")?;
    let updated = Message::about_event(id, MessageType::EventUpdated, now);
    outbox::append(conn, &updated).await?;
    changed(conn, versions, id, now).await
}

async fn change_in(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    (id, ty): (EventId, TicketTypeId),
    changes: &TicketTypeChanges,
    now: Timestamp,
) -> anyhow::Result<Changed> {
    if let Some(name) = &changes.name {
        if lock_event(conn, id).await?.is_none() {
            return Ok(Err(TicketTypeError::NotFound));
        }
        if name_taken(&types_of(conn, id).await?, name, Some(ty.as_uuid())) {
            return Ok(Err(TicketTypeError::NameTaken));
        }
    }
    let change = Timed {
        op: SeatOp::change_type(ty, changes),
        now,
    };
    if let Err(refused) = run_one(conn, versions, id, change)
        .await?
        .into_type_change()
    {
        return Ok(Err(refused));
    }
    if let Some(name) = &changes.name {
        diesel::update(ticket_types::table.find(ty.as_uuid()))
            .set(ticket_types::name.eq(name))
            .execute(conn)
            .await
            .context("cannot rename the ticket type")?;
    }
    changed(conn, versions, id, now).await
}

async fn retire_in(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    (id, ty): (EventId, TicketTypeId),
    now: Timestamp,
) -> anyhow::Result<Changed> {
    let retire = Timed {
        op: SeatOp::RetireType { ticket_type_id: ty },
        now,
    };
    if let Err(refused) = run_one(conn, versions, id, retire)
        .await?
        .into_type_change()
    {
        return Ok(Err(refused));
    }
    changed(conn, versions, id, now).await
}

impl PgStore {
    /// See [`EventRepository::add_ticket_type`](boxoffice_domain::ports::EventRepository::add_ticket_type).
    pub(crate) async fn add_type(
        &self,
        id: EventId,
        new: &NewTicketType,
        now: Timestamp,
    ) -> Changed {
        let versions = &self.versions;
        self.transaction(async |conn| add_in(conn, versions, id, new, now).await)
            .await
            .with_context(|| format!("cannot add a ticket type to event {id}"))?
    }

    /// See [`EventRepository::change_ticket_type`](boxoffice_domain::ports::EventRepository::change_ticket_type).
    pub(crate) async fn change_type(
        &self,
        id: EventId,
        ty: TicketTypeId,
        changes: &TicketTypeChanges,
        now: Timestamp,
    ) -> Changed {
        let versions = &self.versions;
        self.transaction(async |conn| change_in(conn, versions, (id, ty), changes, now).await)
            .await
            .with_context(|| format!("cannot change ticket type {ty}"))?
    }

    /// See [`EventRepository::retire_ticket_type`](boxoffice_domain::ports::EventRepository::retire_ticket_type).
    pub(crate) async fn retire_type(
        &self,
        id: EventId,
        ty: TicketTypeId,
        now: Timestamp,
    ) -> Changed {
        let versions = &self.versions;
        self.transaction(async |conn| retire_in(conn, versions, (id, ty), now).await)
            .await
            .with_context(|| format!("cannot retire ticket type {ty}"))?
    }
}
