//! Invariant 4 across processes: one `Idempotency-Key` sent to every server at once
//! books once.

use crate::support::{assert_seats, book, bookings_of, create_event, text};
use boxoffice_e2e::cluster::{Cluster, Reply, Request, User};
use futures_util::future::join_all;
use serde_json::{Value, json};

/// Sends `body` with `key` as `copies` requests to each of the 3 servers at once.
async fn burst(
    cluster: &Cluster,
    user: &User,
    event_id: &str,
    body: &Value,
    key: &str,
    copies: usize,
) -> Vec<Reply> {
    let client = cluster.client();
    join_all((0..3 * copies).map(|i| {
        let client = client.clone();
        let request = Request::post(&format!("/events/{event_id}/bookings"), body.clone())
            .token(&user.token)
            .header("Idempotency-Key", key)
            .on(i % 3);
        async move { client.send(request).await.reply() }
    }))
    .await
}

/// Four rounds of 12 concurrent requests with one key (4 to each server) each book
/// once and all answer that booking; on a sold-out event, 12 with one key queue once
/// and all answer that entry; the key with another body is refused by every server.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_books_once_across_processes() {
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let client = cluster.client();
    let organizer = cluster.organizer("keys.organizer@example.org").await;
    let ann = client.attendee("keys.ann@example.org").await;
    let bob = client.attendee("keys.bob@example.org").await;
    let event = create_event(&client, &organizer, json!({"name": "Keys", "capacity": 30})).await;
    let id = text(&event, "id");

    let body = json!({"quantity": 2});
    for round in 0..4_u64 {
        let key = format!("burst-{round}");
        let replies = burst(&cluster, &ann, &id, &body, &key, 4).await;
        let first = &replies[0];
        let booking = &first.ok(201)["booking"];
        assert_eq!(
            (&booking["quantity"], &booking["status"]),
            (&json!(2), &json!("confirmed")),
            "{first}"
        );
        for reply in &replies {
            assert_eq!(
                reply.ok(201)["booking"]["id"],
                booking["id"],
                "one booking for one key, whichever server answers: {reply}"
            );
        }
        let sold = 2 * (round + 1);
        assert_seats(
            &client,
            &[0, 1, 2],
            &id,
            [30, sold, 0, 0],
            &format!("after burst {round}"),
        )
        .await;
    }
    assert_eq!(bookings_of(&client, &ann).await.len(), 4);

    // Sold out: Bob queues once.
    let full = create_event(
        &client,
        &organizer,
        json!({"name": "Keys Full", "capacity": 1}),
    )
    .await;
    let full_id = text(&full, "id");
    book(&client, &ann, &full_id, json!({"quantity": 1}), None)
        .await
        .ok(201);
    let replies = burst(
        &cluster,
        &bob,
        &full_id,
        &json!({"quantity": 1}),
        "queue-burst",
        4,
    )
    .await;
    let entry = &replies[0].ok(202)["waitlist_entry"];
    for reply in &replies {
        let outcome = reply.ok(202);
        assert_eq!(outcome["booking"], Value::Null, "{reply}");
        assert_eq!(
            outcome["waitlist_entry"]["id"], entry["id"],
            "one entry for one key: {reply}"
        );
    }
    assert_seats(
        &client,
        &[0, 1, 2],
        &full_id,
        [1, 1, 0, 1],
        "after the queue burst",
    )
    .await;

    // The same key with another body, on every server.
    for server in 0..3 {
        let request = Request::post(&format!("/events/{id}/bookings"), json!({"quantity": 3}))
            .token(&ann.token)
            .header("Idempotency-Key", "burst-0")
            .on(server);
        client
            .send(request)
            .await
            .reply()
            .problem(422, "idempotency_key_reused");
    }
    assert_seats(
        &client,
        &[0, 1, 2],
        &id,
        [30, 8, 0, 0],
        "after the reused keys",
    )
    .await;
}
