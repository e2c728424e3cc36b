//! Waitlists: one strict FIFO queue per event, ordered by `seq`.

use crate::SqliteStore;
use crate::convert::{count, instant, uuid};
use crate::schema::waitlist_entries as entries;
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::booking::{WaitlistEntry, WaitlistStatus};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{JoinWaitlistError, LeaveWaitlistError, SeatRequest, Waitlists};
use boxoffice_domain::{BookingId, EventId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
use diesel::dsl::AsSelect;
use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use diesel::sqlite::Sqlite;

#[derive(Queryable, Selectable)]
#[diesel(table_name = entries, check_for_backend(diesel::sqlite::Sqlite))]
struct EntryRow {
    id: String,
    seq: i64,
    event_id: String,
    ticket_type_id: String,
    user_id: String,
    quantity: i32,
    status: String,
    booking_id: Option<String>,
    created_at: i64,
}

impl EntryRow {
    fn into_entry(self, position: Option<i64>) -> anyhow::Result<WaitlistEntry> {
        Ok(WaitlistEntry {
            id: WaitlistEntryId::from_uuid(uuid(&self.id)?),
            event_id: EventId::from_uuid(uuid(&self.event_id)?),
            ticket_type_id: TicketTypeId::from_uuid(uuid(&self.ticket_type_id)?),
            user_id: UserId::from_uuid(uuid(&self.user_id)?),
            quantity: count(self.quantity)?,
            position: position.map(u32::try_from).transpose()?,
            status: self.status.parse().map_err(anyhow::Error::msg)?,
            booking_id: self
                .booking_id
                .map(|id| uuid(&id).map(BookingId::from_uuid))
                .transpose()?,
            created_at: instant(self.created_at)?,
            queue_seq: u64::try_from(self.seq)?,
        })
    }
}

fn position() -> SqlLiteral<Nullable<BigInt>> {
    sql("CASE WHEN waitlist_entries.status = 'waiting' THEN 1 + ( \
           SELECT count(*) FROM waitlist_entries AS ahead \
            WHERE ahead.event_id = waitlist_entries.event_id \
              AND ahead.status = 'waiting' AND ahead.seq < waitlist_entries.seq) END")
}

/// Entries with their positions, boxed to add filters and an order.
type Listing<'a> = entries::BoxedQuery<'a, Sqlite, (AsSelect<EntryRow, Sqlite>, Nullable<BigInt>)>;

/// Every entry with its position, to filter and order.
fn listing<'a>() -> Listing<'a> {
    entries::table
        .select((EntryRow::as_select(), position()))
        .into_boxed()
}

fn load_listing(
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

/// `user`'s entry `id`, whatever its status.
fn own_row(
    c: &mut SqliteConnection,
    id: WaitlistEntryId,
    user: UserId,
) -> anyhow::Result<Option<EntryRow>> {
    entries::table
        .find(id.to_string())
        .filter(entries::user_id.eq(user.to_string()))
        .select(EntryRow::as_select())
        .first(c)
        .optional()
        .context("cannot read waitlist entry")
}

fn seq_key(entry: &WaitlistEntry) -> u64 {
    entry.queue_seq
}

fn stored_seq(seq: u64) -> anyhow::Result<i64> {
    i64::try_from(seq).context("queue seq out of range")
}

#[async_trait]
impl Waitlists for SqliteStore {
    async fn join(
        &self,
        request: &SeatRequest,
        now: Timestamp,
    ) -> Result<WaitlistEntry, JoinWaitlistError> {
        let op = SeatOp::Join(*request);
        self.seats(request.event_id, Timed { op, now })
            .await
            .with_context(|| format!("cannot join the waitlist of event {}", request.event_id))?
            .into_entry()
    }

    async fn leave(
        &self,
        id: WaitlistEntryId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), LeaveWaitlistError> {
        let row = self.read(move |c| own_row(c, id, user)).await?;
        let Some(row) = row else {
            return Err(LeaveWaitlistError::NotFound);
        };
        let event = EventId::from_uuid(uuid(&row.event_id)?);
        let op = SeatOp::Leave {
            entry_id: id,
            user_id: user,
        };
        self.seats(event, Timed { op, now })
            .await
            .with_context(|| format!("cannot leave waitlist entry {id}"))?
            .into_leave()
    }

    async fn event_queue(
        &self,
        event: EventId,
        status: WaitlistStatus,
        page: &PageRequest<u64>,
    ) -> anyhow::Result<Page<WaitlistEntry, u64>> {
        let PageRequest { limit, after } = page.clone();
        self.read(move |c| {
            let mut query = listing()
                .filter(entries::event_id.eq(event.to_string()))
                .filter(entries::status.eq(status.as_str()))
                .limit(i64::from(limit) + 1);
            let after = after.map(stored_seq).transpose()?;
            query = if status == WaitlistStatus::Waiting {
                let query = query.order(entries::seq);
                match after {
                    Some(after) => query.filter(entries::seq.gt(after)),
                    None => query,
                }
            } else {
                let query = query.order(entries::seq.desc());
                match after {
                    Some(after) => query.filter(entries::seq.lt(after)),
                    None => query,
                }
            };
            Ok(Page::from_rows(load_listing(c, query)?, limit, seq_key))
        })
        .await
    }

    async fn user_entries(
        &self,
        user: UserId,
        page: &PageRequest<u64>,
    ) -> anyhow::Result<Page<WaitlistEntry, u64>> {
        let PageRequest { limit, after } = page.clone();
        self.read(move |c| {
            let mut query = listing()
                .filter(entries::user_id.eq(user.to_string()))
                .order(entries::seq.desc())
                .limit(i64::from(limit) + 1);
            if let Some(after) = after {
                query = query.filter(entries::seq.lt(stored_seq(after)?));
            }
            Ok(Page::from_rows(load_listing(c, query)?, limit, seq_key))
        })
        .await
    }
}
