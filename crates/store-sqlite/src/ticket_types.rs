//! Ticket types after their event's creation: added in the single writer's transaction,
//! changed and retired by the seat planner (a quantity or a retirement moves seats and
//! the waitlist), renamed in the same transaction.

use crate::SqliteStore;
use crate::batch::run_one;
use crate::convert::stored_count;
use crate::outbox;
use crate::rows::{TicketTypeRow, load_event};
use crate::schema::ticket_types;
use crate::versions;
use anyhow::Context as _;
use boxoffice_domain::event::{
    Event, EventStatus, MAX_TICKET_TYPES, NewTicketType, TicketTypeChanges, same_name,
};
use boxoffice_domain::outbox::{Message, MessageType};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{LocalVersionBoard, TicketTypeError, VersionKey};
use boxoffice_domain::{EventId, TicketTypeId, Timestamp};
use diesel::prelude::*;

/// How a ticket type operation ended without a store failure.
type Changed = Result<Event, TicketTypeError>;

/// Whether a type of `event` other than `except` is named `name`.
fn name_taken(event: &Event, name: &str, except: Option<TicketTypeId>) -> bool {
    event
        .ticket_types
        .iter()
        .any(|t| Some(t.id) != except && same_name(&t.name, name))
}

/// Bumps the versions that show the event's types, and reads the event back.
fn changed(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    id: EventId,
) -> anyhow::Result<Changed> {
    versions::bump(c, board, VersionKey::Event(id))?;
    versions::bump(c, board, VersionKey::Catalog)?;
    let event = load_event(c, id)?.with_context(|| format!("event {id} vanished"))?;
    Ok(Ok(event))
}

fn add_in(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    (id, new): (EventId, &NewTicketType),
    now: Timestamp,
) -> anyhow::Result<Changed> {
    let Some(event) = load_event(c, id)? else {
        return Ok(Err(TicketTypeError::NotFound));
    };
    if event.status != EventStatus::Scheduled {
        return Ok(Err(TicketTypeError::EventCancelled));
    }
    if event.ticket_types.len() >= MAX_TICKET_TYPES {
        return Ok(Err(TicketTypeError::TooMany));
    }
    if name_taken(&event, &new.name, None) {
        return Ok(Err(TicketTypeError::NameTaken));
    }
    let last: Option<i32> = ticket_types::table
        .filter(ticket_types::event_id.eq(id.to_string()))
        .select(diesel::dsl::max(ticket_types::position))
        .first(c)
        .context("cannot read the last ticket type position")?;
    let row = TicketTypeRow {
        id: new.id.to_string(),
        event_id: id.to_string(),
        position: last.map_or(0, |p| p + 1),
        name: new.name.clone(),
        price_cents: new.price_cents,
        quantity: new.quantity.map(stored_count).transpose()?,
        sold: 0,
        held: 0,
        retired: false,
    };
    diesel::insert_into(ticket_types::table)
        .values(&row)
        .execute(c)
        .context("cannot insert the ticket type")?;
    outbox::append(c, &Message::about_event(id, MessageType::EventUpdated, now))?;
    changed(c, board, id)
}

fn change_in(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    (id, ty): (EventId, TicketTypeId),
    changes: &TicketTypeChanges,
    now: Timestamp,
) -> anyhow::Result<Changed> {
    if let Some(name) = &changes.name {
        let Some(event) = load_event(c, id)? else {
            return Ok(Err(TicketTypeError::NotFound));
        };
        if name_taken(&event, name, Some(ty)) {
            return Ok(Err(TicketTypeError::NameTaken));
        }
    }
    let change = Timed {
        op: SeatOp::change_type(ty, changes),
        now,
    };
    if let Err(refused) = run_one(c, board, id, change)?.into_type_change() {
        return Ok(Err(refused));
    }
    if let Some(name) = &changes.name {
        diesel::update(ticket_types::table.find(ty.to_string()))
            .set(ticket_types::name.eq(name))
            .execute(c)
            .context("cannot rename the ticket type")?;
    }
    changed(c, board, id)
}

impl SqliteStore {
    /// See [`EventRepository::add_ticket_type`](boxoffice_domain::ports::EventRepository::add_ticket_type).
    pub(crate) async fn add_type(
        &self,
        id: EventId,
        new: &NewTicketType,
        now: Timestamp,
    ) -> Changed {
        let (board, new) = (self.versions.clone(), new.clone());
        self.write(move |c| add_in(c, &board, (id, &new), now))
            .await?
    }

    /// See [`EventRepository::change_ticket_type`](boxoffice_domain::ports::EventRepository::change_ticket_type).
    pub(crate) async fn change_type(
        &self,
        id: EventId,
        ty: TicketTypeId,
        changes: &TicketTypeChanges,
        now: Timestamp,
    ) -> Changed {
        let (board, changes) = (self.versions.clone(), changes.clone());
        self.write(move |c| change_in(c, &board, (id, ty), &changes, now))
            .await?
    }

    /// See [`EventRepository::retire_ticket_type`](boxoffice_domain::ports::EventRepository::retire_ticket_type).
    pub(crate) async fn retire_type(
        &self,
        id: EventId,
        ty: TicketTypeId,
        now: Timestamp,
    ) -> Changed {
        let board = self.versions.clone();
        self.write(move |c| {
            let retire = Timed {
                op: SeatOp::RetireType { ticket_type_id: ty },
                now,
            };
            if let Err(refused) = run_one(c, &board, id, retire)?.into_type_change() {
                return Ok(Err(refused));
            }
            changed(c, &board, id)
        })
        .await?
    }
}
