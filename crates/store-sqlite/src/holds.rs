//! Holds: seats taken for a while, then confirmed, released or expired.

use crate::SqliteStore;
use crate::bookings::{Claim, insert_booking};
use crate::convert::{count, instant, micros, uuid};
use crate::schema::holds;
use crate::seat_txn::{OfEvent, SeatTxn, with_seats};
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, BookingSource, Hold};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{ConfirmHoldError, HoldError, Reservations, SeatRequest};
use boxoffice_domain::seats::Taken;
use boxoffice_domain::{BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId};
use diesel::prelude::*;

/// Where a hold stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldStatus {
    /// Seats held.
    Active,
    /// Turned into a booking.
    Confirmed,
    /// Given back by its user.
    Released,
    /// Ran out.
    Expired,
}

impl HoldStatus {
    /// The stored name.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Confirmed => "confirmed",
            Self::Released => "released",
            Self::Expired => "expired",
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = holds, check_for_backend(diesel::sqlite::Sqlite))]
struct HoldRow {
    id: String,
    event_id: String,
    ticket_type_id: String,
    user_id: String,
    quantity: i32,
    status: String,
    expires_at: i64,
    created_at: i64,
}

impl HoldRow {
    fn into_hold(self) -> anyhow::Result<Hold> {
        Ok(Hold {
            id: HoldId::from_uuid(uuid(&self.id)?),
            event_id: EventId::from_uuid(uuid(&self.event_id)?),
            ticket_type_id: TicketTypeId::from_uuid(uuid(&self.ticket_type_id)?),
            user_id: UserId::from_uuid(uuid(&self.user_id)?),
            quantity: count(self.quantity)?,
            expires_at: instant(self.expires_at)?,
            created_at: instant(self.created_at)?,
        })
    }

    fn is(&self, status: HoldStatus) -> bool {
        self.status == status.as_str()
    }
}

impl OfEvent for HoldRow {
    fn event_text(&self) -> &str {
        &self.event_id
    }
}

/// `user`'s hold `id`, whatever its status.
fn own_row(c: &mut SqliteConnection, id: HoldId, user: UserId) -> anyhow::Result<Option<HoldRow>> {
    holds::table
        .find(id.to_string())
        .filter(holds::user_id.eq(user.to_string()))
        .select(HoldRow::as_select())
        .first(c)
        .optional()
        .context("cannot read hold")
}

/// Ends the active holds `ids` with `status` at `now`.
pub(crate) fn end_holds(
    c: &mut SqliteConnection,
    ids: &[&str],
    status: HoldStatus,
    now: Timestamp,
) -> anyhow::Result<()> {
    diesel::update(holds::table.filter(holds::id.eq_any(ids)))
        .filter(holds::status.eq(HoldStatus::Active.as_str()))
        .set((
            holds::status.eq(status.as_str()),
            holds::ended_at.eq(micros(now)),
        ))
        .execute(c)
        .context("cannot end holds")?;
    Ok(())
}

/// Ends every active hold of `event` with `status`; returns how many ended.
pub(crate) fn end_event_holds(
    c: &mut SqliteConnection,
    event: EventId,
    status: HoldStatus,
    now: Timestamp,
) -> anyhow::Result<usize> {
    diesel::update(holds::table)
        .filter(holds::event_id.eq(event.to_string()))
        .filter(holds::status.eq(HoldStatus::Active.as_str()))
        .set((
            holds::status.eq(status.as_str()),
            holds::ended_at.eq(micros(now)),
        ))
        .execute(c)
        .context("cannot end holds")
}

/// Sells the seats of the live hold `row`; an expired one is `Expired`.
fn confirm(
    c: &mut SqliteConnection,
    txn: &mut SeatTxn,
    row: HoldRow,
) -> anyhow::Result<Result<Booking, ConfirmHoldError>> {
    if row.is(HoldStatus::Expired) {
        return Ok(Err(ConfirmHoldError::Expired));
    }
    if !row.is(HoldStatus::Active) {
        return Ok(Err(ConfirmHoldError::NotFound));
    }
    end_holds(c, &[&row.id], HoldStatus::Confirmed, txn.now())?;
    let hold = row.into_hold()?;
    txn.sell_held(hold.ticket_type_id, hold.quantity);
    let claim = Claim {
        event_id: hold.event_id,
        ticket_type_id: hold.ticket_type_id,
        user_id: hold.user_id,
        quantity: hold.quantity,
    };
    let booking = insert_booking(
        c,
        BookingId::generate(),
        &claim,
        BookingSource::Hold,
        Some(hold.id),
        txn.now(),
    )?;
    Ok(Ok(booking))
}

/// Gives back the seats of the live hold `row`.
fn release(
    c: &mut SqliteConnection,
    txn: &mut SeatTxn,
    row: HoldRow,
) -> anyhow::Result<Result<(), ConfirmHoldError>> {
    if !row.is(HoldStatus::Active) {
        return Ok(Err(ConfirmHoldError::NotFound));
    }
    end_holds(c, &[&row.id], HoldStatus::Released, txn.now())?;
    let hold = row.into_hold()?;
    txn.give_back(hold.ticket_type_id, hold.quantity, Taken::Held);
    tracing::info!(event_id = %hold.event_id, hold_id = %hold.id, quantity = hold.quantity, "hold released");
    Ok(Ok(()))
}

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
        self.batches
            .submit(self, request.event_id, Timed { op, now })
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
        let read = move |c: &mut SqliteConnection| own_row(c, id, user);
        self.row_write(now, ConfirmHoldError::NotFound, read, confirm)
            .await
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), ConfirmHoldError> {
        let read = move |c: &mut SqliteConnection| own_row(c, id, user);
        self.row_write(now, ConfirmHoldError::NotFound, read, release)
            .await
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
            let board = self.versions.clone();
            expired += self
                .write(move |c| {
                    Ok(with_seats(c, &board, event, now, |_, txn| Ok(txn.swept()))?.unwrap_or(0))
                })
                .await?;
        }
        Ok(expired)
    }
}
