//! Rate limits: auth requests per client address, logins per email, writes per user;
//! 429 `rate_limited` with `Retry-After` that changes nothing; reads never limited;
//! counters shared through Redis by servers on one database; a failing limiter lets
//! requests through.

use crate::support::{
    Reply, api, assert_seats, attendee, book, create_event, event_body, get, hold, me, my_bookings,
    organizer, send, text,
};
use boxoffice_e2e::{Backend, TestServer};
use boxoffice_store_postgres::testing::TestDatabase;
use boxoffice_store_redis::testing::TestRedis;
use serde_json::{Value, json};
use std::time::Duration;

/// A request to `/api/v1{path}` that a trusting proxy says came from `client`.
async fn from(
    server: &TestServer,
    client: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = server
        .client
        .request(method, server.url(&format!("/api/v1{path}")))
        .header("X-Forwarded-For", client);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

async fn login_from(server: &TestServer, client: &str, email: &str, password: &str) -> Reply {
    let body = json!({"email": email, "password": password});
    from(server, client, "POST", "/auth/login", Some(body)).await
}

async fn register_from(server: &TestServer, client: &str, email: &str) -> Reply {
    let body = json!({"name": "Limited", "email": email, "password": "password123"});
    from(server, client, "POST", "/auth/register", Some(body)).await
}

/// Asserts 429 `rate_limited` with a `Retry-After` of 1 to `window_secs` seconds.
#[track_caller]
fn assert_limited(reply: &Reply, window_secs: u64) {
    reply.problem(429, "rate_limited");
    let retry_after: u64 = reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {}", reply.body))
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (1..=window_secs).contains(&retry_after),
        "Retry-After {retry_after} outside 1..={window_secs}"
    );
}

/// Asserts a `RateLimit` header for `rule` with `remaining` hits left and a reset
/// within the minute.
#[track_caller]
fn assert_quota(reply: &Reply, rule: &str, remaining: u32) {
    let header = reply
        .header("ratelimit")
        .unwrap_or_else(|| panic!("no RateLimit header: {}", reply.body));
    let prefix = format!("\"{rule}\";r={remaining};t=");
    let reset: u64 = header
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("RateLimit {header:?} is not {prefix}..."))
        .parse()
        .expect("t in seconds");
    assert!((1..=60).contains(&reset), "{header}");
}

crate::on_both_stores!(
    auth_requests_are_limited_per_client_address,
    super::auth_per_address_body,
    env = [
        ("RATE_LIMIT_AUTH_PER_MINUTE", "3"),
        ("TRUSTED_PROXY_HOPS", "1")
    ]
);
async fn auth_per_address_body(server: TestServer) {
    let (limited, other) = ("203.0.113.7", "198.51.100.2");
    let registered = register_from(&server, limited, "ann.rl@example.org").await;
    registered.ok(201);
    // Each counted answer says where the client stands (the IETF draft's headers).
    assert_eq!(
        registered.header("ratelimit-policy"),
        Some("\"auth\";q=3;w=60")
    );
    assert_quota(&registered, "auth", 2);
    let refused = login_from(&server, limited, "ann.rl@example.org", "wrong-password").await;
    refused.problem(401, "invalid_credentials");
    assert_quota(&refused, "auth", 1);
    let logged_in = login_from(&server, limited, "ann.rl@example.org", "password123").await;
    logged_in.ok(200);
    assert_quota(&logged_in, "auth", 0);

    // The fourth auth request of the minute is refused, whatever the endpoint, and
    // an entry the client put before the proxy's own changes nothing.
    let refused = register_from(&server, limited, "carl.rl@example.org").await;
    assert_limited(&refused, 60);
    assert_quota(&refused, "auth", 0);
    let spoofed = from(
        &server,
        &format!("192.0.2.99, {limited}"),
        "POST",
        "/auth/password-reset",
        Some(json!({"email": "ann.rl@example.org"})),
    )
    .await;
    assert_limited(&spoofed, 60);
    assert_limited(
        &login_from(&server, limited, "ann.rl@example.org", "password123").await,
        60,
    );

    // The refused registration made no account; another address is not limited.
    login_from(&server, other, "carl.rl@example.org", "password123")
        .await
        .problem(401, "invalid_credentials");
    register_from(&server, other, "carl.rl@example.org")
        .await
        .ok(201);
    login_from(&server, other, "carl.rl@example.org", "password123")
        .await
        .ok(200);

    // Reads from the limited address, health, metrics and docs are never limited.
    for _ in 0..5 {
        from(&server, limited, "GET", "/events", None).await.ok(200);
    }
    for path in ["/health/live", "/metrics", "/api/openapi.json"] {
        let reply = send(
            server
                .client
                .get(server.url(path))
                .header("X-Forwarded-For", limited),
        )
        .await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    let metrics = send(server.client.get(server.url("/metrics"))).await;
    let metrics = metrics.body.as_str().expect("metrics text");
    assert!(
        metrics.contains(r#"boxoffice_rate_limited_total{rule="auth"} 3"#),
        "{metrics}"
    );
}

/// Without `TRUSTED_PROXY_HOPS`, `X-Forwarded-For` is the client's word: ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forwarded_for_is_ignored_unless_proxies_are_trusted() {
    let env = [("RATE_LIMIT_AUTH_PER_MINUTE", "2")];
    let Some(server) = TestServer::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    for client in ["203.0.113.1", "203.0.113.2"] {
        login_from(&server, client, "nobody@example.org", "password123")
            .await
            .problem(401, "invalid_credentials");
    }
    let reply = login_from(&server, "203.0.113.3", "nobody@example.org", "password123").await;
    assert_limited(&reply, 60);
}

crate::on_both_stores!(
    logins_are_limited_per_email,
    super::login_per_email_body,
    env = [
        ("RATE_LIMIT_LOGIN_PER_EMAIL_PER_HOUR", "3"),
        ("TRUSTED_PROXY_HOPS", "1")
    ]
);
async fn login_per_email_body(server: TestServer) {
    attendee(&server, "ann.guess@example.org").await; // the first login of the hour
    attendee(&server, "bob.guess@example.org").await;
    for client in ["203.0.113.1", "203.0.113.2"] {
        login_from(&server, client, "ann.guess@example.org", "guess-123")
            .await
            .problem(401, "invalid_credentials");
    }
    // From yet another address, in another case, with the right password: refused,
    // and no session starts.
    let reply = login_from(
        &server,
        "203.0.113.3",
        " ANN.guess@example.org",
        "password123",
    )
    .await;
    assert_limited(&reply, 3600);
    assert!(reply.body.get("access_token").is_none(), "{}", reply.body);

    login_from(
        &server,
        "203.0.113.3",
        "bob.guess@example.org",
        "password123",
    )
    .await
    .ok(200);
}

crate::on_both_stores!(
    writes_are_limited_per_user,
    super::writes_per_user_body,
    env = [("RATE_LIMIT_WRITES_PER_MINUTE", "3")]
);
async fn writes_per_user_body(server: TestServer) {
    let (olga, _) = organizer(&server, "olga.rl@example.org").await;
    let (ann, _) = attendee(&server, "ann.writes@example.org").await;
    let (bob, _) = attendee(&server, "bob.writes@example.org").await;
    let created = create_event(
        &server,
        &olga,
        event_body("Limited", json!({"capacity": 10})),
    )
    .await;
    let id = text(&created, "id");

    // Three writes of Ann's: a hold, its release, a booking.
    let held = hold(&server, &ann, &id, json!({"quantity": 2})).await;
    let hold_id = text(held.ok(201), "id");
    api(
        &server,
        "DELETE",
        &format!("/holds/{hold_id}"),
        Some(&ann),
        None,
    )
    .await
    .empty(204);
    book(&server, &ann, &id, json!({"quantity": 1}))
        .await
        .ok(201);

    // The fourth is refused and books nothing; so is any other write of hers.
    assert_limited(&book(&server, &ann, &id, json!({"quantity": 1})).await, 60);
    assert_limited(
        &api(
            &server,
            "PATCH",
            "/users/me",
            Some(&ann),
            Some(json!({"name": "Annie"})),
        )
        .await,
        60,
    );
    assert_seats(&server, &id, 10, 1, 0, 0, "after the refused booking").await;
    assert_eq!(my_bookings(&server, &ann, "").await.len(), 1);
    assert_eq!(text(me(&server, &ann).await.ok(200), "name"), "Test User");

    // Her reads go on; other users (from the same address) are not limited.
    for _ in 0..5 {
        get(&server, &format!("/events/{id}"), Some(&ann))
            .await
            .ok(200);
    }
    book(&server, &bob, &id, json!({"quantity": 2}))
        .await
        .ok(201);
    api(
        &server,
        "PATCH",
        &format!("/events/{id}"),
        Some(&olga),
        Some(json!({"venue": "Hall B"})),
    )
    .await
    .ok(200);
    assert_seats(&server, &id, 10, 3, 0, 0, "after Bob's booking").await;

    // Writes without a valid token count per client address.
    for token in [None, Some("not-a-token"), None] {
        api(
            &server,
            "POST",
            "/events",
            token,
            Some(event_body("Anon", json!({}))),
        )
        .await
        .problem(401, "unauthorized");
    }
    assert_limited(
        &api(
            &server,
            "POST",
            "/events",
            Some("forged"),
            Some(event_body("Anon", json!({}))),
        )
        .await,
        60,
    );
}

/// Two servers on one database and one Redis: a hit on either counts on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_sharing_redis_share_their_limits() {
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let env = [
        ("REDIS_URL", redis.url()),
        ("REDIS_KEY_PREFIX", redis.prefix()),
        ("RATE_LIMIT_WRITES_PER_MINUTE", "4"),
        ("RATE_LIMIT_AUTH_PER_MINUTE", "3"),
        ("TRUSTED_PROXY_HOPS", "1"),
    ];
    let mut a = TestServer::start_on(database.url(), &env).await;
    let b = TestServer::start_on(database.url(), &env).await;
    a.wait_for_log(Duration::from_secs(5), |line| {
        (line["message"] == "rate-limit counters are shared in Redis").then_some(())
    })
    .await;

    // Auth requests from one address, spread over both servers.
    let client = "192.0.2.10";
    register_from(&a, client, "ann.shared@example.org")
        .await
        .ok(201);
    register_from(&b, client, "bob.shared@example.org")
        .await
        .ok(201);
    login_from(&a, client, "ann.shared@example.org", "wrong-password")
        .await
        .problem(401, "invalid_credentials");
    for server in [&a, &b] {
        let reply = login_from(server, client, "ann.shared@example.org", "password123").await;
        assert_limited(&reply, 60);
    }

    // Writes of one user, spread over both servers (logins come from 127.0.0.1).
    let (olga, _) = organizer(&a, "olga.shared@example.org").await;
    let ann = b.login("ann.shared@example.org", "password123").await;
    let bob = a.login("bob.shared@example.org", "password123").await;
    let created = create_event(&a, &olga, event_body("Shared", json!({"capacity": 10}))).await;
    let id = text(&created, "id");
    for (n, server) in [&a, &b, &a, &b].into_iter().enumerate() {
        let reply = book(server, &ann, &id, json!({"quantity": 1})).await;
        assert_eq!(reply.status, 201, "booking {n}: {}", reply.body);
    }
    for server in [&a, &b] {
        assert_limited(&book(server, &ann, &id, json!({"quantity": 1})).await, 60);
    }
    book(&b, &bob, &id, json!({"quantity": 1})).await.ok(201);
    assert_seats(&a, &id, 10, 5, 0, 0, "after the refused bookings").await;
}

/// With the limiter's Redis unreachable, requests go through and the log says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_limiter_lets_requests_through() {
    let env = [
        ("REDIS_URL", "redis://127.0.0.1:1"),
        ("RATE_LIMIT_AUTH_PER_MINUTE", "1"),
        ("RATE_LIMIT_WRITES_PER_MINUTE", "1"),
    ];
    let Some(mut server) = TestServer::start_with(Backend::Sqlite, &env).await else {
        return;
    };
    let (token, _) = attendee(&server, "ann.open@example.org").await;
    for name in ["Ann", "Annie"] {
        api(
            &server,
            "PATCH",
            "/users/me",
            Some(&token),
            Some(json!({"name": name})),
        )
        .await
        .ok(200);
    }
    server
        .wait_for_log(Duration::from_secs(5), |line| {
            (line["level"] == "WARN"
                && line["message"] == "rate limiter failed; letting the request through")
                .then_some(())
        })
        .await;
}
