//! [`Analytics`]: seat figures per event, in one aggregate query.

use crate::PgStore;
use crate::models::to_u32;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::ports::{Analytics, EventStats};
use boxoffice_domain::{EventId, Timestamp, UserId};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

/// Per event: its counters, and the seats of confirmed bookings made since `$1`;
/// every event, or only those of organizer `$2`.
const EVENT_STATS: &str = "
    SELECT e.id, e.name, e.capacity, e.sold, e.held, e.cancelled_seats, e.waitlist_count,
           COALESCE(SUM(b.quantity), 0)::bigint AS booked_since
    FROM events e
    LEFT JOIN bookings b
           ON b.event_id = e.id AND b.status = 'confirmed' AND b.created_at >= $1
    WHERE $2::uuid IS NULL OR e.organizer_id = $2
    GROUP BY e.id
    ORDER BY e.starts_at, e.id";

#[derive(diesel::QueryableByName)]
struct StatsRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    capacity: i32,
    #[diesel(sql_type = Integer)]
    sold: i32,
    #[diesel(sql_type = Integer)]
    held: i32,
    #[diesel(sql_type = Integer)]
    cancelled_seats: i32,
    #[diesel(sql_type = Integer)]
    waitlist_count: i32,
    #[diesel(sql_type = BigInt)]
    booked_since: i64,
}

impl StatsRow {
    fn into_stats(self) -> anyhow::Result<EventStats> {
        Ok(EventStats {
            event_id: EventId::from_uuid(self.id),
            name: self.name,
            capacity: to_u32(self.capacity, "capacity")?,
            sold: to_u32(self.sold, "sold")?,
            held: to_u32(self.held, "held")?,
            booked_since: u32::try_from(self.booked_since).context("booked seats out of range")?,
            cancelled: to_u32(self.cancelled_seats, "cancelled_seats")?,
            waitlist_count: to_u32(self.waitlist_count, "waitlist_count")?,
        })
    }
}

#[async_trait]
impl Analytics for PgStore {
    async fn event_stats(
        &self,
        organizer: Option<UserId>,
        since: Timestamp,
    ) -> anyhow::Result<Vec<EventStats>> {
        self.run(async |conn| {
            diesel::sql_query(EVENT_STATS)
                .bind::<Timestamptz, _>(since)
                .bind::<Nullable<SqlUuid>, _>(organizer.map(|o| o.as_uuid()))
                .load::<StatsRow>(conn)
                .await
                .context("cannot compute event stats")
        })
        .await?
        .into_iter()
        .map(StatsRow::into_stats)
        .collect()
    }
}
