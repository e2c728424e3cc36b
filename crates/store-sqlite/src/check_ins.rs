//! [`CheckIns`] over the `check_ins` table. A scan is one write transaction, so scans
//! and seat batches take turns, and the domain decides.

use crate::SqliteStore;
use crate::convert::{count, instant, micros, uuid};
use crate::rows::BookingRow;
use crate::schema::{bookings, check_ins, ticket_voids};
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::ports::{CheckIns, UndoOutcome};
use boxoffice_domain::ticket::{
    BookingTickets, CheckIn, CheckInOutcome, CheckInWrite, Scan, Scanner, TicketClaims, TicketId,
    TicketNumber, decide_check_in,
};
use boxoffice_domain::{BookingId, EventId, TicketTypeId, Timestamp};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = check_ins, check_for_backend(diesel::sqlite::Sqlite))]
struct CheckInRow {
    id: String,
    ticket_id: String,
    event_id: String,
    booking_id: String,
    ticket_type_id: String,
    number: i32,
    scanner_kind: String,
    scanner_id: String,
    scanned_at: i64,
    recorded_at: i64,
}

impl CheckInRow {
    fn of(check_in: &CheckIn) -> Self {
        let ticket = &check_in.ticket;
        Self {
            id: check_in.id.to_string(),
            ticket_id: ticket.ticket_id().to_string(),
            event_id: ticket.event_id.to_string(),
            booking_id: ticket.booking_id.to_string(),
            ticket_type_id: ticket.ticket_type_id.to_string(),
            number: i32::from(ticket.number.get()),
            scanner_kind: check_in.scanner.kind().to_owned(),
            scanner_id: check_in.scanner.id().to_string(),
            scanned_at: micros(check_in.scanned_at),
            recorded_at: micros(check_in.recorded_at),
        }
    }

    fn into_check_in(self) -> anyhow::Result<CheckIn> {
        let number = u32::try_from(self.number).map_err(anyhow::Error::msg)?;
        Ok(CheckIn {
            id: uuid(&self.id)?,
            ticket: TicketClaims {
                event_id: EventId::from_uuid(uuid(&self.event_id)?),
                booking_id: BookingId::from_uuid(uuid(&self.booking_id)?),
                ticket_type_id: TicketTypeId::from_uuid(uuid(&self.ticket_type_id)?),
                number: TicketNumber::new(number).map_err(anyhow::Error::msg)?,
            },
            scanner: Scanner::from_parts(&self.scanner_kind, uuid(&self.scanner_id)?)
                .map_err(anyhow::Error::msg)?,
            scanned_at: instant(self.scanned_at)?,
            recorded_at: instant(self.recorded_at)?,
        })
    }
}

fn in_force() -> check_ins::BoxedQuery<'static, diesel::sqlite::Sqlite> {
    check_ins::table
        .filter(check_ins::ended_at.is_null())
        .into_boxed()
}

fn load(
    c: &mut SqliteConnection,
    query: check_ins::BoxedQuery<'static, diesel::sqlite::Sqlite>,
) -> anyhow::Result<Vec<CheckIn>> {
    query
        .select(CheckInRow::as_select())
        .load::<CheckInRow>(c)
        .context("cannot read check-ins")?
        .into_iter()
        .map(CheckInRow::into_check_in)
        .collect()
}

fn read_tickets(
    c: &mut SqliteConnection,
    booking: BookingId,
) -> anyhow::Result<Option<BookingTickets>> {
    let row = bookings::table
        .find(booking.to_string())
        .select((BookingRow::as_select(), bookings::tickets_issued))
        .first::<(BookingRow, Option<i32>)>(c)
        .optional()
        .context("cannot read a booking")?;
    let Some((row, issued)) = row else {
        return Ok(None);
    };
    let found = row.into_booking()?;
    let voided = ticket_voids::table
        .filter(ticket_voids::booking_id.eq(booking.to_string()))
        .select(ticket_voids::number)
        .load::<i32>(c)
        .context("cannot read voided tickets")?
        .into_iter()
        .map(|n| TicketNumber::new(count(n)?).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let query = in_force().filter(check_ins::booking_id.eq(booking.to_string()));
    Ok(Some(BookingTickets {
        issued: issued.map_or(Ok(found.quantity), count)?,
        voided,
        booking: found,
        check_ins: load(c, query)?,
    }))
}

/// Ends check-in `id` for `reason`; false when it had ended already.
fn end(c: &mut SqliteConnection, id: Uuid, at: Timestamp, reason: &str) -> anyhow::Result<bool> {
    let ended = diesel::update(
        check_ins::table
            .find(id.to_string())
            .filter(check_ins::ended_at.is_null()),
    )
    .set((
        check_ins::ended_at.eq(micros(at)),
        check_ins::ended_reason.eq(reason),
    ))
    .execute(c)
    .context("cannot end a check-in")?;
    Ok(ended == 1)
}

fn insert(c: &mut SqliteConnection, check_in: &CheckIn) -> anyhow::Result<()> {
    diesel::insert_into(check_ins::table)
        .values(CheckInRow::of(check_in))
        .execute(c)
        .context("cannot record a check-in")?;
    Ok(())
}

#[async_trait]
impl CheckIns for SqliteStore {
    async fn booking_tickets(&self, booking: BookingId) -> anyhow::Result<Option<BookingTickets>> {
        self.read(move |c| read_tickets(c, booking)).await
    }

    async fn check_in(&self, scan: Scan) -> anyhow::Result<CheckInOutcome> {
        self.write(move |c| {
            let tickets = read_tickets(c, scan.ticket.booking_id)?;
            let (outcome, write) = decide_check_in(tickets.as_ref(), scan);
            match write {
                CheckInWrite::None => {}
                CheckInWrite::Insert(new) => insert(c, &new)?,
                CheckInWrite::Replace { old, new } => {
                    let ended = end(c, old.id, new.recorded_at, "replaced")?;
                    anyhow::ensure!(ended, "check-in {} ended within its transaction", old.id);
                    insert(c, &new)?;
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
                    ticket_voids::booking_id.eq(booking.to_string()),
                    ticket_voids::number.eq(i32::from(n.get())),
                    ticket_voids::voided_at.eq(micros(at)),
                )
            })
            .collect();
        self.write(move |c| {
            diesel::insert_or_ignore_into(ticket_voids::table)
                .values(&rows)
                .execute(c)
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
        self.read(move |c| {
            let query = in_force()
                .filter(check_ins::ticket_id.eq(ticket.to_string()))
                .filter(check_ins::event_id.eq(event.to_string()));
            Ok(load(c, query)?.pop())
        })
        .await
    }

    async fn undo(&self, id: Uuid, at: Timestamp) -> anyhow::Result<UndoOutcome> {
        self.write(move |c| {
            let query = in_force().filter(check_ins::id.eq(id.to_string()));
            let Some(check_in) = load(c, query)?.pop() else {
                return Ok(UndoOutcome::NotCheckedIn);
            };
            end(c, id, at, "undone")?;
            Ok(UndoOutcome::Undone(check_in))
        })
        .await
    }

    async fn checked_in_counts(&self, event: EventId) -> anyhow::Result<Vec<(TicketTypeId, u32)>> {
        let rows: Vec<(String, i64)> = self
            .read(move |c| {
                check_ins::table
                    .filter(check_ins::event_id.eq(event.to_string()))
                    .filter(check_ins::ended_at.is_null())
                    .group_by(check_ins::ticket_type_id)
                    .select((check_ins::ticket_type_id, diesel::dsl::count_star()))
                    .load(c)
                    .context("cannot count check-ins")
            })
            .await?;
        rows.into_iter()
            .map(|(id, n)| Ok((TicketTypeId::from_uuid(uuid(&id)?), u32::try_from(n)?)))
            .collect()
    }

    async fn check_ins(
        &self,
        event: EventId,
        page: &PageRequest<Uuid>,
    ) -> anyhow::Result<Page<CheckIn, Uuid>> {
        let page = page.clone();
        self.read(move |c| {
            let mut query = in_force()
                .filter(check_ins::event_id.eq(event.to_string()))
                .order(check_ins::id.asc())
                .limit(i64::from(page.limit) + 1);
            if let Some(after) = page.after {
                query = query.filter(check_ins::id.gt(after.to_string()));
            }
            let rows = load(c, query)?;
            Ok(Page::from_rows(rows, page.limit, |row: &CheckIn| row.id))
        })
        .await
    }
}
