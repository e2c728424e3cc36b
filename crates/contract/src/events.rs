//! Contract of [`EventRepository`](boxoffice_domain::ports::EventRepository).
//!
//! `CapacityBelowSold` and promotion on a raised capacity need seats sold and held: the
//! engine suite covers them (`bookings::capacity_cannot_drop_below_sold_and_held`,
//! `waitlist::raised_capacity_promotes`).

use crate::Stores;
use crate::fixtures::{event, event_details, new_event, now, organizer, ticket_type};
use boxoffice_domain::event::{
    Event, EventCursor, EventDetails, EventQuery, EventStatus, NewEvent, TicketType,
};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::ports::{CancelEventError, UpdateEventError};
use boxoffice_domain::time::to_store_precision;
use boxoffice_domain::{EventId, Timestamp};
use chrono::Duration;

/// A fixed future instant at store precision, far from every other test's times.
fn base() -> Timestamp {
    to_store_precision(now() + Duration::days(10))
}

fn query(
    from: Timestamp,
    text: Option<&str>,
    limit: u32,
    after: Option<EventCursor>,
) -> EventQuery {
    EventQuery {
        from,
        text: text.map(str::to_owned),
        page: PageRequest { limit, after },
        now: now(),
    }
}

/// Lists everything matching `text` from `from` in one page and returns the names.
async fn names(stores: &Stores, from: Timestamp, text: Option<&str>) -> Vec<String> {
    let page = stores
        .events
        .list_scheduled(&query(from, text, 100, None))
        .await
        .expect("list");
    assert_eq!(page.next, None);
    page.items.into_iter().map(|e| e.details.name).collect()
}

fn named(name: &str, venue: &str, starts_at: Timestamp) -> EventDetails {
    EventDetails {
        name: name.to_owned(),
        venue: venue.to_owned(),
        ..event_details(starts_at)
    }
}

fn cursor(event: &Event) -> EventCursor {
    EventCursor {
        starts_at: event.details.starts_at,
        id: event.id,
    }
}

/// `create` returns the event as given, scheduled with zero counters and its ticket
/// types in the given order, and `find` reads the same back.
pub async fn create_then_find_with_ticket_types(stores: Stores) {
    let org = organizer(&stores).await;
    let types = vec![
        ticket_type("VIP", 5000, Some(10)),
        ticket_type("Floor", 2500, None),
        ticket_type("Balcony", 0, Some(20)),
    ];
    let new = new_event(org.id, event_details(base()), types.clone());
    let created = stores.events.create(&new).await.expect("create");
    let want = Event {
        id: new.id,
        organizer_id: org.id,
        details: new.details.clone(),
        status: EventStatus::Scheduled,
        created_at: new.created_at,
        sold: 0,
        held: 0,
        waitlist_count: 0,
        ticket_types: types
            .into_iter()
            .map(|t| TicketType {
                id: t.id,
                name: t.name,
                price_cents: t.price_cents,
                quantity: t.quantity,
                sold: 0,
                held: 0,
                retired: false,
            })
            .collect(),
    };
    assert_eq!(created, want);
    assert_eq!(
        stores.events.find(new.id, now()).await.expect("find"),
        Some(want)
    );
}

/// `find` of an id no event has is `None`.
pub async fn find_unknown_is_none(stores: Stores) {
    let org = organizer(&stores).await;
    event(&stores, &org, event_details(base())).await;
    assert_eq!(
        stores
            .events
            .find(EventId::generate(), now())
            .await
            .expect("find"),
        None
    );
}

/// Scheduled events come by `starts_at`, then id, and pages continue after the cursor,
/// also between events that start together.
pub async fn list_orders_by_start_then_id_and_pages(stores: Stores) {
    let org = organizer(&stores).await;
    let t = base();
    let mut tied: Vec<EventId> = (0..3).map(|_| EventId::generate()).collect();
    tied.sort();
    // (name, start, id): created out of order, so insertion order cannot pass for ordering.
    let plan = [
        ("E", t + Duration::hours(3), EventId::generate()),
        ("C", t + Duration::hours(2), tied[1]),
        ("A", t + Duration::hours(1), EventId::generate()),
        ("D", t + Duration::hours(2), tied[2]),
        ("B", t + Duration::hours(2), tied[0]),
    ];
    let mut events = Vec::new();
    for (name, starts_at, id) in plan {
        let new = new_event(
            org.id,
            named(name, "Hall", starts_at),
            vec![ticket_type("General", 0, None)],
        );
        events.push(
            stores
                .events
                .create(&NewEvent { id, ..new })
                .await
                .expect("create"),
        );
    }
    events.sort_by_key(|e| e.details.name.clone());

    let mut seen = Vec::new();
    let mut after = None;
    for expected_len in [2, 2, 1] {
        let page = stores
            .events
            .list_scheduled(&query(now(), None, 2, after))
            .await
            .expect("list");
        assert_eq!(page.items.len(), expected_len);
        if expected_len == 2 {
            assert_eq!(
                page.next,
                page.items.last().map(cursor),
                "next is the last item's cursor"
            );
        } else {
            assert_eq!(page.next, None, "last page");
        }
        seen.extend(page.items);
        after = page.next;
    }
    assert_eq!(
        seen, events,
        "pages together list every event once, in order"
    );

    let from_cursor = query(now(), None, 10, Some(cursor(&events[1])));
    let rest = stores
        .events
        .list_scheduled(&from_cursor)
        .await
        .expect("list");
    assert_eq!(
        rest,
        Page {
            items: events[2..].to_vec(),
            next: None
        },
        "after a cursor between ties"
    );
    let exact = stores
        .events
        .list_scheduled(&query(now(), None, 5, None))
        .await
        .expect("list");
    assert_eq!(exact.next, None, "an exact fit has no next page");
}

/// `from` drops events that start earlier (keeping one that starts exactly then), and
/// `text` matches name or venue as a case-insensitive substring.
pub async fn list_filters_by_from_and_text(stores: Stores) {
    let org = organizer(&stores).await;
    let t = base();
    let later = t + Duration::days(2);
    event(&stores, &org, named("Early RustConf", "Hall A", t)).await;
    event(&stores, &org, named("RustConf", "Hall A", later)).await;
    event(
        &stores,
        &org,
        named(
            "Jazz Night",
            "Old Rust Belt Arena",
            later + Duration::hours(1),
        ),
    )
    .await;
    event(
        &stores,
        &org,
        named("Jazz Brunch", "Hall B", later + Duration::hours(2)),
    )
    .await;

    let everything = ["Early RustConf", "RustConf", "Jazz Night", "Jazz Brunch"];
    assert_eq!(names(&stores, t, None).await, everything);
    assert_eq!(
        names(&stores, later, None).await,
        everything[1..],
        "from is inclusive"
    );
    assert!(
        names(&stores, later + Duration::days(1), None)
            .await
            .is_empty()
    );

    assert_eq!(
        names(&stores, t, Some("rust")).await,
        ["Early RustConf", "RustConf", "Jazz Night"]
    );
    assert_eq!(
        names(&stores, later, Some("RUST")).await,
        ["RustConf", "Jazz Night"]
    );
    assert_eq!(
        names(&stores, t, Some("hall b")).await,
        ["Jazz Brunch"],
        "venue only"
    );
    assert_eq!(
        names(&stores, t, Some("jAZZ")).await,
        ["Jazz Night", "Jazz Brunch"]
    );
    assert!(names(&stores, t, Some("opera")).await.is_empty());
}

/// `%`, `_` and `\` in `text` match themselves, not as wildcards or escapes.
pub async fn list_text_treats_wildcards_literally(stores: Stores) {
    let org = organizer(&stores).await;
    let t = base();
    for (i, name) in [
        "100% Rust",
        "1000 Rust Fans",
        "a_b meetup",
        "axb meetup",
        "Back\\slash",
        "Bookshop",
    ]
    .into_iter()
    .enumerate()
    {
        let starts_at = t + Duration::hours(i64::try_from(i).expect("small"));
        event(&stores, &org, named(name, "Hall", starts_at)).await;
    }
    assert_eq!(names(&stores, t, Some("0%")).await, ["100% Rust"]);
    assert_eq!(names(&stores, t, Some("%")).await, ["100% Rust"]);
    assert_eq!(names(&stores, t, Some("a_b")).await, ["a_b meetup"]);
    assert_eq!(names(&stores, t, Some("_")).await, ["a_b meetup"]);
    assert_eq!(names(&stores, t, Some("k\\s")).await, ["Back\\slash"]);
    assert_eq!(names(&stores, t, Some("ks")).await, ["Bookshop"]);
}

/// Cancelled events are not listed, whatever the filters.
pub async fn list_skips_cancelled(stores: Stores) {
    let org = organizer(&stores).await;
    let t = base();
    let first = event(&stores, &org, named("First", "Hall", t)).await;
    let cancelled = event(
        &stores,
        &org,
        named("Called off", "Hall", t + Duration::hours(1)),
    )
    .await;
    let last = event(&stores, &org, named("Last", "Hall", t + Duration::hours(2))).await;
    stores
        .events
        .cancel(cancelled.id, now())
        .await
        .expect("cancel");

    let page = stores
        .events
        .list_scheduled(&query(t, None, 100, None))
        .await
        .expect("list");
    assert_eq!(
        page.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [first.id, last.id]
    );
    assert!(names(&stores, t, Some("called")).await.is_empty());
    let after_first = query(t, None, 1, Some(cursor(&first)));
    let page = stores
        .events
        .list_scheduled(&after_first)
        .await
        .expect("list");
    assert_eq!(
        page.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [last.id]
    );
    assert_eq!(page.next, None);
}

/// `update_details` replaces every field (clearing the optional ones) and returns the event.
pub async fn update_details_replaces_fields(stores: Stores) {
    let org = organizer(&stores).await;
    let created = event(&stores, &org, event_details(base())).await;
    let starts_at = base() + Duration::days(7);
    let details = EventDetails {
        name: "RustConf Reloaded".to_owned(),
        description: None,
        venue: "Hall Z".to_owned(),
        starts_at,
        ends_at: None,
        latitude: None,
        longitude: Some(-0.5),
        currency: "USD".to_owned(),
        capacity: 50,
        max_tickets_per_user: None,
        sales_open_at: None,
        sales_close_at: Some(starts_at - Duration::minutes(15)),
    };
    let updated = stores
        .events
        .update_details(created.id, &details, now())
        .await
        .expect("update");
    let want = Event { details, ..created };
    assert_eq!(updated, want);
    assert_eq!(
        stores.events.find(want.id, now()).await.expect("find"),
        Some(want.clone())
    );
    let listed = stores
        .events
        .list_scheduled(&query(base(), Some("reloaded"), 10, None))
        .await
        .expect("list");
    assert_eq!(listed.items, [want]);
}

/// Updating an unknown event is `NotFound`; a cancelled one is `Cancelled` and unchanged.
pub async fn update_refuses_unknown_and_cancelled(stores: Stores) {
    let org = organizer(&stores).await;
    let details = event_details(base());
    let unknown = stores
        .events
        .update_details(EventId::generate(), &details, now())
        .await;
    assert!(
        matches!(unknown, Err(UpdateEventError::NotFound)),
        "got {unknown:?}"
    );

    let created = event(&stores, &org, details.clone()).await;
    let cancelled = stores
        .events
        .cancel(created.id, now())
        .await
        .expect("cancel");
    let renamed = EventDetails {
        name: "Renamed".to_owned(),
        ..details
    };
    let refused = stores
        .events
        .update_details(created.id, &renamed, now())
        .await;
    assert!(
        matches!(refused, Err(UpdateEventError::Cancelled)),
        "got {refused:?}"
    );
    assert_eq!(
        stores.events.find(created.id, now()).await.expect("find"),
        Some(cancelled)
    );
}

/// Cancelling marks the event cancelled and nothing else; doing it again is fine.
pub async fn cancel_is_idempotent(stores: Stores) {
    let org = organizer(&stores).await;
    let created = event(&stores, &org, event_details(base())).await;
    let other = event(&stores, &org, event_details(base())).await;
    let want = Event {
        status: EventStatus::Cancelled,
        ..created.clone()
    };
    assert_eq!(
        stores
            .events
            .cancel(created.id, now())
            .await
            .expect("cancel"),
        want
    );
    assert_eq!(
        stores
            .events
            .cancel(created.id, now())
            .await
            .expect("cancel again"),
        want
    );
    assert_eq!(
        stores.events.find(created.id, now()).await.expect("find"),
        Some(want)
    );
    assert_eq!(
        stores.events.find(other.id, now()).await.expect("find"),
        Some(other),
        "others untouched"
    );
    let unknown = stores.events.cancel(EventId::generate(), now()).await;
    assert!(
        matches!(unknown, Err(CancelEventError::NotFound)),
        "got {unknown:?}"
    );
}
