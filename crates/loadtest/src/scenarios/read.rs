//! `read` and `read-list`: `GET /events/{id}` (or `GET /events`) of one event while a
//! few connections book seats of it. Every read is checked against the bookings: a
//! read that starts after a booking was answered must count that booking's seat, on
//! whichever server it lands.

use super::{Account, Checks, Outcome, api, availability_figure, create_event, event};
use crate::drive::{Call, Until, drive};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Connections that keep booking while the others read.
const WRITERS: usize = 4;

/// Which page the readers fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `GET /events/{id}`.
    Event,
    /// `GET /events`, the first page, where the event comes first.
    List,
}

/// Reads `page` for `duration` with `inflight` requests in flight, [`WRITERS`] of them
/// bookings by `users`.
///
/// # Errors
/// When the event cannot be created or read.
pub async fn run(
    addrs: &[SocketAddr],
    organizer: &Account,
    users: &[Account],
    page: Page,
    inflight: usize,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    // Earlier than every other event of the run, so that it leads `GET /events`.
    let starts_at = match page {
        Page::Event => "2029-02-01T18:00:00Z",
        Page::List => "2029-01-01T18:00:00Z",
    };
    let id = create_event(addrs[0], organizer, "Read me", 1_000_000, starts_at).await?;
    let answered = Arc::new(AtomicU64::new(0));
    let stale = Arc::new(AtomicU64::new(0));
    let writers = {
        let (users, answered, path) = (
            Arc::new(users.to_vec()),
            answered.clone(),
            api(&format!("/events/{id}/bookings")),
        );
        drive(
            addrs,
            WRITERS,
            Until::For(duration),
            move |mut conn, unit| {
                let (user, answered, path) = (
                    users[unit % users.len()].clone(),
                    answered.clone(),
                    path.clone(),
                );
                async move {
                    let reply = conn
                        .send(&Call::post(path, &json!({"quantity": 1})).token(&user.token))
                        .await;
                    if reply.status == 201 {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    conn
                }
            },
        )
    };
    let readers = {
        let (answered, stale) = (answered.clone(), stale.clone());
        let path = match page {
            Page::Event => api(&format!("/events/{id}")),
            Page::List => api("/events"),
        };
        drive(
            addrs,
            inflight.saturating_sub(WRITERS).max(1),
            Until::For(duration),
            move |mut conn, _| {
                let (answered, stale, call) =
                    (answered.clone(), stale.clone(), Call::get(path.clone()));
                async move {
                    let before = answered.load(Ordering::SeqCst);
                    let reply = conn.send(&call).await;
                    if reply.status == 200
                        && availability_figure(&reply.body, "sold").is_none_or(|sold| sold < before)
                    {
                        stale.fetch_add(1, Ordering::Relaxed);
                    }
                    conn
                }
            },
        )
    };
    let (reads, writes) = tokio::join!(readers, writers);
    let booked = writes.tally.count("201");
    let mut checks = Checks::default();
    checks.equal(
        "reads not answered 200",
        reads.tally.requests() - reads.tally.count("200"),
        0,
    );
    checks.equal(
        "bookings not answered 201",
        writes.tally.requests() - booked,
        0,
    );
    checks.equal(
        "reads missing a booking answered before they started",
        stale.load(Ordering::Relaxed),
        0,
    );
    let sold = event(addrs[0], &id).await?["availability"]["sold"].as_u64();
    checks.equal("seats sold at the end", sold, Some(booked));
    Ok(Outcome {
        run: reads,
        bookings: None,
        sold_out_after: None,
        failures: checks.into_failures(),
        note: format!("{booked} bookings meanwhile"),
    })
}
