//! Tickets at the door: codes and QR codes, check-in once, refusals, offline uploads,
//! undo, progress, key rotation and scanner tokens.

use crate::on_both_stores;
use crate::support::*;
use boxoffice_e2e::{TICKET_SIGNING_KEY, TestServer};
use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signer, SigningKey};
use futures_util::future::join_all;
use serde_json::{Value, json};

/// The key id a code carries (bytes 1 to 4).
fn key_id(code: &str) -> [u8; 4] {
    let bytes = BASE32_NOPAD.decode(code.as_bytes()).expect("base32");
    [bytes[1], bytes[2], bytes[3], bytes[4]]
}

/// An organizer, their event of 10 seats, an attendee and the attendee's booking of
/// `quantity`.
struct Door {
    organizer: String,
    event_id: String,
    attendee: String,
    booking: Value,
}

async fn door(server: &TestServer, tag: &str, quantity: u64) -> Door {
    let (organizer, _) = organizer(server, &format!("org-{tag}@example.org")).await;
    let event = create_event(
        server,
        &organizer,
        event_body(&format!("Door {tag}"), json!({"capacity": 10})),
    )
    .await;
    let event_id = text(&event, "id");
    let (attendee, _) = attendee(server, &format!("fan-{tag}@example.org")).await;
    let booking = booked(server, &attendee, &event_id, quantity).await;
    Door {
        organizer,
        event_id,
        attendee,
        booking,
    }
}

async fn tickets(server: &TestServer, token: &str, booking: &Value) -> Vec<Value> {
    let path = format!("/bookings/{}/tickets", text(booking, "id"));
    get(server, &path, Some(token)).await.ok(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

async fn scan(server: &TestServer, token: &str, event_id: &str, code: &str) -> Reply {
    api(
        server,
        "POST",
        &format!("/events/{event_id}/check-ins"),
        Some(token),
        Some(json!({"code": code})),
    )
    .await
}

fn statuses(tickets: &[Value]) -> Vec<String> {
    column(tickets, "status")
}

/// A code for ticket `number` of `booking`, signed with `seed` (base64url), as a
/// deployment with that key would sign it.
fn code_signed_with(seed: &str, booking: &Value, number: u16) -> String {
    use base64::Engine;
    let seed: [u8; 32] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(seed)
        .expect("base64")
        .try_into()
        .expect("32 bytes");
    let key = SigningKey::from_bytes(&seed);
    let id = ed25519_key_id(&key);
    let mut bytes = vec![1_u8];
    bytes.extend_from_slice(&id);
    for field in ["event_id", "id", "ticket_type_id"] {
        bytes.extend_from_slice(uuid(booking, field).as_bytes());
    }
    bytes.extend_from_slice(&number.to_be_bytes());
    let signature = key.sign(&bytes);
    bytes.extend_from_slice(&signature.to_bytes());
    BASE32_NOPAD.encode(&bytes)
}

/// The key id of `key`, as docs/tickets.md defines it: the first 4 bytes of SHA-256
/// of its public key.
fn ed25519_key_id(key: &SigningKey) -> [u8; 4] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.verifying_key().as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A booking's tickets carry signed codes that its owner, the organizer and admins see;
/// QR codes in PNG and SVG carry the code; the public key is listed.
async fn tickets_have_codes_and_qr_codes_body(server: TestServer) {
    let d = door(&server, "codes", 3).await;
    let mine = tickets(&server, &d.attendee, &d.booking).await;
    assert_eq!(mine.len(), 3);
    assert_eq!(statuses(&mine), ["valid", "valid", "valid"]);
    assert_eq!(column(&mine, "booking_id"), vec![text(&d.booking, "id"); 3]);
    let codes = column(&mine, "code");
    assert!(
        codes
            .iter()
            .all(|c| c.len() < 200 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
    );
    assert_eq!(tickets(&server, &d.organizer, &d.booking).await, mine);
    let (stranger, _) = attendee(&server, "stranger-codes@example.org").await;
    let path = format!("/bookings/{}/tickets", text(&d.booking, "id"));
    get(&server, &path, Some(&stranger))
        .await
        .problem(404, "not_found");
    get(&server, &path, None).await.problem(401, "unauthorized");

    let keys = get(&server, "/checkin/keys", None).await;
    let keys = keys.ok(200)["keys"].as_array().expect("keys").clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["algorithm"], "Ed25519");
    assert_eq!(keys[0]["signing"], true);
    let id = key_id(&codes[0]);
    assert_eq!(
        text(&keys[0], "key_id"),
        data_encoding::HEXLOWER.encode(&id)
    );

    let ticket_id = text(&mine[1], "id");
    let qr = |format: &str| {
        let url = server.url(&format!("/api/v1{path}/{ticket_id}/qr.{format}"));
        let request = server.client.get(url).bearer_auth(&d.attendee);
        async move {
            let response = request.send().await.expect("sent");
            assert_eq!(response.status(), 200);
            let kind = response.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .to_owned();
            (kind, response.bytes().await.expect("body").to_vec())
        }
    };
    let (kind, png) = qr("png").await;
    assert_eq!(kind, "image/png");
    assert_eq!(decode_qr(&png), codes[1]);
    let (kind, svg) = qr("svg").await;
    assert_eq!(kind, "image/svg+xml");
    assert!(String::from_utf8(svg).expect("text").contains("<svg"));
    let other = format!("/api/v1{path}/{}/qr.png", uuid::Uuid::new_v4());
    let response = server
        .client
        .get(server.url(&other))
        .bearer_auth(&d.attendee)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 404);
}
on_both_stores!(
    tickets_have_codes_and_qr_codes,
    super::tickets_have_codes_and_qr_codes_body
);

/// The text of the one QR code in a PNG picture.
fn decode_qr(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("png header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let width = info.width as usize;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, info.height as usize, |x, y| {
            pixels[y * width + x]
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("decodes").1
}

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

/// Cancelling part of a booking voids its newest unused ticket; the seats of used
/// tickets cannot be cancelled; a voided code is 409 `ticket_voided`.
async fn cancelled_seats_void_their_tickets_body(server: TestServer) {
    let d = door(&server, "void", 3).await;
    let codes = column(&tickets(&server, &d.attendee, &d.booking).await, "code");
    scan(&server, &d.organizer, &d.event_id, &codes[1])
        .await
        .ok(200);
    let id = text(&d.booking, "id");
    cancel(&server, &d.attendee, &id, Some(json!({"quantity": 1})))
        .await
        .ok(200);
    let after = tickets(&server, &d.attendee, &d.booking).await;
    assert_eq!(statuses(&after), ["valid", "checked_in", "voided"]);
    scan(&server, &d.organizer, &d.event_id, &codes[2])
        .await
        .problem(409, "ticket_voided");
    // A seat whose ticket was used is never given back: cancelling everything, or
    // more than the unused tickets, is refused and changes nothing.
    for body in [None, Some(json!({"quantity": 2}))] {
        cancel(&server, &d.attendee, &id, body)
            .await
            .problem(409, "already_checked_in");
    }
    assert_seats(&server, &d.event_id, 10, 2, 0, 0, "nothing cancelled").await;
    cancel(&server, &d.attendee, &id, Some(json!({"quantity": 1})))
        .await
        .ok(200);
    let after = tickets(&server, &d.attendee, &d.booking).await;
    assert_eq!(statuses(&after), ["voided", "checked_in", "voided"]);
    scan(&server, &d.organizer, &d.event_id, &codes[0])
        .await
        .problem(409, "ticket_voided");
}
on_both_stores!(
    cancelled_seats_void_their_tickets,
    super::cancelled_seats_void_their_tickets_body
);

/// A cancellation may name the tickets it voids; naming them again changes nothing,
/// a checked-in ticket cannot be cancelled, and a ticket of another booking is refused.
async fn named_tickets_are_the_ones_cancelled_body(server: TestServer) {
    let d = door(&server, "named", 4).await;
    let mine = tickets(&server, &d.attendee, &d.booking).await;
    let ids = column(&mine, "id");
    let id = text(&d.booking, "id");
    scan(&server, &d.organizer, &d.event_id, &text(&mine[3], "code"))
        .await
        .ok(200);
    let body = json!({"ticket_ids": [ids[0]]});
    for _ in 0..2 {
        let cancelled = cancel(&server, &d.attendee, &id, Some(body.clone())).await;
        assert_eq!(cancelled.ok(200)["quantity"], 3);
        let after = tickets(&server, &d.attendee, &d.booking).await;
        assert_eq!(statuses(&after), ["voided", "valid", "valid", "checked_in"]);
    }
    scan(&server, &d.organizer, &d.event_id, &text(&mine[0], "code"))
        .await
        .problem(409, "ticket_voided");
    scan(&server, &d.organizer, &d.event_id, &text(&mine[1], "code"))
        .await
        .ok(200);
    cancel(
        &server,
        &d.attendee,
        &id,
        Some(json!({"ticket_ids": [ids[3]]})),
    )
    .await
    .problem(409, "already_checked_in");
    let stranger = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        cancel(
            &server,
            &d.attendee,
            &id,
            Some(json!({"ticket_ids": [stranger]}))
        )
        .await
        .invalid_fields(),
        ["ticket_ids"]
    );
    assert_eq!(
        cancel(
            &server,
            &d.attendee,
            &id,
            Some(json!({"ticket_ids": [ids[2], ids[2]]}))
        )
        .await
        .invalid_fields(),
        ["ticket_ids"]
    );
    assert_eq!(
        cancel(
            &server,
            &d.attendee,
            &id,
            Some(json!({"ticket_ids": [ids[2]], "quantity": 2}))
        )
        .await
        .invalid_fields(),
        ["quantity"]
    );
    let keyed = |key: &str| {
        let request = server
            .client
            .post(server.url(&format!("/api/v1/bookings/{id}/cancel")))
            .bearer_auth(&d.attendee)
            .header("Idempotency-Key", key)
            .json(&json!({"ticket_ids": [ids[2]]}));
        send(request)
    };
    assert_eq!(keyed("named-1").await.ok(200)["quantity"], 2);
    assert_eq!(keyed("named-1").await.ok(200)["quantity"], 2);
    let after = tickets(&server, &d.attendee, &d.booking).await;
    assert_eq!(
        statuses(&after),
        ["voided", "checked_in", "voided", "checked_in"]
    );
    assert_seats(&server, &d.event_id, 10, 2, 0, 0, "two seats given back").await;
}
crate::on_both_stores!(
    named_tickets_are_the_ones_cancelled,
    super::named_tickets_are_the_ones_cancelled_body
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

/// Codes signed with a key that was rotated out of first place keep checking in, and
/// both keys are listed; a key the deployment no longer has is refused.
async fn rotated_keys_keep_old_codes_valid_body(server: TestServer) {
    let d = door(&server, "rotate", 2).await;
    let old = code_signed_with(TICKET_SIGNING_KEY, &d.booking, 1);
    scan(&server, &d.organizer, &d.event_id, &old).await.ok(200);
    let keys = get(&server, "/checkin/keys", None).await;
    let keys = keys.ok(200)["keys"].as_array().expect("keys").clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["signing"], true);
    assert_eq!(keys[1]["signing"], false);
    let fresh = column(&tickets(&server, &d.attendee, &d.booking).await, "code");
    assert_eq!(
        text(&keys[0], "key_id"),
        data_encoding::HEXLOWER.encode(&key_id(&fresh[1]))
    );
    assert_ne!(
        key_id(&fresh[1]),
        key_id(&old),
        "new codes are signed with the new key"
    );
    scan(&server, &d.organizer, &d.event_id, &fresh[1])
        .await
        .ok(200);
    let retired = code_signed_with("cmV0aXJlZC1rZXktcmV0aXJlZC1rZXktcmV0aXJlZC0", &d.booking, 2);
    scan(&server, &d.organizer, &d.event_id, &retired)
        .await
        .problem(422, "invalid_ticket_code");
}
on_both_stores!(
    rotated_keys_keep_old_codes_valid,
    super::rotated_keys_keep_old_codes_valid_body,
    env = [(
        "TICKET_SIGNING_KEYS",
        "bmV3LXRpY2tldC1zaWduaW5nLWtleS0wMTIzNDU2Nzg,ZTJlLXRpY2tldC1zaWduaW5nLWtleS0wMTIzNDU2Nzg"
    )]
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
}
crate::on_both_stores!(
    scans_are_rate_limited_per_token,
    super::scans_are_rate_limited_per_token_body,
    env = [("RATE_LIMIT_API_TOKEN_PER_MINUTE", "2")]
);
