//! [`Waitlists`]: one strict FIFO queue per event, ordered by `seq`.

use crate::PgStore;
use crate::models::EntryRow;
use crate::schema::waitlist_entries;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::booking::{WaitlistEntry, WaitlistStatus};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{JoinWaitlistError, LeaveWaitlistError, SeatRequest, Waitlists};
use boxoffice_domain::{EventId, Timestamp, UserId, WaitlistEntryId};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The stored name of the waiting status.
const WAITING: &str = WaitlistStatus::Waiting.as_str();

/// A page cursor as a `seq` (cursors beyond `i64` match nothing more).
fn seq_of(cursor: u64) -> i64 {
    i64::try_from(cursor).unwrap_or(i64::MAX)
}

/// The page cursor after `row`: its `seq` (identity values are positive).
fn cursor_of(row: &EntryRow) -> u64 {
    row.seq.unsigned_abs()
}

/// 1 + the waiting entries of `event` queued before `seq`.
async fn position_at(
    conn: &mut AsyncPgConnection,
    event: uuid::Uuid,
    seq: i64,
) -> anyhow::Result<u32> {
    let ahead = waitlist_entries::table
        .filter(waitlist_entries::event_id.eq(event))
        .filter(waitlist_entries::status.eq(WAITING))
        .filter(waitlist_entries::seq.lt(seq))
        .count()
        .get_result::<i64>(conn)
        .await
        .context("cannot count the queue")?;
    Ok(u32::try_from(ahead).context("queue too long")? + 1)
}

/// `row` as an entry, with its position when it is waiting.
async fn with_position(
    conn: &mut AsyncPgConnection,
    row: EntryRow,
) -> anyhow::Result<WaitlistEntry> {
    let position = if row.status == WAITING {
        position_at(conn, row.event_id, row.seq).await?
    } else {
        0
    };
    row.into_entry(position)
}

/// Entry `id` as it is now, with its position.
pub(crate) async fn load_entry(
    conn: &mut AsyncPgConnection,
    id: WaitlistEntryId,
) -> anyhow::Result<Option<WaitlistEntry>> {
    let row = waitlist_entries::table
        .find(id.as_uuid())
        .select(EntryRow::as_select())
        .first::<EntryRow>(conn)
        .await
        .optional()
        .with_context(|| format!("cannot read waitlist entry {id}"))?;
    match row {
        Some(row) => Ok(Some(with_position(conn, row).await?)),
        None => Ok(None),
    }
}

/// A page of `event`'s waiting entries in queue order, with their positions.
async fn queue_page(
    conn: &mut AsyncPgConnection,
    event: EventId,
    page: &PageRequest<u64>,
) -> anyhow::Result<Page<WaitlistEntry, u64>> {
    let after = page.after.map_or(0, seq_of);
    let rows = waitlist_entries::table
        .filter(waitlist_entries::event_id.eq(event.as_uuid()))
        .filter(waitlist_entries::status.eq(WAITING))
        .filter(waitlist_entries::seq.gt(after))
        .order(waitlist_entries::seq.asc())
        .limit(i64::from(page.limit) + 1)
        .select(EntryRow::as_select())
        .load::<EntryRow>(conn)
        .await
        .with_context(|| format!("cannot read the waitlist of event {event}"))?;
    let page = Page::from_rows(rows, page.limit, cursor_of);
    let first = match page.items.as_slice().first() {
        Some(row) => position_at(conn, row.event_id, row.seq).await?,
        None => 1,
    };
    let items = page
        .items
        .into_iter()
        .zip(first..)
        .map(|(row, position)| row.into_entry(position))
        .collect::<anyhow::Result<_>>()?;
    Ok(Page {
        items,
        next: page.next,
    })
}

/// A page of `event`'s entries of a status other than waiting, newest first.
async fn ended_page(
    conn: &mut AsyncPgConnection,
    event: EventId,
    status: WaitlistStatus,
    page: &PageRequest<u64>,
) -> anyhow::Result<Page<WaitlistEntry, u64>> {
    let mut select = waitlist_entries::table
        .filter(waitlist_entries::event_id.eq(event.as_uuid()))
        .filter(waitlist_entries::status.eq(status.as_str()))
        .order(waitlist_entries::seq.desc())
        .limit(i64::from(page.limit) + 1)
        .select(EntryRow::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        select = select.filter(waitlist_entries::seq.lt(seq_of(after)));
    }
    let rows = select
        .load::<EntryRow>(conn)
        .await
        .with_context(|| format!("cannot read the waitlist of event {event}"))?;
    let page = Page::from_rows(rows, page.limit, cursor_of);
    let items = page
        .items
        .into_iter()
        .map(|row| row.into_entry(0))
        .collect::<anyhow::Result<_>>()?;
    Ok(Page {
        items,
        next: page.next,
    })
}

/// A page of `user`'s entries, newest first, waiting ones with their positions.
async fn user_page(
    conn: &mut AsyncPgConnection,
    user: UserId,
    page: &PageRequest<u64>,
) -> anyhow::Result<Page<WaitlistEntry, u64>> {
    let mut select = waitlist_entries::table
        .filter(waitlist_entries::user_id.eq(user.as_uuid()))
        .order(waitlist_entries::seq.desc())
        .limit(i64::from(page.limit) + 1)
        .select(EntryRow::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        select = select.filter(waitlist_entries::seq.lt(seq_of(after)));
    }
    let rows = select
        .load::<EntryRow>(conn)
        .await
        .with_context(|| format!("cannot read the waitlist entries of user {user}"))?;
    let page = Page::from_rows(rows, page.limit, cursor_of);
    let mut items = Vec::with_capacity(page.items.len());
    for row in page.items {
        items.push(with_position(conn, row).await?);
    }
    Ok(Page {
        items,
        next: page.next,
    })
}

#[async_trait]
impl Waitlists for PgStore {
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

    async fn find_entry(&self, id: WaitlistEntryId) -> anyhow::Result<Option<WaitlistEntry>> {
        self.run(async |conn| load_entry(conn, id).await).await
    }

    async fn leave(
        &self,
        id: WaitlistEntryId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), LeaveWaitlistError> {
        let owner = self
            .run(async |conn| {
                waitlist_entries::table
                    .find(id.as_uuid())
                    .select((waitlist_entries::event_id, waitlist_entries::user_id))
                    .first::<(uuid::Uuid, uuid::Uuid)>(conn)
                    .await
                    .optional()
                    .with_context(|| format!("cannot read waitlist entry {id}"))
            })
            .await?;
        let Some((event, _)) = owner.filter(|(_, owner)| *owner == user.as_uuid()) else {
            return Err(LeaveWaitlistError::NotFound);
        };
        let op = SeatOp::Leave {
            entry_id: id,
            user_id: user,
        };
        self.seats(EventId::from_uuid(event), Timed { op, now })
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
        // One snapshot, so positions agree with the page.
        self.snapshot(async |conn| match status {
            WaitlistStatus::Waiting => queue_page(conn, event, page).await,
            _ => ended_page(conn, event, status, page).await,
        })
        .await
    }

    async fn user_entries(
        &self,
        user: UserId,
        page: &PageRequest<u64>,
    ) -> anyhow::Result<Page<WaitlistEntry, u64>> {
        self.snapshot(async |conn| user_page(conn, user, page).await)
            .await
    }
}
