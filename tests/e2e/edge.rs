//! The HTTP edge: problems for unknown routes, wrong methods and bad bodies, request ids,
//! health, metrics, the OpenAPI document and Swagger UI.

use crate::support::{PROBLEM_JSON, Reply, api, get, send};
use boxoffice_e2e::TestServer;
use serde_json::json;
use std::time::Duration;

/// A request to a path outside `/api/v1`.
async fn raw(server: &TestServer, method: &str, path: &str) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    send(server.client.request(method, server.url(path))).await
}

/// `POST /api/v1{path}` with a body sent as is, under `content_type`.
async fn post_raw(server: &TestServer, path: &str, content_type: &str, body: String) -> Reply {
    send(
        server
            .client
            .post(server.url(&format!("/api/v1{path}")))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

crate::on_both_stores!(unknown_routes_are_404_problems, super::unknown_routes_body);
async fn unknown_routes_body(server: TestServer) {
    for path in [
        "/api/v1/nope",
        "/nope",
        "/api/v2/events",
        "/api/v1/events/x/y/z",
        "/",
    ] {
        raw(&server, "GET", path).await.problem(404, "not_found");
    }
    raw(&server, "POST", "/api/v1/nothing-here")
        .await
        .problem(404, "not_found");
}

crate::on_both_stores!(wrong_methods_are_405_problems, super::wrong_methods_body);
async fn wrong_methods_body(server: TestServer) {
    for (method, path) in [
        ("PUT", "/api/v1/events"),
        ("DELETE", "/api/v1/events"),
        ("GET", "/api/v1/auth/register"),
        ("DELETE", "/api/v1/auth/login"),
        ("POST", "/api/v1/users/me"),
        ("GET", "/api/v1/users/me/password"),
        ("POST", "/health/live"),
        ("DELETE", "/metrics"),
    ] {
        let reply = raw(&server, method, path).await;
        assert_eq!(reply.status, 405, "{method} {path}: {}", reply.body);
        reply.problem(405, "method_not_allowed");
    }
    let events = format!("/api/v1/events/{}", uuid::Uuid::now_v7());
    raw(&server, "POST", &events)
        .await
        .problem(405, "method_not_allowed");
}

crate::on_both_stores!(bad_bodies_are_problems, super::bad_bodies_body);
async fn bad_bodies_body(server: TestServer) {
    let json_type = "application/json";

    // Malformed JSON: 400.
    for body in ["{\"name\": ", "not json", "{\"name\": \"a\",}", ""] {
        post_raw(&server, "/auth/register", json_type, body.to_owned())
            .await
            .problem(400, "malformed_json");
    }

    // Well-formed JSON under the wrong content type: 415.
    let valid = json!({"name": "Zed", "email": "zed.edge@example.org", "password": "password123"})
        .to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let reply = post_raw(&server, "/auth/register", content_type, valid.clone()).await;
        assert_eq!(reply.status, 415, "{content_type}: {}", reply.body);
        assert_eq!(reply.content_type(), PROBLEM_JSON);
        assert_eq!(reply.body["status"], 415);
        assert!(reply.body["code"].is_string(), "{}", reply.body);
    }
    // None of that created the account.
    post_raw(
        &server,
        "/auth/login",
        json_type,
        json!({"email": "zed.edge@example.org", "password": "password123"}).to_string(),
    )
    .await
    .problem(401, "invalid_credentials");

    // More than 64 KiB: 413, even when the JSON is valid.
    let huge = json!({"name": "x".repeat(70 * 1024), "email": "big.edge@example.org", "password": "password123"});
    let reply = post_raw(&server, "/auth/register", json_type, huge.to_string()).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.content_type(), PROBLEM_JSON);
    assert_eq!(reply.body["status"], 413);
    assert!(reply.body["code"].is_string(), "{}", reply.body);
    // Just under the limit is parsed (and then validated: the name is too long).
    let big = json!({"name": "x".repeat(60 * 1024), "email": "big.edge@example.org", "password": "password123"});
    let reply = post_raw(&server, "/auth/register", json_type, big.to_string()).await;
    assert_eq!(reply.invalid_fields(), ["name"]);

    // Missing fields and wrong types: 422 naming the field where it can.
    let reply = post_raw(
        &server,
        "/auth/login",
        json_type,
        json!({"email": "a@example.org"}).to_string(),
    )
    .await;
    assert_eq!(reply.invalid_fields(), ["password"]);
    let reply = post_raw(
        &server,
        "/auth/register",
        json_type,
        json!({"name": "A", "password": "password123"}).to_string(),
    )
    .await;
    assert_eq!(reply.invalid_fields(), ["email"]);
    post_raw(
        &server,
        "/auth/register",
        json_type,
        json!({"name": 5, "email": "a@example.org", "password": "password123"}).to_string(),
    )
    .await
    .problem(422, "validation_failed");
    post_raw(&server, "/auth/login", json_type, "[]".to_owned())
        .await
        .problem(422, "validation_failed");
}

crate::on_both_stores!(request_ids_are_echoed_and_logged, super::request_ids_body);
async fn request_ids_body(mut server: TestServer) {
    // Every response carries one, successes and errors alike, generated when not sent.
    let mut seen = Vec::new();
    for reply in [
        raw(&server, "GET", "/health/live").await,
        raw(&server, "GET", "/nope").await,
        raw(&server, "PUT", "/api/v1/events").await,
        get(&server, "/users/me", None).await,
        get(&server, "/events", None).await,
        api(&server, "POST", "/auth/login", None, Some(json!({}))).await,
    ] {
        let id = reply
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no x-request-id on a {} response", reply.status));
        assert!(!id.is_empty());
        seen.push(id.to_owned());
    }
    let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "request ids repeat: {seen:?}");

    // A client's id is echoed, on success and on error...
    let ok_id = format!("e2e-ok-{}", uuid::Uuid::new_v4());
    let error_id = format!("e2e-error-{}", uuid::Uuid::new_v4());
    let reply = send(
        server
            .client
            .get(server.url("/api/v1/events"))
            .header("X-Request-Id", &ok_id),
    )
    .await;
    reply.ok(200);
    assert_eq!(reply.header("x-request-id"), Some(ok_id.as_str()));
    let reply = send(
        server
            .client
            .get(server.url("/api/v1/users/me"))
            .header("X-Request-Id", &error_id),
    )
    .await;
    reply.problem(401, "unauthorized");
    assert_eq!(reply.header("x-request-id"), Some(error_id.as_str()));

    // ...and found in the server's JSON log lines for that request.
    for (id, status) in [(ok_id, 200), (error_id, 401)] {
        let logged = server
            .wait_for_log(Duration::from_secs(10), |line| {
                let carries = line["span"]["request_id"] == id.as_str()
                    || line["request_id"] == id.as_str()
                    || line["spans"]
                        .as_array()
                        .is_some_and(|spans| spans.iter().any(|s| s["request_id"] == id.as_str()));
                (carries && line["message"] == "request finished").then(|| line["status"].clone())
            })
            .await;
        assert_eq!(logged, status, "logged status of request {id}");
    }

    // An unusable id (too long) is replaced, not echoed.
    let long = "a".repeat(300);
    let reply = send(
        server
            .client
            .get(server.url("/health/live"))
            .header("X-Request-Id", &long),
    )
    .await;
    let id = reply.header("x-request-id").expect("x-request-id");
    assert!(!id.is_empty() && id != long);
}

crate::on_both_stores!(health_endpoints_answer, super::health_endpoints_body);
async fn health_endpoints_body(server: TestServer) {
    let live = raw(&server, "GET", "/health/live").await;
    assert_eq!(live.ok(200), &json!({"status": "ok"}));
    let ready = raw(&server, "GET", "/health/ready").await;
    assert_eq!(ready.ok(200)["status"], "ok");
}

crate::on_both_stores!(metrics_are_prometheus_text, super::metrics_body);
async fn metrics_body(server: TestServer) {
    raw(&server, "GET", "/health/live").await.ok(200);
    get(&server, "/events", None).await.ok(200);
    let reply = raw(&server, "GET", "/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.content_type().starts_with("text/plain"),
        "content-type {:?}",
        reply.content_type()
    );
    let text = reply.body.as_str().expect("metrics are text, not JSON");
    let requests: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("boxoffice_http_requests_total{"))
        .collect();
    assert!(
        requests
            .iter()
            .any(|l| l.contains("route=\"/health/live\"") && l.contains("status=\"200\"")),
        "no boxoffice_http_requests_total for /health/live in:\n{text}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains("route=\"/api/v1/events\"")),
        "no boxoffice_http_requests_total for /api/v1/events in:\n{text}"
    );
    assert!(
        text.contains("boxoffice_http_request_duration_seconds"),
        "{text}"
    );
    // Every series is ours and described; the build and the process report themselves.
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(line.starts_with("boxoffice_"), "unprefixed series {line:?}");
    }
    for help in [
        "# HELP boxoffice_http_requests_total ",
        "# HELP boxoffice_build_info ",
        "# HELP boxoffice_process_resident_memory_bytes ",
        "# HELP boxoffice_pool_connections ",
    ] {
        assert!(text.contains(help), "no {help:?} in:\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("boxoffice_build_info{version=") && l.ends_with(" 1")),
        "{text}"
    );
    // The database's pool, in use or idle (SQLite's readers, or Postgres).
    assert!(
        text.lines()
            .any(|l| l.starts_with("boxoffice_pool_connections{pool=\"database\",state=\"idle\"}")),
        "{text}"
    );
    assert!(
        text.contains("boxoffice_pool_max_connections{pool=\"database\"}"),
        "{text}"
    );
}

crate::on_both_stores!(openapi_document_lists_the_contract, super::openapi_body);
async fn openapi_body(server: TestServer) {
    let reply = raw(&server, "GET", "/api/openapi.json").await;
    let doc = reply.ok(200);
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1"), "openapi {version}");
    for (path, methods) in [
        ("/api/v1/auth/register", &["post"][..]),
        ("/api/v1/auth/login", &["post"]),
        ("/api/v1/auth/refresh", &["post"]),
        ("/api/v1/auth/logout", &["post"]),
        ("/api/v1/auth/password-reset", &["post"]),
        ("/api/v1/auth/password-reset/confirm", &["post"]),
        ("/api/v1/users/me", &["get", "patch", "delete"]),
        ("/api/v1/users/me/password", &["put"]),
        ("/api/v1/users", &["get"]),
        ("/api/v1/users/{id}", &["patch"]),
        ("/api/v1/events", &["get", "post"]),
        ("/api/v1/events/{id}", &["get", "patch", "delete"]),
        ("/health/live", &["get"]),
        ("/health/ready", &["get"]),
        ("/metrics", &["get"]),
    ] {
        let item = &doc["paths"][path];
        assert!(item.is_object(), "{path} missing from the OpenAPI document");
        for method in methods {
            assert!(item[*method].is_object(), "{method} {path} missing");
        }
    }
    assert!(
        doc["components"]["securitySchemes"]
            .as_object()
            .is_some_and(|s| !s.is_empty()),
        "no security scheme for the bearer token"
    );
}

crate::on_both_stores!(swagger_ui_is_served_from_the_binary, super::swagger_ui_body);
async fn swagger_ui_body(server: TestServer) {
    for path in ["/docs/", "/docs"] {
        let reply = raw(&server, "GET", path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(
            reply.content_type().starts_with("text/html"),
            "{path}: {}",
            reply.content_type()
        );
        let html = reply.body.as_str().expect("HTML");
        assert!(
            html.contains("swagger-ui"),
            "{path} is not Swagger UI:\n{html}"
        );
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "{path} loads assets from elsewhere:\n{html}"
        );
    }
    let bundle = raw(&server, "GET", "/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, 200);
    assert!(
        bundle.body.as_str().is_some_and(|js| js.len() > 10_000),
        "bundle too small"
    );
    let init = raw(&server, "GET", "/docs/swagger-initializer.js").await;
    assert_eq!(init.status, 200);
    assert!(
        init.body
            .as_str()
            .is_some_and(|js| js.contains("/api/openapi.json")),
        "Swagger UI does not load our document: {}",
        init.body
    );
}

crate::on_both_stores!(
    odd_requests_add_no_metric_series,
    super::odd_requests_add_no_metric_series_body
);
/// A flood of requests with made-up methods and paths adds no series to `/metrics`:
/// unknown methods count as `other`, unknown paths as `unmatched`.
async fn odd_requests_add_no_metric_series_body(server: TestServer) {
    let series = |text: &str| -> usize {
        text.lines()
            .filter(|l| !l.starts_with('#') && l.starts_with("http_request"))
            .count()
    };
    let odd = |i: usize| {
        let method = format!("BREW{i}");
        let path = match i % 3 {
            0 => "/api/v1/events".to_owned(),
            1 => format!("/nothing/{i}"),
            _ => format!("/api/v1/events/{}", uuid::Uuid::new_v4()),
        };
        (method, path)
    };
    for i in 0..3 {
        let (method, path) = odd(i);
        raw(&server, &method, &path).await;
    }
    let before = raw(&server, "GET", "/metrics").await;
    let before = series(before.body.as_str().expect("metrics text"));
    for i in 3..300 {
        let (method, path) = odd(i);
        let reply = raw(&server, &method, &path).await;
        assert!(
            matches!(reply.status, 404 | 405),
            "{method} {path}: {}",
            reply.status
        );
    }
    let after = raw(&server, "GET", "/metrics").await;
    let text = after.body.as_str().expect("metrics text");
    assert!(
        !text.contains("BREW"),
        "a made-up method became a label:\n{text}"
    );
    assert!(text.contains("method=\"other\""), "{text}");
    // Only the `/metrics` request itself may have added series (its own status line).
    assert!(
        series(text) <= before + 20,
        "{before} series became {}",
        series(text)
    );
}

crate::on_both_stores!(head_answers_like_get_without_a_body, super::head_body);
async fn head_body(server: TestServer) {
    for path in ["/api/v1/events", "/health/live", "/metrics"] {
        let get = raw(&server, "GET", path).await;
        let head = raw(&server, "HEAD", path).await;
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(
            head.body,
            serde_json::Value::Null,
            "HEAD {path} has no body"
        );
        assert_eq!(head.content_type(), get.content_type(), "HEAD {path}");
    }
    let reply = raw(&server, "PUT", "/api/v1/events").await;
    reply.problem(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("POST, GET, HEAD"));
}

crate::on_both_stores!(redoc_is_served_from_the_binary, super::redoc_body);
async fn redoc_body(server: TestServer) {
    let page = raw(&server, "GET", "/redoc").await;
    assert_eq!(page.status, 200);
    assert!(
        page.content_type().starts_with("text/html"),
        "{}",
        page.content_type()
    );
    let html = page.body.as_str().expect("html");
    assert!(html.contains(r#"spec-url="/api/openapi.json""#), "{html}");
    assert!(
        html.contains(r#"src="/redoc/redoc.standalone.js""#),
        "{html}"
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("worker-src 'self' blob:"), "{csp}");
    let script = raw(&server, "GET", "/redoc/redoc.standalone.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(script.content_type(), "application/javascript");
    let code = script.body.as_str().expect("javascript");
    assert!(
        code.len() > 500_000 && code.contains("Redoc"),
        "{} bytes",
        code.len()
    );
}
