//! Idempotency keys: seat requests with a key run once per user and key
//! ([`KeyedSeats`]); a repeat gets what the first request made, as it is now.

use crate::SqliteStore;
use crate::batch::run_one;
use crate::convert::{micros, uuid};
use crate::rows::{load_booking, load_entry, load_hold};
use crate::schema::idempotency_keys as keys;
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::planner::Timed;
use boxoffice_domain::ports::LocalVersionBoard;
use boxoffice_domain::ports::{Idempotency, Keyed, KeyedSeats, Made, Replay};
use boxoffice_domain::{BookingId, EventId, HoldId, Timestamp, UserId, WaitlistEntryId};
use diesel::prelude::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = keys, check_for_backend(diesel::sqlite::Sqlite))]
struct KeyRow {
    request_hash: String,
    booking_id: Option<String>,
    waitlist_entry_id: Option<String>,
    hold_id: Option<String>,
}

/// What an earlier request with `key` made, as it is now, or `KeyReused` when that
/// request was another; `None` when the key is new.
fn replay(
    c: &mut SqliteConnection,
    user: UserId,
    key: &Idempotency,
) -> anyhow::Result<Option<Keyed>> {
    let Some(row) = keys::table
        .find((user.to_string(), &key.key))
        .select(KeyRow::as_select())
        .first(c)
        .optional()
        .context("cannot read idempotency key")?
    else {
        return Ok(None);
    };
    if row.request_hash != key.request_hash {
        return Ok(Some(Keyed::KeyReused));
    }
    let booking = match row.booking_id {
        Some(id) => load_booking(c, BookingId::from_uuid(uuid(&id)?))?,
        None => None,
    };
    let waitlist_entry = match row.waitlist_entry_id {
        Some(id) => load_entry(c, WaitlistEntryId::from_uuid(uuid(&id)?))?,
        None => None,
    };
    let hold = match row.hold_id {
        Some(id) => load_hold(c, HoldId::from_uuid(uuid(&id)?))?.map(|(hold, _)| hold),
        None => None,
    };
    Ok(Some(Keyed::Repeat(Replay {
        booking,
        waitlist_entry,
        hold,
    })))
}

/// Records what the first request with `key` made.
fn record(
    c: &mut SqliteConnection,
    user: UserId,
    key: &Idempotency,
    made: Made,
    now: Timestamp,
) -> anyhow::Result<()> {
    diesel::insert_into(keys::table)
        .values((
            keys::user_id.eq(user.to_string()),
            keys::key.eq(&key.key),
            keys::request_hash.eq(&key.request_hash),
            keys::booking_id.eq(made.booking.map(|b| b.to_string())),
            keys::waitlist_entry_id.eq(made.waitlist_entry.map(|e| e.to_string())),
            keys::hold_id.eq(made.hold.map(|h| h.to_string())),
            keys::created_at.eq(micros(now)),
        ))
        .execute(c)
        .context("cannot record idempotency key")?;
    Ok(())
}

/// A keyed request inside the writer's transaction (which makes it run alone): the
/// key is read, the request runs, and what it made is recorded.
pub(crate) fn run_keyed_in(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    event: EventId,
    user: UserId,
    key: &Idempotency,
    timed: Timed,
) -> anyhow::Result<Keyed> {
    if let Some(earlier) = replay(c, user, key)? {
        return Ok(earlier);
    }
    let now = timed.now;
    let outcome = run_one(c, board, event, timed)?;
    if let Some(made) = Made::of(&outcome) {
        record(c, user, key, made, now)?;
    }
    Ok(Keyed::Ran(outcome))
}

/// Deletes the keys recorded before `before`; returns how many.
pub(crate) fn forget(c: &mut SqliteConnection, before: Timestamp) -> anyhow::Result<u64> {
    let deleted = diesel::delete(keys::table.filter(keys::created_at.lt(micros(before))))
        .execute(c)
        .context("cannot delete idempotency keys")?;
    Ok(u64::try_from(deleted)?)
}

#[async_trait]
impl KeyedSeats for SqliteStore {
    async fn run_keyed(
        &self,
        event: EventId,
        user: UserId,
        key: &Idempotency,
        timed: Timed,
    ) -> anyhow::Result<Keyed> {
        let (key, board) = (key.clone(), self.versions());
        self.write(move |c| run_keyed_in(c, &board, event, user, &key, timed))
            .await
            .with_context(|| format!("cannot run a keyed request on event {event}"))
    }
}
