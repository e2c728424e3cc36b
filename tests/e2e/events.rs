//! `/api/v1/events*`: publishing, listing (filters, keyset pages), reading, changing and
//! cancelling events.

use crate::support::{
    Reply, all_pages, api, assert_recent, create_event, event_body, get, me, organizer, text, time,
    urlencode, uuid,
};
use boxoffice_e2e::TestServer;
use serde_json::{Value, json};

const TIME_FIELDS: [&str; 4] = ["starts_at", "ends_at", "sales_open_at", "sales_close_at"];

async fn patch_event(server: &TestServer, token: Option<&str>, id: &str, body: Value) -> Reply {
    api(server, "PATCH", &format!("/events/{id}"), token, Some(body)).await
}

async fn delete_event(server: &TestServer, token: Option<&str>, id: &str) -> Reply {
    api(server, "DELETE", &format!("/events/{id}"), token, None).await
}

async fn get_event(server: &TestServer, id: &str) -> Value {
    get(server, &format!("/events/{id}"), None)
        .await
        .ok(200)
        .clone()
}

/// The ids of a listing's single page, checking it is the last.
async fn listed_ids(server: &TestServer, query: &str) -> Vec<String> {
    let reply = get(server, &format!("/events{query}"), None).await;
    let page = reply.ok(200);
    assert_eq!(
        page["next_cursor"],
        Value::Null,
        "{query}: one page expected"
    );
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| text(e, "id"))
        .collect()
}

/// Asserts every field of `request` (except ticket types) came back in `event`; times are
/// compared as instants, absent optional fields must be `null`.
#[track_caller]
fn assert_fields(event: &Value, request: &Value) {
    for field in [
        "name",
        "description",
        "venue",
        "latitude",
        "longitude",
        "capacity",
        "max_tickets_per_user",
    ] {
        assert_eq!(event[field], request[field], "`{field}` of {event}");
    }
    for field in TIME_FIELDS {
        if request[field].is_null() {
            assert_eq!(event[field], Value::Null, "`{field}` of {event}");
        } else {
            assert_eq!(
                time(event, field),
                time(request, field),
                "`{field}` of {event}"
            );
        }
    }
    if !request["currency"].is_null() {
        assert_eq!(event["currency"], request["currency"]);
    }
}

/// Asserts a new event's availability: nothing sold, held or waiting.
#[track_caller]
fn assert_untouched_availability(event: &Value, capacity: u64) {
    assert_eq!(
        event["availability"],
        json!({"capacity": capacity, "sold": 0, "held": 0, "available": capacity, "waitlist_count": 0}),
        "availability of {event}"
    );
}

/// Asserts a ticket type of an event nothing was sold for.
#[track_caller]
fn assert_ticket_type(t: &Value, name: &str, price_cents: i64, quantity: Value, available: u64) {
    uuid(t, "id");
    assert_eq!(t["name"], name, "ticket type {t}");
    assert_eq!(t["price_cents"], price_cents, "ticket type {t}");
    assert_eq!(t["quantity"], quantity, "ticket type {t}");
    assert_eq!(t["sold"], 0, "ticket type {t}");
    assert_eq!(t["held"], 0, "ticket type {t}");
    assert_eq!(t["available"], available, "ticket type {t}");
}

crate::on_both_stores!(
    organizers_create_events,
    super::organizers_create_events_body
);
async fn organizers_create_events_body(server: TestServer) {
    let (token, organizer_id) = organizer(&server, "olga.create@example.org").await;
    let request = json!({
        "name": "RustConf 2031",
        "description": "Talks and workshops",
        "venue": "Hall A",
        "starts_at": "2031-06-01T09:00:00Z",
        "ends_at": "2031-06-01T18:00:00Z",
        "latitude": 48.137,
        "longitude": 11.575,
        "currency": "USD",
        "capacity": 100,
        "max_tickets_per_user": 4,
        "sales_open_at": "2031-01-01T00:00:00Z",
        "sales_close_at": "2031-05-31T00:00:00Z",
        "ticket_types": [
            {"name": "VIP", "price_cents": 15000, "quantity": 10},
            {"name": "Standard", "price_cents": 5000}
        ]
    });
    let reply = api(
        &server,
        "POST",
        "/events",
        Some(&token),
        Some(request.clone()),
    )
    .await;
    let event = reply.ok(201).clone();
    let id = uuid(&event, "id").to_string();
    assert_fields(&event, &request);
    assert_eq!(event["organizer_id"], organizer_id.as_str());
    assert_eq!(event["status"], "scheduled");
    assert_recent(&event, "created_at");
    let types = event["ticket_types"].as_array().expect("ticket_types");
    assert_eq!(types.len(), 2, "{event}");
    assert_ticket_type(&types[0], "VIP", 15000, json!(10), 10);
    assert_ticket_type(&types[1], "Standard", 5000, Value::Null, 100);
    assert_ne!(types[0]["id"], types[1]["id"]);
    assert_untouched_availability(&event, 100);
    if let Some(location) = reply.header("location") {
        assert_eq!(location, format!("/api/v1/events/{id}"));
    }

    // Anyone reads it back, identical.
    assert_eq!(get_event(&server, &id).await, event);
}

crate::on_both_stores!(
    events_without_types_get_general,
    super::events_without_types_body
);
async fn events_without_types_body(server: TestServer) {
    let (token, organizer_id) = organizer(&server, "otto.general@example.org").await;
    let request = event_body("Open Air", json!({"capacity": 50}));
    let event = create_event(&server, &token, request.clone()).await;
    assert_fields(&event, &request);
    assert_eq!(event["organizer_id"], organizer_id.as_str());
    assert_eq!(event["status"], "scheduled");
    let currency = text(&event, "currency");
    assert!(
        currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase()),
        "default currency {currency:?}"
    );
    let types = event["ticket_types"].as_array().expect("ticket_types");
    assert_eq!(types.len(), 1, "{event}");
    assert_ticket_type(&types[0], "General", 0, Value::Null, 50);
    assert_untouched_availability(&event, 50);

    // Admins may publish too.
    let admin = server
        .user_with_role("amy.general@example.org", "admin")
        .await;
    let admin_id = text(me(&server, &admin).await.ok(200), "id");
    let by_admin = create_event(&server, &admin, event_body("Admin Show", json!({}))).await;
    assert_eq!(by_admin["organizer_id"], admin_id.as_str());
    assert_untouched_availability(&by_admin, 100);
}

crate::on_both_stores!(
    only_organizers_create_events,
    super::only_organizers_create_body
);
async fn only_organizers_create_body(server: TestServer) {
    let (attendee, _) = server.attendee("ann.nocreate@example.org").await;
    let body = event_body("Not Allowed", json!({}));
    api(
        &server,
        "POST",
        "/events",
        Some(&attendee),
        Some(body.clone()),
    )
    .await
    .problem(403, "forbidden");
    api(&server, "POST", "/events", None, Some(body.clone()))
        .await
        .problem(401, "unauthorized");
    api(&server, "POST", "/events", Some("garbage"), Some(body))
        .await
        .problem(401, "unauthorized");
    assert!(
        listed_ids(&server, "?from=2000-01-01T00:00:00Z")
            .await
            .is_empty()
    );
}

crate::on_both_stores!(
    invalid_events_are_refused,
    super::invalid_events_are_refused_body
);
async fn invalid_events_are_refused_body(server: TestServer) {
    let (token, _) = organizer(&server, "oleg.invalid@example.org").await;
    let cases = [
        (json!({"capacity": 0}), vec!["capacity"]),
        (json!({"capacity": 1_000_001}), vec!["capacity"]),
        (json!({"ends_at": "2031-06-01T17:00:00Z"}), vec!["ends_at"]),
        (json!({"ends_at": "2031-06-01T18:00:00Z"}), vec!["ends_at"]),
        (json!({"name": "   "}), vec!["name"]),
        (json!({"venue": ""}), vec!["venue"]),
        (json!({"latitude": 91.0}), vec!["latitude"]),
        (json!({"longitude": -180.5}), vec!["longitude"]),
        (json!({"currency": "euro"}), vec!["currency"]),
        (
            json!({"max_tickets_per_user": 0}),
            vec!["max_tickets_per_user"],
        ),
        (
            json!({"sales_open_at": "2031-05-01T00:00:00Z", "sales_close_at": "2031-04-01T00:00:00Z"}),
            vec!["sales_close_at"],
        ),
        (
            json!({"ticket_types": [
                {"name": "VIP", "price_cents": 100},
                {"name": "vip", "price_cents": 200}
            ]}),
            vec!["ticket_types[1].name"],
        ),
        (
            json!({"ticket_types": [{"name": "VIP", "price_cents": 100, "quantity": 101}]}),
            vec!["ticket_types[0].quantity"],
        ),
        (
            json!({"ticket_types": [{"name": "VIP", "price_cents": 100, "quantity": 0}]}),
            vec!["ticket_types[0].quantity"],
        ),
        (
            json!({"ticket_types": [{"name": "Free", "price_cents": -1}]}),
            vec!["ticket_types[0].price_cents"],
        ),
        (json!({"ticket_types": []}), vec!["ticket_types"]),
        // Every broken rule at once.
        (
            json!({"capacity": 0, "ends_at": "2031-05-01T00:00:00Z", "currency": "e"}),
            vec!["capacity", "currency", "ends_at"],
        ),
    ];
    for (overrides, expected) in cases {
        let body = event_body("Invalid", overrides.clone());
        let reply = api(&server, "POST", "/events", Some(&token), Some(body)).await;
        let mut fields = reply.invalid_fields();
        fields.sort();
        assert_eq!(fields, expected, "for {overrides}");
    }

    // A missing required field is named too.
    let mut body = event_body("No venue", json!({}));
    body.as_object_mut().expect("object").remove("venue");
    let reply = api(&server, "POST", "/events", Some(&token), Some(body)).await;
    assert_eq!(reply.invalid_fields(), ["venue"]);

    // Nothing was created.
    assert!(
        listed_ids(&server, "?from=2000-01-01T00:00:00Z")
            .await
            .is_empty()
    );
}

crate::on_both_stores!(
    listing_filters_and_pages,
    super::listing_filters_and_pages_body
);
async fn listing_filters_and_pages_body(server: TestServer) {
    let (token, _) = organizer(&server, "oona.list@example.org").await;
    let (other, _) = organizer(&server, "omar.list@example.org").await;
    let new = |name: &str, venue: &str, starts_at: &str| {
        event_body(name, json!({"venue": venue, "starts_at": starts_at}))
    };
    let id = |event: Value| text(&event, "id");
    let a = id(create_event(
        &server,
        &token,
        new("Rust Meetup", "Hall A", "2031-03-01T18:00:00Z"),
    )
    .await);
    let b = id(create_event(
        &server,
        &token,
        new("Jazz Night", "Rusty Anchor", "2031-01-15T20:00:00Z"),
    )
    .await);
    let c = id(create_event(
        &server,
        &token,
        new("Chess Open", "Library", "2031-02-01T10:00:00Z"),
    )
    .await);
    let d = id(create_event(
        &server,
        &other,
        new("Chess Blitz", "Library", "2031-02-01T10:00:00Z"),
    )
    .await);
    let g = id(create_event(
        &server,
        &other,
        new("Opera", "Opera House", "2032-01-01T19:00:00Z"),
    )
    .await);
    let past = id(create_event(
        &server,
        &token,
        new("Past Gala", "Old Hall", "2020-05-01T19:00:00Z"),
    )
    .await);
    let cancelled = id(create_event(
        &server,
        &token,
        new("Rust Show", "Hall A", "2031-04-01T18:00:00Z"),
    )
    .await);
    delete_event(&server, Some(&token), &cancelled)
        .await
        .empty(204);

    // C and D start together: the id breaks the tie.
    let (first, second) = if c < d { (&c, &d) } else { (&d, &c) };
    let upcoming = vec![
        b.clone(),
        first.clone(),
        second.clone(),
        a.clone(),
        g.clone(),
    ];

    // Default: scheduled events from now on, by starts_at then id; cancelled and past ones
    // are left out.
    assert_eq!(listed_ids(&server, "").await, upcoming);
    let reply = get(&server, "/events", None).await;
    for item in reply.ok(200)["items"].as_array().expect("items") {
        assert_eq!(
            item,
            &get_event(&server, &text(item, "id")).await,
            "a listed event is the full Event"
        );
    }

    // `from` is inclusive.
    let from = |at: &str| format!("?from={}", urlencode(at));
    assert_eq!(
        listed_ids(&server, &from("2031-02-01T10:00:00Z")).await,
        upcoming[1..]
    );
    let mut everything = vec![past.clone()];
    everything.extend(upcoming.iter().cloned());
    assert_eq!(
        listed_ids(&server, &from("2019-01-01T00:00:00Z")).await,
        everything
    );
    assert_eq!(
        listed_ids(&server, &from("2033-01-01T00:00:00Z")).await,
        Vec::<String>::new()
    );

    // `q` matches name or venue, ignoring case and surrounding spaces.
    assert_eq!(listed_ids(&server, "?q=rust").await, [b.clone(), a.clone()]);
    assert_eq!(listed_ids(&server, "?q=RUST").await, [b.clone(), a.clone()]);
    assert_eq!(
        listed_ids(&server, "?q=%20chess%20").await,
        [first.clone(), second.clone()]
    );
    assert_eq!(listed_ids(&server, "?q=opera").await, [g.as_str()]);
    assert_eq!(listed_ids(&server, "?q=zzz").await, Vec::<String>::new());
    // LIKE wildcards are taken literally.
    assert_eq!(listed_ids(&server, "?q=%25").await, Vec::<String>::new());
    assert_eq!(listed_ids(&server, "?q=_").await, Vec::<String>::new());
    assert_eq!(
        listed_ids(&server, &format!("{}&q=gala", from("2019-01-01T00:00:00Z"))).await,
        [past.as_str()]
    );

    // Keyset pages: full pages with a cursor, the last one without.
    let ids = |pages: Vec<Vec<Value>>| -> Vec<Vec<String>> {
        pages
            .into_iter()
            .map(|page| page.iter().map(|e| text(e, "id")).collect())
            .collect()
    };
    let pages = ids(all_pages(&server, "/events?limit=2", None, 2).await);
    assert_eq!(pages, [&upcoming[0..2], &upcoming[2..4], &upcoming[4..5]]);
    let pages = ids(all_pages(
        &server,
        &format!("/events{}&limit=2", from("2019-01-01T00:00:00Z")),
        None,
        2,
    )
    .await);
    assert_eq!(
        pages,
        [&everything[0..2], &everything[2..4], &everything[4..6]]
    );
    let pages = ids(all_pages(&server, "/events?q=chess&limit=1", None, 1).await);
    assert_eq!(pages, [[first.clone()], [second.clone()]]);
    assert_eq!(listed_ids(&server, "?limit=100").await, upcoming);

    // Bad paging parameters.
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?cursor=garbage", "cursor"),
        ("?cursor=", "cursor"),
    ] {
        let fields = get(&server, &format!("/events{query}"), None)
            .await
            .invalid_fields();
        assert_eq!(fields, [field], "{query}");
    }
    for query in ["?limit=ten", "?from=tomorrow"] {
        get(&server, &format!("/events{query}"), None)
            .await
            .problem(422, "validation_failed");
    }
}

crate::on_both_stores!(get_event_answers_404, super::get_event_answers_404_body);
async fn get_event_answers_404_body(server: TestServer) {
    let (token, _) = organizer(&server, "opal.get@example.org").await;
    let event = create_event(&server, &token, event_body("Findable", json!({}))).await;
    assert_eq!(get_event(&server, &text(&event, "id")).await, event);

    let unknown = uuid::Uuid::now_v7();
    get(&server, &format!("/events/{unknown}"), None)
        .await
        .problem(404, "not_found");
    for malformed in ["not-a-uuid", "123", "00000000-0000-0000-0000"] {
        get(&server, &format!("/events/{malformed}"), None)
            .await
            .problem(404, "not_found");
    }
}

crate::on_both_stores!(owners_and_admins_change_events, super::change_events_body);
async fn change_events_body(server: TestServer) {
    let (owner, owner_id) = organizer(&server, "orla.patch@example.org").await;
    let (stranger, _) = organizer(&server, "oscar.patch@example.org").await;
    let (attendee, _) = server.attendee("abe.patch@example.org").await;
    let admin = server
        .user_with_role("alma.patch@example.org", "admin")
        .await;
    let request = event_body(
        "Before",
        json!({
            "description": "Old text",
            "ends_at": "2031-06-01T22:00:00Z",
            "latitude": 52.52,
            "longitude": 13.40,
            "currency": "EUR",
            "max_tickets_per_user": 6,
            "ticket_types": [{"name": "Seat", "price_cents": 2500, "quantity": 60}]
        }),
    );
    let event = create_event(&server, &owner, request).await;
    let id = text(&event, "id");

    let changes = json!({
        "name": "After",
        "venue": "Hall B",
        "capacity": 80,
        "description": null,
        "ends_at": null,
        "max_tickets_per_user": 2
    });
    let reply = patch_event(&server, Some(&owner), &id, changes).await;
    let changed = reply.ok(200).clone();
    let mut expected = event.clone();
    for (field, value) in [
        ("name", json!("After")),
        ("venue", json!("Hall B")),
        ("capacity", json!(80)),
        ("description", Value::Null),
        ("ends_at", Value::Null),
        ("max_tickets_per_user", json!(2)),
    ] {
        expected[field] = value;
    }
    expected["availability"]["capacity"] = json!(80);
    expected["availability"]["available"] = json!(80);
    assert_eq!(changed, expected, "only the named fields change");
    assert_eq!(changed["organizer_id"], owner_id.as_str());
    assert_eq!(get_event(&server, &id).await, changed);

    // Other organizers and attendees may not; anonymous callers are not even asked.
    for token in [&stranger, &attendee] {
        patch_event(&server, Some(token), &id, json!({"name": "Hijacked"}))
            .await
            .problem(403, "forbidden");
    }
    patch_event(&server, None, &id, json!({"name": "Hijacked"}))
        .await
        .problem(401, "unauthorized");

    // Admins may; the event keeps its organizer.
    let by_admin = patch_event(
        &server,
        Some(&admin),
        &id,
        json!({"currency": "GBP", "ends_at": "2031-06-02T01:00:00Z"}),
    )
    .await;
    let by_admin = by_admin.ok(200).clone();
    assert_eq!(by_admin["currency"], "GBP");
    assert_eq!(
        time(&by_admin, "ends_at"),
        time(&json!({"t": "2031-06-02T01:00:00Z"}), "t")
    );
    assert_eq!(by_admin["organizer_id"], owner_id.as_str());
    assert_eq!(by_admin["name"], "After");

    // A change that would make the event invalid is refused and changes nothing.
    for (body, field) in [
        (json!({"starts_at": "2031-06-03T00:00:00Z"}), "ends_at"),
        (json!({"ends_at": "2031-05-01T00:00:00Z"}), "ends_at"),
        (json!({"capacity": 0}), "capacity"),
        (json!({"name": ""}), "name"),
        (json!({"latitude": 95.5}), "latitude"),
        (json!({"currency": "pounds"}), "currency"),
    ] {
        let reply = patch_event(&server, Some(&owner), &id, body.clone()).await;
        assert_eq!(reply.invalid_fields(), [field], "for {body}");
    }
    patch_event(&server, Some(&owner), &id, json!({"capacity": -1}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(get_event(&server, &id).await, by_admin);

    let unknown = uuid::Uuid::now_v7().to_string();
    patch_event(&server, Some(&owner), &unknown, json!({"name": "X"}))
        .await
        .problem(404, "not_found");
    patch_event(&server, Some(&owner), "nope", json!({"name": "X"}))
        .await
        .problem(404, "not_found");
}

crate::on_both_stores!(cancelling_events, super::cancelling_events_body);
async fn cancelling_events_body(server: TestServer) {
    let (owner, _) = organizer(&server, "olaf.cancel@example.org").await;
    let (stranger, _) = organizer(&server, "orin.cancel@example.org").await;
    let (attendee, _) = server.attendee("ava.cancel@example.org").await;
    let admin = server
        .user_with_role("axel.cancel@example.org", "admin")
        .await;
    let event = create_event(&server, &owner, event_body("Doomed", json!({}))).await;
    let id = text(&event, "id");
    let kept = text(
        &create_event(&server, &owner, event_body("Kept", json!({}))).await,
        "id",
    );

    for token in [&stranger, &attendee] {
        delete_event(&server, Some(token), &id)
            .await
            .problem(403, "forbidden");
    }
    delete_event(&server, None, &id)
        .await
        .problem(401, "unauthorized");
    delete_event(&server, Some(&owner), &uuid::Uuid::now_v7().to_string())
        .await
        .problem(404, "not_found");
    assert_eq!(get_event(&server, &id).await["status"], "scheduled");

    delete_event(&server, Some(&owner), &id).await.empty(204);
    let cancelled = get_event(&server, &id).await;
    let mut expected = event.clone();
    expected["status"] = json!("cancelled");
    assert_eq!(cancelled, expected, "only the status changes");
    assert_eq!(listed_ids(&server, "").await, [kept.as_str()]);

    patch_event(&server, Some(&owner), &id, json!({"name": "Revived"}))
        .await
        .problem(409, "event_cancelled");
    patch_event(&server, Some(&admin), &id, json!({"capacity": 10}))
        .await
        .problem(409, "event_cancelled");
    // Cancelling again is harmless.
    delete_event(&server, Some(&owner), &id).await.empty(204);
    assert_eq!(get_event(&server, &id).await, expected);

    // Admins cancel anyone's event.
    delete_event(&server, Some(&admin), &kept).await.empty(204);
    assert_eq!(get_event(&server, &kept).await["status"], "cancelled");
    assert!(listed_ids(&server, "").await.is_empty());
}

crate::on_both_stores!(
    event_reads_carry_an_etag,
    super::event_reads_carry_an_etag_body
);
/// `GET /events/{id}` carries a strong `ETag` and `Cache-Control: no-cache`; the same tag
/// (strong or weak form) or `*` in `If-None-Match` gets 304 without a body, another tag
/// 200; a booking changes the tag. Repeated reads are answered from memory.
async fn event_reads_carry_an_etag_body(server: TestServer) {
    let (org, _) = organizer(&server, "etag.organizer@example.org").await;
    let (ann, _) = crate::support::attendee(&server, "etag.ann@example.org").await;
    let id = text(
        &create_event(&server, &org, event_body("ETag", json!({}))).await,
        "id",
    );
    let path = server.url(&format!("/api/v1/events/{id}"));
    let read = |tag: Option<&str>| {
        let mut request = server.client.get(&path);
        if let Some(tag) = tag {
            request = request.header("If-None-Match", tag);
        }
        crate::support::send(request)
    };
    let first = read(None).await;
    first.ok(200);
    let tag = first.header("etag").expect("an ETag").to_owned();
    assert!(
        tag.starts_with('"') && tag.ends_with('"'),
        "a strong tag: {tag}"
    );
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    let weak = format!("W/{tag}");
    for sent in [
        tag.as_str(),
        weak.as_str(),
        "*",
        &format!("\"other\", {tag}"),
    ] {
        let again = read(Some(sent)).await;
        assert_eq!(again.status, 304, "If-None-Match: {sent}");
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        assert_eq!(again.body, Value::Null, "a 304 has no body");
    }
    assert_eq!(read(Some("\"other\"")).await.status, 200);
    crate::support::booked(&server, &ann, &id, 1).await;
    let changed = read(Some(&tag)).await;
    assert_eq!(changed.ok(200)["availability"]["sold"], json!(1));
    assert_ne!(changed.header("etag"), Some(tag.as_str()));

    assert!(
        reads_from_memory(&server).await > 0,
        "no event read answered from memory"
    );
}

/// `boxoffice_event_reads_total{source="memory"}` of `server`.
async fn reads_from_memory(server: &TestServer) -> u64 {
    let metrics = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    let metrics = metrics.text().await.expect("metrics text");
    metrics
        .lines()
        .find(|l| l.starts_with("boxoffice_event_reads_total{") && l.contains("source=\"memory\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// After a restart the SQLite server knows no version; it learns them from its reads,
/// and serves the same event from memory again, with the same figures and tag.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_sqlite_server_reads_from_memory_again() {
    let Some(mut server) = TestServer::start(boxoffice_e2e::Backend::Sqlite).await else {
        return;
    };
    let (org, _) = organizer(&server, "restart.organizer@example.org").await;
    let id = text(
        &create_event(&server, &org, event_body("Restart", json!({}))).await,
        "id",
    );
    let before = get(&server, &format!("/events/{id}"), None).await;
    server.restart().await;
    assert_eq!(reads_from_memory(&server).await, 0);
    for _ in 0..3 {
        let after = get(&server, &format!("/events/{id}"), None).await;
        assert_eq!(after.ok(200), before.ok(200));
        assert_eq!(after.header("etag"), before.header("etag"));
    }
    assert!(
        reads_from_memory(&server).await > 0,
        "no read from memory after the restart"
    );
}
