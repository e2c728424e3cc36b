//! Idempotency keys of booking requests: what the first request with a key made.

use crate::convert::{micros, uuid};
use crate::rows::{load_booking, load_entry};
use crate::schema::idempotency_keys as keys;
use anyhow::Context;
use boxoffice_domain::booking::BookingOutcome;
use boxoffice_domain::ports::{BookError, Idempotency};
use boxoffice_domain::{BookingId, Timestamp, UserId, WaitlistEntryId};
use diesel::prelude::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = keys, check_for_backend(diesel::sqlite::Sqlite))]
struct KeyRow {
    request_hash: String,
    booking_id: Option<String>,
    waitlist_entry_id: Option<String>,
}

/// What an earlier request with `key` made, as it is now; `IdempotencyKeyReused` when
/// that request was another; `None` when the key is new.
pub(crate) fn replay(
    c: &mut SqliteConnection,
    user: UserId,
    key: &Idempotency,
) -> anyhow::Result<Option<Result<BookingOutcome, BookError>>> {
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
        return Ok(Some(Err(BookError::IdempotencyKeyReused)));
    }
    let booking = match row.booking_id {
        Some(id) => load_booking(c, BookingId::from_uuid(uuid(&id)?))?,
        None => None,
    };
    let waitlist_entry = match row.waitlist_entry_id {
        Some(id) => load_entry(c, WaitlistEntryId::from_uuid(uuid(&id)?))?,
        None => None,
    };
    Ok(Some(Ok(BookingOutcome {
        booking,
        waitlist_entry,
    })))
}

/// Records what the first request with `key` made.
pub(crate) fn record(
    c: &mut SqliteConnection,
    user: UserId,
    key: &Idempotency,
    outcome: &BookingOutcome,
    now: Timestamp,
) -> anyhow::Result<()> {
    diesel::insert_into(keys::table)
        .values((
            keys::user_id.eq(user.to_string()),
            keys::key.eq(&key.key),
            keys::request_hash.eq(&key.request_hash),
            keys::booking_id.eq(outcome.booking.as_ref().map(|b| b.id.to_string())),
            keys::waitlist_entry_id.eq(outcome.waitlist_entry.as_ref().map(|e| e.id.to_string())),
            keys::created_at.eq(micros(now)),
        ))
        .execute(c)
        .context("cannot record idempotency key")?;
    Ok(())
}

/// Deletes the keys recorded before `before`; returns how many.
pub(crate) fn forget(c: &mut SqliteConnection, before: Timestamp) -> anyhow::Result<u64> {
    let deleted = diesel::delete(keys::table.filter(keys::created_at.lt(micros(before))))
        .execute(c)
        .context("cannot delete idempotency keys")?;
    Ok(u64::try_from(deleted)?)
}
