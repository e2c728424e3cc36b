//! Holds: seats taken for a while, then confirmed, released or expired, each decided in
//! its event's next batch (see `batch`).

use crate::SqliteStore;
use crate::convert::{micros, uuid};
use crate::rows::{HoldRow, load_hold};
use crate::schema::holds;
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, Hold, HoldStatus};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{ConfirmHoldError, HoldError, Reservations, SeatRequest};
use boxoffice_domain::{EventId, HoldId, Timestamp, UserId};
use diesel::prelude::*;

/// Events with active holds that expired by `now`, the oldest expiry first, from the
/// first `limit` such holds.
fn events_with_expired_holds(
    c: &mut SqliteConnection,
    now: Timestamp,
    limit: u32,
) -> anyhow::Result<Vec<EventId>> {
    let due: Vec<String> = holds::table
        .filter(holds::status.eq(HoldStatus::Active.as_str()))
        .filter(holds::expires_at.le(micros(now)))
        .order((holds::expires_at, holds::id))
        .limit(i64::from(limit))
        .select(holds::event_id)
        .load(c)
        .context("cannot read expired holds")?;
    let mut events: Vec<EventId> = Vec::new();
    for id in due {
        let id = EventId::from_uuid(uuid(&id)?);
        if !events.contains(&id) {
            events.push(id);
        }
    }
    Ok(events)
}

impl SqliteStore {
    /// The event of hold `id` (a hold never changes its event).
    async fn event_of_hold(&self, id: HoldId) -> anyhow::Result<Option<EventId>> {
        let hold = self.read(move |c| load_hold(c, id)).await?;
        Ok(hold.map(|(hold, _)| hold.event_id))
    }
}

#[async_trait]
impl Reservations for SqliteStore {
    async fn hold(
        &self,
        id: HoldId,
        request: &SeatRequest,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Hold, HoldError> {
        let op = SeatOp::Hold {
            id,
            request: *request,
            expires_at,
        };
        self.seats(request.event_id, Timed { op, now })
            .await
            .with_context(|| format!("cannot hold seats of event {}", request.event_id))?
            .into_hold()
    }

    async fn find_hold(&self, id: HoldId, now: Timestamp) -> anyhow::Result<Option<Hold>> {
        self.read(move |c| {
            holds::table
                .find(id.to_string())
                .filter(holds::status.eq(HoldStatus::Active.as_str()))
                .filter(holds::expires_at.gt(micros(now)))
                .select(HoldRow::as_select())
                .first(c)
                .optional()
                .context("cannot read hold")?
                .map(HoldRow::into_hold)
                .transpose()
        })
        .await
    }

    async fn confirm_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Booking, ConfirmHoldError> {
        let Some(event) = self.event_of_hold(id).await? else {
            return Err(ConfirmHoldError::NotFound);
        };
        let op = SeatOp::Confirm {
            hold_id: id,
            user_id: user,
        };
        self.seats(event, Timed { op, now })
            .await
            .with_context(|| format!("cannot confirm hold {id}"))?
            .into_confirmation()
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), ConfirmHoldError> {
        let Some(event) = self.event_of_hold(id).await? else {
            return Err(ConfirmHoldError::NotFound);
        };
        let op = SeatOp::Release {
            hold_id: id,
            user_id: user,
        };
        self.seats(event, Timed { op, now })
            .await
            .with_context(|| format!("cannot release hold {id}"))?
            .into_release()
    }

    async fn expire_holds(&self, now: Timestamp, limit: u32) -> anyhow::Result<u32> {
        let events = self
            .read(move |c| events_with_expired_holds(c, now, limit))
            .await?;
        let mut expired = 0;
        for event in events {
            if expired >= limit {
                break;
            }
            let sweep = Timed {
                op: SeatOp::Sweep,
                now,
            };
            let outcome = self.seats(event, sweep).await;
            expired += outcome
                .and_then(|o| o.into_swept())
                .with_context(|| format!("cannot expire holds of event {event}"))?;
        }
        Ok(expired)
    }
}
