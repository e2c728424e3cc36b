//! `door`: the doors open. Every user has booked one seat (set up, not measured); a
//! scanner token then checks every ticket in twice, so each ticket's second scan
//! races the others: exactly one 200 and one 409 `already_checked_in` per ticket, and
//! the progress shows every ticket in.

use super::{Account, Checks, Outcome, SETUP_INFLIGHT, api, create_event};
use crate::drive::{Call, Conn, Until, drive};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// How the scans went.
#[derive(Debug, Default)]
struct Counts {
    admitted: AtomicU64,
    repeated: AtomicU64,
    unexpected: AtomicU64,
}

/// Books a seat for each of `users`, then scans each ticket twice, `inflight` at a time.
///
/// # Errors
/// When the event, the bookings, the tickets or the token cannot be set up.
pub async fn run(
    addrs: &[SocketAddr],
    organizer: &Account,
    users: &[Account],
    inflight: usize,
) -> anyhow::Result<Outcome> {
    let capacity = u32::try_from(users.len()).unwrap_or(u32::MAX).max(1);
    let id = create_event(
        addrs[0],
        organizer,
        "Door",
        capacity,
        "2031-08-01T20:00:00Z",
    )
    .await?;
    let codes = book_and_read_codes(addrs, &id, users).await?;
    let token = scanner_token(addrs[0], organizer, &id).await?;

    let counts = Arc::new(Counts::default());
    let run = {
        let (counts, codes) = (counts.clone(), Arc::new(codes.clone()));
        let path = api(&format!("/events/{id}/check-ins"));
        drive(
            addrs,
            inflight,
            Until::Units(2 * codes.len()),
            move |mut conn, i| {
                let (counts, path, token) = (counts.clone(), path.clone(), token.clone());
                let code = codes[i % codes.len()].clone();
                async move {
                    let call = Call::post(path, &json!({"code": code})).token(&token);
                    let scan = conn.send(&call).await;
                    let counter = match scan.status {
                        200 => &counts.admitted,
                        409 if scan.text("code") == "already_checked_in" => &counts.repeated,
                        _ => &counts.unexpected,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    conn
                }
            },
        )
        .await
    };
    let tickets = u64::try_from(codes.len()).unwrap_or(u64::MAX);
    let progress = Conn::to(addrs[0])
        .send(&Call::get(api(&format!("/events/{id}/check-ins/progress"))).token(&organizer.token))
        .await
        .json();
    let mut checks = Checks::default();
    checks.equal(
        "scans let in",
        counts.admitted.load(Ordering::Relaxed),
        tickets,
    );
    checks.equal(
        "scans answered already_checked_in",
        counts.repeated.load(Ordering::Relaxed),
        tickets,
    );
    checks.equal(
        "unexpected answers",
        counts.unexpected.load(Ordering::Relaxed),
        0,
    );
    checks.equal(
        "checked in by progress",
        progress["checked_in"].as_u64(),
        Some(tickets),
    );
    checks.equal("sold by progress", progress["sold"].as_u64(), Some(tickets));
    Ok(Outcome {
        run,
        bookings: None,
        sold_out_after: None,
        failures: checks.into_failures(),
        note: format!("{tickets} tickets, each scanned twice by one API token"),
    })
}

/// Books one seat for each user and reads the code of the ticket it made.
async fn book_and_read_codes(
    addrs: &[SocketAddr],
    event: &str,
    users: &[Account],
) -> anyhow::Result<Vec<String>> {
    let wanted = users.len();
    let slots: Arc<Vec<Mutex<Option<String>>>> =
        Arc::new((0..wanted).map(|_| Mutex::new(None)).collect());
    let (made, users, event) = (slots.clone(), Arc::new(users.to_vec()), event.to_owned());
    drive(
        addrs,
        SETUP_INFLIGHT,
        Until::Units(wanted),
        move |mut conn, i| {
            let (made, user) = (made.clone(), users[i].clone());
            let path = api(&format!("/events/{event}/bookings"));
            async move {
                let body = json!({"quantity": 1, "on_sold_out": "fail"});
                let booked = conn.send(&Call::post(path, &body).token(&user.token)).await;
                let booking = booked.json()["booking"]["id"]
                    .as_str()
                    .map(ToOwned::to_owned);
                if let (201, Some(booking)) = (booked.status, booking) {
                    let path = api(&format!("/bookings/{booking}/tickets"));
                    let tickets = conn.send(&Call::get(path).token(&user.token)).await;
                    let code = tickets.json()["items"][0]["code"]
                        .as_str()
                        .map(ToOwned::to_owned);
                    *made[i].lock().unwrap_or_else(PoisonError::into_inner) = code;
                }
                conn
            }
        },
    )
    .await;
    let codes: Vec<String> = slots
        .iter()
        .filter_map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).clone())
        .collect();
    anyhow::ensure!(
        codes.len() == wanted,
        "door: {} of {wanted} tickets set up",
        codes.len()
    );
    Ok(codes)
}

/// An API token with the `checkin` scope for `event`.
async fn scanner_token(
    addr: SocketAddr,
    organizer: &Account,
    event: &str,
) -> anyhow::Result<Arc<str>> {
    let body = json!({"name": "Bench door", "scopes": ["checkin"], "event_ids": [event]});
    let made = Conn::to(addr)
        .send(&Call::post(api("/api-tokens"), &body).token(&organizer.token))
        .await;
    anyhow::ensure!(made.status == 201, "door: API token {}", made.status);
    Ok(made.text("token").into())
}
