//! Rows as SQLite stores them and their reads, shared by the ports and the batch runner
//! (which the ports call, so the runner reads rows from here, not from the ports).

mod bookings;
mod entries;
mod events;
mod holds;

pub(crate) use bookings::{BookingRow, load_booking};
pub(crate) use entries::{EntryRow, listing, load_entry, load_listing};
pub(crate) use events::{EventRow, TicketTypeRow, load_event, with_ticket_types};
pub(crate) use holds::{HoldRow, load_hold};
