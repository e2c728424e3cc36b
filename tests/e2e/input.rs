//! Input every store must answer alike: text with NUL characters and instants outside
//! the years 1 to 9999 are 422 `validation_failed` naming the field, on SQLite as on
//! Postgres (which cannot store either), anonymous requests included.

use crate::support::{
    api, assert_seats, attendee, book_with_key, create_event, event_body, get, organizer, send,
    text, urlencode,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use boxoffice_e2e::TestServer;
use serde_json::{Value, json};

/// Every variant of `body` with `value` at one of `fields` (a path such as
/// `ticket_types.0.name`).
fn with_field(body: &Value, field: &str, value: &Value) -> Value {
    let mut body = body.clone();
    let mut at = &mut body;
    for step in field.split('.') {
        at = match step.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[step],
        };
    }
    *at = value.clone();
    body
}

/// How the API names the field at `path` (`ticket_types[0].name`).
fn field_name(path: &str) -> String {
    path.split('.')
        .fold(String::new(), |name, step| match step.parse::<usize>() {
            Ok(i) => format!("{name}[{i}]"),
            Err(_) if name.is_empty() => step.to_owned(),
            Err(_) => format!("{name}.{step}"),
        })
}

crate::on_both_stores!(nul_characters_are_refused, super::nul_characters_body);
async fn nul_characters_body(server: TestServer) {
    let nul = json!("before\u{0}after");
    let anonymous = [
        (
            "/auth/register",
            json!({"name": "Nul", "email": "nul@example.org", "password": "password123"}),
            &["name", "email", "password"][..],
        ),
        (
            "/auth/login",
            json!({"email": "nul@example.org", "password": "password123"}),
            &["email", "password"][..],
        ),
        (
            "/auth/password-reset",
            json!({"email": "nul@example.org"}),
            &["email"][..],
        ),
    ];
    for (path, body, fields) in &anonymous {
        for field in fields.iter() {
            let reply = api(
                &server,
                "POST",
                path,
                None,
                Some(with_field(body, field, &nul)),
            )
            .await;
            assert_eq!(
                reply.invalid_fields(),
                [field.to_string()],
                "{path} {field}"
            );
        }
    }
    // Nothing was made of them: the address is still free.
    api(
        &server,
        "POST",
        "/auth/register",
        None,
        Some(anonymous[0].1.clone()),
    )
    .await
    .ok(201);

    let (token, _) = organizer(&server, "nora.nul@example.org").await;
    let event = event_body(
        "Nul",
        json!({"description": "text", "ticket_types": [{"name": "Seat", "price_cents": 0}]}),
    );
    for field in [
        "name",
        "description",
        "venue",
        "currency",
        "ticket_types.0.name",
    ] {
        let reply = api(
            &server,
            "POST",
            "/events",
            Some(&token),
            Some(with_field(&event, field, &nul)),
        )
        .await;
        assert_eq!(reply.invalid_fields(), [field_name(field)], "{field}");
    }
    let created = create_event(&server, &token, event.clone()).await;
    let path = format!("/events/{}", text(&created, "id"));
    for field in ["name", "description", "venue"] {
        let reply = api(
            &server,
            "PATCH",
            &path,
            Some(&token),
            Some(json!({ field: nul })),
        )
        .await;
        assert_eq!(reply.invalid_fields(), [field], "PATCH {field}");
    }
    let reply = api(
        &server,
        "PATCH",
        "/users/me",
        Some(&token),
        Some(json!({"name": nul})),
    )
    .await;
    assert_eq!(reply.invalid_fields(), ["name"]);

    // In a query, anonymous: `q` and unknown parameters alike.
    let reply = get(&server, "/events?q=%00", None).await;
    assert_eq!(reply.invalid_fields(), ["q"]);
    let reply = get(&server, "/events?q=a%00b&limit=5", None).await;
    assert_eq!(reply.invalid_fields(), ["q"]);

    // The six characters `\u0000` (an escaped backslash) are text like any other.
    let literal = json!("back\\u0000slash");
    let kept = create_event(&server, &token, with_field(&event, "name", &literal)).await;
    assert_eq!(kept["name"], literal);
    // What was refused changed nothing.
    let mine = get(&server, &format!("/events?q={}", urlencode("Nul")), None).await;
    let names: Vec<&Value> = mine.ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| &e["name"])
        .collect();
    assert_eq!(
        names,
        [&json!("Nul")],
        "only the valid event is listed by that name"
    );
}

crate::on_both_stores!(
    instants_beyond_the_stores_are_refused,
    super::far_instants_body
);
async fn far_instants_body(server: TestServer) {
    let (token, _) = organizer(&server, "tim.far@example.org").await;
    let event = event_body("Far", json!({}));
    let far = [
        "+275760-09-13T00:00:00Z",
        "+10000-01-01T00:00:00Z",
        "-4714-11-24T00:00:00Z",
        "-5000-01-01T00:00:00Z",
        "0000-12-31T23:59:59Z",
    ];
    for instant in far {
        for field in ["starts_at", "ends_at", "sales_open_at", "sales_close_at"] {
            let body = with_field(&event, field, &json!(instant));
            let reply = api(&server, "POST", "/events", Some(&token), Some(body)).await;
            assert_eq!(reply.invalid_fields(), [field], "{field} = {instant}");
        }
        let reply = get(
            &server,
            &format!("/events?from={}", urlencode(instant)),
            None,
        )
        .await;
        assert_eq!(reply.invalid_fields(), ["from"], "from = {instant}");
    }
    let created = create_event(&server, &token, event).await;
    let path = format!("/events/{}", text(&created, "id"));
    let reply = api(
        &server,
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"starts_at": far[0]})),
    )
    .await;
    assert_eq!(reply.invalid_fields(), ["starts_at"]);
    // The limits themselves are fine.
    for instant in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
        get(
            &server,
            &format!("/events?from={}", urlencode(instant)),
            None,
        )
        .await
        .ok(200);
    }
    // A cursor naming an instant no store keeps is not one of ours.
    let forged = URL_SAFE_NO_PAD.encode(format!("{}|{}", i64::MAX, uuid::Uuid::now_v7()));
    let reply = get(&server, &format!("/events?cursor={forged}"), None).await;
    assert_eq!(reply.invalid_fields(), ["cursor"]);
}

crate::on_both_stores!(
    two_idempotency_keys_are_a_bad_request,
    super::two_idempotency_keys_body
);
async fn two_idempotency_keys_body(server: TestServer) {
    let (owner, _) = organizer(&server, "ivan.keys@example.org").await;
    let (token, _) = attendee(&server, "ida.keys@example.org").await;
    let id = text(
        &create_event(&server, &owner, event_body("Keys", json!({}))).await,
        "id",
    );
    let request = server
        .client
        .post(server.url(&format!("/api/v1/events/{id}/bookings")))
        .bearer_auth(&token)
        .header("Idempotency-Key", "first")
        .header("Idempotency-Key", "second")
        .json(&json!({"quantity": 1}));
    let reply = send(request).await;
    let problem = reply.problem(400, "bad_request");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Idempotency-Key")),
        "{problem}"
    );
    assert_seats(&server, &id, 100, 0, 0, 0, "nothing was booked").await;
    book_with_key(&server, &token, &id, &json!({"quantity": 1}), "first")
        .await
        .ok(201);
}

/// A body that trickles in (a byte every 2 s) is cut off after 10 s with 408 and the
/// connection closed, instead of holding a connection for as long as the client likes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_bodies_time_out() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Some(server) = TestServer::start(boxoffice_e2e::Backend::Sqlite).await else {
        return;
    };
    let addr = server.base.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let head = "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n\
                Content-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    writer.write_all(head.as_bytes()).await.expect("head");
    let started = std::time::Instant::now();
    let trickle = async {
        while writer.write_all(b" ").await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    };
    let mut answer = Vec::new();
    tokio::select! {
        () = trickle => {}
        read = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            reader.read_to_end(&mut answer),
        ) => { read.expect("the server answers and closes within 30 s").expect("read"); }
    }
    let elapsed = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
}
