//! `/api/v1/events/{id}/holds` and `/api/v1/holds/{id}`: reserving seats, releasing and
//! confirming them, their expiry without any request, and their survival of a restart.

use crate::support::{
    Expect, api, assert_booking, assert_hold, assert_seats, attendee, attendees, book, cancel,
    create_event, event, event_body, eventually, first_type, get, hold, my_bookings, my_entries,
    organizer, queued, text,
};
use boxoffice_e2e::TestServer;
use serde_json::{Value, json};
use std::time::Duration;

/// The default hold lifetime.
const TTL: i64 = 600;

crate::on_both_stores!(
    holds_reserve_release_confirm,
    super::reserve_release_confirm_body
);
async fn reserve_release_confirm_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "olive.holds@example.org").await;
    let (ann, ann_id) = attendee(&server, "ann.holds@example.org").await;
    let (bob, _) = attendee(&server, "bob.holds@example.org").await;
    let created = create_event(
        &server,
        &organizer,
        event_body("Held", json!({"capacity": 10})),
    )
    .await;
    let id = text(&created, "id");
    let general = first_type(&created);

    // 201 Hold; its seats leave `available` (event and ticket type).
    let reply = hold(&server, &ann, &id, json!({"quantity": 3})).await;
    let first = reply.ok(201).clone();
    assert_hold(&first, &id, &general, 3, TTL);
    let hold_id = text(&first, "id");
    if let Some(location) = reply.header("location") {
        assert_eq!(location, format!("/api/v1/holds/{hold_id}"));
    }
    let seen = assert_seats(&server, &id, 10, 0, 3, 0, "after a hold of 3").await;
    let ty = &seen["ticket_types"][0];
    assert_eq!(
        (&ty["sold"], &ty["held"], &ty["available"]),
        (&json!(0), &json!(3), &json!(7)),
        "ticket type: {ty}"
    );

    // Its owner reads it back; nobody else learns it exists.
    assert_eq!(
        get(&server, &format!("/holds/{hold_id}"), Some(&ann))
            .await
            .ok(200),
        &first
    );
    get(&server, &format!("/holds/{hold_id}"), Some(&bob))
        .await
        .problem(404, "not_found");
    api(
        &server,
        "POST",
        &format!("/holds/{hold_id}/confirm"),
        Some(&bob),
        None,
    )
    .await
    .problem(404, "not_found");
    api(
        &server,
        "DELETE",
        &format!("/holds/{hold_id}"),
        Some(&bob),
        None,
    )
    .await
    .problem(404, "not_found");
    get(&server, &format!("/holds/{hold_id}"), Some(&organizer))
        .await
        .problem(404, "not_found");
    get(&server, &format!("/holds/{hold_id}"), None)
        .await
        .problem(401, "unauthorized");
    api(&server, "DELETE", &format!("/holds/{hold_id}"), None, None)
        .await
        .problem(401, "unauthorized");
    assert_seats(&server, &id, 10, 0, 3, 0, "after others tried the hold").await;

    // DELETE returns the seats at once; the hold is gone.
    api(
        &server,
        "DELETE",
        &format!("/holds/{hold_id}"),
        Some(&ann),
        None,
    )
    .await
    .empty(204);
    assert_seats(&server, &id, 10, 0, 0, 0, "after the release").await;
    get(&server, &format!("/holds/{hold_id}"), Some(&ann))
        .await
        .problem(404, "not_found");
    api(
        &server,
        "DELETE",
        &format!("/holds/{hold_id}"),
        Some(&ann),
        None,
    )
    .await
    .problem(404, "not_found");
    api(
        &server,
        "POST",
        &format!("/holds/{hold_id}/confirm"),
        Some(&ann),
        None,
    )
    .await
    .problem(404, "not_found");
    assert_seats(&server, &id, 10, 0, 0, 0, "after using a released hold").await;

    // Confirming turns a hold into a Booking with source "hold".
    let second = hold(
        &server,
        &ann,
        &id,
        json!({"quantity": 2, "ticket_type_id": general}),
    )
    .await
    .ok(201)
    .clone();
    assert_hold(&second, &id, &general, 2, TTL);
    let second_id = text(&second, "id");
    assert_ne!(second_id, hold_id);
    assert_seats(&server, &id, 10, 0, 2, 0, "after the second hold").await;
    let reply = api(
        &server,
        "POST",
        &format!("/holds/{second_id}/confirm"),
        Some(&ann),
        None,
    )
    .await;
    let booking = reply.ok(201).clone();
    let expect = Expect {
        event_id: &id,
        user_id: &ann_id,
        quantity: 2,
        status: "confirmed",
    };
    assert_booking(&booking, expect, "hold");
    assert_eq!(booking["ticket_type_id"], general.as_str());
    let booking_id = text(&booking, "id");
    if let Some(location) = reply.header("location") {
        assert_eq!(location, format!("/api/v1/bookings/{booking_id}"));
    }
    assert_seats(&server, &id, 10, 2, 0, 0, "after the confirmation").await;
    assert_eq!(
        get(&server, &format!("/bookings/{booking_id}"), Some(&ann))
            .await
            .ok(200),
        &booking
    );
    assert_eq!(
        my_bookings(&server, &ann, "").await,
        std::slice::from_ref(&booking)
    );
    // A confirmed hold is no longer a hold, but confirming it again answers its
    // booking (a client that lost the first answer retries), to its owner only.
    get(&server, &format!("/holds/{second_id}"), Some(&ann))
        .await
        .problem(404, "not_found");
    let confirm_again = |token: &str| {
        let (server, path, token) = (
            &server,
            format!("/holds/{second_id}/confirm"),
            token.to_owned(),
        );
        async move { api(server, "POST", &path, Some(&token), None).await }
    };
    assert_eq!(confirm_again(&ann).await.ok(201), &booking);
    confirm_again(&bob).await.problem(404, "not_found");
    api(
        &server,
        "DELETE",
        &format!("/holds/{second_id}"),
        Some(&ann),
        None,
    )
    .await
    .problem(404, "not_found");
    assert_seats(&server, &id, 10, 2, 0, 0, "after reusing a confirmed hold").await;

    // Unknown and malformed ids, unknown events and ticket types: 404.
    let unknown = uuid::Uuid::now_v7().to_string();
    for path in [format!("/holds/{unknown}"), "/holds/nope".to_owned()] {
        get(&server, &path, Some(&ann))
            .await
            .problem(404, "not_found");
        api(&server, "DELETE", &path, Some(&ann), None)
            .await
            .problem(404, "not_found");
        api(
            &server,
            "POST",
            &format!("{path}/confirm"),
            Some(&ann),
            None,
        )
        .await
        .problem(404, "not_found");
    }
    hold(&server, &ann, &unknown, json!({"quantity": 1}))
        .await
        .problem(404, "not_found");
    hold(&server, &ann, "nope", json!({"quantity": 1}))
        .await
        .problem(404, "not_found");
    // A ticket type of another event is no type of this one.
    let other = create_event(
        &server,
        &organizer,
        event_body("Other", json!({"capacity": 5})),
    )
    .await;
    let foreign = first_type(&other);
    hold(
        &server,
        &ann,
        &id,
        json!({"quantity": 1, "ticket_type_id": foreign}),
    )
    .await
    .problem(404, "not_found");
    book(
        &server,
        &ann,
        &id,
        json!({"quantity": 1, "ticket_type_id": foreign}),
    )
    .await
    .problem(404, "not_found");
    assert_seats(
        &server,
        &text(&other, "id"),
        5,
        0,
        0,
        0,
        "of the other event",
    )
    .await;
    hold(
        &server,
        &ann,
        &id,
        json!({"quantity": 1, "ticket_type_id": unknown}),
    )
    .await
    .problem(404, "not_found");
    api(
        &server,
        "POST",
        &format!("/events/{id}/holds"),
        None,
        Some(json!({"quantity": 1})),
    )
    .await
    .problem(401, "unauthorized");

    // Quantities outside 1..=100 are 422 naming `quantity`.
    for quantity in [json!(0), json!(101), json!(-1)] {
        let reply = hold(&server, &ann, &id, json!({"quantity": quantity})).await;
        assert_eq!(reply.invalid_fields(), ["quantity"], "quantity {quantity}");
    }
    assert_seats(&server, &id, 10, 2, 0, 0, "after refused holds").await;
}

crate::on_both_stores!(
    holds_per_ticket_type_and_sold_out,
    super::types_and_sold_out_body
);
async fn types_and_sold_out_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "otis.types@example.org").await;
    let (ann, _) = attendee(&server, "ann.types@example.org").await;
    let (bob, _) = attendee(&server, "bob.types@example.org").await;
    let created = create_event(
        &server,
        &organizer,
        event_body(
            "Typed",
            json!({"capacity": 5, "ticket_types": [
                {"name": "VIP", "price_cents": 9000, "quantity": 2},
                {"name": "Floor", "price_cents": 1000}
            ]}),
        ),
    )
    .await;
    let id = text(&created, "id");
    let vip = text(&created["ticket_types"][0], "id");
    let floor = text(&created["ticket_types"][1], "id");

    // A type's quantity caps it.
    hold(
        &server,
        &ann,
        &id,
        json!({"quantity": 3, "ticket_type_id": vip}),
    )
    .await
    .problem(409, "sold_out");
    let vip_hold = hold(
        &server,
        &ann,
        &id,
        json!({"quantity": 2, "ticket_type_id": vip}),
    )
    .await
    .ok(201)
    .clone();
    assert_hold(&vip_hold, &id, &vip, 2, TTL);
    let seen = assert_seats(&server, &id, 5, 0, 2, 0, "after the VIP hold").await;
    assert_eq!(seen["ticket_types"][0]["held"], 2, "{seen}");
    assert_eq!(seen["ticket_types"][0]["available"], 0, "{seen}");
    assert_eq!(seen["ticket_types"][1]["available"], 3, "{seen}");
    hold(
        &server,
        &bob,
        &id,
        json!({"quantity": 1, "ticket_type_id": vip}),
    )
    .await
    .problem(409, "sold_out");

    // Without a type the first is meant; the capacity caps all types together.
    hold(&server, &bob, &id, json!({"quantity": 1}))
        .await
        .problem(409, "sold_out");
    hold(
        &server,
        &bob,
        &id,
        json!({"quantity": 4, "ticket_type_id": floor}),
    )
    .await
    .problem(409, "sold_out");
    let floor_hold = hold(
        &server,
        &bob,
        &id,
        json!({"quantity": 3, "ticket_type_id": floor}),
    )
    .await
    .ok(201)
    .clone();
    assert_hold(&floor_hold, &id, &floor, 3, TTL);
    assert_seats(&server, &id, 5, 0, 5, 0, "when everything is held").await;
    hold(
        &server,
        &ann,
        &id,
        json!({"quantity": 1, "ticket_type_id": floor}),
    )
    .await
    .problem(409, "sold_out");

    // Releasing one type's hold frees that type only.
    api(
        &server,
        "DELETE",
        &format!("/holds/{}", text(&vip_hold, "id")),
        Some(&ann),
        None,
    )
    .await
    .empty(204);
    let seen = assert_seats(&server, &id, 5, 0, 3, 0, "after the VIP release").await;
    assert_eq!(seen["ticket_types"][0]["available"], 2, "{seen}");
    assert_eq!(seen["ticket_types"][1]["available"], 2, "{seen}");
    hold(
        &server,
        &ann,
        &id,
        json!({"quantity": 1, "ticket_type_id": floor}),
    )
    .await
    .ok(201);
    assert_seats(&server, &id, 5, 0, 4, 0, "after the last hold").await;
}

// `HOLD_TTL_SECS=1`: held seats come back, and promote a waiting entry, without any request.
crate::on_both_stores!(
    holds_expire_without_requests,
    super::expire_without_requests_body,
    env = [("HOLD_TTL_SECS", "1")]
);
async fn expire_without_requests_body(mut server: TestServer) {
    let (organizer, _) = organizer(&server, "ozzy.expiry@example.org").await;
    let users = attendees(&server, "expiry.", 3).await;
    let (ann, _) = &users[0];
    let (bob, bob_id) = &users[1];
    let (cid, _) = &users[2];

    // 1. A lone hold expires; its seats return.
    let plain = text(
        &create_event(
            &server,
            &organizer,
            event_body("Expiring", json!({"capacity": 5})),
        )
        .await,
        "id",
    );
    let first = hold(&server, ann, &plain, json!({"quantity": 3}))
        .await
        .ok(201)
        .clone();
    let first_id = text(&first, "id");
    let path = format!("/events/{plain}");
    eventually(Duration::from_secs(10), "held back to 0", || async {
        let event = get(&server, &path, None).await.ok(200).clone();
        (event["availability"]["held"] == 0).then_some(())
    })
    .await;
    assert_seats(&server, &plain, 5, 0, 0, 0, "after the expiry").await;
    // The stored counters (which analytics report) are back too: the sweeper wrote them,
    // since no request touched the hold or its event's seats.
    eventually(
        Duration::from_secs(10),
        "stored held counter back to 0",
        || async {
            let rows = get(&server, "/analytics/events", Some(&organizer))
                .await
                .ok(200)
                .clone();
            let row = rows
                .as_array()
                .and_then(|rows| {
                    rows.iter()
                        .find(|r| r["event_id"] == plain.as_str())
                        .cloned()
                })
                .expect("an analytics row for the event");
            (row["held"] == 0).then_some(())
        },
    )
    .await;
    get(&server, &format!("/holds/{first_id}"), Some(ann))
        .await
        .problem(404, "not_found");
    api(
        &server,
        "POST",
        &format!("/holds/{first_id}/confirm"),
        Some(ann),
        None,
    )
    .await
    .problem(410, "hold_expired");
    api(
        &server,
        "DELETE",
        &format!("/holds/{first_id}"),
        Some(ann),
        None,
    )
    .await
    .problem(404, "not_found");
    assert_seats(&server, &plain, 5, 0, 0, 0, "after using the expired hold").await;

    // 2. Expired seats go to the waitlist: Cid books 1 of 3, Ann holds the other 2, Bob
    //    queues for 2. Nothing but the sweeper touches the event afterwards.
    let queue_event = text(
        &create_event(
            &server,
            &organizer,
            event_body("Queue", json!({"capacity": 3})),
        )
        .await,
        "id",
    );
    let reply = book(&server, cid, &queue_event, json!({"quantity": 1})).await;
    reply.ok(201);
    let held = hold(&server, ann, &queue_event, json!({"quantity": 2}))
        .await
        .ok(201)
        .clone();
    let entry = queued(&server, bob, &queue_event, 2).await;
    assert_eq!(
        entry["position"], 1,
        "Bob must queue while Ann's 1 s hold is live (is the machine very slow?): {entry}"
    );

    let promoted = eventually(
        Duration::from_secs(10),
        "Bob's waitlist booking",
        || async {
            let mine = my_bookings(&server, bob, "").await;
            (!mine.is_empty()).then_some(mine)
        },
    )
    .await;
    assert_eq!(promoted.len(), 1, "{promoted:?}");
    assert_booking(
        &promoted[0],
        Expect {
            event_id: &queue_event,
            user_id: bob_id,
            quantity: 2,
            status: "confirmed",
        },
        "waitlist",
    );
    let entries = my_entries(&server, bob).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["status"], "promoted", "{entries:?}");
    assert_eq!(entries[0]["booking_id"], promoted[0]["id"], "{entries:?}");
    assert_eq!(entries[0]["position"], Value::Null, "{entries:?}");
    assert_seats(&server, &queue_event, 3, 3, 0, 0, "after the promotion").await;
    api(
        &server,
        "POST",
        &format!("/holds/{}/confirm", text(&held, "id")),
        Some(ann),
        None,
    )
    .await
    .problem(410, "hold_expired");
    assert_seats(
        &server,
        &queue_event,
        3,
        3,
        0,
        0,
        "after confirming too late",
    )
    .await;

    // The sweeper says what it did.
    server
        .wait_for_log(Duration::from_secs(5), |line| {
            (line["message"] == "expired holds returned their seats").then_some(())
        })
        .await;
    assert!(event(&server, &queue_event).await["availability"]["held"] == 0);
}

crate::on_both_stores!(holds_survive_a_restart, super::survive_restart_body);
async fn survive_restart_body(mut server: TestServer) {
    let (organizer, _) = organizer(&server, "orson.restart@example.org").await;
    let (ann, ann_id) = attendee(&server, "ann.restart@example.org").await;
    let created = create_event(
        &server,
        &organizer,
        event_body("Restart", json!({"capacity": 6})),
    )
    .await;
    let id = text(&created, "id");
    let kept = hold(&server, &ann, &id, json!({"quantity": 2}))
        .await
        .ok(201)
        .clone();
    let dropped = hold(&server, &ann, &id, json!({"quantity": 3}))
        .await
        .ok(201)
        .clone();
    let booking = book(&server, &ann, &id, json!({"quantity": 1}))
        .await
        .ok(201)
        .clone();
    assert_seats(&server, &id, 6, 1, 5, 0, "before the restart").await;

    server.restart().await;

    // Same token (same secret), same holds, same counters.
    let kept_id = text(&kept, "id");
    let again = get(&server, &format!("/holds/{kept_id}"), Some(&ann))
        .await
        .ok(200)
        .clone();
    assert_eq!(again["id"], kept["id"]);
    assert_eq!(again["quantity"], 2);
    assert_eq!(
        crate::support::time(&again, "expires_at"),
        crate::support::time(&kept, "expires_at")
    );
    assert_seats(&server, &id, 6, 1, 5, 0, "after the restart").await;
    assert_eq!(
        get(
            &server,
            &format!("/bookings/{}", text(&booking["booking"], "id")),
            Some(&ann)
        )
        .await
        .ok(200),
        &booking["booking"]
    );

    let confirmed = api(
        &server,
        "POST",
        &format!("/holds/{kept_id}/confirm"),
        Some(&ann),
        None,
    )
    .await
    .ok(201)
    .clone();
    assert_booking(
        &confirmed,
        Expect {
            event_id: &id,
            user_id: &ann_id,
            quantity: 2,
            status: "confirmed",
        },
        "hold",
    );
    api(
        &server,
        "DELETE",
        &format!("/holds/{}", text(&dropped, "id")),
        Some(&ann),
        None,
    )
    .await
    .empty(204);
    assert_seats(&server, &id, 6, 3, 0, 0, "after confirming and releasing").await;
    cancel(&server, &ann, &text(&confirmed, "id"), None)
        .await
        .ok(200);
    assert_seats(&server, &id, 6, 1, 0, 0, "after cancelling").await;
}

// Concurrent holds and bookings never take more seats than there are.
crate::on_both_stores!(
    concurrent_holds_never_oversell,
    super::concurrent_holds_body
);
async fn concurrent_holds_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "omri.race@example.org").await;
    let users = attendees(&server, "race.", 40).await;
    let id = text(
        &create_event(
            &server,
            &organizer,
            event_body("Race", json!({"capacity": 10})),
        )
        .await,
        "id",
    );
    let replies =
        futures_util::future::join_all(users.iter().enumerate().map(|(i, (token, _))| {
            let (server, id) = (&server, id.clone());
            async move {
                if i % 2 == 0 {
                    hold(server, token, &id, json!({"quantity": 1})).await
                } else {
                    book(
                        server,
                        token,
                        &id,
                        json!({"quantity": 1, "on_sold_out": "fail"}),
                    )
                    .await
                }
            }
        }))
        .await;
    let mut held = 0;
    let mut sold = 0;
    for (i, reply) in replies.iter().enumerate() {
        match reply.status {
            201 if i % 2 == 0 => held += 1,
            201 => sold += 1,
            _ => {
                reply.problem(409, "sold_out");
            }
        }
    }
    assert_eq!(held + sold, 10, "{held} held and {sold} sold of 10 seats");
    assert_seats(&server, &id, 10, sold, held, 0, "after the race").await;
}
