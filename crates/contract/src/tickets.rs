//! Contract of [`CheckIns`](boxoffice_domain::ports::CheckIns) and
//! [`ApiTokens`](boxoffice_domain::ports::ApiTokens): a ticket checks in once whatever
//! the race, follows its booking's cancellations, and tokens are found by hash only.

use crate::EngineStores;
use crate::engine::{attendee, base, book_n, open_event, organizer, qty, secs};
use boxoffice_domain::api_token::{ApiToken, Scope, generate_token};
use boxoffice_domain::booking::Booking;
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::ports::UndoOutcome;
use boxoffice_domain::ticket::{
    CheckInOutcome, Scan, Scanner, TicketClaims, TicketNumber, TicketStatus,
};
use boxoffice_domain::time::to_store_precision;
use boxoffice_domain::{Timestamp, UserId};
use futures_util::future::join_all;

fn claims(booking: &Booking, n: u32) -> TicketClaims {
    TicketClaims {
        event_id: booking.event_id,
        booking_id: booking.id,
        ticket_type_id: booking.ticket_type_id,
        number: TicketNumber::new(n).expect("in range"),
    }
}

fn scan(booking: &Booking, n: u32, scanned_at: Timestamp) -> Scan {
    Scan {
        ticket: claims(booking, n),
        scanner: Scanner::User(UserId::generate()),
        scanned_at: to_store_precision(scanned_at),
        recorded_at: to_store_precision(scanned_at),
        offline: false,
    }
}

fn offline_scan(booking: &Booking, n: u32, scanned_at: Timestamp) -> Scan {
    Scan {
        offline: true,
        ..scan(booking, n, scanned_at)
    }
}

async fn statuses(stores: &EngineStores, booking: &Booking) -> Vec<&'static str> {
    stores
        .check_ins
        .booking_tickets(booking.id)
        .await
        .expect("read")
        .expect("the booking")
        .tickets()
        .iter()
        .map(|t| t.status.as_str())
        .collect()
}

/// 50 online scans of one ticket at once: exactly one checks in, the rest name that
/// one. Later scans carry earlier times, so a store that let the earliest time win
/// online would admit more than one.
pub async fn concurrent_scans_of_one_ticket_check_in_once(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let booking = book_n(&stores, ev.id, ann.id, 2, secs(t, 1)).await;
    let outcomes = join_all((0..50).map(|i| {
        let stores = stores.clone();
        let scan = scan(&booking, 1, secs(t, 100 - i));
        async move { stores.check_ins.check_in(scan).await.expect("scan") }
    }))
    .await;
    let admitted: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            CheckInOutcome::CheckedIn { check_in, replaced } => Some((check_in, replaced)),
            _ => None,
        })
        .collect();
    assert_eq!(admitted.len(), 1, "{outcomes:?}");
    let (first, replaced) = admitted[0];
    assert_eq!(*replaced, None);
    for outcome in &outcomes {
        match outcome {
            CheckInOutcome::CheckedIn { .. } => {}
            CheckInOutcome::AlreadyCheckedIn(c) => assert_eq!(c, first),
            other => panic!("a later scan is a repeat, got {other:?}"),
        }
    }
    assert_eq!(statuses(&stores, &booking).await, ["checked_in", "valid"]);
}

/// A cancellation voids the newest tickets not checked in; a full one voids every
/// ticket not checked in, and a voided ticket never checks in.
pub async fn tickets_follow_cancellations(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let booking = book_n(&stores, ev.id, ann.id, 4, secs(t, 1)).await;
    let fourth = stores
        .check_ins
        .check_in(scan(&booking, 4, secs(t, 2)))
        .await
        .expect("scan");
    assert!(matches!(fourth, CheckInOutcome::CheckedIn { .. }));
    stores
        .bookings
        .cancel_booking(booking.id, Some(qty(1)), secs(t, 3))
        .await
        .expect("cancel one");
    assert_eq!(
        statuses(&stores, &booking).await,
        ["valid", "valid", "voided", "checked_in"]
    );
    let third = stores
        .check_ins
        .check_in(scan(&booking, 3, secs(t, 4)))
        .await
        .expect("scan");
    assert_eq!(third, CheckInOutcome::Voided);
    stores
        .bookings
        .cancel_booking(booking.id, None, secs(t, 5))
        .await
        .expect("cancel all");
    assert_eq!(
        statuses(&stores, &booking).await,
        ["voided", "voided", "voided", "checked_in"]
    );
    let first = stores
        .check_ins
        .check_in(scan(&booking, 1, secs(t, 6)))
        .await
        .expect("scan");
    assert_eq!(first, CheckInOutcome::Voided);

    let unscanned = book_n(&stores, ev.id, ann.id, 3, secs(t, 7)).await;
    stores
        .bookings
        .cancel_booking(unscanned.id, Some(qty(2)), secs(t, 8))
        .await
        .expect("cancel two");
    assert_eq!(
        statuses(&stores, &unscanned).await,
        ["valid", "voided", "voided"],
        "cancelled seats list as voided tickets"
    );
}

/// Tickets a cancellation named are the voided ones; naming them again changes nothing.
pub async fn named_voids_void_those_tickets(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let booking = book_n(&stores, ev.id, ann.id, 3, secs(t, 1)).await;
    stores
        .bookings
        .cancel_booking(booking.id, Some(qty(1)), secs(t, 2))
        .await
        .expect("cancel one");
    let first = claims(&booking, 1).number;
    for _ in 0..2 {
        stores
            .check_ins
            .void_tickets(booking.id, &[first], secs(t, 3))
            .await
            .expect("void");
        assert_eq!(
            statuses(&stores, &booking).await,
            ["voided", "valid", "valid"]
        );
    }
    let scanned = stores
        .check_ins
        .check_in(scan(&booking, 1, secs(t, 4)))
        .await
        .expect("scan");
    assert_eq!(scanned, CheckInOutcome::Voided);
}

/// An earlier offline scan takes the place of a later check-in; an undo ends the
/// check-in once; counts and the paged list show what is in force.
pub async fn offline_scans_undo_counts_and_pages(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let booking = book_n(&stores, ev.id, ann.id, 3, secs(t, 1)).await;
    let online = stores
        .check_ins
        .check_in(scan(&booking, 1, secs(t, 50)))
        .await
        .expect("scan");
    let CheckInOutcome::CheckedIn {
        check_in: later, ..
    } = online
    else {
        panic!("checks in, got {online:?}");
    };
    let offline = stores
        .check_ins
        .check_in(offline_scan(&booking, 1, secs(t, 20)))
        .await
        .expect("scan");
    let CheckInOutcome::CheckedIn {
        check_in: earlier,
        replaced,
    } = offline
    else {
        panic!("the earlier scan wins, got {offline:?}");
    };
    assert_eq!(replaced, Some(later));
    for n in [2, 3] {
        stores
            .check_ins
            .check_in(scan(&booking, n, secs(t, 60 + i64::from(n))))
            .await
            .expect("scan");
    }
    let ticket = claims(&booking, 1).ticket_id();
    assert_eq!(
        stores
            .check_ins
            .check_in_of(ev.id, ticket)
            .await
            .expect("read"),
        Some(earlier.clone())
    );
    assert_eq!(
        stores
            .check_ins
            .checked_in_counts(ev.id)
            .await
            .expect("count"),
        vec![(booking.ticket_type_id, 3)]
    );
    let first = stores
        .check_ins
        .check_ins(
            ev.id,
            &PageRequest {
                limit: 2,
                after: None,
            },
        )
        .await
        .expect("page");
    assert_eq!(first.items.len(), 2);
    let second = stores
        .check_ins
        .check_ins(
            ev.id,
            &PageRequest {
                limit: 2,
                after: first.next,
            },
        )
        .await
        .expect("page");
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next, None);
    let mut listed: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|c| c.id)
        .collect();
    let in_order = listed.clone();
    listed.sort();
    assert_eq!(listed, in_order, "recorded order");

    let undone = stores
        .check_ins
        .undo(earlier.id, secs(t, 70))
        .await
        .expect("undo");
    assert_eq!(undone, UndoOutcome::Undone(earlier.clone()));
    assert_eq!(
        stores
            .check_ins
            .undo(earlier.id, secs(t, 71))
            .await
            .expect("undo"),
        UndoOutcome::NotCheckedIn
    );
    assert_eq!(
        stores
            .check_ins
            .check_in_of(ev.id, ticket)
            .await
            .expect("read"),
        None
    );
    let tickets = stores
        .check_ins
        .booking_tickets(booking.id)
        .await
        .expect("read")
        .expect("booking");
    assert_eq!(
        tickets.status(claims(&booking, 1).number),
        TicketStatus::Valid
    );
    let again = stores
        .check_ins
        .check_in(scan(&booking, 1, secs(t, 80)))
        .await
        .expect("scan");
    assert!(matches!(
        again,
        CheckInOutcome::CheckedIn { replaced: None, .. }
    ));
}

/// A scan of a booking that does not exist, or of another event, is not found.
pub async fn scans_of_unknown_bookings_are_not_found(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    let other = open_event(&stores, &org, t, 10).await;
    let booking = book_n(&stores, ev.id, ann.id, 1, secs(t, 1)).await;
    let mut wrong_event = scan(&booking, 1, secs(t, 2));
    wrong_event.ticket.event_id = other.id;
    let mut unknown = scan(&booking, 1, secs(t, 2));
    unknown.ticket.booking_id = boxoffice_domain::BookingId::generate();
    for scan in [wrong_event, unknown] {
        assert_eq!(
            stores.check_ins.check_in(scan).await.expect("scan"),
            CheckInOutcome::NotFound
        );
    }
    assert!(
        stores
            .check_ins
            .booking_tickets(unknown.ticket.booking_id)
            .await
            .expect("read")
            .is_none()
    );
}

/// Tokens are found by their hash and id, listed per owner newest first, and revoked once.
pub async fn api_tokens_are_found_by_hash_and_revoked_once(stores: EngineStores) {
    let org = organizer(&stores).await;
    let other = organizer(&stores).await;
    let t = to_store_precision(base());
    let ev = open_event(&stores, &org, t, 10).await;
    let make = |owner: UserId, name: &str| ApiToken {
        id: uuid::Uuid::now_v7(),
        owner_id: owner,
        name: name.to_owned(),
        scopes: vec![Scope::Checkin],
        event_ids: vec![ev.id],
        created_at: t,
        expires_at: Some(secs(t, 3600)),
        revoked_at: None,
    };
    let (north, south, theirs) = (
        make(org.id, "North"),
        make(org.id, "South"),
        make(other.id, "x"),
    );
    let secrets: Vec<_> = (0..3).map(|_| generate_token()).collect();
    for (token, secret) in [&north, &south, &theirs].into_iter().zip(&secrets) {
        stores
            .api_tokens
            .create(token, &secret.hash())
            .await
            .expect("create");
    }
    assert_eq!(
        stores
            .api_tokens
            .find_by_hash(&secrets[1].hash())
            .await
            .expect("find"),
        Some(south.clone())
    );
    assert_eq!(
        stores
            .api_tokens
            .find_by_hash(&generate_token().hash())
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        stores.api_tokens.list(Some(org.id)).await.expect("list"),
        vec![south.clone(), north.clone()]
    );
    assert_eq!(stores.api_tokens.list(None).await.expect("list").len(), 3);
    assert!(
        stores
            .api_tokens
            .revoke(north.id, secs(t, 5))
            .await
            .expect("revoke")
    );
    assert!(
        !stores
            .api_tokens
            .revoke(north.id, secs(t, 6))
            .await
            .expect("revoke")
    );
    let revoked = stores
        .api_tokens
        .find(north.id)
        .await
        .expect("find")
        .expect("kept");
    assert_eq!(revoked.revoked_at, Some(secs(t, 5)));
    assert!(!revoked.usable(secs(t, 7)));
}
