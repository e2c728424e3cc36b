//! Waitlist entry rows, with their queue positions, and how they become entries.

use crate::convert::{count, instant, uuid};
use crate::schema::waitlist_entries as entries;
use anyhow::Context;
use boxoffice_domain::booking::WaitlistEntry;
use boxoffice_domain::{BookingId, EventId, TicketTypeId, UserId, WaitlistEntryId};
use diesel::dsl::{AsSelect, sql};
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use diesel::sqlite::Sqlite;

/// A waitlist entry as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = entries, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct EntryRow {
    pub(crate) id: String,
    pub(crate) seq: i64,
    pub(crate) event_id: String,
    pub(crate) ticket_type_id: String,
    pub(crate) user_id: String,
    pub(crate) quantity: i32,
    pub(crate) status: String,
    pub(crate) booking_id: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) closed_reason: Option<String>,
}

impl EntryRow {
    /// The entry this row stores, with its `position` when it waits.
    pub(crate) fn into_entry(self, position: Option<i64>) -> anyhow::Result<WaitlistEntry> {
        Ok(WaitlistEntry {
            id: WaitlistEntryId::from_uuid(uuid(&self.id)?),
            event_id: EventId::from_uuid(uuid(&self.event_id)?),
            ticket_type_id: TicketTypeId::from_uuid(uuid(&self.ticket_type_id)?),
            user_id: UserId::from_uuid(uuid(&self.user_id)?),
            quantity: count(self.quantity)?,
            position: position.map(u32::try_from).transpose()?,
            status: self.status.parse().map_err(anyhow::Error::msg)?,
            closed_reason: self
                .closed_reason
                .map(|r| r.parse().map_err(anyhow::Error::msg))
                .transpose()?,
            booking_id: self
                .booking_id
                .map(|id| uuid(&id).map(BookingId::from_uuid))
                .transpose()?,
            created_at: instant(self.created_at)?,
            queue_seq: u64::try_from(self.seq)?,
        })
    }
}

/// 1 + the waiting entries ahead, for a waiting entry.
fn position() -> SqlLiteral<Nullable<BigInt>> {
    sql("CASE WHEN waitlist_entries.status = 'waiting' THEN 1 + ( \
           SELECT count(*) FROM waitlist_entries AS ahead \
            WHERE ahead.event_id = waitlist_entries.event_id \
              AND ahead.status = 'waiting' AND ahead.seq < waitlist_entries.seq) END")
}

/// Entries with their positions, boxed to add filters and an order.
pub(crate) type Listing<'a> =
    entries::BoxedQuery<'a, Sqlite, (AsSelect<EntryRow, Sqlite>, Nullable<BigInt>)>;

/// Every entry with its position, to filter and order.
pub(crate) fn listing<'a>() -> Listing<'a> {
    entries::table
        .select((EntryRow::as_select(), position()))
        .into_boxed()
}

/// The entries `query` finds, with their positions.
pub(crate) fn load_listing(
    c: &mut SqliteConnection,
    query: Listing<'_>,
) -> anyhow::Result<Vec<WaitlistEntry>> {
    query
        .load::<(EntryRow, Option<i64>)>(c)
        .context("cannot read waitlist entries")?
        .into_iter()
        .map(|(row, position)| row.into_entry(position))
        .collect()
}

/// One entry with its position.
pub(crate) fn load_entry(
    c: &mut SqliteConnection,
    id: WaitlistEntryId,
) -> anyhow::Result<Option<WaitlistEntry>> {
    Ok(load_listing(c, listing().filter(entries::id.eq(id.to_string())))?.pop())
}
