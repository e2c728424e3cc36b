//! Erasing an account (GDPR art. 17): `POST /users/me/erase` and an admin's
//! `DELETE /users/{id}`.

use crate::support::{
    api, assert_seats, attendee, attendees, book, booked, create_event, event_body, event_queue,
    every_item, login, my_bookings, organizer, queued, register, text,
};
use boxoffice_e2e::TestServer;
use serde_json::json;

const NAME: &str = "Alice Erasmus";
const EMAIL: &str = "alice.erasmus@example.org";
const PASSWORD: &str = "password123";

crate::on_both_stores!(erasing_an_account, super::erasing_an_account_body);
async fn erasing_an_account_body(server: TestServer) {
    let (org, _) = organizer(&server, "org.erase@example.org").await;
    let admin = server
        .user_with_role("root.erase@example.org", "admin")
        .await;
    let to_come = create_event(
        &server,
        &org,
        event_body("Erased seats", json!({"capacity": 2})),
    )
    .await;
    let to_come = text(&to_come, "id");
    let full = create_event(
        &server,
        &org,
        event_body("Full house", json!({"capacity": 1})),
    )
    .await;
    let full = text(&full, "id");

    let alice = register(&server, NAME, EMAIL, PASSWORD)
        .await
        .ok(201)
        .clone();
    let alice_id = text(&alice, "id");
    let alice_token = server.login(EMAIL, PASSWORD).await;
    let (bob, _) = attendee(&server, "bob.erase@example.org").await;
    let (carol, _) = attendee(&server, "carol.erase@example.org").await;
    booked(&server, &alice_token, &to_come, 2).await;
    queued(&server, &bob, &to_come, 1).await;
    booked(&server, &carol, &full, 1).await;
    queued(&server, &alice_token, &full, 1).await;

    // A wrong password changes nothing.
    let erase = |token: String, password: &'static str| {
        let server = &server;
        async move {
            api(
                server,
                "POST",
                "/users/me/erase",
                Some(&token),
                Some(json!({"password": password})),
            )
            .await
        }
    };
    erase(alice_token.clone(), "not the password")
        .await
        .problem(401, "invalid_credentials");
    assert_seats(&server, &to_come, 2, 2, 0, 1, "before the erasure").await;

    let erased = erase(alice_token.clone(), PASSWORD).await;
    assert_eq!(erased.status, 204, "{:?}", erased.body);

    // Gone for good: the token, the password, the old address.
    api(&server, "GET", "/users/me", Some(&alice_token), None)
        .await
        .problem(401, "unauthorized");
    let refused = api(
        &server,
        "POST",
        "/auth/login",
        None,
        Some(json!({"email": EMAIL, "password": PASSWORD})),
    )
    .await;
    refused.problem(401, "invalid_credentials");
    // Seats of the event still to come went back and promoted the queue; the queue of
    // the full event lost the entry.
    assert_seats(&server, &to_come, 2, 1, 0, 0, "after the erasure").await;
    assert_seats(&server, &full, 1, 1, 0, 0, "the full event").await;
    let bobs = my_bookings(&server, &bob, "?status=confirmed").await;
    assert_eq!(bobs.len(), 1, "bob was promoted: {bobs:?}");

    // What admins see: the account, without its name or email.
    let users = every_item(&server, "/users", &admin).await;
    let tomb = users
        .iter()
        .find(|u| text(u, "id") == alice_id)
        .expect("the account stays, by id");
    assert_eq!(tomb["name"], "Erased user");
    assert_eq!(tomb["email"], format!("erased-{alice_id}@erased.invalid"));
    assert_eq!(tomb["active"], false);
    let listing = serde_json::to_string(&users).expect("json");
    assert!(
        !listing.contains(EMAIL) && !listing.contains(NAME),
        "{listing}"
    );
    let audit = every_item(&server, &format!("/audit?user_id={alice_id}"), &admin).await;
    assert!(
        audit.iter().any(|a| a["action"] == "account_erased"),
        "the erasure is in the audit log: {audit:?}"
    );

    // An erased account cannot be brought back.
    api(
        &server,
        "PATCH",
        &format!("/users/{alice_id}"),
        Some(&admin),
        Some(json!({"active": true})),
    )
    .await
    .problem(404, "not_found");

    // No one can take a tombstone's address.
    register(
        &server,
        "Squatter",
        &format!("erased-{alice_id}@erased.invalid"),
        PASSWORD,
    )
    .await
    .problem(422, "validation_failed");

    // The address is free again; a second erasure is 204 and changes nothing.
    register(&server, "Alice Again", EMAIL, PASSWORD)
        .await
        .ok(201);
    let again = api(
        &server,
        "DELETE",
        &format!("/users/{alice_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(again.status, 204, "{:?}", again.body);
    assert_seats(&server, &to_come, 2, 1, 0, 0, "after a second erasure").await;

    // Only admins erase others; the last active admin stays.
    api(
        &server,
        "DELETE",
        &format!("/users/{alice_id}"),
        Some(&bob),
        None,
    )
    .await
    .problem(403, "forbidden");
    let nobody = uuid::Uuid::now_v7();
    api(
        &server,
        "DELETE",
        &format!("/users/{nobody}"),
        Some(&admin),
        None,
    )
    .await
    .problem(404, "not_found");
    let admins = every_item(&server, "/users", &admin)
        .await
        .into_iter()
        .filter(|u| u["role"] == "admin" && u["active"] == true)
        .count();
    assert_eq!(admins, 1, "the test's admin is the only active one");
    erase(admin.clone(), PASSWORD)
        .await
        .problem(409, "last_admin");
    login(&server, "root.erase@example.org", PASSWORD)
        .await
        .ok(200);
    // Nothing the server logged names the person.
    let logs = server.logs();
    assert!(
        !logs.contains(EMAIL) && !logs.contains(NAME),
        "the logs name the person"
    );
}

crate::on_both_stores!(
    erasures_racing_bookings_lose_no_seat,
    super::erasures_racing_bookings_body
);
/// Five attendees are erased (each twice, at once) while five more join the queue:
/// their five seats go to the head of the queue in order, each once, and the event is
/// never oversold.
async fn erasures_racing_bookings_body(server: TestServer) {
    let (org, _) = organizer(&server, "org.race@example.org").await;
    let admin = server
        .user_with_role("root.race@example.org", "admin")
        .await;
    let event = create_event(&server, &org, event_body("Race", json!({"capacity": 10}))).await;
    let event = text(&event, "id");
    let holders = attendees(&server, "holder.race", 10).await;
    for (token, _) in &holders {
        booked(&server, token, &event, 1).await;
    }
    let waiting = attendees(&server, "waiting.race", 10).await;
    for (token, _) in &waiting {
        queued(&server, token, &event, 1).await;
    }
    let late = attendees(&server, "late.race", 5).await;

    let erasures = holders[..5].iter().flat_map(|(_, id)| {
        let path = format!("/users/{id}");
        [path.clone(), path]
    });
    let erasures = erasures.map(|path| {
        let (server, admin) = (&server, &admin);
        async move { api(server, "DELETE", &path, Some(admin), None).await.status }
    });
    let joins = late.iter().map(|(token, _)| async {
        book(&server, token, &event, json!({"quantity": 1}))
            .await
            .status
    });
    let (erased, joined) = futures_util::future::join(
        futures_util::future::join_all(erasures),
        futures_util::future::join_all(joins),
    )
    .await;
    assert!(erased.iter().all(|&s| s == 204), "{erased:?}");
    assert!(joined.iter().all(|&s| s == 202), "{joined:?}");

    assert_seats(&server, &event, 10, 10, 0, 10, "after the race").await;
    let promoted: Vec<String> = event_queue(&server, &org, &event, "?status=promoted")
        .await
        .iter()
        .map(|e| text(e, "user_id"))
        .collect();
    let head: Vec<String> = waiting[..5].iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(
        promoted.iter().collect::<std::collections::BTreeSet<_>>(),
        head.iter().collect(),
        "the head of the queue, each once"
    );
    let queue = event_queue(&server, &org, &event, "").await;
    let positions: Vec<u64> = queue
        .iter()
        .map(|e| e["position"].as_u64().expect("position"))
        .collect();
    assert_eq!(
        positions,
        (1..=10).collect::<Vec<u64>>(),
        "the queue stays contiguous"
    );
    let order: Vec<String> = queue.iter().map(|e| text(e, "user_id")).collect();
    let expected: Vec<String> = waiting[5..].iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(
        order[..5],
        expected[..],
        "the rest of the queue keeps its order"
    );
    for (token, _) in &waiting[..5] {
        assert_eq!(
            my_bookings(&server, token, "?status=confirmed").await.len(),
            1
        );
    }
}
