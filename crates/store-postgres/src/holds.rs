//! [`Reservations`]: holds taken, confirmed, released and expired in seat transactions.

use crate::PgStore;
use crate::models::HoldRow;
use crate::schema::holds;
use crate::seat_txn::{ACTIVE, SeatTxn};
use crate::versions::Publisher;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, BookingSource, Hold};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{ConfirmHoldError, HoldError, Reservations, SeatRequest};
use boxoffice_domain::seats::Taken;
use boxoffice_domain::{EventId, HoldId, Timestamp, UserId};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// How a confirm or release ended without a store failure.
type HoldOutcome<T> = Result<T, ConfirmHoldError>;

/// The event of hold `id`, read without a lock (a hold never changes its event).
async fn event_of_hold(
    conn: &mut AsyncPgConnection,
    id: HoldId,
) -> anyhow::Result<Option<EventId>> {
    let event = holds::table
        .find(id.as_uuid())
        .select(holds::event_id)
        .first::<Uuid>(conn)
        .await
        .optional()
        .with_context(|| format!("cannot read hold {id}"))?;
    Ok(event.map(EventId::from_uuid))
}

/// Hold `id` as it is now, with its status.
async fn read_hold(conn: &mut AsyncPgConnection, id: HoldId) -> anyhow::Result<Option<HoldRow>> {
    holds::table
        .find(id.as_uuid())
        .select(HoldRow::as_select())
        .first::<HoldRow>(conn)
        .await
        .optional()
        .with_context(|| format!("cannot read hold {id}"))
}

/// Ends active hold `id` with `status` at `now`.
async fn set_hold_status(
    conn: &mut AsyncPgConnection,
    id: HoldId,
    status: &str,
    now: Timestamp,
) -> anyhow::Result<()> {
    diesel::update(holds::table.find(id.as_uuid()))
        .set((holds::status.eq(status), holds::ended_at.eq(now)))
        .execute(conn)
        .await
        .with_context(|| format!("cannot end hold {id}"))?;
    Ok(())
}

/// Whether a hold is to be confirmed or released.
#[derive(Clone, Copy)]
enum EndHold {
    Confirm,
    Release,
}

/// Hold `id` of `user` if it is still active, under the event's lock. The sweep has run,
/// so a hold past its expiry is `expired`: `Expired` for a confirmation, else `NotFound`.
async fn active_hold(
    conn: &mut AsyncPgConnection,
    id: HoldId,
    user: UserId,
    action: EndHold,
) -> anyhow::Result<HoldOutcome<Hold>> {
    let Some(row) = read_hold(conn, id).await? else {
        return Ok(Err(ConfirmHoldError::NotFound));
    };
    if row.user_id != user.as_uuid() {
        return Ok(Err(ConfirmHoldError::NotFound));
    }
    match (row.status.as_str(), action) {
        (ACTIVE, _) => Ok(Ok(row.into_hold()?)),
        ("expired", EndHold::Confirm) => Ok(Err(ConfirmHoldError::Expired)),
        _ => Ok(Err(ConfirmHoldError::NotFound)),
    }
}

/// `confirm_hold` under the event's lock: the held seats become sold.
async fn confirm_locked(
    conn: &mut AsyncPgConnection,
    txn: &mut SeatTxn,
    id: HoldId,
    user: UserId,
) -> anyhow::Result<HoldOutcome<Booking>> {
    let hold = match active_hold(conn, id, user, EndHold::Confirm).await? {
        Ok(hold) => hold,
        Err(error) => return Ok(Err(error)),
    };
    txn.seats.sell_held(hold.ticket_type_id, hold.quantity);
    set_hold_status(conn, id, "confirmed", txn.now).await?;
    let booking = txn.new_booking(
        hold.ticket_type_id,
        user,
        hold.quantity,
        BookingSource::Hold,
    );
    txn.record_booking(&booking, Some(id))?;
    Ok(Ok(booking))
}

/// `release_hold` under the event's lock: the seats come back and the queue moves.
async fn release_locked(
    conn: &mut AsyncPgConnection,
    txn: &mut SeatTxn,
    id: HoldId,
    user: UserId,
) -> anyhow::Result<HoldOutcome<()>> {
    let hold = match active_hold(conn, id, user, EndHold::Release).await? {
        Ok(hold) => hold,
        Err(error) => return Ok(Err(error)),
    };
    txn.seats
        .give_back(hold.ticket_type_id, hold.quantity, Taken::Held);
    set_hold_status(conn, id, "released", txn.now).await?;
    tracing::info!(
        event_id = %txn.event_id,
        hold_id = %id,
        quantity = hold.quantity,
        "hold released"
    );
    txn.promote(conn).await?;
    Ok(Ok(()))
}

/// One seat transaction that confirms or releases hold `id`.
async fn end_in(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    id: HoldId,
    user: UserId,
    now: Timestamp,
    action: EndHold,
) -> anyhow::Result<HoldOutcome<Option<Booking>>> {
    let Some(event) = event_of_hold(conn, id).await? else {
        return Ok(Err(ConfirmHoldError::NotFound));
    };
    let mut txn = SeatTxn::begin(conn, versions, event, now)
        .await?
        .with_context(|| format!("event {event} of hold {id} is missing"))?;
    let outcome = match action {
        EndHold::Confirm => confirm_locked(conn, &mut txn, id, user).await?.map(Some),
        EndHold::Release => release_locked(conn, &mut txn, id, user)
            .await?
            .map(|()| None),
    };
    txn.finish(conn).await?;
    Ok(outcome)
}

impl PgStore {
    /// Confirms or releases a hold in a transaction of its own; domain outcomes commit.
    async fn end_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
        action: EndHold,
    ) -> HoldOutcome<Option<Booking>> {
        self.transaction(async |conn| end_in(conn, &self.versions, id, user, now, action).await)
            .await
            .with_context(|| format!("cannot end hold {id}"))?
    }

    /// Runs the seat transaction of `event`, whose sweep expires its holds; returns how many.
    async fn sweep_event(&self, event: EventId, now: Timestamp) -> anyhow::Result<u32> {
        self.transaction(async |conn| {
            let Some(mut txn) = SeatTxn::lock(conn, &self.versions, event, now).await? else {
                return Ok(0);
            };
            let expired = txn.sweep(conn).await?;
            txn.promote(conn).await?;
            txn.finish(conn).await?;
            Ok(expired)
        })
        .await
        .with_context(|| format!("cannot expire holds of event {event}"))
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
        self.batches
            .submit(self, request.event_id, Timed { op, now })
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
        self.end_hold(id, user, now, EndHold::Confirm)
            .await?
            .context("a confirmed hold made no booking")
            .map_err(ConfirmHoldError::Backend)
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), ConfirmHoldError> {
        self.end_hold(id, user, now, EndHold::Release)
            .await
            .map(drop)
    }

    async fn expire_holds(&self, now: Timestamp, limit: u32) -> anyhow::Result<u32> {
        let mut expired = 0;
        // One transaction per event: a transaction never locks two events.
        for event in self.events_with_expired_holds(now, limit).await? {
            if expired >= limit {
                break;
            }
            expired += self.sweep_event(event, now).await?;
        }
        Ok(expired)
    }
}
