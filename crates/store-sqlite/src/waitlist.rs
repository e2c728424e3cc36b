//! Waitlists: one strict FIFO queue per event, ordered by `seq`.

use crate::SqliteStore;
use crate::convert::uuid;
use crate::rows::{EntryRow, listing, load_listing};
use crate::schema::waitlist_entries as entries;
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::booking::{WaitlistEntry, WaitlistStatus};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{JoinWaitlistError, LeaveWaitlistError, SeatRequest, Waitlists};
use boxoffice_domain::{EventId, Timestamp, UserId, WaitlistEntryId};
use diesel::prelude::*;

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

    async fn find_entry(&self, id: WaitlistEntryId) -> anyhow::Result<Option<WaitlistEntry>> {
        self.read(move |c| {
            let query = listing().filter(entries::id.eq(id.to_string()));
            Ok(load_listing(c, query)?.pop())
        })
        .await
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
