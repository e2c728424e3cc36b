//! [`Reservations`]: holds taken, confirmed, released and expired, each decided in its
//! event's next batch (see `batch`).

use crate::PgStore;
use crate::models::{ACTIVE, HoldRow};
use crate::schema::holds;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, Hold};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{ConfirmHoldError, HoldError, Reservations, SeatRequest};
use boxoffice_domain::{EventId, HoldId, Timestamp, UserId};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

impl PgStore {
    /// The event of hold `id`, read without a lock (a hold never changes its event).
    async fn event_of_hold(&self, id: HoldId) -> anyhow::Result<Option<EventId>> {
        let event = self
            .run(async |conn| {
                holds::table
                    .find(id.as_uuid())
                    .select(holds::event_id)
                    .first::<Uuid>(conn)
                    .await
                    .optional()
                    .with_context(|| format!("cannot read hold {id}"))
            })
            .await?;
        Ok(event.map(EventId::from_uuid))
    }

    /// Events with holds expired by `now`, oldest hold first, among the oldest `limit` holds.
    async fn events_with_expired_holds(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> anyhow::Result<Vec<EventId>> {
        let rows = self
            .run(async |conn| {
                holds::table
                    .filter(holds::status.eq(ACTIVE))
                    .filter(holds::expires_at.le(now))
                    .order(holds::expires_at.asc())
                    .limit(i64::from(limit))
                    .select(holds::event_id)
                    .load::<Uuid>(conn)
                    .await
                    .context("cannot find expired holds")
            })
            .await?;
        let mut events: Vec<EventId> = Vec::new();
        for event in rows.into_iter().map(EventId::from_uuid) {
            if !events.contains(&event) {
                events.push(event);
            }
        }
        Ok(events)
    }
}

#[async_trait]
impl Reservations for PgStore {
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
        self.run(async |conn| {
            holds::table
                .find(id.as_uuid())
                .filter(holds::status.eq(ACTIVE))
                .filter(holds::expires_at.gt(now))
                .select(HoldRow::as_select())
                .first::<HoldRow>(conn)
                .await
                .optional()
                .with_context(|| format!("cannot read hold {id}"))
        })
        .await?
        .map(HoldRow::into_hold)
        .transpose()
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
        let mut expired = 0;
        // One sweep per event: a transaction never locks two events.
        for event in self.events_with_expired_holds(now, limit).await? {
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
