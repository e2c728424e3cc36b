//! `holds`: every user holds one seat, then confirms it (seven in ten) or releases it,
//! on an event with seats for half of them; a hold refused as sold out is fine.
//! Afterwards no seat is held, sold equals the confirmations and the users' bookings,
//! and `sold + available == capacity`.

use super::{Account, Checks, Outcome, api, create_event, event, seats_booked_by};
use crate::drive::{Call, Until, drive};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// How the answers went.
#[derive(Debug, Default)]
struct Counts {
    confirmed: AtomicU64,
    released: AtomicU64,
    sold_out: AtomicU64,
    unexpected: AtomicU64,
}

/// Runs the holds of `users`, `inflight` at a time.
///
/// # Errors
/// When the event cannot be created or read back.
pub async fn run(
    addrs: &[SocketAddr],
    organizer: &Account,
    users: &[Account],
    inflight: usize,
) -> anyhow::Result<Outcome> {
    let capacity = u32::try_from(users.len() / 2).unwrap_or(u32::MAX).max(1);
    let id = create_event(
        addrs[0],
        organizer,
        "Holds",
        capacity,
        "2031-07-01T20:00:00Z",
    )
    .await?;
    let counts = Arc::new(Counts::default());
    let last_sale = Arc::new(Mutex::new(None::<Instant>));
    let run = {
        let (counts, last_sale, users) =
            (counts.clone(), last_sale.clone(), Arc::new(users.to_vec()));
        let path = api(&format!("/events/{id}/holds"));
        drive(
            addrs,
            inflight,
            Until::Units(users.len()),
            move |mut conn, i| {
                let (counts, last_sale, user, path) = (
                    counts.clone(),
                    last_sale.clone(),
                    users[i].clone(),
                    path.clone(),
                );
                async move {
                    let hold = conn
                        .send(&Call::post(path, &json!({"quantity": 1})).token(&user.token))
                        .await;
                    let hold_id = hold.text("id");
                    let (ended, counter) = match hold.status {
                        201 if i % 10 < 7 => {
                            let call = Call::post_empty(api(&format!("/holds/{hold_id}/confirm")));
                            (conn.send(&call.token(&user.token)).await, &counts.confirmed)
                        }
                        201 => {
                            let call = Call::delete(api(&format!("/holds/{hold_id}")));
                            (conn.send(&call.token(&user.token)).await, &counts.released)
                        }
                        409 if hold.text("code") == "sold_out" => {
                            counts.sold_out.fetch_add(1, Ordering::Relaxed);
                            return conn;
                        }
                        _ => {
                            counts.unexpected.fetch_add(1, Ordering::Relaxed);
                            return conn;
                        }
                    };
                    if matches!(ended.status, 201 | 204) {
                        counter.fetch_add(1, Ordering::Relaxed);
                        if ended.status == 201 {
                            let mut last = last_sale.lock().unwrap_or_else(PoisonError::into_inner);
                            *last = Some(last.map_or(ended.at, |t| t.max(ended.at)));
                        }
                    } else {
                        counts.unexpected.fetch_add(1, Ordering::Relaxed);
                    }
                    conn
                }
            },
        )
        .await
    };
    let confirmed = counts.confirmed.load(Ordering::Relaxed);
    let figures = &event(addrs[0], &id).await?["availability"];
    let mut checks = Checks::default();
    checks.equal(
        "unexpected answers",
        counts.unexpected.load(Ordering::Relaxed),
        0,
    );
    checks.equal("held at the end", figures["held"].as_u64(), Some(0));
    checks.equal("sold", figures["sold"].as_u64(), Some(confirmed));
    let (sold, available) = (
        figures["sold"].as_u64().unwrap_or(0),
        figures["available"].as_u64().unwrap_or(0),
    );
    checks.equal("sold + available", sold + available, u64::from(capacity));
    checks.equal(
        "seats in the users' bookings",
        seats_booked_by(addrs, users, &id).await?,
        confirmed,
    );
    let sold_out = sold == u64::from(capacity);
    let last_sale = *last_sale.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(Outcome {
        bookings: Some(confirmed),
        sold_out_after: last_sale.filter(|_| sold_out).map(|at| at - run.started),
        run,
        failures: checks.into_failures(),
        note: format!(
            "{} released, {} holds refused sold_out",
            counts.released.load(Ordering::Relaxed),
            counts.sold_out.load(Ordering::Relaxed)
        ),
    })
}
