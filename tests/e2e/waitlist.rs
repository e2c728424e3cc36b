//! `/api/v1/events/{id}/waitlist`, `/api/v1/waitlist/{id}` and `/api/v1/users/me/waitlist`:
//! strict FIFO promotion, positions, leaving, capacity changes and event cancellation.

use crate::support::{
    Expect, api, assert_booking, assert_entry, assert_seats, attendee, attendees, book, booked,
    cancel, column, create_event, event_body, event_queue, get, hold, join, my_bookings,
    my_entries, organizer, queued, text,
};
use boxoffice_e2e::TestServer;
use serde_json::{Value, json};

/// The ids of the users in an event's waiting queue, in order, checking positions 1..=n.
async fn queue_users(server: &TestServer, manager: &str, event_id: &str) -> Vec<String> {
    let queue = event_queue(server, manager, event_id, "").await;
    let positions: Vec<Value> = queue.iter().map(|e| e["position"].clone()).collect();
    let expected: Vec<Value> = (1..=queue.len()).map(|p| json!(p)).collect();
    assert_eq!(positions, expected, "positions of the queue {queue:?}");
    assert!(queue.iter().all(|e| e["status"] == "waiting"), "{queue:?}");
    column(&queue, "user_id")
}

/// The user's only waitlist entry for `event_id`.
async fn entry_of(server: &TestServer, token: &str, event_id: &str) -> Value {
    let entries: Vec<Value> = my_entries(server, token)
        .await
        .into_iter()
        .filter(|e| e["event_id"] == event_id)
        .collect();
    assert_eq!(entries.len(), 1, "entries: {entries:?}");
    entries[0].clone()
}

crate::on_both_stores!(strict_fifo_promotion, super::strict_fifo_body);
async fn strict_fifo_body(server: TestServer) {
    let (organizer, _) = organizer(&server, "oscar.fifo@example.org").await;
    let fillers = attendees(&server, "fifo.filler.", 3).await;
    let waiters = attendees(&server, "fifo.waiter.", 4).await;
    let id = text(
        &create_event(
            &server,
            &organizer,
            event_body("FIFO", json!({"capacity": 4})),
        )
        .await,
        "id",
    );
    // Sold out by three bookings of 1, 1 and 2.
    let b1 = booked(&server, &fillers[0].0, &id, 1).await;
    let b2 = booked(&server, &fillers[1].0, &id, 1).await;
    let b3 = booked(&server, &fillers[2].0, &id, 2).await;

    // Three users queue (1, 2 and 1 seats) through POST /events/{id}/waitlist.
    let (u1, u1_id) = &waiters[0];
    let (u2, u2_id) = &waiters[1];
    let (u3, u3_id) = &waiters[2];
    let (u4, u4_id) = &waiters[3];
    let mut entries = Vec::new();
    for (i, ((token, user_id), quantity)) in waiters[..3].iter().zip([1, 2, 1]).enumerate() {
        let entry = join(&server, token, &id, json!({"quantity": quantity}))
            .await
            .ok(201)
            .clone();
        assert_entry(
            &entry,
            Expect {
                event_id: &id,
                user_id,
                quantity,
                status: "waiting",
            },
            Some(i as u64 + 1),
        );
        entries.push(entry);
    }
    assert_seats(&server, &id, 4, 4, 0, 3, "with three waiting").await;
    assert_eq!(
        queue_users(&server, &organizer, &id).await,
        [u1_id.clone(), u2_id.clone(), u3_id.clone()]
    );
    for (token, _) in &waiters[..3] {
        let mine = my_entries(&server, token).await;
        assert_eq!(mine.len(), 1);
    }
    assert_eq!(entry_of(&server, u2, &id).await, entries[1]);

    // 1 seat back: the head (1 seat) is promoted.
    cancel(&server, &fillers[0].0, &text(&b1, "id"), None)
        .await
        .ok(200);
    assert_seats(&server, &id, 4, 4, 0, 2, "after the first cancel").await;
    let mine = my_bookings(&server, u1, "").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_booking(
        &mine[0],
        Expect {
            event_id: &id,
            user_id: u1_id,
            quantity: 1,
            status: "confirmed",
        },
        "waitlist",
    );
    let promoted = entry_of(&server, u1, &id).await;
    assert_entry(
        &promoted,
        Expect {
            event_id: &id,
            user_id: u1_id,
            quantity: 1,
            status: "promoted",
        },
        None,
    );
    assert_eq!(promoted["booking_id"], mine[0]["id"]);
    assert_eq!(promoted["id"], entries[0]["id"]);
    assert_eq!(
        queue_users(&server, &organizer, &id).await,
        [u2_id.clone(), u3_id.clone()]
    );
    assert_eq!(entry_of(&server, u3, &id).await["position"], 2);

    // 1 more seat: the head wants 2 and blocks; the third user (1 seat) must not overtake.
    cancel(&server, &fillers[1].0, &text(&b2, "id"), None)
        .await
        .ok(200);
    assert_seats(&server, &id, 4, 3, 0, 2, "while the head blocks").await;
    assert!(my_bookings(&server, u2, "").await.is_empty());
    assert!(my_bookings(&server, u3, "").await.is_empty());
    assert_eq!(
        queue_users(&server, &organizer, &id).await,
        [u2_id.clone(), u3_id.clone()]
    );
    // Nobody queues for what is free; the queue refuses repeats (one entry per user).
    join(&server, u4, &id, json!({"quantity": 1}))
        .await
        .problem(409, "tickets_available");
    join(&server, u3, &id, json!({"quantity": 2}))
        .await
        .problem(409, "already_waitlisted");
    book(&server, u2, &id, json!({"quantity": 3}))
        .await
        .problem(409, "already_waitlisted");
    let fourth = join(&server, u4, &id, json!({"quantity": 2}))
        .await
        .ok(201)
        .clone();
    assert_eq!(fourth["position"], 3, "{fourth}");
    assert_seats(&server, &id, 4, 3, 0, 3, "after the fourth joined").await;

    // 1 more (part of the 2-seat booking): the head fits, then the next does not.
    cancel(
        &server,
        &fillers[2].0,
        &text(&b3, "id"),
        Some(json!({"quantity": 1})),
    )
    .await
    .ok(200);
    assert_seats(&server, &id, 4, 4, 0, 2, "after the head's promotion").await;
    let mine = my_bookings(&server, u2, "").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(
        (&mine[0]["quantity"], &mine[0]["source"]),
        (&json!(2), &json!("waitlist"))
    );
    assert!(my_bookings(&server, u3, "").await.is_empty());
    assert_eq!(
        queue_users(&server, &organizer, &id).await,
        [u3_id.clone(), u4_id.clone()]
    );

    // The last seat goes to the third user; the fourth (2 seats) keeps waiting.
    cancel(&server, &fillers[2].0, &text(&b3, "id"), None)
        .await
        .ok(200);
    assert_seats(&server, &id, 4, 4, 0, 1, "after the third's promotion").await;
    let mine = my_bookings(&server, u3, "").await;
    assert_eq!(
        (mine.len(), &mine[0]["source"]),
        (1, &json!("waitlist")),
        "{mine:?}"
    );
    assert_eq!(
        queue_users(&server, &organizer, &id).await,
        std::slice::from_ref(u4_id)
    );

    // Promoted entries, in any order.
    let promoted = event_queue(&server, &organizer, &id, "?status=promoted").await;
    let mut users = column(&promoted, "user_id");
    users.sort();
    let mut expected = vec![u1_id.clone(), u2_id.clone(), u3_id.clone()];
    expected.sort();
    assert_eq!(users, expected);
    assert!(
        promoted
            .iter()
            .all(|e| e["position"].is_null() && e["booking_id"].is_string())
    );
}

crate::on_both_stores!(positions_and_leaving, super::positions_and_leaving_body);
async fn positions_and_leaving_body(server: TestServer) {
    let (owner, _) = organizer(&server, "olga.leave@example.org").await;
    let (other_organizer, _) = organizer(&server, "omid.leave@example.org").await;
    let admin = server
        .user_with_role("abby.leave@example.org", "admin")
        .await;
    let (filler, _) = attendee(&server, "fill.leave@example.org").await;
    let users = attendees(&server, "leave.", 3).await;
    let (u1, u1_id) = &users[0];
    let (u2, u2_id) = &users[1];
    let (u3, u3_id) = &users[2];
    let id = text(
        &create_event(
            &server,
            &owner,
            event_body("Leaving", json!({"capacity": 1})),
        )
        .await,
        "id",
    );
    let seat = booked(&server, &filler, &id, 1).await;
    let mut entries = Vec::new();
    for (token, _) in &users {
        entries.push(queued(&server, token, &id, 1).await);
    }
    assert_eq!(
        entries
            .iter()
            .map(|e| e["position"].clone())
            .collect::<Vec<_>>(),
        [json!(1), json!(2), json!(3)]
    );

    // The organizer and admins read the queue; nobody else.
    let in_order = [u1_id.clone(), u2_id.clone(), u3_id.clone()];
    assert_eq!(queue_users(&server, &owner, &id).await, in_order);
    assert_eq!(queue_users(&server, &admin, &id).await, in_order);
    let path = format!("/events/{id}/waitlist");
    for token in [u1, &other_organizer, &filler] {
        get(&server, &path, Some(token))
            .await
            .problem(403, "forbidden");
    }
    get(&server, &path, None).await.problem(401, "unauthorized");
    let unknown = uuid::Uuid::now_v7().to_string();
    get(
        &server,
        &format!("/events/{unknown}/waitlist"),
        Some(&admin),
    )
    .await
    .problem(404, "not_found");
    get(&server, &format!("{path}?status=maybe"), Some(&owner))
        .await
        .problem(422, "validation_failed");
    // Pages of the queue keep the order.
    let pages =
        crate::support::all_pages(&server, &format!("{path}?limit=2"), Some(&owner), 2).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(column(&pages.concat(), "user_id"), in_order);

    // Other attendees and organizers cannot remove an entry: for them it does not exist
    // (its owner, the event's organizer and admins can).
    let u3_entry = format!("/waitlist/{}", text(&entries[2], "id"));
    for token in [u1, &other_organizer, &filler] {
        api(&server, "DELETE", &u3_entry, Some(token), None)
            .await
            .problem(404, "not_found");
    }
    api(&server, "DELETE", &u3_entry, None, None)
        .await
        .problem(401, "unauthorized");
    for bad in [unknown.as_str(), "nope"] {
        api(
            &server,
            "DELETE",
            &format!("/waitlist/{bad}"),
            Some(u1),
            None,
        )
        .await
        .problem(404, "not_found");
    }
    assert_seats(
        &server,
        &id,
        1,
        1,
        0,
        3,
        "after others tried to remove entries",
    )
    .await;

    // The middle one leaves: positions close up.
    let u2_entry = format!("/waitlist/{}", text(&entries[1], "id"));
    api(&server, "DELETE", &u2_entry, Some(u2), None)
        .await
        .empty(204);
    assert_seats(&server, &id, 1, 1, 0, 2, "after leaving").await;
    assert_eq!(
        queue_users(&server, &owner, &id).await,
        [u1_id.clone(), u3_id.clone()]
    );
    assert_eq!(entry_of(&server, u3, &id).await["position"], 2);
    let left = entry_of(&server, u2, &id).await;
    assert_entry(
        &left,
        Expect {
            event_id: &id,
            user_id: u2_id,
            quantity: 1,
            status: "left",
        },
        None,
    );
    let listed_left = event_queue(&server, &owner, &id, "?status=left").await;
    assert_eq!(listed_left, std::slice::from_ref(&left));

    // Leaving again changes nothing.
    let again = api(&server, "DELETE", &u2_entry, Some(u2), None).await;
    assert!(again.status == 204 || again.status == 409, "{again:?}");
    assert_seats(&server, &id, 1, 1, 0, 2, "after leaving twice").await;

    // Rejoining queues at the back; the user's list shows both entries, newest first.
    let rejoined = queued(&server, u2, &id, 1).await;
    assert_eq!(rejoined["position"], 3, "{rejoined}");
    let mine = my_entries(&server, u2).await;
    assert_eq!(
        column(&mine, "id"),
        [text(&rejoined, "id"), text(&left, "id")]
    );
    assert_eq!(
        queue_users(&server, &owner, &id).await,
        [u1_id.clone(), u3_id.clone(), u2_id.clone()]
    );

    // The seat comes back: the head is promoted; a promoted entry cannot be left.
    cancel(&server, &filler, &text(&seat, "id"), None)
        .await
        .ok(200);
    assert_seats(&server, &id, 1, 1, 0, 2, "after the seat came back").await;
    assert_eq!(entry_of(&server, u1, &id).await["status"], "promoted");
    api(
        &server,
        "DELETE",
        &format!("/waitlist/{}", text(&entries[0], "id")),
        Some(u1),
        None,
    )
    .await
    .problem(409, "not_waiting");
    assert_eq!(
        queue_users(&server, &owner, &id).await,
        [u3_id.clone(), u2_id.clone()]
    );
}

// A head that does not fit blocks the queue; when it leaves, the next is promoted at once.
crate::on_both_stores!(leaving_head_unblocks, super::leaving_head_body);
async fn leaving_head_body(server: TestServer) {
    let (owner, _) = organizer(&server, "otto.head@example.org").await;
    let users = attendees(&server, "head.", 3).await;
    let (filler, _) = &users[0];
    let (big, _) = &users[1];
    let (small, small_id) = &users[2];
    let id = text(
        &create_event(&server, &owner, event_body("Head", json!({"capacity": 3}))).await,
        "id",
    );
    let seats = booked(&server, filler, &id, 3).await;
    let head = queued(&server, big, &id, 2).await;
    queued(&server, small, &id, 1).await;
    cancel(
        &server,
        filler,
        &text(&seats, "id"),
        Some(json!({"quantity": 1})),
    )
    .await
    .ok(200);
    assert_seats(&server, &id, 3, 2, 0, 2, "while the head blocks").await;
    assert!(my_bookings(&server, small, "").await.is_empty());

    api(
        &server,
        "DELETE",
        &format!("/waitlist/{}", text(&head, "id")),
        Some(big),
        None,
    )
    .await
    .empty(204);
    assert_seats(&server, &id, 3, 3, 0, 0, "after the head left").await;
    let mine = my_bookings(&server, small, "").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_booking(
        &mine[0],
        Expect {
            event_id: &id,
            user_id: small_id,
            quantity: 1,
            status: "confirmed",
        },
        "waitlist",
    );
}

// Releasing a hold promotes waiting entries at once.
crate::on_both_stores!(released_holds_promote, super::released_holds_body);
async fn released_holds_body(server: TestServer) {
    let (owner, _) = organizer(&server, "oren.release@example.org").await;
    let users = attendees(&server, "release.", 2).await;
    let (holder, _) = &users[0];
    let (waiter, waiter_id) = &users[1];
    let id = text(
        &create_event(
            &server,
            &owner,
            event_body("Released", json!({"capacity": 2})),
        )
        .await,
        "id",
    );
    let held = hold(&server, holder, &id, json!({"quantity": 2}))
        .await
        .ok(201)
        .clone();
    queued(&server, waiter, &id, 2).await;
    assert_seats(&server, &id, 2, 0, 2, 1, "while held").await;
    api(
        &server,
        "DELETE",
        &format!("/holds/{}", text(&held, "id")),
        Some(holder),
        None,
    )
    .await
    .empty(204);
    assert_seats(&server, &id, 2, 2, 0, 0, "after the release").await;
    let mine = my_bookings(&server, waiter, "").await;
    assert_booking(
        &mine[0],
        Expect {
            event_id: &id,
            user_id: waiter_id,
            quantity: 2,
            status: "confirmed",
        },
        "waitlist",
    );
}

crate::on_both_stores!(capacity_changes, super::capacity_changes_body);
async fn capacity_changes_body(server: TestServer) {
    let (owner, _) = organizer(&server, "ophelia.capacity@example.org").await;
    let admin = server
        .user_with_role("arno.capacity@example.org", "admin")
        .await;
    let users = attendees(&server, "capacity.", 4).await;
    let (filler, _) = &users[0];
    let (u1, u1_id) = &users[1];
    let (u2, u2_id) = &users[2];
    let (holder, _) = &users[3];
    let id = text(
        &create_event(
            &server,
            &owner,
            event_body("Growing", json!({"capacity": 2})),
        )
        .await,
        "id",
    );
    let patch = |token: &str, capacity: u64| {
        let (server, id, token) = (&server, id.clone(), token.to_owned());
        async move {
            api(
                server,
                "PATCH",
                &format!("/events/{id}"),
                Some(&token),
                Some(json!({"capacity": capacity})),
            )
            .await
        }
    };
    booked(&server, filler, &id, 2).await;
    queued(&server, u1, &id, 2).await;
    queued(&server, u2, &id, 1).await;

    // +1: the head (2) does not fit and blocks the 1-seat entry.
    let patched = patch(&owner, 3).await.ok(200).clone();
    assert_eq!(patched["availability"]["waitlist_count"], 2, "{patched}");
    assert_seats(&server, &id, 3, 2, 0, 2, "at capacity 3").await;
    assert!(my_bookings(&server, u2, "").await.is_empty());

    // +1 more: the head fits; the next does not.
    let patched = patch(&owner, 4).await.ok(200).clone();
    assert_eq!(
        patched["availability"]["sold"], 4,
        "the PATCH promotes in its own request: {patched}"
    );
    assert_seats(&server, &id, 4, 4, 0, 1, "at capacity 4").await;
    let mine = my_bookings(&server, u1, "").await;
    assert_booking(
        &mine[0],
        Expect {
            event_id: &id,
            user_id: u1_id,
            quantity: 2,
            status: "confirmed",
        },
        "waitlist",
    );

    // Admins raise it too.
    patch(&admin, 5).await.ok(200);
    assert_seats(&server, &id, 5, 5, 0, 0, "at capacity 5").await;
    let mine = my_bookings(&server, u2, "").await;
    assert_booking(
        &mine[0],
        Expect {
            event_id: &id,
            user_id: u2_id,
            quantity: 1,
            status: "confirmed",
        },
        "waitlist",
    );

    // Lowering below sold + held: 409 capacity_below_sold, nothing changes.
    patch(&owner, 7).await.ok(200);
    hold(&server, holder, &id, json!({"quantity": 1}))
        .await
        .ok(201);
    assert_seats(&server, &id, 7, 5, 1, 0, "with a hold").await;
    for capacity in [5, 4, 1] {
        patch(&owner, capacity)
            .await
            .problem(409, "capacity_below_sold");
    }
    patch(&admin, 5).await.problem(409, "capacity_below_sold");
    assert_seats(&server, &id, 7, 5, 1, 0, "after refused lowering").await;
    // Down to exactly sold + held is fine.
    patch(&owner, 6).await.ok(200);
    assert_seats(&server, &id, 6, 5, 1, 0, "at capacity 6").await;
    hold(&server, holder, &id, json!({"quantity": 1}))
        .await
        .problem(409, "sold_out");
}

// Deleting an event cancels its bookings, releases its holds and closes its waitlist.
crate::on_both_stores!(cancelled_events_end_everything, super::cancelled_event_body);
async fn cancelled_event_body(server: TestServer) {
    let (owner, _) = organizer(&server, "oriel.doom@example.org").await;
    let users = attendees(&server, "doom.", 4).await;
    let (ann, ann_id) = &users[0];
    let (bob, _) = &users[1];
    let (cid, cid_id) = &users[2];
    let (dee, dee_id) = &users[3];
    let id = text(
        &create_event(
            &server,
            &owner,
            event_body("Doomed", json!({"capacity": 3})),
        )
        .await,
        "id",
    );
    let survivor = text(
        &create_event(
            &server,
            &owner,
            event_body("Survivor", json!({"capacity": 3})),
        )
        .await,
        "id",
    );
    let booking = booked(&server, ann, &id, 2).await;
    let held = hold(&server, bob, &id, json!({"quantity": 1}))
        .await
        .ok(201)
        .clone();
    let cid_entry = queued(&server, cid, &id, 1).await;
    let dee_entry = join(&server, dee, &id, json!({"quantity": 2}))
        .await
        .ok(201)
        .clone();
    let other = booked(&server, ann, &survivor, 1).await;
    assert_seats(&server, &id, 3, 2, 1, 2, "before the cancellation").await;

    api(
        &server,
        "DELETE",
        &format!("/events/{id}"),
        Some(&owner),
        None,
    )
    .await
    .empty(204);

    // Seats: nothing sold, held or waiting.
    let seen = crate::support::event(&server, &id).await;
    assert_eq!(seen["status"], "cancelled");
    let availability = &seen["availability"];
    assert_eq!(
        (
            &availability["sold"],
            &availability["held"],
            &availability["waitlist_count"]
        ),
        (&json!(0), &json!(0), &json!(0)),
        "{seen}"
    );

    // The booking is cancelled.
    let booking_path = format!("/bookings/{}", text(&booking, "id"));
    let cancelled = get(&server, &booking_path, Some(ann)).await.ok(200).clone();
    assert_booking(
        &cancelled,
        Expect {
            event_id: &id,
            user_id: ann_id,
            quantity: 2,
            status: "cancelled",
        },
        "direct",
    );
    assert_eq!(
        column(&my_bookings(&server, ann, "?status=cancelled").await, "id"),
        [text(&booking, "id")]
    );
    cancel(&server, ann, &text(&booking, "id"), None)
        .await
        .problem(409, "already_cancelled");

    // The hold is released.
    let hold_path = format!("/holds/{}", text(&held, "id"));
    get(&server, &hold_path, Some(bob))
        .await
        .problem(404, "not_found");
    let confirm = api(
        &server,
        "POST",
        &format!("{hold_path}/confirm"),
        Some(bob),
        None,
    )
    .await;
    crate::support::assert_problem_in(&confirm, &[404, 409, 410], |s| match s {
        404 => "not_found",
        409 => "event_cancelled",
        _ => "hold_expired",
    });
    assert!(my_bookings(&server, bob, "").await.is_empty());

    // The waitlist is closed.
    for (token, user_id, entry, quantity) in
        [(cid, cid_id, &cid_entry, 1), (dee, dee_id, &dee_entry, 2)]
    {
        let closed = entry_of(&server, token, &id).await;
        assert_eq!(closed["id"], entry["id"]);
        assert_entry(
            &closed,
            Expect {
                event_id: &id,
                user_id,
                quantity,
                status: "closed",
            },
            None,
        );
        api(
            &server,
            "DELETE",
            &format!("/waitlist/{}", text(entry, "id")),
            Some(token),
            None,
        )
        .await
        .problem(409, "not_waiting");
        assert!(my_bookings(&server, token, "").await.is_empty());
    }
    assert!(event_queue(&server, &owner, &id, "").await.is_empty());
    let mut closed = column(
        &event_queue(&server, &owner, &id, "?status=closed").await,
        "user_id",
    );
    closed.sort();
    let mut expected = vec![cid_id.clone(), dee_id.clone()];
    expected.sort();
    assert_eq!(closed, expected);

    // Nothing sells any more; the other event is untouched.
    book(&server, dee, &id, json!({"quantity": 1}))
        .await
        .problem(409, "event_cancelled");
    hold(&server, dee, &id, json!({"quantity": 1}))
        .await
        .problem(409, "event_cancelled");
    join(&server, dee, &id, json!({"quantity": 1}))
        .await
        .problem(409, "event_cancelled");
    assert_seats(&server, &survivor, 3, 1, 0, 0, "of the other event").await;
    assert_eq!(
        get(
            &server,
            &format!("/bookings/{}", text(&other, "id")),
            Some(ann)
        )
        .await
        .ok(200)["status"],
        "confirmed"
    );
}

crate::on_both_stores!(joining_the_waitlist, super::joining_body);
async fn joining_body(server: TestServer) {
    let (owner, _) = organizer(&server, "opal.join@example.org").await;
    let users = attendees(&server, "join.", 3).await;
    let (filler, _) = &users[0];
    let (ann, ann_id) = &users[1];
    let (bob, _) = &users[2];
    let created = create_event(
        &server,
        &owner,
        event_body(
            "Joining",
            json!({"capacity": 4, "ticket_types": [
                {"name": "Front", "price_cents": 5000, "quantity": 1},
                {"name": "Back", "price_cents": 1000}
            ]}),
        ),
    )
    .await;
    let id = text(&created, "id");
    let front = text(&created["ticket_types"][0], "id");
    let back = text(&created["ticket_types"][1], "id");

    // Enough free: 409 tickets_available.
    join(&server, ann, &id, json!({"quantity": 1}))
        .await
        .problem(409, "tickets_available");
    join(
        &server,
        ann,
        &id,
        json!({"quantity": 4, "ticket_type_id": back}),
    )
    .await
    .problem(409, "tickets_available");
    // Per type: Front's single seat sold, so Front has a queue while Back has seats.
    book(
        &server,
        filler,
        &id,
        json!({"quantity": 1, "ticket_type_id": front}),
    )
    .await
    .ok(201);
    let entry = join(
        &server,
        ann,
        &id,
        json!({"quantity": 1, "ticket_type_id": front}),
    )
    .await
    .ok(201)
    .clone();
    assert_entry(
        &entry,
        Expect {
            event_id: &id,
            user_id: ann_id,
            quantity: 1,
            status: "waiting",
        },
        Some(1),
    );
    assert_eq!(entry["ticket_type_id"], front.as_str());
    join(
        &server,
        ann,
        &id,
        json!({"quantity": 1, "ticket_type_id": back}),
    )
    .await
    .problem(409, "tickets_available");
    join(&server, ann, &id, json!({"quantity": 1}))
        .await
        .problem(409, "already_waitlisted");
    // Asking for more than is free queues.
    let back_entry = join(
        &server,
        bob,
        &id,
        json!({"quantity": 4, "ticket_type_id": back}),
    )
    .await
    .ok(201)
    .clone();
    assert_eq!(back_entry["ticket_type_id"], back.as_str());
    assert_seats(&server, &id, 4, 1, 0, 2, "with two entries").await;

    // Bad requests.
    for quantity in [0, 101] {
        let reply = join(&server, ann, &id, json!({"quantity": quantity})).await;
        assert_eq!(reply.invalid_fields(), ["quantity"]);
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    join(&server, ann, &unknown, json!({"quantity": 1}))
        .await
        .problem(404, "not_found");
    join(
        &server,
        ann,
        &id,
        json!({"quantity": 1, "ticket_type_id": unknown}),
    )
    .await
    .problem(404, "not_found");
    api(
        &server,
        "POST",
        &format!("/events/{id}/waitlist"),
        None,
        Some(json!({"quantity": 1})),
    )
    .await
    .problem(401, "unauthorized");
    get(&server, "/users/me/waitlist", None)
        .await
        .problem(401, "unauthorized");
    assert_seats(&server, &id, 4, 1, 0, 2, "after bad requests").await;
}

// A request for more tickets than the event holds is never queued, and the event's
// organizer (or an admin) may take any waiting entry out of its queue; others may not.
crate::on_both_stores!(
    unservable_requests_and_removal_by_organizers,
    super::unservable_and_removal_body
);
async fn unservable_and_removal_body(server: TestServer) {
    let (owner, _) = organizer(&server, "olga.removes@example.org").await;
    let (stranger, _) = organizer(&server, "oscar.stranger@example.org").await;
    let admin = server
        .user_with_role("ada.removes@example.org", "admin")
        .await;
    let users = attendees(&server, "removal.", 4).await;
    let (filler, _) = &users[0];
    let (big, _) = &users[1];
    let (small, small_id) = &users[2];
    let (other, _) = &users[3];
    let id = text(
        &create_event(
            &server,
            &owner,
            event_body("Removal", json!({"capacity": 3})),
        )
        .await,
        "id",
    );
    // More than the capacity: refused, free seats or not, and never queued.
    book(&server, big, &id, json!({"quantity": 4}))
        .await
        .problem(409, "sold_out");
    let seats = booked(&server, filler, &id, 3).await;
    for body in [
        json!({"quantity": 4}),
        json!({"quantity": 4, "on_sold_out": "waitlist", "allow_partial": true}),
    ] {
        book(&server, big, &id, body).await.problem(409, "sold_out");
    }
    join(&server, big, &id, json!({"quantity": 4}))
        .await
        .problem(409, "sold_out");
    assert!(event_queue(&server, &owner, &id, "").await.is_empty());

    // A head that does not fit blocks the queue until the organizer removes it.
    let head = queued(&server, big, &id, 2).await;
    let second = queued(&server, other, &id, 2).await;
    queued(&server, small, &id, 1).await;
    cancel(
        &server,
        filler,
        &text(&seats, "id"),
        Some(json!({"quantity": 1})),
    )
    .await
    .ok(200);
    assert_seats(&server, &id, 3, 2, 0, 3, "while the head blocks").await;
    let remove = |token: &str, entry: &Value| {
        let path = format!("/waitlist/{}", text(entry, "id"));
        let token = token.to_owned();
        let server = &server;
        async move { api(server, "DELETE", &path, Some(&token), None).await }
    };
    for token in [small.as_str(), stranger.as_str()] {
        remove(token, &head).await.problem(404, "not_found");
    }
    assert_seats(&server, &id, 3, 2, 0, 3, "nothing changed").await;
    remove(&owner, &head).await.empty(204);
    remove(&admin, &second).await.empty(204);
    assert_seats(&server, &id, 3, 3, 0, 0, "after the removals").await;
    let mine = my_bookings(&server, small, "").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_booking(
        &mine[0],
        Expect {
            event_id: &id,
            user_id: small_id,
            quantity: 1,
            status: "confirmed",
        },
        "waitlist",
    );
    let entries = my_entries(&server, big).await;
    assert_eq!(entries[0]["status"], "left", "{entries:?}");
}
