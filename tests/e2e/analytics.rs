//! `/api/v1/analytics/events`: who sees which events, and the figures after a known
//! sequence of bookings, cancellations, holds and waitlist promotions.

use crate::support::{
    api, assert_seats, attendee, book, booked, cancel, create_event, event_body, get, hold,
    organizer, queued, text,
};
use boxoffice_e2e::TestServer;
use chrono::Utc;
use serde_json::{Value, json};

/// What one analytics row must say.
struct Row<'a> {
    id: &'a str,
    name: &'a str,
    capacity: u64,
    sold: u64,
    held: u64,
    booked_today: u64,
    cancelled: u64,
    waitlist_count: u64,
}

#[track_caller]
fn assert_row(row: &Value, expected: &Row<'_>, check_today: bool) {
    assert_eq!(row["event_id"], expected.id, "row {row}");
    assert_eq!(row["name"], expected.name, "row {row}");
    for (field, value) in [
        ("capacity", expected.capacity),
        ("sold", expected.sold),
        ("held", expected.held),
        ("cancelled", expected.cancelled),
        ("waitlist_count", expected.waitlist_count),
    ] {
        assert_eq!(row[field], value, "`{field}` of {}: {row}", expected.name);
    }
    if check_today {
        assert_eq!(
            row["booked_today"], expected.booked_today,
            "`booked_today` of {}: {row}",
            expected.name
        );
    }
    let ratio = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    };
    for (field, value) in [
        ("utilisation", ratio(expected.sold, expected.capacity)),
        (
            "cancellation_rate",
            ratio(expected.cancelled, expected.sold + expected.cancelled),
        ),
    ] {
        let got = row[field]
            .as_f64()
            .unwrap_or_else(|| panic!("`{field}` is not a number: {row}"));
        assert!(
            (got - value).abs() < 1e-9,
            "`{field}` of {}: {got} != {value}; {row}",
            expected.name
        );
    }
}

/// Asserts the rows are sorted by utilisation (highest first) and are exactly `expected`
/// (in any order among equal utilisations); returns the ids in the order given.
#[track_caller]
fn assert_rows(rows: &Value, expected: &[&Row<'_>], check_today: bool) -> Vec<String> {
    let rows = rows
        .as_array()
        .unwrap_or_else(|| panic!("analytics must be an array: {rows}"));
    assert_eq!(rows.len(), expected.len(), "rows: {rows:?}");
    let utilisation: Vec<f64> = rows
        .iter()
        .map(|r| r["utilisation"].as_f64().expect("utilisation"))
        .collect();
    assert!(
        utilisation.windows(2).all(|w| w[0] >= w[1]),
        "not sorted by utilisation descending: {utilisation:?}"
    );
    for want in expected {
        let row = rows
            .iter()
            .find(|r| r["event_id"] == want.id)
            .unwrap_or_else(|| panic!("no row for {}: {rows:?}", want.name));
        assert_row(row, want, check_today);
    }
    rows.iter().map(|r| text(r, "event_id")).collect()
}

crate::on_both_stores!(analytics_figures_and_access, super::analytics_body);
async fn analytics_body(server: TestServer) {
    let today = Utc::now().date_naive();
    let (first_organizer, _) = organizer(&server, "orla.analytics@example.org").await;
    let (second_organizer, _) = organizer(&server, "omar.analytics@example.org").await;
    let admin = server
        .user_with_role("ari.analytics@example.org", "admin")
        .await;
    let (ann, _) = attendee(&server, "ann.analytics@example.org").await;
    let (bob, _) = attendee(&server, "bob.analytics@example.org").await;
    let (cid, _) = attendee(&server, "cid.analytics@example.org").await;
    let (dee, _) = attendee(&server, "dee.analytics@example.org").await;
    let make = |token: &str, name: &'static str, capacity: u64| {
        let (server, token) = (&server, token.to_owned());
        async move {
            text(
                &create_event(
                    server,
                    &token,
                    event_body(name, json!({"capacity": capacity})),
                )
                .await,
                "id",
            )
        }
    };
    let one = make(&first_organizer, "One", 10).await;
    let two = make(&first_organizer, "Two", 4).await;
    let four = make(&first_organizer, "Four", 8).await;
    let three = make(&second_organizer, "Three", 5).await;
    let five = make(&second_organizer, "Five", 2).await;

    // One: 4 + 2 booked; 1 of the 4 and all 2 cancelled; 1 held.
    let ann_one = booked(&server, &ann, &one, 4).await;
    let bob_one = booked(&server, &bob, &one, 2).await;
    cancel(
        &server,
        &ann,
        &text(&ann_one, "id"),
        Some(json!({"quantity": 1})),
    )
    .await
    .ok(200);
    cancel(&server, &bob, &text(&bob_one, "id"), None)
        .await
        .ok(200);
    hold(&server, &cid, &one, json!({"quantity": 1}))
        .await
        .ok(201);
    // Two: sold out by 4, two queue (1 and 2); 1 cancelled goes to the head.
    let ann_two = booked(&server, &ann, &two, 4).await;
    queued(&server, &bob, &two, 1).await;
    queued(&server, &cid, &two, 2).await;
    cancel(
        &server,
        &ann,
        &text(&ann_two, "id"),
        Some(json!({"quantity": 1})),
    )
    .await
    .ok(200);
    assert_seats(&server, &two, 4, 4, 0, 1, "of Two").await;
    // Three: 1 booked directly, 1 through a confirmed hold.
    booked(&server, &dee, &three, 1).await;
    let held = hold(&server, &dee, &three, json!({"quantity": 1}))
        .await
        .ok(201)
        .clone();
    api(
        &server,
        "POST",
        &format!("/holds/{}/confirm", text(&held, "id")),
        Some(&dee),
        None,
    )
    .await
    .ok(201);
    // Five: sold out, then the event is cancelled.
    book(&server, &dee, &five, json!({"quantity": 2}))
        .await
        .ok(201);
    api(
        &server,
        "DELETE",
        &format!("/events/{five}"),
        Some(&second_organizer),
        None,
    )
    .await
    .empty(204);

    let check_today = Utc::now().date_naive() == today;
    let rows = [
        Row {
            id: &one,
            name: "One",
            capacity: 10,
            sold: 3,
            held: 1,
            booked_today: 3,
            cancelled: 3,
            waitlist_count: 0,
        },
        Row {
            id: &two,
            name: "Two",
            capacity: 4,
            sold: 4,
            held: 0,
            booked_today: 4,
            cancelled: 1,
            waitlist_count: 1,
        },
        Row {
            id: &three,
            name: "Three",
            capacity: 5,
            sold: 2,
            held: 0,
            booked_today: 2,
            cancelled: 0,
            waitlist_count: 0,
        },
        Row {
            id: &four,
            name: "Four",
            capacity: 8,
            sold: 0,
            held: 0,
            booked_today: 0,
            cancelled: 0,
            waitlist_count: 0,
        },
        Row {
            id: &five,
            name: "Five",
            capacity: 2,
            sold: 0,
            held: 0,
            booked_today: 0,
            cancelled: 2,
            waitlist_count: 0,
        },
    ];
    let [r_one, r_two, r_three, r_four, r_five] = &rows;

    // Admins see every event, by utilisation: Two (1.0), Three (0.4), One (0.3), then the
    // empty ones.
    let all = get(&server, "/analytics/events", Some(&admin)).await;
    let order = assert_rows(
        all.ok(200),
        &[r_one, r_two, r_three, r_four, r_five],
        check_today,
    );
    assert_eq!(order[..3], [two.clone(), three.clone(), one.clone()]);

    // Organizers see their own.
    let own = get(&server, "/analytics/events", Some(&first_organizer)).await;
    let order = assert_rows(own.ok(200), &[r_one, r_two, r_four], check_today);
    assert_eq!(order, [two.clone(), one.clone(), four.clone()]);
    let own = get(&server, "/analytics/events", Some(&second_organizer)).await;
    let order = assert_rows(own.ok(200), &[r_three, r_five], check_today);
    assert_eq!(order[0], three);

    // Attendees may not; anonymous callers are not asked.
    get(&server, "/analytics/events", Some(&ann))
        .await
        .problem(403, "forbidden");
    get(&server, "/analytics/events", None)
        .await
        .problem(401, "unauthorized");

    // An organizer without events gets an empty list.
    let (newcomer, _) = organizer(&server, "nina.analytics@example.org").await;
    let empty = get(&server, "/analytics/events", Some(&newcomer)).await;
    assert_eq!(empty.ok(200), &json!([]));
}
