//! Hold rows and how they become holds.

use crate::convert::{count, instant, uuid};
use crate::schema::holds;
use anyhow::Context;
use boxoffice_domain::booking::{Hold, HoldStatus};
use boxoffice_domain::{EventId, HoldId, TicketTypeId, UserId};
use diesel::prelude::*;

/// A hold as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = holds, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct HoldRow {
    pub(crate) id: String,
    pub(crate) event_id: String,
    pub(crate) ticket_type_id: String,
    pub(crate) user_id: String,
    pub(crate) quantity: i32,
    pub(crate) status: String,
    pub(crate) expires_at: i64,
    pub(crate) created_at: i64,
    pub(crate) price_cents: i64,
}

impl HoldRow {
    /// The hold this row stores.
    pub(crate) fn into_hold(self) -> anyhow::Result<Hold> {
        Ok(Hold {
            id: HoldId::from_uuid(uuid(&self.id)?),
            event_id: EventId::from_uuid(uuid(&self.event_id)?),
            ticket_type_id: TicketTypeId::from_uuid(uuid(&self.ticket_type_id)?),
            user_id: UserId::from_uuid(uuid(&self.user_id)?),
            quantity: count(self.quantity)?,
            price_cents: self.price_cents,
            expires_at: instant(self.expires_at)?,
            created_at: instant(self.created_at)?,
        })
    }
}

/// Hold `id` with where it stands, whatever that is.
pub(crate) fn load_hold(
    c: &mut SqliteConnection,
    id: HoldId,
) -> anyhow::Result<Option<(Hold, HoldStatus)>> {
    let Some(row) = holds::table
        .find(id.to_string())
        .select(HoldRow::as_select())
        .first(c)
        .optional()
        .context("cannot read hold")?
    else {
        return Ok(None);
    };
    let status = row.status.parse().map_err(anyhow::Error::msg)?;
    Ok(Some((row.into_hold()?, status)))
}
