//! Seat figures per event for organizers, in one aggregate query.

use crate::SqliteStore;
use crate::convert::{count, micros, uuid};
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::ports::{Analytics, EventStats};
use boxoffice_domain::{EventId, Timestamp, UserId};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

#[derive(QueryableByName)]
struct StatsRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    capacity: i32,
    #[diesel(sql_type = Integer)]
    sold: i32,
    #[diesel(sql_type = Integer)]
    held: i32,
    #[diesel(sql_type = BigInt)]
    booked_since: i64,
    #[diesel(sql_type = Integer)]
    cancelled_seats: i32,
    #[diesel(sql_type = Integer)]
    waitlist_count: i32,
}

impl StatsRow {
    fn into_stats(self) -> anyhow::Result<EventStats> {
        Ok(EventStats {
            event_id: EventId::from_uuid(uuid(&self.id)?),
            name: self.name,
            capacity: count(self.capacity)?,
            sold: count(self.sold)?,
            held: count(self.held)?,
            booked_since: u32::try_from(self.booked_since)?,
            cancelled: count(self.cancelled_seats)?,
            waitlist_count: count(self.waitlist_count)?,
        })
    }
}

/// Per event: its counters and the seats of its confirmed bookings made since `?1`;
/// only events of organizer `?2` unless it is NULL.
const EVENT_STATS: &str = "\
    SELECT e.id, e.name, e.capacity, e.sold, e.held, e.cancelled_seats, e.waitlist_count, \
           coalesce(sum(b.quantity), 0) AS booked_since \
      FROM events e \
      LEFT JOIN bookings b \
        ON b.event_id = e.id AND b.status = 'confirmed' AND b.created_at >= ?1 \
     WHERE ?2 IS NULL OR e.organizer_id = ?2 \
     GROUP BY e.id \
     ORDER BY e.starts_at, e.id";

#[async_trait]
impl Analytics for SqliteStore {
    async fn event_stats(
        &self,
        organizer: Option<UserId>,
        since: Timestamp,
    ) -> anyhow::Result<Vec<EventStats>> {
        self.read(move |c| {
            diesel::sql_query(EVENT_STATS)
                .bind::<BigInt, _>(micros(since))
                .bind::<Nullable<Text>, _>(organizer.map(|o| o.to_string()))
                .load::<StatsRow>(c)
                .context("cannot compute event stats")?
                .into_iter()
                .map(StatsRow::into_stats)
                .collect()
        })
        .await
    }
}
