//! Security headers on every response, and CORS as `CORS_ALLOWED_ORIGINS` sets it.

use crate::support::{Reply, create_event, event_body, login, organizer, register, send, text};
use boxoffice_e2e::TestServer;
use serde_json::json;

/// `OPTIONS path` as a browser's preflight from `origin` for a POST with a token.
async fn preflight(server: &TestServer, path: &str, origin: &str) -> Reply {
    send(
        server
            .client
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type,idempotency-key",
            ),
    )
    .await
}

#[track_caller]
fn assert_hardened(reply: &Reply, what: &str) {
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
    assert!(reply.header("content-security-policy").is_some(), "{what}");
}

crate::on_both_stores!(
    responses_carry_security_headers,
    super::security_headers_body
);
async fn security_headers_body(server: TestServer) {
    let (token, _) = organizer(&server, "sec.headers@example.org").await;
    let id = text(
        &create_event(&server, &token, event_body("Headers", json!({}))).await,
        "id",
    );
    register(&server, "Sec", "sec.login@example.org", "password123")
        .await
        .ok(201);
    let tokens = login(&server, "sec.login@example.org", "password123").await;
    let get = |path: &str| send(server.client.get(server.url(path)));
    let me = send(
        server
            .client
            .get(server.url("/api/v1/users/me"))
            .bearer_auth(&token),
    )
    .await;
    for (reply, what) in [
        (tokens, "login (tokens)"),
        (me, "users/me (personal data)"),
        (get("/api/v1/events").await, "a listing"),
        (get("/api/v1/nope").await, "a 404"),
        (get("/health/live").await, "health"),
    ] {
        assert_hardened(&reply, what);
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
        assert_eq!(
            reply.header("content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{what}"
        );
    }
    // An event revalidates with its ETag instead.
    let event = get(&format!("/api/v1/events/{id}")).await;
    assert_hardened(&event, "an event");
    assert_eq!(event.header("cache-control"), Some("no-cache"));
    // Swagger UI may load its own scripts and styles, nothing else.
    let docs = get("/docs/").await;
    assert_hardened(&docs, "docs");
    let csp = docs.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    // Without CORS_ALLOWED_ORIGINS, no origin is allowed.
    let refused = preflight(&server, "/api/v1/events", "https://shop.example.org").await;
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

crate::on_both_stores!(
    cors_allows_the_configured_origins,
    super::cors_body,
    env = [(
        "CORS_ALLOWED_ORIGINS",
        "https://shop.example.org,http://localhost:5173"
    )]
);
async fn cors_body(server: TestServer) {
    for origin in ["https://shop.example.org", "http://localhost:5173"] {
        let reply = preflight(&server, "/api/v1/events", origin).await;
        assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
        assert_eq!(reply.header("access-control-allow-origin"), Some(origin));
        let headers = reply
            .header("access-control-allow-headers")
            .unwrap_or_default();
        for header in ["authorization", "content-type", "idempotency-key"] {
            assert!(headers.contains(header), "{header} in {headers}");
        }
        assert_hardened(&reply, "preflight");
    }
    let refused = preflight(&server, "/api/v1/events", "https://evil.example.org").await;
    refused.problem(400, "bad_request");
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_hardened(&refused, "refused preflight");

    let read = send(
        server
            .client
            .get(server.url("/api/v1/events"))
            .header("Origin", "https://shop.example.org"),
    )
    .await;
    read.ok(200);
    assert_eq!(
        read.header("access-control-allow-origin"),
        Some("https://shop.example.org")
    );
    let exposed = read
        .header("access-control-expose-headers")
        .unwrap_or_default();
    for header in ["etag", "location", "retry-after", "x-request-id"] {
        assert!(exposed.contains(header), "{header} in {exposed}");
    }
}
