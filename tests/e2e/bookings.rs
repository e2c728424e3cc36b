//! `/api/v1/events/{id}/bookings`, `/api/v1/bookings/{id}` and `/api/v1/users/me/bookings`:
//! outcomes (201 booking, 201 booking + entry, 202 entry, 409), sale refusals,
//! idempotency keys (also concurrent), cancellations, visibility, listings, and a flash
//! sale over HTTP.

use crate::support::{
    Expect, all_pages, api, assert_booking, assert_entry, assert_problem_in, assert_seats,
    attendee, attendees, book, book_with_key, booked, cancel, column, create_event, event_body,
    event_queue, first_type, get, hold, join, my_bookings, my_entries, organizer, queued, text,
};
use boxoffice_e2e::TestServer;
use serde_json::{Value, json};

crate::on_both_stores!(booking_outcomes, super::booking_outcomes_body);
async fn booking_outcomes_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "opal.outcomes@example.org").await;
    let (ann, ann_id) = attendee(&server, "ann.outcomes@example.org").await;
    let (bob, bob_id) = attendee(&server, "bob.outcomes@example.org").await;
    let (cid, cid_id) = attendee(&server, "cid.outcomes@example.org").await;
    let (dee, dee_id) = attendee(&server, "dee.outcomes@example.org").await;
    let created = create_event(
        &server,
        &organizer,
        event_body("Outcomes", json!({"capacity": 5})),
    )
    .await;
    let id = text(&created, "id");
    let general = first_type(&created);

    // Enough seats: 201 with a booking only.
    let reply = book(&server, &ann, &id, json!({"quantity": 2})).await;
    let outcome = reply.ok(201).clone();
    assert_eq!(outcome["waitlist_entry"], Value::Null, "{outcome}");
    let booking = &outcome["booking"];
    assert_booking(
        booking,
        Expect {
            event_id: &id,
            user_id: &ann_id,
            quantity: 2,
            status: "confirmed",
        },
        "direct",
    );
    assert_eq!(booking["ticket_type_id"], general.as_str());
    let booking_id = text(booking, "id");
    if let Some(location) = reply.header("location") {
        assert_eq!(location, format!("/api/v1/bookings/{booking_id}"));
    }
    assert_eq!(
        get(&server, &format!("/bookings/{booking_id}"), Some(&ann))
            .await
            .ok(200),
        booking
    );
    assert_seats(&server, &id, 5, 2, 0, 0, "after Ann's booking").await;

    // Not enough, allow_partial: 201 with a booking for what is left and an entry for the rest.
    let outcome = book(
        &server,
        &bob,
        &id,
        json!({"quantity": 5, "allow_partial": true}),
    )
    .await
    .ok(201)
    .clone();
    assert_booking(
        &outcome["booking"],
        Expect {
            event_id: &id,
            user_id: &bob_id,
            quantity: 3,
            status: "confirmed",
        },
        "direct",
    );
    assert_entry(
        &outcome["waitlist_entry"],
        Expect {
            event_id: &id,
            user_id: &bob_id,
            quantity: 2,
            status: "waiting",
        },
        Some(1),
    );
    assert_seats(&server, &id, 5, 5, 0, 1, "after Bob's partial booking").await;

    // Sold out, default on_sold_out: 202 with an entry only.
    let entry = queued(&server, &cid, &id, 1).await;
    assert_entry(
        &entry,
        Expect {
            event_id: &id,
            user_id: &cid_id,
            quantity: 1,
            status: "waiting",
        },
        Some(2),
    );
    assert_eq!(entry["ticket_type_id"], general.as_str());
    assert_seats(&server, &id, 5, 5, 0, 2, "after Cid queued").await;
    // ... explicitly too, and allow_partial with nothing left waits for all.
    let outcome = book(
        &server,
        &dee,
        &id,
        json!({"quantity": 2, "on_sold_out": "waitlist", "allow_partial": true}),
    )
    .await
    .ok(202)
    .clone();
    assert_eq!(outcome["booking"], Value::Null, "{outcome}");
    assert_entry(
        &outcome["waitlist_entry"],
        Expect {
            event_id: &id,
            user_id: &dee_id,
            quantity: 2,
            status: "waiting",
        },
        Some(3),
    );
    assert_seats(&server, &id, 5, 5, 0, 3, "after Dee queued").await;

    // One waiting entry per user, event and type: 409 already_waitlisted, nothing booked.
    book(&server, &cid, &id, json!({"quantity": 1}))
        .await
        .problem(409, "already_waitlisted");
    book(
        &server,
        &bob,
        &id,
        json!({"quantity": 3, "allow_partial": true}),
    )
    .await
    .problem(409, "already_waitlisted");
    join(&server, &cid, &id, json!({"quantity": 1}))
        .await
        .problem(409, "already_waitlisted");
    assert_seats(&server, &id, 5, 5, 0, 3, "after repeated queueing").await;

    // on_sold_out "fail": 409 sold_out, with or without allow_partial.
    let (eve, _) = attendee(&server, "eve.outcomes@example.org").await;
    book(
        &server,
        &eve,
        &id,
        json!({"quantity": 1, "on_sold_out": "fail"}),
    )
    .await
    .problem(409, "sold_out");
    book(
        &server,
        &eve,
        &id,
        json!({"quantity": 1, "on_sold_out": "fail", "allow_partial": true}),
    )
    .await
    .problem(409, "sold_out");
    assert_seats(&server, &id, 5, 5, 0, 3, "after failed bookings").await;
    assert!(my_bookings(&server, &eve, "").await.is_empty());
    assert!(my_entries(&server, &eve).await.is_empty());

    // allow_partial with "fail" books what is left and queues nothing.
    let small = text(
        &create_event(
            &server,
            &organizer,
            event_body("Small", json!({"capacity": 4})),
        )
        .await,
        "id",
    );
    book(&server, &eve, &small, json!({"quantity": 1}))
        .await
        .ok(201);
    book(
        &server,
        &eve,
        &small,
        json!({"quantity": 4, "on_sold_out": "fail"}),
    )
    .await
    .problem(409, "sold_out");
    let outcome = book(
        &server,
        &eve,
        &small,
        json!({"quantity": 4, "on_sold_out": "fail", "allow_partial": true}),
    )
    .await
    .ok(201)
    .clone();
    assert_eq!(outcome["booking"]["quantity"], 3, "{outcome}");
    assert_eq!(outcome["waitlist_entry"], Value::Null, "{outcome}");
    assert_seats(
        &server,
        &small,
        4,
        4,
        0,
        0,
        "after the partial fail booking",
    )
    .await;

    // The organizer's queue shows who waits, in order.
    let waiting = event_queue(&server, &organizer, &id, "").await;
    assert_eq!(
        column(&waiting, "user_id"),
        [bob_id.clone(), cid_id.clone(), dee_id.clone()]
    );
    assert_eq!(
        waiting
            .iter()
            .map(|e| e["position"].clone())
            .collect::<Vec<_>>(),
        [json!(1), json!(2), json!(3)]
    );

    // Bad requests: 422 naming the field; unknown events and types: 404; no token: 401.
    for body in [
        json!({"quantity": 0}),
        json!({"quantity": 101}),
        json!({"quantity": -2}),
    ] {
        assert_eq!(
            book(&server, &eve, &small, body.clone())
                .await
                .invalid_fields(),
            ["quantity"],
            "{body}"
        );
    }
    assert_eq!(
        book(
            &server,
            &eve,
            &small,
            json!({"quantity": 1, "on_sold_out": "maybe"})
        )
        .await
        .invalid_fields(),
        ["on_sold_out"]
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    book(&server, &eve, &unknown, json!({"quantity": 1}))
        .await
        .problem(404, "not_found");
    book(&server, &eve, "nope", json!({"quantity": 1}))
        .await
        .problem(404, "not_found");
    book(
        &server,
        &eve,
        &small,
        json!({"quantity": 1, "ticket_type_id": unknown}),
    )
    .await
    .problem(404, "not_found");
    api(
        &server,
        "POST",
        &format!("/events/{small}/bookings"),
        None,
        Some(json!({"quantity": 1})),
    )
    .await
    .problem(401, "unauthorized");
    assert_seats(&server, &small, 4, 4, 0, 0, "after bad requests").await;
}

// 409 sales_closed (before sales_open_at, after sales_close_at), event_cancelled and
// purchase_limit_exceeded for holds, bookings and waitlist joins.
crate::on_both_stores!(sale_refusals, super::sale_refusals_body);
async fn sale_refusals_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "omar.refusals@example.org").await;
    let (ann, _) = attendee(&server, "ann.refusals@example.org").await;
    let (bob, _) = attendee(&server, "bob.refusals@example.org").await;
    let (s, o) = (&server, &organizer);
    let new_event = |body: Value| async move { text(&create_event(s, o, body).await, "id") };

    let not_yet = new_event(event_body(
        "Not yet",
        json!({"sales_open_at": "2030-01-01T00:00:00Z"}),
    ))
    .await;
    let over = new_event(event_body(
        "Over",
        json!({"sales_close_at": "2021-01-01T00:00:00Z"}),
    ))
    .await;
    let over_both = new_event(event_body(
        "Over too",
        json!({"sales_open_at": "2020-01-01T00:00:00Z", "sales_close_at": "2021-01-01T00:00:00Z"}),
    ))
    .await;
    let cancelled = new_event(event_body("Cancelled", json!({}))).await;
    api(
        &server,
        "DELETE",
        &format!("/events/{cancelled}"),
        Some(&organizer),
        None,
    )
    .await
    .empty(204);

    for (id, code) in [
        (&not_yet, "sales_closed"),
        (&over, "sales_closed"),
        (&over_both, "sales_closed"),
        (&cancelled, "event_cancelled"),
    ] {
        hold(&server, &ann, id, json!({"quantity": 1}))
            .await
            .problem(409, code);
        for on_sold_out in ["waitlist", "fail"] {
            book(
                &server,
                &ann,
                id,
                json!({"quantity": 1, "on_sold_out": on_sold_out}),
            )
            .await
            .problem(409, code);
        }
        join(&server, &ann, id, json!({"quantity": 1}))
            .await
            .problem(409, code);
        let expected_available = if id == &cancelled { None } else { Some(100) };
        let seen = crate::support::event(&server, id).await;
        assert_eq!(seen["availability"]["sold"], 0, "{seen}");
        assert_eq!(seen["availability"]["held"], 0, "{seen}");
        if let Some(available) = expected_available {
            assert_eq!(seen["availability"]["available"], available, "{seen}");
        }
    }
    assert!(my_bookings(&server, &ann, "").await.is_empty());
    assert!(my_entries(&server, &ann).await.is_empty());

    // Opening sales (PATCH) makes the event sell.
    api(
        &server,
        "PATCH",
        &format!("/events/{not_yet}"),
        Some(&organizer),
        Some(json!({"sales_open_at": "2026-01-01T00:00:00Z"})),
    )
    .await
    .ok(200);
    booked(&server, &ann, &not_yet, 1).await;

    // max_tickets_per_user counts booked, held and waiting seats.
    let limited = new_event(event_body(
        "Limited",
        json!({"capacity": 4, "max_tickets_per_user": 3}),
    ))
    .await;
    book(&server, &ann, &limited, json!({"quantity": 4}))
        .await
        .problem(409, "purchase_limit_exceeded");
    hold(&server, &ann, &limited, json!({"quantity": 4}))
        .await
        .problem(409, "purchase_limit_exceeded");
    booked(&server, &ann, &limited, 2).await;
    hold(&server, &ann, &limited, json!({"quantity": 2}))
        .await
        .problem(409, "purchase_limit_exceeded");
    hold(&server, &ann, &limited, json!({"quantity": 1}))
        .await
        .ok(201);
    book(&server, &ann, &limited, json!({"quantity": 1}))
        .await
        .problem(409, "purchase_limit_exceeded");
    assert_seats(&server, &limited, 4, 2, 1, 0, "after Ann reached her limit").await;
    // Bob takes the last seat, then queues: waiting seats count too.
    booked(&server, &bob, &limited, 1).await;
    queued(&server, &bob, &limited, 2).await;
    book(
        &server,
        &bob,
        &limited,
        json!({"quantity": 1, "on_sold_out": "fail"}),
    )
    .await
    .problem(409, "purchase_limit_exceeded");
    hold(&server, &bob, &limited, json!({"quantity": 1}))
        .await
        .problem(409, "purchase_limit_exceeded");
    assert_seats(&server, &limited, 4, 3, 1, 1, "after Bob reached his limit").await;
    // Cancelled seats no longer count.
    let ann_booking = &my_bookings(&server, &ann, "?status=confirmed").await;
    let limited_booking = ann_booking
        .iter()
        .find(|b| b["event_id"] == limited.as_str())
        .expect("Ann's booking of Limited");
    cancel(
        &server,
        &ann,
        &text(limited_booking, "id"),
        Some(json!({"quantity": 1})),
    )
    .await
    .ok(200);
    // That seat went to Bob's waiting entry? No: he waits for 2 and only 1 is free.
    assert_seats(&server, &limited, 4, 2, 1, 1, "after Ann's partial cancel").await;
    hold(&server, &ann, &limited, json!({"quantity": 2}))
        .await
        .problem(409, "purchase_limit_exceeded");
}

crate::on_both_stores!(idempotent_bookings, super::idempotent_bookings_body);
async fn idempotent_bookings_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "ida.idem@example.org").await;
    let (ann, ann_id) = attendee(&server, "ann.idem@example.org").await;
    let (bob, _) = attendee(&server, "bob.idem@example.org").await;
    let (cid, _) = attendee(&server, "cid.idem@example.org").await;
    let id = text(
        &create_event(
            &server,
            &organizer,
            event_body("Idempotent", json!({"capacity": 40})),
        )
        .await,
        "id",
    );
    let body = json!({"quantity": 2});

    let first = book_with_key(&server, &ann, &id, &body, "key-1").await;
    let first = first.ok(201).clone();
    assert_booking(
        &first["booking"],
        Expect {
            event_id: &id,
            user_id: &ann_id,
            quantity: 2,
            status: "confirmed",
        },
        "direct",
    );
    assert_seats(&server, &id, 40, 2, 0, 0, "after the first request").await;
    for _ in 0..3 {
        let again = book_with_key(&server, &ann, &id, &body, "key-1").await;
        assert_eq!(again.ok(201), &first, "a repeat returns the first response");
    }
    assert_seats(&server, &id, 40, 2, 0, 0, "after repeats").await;
    assert_eq!(my_bookings(&server, &ann, "").await.len(), 1);

    // Same key, another body: 422 idempotency_key_reused, nothing booked.
    for other in [
        json!({"quantity": 3}),
        json!({"quantity": 2, "allow_partial": true}),
        json!({"quantity": 2, "on_sold_out": "fail"}),
    ] {
        book_with_key(&server, &ann, &id, &other, "key-1")
            .await
            .problem(422, "idempotency_key_reused");
    }
    let elsewhere = text(
        &create_event(
            &server,
            &organizer,
            event_body("Elsewhere", json!({"capacity": 5})),
        )
        .await,
        "id",
    );
    book_with_key(&server, &ann, &elsewhere, &body, "key-1")
        .await
        .problem(422, "idempotency_key_reused");
    assert_seats(&server, &id, 40, 2, 0, 0, "after reused keys").await;
    assert_seats(&server, &elsewhere, 5, 0, 0, 0, "after a reused key").await;

    // Keys belong to their user: Bob's "key-1" is his own, and never shows Ann's booking.
    let bobs = book_with_key(&server, &bob, &id, &body, "key-1")
        .await
        .ok(201)
        .clone();
    assert_ne!(bobs["booking"]["id"], first["booking"]["id"]);
    assert_ne!(bobs["booking"]["user_id"], ann_id.as_str());
    assert_seats(&server, &id, 40, 4, 0, 0, "after Bob's booking").await;

    // Without a key every request books; a new key books anew.
    booked(&server, &ann, &id, 2).await;
    let second = book_with_key(&server, &ann, &id, &body, "key-2")
        .await
        .ok(201)
        .clone();
    assert_ne!(second["booking"]["id"], first["booking"]["id"]);
    assert_seats(
        &server,
        &id,
        40,
        8,
        0,
        0,
        "after unkeyed and new-key bookings",
    )
    .await;

    // A repeat after the booking was cancelled still books nothing new.
    cancel(&server, &ann, &text(&first["booking"], "id"), None)
        .await
        .ok(200);
    assert_seats(
        &server,
        &id,
        40,
        6,
        0,
        0,
        "after cancelling the keyed booking",
    )
    .await;
    let late = book_with_key(&server, &ann, &id, &body, "key-1").await;
    assert_eq!(late.status, 201, "{}", late.body);
    assert_eq!(
        late.body["booking"]["id"], first["booking"]["id"],
        "{}",
        late.body
    );
    assert_seats(
        &server,
        &id,
        40,
        6,
        0,
        0,
        "after a repeat of a cancelled booking",
    )
    .await;

    // A keyed request that ended on the waitlist repeats as the same 202, not as a second entry.
    let full = text(
        &create_event(
            &server,
            &organizer,
            event_body("Full", json!({"capacity": 1})),
        )
        .await,
        "id",
    );
    booked(&server, &bob, &full, 1).await;
    let waiting = book_with_key(&server, &ann, &full, &json!({"quantity": 1}), "wait-1")
        .await
        .ok(202)
        .clone();
    let again = book_with_key(&server, &ann, &full, &json!({"quantity": 1}), "wait-1").await;
    assert_eq!(again.ok(202), &waiting);
    assert_seats(&server, &full, 1, 1, 0, 1, "after a repeated waitlisting").await;

    // A failed request stores no key: once seats free up, the same key books.
    book_with_key(
        &server,
        &cid,
        &full,
        &json!({"quantity": 1, "on_sold_out": "fail"}),
        "try",
    )
    .await
    .problem(409, "sold_out");
    let roomy = text(
        &create_event(
            &server,
            &organizer,
            event_body("Roomy", json!({"capacity": 2})),
        )
        .await,
        "id",
    );
    book_with_key(
        &server,
        &cid,
        &roomy,
        &json!({"quantity": 3, "on_sold_out": "fail"}),
        "retry",
    )
    .await
    .problem(409, "sold_out");
    api(
        &server,
        "PATCH",
        &format!("/events/{roomy}"),
        Some(&organizer),
        Some(json!({"capacity": 3})),
    )
    .await
    .ok(200);
    book_with_key(
        &server,
        &cid,
        &roomy,
        &json!({"quantity": 3, "on_sold_out": "fail"}),
        "retry",
    )
    .await
    .ok(201);
    assert_seats(&server, &roomy, 3, 3, 0, 0, "after the retried key").await;

    // Keys must be 1 to 255 printable ASCII characters.
    let long = "k".repeat(256);
    let reply = book_with_key(&server, &ann, &id, &body, &long).await;
    assert_eq!(reply.invalid_fields(), ["Idempotency-Key"]);
    assert_seats(&server, &id, 40, 6, 0, 0, "after a bad key").await;
}

// Sixteen concurrent requests with one key book once, and all answer with that booking.
crate::on_both_stores!(
    concurrent_idempotent_bookings,
    super::concurrent_idempotent_body
);
async fn concurrent_idempotent_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "iris.concurrent@example.org").await;
    let (ann, _) = attendee(&server, "ann.concurrent@example.org").await;
    let id = text(
        &create_event(
            &server,
            &organizer,
            event_body("Concurrent", json!({"capacity": 50})),
        )
        .await,
        "id",
    );
    let body = json!({"quantity": 2});
    for round in 0..3 {
        let key = format!("burst-{round}");
        let replies = futures_util::future::join_all(
            (0..16).map(|_| book_with_key(&server, &ann, &id, &body, &key)),
        )
        .await;
        let ids: Vec<Value> = replies
            .iter()
            .map(|reply| reply.ok(201)["booking"]["id"].clone())
            .collect();
        assert!(ids[0].is_string(), "{:?}", replies[0]);
        assert!(
            ids.iter().all(|b| b == &ids[0]),
            "one booking for one key: {ids:?}"
        );
        let sold = 2 * (round + 1);
        assert_seats(
            &server,
            &id,
            50,
            sold,
            0,
            0,
            &format!("after burst {round}"),
        )
        .await;
    }
    assert_eq!(my_bookings(&server, &ann, "").await.len(), 3);
}

crate::on_both_stores!(cancelling_bookings, super::cancelling_bookings_body);
async fn cancelling_bookings_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "orla.cancels@example.org").await;
    let admin = server
        .user_with_role("adam.cancels@example.org", "admin")
        .await;
    let (ann, ann_id) = attendee(&server, "ann.cancels@example.org").await;
    let (bob, bob_id) = attendee(&server, "bob.cancels@example.org").await;
    let id = text(
        &create_event(
            &server,
            &organizer,
            event_body("Cancels", json!({"capacity": 5})),
        )
        .await,
        "id",
    );
    let booking = booked(&server, &ann, &id, 4).await;
    let booking_id = text(&booking, "id");
    let spare = booked(&server, &bob, &id, 1).await;
    queued(&server, &bob, &id, 2).await;
    let expect = |quantity: u64, status: &'static str| Expect {
        event_id: &id,
        user_id: &ann_id,
        quantity,
        status,
    };

    // Quantity 0 and above what is booked: 422 naming `quantity`; nothing changes.
    for quantity in [0, 5, 101] {
        let reply = cancel(
            &server,
            &ann,
            &booking_id,
            Some(json!({"quantity": quantity})),
        )
        .await;
        assert_eq!(reply.invalid_fields(), ["quantity"], "quantity {quantity}");
    }
    assert_seats(&server, &id, 5, 5, 0, 1, "after refused cancels").await;

    // Nobody else's: 404 (the event's organizer may see it but not cancel it).
    for token in [&bob, &organizer] {
        let reply = cancel(&server, token, &booking_id, Some(json!({"quantity": 1}))).await;
        assert_problem_in(&reply, &[403, 404], |s| {
            if s == 403 { "forbidden" } else { "not_found" }
        });
    }
    cancel(&server, &bob, &booking_id, None)
        .await
        .problem(404, "not_found");
    api(
        &server,
        "POST",
        &format!("/bookings/{booking_id}/cancel"),
        None,
        None,
    )
    .await
    .problem(401, "unauthorized");
    assert_seats(&server, &id, 5, 5, 0, 1, "after others tried to cancel").await;

    // Part of it: the quantity goes down, the booking stays confirmed; 1 free seat does
    // not fit Bob's 2.
    let partial = cancel(&server, &ann, &booking_id, Some(json!({"quantity": 1})))
        .await
        .ok(200)
        .clone();
    assert_booking(&partial, expect(3, "confirmed"), "direct");
    assert_eq!(partial["id"], booking_id.as_str());
    assert_eq!(partial["created_at"], booking["created_at"]);
    assert_seats(&server, &id, 5, 4, 0, 1, "after cancelling 1 of 4").await;
    assert_eq!(
        get(&server, &format!("/bookings/{booking_id}"), Some(&ann))
            .await
            .ok(200),
        &partial
    );

    // One more: Bob's entry fits and is promoted in the same request.
    let partial = cancel(&server, &ann, &booking_id, Some(json!({"quantity": 1})))
        .await
        .ok(200)
        .clone();
    assert_booking(&partial, expect(2, "confirmed"), "direct");
    assert_seats(&server, &id, 5, 5, 0, 0, "after Bob's promotion").await;
    let bobs = my_bookings(&server, &bob, "").await;
    assert_eq!(bobs.len(), 2, "{bobs:?}");
    assert_booking(
        &bobs[0],
        Expect {
            event_id: &id,
            user_id: &bob_id,
            quantity: 2,
            status: "confirmed",
        },
        "waitlist",
    );
    assert_eq!(bobs[1], spare);

    // All of it (no body): cancelled with cancelled_at.
    let all = cancel(&server, &ann, &booking_id, None)
        .await
        .ok(200)
        .clone();
    assert_eq!(all["status"], "cancelled", "{all}");
    assert_eq!(all["id"], booking_id.as_str());
    assert_booking(
        &all,
        expect(all["quantity"].as_u64().expect("quantity"), "cancelled"),
        "direct",
    );
    assert_seats(&server, &id, 5, 3, 0, 0, "after the full cancel").await;
    assert_eq!(
        get(&server, &format!("/bookings/{booking_id}"), Some(&ann))
            .await
            .ok(200),
        &all
    );

    // Twice: 409 already_cancelled, with or without a quantity.
    cancel(&server, &ann, &booking_id, None)
        .await
        .problem(409, "already_cancelled");
    cancel(&server, &ann, &booking_id, Some(json!({"quantity": 1})))
        .await
        .problem(409, "already_cancelled");
    cancel(&server, &admin, &booking_id, Some(json!({})))
        .await
        .problem(409, "already_cancelled");
    assert_seats(&server, &id, 5, 3, 0, 0, "after cancelling twice").await;

    // An empty JSON object cancels everything too; admins cancel anyone's booking.
    let by_admin = cancel(&server, &admin, &text(&spare, "id"), Some(json!({})))
        .await
        .ok(200)
        .clone();
    assert_eq!(by_admin["status"], "cancelled", "{by_admin}");
    assert_eq!(by_admin["user_id"], bob_id.as_str());
    assert_seats(&server, &id, 5, 2, 0, 0, "after the admin's cancel").await;

    // Unknown and malformed ids: 404.
    let unknown = uuid::Uuid::now_v7().to_string();
    for bad in [unknown.as_str(), "nope"] {
        cancel(&server, &ann, bad, None)
            .await
            .problem(404, "not_found");
        cancel(&server, &admin, bad, None)
            .await
            .problem(404, "not_found");
        get(&server, &format!("/bookings/{bad}"), Some(&ann))
            .await
            .problem(404, "not_found");
    }
    // A body that is not JSON, or says something else: 400 / 422.
    let reply = crate::support::send(
        server
            .client
            .post(server.url(&format!("/api/v1/bookings/{}/cancel", text(&bobs[0], "id"))))
            .bearer_auth(&bob)
            .header("content-type", "application/json")
            .body("{\"quantity\": "),
    )
    .await;
    reply.problem(400, "malformed_json");
    assert_eq!(
        cancel(
            &server,
            &bob,
            &text(&bobs[0], "id"),
            Some(json!({"quantity": "two"}))
        )
        .await
        .invalid_fields(),
        ["quantity"]
    );
    assert_seats(&server, &id, 5, 2, 0, 0, "after bad cancel bodies").await;

    // Cancelling exactly what is booked cancels the booking.
    let exact = cancel(
        &server,
        &bob,
        &text(&bobs[0], "id"),
        Some(json!({"quantity": 2})),
    )
    .await
    .ok(200)
    .clone();
    assert_booking(
        &exact,
        Expect {
            event_id: &id,
            user_id: &bob_id,
            quantity: exact["quantity"].as_u64().expect("quantity"),
            status: "cancelled",
        },
        "waitlist",
    );
    assert_seats(&server, &id, 5, 0, 0, 0, "after the exact cancel").await;
    assert_eq!(
        my_bookings(&server, &bob, "?status=confirmed").await,
        Vec::<Value>::new()
    );
}

// Bookings are seen by their owner, their event's organizer and admins; to anyone else
// they do not exist.
crate::on_both_stores!(booking_visibility, super::booking_visibility_body);
async fn booking_visibility_body(server: TestServer) {
    let (owner, _) = organizer(&server, "odin.visible@example.org").await;
    let (other_organizer, _) = organizer(&server, "oona.visible@example.org").await;
    let admin = server
        .user_with_role("ada.visible@example.org", "admin")
        .await;
    let (ann, _) = attendee(&server, "ann.visible@example.org").await;
    let (bob, _) = attendee(&server, "bob.visible@example.org").await;
    let id = text(
        &create_event(
            &server,
            &owner,
            event_body("Visible", json!({"capacity": 5})),
        )
        .await,
        "id",
    );
    let booking = booked(&server, &ann, &id, 2).await;
    let path = format!("/bookings/{}", text(&booking, "id"));

    for token in [&ann, &owner, &admin] {
        assert_eq!(get(&server, &path, Some(token)).await.ok(200), &booking);
    }
    for token in [&bob, &other_organizer] {
        get(&server, &path, Some(token))
            .await
            .problem(404, "not_found");
        cancel(&server, token, &text(&booking, "id"), None)
            .await
            .problem(404, "not_found");
    }
    get(&server, &path, None).await.problem(401, "unauthorized");
    assert!(my_bookings(&server, &bob, "").await.is_empty());
    assert_seats(&server, &id, 5, 2, 0, 0, "after strangers tried").await;

    // Organizers see bookings of their own events only, even when they booked elsewhere.
    let theirs = text(
        &create_event(
            &server,
            &other_organizer,
            event_body("Theirs", json!({"capacity": 5})),
        )
        .await,
        "id",
    );
    let owners_booking = booked(&server, &owner, &theirs, 1).await;
    let owners_path = format!("/bookings/{}", text(&owners_booking, "id"));
    for token in [&owner, &other_organizer, &admin] {
        assert_eq!(
            get(&server, &owners_path, Some(token)).await.ok(200),
            &owners_booking
        );
    }
    get(&server, &owners_path, Some(&ann))
        .await
        .problem(404, "not_found");

    // After a cancellation too.
    cancel(&server, &admin, &text(&booking, "id"), None)
        .await
        .ok(200);
    get(&server, &path, Some(&bob))
        .await
        .problem(404, "not_found");
    assert_eq!(
        get(&server, &path, Some(&owner)).await.ok(200)["status"],
        "cancelled"
    );
}

crate::on_both_stores!(my_bookings_filter_and_pages, super::my_bookings_body);
async fn my_bookings_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "oprah.mine@example.org").await;
    let (ann, ann_id) = attendee(&server, "ann.mine@example.org").await;
    let (bob, _) = attendee(&server, "bob.mine@example.org").await;
    let first = text(
        &create_event(
            &server,
            &organizer,
            event_body("Mine 1", json!({"capacity": 50})),
        )
        .await,
        "id",
    );
    let second = text(
        &create_event(
            &server,
            &organizer,
            event_body("Mine 2", json!({"capacity": 50})),
        )
        .await,
        "id",
    );
    let mut made = Vec::new();
    for i in 0..7 {
        let event = if i % 2 == 0 { &first } else { &second };
        made.push(booked(&server, &ann, event, 1 + i % 3).await);
    }
    booked(&server, &bob, &first, 1).await;
    let ids = column(&made, "id");
    // Quantities 1, 2, 3, 1, 2, 3, 1: cancel #1 and #4 entirely, 1 of #5's 3.
    for i in [1, 4] {
        cancel(&server, &ann, &ids[i], None).await.ok(200);
    }
    cancel(&server, &ann, &ids[5], Some(json!({"quantity": 1})))
        .await
        .ok(200);

    // Newest first, in pages of 3 (3, 3, 1), each item a Booking of Ann's.
    let pages = all_pages(&server, "/users/me/bookings?limit=3", Some(&ann), 3).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    let listed: Vec<Value> = pages.into_iter().flatten().collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(column(&listed, "id"), newest_first);
    for booking in &listed {
        assert_eq!(booking["user_id"], ann_id.as_str());
        let fresh = get(
            &server,
            &format!("/bookings/{}", text(booking, "id")),
            Some(&ann),
        )
        .await;
        assert_eq!(
            fresh.ok(200),
            booking,
            "the listing shows bookings as they are"
        );
    }
    assert_eq!(
        (&listed[1]["quantity"], &listed[1]["status"]),
        (&json!(2), &json!("confirmed")),
        "#5 after cancelling 1 of 3: {}",
        listed[1]
    );

    // ?status= filters, still newest first.
    let confirmed = my_bookings(&server, &ann, "?status=confirmed").await;
    let expected: Vec<String> = [6, 5, 3, 2, 0].iter().map(|&i| ids[i].clone()).collect();
    assert_eq!(column(&confirmed, "id"), expected);
    assert!(confirmed.iter().all(|b| b["status"] == "confirmed"));
    let cancelled = my_bookings(&server, &ann, "?status=cancelled").await;
    assert_eq!(column(&cancelled, "id"), [ids[4].clone(), ids[1].clone()]);
    assert!(
        cancelled
            .iter()
            .all(|b| b["status"] == "cancelled" && b["cancelled_at"].is_string())
    );
    let pages = all_pages(
        &server,
        "/users/me/bookings?status=confirmed&limit=2",
        Some(&ann),
        2,
    )
    .await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(column(&pages.concat(), "id"), expected);

    // Others see only their own; bad queries are 422; no token is 401.
    assert_eq!(my_bookings(&server, &bob, "").await.len(), 1);
    assert!(
        my_bookings(&server, &bob, "?status=cancelled")
            .await
            .is_empty()
    );
    for query in [
        "?status=maybe",
        "?limit=0",
        "?limit=101",
        "?cursor=garbage!",
    ] {
        get(&server, &format!("/users/me/bookings{query}"), Some(&ann))
            .await
            .problem(422, "validation_failed");
    }
    get(&server, "/users/me/bookings", None)
        .await
        .problem(401, "unauthorized");
    // The default page holds up to 20.
    let page = get(&server, "/users/me/bookings", Some(&ann)).await;
    assert_eq!(page.ok(200)["items"].as_array().map(Vec::len), Some(7));
    assert_eq!(page.body["next_cursor"], Value::Null);
}

// A flash sale over HTTP: 100 clients want 1 ticket each of 20.
crate::on_both_stores!(flash_sale, super::flash_sale_body);
async fn flash_sale_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "otto.flash@example.org").await;
    let buyers = attendees(&server, "flash.", 100).await;
    let id = text(
        &create_event(
            &server,
            &organizer,
            event_body("Flash", json!({"capacity": 20})),
        )
        .await,
        "id",
    );

    let replies = futures_util::future::join_all(
        buyers
            .iter()
            .map(|(token, _)| book(&server, token, &id, json!({"quantity": 1}))),
    )
    .await;
    let mut booked_users = Vec::new();
    let mut waiting_users = Vec::new();
    for ((_, user_id), reply) in buyers.iter().zip(&replies) {
        match reply.status {
            201 => {
                let outcome = reply.ok(201);
                assert_eq!(outcome["waitlist_entry"], Value::Null, "{outcome}");
                assert_booking(
                    &outcome["booking"],
                    Expect {
                        event_id: &id,
                        user_id,
                        quantity: 1,
                        status: "confirmed",
                    },
                    "direct",
                );
                booked_users.push(user_id.clone());
            }
            202 => {
                let outcome = reply.ok(202);
                assert_eq!(outcome["booking"], Value::Null, "{outcome}");
                assert_eq!(outcome["waitlist_entry"]["status"], "waiting", "{outcome}");
                waiting_users.push(user_id.clone());
            }
            other => panic!("a flash-sale request got {other}: {}", reply.body),
        }
    }
    assert_eq!((booked_users.len(), waiting_users.len()), (20, 80));
    assert_seats(&server, &id, 20, 20, 0, 80, "after the flash sale").await;

    // Every user's own listing agrees: 20 tickets in all, one each for the winners.
    let mut tickets = 0;
    for (token, user_id) in &buyers {
        let mine = my_bookings(&server, token, "").await;
        let theirs: u64 = mine
            .iter()
            .map(|b| b["quantity"].as_u64().expect("quantity"))
            .sum();
        assert_eq!(
            theirs,
            u64::from(booked_users.contains(user_id)),
            "bookings of {user_id}: {mine:?}"
        );
        tickets += theirs;
    }
    assert_eq!(tickets, 20);

    // The queue holds the 80 others, positions 1..=80 without gaps or repeats.
    let queue = event_queue(&server, &organizer, &id, "").await;
    assert_eq!(queue.len(), 80);
    let positions: Vec<u64> = queue
        .iter()
        .map(|e| e["position"].as_u64().expect("position"))
        .collect();
    assert_eq!(positions, (1..=80).collect::<Vec<u64>>());
    let mut queued_users = column(&queue, "user_id");
    queued_users.sort();
    waiting_users.sort();
    assert_eq!(queued_users, waiting_users);
}
