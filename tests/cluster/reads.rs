//! Event reads served from memory stay exact across processes: once one server has
//! answered a write, every server's next read of the event shows it, whatever kind of
//! write it was, and a flushed or stopped Redis makes reads slower, never stale.

use crate::support::{assert_seats, book, create_event, text};
use boxoffice_e2e::cluster::{Cluster, ClusterClient, Request, User};
use serde_json::{Value, json};
use std::time::Duration;

const ALL: [usize; 3] = [0, 1, 2];

/// Sends `request` as `user` to server `server` and asserts its status; the body.
async fn call(
    client: &ClusterClient,
    user: &User,
    request: Request,
    server: usize,
    status: u16,
) -> Value {
    let reply = client
        .send(request.token(&user.token).on(server))
        .await
        .reply();
    assert_eq!(reply.status, status, "{reply}");
    reply.body
}

/// `GET /events/{id}` on every server: each shows `field` as `value`.
async fn assert_field(client: &ClusterClient, id: &str, field: &str, value: &Value, context: &str) {
    for i in ALL {
        let reply = client
            .send(Request::get(&format!("/events/{id}")).on(i))
            .await
            .reply();
        assert_eq!(
            &reply.ok(200)[field],
            value,
            "{field} {context}, on server {i}"
        );
    }
}

/// `GET /events` on every server lists event `id` with these seat figures
/// (`[capacity, sold, held, waitlist_count]`), or not at all when `None`.
async fn assert_listed(client: &ClusterClient, id: &str, seats: Option<[u64; 4]>, context: &str) {
    for i in ALL {
        let reply = client
            .send(Request::get("/events?limit=100").on(i))
            .await
            .reply();
        let items = reply.ok(200)["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let listed = items.iter().find(|e| e["id"] == id);
        let figures = listed.map(|e| {
            let a = &e["availability"];
            ["capacity", "sold", "held", "waitlist_count"]
                .map(|f| a[f].as_u64().unwrap_or(u64::MAX))
        });
        assert_eq!(figures, seats, "listing {context}, on server {i}");
    }
}

/// The event and the listing show these figures on every server.
async fn assert_everywhere(client: &ClusterClient, id: &str, seats: [u64; 4], context: &str) {
    assert_seats(client, &ALL, id, seats, context).await;
    assert_listed(client, id, Some(seats), context).await;
}

/// How many reads server `i` answered from memory, from its `/metrics` counter
/// `metric`.
async fn reads_from_memory(client: &ClusterClient, i: usize, metric: &str) -> u64 {
    let reply = client
        .send(Request::ops_get("/metrics").on(i))
        .await
        .reply();
    let text = reply.body.as_str().unwrap_or_default().to_owned();
    let series = format!("{metric}{{");
    text.lines()
        .find(|l| l.starts_with(&series) && l.contains("source=\"memory\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// Every kind of write, each answered by one server, shows at once on all three, while
/// the servers answer repeated reads from memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_write_shows_at_once_on_every_server() {
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let client = cluster.client();
    let organizer = cluster.organizer("reads.organizer@example.org").await;
    let ann = client.attendee("reads.ann@example.org").await;
    let bob = client.attendee("reads.bob@example.org").await;
    let cat = client.attendee("reads.cat@example.org").await;
    let event = create_event(&client, &organizer, json!({"name": "Reads", "capacity": 4})).await;
    let id = text(&event, "id");
    let (holds, waitlist) = (
        format!("/events/{id}/holds"),
        format!("/events/{id}/waitlist"),
    );
    for round in 0..3 {
        assert_everywhere(&client, &id, [4, 0, 0, 0], &format!("new, read {round}")).await;
    }

    let hold = call(
        &client,
        &ann,
        Request::post(&holds, json!({"quantity": 1})),
        0,
        201,
    )
    .await;
    assert_everywhere(&client, &id, [4, 0, 1, 0], "after a hold on server 0").await;
    let path = format!("/holds/{}", text(&hold, "id"));
    call(&client, &ann, Request::delete(&path), 1, 204).await;
    assert_everywhere(&client, &id, [4, 0, 0, 0], "after a release on server 1").await;
    let hold = call(
        &client,
        &ann,
        Request::post(&holds, json!({"quantity": 1})),
        2,
        201,
    )
    .await;
    let path = format!("/holds/{}/confirm", text(&hold, "id"));
    call(&client, &ann, Request::post_empty(&path), 2, 201).await;
    assert_everywhere(
        &client,
        &id,
        [4, 1, 0, 0],
        "after a confirmation on server 2",
    )
    .await;
    let booked = book(&client, &bob, &id, json!({"quantity": 3}), Some(0)).await;
    let booking = text(&booked.ok(201)["booking"], "id");
    assert_everywhere(&client, &id, [4, 4, 0, 0], "after a booking on server 0").await;
    let queued = book(&client, &cat, &id, json!({"quantity": 1}), Some(1)).await;
    let entry = text(&queued.ok(202)["waitlist_entry"], "id");
    assert_everywhere(&client, &id, [4, 4, 0, 1], "after queueing on server 1").await;
    call(
        &client,
        &cat,
        Request::delete(&format!("/waitlist/{entry}")),
        2,
        204,
    )
    .await;
    assert_everywhere(&client, &id, [4, 4, 0, 0], "after leaving on server 2").await;
    call(
        &client,
        &cat,
        Request::post(&waitlist, json!({"quantity": 1})),
        0,
        201,
    )
    .await;
    assert_everywhere(&client, &id, [4, 4, 0, 1], "after joining on server 0").await;
    let cancel = Request::post(
        &format!("/bookings/{booking}/cancel"),
        json!({"quantity": 1}),
    );
    call(&client, &bob, cancel, 1, 200).await;
    assert_everywhere(
        &client,
        &id,
        [4, 4, 0, 0],
        "after a partial cancellation promoted",
    )
    .await;
    let cancel = Request::post_empty(&format!("/bookings/{booking}/cancel"));
    call(&client, &bob, cancel, 2, 200).await;
    assert_everywhere(
        &client,
        &id,
        [4, 2, 0, 0],
        "after a cancellation on server 2",
    )
    .await;
    let event_path = format!("/events/{id}");
    call(
        &client,
        &organizer,
        Request::patch(&event_path, json!({"capacity": 6})),
        0,
        200,
    )
    .await;
    assert_everywhere(
        &client,
        &id,
        [6, 2, 0, 0],
        "after a capacity change on server 0",
    )
    .await;
    call(
        &client,
        &organizer,
        Request::patch(&event_path, json!({"name": "Reads Live"})),
        1,
        200,
    )
    .await;
    assert_field(
        &client,
        &id,
        "name",
        &json!("Reads Live"),
        "after a rename on server 1",
    )
    .await;
    call(&client, &organizer, Request::delete(&event_path), 2, 204).await;
    assert_field(
        &client,
        &id,
        "status",
        &json!("cancelled"),
        "after cancelling on server 2",
    )
    .await;
    assert_seats(
        &client,
        &ALL,
        &id,
        [6, 0, 0, 0],
        "after cancelling on server 2",
    )
    .await;
    assert_listed(&client, &id, None, "after cancelling on server 2").await;

    for i in ALL {
        let memory = reads_from_memory(&client, i, "boxoffice_event_reads_total").await;
        assert!(memory > 0, "server {i} answered no event read from memory");
        let memory = reads_from_memory(&client, i, "boxoffice_event_listings_total").await;
        assert!(memory > 0, "server {i} answered no listing from memory");
    }
}

/// A hold that has just ended stops counting at once on every server, though each kept
/// a copy of the event that counted it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ended_hold_stops_counting_at_once_on_every_server() {
    let Some(cluster) = Cluster::start(3, &[("HOLD_TTL_SECS", "1")]).await else {
        return;
    };
    let client = cluster.client();
    let organizer = cluster
        .organizer("reads.expiry.organizer@example.org")
        .await;
    let ann = client.attendee("reads.expiry.ann@example.org").await;
    let event = create_event(&client, &organizer, json!({"capacity": 5})).await;
    let id = text(&event, "id");
    let holds = format!("/events/{id}/holds");
    let hold = call(
        &client,
        &ann,
        Request::post(&holds, json!({"quantity": 2})),
        0,
        201,
    )
    .await;
    let seen = std::time::Instant::now();
    for i in ALL {
        let reply = client
            .send(Request::get(&format!("/events/{id}")).on(i))
            .await
            .reply();
        if seen.elapsed() < Duration::from_millis(900) {
            assert_eq!(
                reply.ok(200)["availability"]["held"],
                json!(2),
                "on server {i}"
            );
        }
    }
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(&text(&hold, "expires_at")).expect("expires_at");
    let left = (expires_at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(20)).await;
    assert_seats(&client, &ALL, &id, [5, 0, 0, 0], "once the hold ended").await;
}

/// Redis flushed, then stopped, then started empty: every read stays exact (the servers
/// read Postgres while the versions are unknown); writes fail with 503 while Redis is
/// down, and show everywhere at once again after it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_stay_exact_when_redis_forgets_or_fails() {
    let Some(mut cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let client = cluster.client();
    let organizer = cluster.organizer("reads.redis.organizer@example.org").await;
    let ann = client.attendee("reads.redis.ann@example.org").await;
    let event = create_event(&client, &organizer, json!({"capacity": 10})).await;
    let id = text(&event, "id");
    book(&client, &ann, &id, json!({"quantity": 1}), Some(0))
        .await
        .ok(201);
    for round in 0..2 {
        assert_everywhere(&client, &id, [10, 1, 0, 0], &format!("warm, read {round}")).await;
    }

    cluster.redis().flushall().await;
    assert_everywhere(&client, &id, [10, 1, 0, 0], "after FLUSHALL").await;
    book(&client, &ann, &id, json!({"quantity": 1}), Some(1))
        .await
        .ok(201);
    assert_everywhere(&client, &id, [10, 2, 0, 0], "after a booking once flushed").await;

    cluster.redis_mut().stop();
    assert_everywhere(&client, &id, [10, 2, 0, 0], "while Redis is down").await;
    let refused = book(&client, &ann, &id, json!({"quantity": 1}), Some(2)).await;
    assert!(
        refused.is_unavailable(),
        "a booking while Redis is down: {refused}"
    );
    assert_everywhere(&client, &id, [10, 2, 0, 0], "after the refused booking").await;

    cluster.redis_mut().start_again().await;
    assert_everywhere(&client, &id, [10, 2, 0, 0], "Redis back, empty").await;
    book(&client, &ann, &id, json!({"quantity": 1}), Some(2))
        .await
        .ok(201);
    for round in 0..2 {
        assert_everywhere(
            &client,
            &id,
            [10, 3, 0, 0],
            &format!("Redis back, read {round}"),
        )
        .await;
    }
}

/// `ETag` and `If-None-Match`: a server answers 304 for the tag of the current answer,
/// whichever server gave it, and 200 with a new tag once the event changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn if_none_match_answers_304_until_the_event_changes() {
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let client = cluster.client();
    let organizer = cluster.organizer("reads.etag.organizer@example.org").await;
    let ann = client.attendee("reads.etag.ann@example.org").await;
    let event = create_event(&client, &organizer, json!({"capacity": 10})).await;
    let id = text(&event, "id");
    let path = format!("/events/{id}");
    let first = client.send(Request::get(&path).on(0)).await.reply();
    let tag = first.etag.clone().expect("an ETag");
    for i in ALL {
        let again = client
            .send(Request::get(&path).header("If-None-Match", &tag).on(i))
            .await
            .reply();
        assert_eq!(
            (again.status, again.etag.as_deref()),
            (304, Some(tag.as_str())),
            "{again}"
        );
        assert_eq!(again.body, Value::Null, "a 304 has no body");
    }
    book(&client, &ann, &id, json!({"quantity": 1}), Some(1))
        .await
        .ok(201);
    for i in ALL {
        let changed = client
            .send(Request::get(&path).header("If-None-Match", &tag).on(i))
            .await
            .reply();
        assert_eq!(
            changed.ok(200)["availability"]["sold"],
            json!(1),
            "on server {i}"
        );
        assert_ne!(
            changed.etag.as_deref(),
            Some(tag.as_str()),
            "a changed event has a new tag"
        );
    }
}

/// Requests authenticate against accounts kept in memory, yet a profile change made
/// through one server shows at once on the others, and an account deactivated through
/// one server is refused at once by all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn account_changes_show_at_once_on_every_server() {
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let client = cluster.client();
    let ann = client.attendee("reads.account.ann@example.org").await;
    for round in 0..2 {
        for i in ALL {
            let me = call(&client, &ann, Request::get("/users/me"), i, 200).await;
            assert_eq!(me["active"], json!(true), "read {round} on server {i}");
        }
    }
    let rename = Request::patch("/users/me", json!({"name": "Ann Renamed"}));
    call(&client, &ann, rename, 1, 200).await;
    for i in ALL {
        let me = call(&client, &ann, Request::get("/users/me"), i, 200).await;
        assert_eq!(me["name"], json!("Ann Renamed"), "on server {i}");
    }
    call(&client, &ann, Request::delete("/users/me"), 2, 204).await;
    for i in ALL {
        let reply = client
            .send(Request::get("/users/me").token(&ann.token).on(i))
            .await
            .reply();
        reply.problem(401, "unauthorized");
    }
}

/// A password changed through one server ends every access token issued before it, on
/// every server at once; a login right after the change works everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_ends_older_access_tokens_on_every_server() {
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let client = cluster.client();
    let email = "reads.password.bea@example.org";
    let bea = client.attendee(email).await;
    for i in ALL {
        call(&client, &bea, Request::get("/users/me"), i, 200).await;
    }
    let change = Request::new(reqwest::Method::PUT, "/api/v1/users/me/password")
        .body(json!({"current_password": "password123", "new_password": "password456"}));
    let changed = client.send(change.token(&bea.token).on(0)).await.reply();
    assert_eq!(changed.status, 204, "{changed}");
    for i in ALL {
        let reply = client
            .send(Request::get("/users/me").token(&bea.token).on(i))
            .await
            .reply();
        reply.problem(401, "unauthorized");
    }
    let login = Request::post(
        "/auth/login",
        json!({"email": email, "password": "password456"}),
    );
    let tokens = client.send(login.on(1)).await.reply();
    let fresh = User {
        token: tokens.ok(200)["access_token"]
            .as_str()
            .expect("access token")
            .to_owned(),
        id: bea.id.clone(),
    };
    for i in ALL {
        call(&client, &fresh, Request::get("/users/me"), i, 200).await;
    }
}
