//! Check-in at the door: once whatever the race, refusals, offline uploads, undo,
//! progress and export, and scanner tokens with their scope and rate limit.

use crate::on_both_stores;
use crate::support::*;
use crate::tickets::{code_signed_with, door, scan, statuses, tickets};
use boxoffice_e2e::TestServer;
use data_encoding::BASE32_NOPAD;
use futures_util::future::join_all;
use serde_json::json;

/// 50 scans of one code at once: one 200, 49 × 409 naming the first check-in. Forged,
/// changed, truncated and foreign codes are refused; so are attendees.
async fn a_code_checks_in_once_and_forgeries_are_refused_body(server: TestServer) {
    let d = door(&server, "once", 2).await;
    let codes = column(&tickets(&server, &d.attendee, &d.booking).await, "code");
    let replies =
        join_all((0..50).map(|_| scan(&server, &d.organizer, &d.event_id, &codes[0]))).await;
    let admitted: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(admitted.len(), 1, "exactly one scan checks in");
    let first = &admitted[0].body["check_in"];
    assert_eq!(first["number"], 1);
    assert_eq!(first["scanner"]["kind"], "user");
    for reply in replies.iter().filter(|r| r.status != 200) {
        let problem = reply.problem(409, "already_checked_in");
        assert_eq!(&problem["check_in"], first);
    }
    let mine = tickets(&server, &d.attendee, &d.booking).await;
    assert_eq!(statuses(&mine), ["checked_in", "valid"]);
    assert_eq!(mine[0]["checked_in_at"], first["scanned_at"]);

    let mut bytes = BASE32_NOPAD.decode(codes[1].as_bytes()).expect("base32");
    bytes[54] ^= 3; // another ticket number, same signature
    let changed = BASE32_NOPAD.encode(&bytes);
    let foreign = code_signed_with("Zm9yZ2VyLWtleS1mb3JnZXIta2V5LWZvcmdlci1rZXk", &d.booking, 2);
    for bad in [
        changed.as_str(),
        &codes[1][..codes[1].len() - 10],
        foreign.as_str(),
        "HELLO",
        "",
    ] {
        scan(&server, &d.organizer, &d.event_id, bad)
            .await
            .problem(422, "invalid_ticket_code");
    }
    scan(&server, &d.attendee, &d.event_id, &codes[1])
        .await
        .problem(403, "forbidden");
    let other = create_event(&server, &d.organizer, event_body("Elsewhere", json!({}))).await;
    scan(&server, &d.organizer, &text(&other, "id"), &codes[1])
        .await
        .problem(404, "not_found");
    let nowhere = uuid::Uuid::new_v4().to_string();
    scan(&server, &d.organizer, &nowhere, &codes[1])
        .await
        .problem(404, "not_found");
    assert_eq!(
        statuses(&tickets(&server, &d.attendee, &d.booking).await),
        ["checked_in", "valid"]
    );
}
on_both_stores!(
    a_code_checks_in_once_and_forgeries_are_refused,
    super::a_code_checks_in_once_and_forgeries_are_refused_body
);

/// An offline upload: the earliest scan of a ticket wins wherever it was made, each
/// conflict is reported, and refusals come one by one in the order sent.
async fn offline_scans_resolve_to_the_earliest_body(server: TestServer) {
    let d = door(&server, "offline", 3).await;
    let codes = column(&tickets(&server, &d.attendee, &d.booking).await, "code");
    let online = scan(&server, &d.organizer, &d.event_id, &codes[0]).await;
    let online = online.ok(200)["check_in"].clone();
    cancel(
        &server,
        &d.attendee,
        &text(&d.booking, "id"),
        Some(json!({"quantity": 1})),
    )
    .await
    .ok(200);
    let ago = |minutes: i64| (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339();
    let scans = json!({"scans": [
        {"code": codes[0], "scanned_at": ago(10)},
        {"code": codes[1], "scanned_at": ago(5)},
        {"code": codes[1], "scanned_at": ago(6)},
        {"code": "NOTACODE", "scanned_at": ago(4)},
        {"code": codes[2], "scanned_at": ago(3)},
    ]});
    let path = format!("/events/{}/check-ins/batch", d.event_id);
    let reply = api(&server, "POST", &path, Some(&d.organizer), Some(scans)).await;
    let results = reply.ok(200)["results"]
        .as_array()
        .expect("results")
        .clone();
    assert_eq!(
        column(&results, "status"),
        [
            "checked_in",
            "already_checked_in",
            "checked_in",
            "invalid_ticket_code",
            "ticket_voided",
        ]
    );
    assert_eq!(
        results
            .iter()
            .map(|r| r["index"].as_u64().expect("index"))
            .collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(
        results[0]["conflict"], online,
        "the later online scan is the conflict"
    );
    assert_eq!(
        results[1]["check_in"], results[2]["check_in"],
        "the earlier duplicate won"
    );
    assert!(results[3]["detail"].as_str().is_some_and(|d| !d.is_empty()));
    let list = get(
        &server,
        &format!("/events/{}/check-ins", d.event_id),
        Some(&d.organizer),
    )
    .await;
    let list = list.ok(200)["items"].as_array().expect("items").clone();
    assert_eq!(list.len(), 2, "one check-in in force per ticket");
    assert!(list.iter().any(|c| c == &results[0]["check_in"]));

    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let reply = api(
        &server,
        "POST",
        &path,
        Some(&d.organizer),
        Some(json!({"scans": [{"code": codes[1], "scanned_at": future}]})),
    )
    .await;
    assert_eq!(reply.invalid_fields(), ["scans[0].scanned_at"]);
    let reply = api(
        &server,
        "POST",
        &path,
        Some(&d.organizer),
        Some(json!({"scans": []})),
    )
    .await;
    assert_eq!(reply.invalid_fields(), ["scans"]);
}
on_both_stores!(
    offline_scans_resolve_to_the_earliest,
    super::offline_scans_resolve_to_the_earliest_body
);

/// Undoing a check-in never brings back a ticket a cancellation voided.
async fn undo_never_revives_a_voided_ticket_body(server: TestServer) {
    let d = door(&server, "revive", 2).await;
    let listed = tickets(&server, &d.attendee, &d.booking).await;
    let (codes, ids) = (column(&listed, "code"), column(&listed, "id"));
    scan(&server, &d.organizer, &d.event_id, &codes[1])
        .await
        .ok(200);
    let id = text(&d.booking, "id");
    cancel(&server, &d.attendee, &id, Some(json!({"quantity": 1})))
        .await
        .ok(200);
    assert_eq!(
        statuses(&tickets(&server, &d.attendee, &d.booking).await),
        ["voided", "checked_in"]
    );
    let undo = format!("/events/{}/check-ins/{}", d.event_id, ids[1]);
    api(&server, "DELETE", &undo, Some(&d.organizer), None)
        .await
        .empty(204);
    assert_eq!(
        statuses(&tickets(&server, &d.attendee, &d.booking).await),
        ["voided", "valid"]
    );
    scan(&server, &d.organizer, &d.event_id, &codes[0])
        .await
        .problem(409, "ticket_voided");
    scan(&server, &d.organizer, &d.event_id, &codes[1])
        .await
        .ok(200);
}
on_both_stores!(
    undo_never_revives_a_voided_ticket,
    super::undo_never_revives_a_voided_ticket_body
);

/// A check-in can be undone once, and the ticket checks in again; progress and the CSV
/// export count what is in force.
async fn undo_progress_and_export_body(server: TestServer) {
    let d = door(&server, "undo", 2).await;
    let mine = tickets(&server, &d.attendee, &d.booking).await;
    let codes = column(&mine, "code");
    for code in &codes {
        scan(&server, &d.organizer, &d.event_id, code).await.ok(200);
    }
    let undo_path = format!("/events/{}/check-ins/{}", d.event_id, text(&mine[0], "id"));
    api(&server, "DELETE", &undo_path, Some(&d.organizer), None)
        .await
        .empty(204);
    api(&server, "DELETE", &undo_path, Some(&d.organizer), None)
        .await
        .problem(404, "not_found");
    assert_eq!(
        statuses(&tickets(&server, &d.attendee, &d.booking).await),
        ["valid", "checked_in"]
    );
    let progress_path = format!("/events/{}/check-ins/progress", d.event_id);
    let progress = get(&server, &progress_path, Some(&d.organizer)).await;
    let progress = progress.ok(200).clone();
    assert_eq!(
        (progress["sold"].as_u64(), progress["checked_in"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(progress["ticket_types"][0]["checked_in"], 1);
    scan(&server, &d.organizer, &d.event_id, &codes[0])
        .await
        .ok(200);

    let csv = server
        .client
        .get(server.url(&format!("/api/v1/events/{}/check-ins.csv", d.event_id)))
        .bearer_auth(&d.organizer)
        .send()
        .await
        .expect("sent");
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/csv")
    );
    let csv = csv.text().await.expect("text");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two check-ins: {csv}");
    assert!(lines[0].starts_with("check_in_id,ticket_id,booking_id"));
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.contains(&text(&d.booking, "id")))
    );
    get(&server, &progress_path, Some(&d.attendee))
        .await
        .problem(403, "forbidden");
}
on_both_stores!(
    undo_progress_and_export,
    super::undo_progress_and_export_body
);

/// A scanner token checks tickets in at its events only, and nothing else; it is shown
/// once, listed without its secret, and stops working when revoked.
async fn scanner_tokens_only_check_in_at_their_events_body(server: TestServer) {
    let d = door(&server, "token", 2).await;
    let codes = column(&tickets(&server, &d.attendee, &d.booking).await, "code");
    let other = create_event(&server, &d.organizer, event_body("Other door", json!({}))).await;
    let body = json!({"name": "North door", "scopes": ["checkin"], "event_ids": [d.event_id]});
    let created = api(
        &server,
        "POST",
        "/api-tokens",
        Some(&d.organizer),
        Some(body.clone()),
    )
    .await;
    let created = created.ok(201).clone();
    let token = text(&created, "token");
    assert!(token.starts_with("bxo_"));
    assert_eq!(created["api_token"]["scopes"], json!(["checkin"]));

    let admitted = scan(&server, &token, &d.event_id, &codes[0]).await;
    let admitted = admitted.ok(200);
    assert_eq!(admitted["check_in"]["scanner"]["kind"], "token");
    assert_eq!(
        admitted["check_in"]["scanner"]["id"],
        created["api_token"]["id"]
    );
    get(
        &server,
        &format!("/events/{}/check-ins/progress", d.event_id),
        Some(&token),
    )
    .await
    .ok(200);
    scan(&server, &token, &text(&other, "id"), &codes[1])
        .await
        .problem(403, "forbidden");
    let booking_path = format!("/bookings/{}", text(&d.booking, "id"));
    get(&server, &booking_path, Some(&token))
        .await
        .problem(403, "insufficient_scope");
    get(&server, "/users/me", Some(&token))
        .await
        .problem(403, "insufficient_scope");
    api(
        &server,
        "POST",
        "/events",
        Some(&token),
        Some(event_body("Nope", json!({}))),
    )
    .await
    .problem(403, "insufficient_scope");
    api(
        &server,
        "POST",
        "/api-tokens",
        Some(&token),
        Some(body.clone()),
    )
    .await
    .problem(403, "insufficient_scope");

    let listed = get(&server, "/api-tokens", Some(&d.organizer)).await;
    let listed = listed.ok(200)["items"].as_array().expect("items").clone();
    assert_eq!(listed, vec![created["api_token"].clone()]);
    assert!(
        !listed[0].to_string().contains(&token),
        "the secret is never listed"
    );

    let (attendee_token, _) = attendee(&server, "door-fan@example.org").await;
    api(
        &server,
        "POST",
        "/api-tokens",
        Some(&attendee_token),
        Some(body.clone()),
    )
    .await
    .problem(403, "forbidden");
    let (rival, _) = organizer(&server, "rival-token@example.org").await;
    api(&server, "POST", "/api-tokens", Some(&rival), Some(body))
        .await
        .problem(403, "forbidden");
    let bad = json!({"name": " ", "scopes": ["everything"], "event_ids": [], "expires_at": "2001-01-01T00:00:00Z"});
    let mut fields = api(
        &server,
        "POST",
        "/api-tokens",
        Some(&d.organizer),
        Some(bad),
    )
    .await
    .invalid_fields();
    fields.sort();
    assert_eq!(fields, ["event_ids", "expires_at", "name", "scopes"]);
    let unknown = json!({"name": "x", "scopes": ["checkin"], "event_ids": [uuid::Uuid::new_v4().to_string()]});
    assert_eq!(
        api(
            &server,
            "POST",
            "/api-tokens",
            Some(&d.organizer),
            Some(unknown)
        )
        .await
        .invalid_fields(),
        ["event_ids"]
    );

    let revoke = format!("/api-tokens/{}", text(&created["api_token"], "id"));
    api(&server, "DELETE", &revoke, Some(&rival), None)
        .await
        .problem(404, "not_found");
    api(&server, "DELETE", &revoke, Some(&d.organizer), None)
        .await
        .empty(204);
    api(&server, "DELETE", &revoke, Some(&d.organizer), None)
        .await
        .empty(204);
    scan(&server, &token, &d.event_id, &codes[1])
        .await
        .problem(401, "unauthorized");
    scan(&server, "bxo_not-a-token", &d.event_id, &codes[1])
        .await
        .problem(401, "unauthorized");
    let listed = get(&server, "/api-tokens", Some(&d.organizer)).await;
    assert!(listed.ok(200)["items"][0]["revoked_at"].is_string());
}
on_both_stores!(
    scanner_tokens_only_check_in_at_their_events,
    super::scanner_tokens_only_check_in_at_their_events_body
);

/// Scans count against a limit per API token: over it a token gets 429 with
/// `Retry-After` and changes nothing, while another token of the same door goes on.
async fn scans_are_rate_limited_per_token_body(server: TestServer) {
    let d = door(&server, "limit", 3).await;
    let codes = column(&tickets(&server, &d.attendee, &d.booking).await, "code");
    let body = json!({"name": "Gate", "scopes": ["checkin"], "event_ids": [d.event_id]});
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let made = api(
            &server,
            "POST",
            "/api-tokens",
            Some(&d.organizer),
            Some(body.clone()),
        )
        .await;
        tokens.push(text(made.ok(201), "token"));
    }
    scan(&server, &tokens[0], &d.event_id, &codes[0])
        .await
        .ok(200);
    scan(&server, &tokens[0], &d.event_id, &codes[1])
        .await
        .ok(200);
    let limited = scan(&server, &tokens[0], &d.event_id, &codes[2]).await;
    limited.problem(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(
        statuses(&tickets(&server, &d.attendee, &d.booking).await),
        ["checked_in", "checked_in", "valid"],
        "a refused scan changes nothing"
    );
    scan(&server, &tokens[1], &d.event_id, &codes[2])
        .await
        .ok(200);

    // A made-up token has no budget of its own: it counts per client address.
    for i in 0..5 {
        let fake = format!("bxo_made-up-{i}");
        scan(&server, &fake, &d.event_id, &codes[0])
            .await
            .problem(401, "unauthorized");
    }
    scan(&server, "bxo_made-up-5", &d.event_id, &codes[0])
        .await
        .problem(429, "rate_limited");
}
crate::on_both_stores!(
    scans_are_rate_limited_per_token,
    super::scans_are_rate_limited_per_token_body,
    env = [
        ("RATE_LIMIT_API_TOKEN_PER_MINUTE", "2"),
        ("RATE_LIMIT_WRITES_PER_MINUTE", "5")
    ]
);
