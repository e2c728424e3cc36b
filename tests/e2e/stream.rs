//! `GET /events/{id}/availability/stream`: live availability as Server-Sent Events.

use crate::support::{book, create_event, event_body, organizer, send, text};
use boxoffice_e2e::TestServer;
use boxoffice_e2e::sse::{Frame, Frames};
use serde_json::json;
use std::time::{Duration, Instant};

fn stream_url(server: &TestServer, event: &str) -> String {
    server.url(&format!("/api/v1/events/{event}/availability/stream"))
}

fn available(frame: &Frame) -> u64 {
    frame.data["availability"]["available"]
        .as_u64()
        .expect("available")
}

crate::on_both_stores!(
    availability_streams_follow_bookings,
    super::availability_streams_follow_bookings_body
);
async fn availability_streams_follow_bookings_body(server: TestServer) {
    let (org, _) = organizer(&server, "org.stream@example.org").await;
    let created = create_event(
        &server,
        &org,
        event_body("Streamed", json!({"capacity": 5})),
    )
    .await;
    let id = text(&created, "id");
    let mut frames = Frames::open(&server.client, &stream_url(&server, &id)).await;
    let first = frames
        .next(Duration::from_secs(2))
        .await
        .expect("a first frame");
    assert_eq!(available(&first), 5);
    assert_eq!(first.data["event_id"], id.as_str());
    assert_eq!(first.data["ticket_types"][0]["available"], 5);

    let (ann, _) = server.attendee("ann.stream@example.org").await;
    book(&server, &ann, &id, json!({"quantity": 2}))
        .await
        .ok(201);
    let started = Instant::now();
    let next = frames.next(Duration::from_secs(3)).await.expect("a change");
    assert_eq!(available(&next), 3, "{:?}", next.data);
    assert_eq!(next.data["availability"]["sold"], 2);
    assert!(next.id > first.id, "ids follow the event's version");
    eprintln!("a booking reached the stream in {:?}", started.elapsed());

    // A second subscriber starts with the current figures.
    let mut late = Frames::open(&server.client, &stream_url(&server, &id)).await;
    let now = late
        .next(Duration::from_secs(2))
        .await
        .expect("a first frame");
    assert_eq!(available(&now), 3);

    let unknown = uuid::Uuid::new_v4();
    let path = format!("/api/v1/events/{unknown}/availability/stream");
    send(server.client.get(server.url(&path)))
        .await
        .problem(404, "not_found");
}

crate::on_both_stores!(
    streams_are_bounded_per_process,
    super::streams_are_bounded_per_process_body,
    env = [("SSE_MAX_STREAMS", "2")]
);
async fn streams_are_bounded_per_process_body(server: TestServer) {
    let (org, _) = organizer(&server, "org.bounded@example.org").await;
    let created = create_event(&server, &org, event_body("Bounded", json!({"capacity": 5}))).await;
    let id = text(&created, "id");
    let _one = Frames::open(&server.client, &stream_url(&server, &id)).await;
    let _two = Frames::open(&server.client, &stream_url(&server, &id)).await;
    let path = format!("/api/v1/events/{id}/availability/stream");
    let third = send(server.client.get(server.url(&path))).await;
    third.problem(503, "service_unavailable");
    assert_eq!(third.header("retry-after"), Some("1"));
}

/// SIGTERM ends open streams at once, so they do not hold the shutdown up, and while
/// the server still serves (`SHUTDOWN_DELAY_SECS`) a new stream is 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_end_when_the_server_stops() {
    let env = [("SHUTDOWN_DELAY_SECS", "2")];
    let Some(mut server) = TestServer::start_with(boxoffice_e2e::Backend::Sqlite, &env).await
    else {
        return;
    };
    let (org, _) = organizer(&server, "org.stop@example.org").await;
    let created = create_event(
        &server,
        &org,
        event_body("Stopping", json!({"capacity": 5})),
    )
    .await;
    let id = text(&created, "id");
    let mut frames = Frames::open(&server.client, &stream_url(&server, &id)).await;
    frames
        .next(Duration::from_secs(2))
        .await
        .expect("a first frame");
    let signalled = Instant::now();
    server.send_sigterm();
    let ended = frames.next(Duration::from_secs(2)).await;
    assert!(ended.is_none(), "the stream ends: {ended:?}");
    let late = send(server.client.get(stream_url(&server, &id))).await;
    late.problem(503, "service_unavailable");
    assert!(
        signalled.elapsed() < Duration::from_secs(2),
        "within the delay"
    );
    let status = server.wait_for_exit(Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?}"
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(6),
        "no stream held the stop up: {:?}",
        signalled.elapsed()
    );
}

/// 1,000 subscribers of one event on one process during a flash sale: each one's last
/// frame shows the final figures, and the server stays small.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_subscribers_see_a_flash_sale_end() {
    const SUBSCRIBERS: usize = 1000;
    const BUYERS: usize = 150;
    let Some(server) = TestServer::start(boxoffice_e2e::Backend::Postgres).await else {
        return;
    };
    let (org, _) = organizer(&server, "org.thousand@example.org").await;
    let body = event_body("Watched sale", json!({"capacity": 100}));
    let id = text(&create_event(&server, &org, body).await, "id");
    let buyers = crate::support::attendees(&server, "buyer.thousand.", BUYERS).await;
    let url = stream_url(&server, &id);
    let mut streams = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS / 100 {
        let opened = (0..100).map(|_| async {
            let mut frames = Frames::open(&server.client, &url).await;
            let first = frames
                .next(Duration::from_secs(10))
                .await
                .expect("a first frame");
            assert_eq!(available(&first), 100);
            frames
        });
        streams.extend(futures_util::future::join_all(opened).await);
    }
    let rss_idle = server.rss_kib().expect("running");

    let sale = buyers.iter().map(|(token, _)| {
        let (server, id) = (&server, &id);
        async move {
            let reply = book(server, token, id, json!({"quantity": 1})).await;
            assert!(
                reply.status == 201 || reply.status == 202,
                "{:?}",
                reply.body
            );
        }
    });
    futures_util::future::join_all(sale).await;
    let last = crate::support::event(&server, &id).await["availability"].clone();
    assert_eq!(last["sold"], 100);

    let started = Instant::now();
    let watched = streams.iter_mut().map(|frames| {
        let last = &last;
        async move {
            loop {
                let frame = frames.next(Duration::from_secs(10)).await.expect("frames");
                if frame.data["availability"] == *last {
                    return;
                }
            }
        }
    });
    futures_util::future::join_all(watched).await;
    let rss = server.rss_kib().expect("running");
    eprintln!(
        "{SUBSCRIBERS} subscribers saw the final figures {:?} after the sale; server RSS {} MiB with them idle, {} MiB after the sale",
        started.elapsed(),
        rss_idle / 1024,
        rss / 1024
    );
    assert!(rss < 200 * 1024, "RSS {rss} KiB");
}
