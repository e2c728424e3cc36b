//! Tickets: codes and QR codes, what cancellations void, key rotation; and the
//! fixtures the check-in tests share.

use crate::on_both_stores;
use crate::support::*;
use boxoffice_e2e::{TICKET_SIGNING_KEY, TestServer};
use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

/// The key id a code carries (bytes 1 to 4).
pub(crate) fn key_id(code: &str) -> [u8; 4] {
    let bytes = BASE32_NOPAD.decode(code.as_bytes()).expect("base32");
    [bytes[1], bytes[2], bytes[3], bytes[4]]
}

/// An organizer, their event of 10 seats, an attendee and the attendee's booking of
/// `quantity`.
pub(crate) struct Door {
    pub(crate) organizer: String,
    pub(crate) event_id: String,
    pub(crate) attendee: String,
    pub(crate) booking: Value,
}

pub(crate) async fn door(server: &TestServer, tag: &str, quantity: u64) -> Door {
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

pub(crate) async fn tickets(server: &TestServer, token: &str, booking: &Value) -> Vec<Value> {
    let path = format!("/bookings/{}/tickets", text(booking, "id"));
    get(server, &path, Some(token)).await.ok(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

pub(crate) async fn scan(server: &TestServer, token: &str, event_id: &str, code: &str) -> Reply {
    api(
        server,
        "POST",
        &format!("/events/{event_id}/check-ins"),
        Some(token),
        Some(json!({"code": code})),
    )
    .await
}

pub(crate) fn statuses(tickets: &[Value]) -> Vec<String> {
    column(tickets, "status")
}

/// A code for ticket `number` of `booking`, signed with `seed` (base64url), as a
/// deployment with that key would sign it.
pub(crate) fn code_signed_with(seed: &str, booking: &Value, number: u16) -> String {
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
