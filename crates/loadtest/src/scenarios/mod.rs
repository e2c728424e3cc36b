//! The scenarios `make bench` runs, and what they share: accounts, events, and the
//! invariant checks at the end of a run.

pub mod baseline;
pub mod door;
pub mod flash;
pub mod holds;
pub mod hot_row;
pub mod mixed;
pub mod read;

use crate::deploy::{Deployment, PASSWORD};
use crate::drive::{Call, Conn, Run, Until, drive};
use boxoffice_e2e::cluster::urlencode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Requests in flight while the tool sets things up (accounts, final reads).
const SETUP_INFLIGHT: usize = 64;

/// A registered, logged-in account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its id.
    pub id: String,
    /// Its access token.
    pub token: Arc<str>,
}

/// What a scenario measured and found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The measured requests.
    pub run: Run,
    /// Seats confirmed during the run, where the scenario books.
    pub bookings: Option<u64>,
    /// From the start until the last seat was sold, where the event sold out.
    pub sold_out_after: Option<Duration>,
    /// Invariants that did not hold; empty when all did.
    pub failures: Vec<String>,
    /// What else the report should say.
    pub note: String,
}

/// Collects the invariants that fail.
#[derive(Debug, Default)]
pub struct Checks(Vec<String>);

impl Checks {
    /// Records `what` as failed unless `holds`.
    pub fn expect(&mut self, holds: bool, what: impl FnOnce() -> String) {
        if !holds {
            self.0.push(what());
        }
    }

    /// Records that `actual` should have been `expected`.
    pub fn equal<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, actual: T, expected: T) {
        self.expect(actual == expected, || {
            format!("{what}: {actual:?}, expected {expected:?}")
        });
    }

    /// The failures.
    #[must_use]
    pub fn into_failures(self) -> Vec<String> {
        self.0
    }
}

/// `/api/v1` + `path`.
#[must_use]
pub fn api(path: &str) -> String {
    format!("/api/v1{path}")
}

/// Logs `email` in; its access token.
///
/// # Errors
/// When the login is refused.
pub async fn login(addr: SocketAddr, email: &str) -> anyhow::Result<Account> {
    let mut conn = Conn::to(addr);
    let tokens = conn
        .send(&Call::post(
            api("/auth/login"),
            &json!({"email": email, "password": PASSWORD}),
        ))
        .await;
    anyhow::ensure!(tokens.status == 200, "login {email}: {}", tokens.status);
    let token: Arc<str> = tokens.text("access_token").into();
    let me = conn.send(&Call::get(api("/users/me")).token(&token)).await;
    Ok(Account {
        id: me.text("id"),
        token,
    })
}

/// An organizer, made with the CLI and logged in.
///
/// # Errors
/// When the account cannot be made or used.
pub async fn organizer(deployment: &Deployment, email: &str) -> anyhow::Result<Account> {
    deployment.create_user(email, "organizer")?;
    login(deployment.addrs()[0], email).await
}

/// Registers and logs in `n` attendees through the API, spread over the servers.
///
/// # Errors
/// When one of them cannot register or log in.
pub async fn register(
    addrs: &[SocketAddr],
    prefix: &str,
    n: usize,
) -> anyhow::Result<Vec<Account>> {
    let slots: Arc<Vec<Mutex<Option<Account>>>> =
        Arc::new((0..n).map(|_| Mutex::new(None)).collect());
    let (made, prefix) = (slots.clone(), prefix.to_owned());
    let run = drive(
        addrs,
        SETUP_INFLIGHT,
        Until::Units(n),
        move |mut conn, i| {
            let (made, email) = (made.clone(), format!("{prefix}{i}@bench.example"));
            async move {
                let body =
                    json!({"name": format!("Fan {i}"), "email": email, "password": PASSWORD});
                let user = conn.send(&Call::post(api("/auth/register"), &body)).await;
                let login = json!({"email": email, "password": PASSWORD});
                let tokens = conn.send(&Call::post(api("/auth/login"), &login)).await;
                if user.status == 201 && tokens.status == 200 {
                    *made[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(Account {
                        id: user.text("id"),
                        token: tokens.text("access_token").into(),
                    });
                }
                conn
            }
        },
    )
    .await;
    let accounts: Vec<Account> = slots
        .iter()
        .filter_map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).clone())
        .collect();
    anyhow::ensure!(
        accounts.len() == n,
        "registered {} of {n} accounts: {:?}",
        accounts.len(),
        run.tally.statuses
    );
    Ok(accounts)
}

/// Creates an event of `capacity` seats (one `General` type) starting at `starts_at`.
///
/// # Errors
/// When the server refuses it.
pub async fn create_event(
    addr: SocketAddr,
    organizer: &Account,
    name: &str,
    capacity: u32,
    starts_at: &str,
) -> anyhow::Result<String> {
    let body =
        json!({"name": name, "venue": "Bench Arena", "starts_at": starts_at, "capacity": capacity});
    let reply = Conn::to(addr)
        .send(&Call::post(api("/events"), &body).token(&organizer.token))
        .await;
    anyhow::ensure!(
        reply.status == 201,
        "create event: {} {}",
        reply.status,
        reply.json()
    );
    Ok(reply.text("id"))
}

/// `GET /events/{id}`.
///
/// # Errors
/// When it does not answer 200.
pub async fn event(addr: SocketAddr, id: &str) -> anyhow::Result<Value> {
    let reply = Conn::to(addr)
        .send(&Call::get(api(&format!("/events/{id}"))))
        .await;
    anyhow::ensure!(reply.status == 200, "GET event: {}", reply.status);
    Ok(reply.json())
}

/// Every item of a listing under `/api/v1`, following `next_cursor`.
///
/// # Errors
/// When a page does not answer 200.
pub async fn every_item(
    addr: SocketAddr,
    path: &str,
    token: &Arc<str>,
) -> anyhow::Result<Vec<Value>> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut conn = Conn::to(addr);
    let (mut items, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let mut page = format!("{path}{separator}limit=100");
        if let Some(cursor) = &cursor {
            page.push_str(&format!("&cursor={}", urlencode(cursor)));
        }
        let reply = conn.send(&Call::get(api(&page)).token(token)).await;
        anyhow::ensure!(reply.status == 200, "GET {page}: {}", reply.status);
        let body = reply.json();
        items.extend(body["items"].as_array().cloned().unwrap_or_default());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(items),
        }
    }
}

/// Seats of `event` in the confirmed bookings of `accounts`, read from each account's
/// own list.
///
/// # Errors
/// When a list cannot be read.
pub async fn seats_booked_by(
    addrs: &[SocketAddr],
    accounts: &[Account],
    event: &str,
) -> anyhow::Result<u64> {
    let accounts = Arc::new(accounts.to_vec());
    let (total, failed) = (Arc::new(Mutex::new(0_u64)), Arc::new(Mutex::new(0_u64)));
    let (sum, bad, event, list) = (
        total.clone(),
        failed.clone(),
        event.to_owned(),
        accounts.clone(),
    );
    drive(
        addrs,
        SETUP_INFLIGHT,
        Until::Units(accounts.len()),
        move |mut conn, i| {
            let (sum, bad, event, account) =
                (sum.clone(), bad.clone(), event.clone(), list[i].clone());
            async move {
                let call = Call::get(api("/users/me/bookings?status=confirmed&limit=100"))
                    .token(&account.token);
                let reply = conn.send(&call).await;
                if reply.status == 200 {
                    let seats: u64 = reply.json()["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|b| b["event_id"] == event.as_str())
                        .filter_map(|b| b["quantity"].as_u64())
                        .sum();
                    *sum.lock().unwrap_or_else(PoisonError::into_inner) += seats;
                } else {
                    *bad.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                }
                conn
            }
        },
    )
    .await;
    let failed = *failed.lock().unwrap_or_else(PoisonError::into_inner);
    anyhow::ensure!(failed == 0, "{failed} booking lists could not be read");
    let total = *total.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(total)
}

/// The number after `"field":` inside the `"availability"` object of an event's JSON,
/// found without parsing the whole body (the readers check every answer).
#[must_use]
pub fn availability_figure(body: &[u8], field: &str) -> Option<u64> {
    let start = find(body, b"\"availability\"")?;
    let key = format!("\"{field}\":");
    let at = start + find(&body[start..], key.as_bytes())? + key.len();
    let digits: Vec<u8> = body[at..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::availability_figure;

    #[test]
    fn figures_are_read_from_the_availability_object() {
        let body = br#"{"capacity":9,"sold":1,"availability":{"capacity":500,"sold":42,"held":0}}"#;
        assert_eq!(availability_figure(body, "sold"), Some(42));
        assert_eq!(availability_figure(body, "capacity"), Some(500));
        assert_eq!(availability_figure(body, "waitlist_count"), None);
    }
}
