//! [`KeyedSeats`]: seat requests with an idempotency key run once per user and key. The
//! key row is inserted first in the request's transaction, so a concurrent request
//! with the same key waits on it, then finds what the first one made.

use crate::PgStore;
use crate::batch::run_one;
use crate::bookings::load_booking;
use crate::models::HoldRow;
use crate::schema::{holds, idempotency_keys};
use crate::versions::Publisher;
use crate::waitlist::load_entry;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::booking::Hold;
use boxoffice_domain::planner::Timed;
use boxoffice_domain::ports::{Idempotency, Keyed, KeyedSeats, Made, Replay};
use boxoffice_domain::{BookingId, EventId, HoldId, Timestamp, UserId, WaitlistEntryId};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// What the first request with a key recorded.
#[derive(Queryable)]
struct KeyRow {
    request_hash: String,
    booking_id: Option<Uuid>,
    waitlist_entry_id: Option<Uuid>,
    hold_id: Option<Uuid>,
}

/// Inserts the key row (waiting for a concurrent request with the same key to end);
/// returns what an earlier request recorded when the key was taken.
async fn claim(
    conn: &mut AsyncPgConnection,
    user: UserId,
    key: &Idempotency,
    now: Timestamp,
) -> anyhow::Result<Option<KeyRow>> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user.as_uuid()),
            idempotency_keys::key.eq(&key.key),
            idempotency_keys::request_hash.eq(&key.request_hash),
            idempotency_keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .context("cannot insert idempotency key")?;
    if inserted == 1 {
        return Ok(None);
    }
    let earlier = idempotency_keys::table
        .find((user.as_uuid(), &key.key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::booking_id,
            idempotency_keys::waitlist_entry_id,
            idempotency_keys::hold_id,
        ))
        .first::<KeyRow>(conn)
        .await
        .context("cannot read idempotency key")?;
    Ok(Some(earlier))
}

/// Hold `id` whatever became of it.
async fn load_hold(conn: &mut AsyncPgConnection, id: HoldId) -> anyhow::Result<Option<Hold>> {
    holds::table
        .find(id.as_uuid())
        .select(HoldRow::as_select())
        .first::<HoldRow>(conn)
        .await
        .optional()
        .with_context(|| format!("cannot read hold {id}"))?
        .map(HoldRow::into_hold)
        .transpose()
}

/// What the earlier request recorded, loaded as it is now.
async fn replay(conn: &mut AsyncPgConnection, earlier: KeyRow) -> anyhow::Result<Replay> {
    let booking = match earlier.booking_id {
        Some(id) => load_booking(conn, BookingId::from_uuid(id)).await?,
        None => None,
    };
    let waitlist_entry = match earlier.waitlist_entry_id {
        Some(id) => load_entry(conn, WaitlistEntryId::from_uuid(id)).await?,
        None => None,
    };
    let hold = match earlier.hold_id {
        Some(id) => load_hold(conn, HoldId::from_uuid(id)).await?,
        None => None,
    };
    Ok(Replay {
        booking,
        waitlist_entry,
        hold,
    })
}

/// Records what the request made on its key row, or deletes the row of a refused one.
async fn settle(
    conn: &mut AsyncPgConnection,
    user: UserId,
    key: &Idempotency,
    made: Option<Made>,
) -> anyhow::Result<()> {
    let row = idempotency_keys::table.find((user.as_uuid(), &key.key));
    match made {
        Some(made) => {
            diesel::update(row)
                .set((
                    idempotency_keys::booking_id.eq(made.booking.map(|b| b.as_uuid())),
                    idempotency_keys::waitlist_entry_id
                        .eq(made.waitlist_entry.map(|e| e.as_uuid())),
                    idempotency_keys::hold_id.eq(made.hold.map(|h| h.as_uuid())),
                ))
                .execute(conn)
                .await
        }
        None => diesel::delete(row).execute(conn).await,
    }
    .context("cannot settle idempotency key")?;
    Ok(())
}

/// A keyed request in the caller's transaction: the key row first, then a batch of one.
pub(crate) async fn run_keyed_in(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    event: EventId,
    user: UserId,
    key: &Idempotency,
    timed: Timed,
) -> anyhow::Result<Keyed> {
    if let Some(earlier) = claim(conn, user, key, timed.now).await? {
        if earlier.request_hash != key.request_hash {
            return Ok(Keyed::KeyReused);
        }
        return Ok(Keyed::Repeat(replay(conn, earlier).await?));
    }
    let outcome = run_one(conn, versions, event, timed).await?;
    settle(conn, user, key, Made::of(&outcome)).await?;
    Ok(Keyed::Ran(outcome))
}

#[async_trait]
impl KeyedSeats for PgStore {
    async fn run_keyed(
        &self,
        event: EventId,
        user: UserId,
        key: &Idempotency,
        timed: Timed,
    ) -> anyhow::Result<Keyed> {
        self.transaction(async |conn| {
            run_keyed_in(conn, &self.versions, event, user, key, timed.clone()).await
        })
        .await
        .with_context(|| format!("cannot run a keyed request on event {event}"))
    }
}
