//! Ticket types after their event's creation: added, repriced, resized and retired,
//! alone and racing bookings.

use crate::EngineStores;
use crate::engine::{
    attendee, attendees, base, booking, entry, open_event, organizer, promoted_booking, queue,
    seats, secs, seen, still_waiting, two_type_event,
};
use crate::fixtures::ticket_type;
use boxoffice_domain::booking::{ClosedReason, OnSoldOut, WaitlistEntry, WaitlistStatus};
use boxoffice_domain::event::{Event, TicketTypeChanges};
use boxoffice_domain::ports::{
    BookError, HoldError, JoinWaitlistError, SeatRequest, TicketTypeError,
};
use boxoffice_domain::seats::SaleRefusal;
use boxoffice_domain::{EventId, HoldId, TicketTypeId, Timestamp, UserId};
use futures_util::future::join_all;

fn set_quantity(quantity: Option<u32>) -> TicketTypeChanges {
    TicketTypeChanges {
        quantity: Some(quantity),
        ..TicketTypeChanges::default()
    }
}

fn set_price(price_cents: i64) -> TicketTypeChanges {
    TicketTypeChanges {
        price_cents: Some(price_cents),
        ..TicketTypeChanges::default()
    }
}

async fn change(
    stores: &EngineStores,
    event: EventId,
    ty: TicketTypeId,
    changes: &TicketTypeChanges,
    t: Timestamp,
) -> Result<Event, TicketTypeError> {
    stores
        .events
        .change_ticket_type(event, ty, changes, t)
        .await
}

/// Joins the queue of `event` for `n` seats of `ty`.
async fn join(stores: &EngineStores, request: &SeatRequest, t: Timestamp) -> WaitlistEntry {
    stores
        .waitlists
        .join(request, t)
        .await
        .unwrap_or_else(|e| panic!("join {request:?}: {e:?}"))
}

/// An added type is sold after the others; names stay unique within the event
/// (ignoring case); cancelled and unknown events refuse.
pub async fn added_types_sell_and_keep_names_unique(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let student = ticket_type("Student", 500, Some(3));
    let added = stores
        .events
        .add_ticket_type(ev.id, &student, secs(t, 1))
        .await
        .expect("add a type");
    let names: Vec<_> = added
        .ticket_types
        .iter()
        .map(|ty| ty.name.as_str())
        .collect();
    assert_eq!(names, ["General", "Student"], "added after the others");
    let shown = &added.ticket_types[1];
    assert_eq!(
        (shown.id, shown.price_cents, shown.quantity, shown.retired),
        (student.id, 500, Some(3), false)
    );
    let booked = book_request(&stores, ev.id, Some(student.id), ann.id, 2, secs(t, 2)).await;
    let booked = booked
        .expect("book the added type")
        .booking
        .expect("a booking");
    assert_eq!(
        (booked.ticket_type_id, booked.price_cents),
        (student.id, 500)
    );

    let twin = ticket_type("  student ", 100, None);
    let refused = stores
        .events
        .add_ticket_type(ev.id, &twin, secs(t, 3))
        .await;
    assert!(
        matches!(refused, Err(TicketTypeError::NameTaken)),
        "{refused:?}"
    );
    let rename = TicketTypeChanges {
        name: Some("GENERAL".to_owned()),
        ..TicketTypeChanges::default()
    };
    let renamed = change(&stores, ev.id, student.id, &rename, secs(t, 3)).await;
    assert!(
        matches!(renamed, Err(TicketTypeError::NameTaken)),
        "{renamed:?}"
    );
    let rename = TicketTypeChanges {
        name: Some("Students".to_owned()),
        ..TicketTypeChanges::default()
    };
    let renamed = change(&stores, ev.id, student.id, &rename, secs(t, 3))
        .await
        .expect("rename");
    assert_eq!(renamed.ticket_types[1].name, "Students");

    let unknown = stores
        .events
        .add_ticket_type(EventId::generate(), &ticket_type("X", 0, None), t)
        .await;
    assert!(
        matches!(unknown, Err(TicketTypeError::NotFound)),
        "{unknown:?}"
    );
    stores
        .events
        .cancel(ev.id, secs(t, 4))
        .await
        .expect("cancel");
    let late = ticket_type("Late", 0, None);
    let cancelled = stores
        .events
        .add_ticket_type(ev.id, &late, secs(t, 5))
        .await;
    assert!(
        matches!(cancelled, Err(TicketTypeError::EventCancelled)),
        "{cancelled:?}"
    );
    let changed = change(&stores, ev.id, student.id, &set_price(1), secs(t, 5)).await;
    assert!(
        matches!(changed, Err(TicketTypeError::EventCancelled)),
        "{changed:?}"
    );
}

async fn book_request(
    stores: &EngineStores,
    event: EventId,
    ty: Option<TicketTypeId>,
    user: UserId,
    n: u32,
    t: Timestamp,
) -> Result<boxoffice_domain::booking::BookingOutcome, BookError> {
    let request = booking(seats(event, ty, user, n), OnSoldOut::Waitlist, false);
    stores.bookings.book(&request, t).await
}

/// A new price applies to holds and bookings made afterwards; a hold keeps the price it
/// was taken at when confirmed; stored bookings keep theirs.
pub async fn a_new_price_applies_to_what_is_taken_afterwards(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = two_type_event(&stores, &org, t, 10, 5).await;
    let general = ev.ticket_types[1].id;
    let before = book_request(&stores, ev.id, Some(general), ann.id, 1, secs(t, 1))
        .await
        .expect("book")
        .booking
        .expect("a booking");
    let hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(general), bob.id, 1),
            secs(t, 1),
            secs(t, 600),
        )
        .await
        .expect("hold");
    assert_eq!((before.price_cents, hold.price_cents), (2000, 2000));
    let changed = change(&stores, ev.id, general, &set_price(2500), secs(t, 2))
        .await
        .expect("reprice");
    assert_eq!(changed.ticket_types[1].price_cents, 2500);
    let after = book_request(&stores, ev.id, Some(general), ann.id, 1, secs(t, 3))
        .await
        .expect("book")
        .booking
        .expect("a booking");
    assert_eq!(after.price_cents, 2500);
    let confirmed = stores
        .reservations
        .confirm_hold(hold.id, bob.id, secs(t, 3))
        .await
        .expect("confirm");
    assert_eq!(confirmed.price_cents, 2000, "the hold's price");
    let stored = stores.bookings.find_booking(before.id).await.expect("find");
    assert_eq!(stored.map(|b| b.price_cents), Some(2000));
}

/// A raised quantity promotes the type's queue in FIFO order in the same change; a
/// quantity below sold + held is refused; a lower one closes the entries that want
/// more than it; `None` lifts the cap.
pub async fn quantity_changes_promote_refuse_and_close(stores: EngineStores) {
    let org = organizer(&stores).await;
    let users = attendees(&stores, 4).await;
    let t = base();
    let ev = two_type_event(&stores, &org, t, 20, 3).await;
    let vip = ev.ticket_types[0].id;
    let vip_seats = |user: UserId, n| seats(ev.id, Some(vip), user, n);
    let booked = book_request(&stores, ev.id, Some(vip), users[0].id, 3, secs(t, 1)).await;
    assert!(booked.is_ok_and(|o| o.booking.is_some()), "VIP sold out");
    let first = join(&stores, &vip_seats(users[1].id, 2), secs(t, 2)).await;
    let second = join(&stores, &vip_seats(users[2].id, 1), secs(t, 2)).await;
    let refused = change(&stores, ev.id, vip, &set_quantity(Some(2)), secs(t, 3)).await;
    assert!(
        matches!(
            refused,
            Err(TicketTypeError::QuantityBelowSold { taken: 3 })
        ),
        "{refused:?}"
    );
    let raised = change(&stores, ev.id, vip, &set_quantity(Some(6)), secs(t, 3))
        .await
        .expect("raise");
    assert_eq!(
        (raised.ticket_types[0].sold, raised.waitlist_count),
        (6, 0),
        "the returned event shows the promotions"
    );
    let promotions = [
        promoted_booking(&stores, &first).await,
        promoted_booking(&stores, &second).await,
    ];

    // 4 seats wait while 3 are free; a cap of 3 means they never can be served.
    let big = join(&stores, &vip_seats(users[3].id, 4), secs(t, 4)).await;
    for b in &promotions {
        let cancelled = stores.bookings.cancel_booking(b.id, None, secs(t, 5)).await;
        cancelled.expect("cancel a promotion");
    }
    still_waiting(&stores, &big, 1).await;
    let lowered = change(&stores, ev.id, vip, &set_quantity(Some(3)), secs(t, 6))
        .await
        .expect("lower to what is taken");
    assert_eq!(
        (lowered.ticket_types[0].quantity, lowered.waitlist_count),
        (Some(3), 0)
    );
    let closed = entry(&stores, users[3].id, big.id).await;
    assert_eq!(
        (closed.status, closed.closed_reason, closed.position),
        (
            WaitlistStatus::Closed,
            Some(ClosedReason::QuantityLowered),
            None
        )
    );
    let lifted = change(&stores, ev.id, vip, &set_quantity(None), secs(t, 7))
        .await
        .expect("lift");
    assert_eq!(lifted.ticket_types[0].quantity, None);
    let past = book_request(&stores, ev.id, Some(vip), users[3].id, 10, secs(t, 8))
        .await
        .expect("book past the old cap");
    assert_eq!(past.booking.map(|b| b.quantity), Some(10));
    let unknown = change(
        &stores,
        ev.id,
        TicketTypeId::generate(),
        &set_price(1),
        secs(t, 9),
    )
    .await;
    assert!(
        matches!(unknown, Err(TicketTypeError::NotFound)),
        "{unknown:?}"
    );
}

/// A retired type sells nothing (holds, bookings, joins), its queue closes, its holds
/// still confirm, retiring again changes nothing, and requests without a type go to
/// the first type still on sale.
pub async fn retired_types_stop_selling_and_close_their_queue(stores: EngineStores) {
    let org = organizer(&stores).await;
    let users = attendees(&stores, 4).await;
    let t = base();
    let ev = two_type_event(&stores, &org, t, 10, 2).await;
    let (vip, general) = (ev.ticket_types[0].id, ev.ticket_types[1].id);
    let hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, Some(vip), users[0].id, 2),
            secs(t, 1),
            secs(t, 600),
        )
        .await
        .expect("hold the VIP seats");
    let waiting = join(
        &stores,
        &seats(ev.id, Some(vip), users[1].id, 1),
        secs(t, 2),
    )
    .await;
    let retired = stores
        .events
        .retire_ticket_type(ev.id, vip, secs(t, 3))
        .await
        .expect("retire");
    let shown = &retired.ticket_types[0];
    assert!(shown.retired);
    assert_eq!((shown.held, retired.waitlist_count), (2, 0));
    let closed = entry(&stores, users[1].id, waiting.id).await;
    assert_eq!(
        (closed.status, closed.closed_reason),
        (
            WaitlistStatus::Closed,
            Some(ClosedReason::TicketTypeRetired)
        )
    );
    stores
        .events
        .retire_ticket_type(ev.id, vip, secs(t, 4))
        .await
        .expect("retiring again is harmless");

    let retired_refusal = SaleRefusal::TicketTypeRetired;
    let request = seats(ev.id, Some(vip), users[2].id, 1);
    let held = stores
        .reservations
        .hold(HoldId::generate(), &request, secs(t, 5), secs(t, 600))
        .await;
    assert!(
        matches!(held, Err(HoldError::Refused(r)) if r == retired_refusal),
        "{held:?}"
    );
    let booked = book_request(&stores, ev.id, Some(vip), users[2].id, 1, secs(t, 5)).await;
    assert!(
        matches!(booked, Err(BookError::Refused(r)) if r == retired_refusal),
        "{booked:?}"
    );
    let joined = stores.waitlists.join(&request, secs(t, 5)).await;
    assert!(
        matches!(joined, Err(JoinWaitlistError::Refused(r)) if r == retired_refusal),
        "{joined:?}"
    );
    let changed = change(&stores, ev.id, vip, &set_price(1), secs(t, 5)).await;
    assert!(
        matches!(changed, Err(TicketTypeError::Retired)),
        "{changed:?}"
    );

    let default = book_request(&stores, ev.id, None, users[2].id, 1, secs(t, 6))
        .await
        .expect("book without a type")
        .booking
        .expect("a booking");
    assert_eq!(default.ticket_type_id, general, "the first type on sale");
    let confirmed = stores
        .reservations
        .confirm_hold(hold.id, users[0].id, secs(t, 7))
        .await
        .expect("a hold of a retired type still confirms");
    assert_eq!(
        (confirmed.ticket_type_id, confirmed.price_cents),
        (vip, 9000)
    );
    let e = seen(&stores, ev.id, secs(t, 7)).await;
    assert_eq!((e.sold, e.held, e.ticket_types[0].sold), (3, 0, 2));

    stores
        .events
        .retire_ticket_type(ev.id, general, secs(t, 8))
        .await
        .expect("retire the last type on sale");
    let none_left = book_request(&stores, ev.id, None, users[3].id, 1, secs(t, 9)).await;
    assert!(
        matches!(none_left, Err(BookError::Refused(r)) if r == retired_refusal),
        "{none_left:?}"
    );
}

/// Bookings of a capped type racing raises and cuts of its quantity and a price
/// change: the type and the event are never oversold, every cut below what is taken is
/// refused, and each booking has exactly one of the two prices.
pub async fn bookings_racing_type_changes_never_oversell(stores: EngineStores) {
    const CLIENTS: usize = 40;
    let org = organizer(&stores).await;
    let users = attendees(&stores, CLIENTS).await;
    let t = base();
    let ev = two_type_event(&stores, &org, t, 30, 10).await;
    let vip = ev.ticket_types[0].id;
    let books = users.iter().enumerate().map(|(i, user)| {
        let stores = stores.clone();
        let user = user.id;
        async move {
            let at = secs(t, 1 + i64::try_from(i % 5).expect("small"));
            let request = booking(seats(ev.id, Some(vip), user, 2), OnSoldOut::Waitlist, false);
            match stores.bookings.book(&request, at).await {
                Ok(outcome) => outcome.booking.map(|b| b.price_cents),
                Err(e) => panic!("book: {e:?}"),
            }
        }
    });
    let changes = (0..12_u32).map(|i| {
        let stores = stores.clone();
        async move {
            let at = secs(t, 1 + i64::from(i % 5));
            let changes = if i == 6 {
                set_price(9500)
            } else {
                set_quantity(Some(if i % 2 == 0 { 4 + i } else { 20 - i }))
            };
            match change(&stores, ev.id, vip, &changes, at).await {
                Ok(e) => {
                    let ty = &e.ticket_types[0];
                    assert!(ty.quantity.is_none_or(|q| ty.sold + ty.held <= q), "{e:?}");
                }
                Err(TicketTypeError::QuantityBelowSold { .. }) => {}
                Err(e) => panic!("change: {e:?}"),
            }
        }
    });
    let (prices, ()) = tokio::join!(join_all(books), async {
        join_all(changes).await;
    });
    for price in prices.into_iter().flatten() {
        assert!(price == 9000 || price == 9500, "price {price}");
    }
    let e = seen(&stores, ev.id, secs(t, 10)).await;
    let ty = &e.ticket_types[0];
    assert!(
        ty.quantity.is_none_or(|q| ty.sold <= q),
        "type oversold: {e:?}"
    );
    assert!(e.sold <= e.details.capacity, "event oversold: {e:?}");
    let confirmed = queue(&stores, ev.id, WaitlistStatus::Promoted).await.len();
    let waiting = queue(&stores, ev.id, WaitlistStatus::Waiting).await;
    let closed = queue(&stores, ev.id, WaitlistStatus::Closed).await;
    assert_eq!(
        u32::try_from(waiting.len()).expect("small"),
        e.waitlist_count
    );
    assert!(closed.is_empty(), "2 seats always fit a cap of 4 or more");
    eprintln!(
        "type changes racing bookings: VIP cap {:?}, sold {}, {confirmed} promoted, {} waiting",
        ty.quantity,
        ty.sold,
        waiting.len()
    );
    if let Some(head) = waiting.first() {
        assert!(head.quantity > ty.available(e.availability().available));
    }
}
