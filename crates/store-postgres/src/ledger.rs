//! [`SeatLedger`]: the seat figures an admission gate (the Redis adapter) is rebuilt
//! from, read in one repeatable-read snapshot so that "recorded" and "counted" agree.

use crate::PgStore;
use crate::models::ACTIVE;
use crate::models::to_u32;
use crate::schema::{bookings, events, holds, ticket_types};
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::event::EventStatus;
use boxoffice_domain::ports::{SeatLedger, SeatSnapshot, TypeSnapshot};
use boxoffice_domain::seats::{Seats, TypeSeats};
use boxoffice_domain::{EventId, TicketTypeId, Timestamp, UserId};
use diesel::dsl::{min, sum};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;
use uuid::Uuid;

/// An event row as a snapshot needs it.
type EventRow = (
    Uuid,
    i32,
    i32,
    i32,
    String,
    Option<Timestamp>,
    Option<Timestamp>,
    Timestamp,
    Option<i32>,
);

/// A ticket type row: id, event, own cap, sold, held, retired.
type TypeRow = (Uuid, Uuid, Option<i32>, i32, i32, bool);

/// Seats of live holds that expired by `now` but are not swept yet, per ticket type.
async fn expired_held(
    conn: &mut AsyncPgConnection,
    events: &[Uuid],
    now: Timestamp,
) -> anyhow::Result<HashMap<Uuid, u32>> {
    let rows = holds::table
        .filter(holds::event_id.eq_any(events))
        .filter(holds::status.eq(ACTIVE))
        .filter(holds::expires_at.le(now))
        .group_by(holds::ticket_type_id)
        .select((holds::ticket_type_id, sum(holds::quantity)))
        .load::<(Uuid, Option<i64>)>(conn)
        .await
        .context("cannot sum expired holds")?;
    rows.into_iter()
        .map(|(ty, seats)| {
            let seats = u32::try_from(seats.unwrap_or(0)).context("held seats out of range")?;
            Ok((ty, seats))
        })
        .collect()
}

/// When the first live hold of each event ends, for holds not expired by `now`.
async fn next_expiries(
    conn: &mut AsyncPgConnection,
    events: &[Uuid],
    now: Timestamp,
) -> anyhow::Result<HashMap<Uuid, Timestamp>> {
    let rows = holds::table
        .filter(holds::event_id.eq_any(events))
        .filter(holds::status.eq(ACTIVE))
        .filter(holds::expires_at.gt(now))
        .group_by(holds::event_id)
        .select((holds::event_id, min(holds::expires_at)))
        .load::<(Uuid, Option<Timestamp>)>(conn)
        .await
        .context("cannot read hold expiries")?;
    Ok(rows
        .into_iter()
        .filter_map(|(event, at)| at.map(|at| (event, at)))
        .collect())
}

/// Which of `ids` are stored holds or bookings.
async fn recorded(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> anyhow::Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Planned for the ids at hand: a plan cached while the tables were nearly empty
    // scans them whole, for every id (2–3 ms per rebuild once a sale has thousands of
    // rows, most of Postgres's time in the `holds` scenario).
    diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(conn)
        .await
        .context("cannot set the plan mode")?;
    let mut found = holds::table
        .filter(holds::id.eq_any(ids))
        .select(holds::id)
        .load::<Uuid>(conn)
        .await
        .context("cannot look up holds")?;
    found.extend(
        bookings::table
            .filter(bookings::id.eq_any(ids))
            .select(bookings::id)
            .load::<Uuid>(conn)
            .await
            .context("cannot look up bookings")?,
    );
    Ok(found)
}

/// The snapshot of one event from its rows; `expired` are seats of unswept expired
/// holds per type, which count as free.
fn snapshot(
    event: EventRow,
    types: &[TypeRow],
    expired: &HashMap<Uuid, u32>,
    next_expiry: Option<Timestamp>,
) -> anyhow::Result<SeatSnapshot> {
    let (id, capacity, sold, held, status, opens, closes, starts, limit) = event;
    let types = types
        .iter()
        .filter(|t| t.1 == id)
        .map(|&(ty, _, quantity, sold, held, retired)| {
            let stale = expired.get(&ty).copied().unwrap_or(0);
            Ok(TypeSeats {
                id: TicketTypeId::from_uuid(ty),
                quantity: quantity.map(|q| to_u32(q, "quantity")).transpose()?,
                price_cents: 0, // admission does not price
                retired,
                sold: to_u32(sold, "type sold")?,
                held: to_u32(held, "type held")?.saturating_sub(stale),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let stale: u32 = types
        .iter()
        .filter_map(|t| expired.get(&t.id.as_uuid()))
        .sum();
    let seats = Seats {
        capacity: to_u32(capacity, "capacity")?,
        sold: to_u32(sold, "sold")?,
        held: to_u32(held, "held")?.saturating_sub(stale),
        types,
    };
    let status: EventStatus = status
        .parse()
        .map_err(|e: String| anyhow::anyhow!("event {id}: {e}"))?;
    // Retired types are left out: the gate leaves requests for them to the store, which
    // refuses them; the first type on sale is the default.
    let on_sale = seats.types.iter().any(|t| !t.retired);
    let sells = status == EventStatus::Scheduled && on_sale;
    Ok(SeatSnapshot {
        event_id: EventId::from_uuid(id),
        sales: sells.then_some((opens, closes.unwrap_or(starts))),
        free: seats.capacity.saturating_sub(seats.sold + seats.held),
        types: seats
            .types
            .iter()
            .filter(|t| !t.retired)
            .map(|t| TypeSnapshot {
                id: t.id,
                free: seats.free(t.id),
                quantity: t.quantity,
            })
            .collect(),
        max_tickets_per_user: limit
            .map(|m| to_u32(m, "max_tickets_per_user"))
            .transpose()?,
        next_expiry,
    })
}

#[async_trait]
impl SeatLedger for PgStore {
    async fn seat_snapshots(
        &self,
        events: &[EventId],
        reservations: &[Uuid],
        now: Timestamp,
    ) -> anyhow::Result<(Vec<SeatSnapshot>, Vec<Uuid>)> {
        let events: Vec<Uuid> = events.iter().map(|e| e.as_uuid()).collect();
        self.snapshot(async |conn| {
            let rows = events::table
                .filter(events::id.eq_any(&events))
                .select((
                    events::id,
                    events::capacity,
                    events::sold,
                    events::held,
                    events::status,
                    events::sales_open_at,
                    events::sales_close_at,
                    events::starts_at,
                    events::max_tickets_per_user,
                ))
                .load::<EventRow>(conn)
                .await
                .context("cannot read events")?;
            let types = ticket_types::table
                .filter(ticket_types::event_id.eq_any(&events))
                .order((ticket_types::event_id, ticket_types::position))
                .select((
                    ticket_types::id,
                    ticket_types::event_id,
                    ticket_types::quantity,
                    ticket_types::sold,
                    ticket_types::held,
                    ticket_types::retired,
                ))
                .load::<TypeRow>(conn)
                .await
                .context("cannot read ticket types")?;
            let expired = expired_held(conn, &events, now).await?;
            let expiries = next_expiries(conn, &events, now).await?;
            let recorded = recorded(conn, reservations).await?;
            let snapshots = rows
                .into_iter()
                .map(|row| {
                    let next = expiries.get(&row.0).copied();
                    snapshot(row, &types, &expired, next)
                })
                .collect::<anyhow::Result<_>>()?;
            Ok((snapshots, recorded))
        })
        .await
    }

    async fn tickets_of(&self, event: EventId, user: UserId) -> anyhow::Result<u32> {
        let users = self
            .run(async |conn| crate::batch::tickets_of_users(conn, event, &[user], true).await)
            .await?;
        Ok(users.get(&user).map_or(0, |u| u.tickets))
    }
}
