//! Contract of event versions: [`EventRepository::snapshot`] and the versions a store
//! publishes to its [`VersionBoard`](boxoffice_domain::ports::VersionBoard). Every kind
//! of change of what reading an event shows raises its version, the board knows at least
//! that version once the change returned, and reads change nothing.

use crate::EngineStores;
use crate::engine::{attendee, base, booking, open_event, organizer, qty, seats, secs};
use boxoffice_domain::booking::OnSoldOut;
use boxoffice_domain::event::{EventQuery, EventSnapshot};
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::ports::VersionKey;
use boxoffice_domain::user::{AccountChanges, PasswordHash, PersonName, ProfileChanges, Role};
use boxoffice_domain::{EventId, HoldId, Timestamp, UserId};
use chrono::Duration;

async fn snapshot(stores: &EngineStores, id: EventId, t: Timestamp) -> EventSnapshot {
    stores
        .events
        .snapshot(id, t)
        .await
        .expect("snapshot")
        .expect("the event exists")
}

/// Checks that the change just made raised the version above `before`, that the board
/// knows at least the new version, and that the snapshot reads as `find`; returns the
/// new version.
async fn raised(stores: &EngineStores, id: EventId, t: Timestamp, before: u64, what: &str) -> u64 {
    let now = snapshot(stores, id, t).await;
    assert!(
        now.version > before,
        "{what}: version {} not above {before}",
        now.version
    );
    let published = stores
        .versions
        .current(VersionKey::Event(id))
        .await
        .expect("board")
        .unwrap_or(0);
    assert!(
        published >= now.version,
        "{what}: the board shows {published}, the store {}",
        now.version
    );
    let found = stores.events.find(id, t).await.expect("find");
    assert_eq!(
        found.as_ref(),
        Some(&now.event),
        "{what}: snapshot and find differ"
    );
    now.version
}

/// Every kind of change raises the version and publishes it; reads do not.
pub async fn every_change_raises_and_publishes_the_version(stores: EngineStores) {
    let org = organizer(&stores).await;
    let (ann, bob) = (attendee(&stores).await, attendee(&stores).await);
    let t = base();
    let ev = open_event(&stores, &org, t, 3).await;
    let mut v = snapshot(&stores, ev.id, t).await.version;
    let published = stores
        .versions
        .current(VersionKey::Event(ev.id))
        .await
        .expect("board");
    assert!(
        published.is_some_and(|p| p >= v),
        "a new event is published"
    );

    let hold = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 1),
            t,
            secs(t, 600),
        )
        .await
        .expect("hold");
    v = raised(&stores, ev.id, t, v, "hold").await;
    stores
        .reservations
        .confirm_hold(hold.id, ann.id, t)
        .await
        .expect("confirm");
    v = raised(&stores, ev.id, t, v, "confirm").await;
    let released = stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, ann.id, 1),
            t,
            secs(t, 600),
        )
        .await
        .expect("hold");
    v = raised(&stores, ev.id, t, v, "hold").await;
    stores
        .reservations
        .release_hold(released.id, ann.id, t)
        .await
        .expect("release");
    v = raised(&stores, ev.id, t, v, "release").await;
    let booked = stores
        .bookings
        .book(
            &booking(seats(ev.id, None, bob.id, 2), OnSoldOut::Fail, false),
            t,
        )
        .await
        .expect("book")
        .booking
        .expect("booked");
    v = raised(&stores, ev.id, t, v, "book").await;
    let entry = stores
        .waitlists
        .join(&seats(ev.id, None, ann.id, 1), t)
        .await
        .expect("join");
    v = raised(&stores, ev.id, t, v, "join").await;
    stores
        .waitlists
        .leave(entry.id, ann.id, t)
        .await
        .expect("leave");
    v = raised(&stores, ev.id, t, v, "leave").await;
    stores
        .bookings
        .cancel_booking(booked.id, Some(qty(1)), t)
        .await
        .expect("cancel part");
    v = raised(&stores, ev.id, t, v, "partial cancellation").await;
    stores
        .bookings
        .cancel_booking(booked.id, None, t)
        .await
        .expect("cancel");
    v = raised(&stores, ev.id, t, v, "cancellation").await;
    let mut details = ev.details.clone();
    details.name = "Renamed".to_owned();
    stores
        .events
        .update_details(ev.id, &details, t)
        .await
        .expect("rename");
    v = raised(&stores, ev.id, t, v, "rename").await;
    details.capacity = 5;
    stores
        .events
        .update_details(ev.id, &details, t)
        .await
        .expect("resize");
    v = raised(&stores, ev.id, t, v, "capacity change").await;
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(ev.id, None, bob.id, 1),
            t,
            secs(t, 1),
        )
        .await
        .expect("hold");
    v = raised(&stores, ev.id, t, v, "hold").await;
    let later = secs(t, 2);
    assert_eq!(
        stores
            .reservations
            .expire_holds(later, 10)
            .await
            .expect("expire"),
        1
    );
    v = raised(&stores, ev.id, later, v, "expiry").await;
    stores
        .events
        .cancel(ev.id, later)
        .await
        .expect("cancel event");
    v = raised(&stores, ev.id, later, v, "event cancellation").await;

    stores.events.find(ev.id, later).await.expect("find");
    stores
        .events
        .snapshot(ev.id, later)
        .await
        .expect("snapshot");
    assert_eq!(
        snapshot(&stores, ev.id, later).await.version,
        v,
        "reads change nothing"
    );
    assert_eq!(
        stores
            .events
            .snapshot(EventId::generate(), t)
            .await
            .expect("snapshot"),
        None
    );
}

/// A snapshot tells when its figures next change without a write: the earliest end of a
/// live hold, `None` when nothing is held.
pub async fn snapshot_tells_when_the_next_hold_ends(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let ev = open_event(&stores, &org, t, 10).await;
    assert_eq!(snapshot(&stores, ev.id, t).await.changes_at, None);
    for (n, ends) in [(2, 60), (1, 30)] {
        stores
            .reservations
            .hold(
                HoldId::generate(),
                &seats(ev.id, None, ann.id, n),
                t,
                secs(t, ends),
            )
            .await
            .expect("hold");
    }
    let first = snapshot(&stores, ev.id, t).await;
    assert_eq!((first.changes_at, first.event.held), (Some(secs(t, 30)), 3));
    // The first hold ended but is not swept yet: it no longer counts.
    let after = snapshot(&stores, ev.id, secs(t, 30)).await;
    assert_eq!((after.changes_at, after.event.held), (Some(secs(t, 60)), 2));
    assert_eq!(
        after.version, first.version,
        "an expiry not yet swept is no change"
    );
    let all_ended = snapshot(&stores, ev.id, secs(t, 60) + Duration::microseconds(1)).await;
    assert_eq!((all_ended.changes_at, all_ended.event.held), (None, 0));
}

/// Checks that the account change just made raised `ann`'s version above `before` and
/// published it, and that the snapshot reads as `find`; returns the new version.
async fn account_raised(stores: &EngineStores, id: UserId, before: u64, what: &str) -> u64 {
    let (user, now) = stores
        .users
        .snapshot(id)
        .await
        .expect("snapshot")
        .expect("account");
    assert!(now > before, "{what}: version {now} not above {before}");
    let published = stores
        .versions
        .current(VersionKey::User(id))
        .await
        .expect("board")
        .unwrap_or(0);
    assert!(
        published >= now,
        "{what}: the board shows {published}, the store {now}"
    );
    assert_eq!(
        stores.users.find(id).await.expect("find"),
        Some(user),
        "{what}"
    );
    now
}

/// Every change of an account raises its version and publishes it; a new account is
/// published; reads change nothing.
pub async fn every_account_change_raises_and_publishes_the_version(stores: EngineStores) {
    let ann = attendee(&stores).await;
    let published = stores
        .versions
        .current(VersionKey::User(ann.id))
        .await
        .expect("board");
    let (user, mut v) = stores
        .users
        .snapshot(ann.id)
        .await
        .expect("snapshot")
        .expect("ann");
    assert_eq!(user, ann);
    assert!(
        published.is_some_and(|p| p >= v),
        "a new account is published"
    );

    let rename = ProfileChanges {
        name: Some(PersonName::parse("Ann Renamed").expect("name")),
        email: None,
    };
    stores
        .users
        .update_profile(ann.id, &rename)
        .await
        .expect("rename");
    v = account_raised(&stores, ann.id, v, "rename").await;
    let off = AccountChanges {
        role: None,
        active: Some(false),
    };
    stores
        .users
        .update_account(ann.id, off)
        .await
        .expect("deactivate");
    v = account_raised(&stores, ann.id, v, "deactivation").await;
    let promote = AccountChanges {
        role: Some(Role::Organizer),
        active: None,
    };
    stores
        .users
        .update_account(ann.id, promote)
        .await
        .expect("promote");
    v = account_raised(&stores, ann.id, v, "role change").await;
    let hash = PasswordHash::new(
        "$2b$04$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0".to_owned(),
    );
    stores
        .users
        .set_password(ann.id, &hash, base())
        .await
        .expect("set password");
    v = account_raised(&stores, ann.id, v, "password change").await;

    stores.users.find(ann.id).await.expect("find");
    let (_, after_reads) = stores
        .users
        .snapshot(ann.id)
        .await
        .expect("snapshot")
        .expect("ann");
    assert_eq!(after_reads, v, "reads change nothing");
    assert_eq!(
        stores
            .users
            .snapshot(UserId::generate())
            .await
            .expect("snapshot"),
        None
    );
}

/// The catalog's version on the board, or 0.
async fn published_catalog(stores: &EngineStores) -> u64 {
    stores
        .versions
        .current(VersionKey::Catalog)
        .await
        .expect("board")
        .unwrap_or(0)
}

/// A listing snapshot lists what `list_scheduled` lists, each event at the version and
/// next hold end of its own snapshot; creating, changing and cancelling events raise
/// the catalog's version (and publish it), a booking does not.
pub async fn listing_snapshots_follow_the_catalog(stores: EngineStores) {
    let org = organizer(&stores).await;
    let ann = attendee(&stores).await;
    let t = base();
    let query = |from| EventQuery {
        from,
        text: None,
        page: PageRequest {
            limit: 100,
            after: None,
        },
        now: t,
    };
    let before = stores
        .events
        .list_snapshot(&query(t))
        .await
        .expect("list")
        .version;
    let first = open_event(&stores, &org, t, 5).await;
    let second = open_event(&stores, &org, t, 5).await;
    let created = stores.events.list_snapshot(&query(t)).await.expect("list");
    assert!(
        created.version >= before + 2,
        "two creations raise the catalog's version"
    );
    assert!(published_catalog(&stores).await >= created.version);
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(second.id, None, ann.id, 1),
            t,
            secs(t, 60),
        )
        .await
        .expect("hold");
    let listed = stores.events.list_snapshot(&query(t)).await.expect("list");
    assert_eq!(
        listed.version, created.version,
        "a hold is no catalog change"
    );
    let plain = stores.events.list_scheduled(&query(t)).await.expect("list");
    let events: Vec<_> = listed.page.items.iter().map(|s| s.event.clone()).collect();
    assert_eq!((events, listed.page.next), (plain.items, plain.next));
    for ev in [&first, &second] {
        let item = listed
            .page
            .items
            .iter()
            .find(|s| s.event.id == ev.id)
            .expect("listed");
        assert_eq!(
            item,
            &snapshot(&stores, ev.id, t).await,
            "as its own snapshot"
        );
    }

    let mut details = first.details.clone();
    details.name = "Renamed".to_owned();
    stores
        .events
        .update_details(first.id, &details, t)
        .await
        .expect("rename");
    let renamed = stores
        .events
        .list_snapshot(&query(t))
        .await
        .expect("list")
        .version;
    assert!(
        renamed > listed.version,
        "a change raises the catalog's version"
    );
    stores.events.cancel(first.id, t).await.expect("cancel");
    let cancelled = stores.events.list_snapshot(&query(t)).await.expect("list");
    assert!(
        cancelled.version > renamed,
        "a cancellation raises the catalog's version"
    );
    assert!(published_catalog(&stores).await >= cancelled.version);
    assert!(cancelled.page.items.iter().all(|s| s.event.id != first.id));
}
