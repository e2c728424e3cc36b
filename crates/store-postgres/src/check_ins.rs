//! [`CheckIns`] over the `check_ins` table. A scan locks its booking's row, so scans of
//! one booking (and cancellations of it) take turns, and the domain decides.

use crate::PgStore;
use crate::models::BookingRow;
use crate::schema::{bookings, check_ins, ticket_voids};
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::ports::{CheckIns, UndoOutcome};
use boxoffice_domain::ticket::{
    BookingTickets, CheckIn, CheckInOutcome, CheckInWrite, Scanner, TicketClaims, TicketId,
    TicketNumber, decide_check_in,
};
use boxoffice_domain::{BookingId, EventId, TicketTypeId, Timestamp};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = check_ins, check_for_backend(diesel::pg::Pg))]
struct CheckInRow {
    id: Uuid,
    ticket_id: Uuid,
    event_id: Uuid,
    booking_id: Uuid,
    ticket_type_id: Uuid,
    number: i32,
    scanner_kind: String,
    scanner_id: Uuid,
    scanned_at: Timestamp,
    recorded_at: Timestamp,
}

impl CheckInRow {
    fn of(check_in: &CheckIn) -> Self {
        let ticket = &check_in.ticket;
        Self {
            id: check_in.id,
            ticket_id: ticket.ticket_id().as_uuid(),
            event_id: ticket.event_id.as_uuid(),
            booking_id: ticket.booking_id.as_uuid(),
            ticket_type_id: ticket.ticket_type_id.as_uuid(),
            number: i32::from(ticket.number.get()),
            scanner_kind: check_in.scanner.kind().to_owned(),
            scanner_id: check_in.scanner.id(),
            scanned_at: check_in.scanned_at,
            recorded_at: check_in.recorded_at,
        }
    }

    fn into_check_in(self) -> anyhow::Result<CheckIn> {
        let number = u32::try_from(self.number).map_err(anyhow::Error::msg)?;
        Ok(CheckIn {
            id: self.id,
            ticket: TicketClaims {
                event_id: EventId::from_uuid(self.event_id),
                booking_id: BookingId::from_uuid(self.booking_id),
                ticket_type_id: TicketTypeId::from_uuid(self.ticket_type_id),
                number: TicketNumber::new(number).map_err(anyhow::Error::msg)?,
            },
            scanner: Scanner::from_parts(&self.scanner_kind, self.scanner_id)
                .map_err(anyhow::Error::msg)?,
            scanned_at: self.scanned_at,
            recorded_at: self.recorded_at,
        })
    }
}

/// The booking with its check-ins in force; `lock` takes its row until the transaction ends.
async fn read_tickets(
    conn: &mut AsyncPgConnection,
    booking: BookingId,
    lock: bool,
) -> anyhow::Result<Option<BookingTickets>> {
    let query = bookings::table
        .find(booking.as_uuid())
        .select((BookingRow::as_select(), bookings::tickets_issued));
    let row = if lock {
        query
            .for_update()
            .first::<(BookingRow, Option<i32>)>(conn)
            .await
    } else {
        query.first::<(BookingRow, Option<i32>)>(conn).await
    }
    .optional()
    .with_context(|| format!("cannot read booking {booking}"))?;
    let Some((row, issued)) = row else {
        return Ok(None);
    };
    let booking = row.into_booking()?;
    let check_ins = check_ins::table
        .filter(check_ins::booking_id.eq(booking.id.as_uuid()))
        .filter(check_ins::ended_at.is_null())
        .select(CheckInRow::as_select())
        .load::<CheckInRow>(conn)
        .await
        .with_context(|| format!("cannot read the check-ins of booking {}", booking.id))?
        .into_iter()
        .map(CheckInRow::into_check_in)
        .collect::<anyhow::Result<_>>()?;
    let voided = ticket_voids::table
        .filter(ticket_voids::booking_id.eq(booking.id.as_uuid()))
        .select(ticket_voids::number)
        .load::<i32>(conn)
        .await
        .with_context(|| format!("cannot read the voided tickets of booking {}", booking.id))?
        .into_iter()
        .map(|n| TicketNumber::new(u32::try_from(n)?).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    Ok(Some(BookingTickets {
        issued: issued.map_or(Ok(booking.quantity), u32::try_from)?,
        voided,
        booking,
        check_ins,
    }))
}

/// Ends check-in `id` for `reason`; false when it had ended already.
async fn end(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    at: Timestamp,
    reason: &str,
) -> anyhow::Result<bool> {
    let ended = diesel::update(
        check_ins::table
            .find(id)
            .filter(check_ins::ended_at.is_null()),
    )
    .set((
        check_ins::ended_at.eq(at),
        check_ins::ended_reason.eq(reason),
    ))
    .execute(conn)
    .await
    .context("cannot end a check-in")?;
    Ok(ended == 1)
}

#[async_trait]
impl CheckIns for PgStore {
    async fn booking_tickets(&self, booking: BookingId) -> anyhow::Result<Option<BookingTickets>> {
        self.snapshot(async |conn| read_tickets(conn, booking, false).await)
            .await
    }

    async fn check_in(
        &self,
        scan: boxoffice_domain::ticket::Scan,
    ) -> anyhow::Result<CheckInOutcome> {
        self.transaction(async |conn| {
            let tickets = read_tickets(conn, scan.ticket.booking_id, true).await?;
            let (outcome, write) = decide_check_in(tickets.as_ref(), scan);
            match write {
                CheckInWrite::None => {}
                CheckInWrite::Insert(new) => insert(conn, &new).await?,
                CheckInWrite::Replace { old, new } => {
                    // Under the booking's lock, the check-in just read is still in force.
                    let ended = end(conn, old.id, new.recorded_at, "replaced").await?;
                    anyhow::ensure!(ended, "check-in {} ended under its booking's lock", old.id);
                    insert(conn, &new).await?;
                }
            }
            Ok(outcome)
        })
        .await
    }

    async fn void_tickets(
        &self,
        booking: BookingId,
        numbers: &[TicketNumber],
        at: Timestamp,
    ) -> anyhow::Result<()> {
        let rows: Vec<_> = numbers
            .iter()
            .map(|n| {
                (
                    ticket_voids::booking_id.eq(booking.as_uuid()),
                    ticket_voids::number.eq(i32::from(n.get())),
                    ticket_voids::voided_at.eq(at),
                )
            })
            .collect();
        self.run(async |conn| {
            diesel::insert_into(ticket_voids::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .execute(conn)
                .await
                .context("cannot record voided tickets")
        })
        .await?;
        Ok(())
    }

    async fn check_in_of(
        &self,
        event: EventId,
        ticket: TicketId,
    ) -> anyhow::Result<Option<CheckIn>> {
        self.run(async |conn| {
            check_ins::table
                .filter(check_ins::ticket_id.eq(ticket.as_uuid()))
                .filter(check_ins::event_id.eq(event.as_uuid()))
                .filter(check_ins::ended_at.is_null())
                .select(CheckInRow::as_select())
                .first::<CheckInRow>(conn)
                .await
                .optional()
                .context("cannot read a check-in")
        })
        .await?
        .map(CheckInRow::into_check_in)
        .transpose()
    }

    async fn undo(&self, id: Uuid, at: Timestamp) -> anyhow::Result<UndoOutcome> {
        self.transaction(async |conn| {
            let row = check_ins::table
                .find(id)
                .filter(check_ins::ended_at.is_null())
                .select(CheckInRow::as_select())
                .first::<CheckInRow>(conn)
                .await
                .optional()
                .context("cannot read a check-in")?;
            let Some(row) = row else {
                return Ok(UndoOutcome::NotCheckedIn);
            };
            // Take turns with the scans of the booking, as they take turns with each other.
            bookings::table
                .find(row.booking_id)
                .select(bookings::id)
                .for_update()
                .first::<Uuid>(conn)
                .await
                .context("cannot lock the booking of a check-in")?;
            if !end(conn, id, at, "undone").await? {
                return Ok(UndoOutcome::NotCheckedIn);
            }
            Ok(UndoOutcome::Undone(row.into_check_in()?))
        })
        .await
    }

    async fn checked_in_counts(&self, event: EventId) -> anyhow::Result<Vec<(TicketTypeId, u32)>> {
        let rows: Vec<(Uuid, i64)> = self
            .run(async |conn| {
                check_ins::table
                    .filter(check_ins::event_id.eq(event.as_uuid()))
                    .filter(check_ins::ended_at.is_null())
                    .group_by(check_ins::ticket_type_id)
                    .select((check_ins::ticket_type_id, diesel::dsl::count_star()))
                    .load(conn)
                    .await
                    .context("cannot count check-ins")
            })
            .await?;
        rows.into_iter()
            .map(|(id, n)| Ok((TicketTypeId::from_uuid(id), u32::try_from(n)?)))
            .collect()
    }

    async fn check_ins(
        &self,
        event: EventId,
        page: &PageRequest<Uuid>,
    ) -> anyhow::Result<Page<CheckIn, Uuid>> {
        let mut query = check_ins::table
            .filter(check_ins::event_id.eq(event.as_uuid()))
            .filter(check_ins::ended_at.is_null())
            .select(CheckInRow::as_select())
            .order(check_ins::id.asc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(check_ins::id.gt(after));
        }
        let rows = self
            .run(async |conn| query.load(conn).await.context("cannot list check-ins"))
            .await?;
        let page = Page::from_rows(rows, page.limit, |row: &CheckInRow| row.id);
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(CheckInRow::into_check_in)
                .collect::<anyhow::Result<_>>()?,
            next: page.next,
        })
    }
}

async fn insert(conn: &mut AsyncPgConnection, check_in: &CheckIn) -> anyhow::Result<()> {
    diesel::insert_into(check_ins::table)
        .values(CheckInRow::of(check_in))
        .execute(conn)
        .await
        .context("cannot record a check-in")?;
    Ok(())
}
