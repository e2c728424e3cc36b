//! Every seat-changing request is safe to repeat with an `Idempotency-Key` (a Structured
//! Field string, or a bare key): holds, confirmations, cancellations and waitlist joins
//! answer what the first request made, with no second effect.

use crate::support::{
    Reply, assert_seats, attendee, booked, create_event, event_body, organizer, send, text,
};
use boxoffice_e2e::TestServer;
use serde_json::{Value, json};

/// `POST /api/v1{path}` as `token` with `key`.
async fn post_keyed(
    server: &TestServer,
    token: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = server
        .client
        .post(server.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .header("Idempotency-Key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

crate::on_both_stores!(seat_requests_are_safe_to_repeat, super::repeat_body);
async fn repeat_body(server: TestServer) {
    let (owner, _) = organizer(&server, "rita.retries@example.org").await;
    let (ann, _) = attendee(&server, "ann.retries@example.org").await;
    let (bob, _) = attendee(&server, "bob.retries@example.org").await;
    let id = text(
        &create_event(
            &server,
            &owner,
            event_body("Retries", json!({"capacity": 6})),
        )
        .await,
        "id",
    );
    let holds = format!("/events/{id}/holds");

    // A hold, sent twice with one key (quoted, then bare): one hold.
    let first = post_keyed(
        &server,
        &ann,
        &holds,
        "\"hold-1\"",
        Some(json!({"quantity": 2})),
    )
    .await
    .ok(201)
    .clone();
    let again = post_keyed(
        &server,
        &ann,
        &holds,
        "hold-1",
        Some(json!({"quantity": 2})),
    )
    .await;
    assert_eq!(again.ok(201)["id"], first["id"]);
    assert_seats(&server, &id, 6, 0, 2, 0, "held once").await;
    post_keyed(
        &server,
        &ann,
        &holds,
        "hold-1",
        Some(json!({"quantity": 3})),
    )
    .await
    .problem(422, "idempotency_key_reused");

    // Its confirmation, twice: one booking.
    let confirm = format!("/holds/{}/confirm", text(&first, "id"));
    let booking = post_keyed(&server, &ann, &confirm, "\"confirm-1\"", None)
        .await
        .ok(201)
        .clone();
    let again = post_keyed(&server, &ann, &confirm, "\"confirm-1\"", None).await;
    assert_eq!(again.ok(201)["id"], booking["id"]);
    assert_seats(&server, &id, 6, 2, 0, 0, "confirmed once").await;

    // A partial cancellation, twice: one ticket back.
    let cancel = format!("/bookings/{}/cancel", text(&booking, "id"));
    let one = Some(json!({"quantity": 1}));
    let cancelled = post_keyed(&server, &ann, &cancel, "\"cancel-1\"", one.clone()).await;
    assert_eq!(cancelled.ok(200)["quantity"], 1);
    let again = post_keyed(&server, &ann, &cancel, "\"cancel-1\"", one.clone()).await;
    assert_eq!(again.ok(200)["quantity"], 1, "the booking as it is now");
    assert_seats(&server, &id, 6, 1, 0, 0, "cancelled once").await;
    post_keyed(&server, &ann, &cancel, "\"cancel-1\"", None)
        .await
        .problem(422, "idempotency_key_reused");

    // A waitlist join, twice: one entry.
    booked(&server, &owner, &id, 5).await;
    let join = format!("/events/{id}/waitlist");
    let entry = post_keyed(
        &server,
        &bob,
        &join,
        "\"join-1\"",
        Some(json!({"quantity": 1})),
    )
    .await
    .ok(201)
    .clone();
    let again = post_keyed(
        &server,
        &bob,
        &join,
        "\"join-1\"",
        Some(json!({"quantity": 1})),
    )
    .await;
    assert_eq!(again.ok(201)["id"], entry["id"]);
    assert_seats(&server, &id, 6, 6, 0, 1, "queued once").await;

    // A malformed key changes nothing.
    post_keyed(
        &server,
        &bob,
        &join,
        "\"unterminated",
        Some(json!({"quantity": 1})),
    )
    .await
    .problem(422, "validation_failed");
}
