//! Tickets across processes: a code checks in at most once whichever servers its scans
//! reach, and a scanner token made on one server works on every other.

use crate::support::{book, create_event, text};
use boxoffice_e2e::cluster::{Cluster, Request};
use futures_util::future::join_all;
use serde_json::json;

/// 51 scans of one code, 17 to each of 3 servers at once: exactly one 200; every 409
/// names that check-in. The token that scans was made on server 0 and revoked there;
/// the others refuse it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_checks_in_once_across_processes() {
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let client = cluster.client();
    let organizer = cluster.organizer("door.organizer@example.org").await;
    let ann = client.attendee("door.ann@example.org").await;
    let event = create_event(&client, &organizer, json!({"name": "Door", "capacity": 10})).await;
    let id = text(&event, "id");
    let reply = book(&client, &ann, &id, json!({"quantity": 2}), Some(1)).await;
    let booking = text(&reply.ok(201)["booking"], "id");
    let tickets = client
        .send(
            Request::get(&format!("/bookings/{booking}/tickets"))
                .token(&ann.token)
                .on(2),
        )
        .await
        .reply();
    let code = text(&tickets.ok(200)["items"][0], "code");
    let made = client
        .send(
            Request::post(
                "/api-tokens",
                json!({"name": "Gate", "scopes": ["checkin"], "event_ids": [id]}),
            )
            .token(&organizer.token)
            .on(0),
        )
        .await
        .reply();
    let scanner = text(made.ok(201), "token");

    let replies = join_all((0..51).map(|i| {
        let client = client.clone();
        let request = Request::post(&format!("/events/{id}/check-ins"), json!({"code": code}))
            .token(&scanner)
            .on(i % 3);
        async move { client.send(request).await.reply() }
    }))
    .await;
    let admitted: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(admitted.len(), 1, "one check-in across the cluster");
    let first = admitted[0].ok(200)["check_in"].clone();
    for reply in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(reply.problem(409, "already_checked_in")["check_in"], first);
    }

    let token_id = text(&made.ok(201)["api_token"], "id");
    let revoked = client
        .send(
            Request::delete(&format!("/api-tokens/{token_id}"))
                .token(&organizer.token)
                .on(0),
        )
        .await
        .reply();
    assert_eq!(revoked.status, 204);
    let second = text(&tickets.ok(200)["items"][1], "code");
    for server in 0..3 {
        let reply = client
            .send(
                Request::post(&format!("/events/{id}/check-ins"), json!({"code": second}))
                    .token(&scanner)
                    .on(server),
            )
            .await
            .reply();
        reply.problem(401, "unauthorized");
    }
}
