//! Graceful shutdown under load: SIGTERM while many clients book. The server must stop
//! taking connections, finish every request it took, stop its sweeper and exit 0
//! within `SHUTDOWN_TIMEOUT_SECS`; and every booking a client was told about must be
//! there when a new server starts on the same database.
//!
//! How the clients tell "the server took my request" from "it never did". Some
//! connections are closed without an answer during any shutdown, through no fault of
//! the drain: the kernel resets connections still waiting in the listen backlog when
//! the listener closes, and actix closes idle keep-alive connections and connections it
//! accepted but had not read a request from yet. A client cannot tell such a close from
//! a request cut in the middle. A pooled keep-alive connection would make this worse: a
//! request sent on it just as the server closes it looks exactly like a reset. So each
//! request here opens a connection of its own (`Connection: close`) and sends
//! `Expect: 100-continue`, waiting for the server's `100 Continue` before it sends the
//! body. actix answers 100 only when it starts handling the request, so a connection
//! closed before that proves the request was never taken (nothing was booked; the test
//! checks that too), and one closed after it is a request cut: a failure.

use crate::support::{attendees, create_event, event, event_body, my_bookings, organizer, text};
use boxoffice_e2e::TestServer;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// Concurrent clients, each its own user.
const CLIENTS: usize = 24;
/// The drain bound the server is started with.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;
/// The longest one request may take before the client gives up on it.
const ANSWER_BOUND: Duration = Duration::from_secs(15);

/// What became of one request.
#[derive(Debug)]
enum Outcome {
    /// A complete response.
    Answered { status: u16, body: Value },
    /// No connection: the listener is closed (connection refused).
    NoConnection(String),
    /// Closed before the server took the request (no `100 Continue`).
    NotTaken(String),
    /// Taken (`100 Continue`) but never answered completely: a request cut.
    Cut(String),
}

/// One request: when it ended, and how.
#[derive(Debug)]
struct Record {
    ended: Instant,
    outcome: Outcome,
}

async fn graceful_shutdown_under_load(mut server: TestServer) {
    let (organizer_token, _) = organizer(&server, "org@drain.example").await;
    let body = event_body("Drain", json!({"capacity": 1_000_000}));
    let event_id = text(&create_event(&server, &organizer_token, body).await, "id");
    let users = attendees(&server, "drain", CLIENTS).await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    let confirmed = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = users
        .iter()
        .map(|(token, _)| {
            let (addr, token, confirmed) = (addr.clone(), token.clone(), confirmed.clone());
            let path = format!("/api/v1/events/{event_id}/bookings");
            tokio::spawn(async move {
                let mut records = Vec::new();
                loop {
                    let outcome = post(&addr, &path, &token, &json!({"quantity": 1})).await;
                    if matches!(outcome, Outcome::Answered { status: 201, .. }) {
                        confirmed.fetch_add(1, Ordering::SeqCst);
                    }
                    let refused = matches!(outcome, Outcome::NoConnection(_));
                    records.push(Record {
                        ended: Instant::now(),
                        outcome,
                    });
                    if refused {
                        return records;
                    }
                }
            })
        })
        .collect();

    crate::support::eventually(Duration::from_secs(60), "bookings under way", || async {
        (confirmed.load(Ordering::SeqCst) >= 200).then_some(())
    })
    .await;
    let signalled = Instant::now();
    let status = server
        .terminate(Duration::from_secs(SHUTDOWN_TIMEOUT_SECS))
        .await;
    let exited_after = signalled.elapsed();
    let status = status.unwrap_or_else(|| {
        panic!(
            "still running {SHUTDOWN_TIMEOUT_SECS} s after SIGTERM; logs:\n{}",
            server.logs()
        )
    });
    assert!(
        status.success(),
        "exit status {status}; logs:\n{}",
        server.logs()
    );
    let mut per_client = Vec::new();
    for client in clients {
        per_client.push(client.await.expect("client task"));
    }
    let logs = server.logs();
    for line in [
        "HTTP server stopped; stopping background tasks",
        "\"stopped\"",
    ] {
        assert!(logs.contains(line), "no {line:?} in the logs:\n{logs}");
    }

    // Every request was answered in full, or never taken.
    let (mut answered, mut after_signal) = (0, 0);
    let mut unanswered: HashMap<String, usize> = HashMap::new();
    let mut seen: Vec<HashSet<String>> = Vec::new();
    for records in &per_client {
        let mut bookings = HashSet::new();
        for record in records {
            match &record.outcome {
                Outcome::Answered { status, body } => {
                    assert_eq!(*status, 201, "a booking answered {status}: {body}");
                    assert_eq!(body["booking"]["status"], "confirmed", "{body}");
                    bookings.insert(text(&body["booking"], "id"));
                    answered += 1;
                    if record.ended > signalled {
                        after_signal += 1;
                    }
                }
                Outcome::NoConnection(why) => {
                    *unanswered
                        .entry(format!("no connection: {why}"))
                        .or_default() += 1;
                }
                Outcome::NotTaken(why) => {
                    *unanswered.entry(format!("not taken: {why}")).or_default() += 1;
                }
                Outcome::Cut(why) => panic!("a request the server took was cut: {why}"),
            }
        }
        seen.push(bookings);
    }
    assert!(
        after_signal > 0,
        "no request was in flight at SIGTERM: the drain went untested"
    );

    // A new server on the same database has exactly the bookings the clients were told
    // about: none lost, and none made by a request that was not taken.
    server.restart().await;
    let mut total = 0;
    for ((token, _), bookings) in users.iter().zip(&seen) {
        let stored: HashSet<String> = my_bookings(&server, token, "?status=confirmed")
            .await
            .iter()
            .map(|b| text(b, "id"))
            .collect();
        assert_eq!(&stored, bookings, "bookings after the restart");
        total += stored.len();
    }
    let availability = event(&server, &event_id).await["availability"].clone();
    assert_eq!(availability["sold"], total, "{availability}");

    let requests: usize = per_client.iter().map(Vec::len).sum();
    eprintln!(
        "shutdown: {requests} requests by {CLIENTS} clients: {answered} answered 201 \
         ({after_signal} of them after SIGTERM); unanswered: {unanswered:?}; \
         exit 0 {exited_after:?} after SIGTERM"
    );
}

crate::on_both_stores!(
    graceful_shutdown,
    super::graceful_shutdown_under_load,
    env = [("SHUTDOWN_TIMEOUT_SECS", "10")]
);

/// `POST path` with a JSON body over a connection of its own, announcing the body with
/// `Expect: 100-continue` (see the module comment).
async fn post(addr: &str, path: &str, token: &str, body: &Value) -> Outcome {
    match tokio::time::timeout(ANSWER_BOUND, exchange(addr, path, token, body)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Cut(format!("no complete answer within {ANSWER_BOUND:?}")),
    }
}

async fn exchange(addr: &str, path: &str, token: &str, body: &Value) -> Outcome {
    let stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(e) => return Outcome::NoConnection(e.to_string()),
    };
    let body = body.to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    if let Err(e) = writer.write_all(head.as_bytes()).await {
        return Outcome::NotTaken(format!("sending the head: {e}"));
    }
    match read_head(&mut reader).await {
        Ok(Some((100, _))) => {}
        Ok(Some((status, length))) => {
            // A final answer without 100 Continue (allowed by RFC 9110): complete or cut.
            return read_body(&mut reader, status, length).await;
        }
        Ok(None) => return Outcome::NotTaken("closed without an answer".to_owned()),
        Err(e) => return Outcome::NotTaken(format!("reading the first answer: {e}")),
    }
    if let Err(e) = writer.write_all(body.as_bytes()).await {
        return Outcome::Cut(format!("sending the body after 100 Continue: {e}"));
    }
    match read_head(&mut reader).await {
        Ok(Some((status, length))) => read_body(&mut reader, status, length).await,
        Ok(None) => Outcome::Cut("closed after 100 Continue".to_owned()),
        Err(e) => Outcome::Cut(format!("reading the answer after 100 Continue: {e}")),
    }
}

/// A response head: its status and `Content-Length`; `None` at a clean end of stream.
async fn read_head(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<(u16, Option<usize>)>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            if lines.is_empty() {
                return Ok(None);
            }
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let status = lines[0]
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {:?}", lines[0])))?;
    let length = lines.iter().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    });
    Ok(Some((status, length)))
}

/// The body of a response with `status`: `Answered` when it arrives whole.
async fn read_body(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    status: u16,
    length: Option<usize>,
) -> Outcome {
    let mut bytes = Vec::new();
    let read = match length {
        Some(length) => {
            bytes.resize(length, 0);
            reader.read_exact(&mut bytes).await.map(drop)
        }
        None => reader.read_to_end(&mut bytes).await.map(drop),
    };
    if let Err(e) = read {
        return Outcome::Cut(format!("a {status} answer was cut: {e}"));
    }
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Outcome::Answered { status, body }
}

/// With `SHUTDOWN_DELAY_SECS`, SIGTERM turns readiness to 503 at once while the server
/// keeps answering, then the listener closes and the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_turns_readiness_off_before_the_listener_closes() {
    let Some(mut server) = TestServer::start_with(
        boxoffice_e2e::Backend::Sqlite,
        &[("SHUTDOWN_DELAY_SECS", "3")],
    )
    .await
    else {
        return;
    };
    let ready = || crate::support::send(server.client.get(server.url("/health/ready")));
    ready().await.ok(200);
    let signalled = Instant::now();
    server.send_sigterm();
    crate::support::eventually(Duration::from_secs(2), "readiness turns off", || async {
        (ready().await.status == 503).then_some(())
    })
    .await;
    let reply = ready().await;
    reply.problem(503, "not_ready");
    crate::support::send(server.client.get(server.url("/api/v1/events")))
        .await
        .ok(200);
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "still within the delay"
    );
    let status = server.wait_for_exit(Duration::from_secs(15)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?}"
    );
    assert!(
        signalled.elapsed() >= Duration::from_secs(3),
        "served through the delay"
    );
}
