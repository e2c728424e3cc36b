//! Helpers shared by the e2e test files: requests that keep the response headers,
//! assertions on problem documents and on the contract's shapes, and token forging.

use boxoffice_e2e::TestServer;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A response: status, headers and the body as JSON (`Value::Null` when empty, a JSON
/// string when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `content-type` header, or "".
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and a JSON body; returns the body.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert!(
            self.content_type().starts_with("application/json"),
            "content-type {:?}; body: {}",
            self.content_type(),
            self.body
        );
        &self.body
    }

    /// Asserts the status and an empty body (204, 202).
    #[track_caller]
    pub fn empty(&self, status: u16) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.body, Value::Null, "expected no body");
    }

    /// Asserts an RFC 9457 problem with this status and code; returns the body.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.content_type(),
            PROBLEM_JSON,
            "a {status} must be problem+json; body: {}",
            self.body
        );
        assert_eq!(self.body["code"], code, "problem: {}", self.body);
        assert_eq!(self.body["status"], status, "problem: {}", self.body);
        for member in ["type", "title", "detail"] {
            assert!(
                self.body[member].as_str().is_some_and(|s| !s.is_empty()),
                "problem without `{member}`: {}",
                self.body
            );
        }
        &self.body
    }

    /// Asserts 422 `validation_failed`; returns the names in `errors[].field`, each of
    /// which comes with a message.
    #[track_caller]
    pub fn invalid_fields(&self) -> Vec<String> {
        let body = self.problem(422, "validation_failed");
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("422 without `errors`: {body}"));
        assert!(!errors.is_empty(), "422 with empty `errors`: {body}");
        errors
            .iter()
            .map(|e| {
                assert!(
                    e["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "field error without a message: {e}"
                );
                e["field"].as_str().expect("errors[].field").to_owned()
            })
            .collect()
    }
}

/// Sends a built request and reads the whole response.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body read");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// A request to `/api/v1{path}` with an optional bearer token and JSON body.
pub async fn api(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = server
        .client
        .request(method, server.url(&format!("/api/v1{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// `GET /api/v1{path}`.
pub async fn get(server: &TestServer, path: &str, token: Option<&str>) -> Reply {
    api(server, "GET", path, token, None).await
}

/// `POST /api/v1/auth/register`; returns the raw reply.
pub async fn register(server: &TestServer, name: &str, email: &str, password: &str) -> Reply {
    api(
        server,
        "POST",
        "/auth/register",
        None,
        Some(json!({"name": name, "email": email, "password": password})),
    )
    .await
}

/// `POST /api/v1/auth/login`; returns the raw reply.
pub async fn login(server: &TestServer, email: &str, password: &str) -> Reply {
    api(
        server,
        "POST",
        "/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

/// Logs in and returns the Tokens body, checked against the contract's shape.
pub async fn tokens(server: &TestServer, email: &str, password: &str) -> Value {
    let reply = login(server, email, password).await;
    let tokens = reply.ok(200).clone();
    assert_tokens(&tokens);
    tokens
}

/// `POST /api/v1/auth/refresh`; returns the raw reply.
pub async fn refresh(server: &TestServer, refresh_token: &str) -> Reply {
    api(
        server,
        "POST",
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await
}

/// `GET /api/v1/users/me` with a token; returns the raw reply.
pub async fn me(server: &TestServer, token: &str) -> Reply {
    get(server, "/users/me", Some(token)).await
}

/// A string field of a JSON body.
#[track_caller]
pub fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is not a string in {value}"))
        .to_owned()
}

/// Parses an RFC 3339 time field.
#[track_caller]
pub fn time(value: &Value, field: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&text(value, field))
        .unwrap_or_else(|e| panic!("`{field}` is not RFC 3339 ({e}) in {value}"))
        .with_timezone(&Utc)
}

/// Parses a UUID field.
#[track_caller]
pub fn uuid(value: &Value, field: &str) -> Uuid {
    text(value, field)
        .parse()
        .unwrap_or_else(|e| panic!("`{field}` is not a UUID ({e}) in {value}"))
}

/// Asserts `created_at` lies within the last few minutes.
#[track_caller]
pub fn assert_recent(value: &Value, field: &str) {
    let at = time(value, field);
    let age = Utc::now() - at;
    assert!(
        age > chrono::Duration::seconds(-5) && age < chrono::Duration::minutes(5),
        "`{field}` = {at} is not recent"
    );
}

/// Asserts a User document: `{id, name, email, role, active, created_at}` with these
/// values, and no password material.
#[track_caller]
pub fn assert_user(user: &Value, name: &str, email: &str, role: &str, active: bool) {
    uuid(user, "id");
    assert_eq!(user["name"], name, "user: {user}");
    assert_eq!(user["email"], email, "user: {user}");
    assert_eq!(user["role"], role, "user: {user}");
    assert_eq!(user["active"], active, "user: {user}");
    assert_recent(user, "created_at");
    let keys = user.as_object().expect("user object");
    assert!(
        !keys
            .keys()
            .any(|k| k.contains("password") || k.contains("hash")),
        "a User must not carry password material: {user}"
    );
}

/// Asserts a Tokens document: `{access_token, refresh_token, token_type: "Bearer",
/// expires_in}`, where `expires_in` matches the access token's own `exp - iat`.
#[track_caller]
pub fn assert_tokens(tokens: &Value) {
    let access = text(tokens, "access_token");
    let refresh = text(tokens, "refresh_token");
    assert!(!refresh.is_empty(), "empty refresh token: {tokens}");
    assert_ne!(access, refresh);
    assert_eq!(tokens["token_type"], "Bearer", "tokens: {tokens}");
    let expires_in = tokens["expires_in"]
        .as_i64()
        .unwrap_or_else(|| panic!("expires_in is not an integer: {tokens}"));
    assert!(expires_in > 0, "expires_in: {expires_in}");
    let claims = jwt_claims(&access);
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(
        lifetime, expires_in,
        "expires_in disagrees with the JWT: {claims}"
    );
}

/// The payload of a JWT, unverified.
#[track_caller]
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("not a JWT: {token}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("JWT payload is base64url");
    serde_json::from_slice(&bytes).expect("JWT payload is JSON")
}

/// Claims like the server's for `user_id`, expiring `ttl_secs` from now (negative: in
/// the past).
pub fn claims_for(user_id: &str, role: &str, ttl_secs: i64) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "sub": user_id,
        "role": role,
        "iat": now - 3600,
        "exp": now + ttl_secs,
        "jti": Uuid::new_v4().to_string(),
    })
}

/// An HS256 JWT over `claims`, signed with `secret`.
pub fn sign(claims: &Value, secret: &[u8]) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("sign JWT")
}

/// A JWT with `alg: none` and no signature (`header.payload.`).
pub fn unsigned(claims: &Value) -> String {
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

/// The body of a fresh event in 2031: `overrides` replace or add fields.
pub fn event_body(name: &str, overrides: Value) -> Value {
    let mut body = json!({
        "name": name,
        "venue": "Hall A",
        "starts_at": "2031-06-01T18:00:00Z",
        "capacity": 100,
    });
    let fields = body.as_object_mut().expect("object");
    for (key, value) in overrides.as_object().expect("overrides object") {
        fields.insert(key.clone(), value.clone());
    }
    body
}

/// `POST /api/v1/events`, asserting 201; returns the Event.
pub async fn create_event(server: &TestServer, token: &str, body: Value) -> Value {
    let reply = api(server, "POST", "/events", Some(token), Some(body)).await;
    reply.ok(201).clone()
}

/// An organizer (made through the CLI) and their id: (token, id).
pub async fn organizer(server: &TestServer, email: &str) -> (String, String) {
    let token = server.user_with_role(email, "organizer").await;
    let id = text(me(server, &token).await.ok(200), "id");
    (token, id)
}

/// Waits for the log mailer's message to `email` and returns the password-reset token in it.
pub async fn reset_token_mailed_to(server: &mut TestServer, email: &str) -> String {
    let email = email.to_owned();
    let body = server
        .wait_for_log(Duration::from_secs(10), move |line| {
            (line["message"] == "outgoing mail" && line["to"] == email.as_str())
                .then(|| line["body"].as_str().map(ToOwned::to_owned))?
        })
        .await;
    let marker = "use this token within 60 minutes: ";
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no token in the reset mail: {body:?}"))
        + marker.len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(
        token.len() >= 16,
        "implausible reset token {token:?} in {body:?}"
    );
    token
}

/// Follows `next_cursor` from `first_path` (which must already carry `?limit=`) until the
/// last page; returns every page's items, checking each page holds `limit` items but the
/// last.
pub async fn all_pages(
    server: &TestServer,
    first_path: &str,
    token: Option<&str>,
    limit: usize,
) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut path = first_path.to_owned();
    loop {
        let reply = get(server, &path, token).await;
        let page = reply.ok(200);
        let items = page["items"].as_array().expect("items").clone();
        assert!(
            items.len() <= limit,
            "page larger than limit {limit}: {page}"
        );
        match &page["next_cursor"] {
            Value::Null => {
                pages.push(items);
                return pages;
            }
            Value::String(cursor) => {
                assert_eq!(
                    items.len(),
                    limit,
                    "a page before the last must be full: {page}"
                );
                path = format!("{first_path}&cursor={}", urlencode(cursor));
                pages.push(items);
            }
            other => panic!("next_cursor must be a string or null, got {other}"),
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The booking engine: holds, bookings, waitlists.

/// A Booking document's fields the contract fixes, as a test expects them.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub event_id: &'a str,
    pub user_id: &'a str,
    pub quantity: u64,
    pub status: &'a str,
}

/// An attendee (registered and logged in): (token, id).
pub async fn attendee(server: &TestServer, email: &str) -> (String, String) {
    let (token, user) = server.attendee(email).await;
    (token, text(&user, "id"))
}

/// `n` attendees registered concurrently, emails `{prefix}{i}@example.org`: (token, id).
pub async fn attendees(server: &TestServer, prefix: &str, n: usize) -> Vec<(String, String)> {
    let mut all = Vec::with_capacity(n);
    let emails: Vec<String> = (0..n).map(|i| format!("{prefix}{i}@example.org")).collect();
    for chunk in emails.chunks(25) {
        let made =
            futures_util::future::join_all(chunk.iter().map(|email| attendee(server, email))).await;
        all.extend(made);
    }
    all
}

/// `GET /events/{id}` (anonymous), asserting 200.
pub async fn event(server: &TestServer, id: &str) -> Value {
    get(server, &format!("/events/{id}"), None)
        .await
        .ok(200)
        .clone()
}

/// The id of an event's first ticket type.
#[track_caller]
pub fn first_type(event: &Value) -> String {
    text(&event["ticket_types"][0], "id")
}

/// Asserts an event's availability: `{capacity, sold, held, available, waitlist_count}`
/// with `available = capacity - sold - held`; returns the event.
pub async fn assert_seats(
    server: &TestServer,
    id: &str,
    capacity: u64,
    sold: u64,
    held: u64,
    waitlist_count: u64,
    context: &str,
) -> Value {
    let event = event(server, id).await;
    assert_eq!(
        event["availability"],
        json!({
            "capacity": capacity,
            "sold": sold,
            "held": held,
            "available": capacity - sold - held,
            "waitlist_count": waitlist_count,
        }),
        "availability {context}; event: {event}"
    );
    event
}

/// `POST /events/{id}/bookings`.
pub async fn book(server: &TestServer, token: &str, event_id: &str, body: Value) -> Reply {
    api(
        server,
        "POST",
        &format!("/events/{event_id}/bookings"),
        Some(token),
        Some(body),
    )
    .await
}

/// `POST /events/{id}/bookings` with an `Idempotency-Key`.
pub async fn book_with_key(
    server: &TestServer,
    token: &str,
    event_id: &str,
    body: &Value,
    key: &str,
) -> Reply {
    let request = server
        .client
        .post(server.url(&format!("/api/v1/events/{event_id}/bookings")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body);
    send(request).await
}

/// Books `quantity` seats that must be free: asserts 201 with a booking and no waitlist
/// entry; returns the booking.
pub async fn booked(server: &TestServer, token: &str, event_id: &str, quantity: u64) -> Value {
    let reply = book(server, token, event_id, json!({"quantity": quantity})).await;
    let outcome = reply.ok(201);
    assert_eq!(
        outcome["waitlist_entry"],
        Value::Null,
        "a booking that fits makes no entry: {outcome}"
    );
    outcome["booking"].clone()
}

/// Books `quantity` seats that are not free (default `on_sold_out`): asserts 202 with a
/// waitlist entry and no booking; returns the entry.
pub async fn queued(server: &TestServer, token: &str, event_id: &str, quantity: u64) -> Value {
    let reply = book(server, token, event_id, json!({"quantity": quantity})).await;
    let outcome = reply.ok(202);
    assert_eq!(
        outcome["booking"],
        Value::Null,
        "a sold-out booking books nothing: {outcome}"
    );
    outcome["waitlist_entry"].clone()
}

/// `POST /events/{id}/holds`.
pub async fn hold(server: &TestServer, token: &str, event_id: &str, body: Value) -> Reply {
    api(
        server,
        "POST",
        &format!("/events/{event_id}/holds"),
        Some(token),
        Some(body),
    )
    .await
}

/// `POST /events/{id}/waitlist`.
pub async fn join(server: &TestServer, token: &str, event_id: &str, body: Value) -> Reply {
    api(
        server,
        "POST",
        &format!("/events/{event_id}/waitlist"),
        Some(token),
        Some(body),
    )
    .await
}

/// `POST /bookings/{id}/cancel` with an optional body.
pub async fn cancel(
    server: &TestServer,
    token: &str,
    booking_id: &str,
    body: Option<Value>,
) -> Reply {
    api(
        server,
        "POST",
        &format!("/bookings/{booking_id}/cancel"),
        Some(token),
        body,
    )
    .await
}

/// Every item of a listing at `path` (which may carry a query), read in pages of 100.
pub async fn every_item(server: &TestServer, path: &str, token: &str) -> Vec<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    all_pages(
        server,
        &format!("{path}{separator}limit=100"),
        Some(token),
        100,
    )
    .await
    .into_iter()
    .flatten()
    .collect()
}

/// The caller's bookings (`query` like "" or "?status=confirmed").
pub async fn my_bookings(server: &TestServer, token: &str, query: &str) -> Vec<Value> {
    every_item(server, &format!("/users/me/bookings{query}"), token).await
}

/// The caller's waitlist entries, newest first.
pub async fn my_entries(server: &TestServer, token: &str) -> Vec<Value> {
    every_item(server, "/users/me/waitlist", token).await
}

/// An event's waitlist as its organizer or an admin sees it (`query` like "" or
/// "?status=promoted").
pub async fn event_queue(
    server: &TestServer,
    token: &str,
    event_id: &str,
    query: &str,
) -> Vec<Value> {
    every_item(
        server,
        &format!("/events/{event_id}/waitlist{query}"),
        token,
    )
    .await
}

/// The values of `field` in `items`, as text.
#[track_caller]
pub fn column(items: &[Value], field: &str) -> Vec<String> {
    items.iter().map(|item| text(item, field)).collect()
}

/// Asserts a Booking document.
#[track_caller]
pub fn assert_booking(booking: &Value, expect: Expect<'_>, source: &str) {
    uuid(booking, "id");
    assert_eq!(booking["event_id"], expect.event_id, "booking {booking}");
    uuid(booking, "ticket_type_id");
    assert_eq!(booking["user_id"], expect.user_id, "booking {booking}");
    assert_eq!(booking["quantity"], expect.quantity, "booking {booking}");
    assert_eq!(booking["status"], expect.status, "booking {booking}");
    assert_eq!(booking["source"], source, "booking {booking}");
    assert_recent(booking, "created_at");
    if expect.status == "cancelled" {
        assert_recent(booking, "cancelled_at");
    } else {
        assert_eq!(booking["cancelled_at"], Value::Null, "booking {booking}");
    }
}

/// Asserts a WaitlistEntry document (`position` only for waiting entries).
#[track_caller]
pub fn assert_entry(entry: &Value, expect: Expect<'_>, position: Option<u64>) {
    uuid(entry, "id");
    assert_eq!(entry["event_id"], expect.event_id, "entry {entry}");
    uuid(entry, "ticket_type_id");
    assert_eq!(entry["user_id"], expect.user_id, "entry {entry}");
    assert_eq!(entry["quantity"], expect.quantity, "entry {entry}");
    assert_eq!(entry["status"], expect.status, "entry {entry}");
    assert_eq!(entry["position"], json!(position), "entry {entry}");
    if expect.status == "promoted" {
        uuid(entry, "booking_id");
    } else {
        assert_eq!(entry["booking_id"], Value::Null, "entry {entry}");
    }
    assert_recent(entry, "created_at");
}

/// Asserts a Hold document; `ttl_secs` is the server's `HOLD_TTL_SECS`.
#[track_caller]
pub fn assert_hold(
    hold: &Value,
    event_id: &str,
    ticket_type_id: &str,
    quantity: u64,
    ttl_secs: i64,
) {
    uuid(hold, "id");
    assert_eq!(hold["event_id"], event_id, "hold {hold}");
    assert_eq!(hold["ticket_type_id"], ticket_type_id, "hold {hold}");
    assert_eq!(hold["quantity"], quantity, "hold {hold}");
    let left = (time(hold, "expires_at") - Utc::now()).num_seconds();
    assert!(
        (ttl_secs - 30..=ttl_secs + 2).contains(&left),
        "a hold expires HOLD_TTL_SECS = {ttl_secs} after it is made; {left} s left: {hold}"
    );
}

/// Asserts a status and a problem+json body with this `code`, without fixing the status to
/// one value (for cases the contract leaves open between `statuses`).
#[track_caller]
pub fn assert_problem_in(
    reply: &Reply,
    statuses: &[u16],
    code_by_status: impl Fn(u16) -> &'static str,
) {
    assert!(
        statuses.contains(&reply.status),
        "expected one of {statuses:?}, got {}: {}",
        reply.status,
        reply.body
    );
    reply.problem(reply.status, code_by_status(reply.status));
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            started.elapsed() < timeout,
            "{what}: not seen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
