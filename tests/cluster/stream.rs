//! Live availability streams across processes: a change made through one server reaches
//! the streams of every server.

use crate::support::{create_event, text};
use boxoffice_e2e::cluster::{Cluster, Request};
use boxoffice_e2e::sse::Frames;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_booking_on_one_server_reaches_the_streams_of_every_server() {
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let client = cluster.client();
    let organizer = cluster.organizer("stream.organizer@example.org").await;
    let ann = client.attendee("stream.ann@example.org").await;
    let event = create_event(
        &client,
        &organizer,
        json!({"name": "Streams", "capacity": 10}),
    )
    .await;
    let id = text(&event, "id");
    let path = format!("/api/v1/events/{id}/availability/stream");
    let http = reqwest::Client::new();
    let mut streams = Vec::new();
    for i in 0..cluster.len() {
        let mut frames = Frames::open(&http, &cluster.server(i).url(&path)).await;
        let first = frames
            .next(Duration::from_secs(5))
            .await
            .expect("a first frame");
        assert_eq!(first.data["availability"]["available"], 10);
        streams.push(frames);
    }
    for round in 0..3_u64 {
        let booked = client
            .send(
                Request::post(&format!("/events/{id}/bookings"), json!({"quantity": 1}))
                    .token(&ann.token)
                    .on(usize::try_from(round).expect("small")),
            )
            .await
            .reply();
        assert_eq!(booked.status, 201, "{booked}");
        let answered = Instant::now();
        for (i, frames) in streams.iter_mut().enumerate() {
            let frame = frames.next(Duration::from_secs(3)).await.expect("a change");
            assert_eq!(frame.data["availability"]["sold"], round + 1, "server {i}");
            eprintln!(
                "booking {round} (answered by server {round}) reached the stream of server {i} {:?} after its answer",
                answered.elapsed()
            );
        }
        assert!(
            answered.elapsed() < Duration::from_secs(1),
            "every stream within a second of the answer: {:?}",
            answered.elapsed()
        );
    }
}
