//! Builders and observers shared by the booking-engine contract tests.
//!
//! Every test passes explicit instants, all derived from one `base()` and moving forward,
//! so expiry is tested without sleeping. Events start a month after the base and have no
//! sales window unless a test sets one, so every instant a test uses is inside sales.

use crate::EngineStores;
use crate::fixtures::{event_details, new_event, new_user, now, ticket_type};
use boxoffice_domain::booking::{
    Booking, BookingOutcome, BookingStatus, OnSoldOut, Quantity, WaitlistEntry, WaitlistStatus,
};
use boxoffice_domain::event::{Event, EventDetails, NewTicketType};
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::ports::{BookError, BookRequest, Idempotency, SeatRequest};
use boxoffice_domain::time::to_store_precision;
use boxoffice_domain::user::{Role, User};
use boxoffice_domain::{BookingId, EventId, TicketTypeId, Timestamp, UserId};
use chrono::Duration;

/// The instant tests count from: now, at store precision.
#[must_use]
pub fn base() -> Timestamp {
    to_store_precision(now())
}

/// `t` plus `s` seconds.
#[must_use]
pub fn secs(t: Timestamp, s: i64) -> Timestamp {
    t + Duration::seconds(s)
}

/// Creates an attendee with a unique email.
pub async fn attendee(stores: &EngineStores) -> User {
    let new = new_user(&format!("attendee-{}@example.org", UserId::generate()));
    stores.users.create(&new).await.expect("create attendee")
}

/// Creates `n` attendees (concurrently).
pub async fn attendees(stores: &EngineStores, n: usize) -> Vec<User> {
    let mut users = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let made = futures_util::future::join_all(chunk.iter().map(|_| attendee(stores))).await;
        users.extend(made);
    }
    users
}

/// Creates an organizer with a unique email.
pub async fn organizer(stores: &EngineStores) -> User {
    let mut new = new_user(&format!("organizer-{}@example.org", UserId::generate()));
    new.role = Role::Organizer;
    stores.users.create(&new).await.expect("create organizer")
}

/// Details of an event starting 30 days after `t` with `capacity` seats, no sales window
/// and no per-user limit.
#[must_use]
pub fn open_details(t: Timestamp, capacity: u32) -> EventDetails {
    EventDetails {
        capacity,
        max_tickets_per_user: None,
        sales_open_at: None,
        sales_close_at: None,
        ..event_details(t + Duration::days(30))
    }
}

/// Creates an event of `org` with these details and ticket types.
pub async fn event_with(
    stores: &EngineStores,
    org: &User,
    details: EventDetails,
    types: Vec<NewTicketType>,
) -> Event {
    let new = new_event(org.id, details, types);
    stores.events.create(&new).await.expect("create event")
}

/// Creates an open event (see [`open_details`]) of `org` with one `General` type.
pub async fn open_event(stores: &EngineStores, org: &User, t: Timestamp, capacity: u32) -> Event {
    event_with(
        stores,
        org,
        open_details(t, capacity),
        vec![NewTicketType::general()],
    )
    .await
}

/// Creates an open event with a capped `VIP` type (first) and an uncapped `General` one.
pub async fn two_type_event(
    stores: &EngineStores,
    org: &User,
    t: Timestamp,
    capacity: u32,
    vip_quota: u32,
) -> Event {
    let types = vec![
        ticket_type("VIP", 9000, Some(vip_quota)),
        ticket_type("General", 2000, None),
    ];
    event_with(stores, org, open_details(t, capacity), types).await
}

/// A quantity known to be valid.
#[must_use]
pub fn qty(n: u32) -> Quantity {
    Quantity::new(n).expect("valid quantity")
}

/// A request of `user` for `n` seats of `ty` (`None`: the first type) of `event`.
#[must_use]
pub fn seats(event: EventId, ty: Option<TicketTypeId>, user: UserId, n: u32) -> SeatRequest {
    SeatRequest {
        event_id: event,
        ticket_type_id: ty,
        user_id: user,
        quantity: qty(n),
    }
}

/// A booking request without idempotency key.
#[must_use]
pub fn booking(seats: SeatRequest, on_sold_out: OnSoldOut, allow_partial: bool) -> BookRequest {
    BookRequest {
        booking_id: BookingId::generate(),
        seats,
        on_sold_out,
        allow_partial,
        idempotency: None,
    }
}

/// The same request with an idempotency key and request hash.
#[must_use]
pub fn keyed(request: BookRequest, key: &str, hash: &str) -> BookRequest {
    BookRequest {
        idempotency: Some(Idempotency {
            key: key.to_owned(),
            request_hash: hash.to_owned(),
        }),
        ..request
    }
}

/// Books `n` seats of the first type for `user` at `t`, expecting a booking of all of them.
pub async fn book_n(
    stores: &EngineStores,
    event: EventId,
    user: UserId,
    n: u32,
    t: Timestamp,
) -> Booking {
    let outcome = stores
        .bookings
        .book(
            &booking(seats(event, None, user, n), OnSoldOut::Fail, false),
            t,
        )
        .await;
    let outcome = outcome.unwrap_or_else(|e| panic!("booking {n} seats failed: {e:?}"));
    assert_eq!(outcome.waitlist_entry, None, "a full booking has no entry");
    let booked = outcome.booking.expect("a booking");
    assert_eq!(booked.quantity, n);
    booked
}

/// Books `n` seats of the first type at `t` when they are not free, expecting an entry only.
pub async fn wait_n(
    stores: &EngineStores,
    event: EventId,
    user: UserId,
    n: u32,
    t: Timestamp,
) -> WaitlistEntry {
    let outcome = stores
        .waitlists
        .join(&seats(event, None, user, n), t)
        .await
        .unwrap_or_else(|e| panic!("joining for {n} seats failed: {e:?}"));
    assert_eq!(outcome.quantity, n);
    assert_eq!(outcome.status, WaitlistStatus::Waiting);
    outcome
}

/// Asserts a booking outcome is a booking of `n` and nothing else.
pub fn only_booking(outcome: &Result<BookingOutcome, BookError>, n: u32) -> Booking {
    match outcome {
        Ok(BookingOutcome {
            booking: Some(b),
            waitlist_entry: None,
        }) if b.quantity == n => b.clone(),
        other => panic!("expected a booking of {n} seats only, got {other:?}"),
    }
}

/// The event as `find` sees it at `t`.
pub async fn seen(stores: &EngineStores, event: EventId, t: Timestamp) -> Event {
    stores
        .events
        .find(event, t)
        .await
        .expect("find event")
        .expect("event exists")
}

/// `(sold, held, waitlist_count)` of the event as `find` sees it at `t`.
pub async fn counters(stores: &EngineStores, event: EventId, t: Timestamp) -> (u32, u32, u32) {
    let e = seen(stores, event, t).await;
    (e.sold, e.held, e.waitlist_count)
}

/// `(sold, held)` of each ticket type, in the event's order, as `find` sees it at `t`.
pub async fn type_counters(stores: &EngineStores, event: EventId, t: Timestamp) -> Vec<(u32, u32)> {
    seen(stores, event, t)
        .await
        .ticket_types
        .iter()
        .map(|ty| (ty.sold, ty.held))
        .collect()
}

/// Every booking of `user` with `status` (any when `None`), newest first, over all pages.
pub async fn all_bookings(
    stores: &EngineStores,
    user: UserId,
    status: Option<BookingStatus>,
) -> Vec<Booking> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = stores
            .bookings
            .user_bookings(user, status, &PageRequest { limit: 100, after })
            .await
            .expect("user bookings");
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// Every entry of `event` with `status`, in the listing's order, over all pages.
pub async fn queue(
    stores: &EngineStores,
    event: EventId,
    status: WaitlistStatus,
) -> Vec<WaitlistEntry> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = stores
            .waitlists
            .event_queue(event, status, &PageRequest { limit: 100, after })
            .await
            .expect("event queue");
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// Every entry of `user`, newest first, over all pages.
pub async fn entries(stores: &EngineStores, user: UserId) -> Vec<WaitlistEntry> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = stores
            .waitlists
            .user_entries(user, &PageRequest { limit: 100, after })
            .await
            .expect("user entries");
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// The entry `id` of `user`, as `user_entries` lists it now.
pub async fn entry(
    stores: &EngineStores,
    user: UserId,
    id: boxoffice_domain::WaitlistEntryId,
) -> WaitlistEntry {
    entries(stores, user)
        .await
        .into_iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("entry {id} is listed for its user"))
}

/// Asserts `entry` was promoted into a confirmed waitlist booking of its seats and returns it.
pub async fn promoted_booking(stores: &EngineStores, entry: &WaitlistEntry) -> Booking {
    let now_entry = self::entry(stores, entry.user_id, entry.id).await;
    assert_eq!(
        now_entry.status,
        WaitlistStatus::Promoted,
        "entry {:?}",
        now_entry
    );
    assert_eq!(now_entry.position, None, "a promoted entry has no position");
    let id = now_entry
        .booking_id
        .expect("a promoted entry names its booking");
    let booked = stores
        .bookings
        .find_booking(id)
        .await
        .expect("find booking")
        .expect("the promotion's booking exists");
    assert_eq!(
        (
            booked.event_id,
            booked.ticket_type_id,
            booked.user_id,
            booked.quantity
        ),
        (
            entry.event_id,
            entry.ticket_type_id,
            entry.user_id,
            entry.quantity
        ),
        "the promotion books the entry's seats for its user"
    );
    assert_eq!(booked.status, BookingStatus::Confirmed);
    assert_eq!(
        booked.source,
        boxoffice_domain::booking::BookingSource::Waitlist
    );
    assert!(
        all_bookings(stores, entry.user_id, None)
            .await
            .iter()
            .any(|b| b.id == id),
        "the promotion's booking is in the user's bookings"
    );
    booked
}

/// Asserts `entry` is still waiting, at `position`.
pub async fn still_waiting(stores: &EngineStores, entry: &WaitlistEntry, position: u32) {
    let now_entry = self::entry(stores, entry.user_id, entry.id).await;
    assert_eq!(
        (now_entry.status, now_entry.position, now_entry.booking_id),
        (WaitlistStatus::Waiting, Some(position), None),
        "entry of {} seats still waits at {position}",
        entry.quantity
    );
}
