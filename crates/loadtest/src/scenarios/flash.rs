//! `flash` and `flash-big`: every user books one ticket of one event at once, with the
//! default `on_sold_out` (the rest join the waitlist). Afterwards: exactly capacity
//! sold, the users' bookings add up, the queue holds everyone else in order, and
//! cancellations promote its head strictly first in, first out.

use super::{Account, Checks, Outcome, api, create_event, event, every_item, seats_booked_by};
use crate::drive::{Call, Conn, Until, drive};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Bookings cancelled after the sale, to see the queue's head promoted.
const CANCELLED_AFTER: usize = 10;

/// What one booking request got.
#[derive(Debug, Clone)]
enum Got {
    Booked { booking: String, at: Instant },
    Queued,
    Other,
}

/// Runs the sale of `seats` seats to `users` (one ticket each), `inflight` at a time.
///
/// # Errors
/// When the event cannot be created or read back.
pub async fn run(
    addrs: &[SocketAddr],
    organizer: &Account,
    users: &[Account],
    seats: u32,
    inflight: usize,
) -> anyhow::Result<Outcome> {
    let id = create_event(
        addrs[0],
        organizer,
        "Flash sale",
        seats,
        "2031-06-01T20:00:00Z",
    )
    .await?;
    let got: Arc<Vec<Mutex<Option<Got>>>> =
        Arc::new(users.iter().map(|_| Mutex::new(None)).collect());
    let run = {
        let (got, users, path) = (
            got.clone(),
            Arc::new(users.to_vec()),
            api(&format!("/events/{id}/bookings")),
        );
        drive(
            addrs,
            inflight,
            Until::Units(users.len()),
            move |mut conn, i| {
                let (got, user, path) = (got.clone(), users[i].clone(), path.clone());
                async move {
                    let reply = conn
                        .send(&Call::post(path, &json!({"quantity": 1})).token(&user.token))
                        .await;
                    let outcome = match reply.status {
                        201 => Got::Booked {
                            booking: reply.json()["booking"]["id"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            at: reply.at,
                        },
                        202 => Got::Queued,
                        _ => Got::Other,
                    };
                    *got[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
                    conn
                }
            },
        )
        .await
    };
    let got: Vec<Got> = got
        .iter()
        .map(|g| {
            g.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .unwrap_or(Got::Other)
        })
        .collect();
    let booked: Vec<(usize, &str)> = got
        .iter()
        .enumerate()
        .filter_map(|(i, g)| match g {
            Got::Booked { booking, .. } => Some((i, booking.as_str())),
            _ => None,
        })
        .collect();
    let sold_out_at = got
        .iter()
        .filter_map(|g| match g {
            Got::Booked { at, .. } => Some(*at),
            _ => None,
        })
        .max();
    let capacity = seats as usize;
    let waiting = users.len().saturating_sub(capacity);
    let mut checks = Checks::default();
    checks.equal(
        "answered 201 (booked)",
        booked.len(),
        capacity.min(users.len()),
    );
    checks.equal(
        "answered 202 (queued)",
        got.iter().filter(|g| matches!(g, Got::Queued)).count(),
        waiting,
    );
    checks.equal(
        "other answers",
        got.iter().filter(|g| matches!(g, Got::Other)).count(),
        0,
    );
    let distinct: HashSet<&str> = booked.iter().map(|(_, b)| *b).collect();
    checks.equal("distinct bookings", distinct.len(), booked.len());
    let figures = &event(addrs[0], &id).await?["availability"];
    checks.equal("sold", figures["sold"].as_u64(), Some(booked.len() as u64));
    checks.equal("held", figures["held"].as_u64(), Some(0));
    checks.equal(
        "waitlist_count",
        figures["waitlist_count"].as_u64(),
        Some(waiting as u64),
    );
    checks.equal(
        "seats in the users' bookings",
        seats_booked_by(addrs, users, &id).await?,
        booked.len() as u64,
    );
    let queue = every_item(
        addrs[0],
        &format!("/events/{id}/waitlist"),
        &organizer.token,
    )
    .await?;
    check_queue(&mut checks, "queue after the sale", &queue, waiting);
    check_promotion(
        &mut checks,
        addrs[0],
        organizer,
        users,
        &id,
        &booked,
        &queue,
    )
    .await?;
    Ok(Outcome {
        bookings: Some(booked.len() as u64),
        sold_out_after: sold_out_at
            .filter(|_| waiting > 0)
            .map(|at| at - run.started),
        run,
        failures: checks.into_failures(),
        note: String::new(),
    })
}

/// The waiting queue has `len` entries at positions 1, 2, 3, ... of distinct users.
fn check_queue(checks: &mut Checks, what: &str, queue: &[Value], len: usize) {
    checks.equal(&format!("{what}: entries"), queue.len(), len);
    let in_order = queue
        .iter()
        .enumerate()
        .all(|(i, e)| e["position"].as_u64() == Some(i as u64 + 1));
    checks.expect(in_order, || {
        format!("{what}: positions are not 1..{len} in order")
    });
    let users: HashSet<&str> = queue.iter().filter_map(|e| e["user_id"].as_str()).collect();
    checks.equal(&format!("{what}: distinct users"), users.len(), queue.len());
}

/// Cancels a few bookings and checks that exactly the head of `queue` was promoted, in
/// order, and that the rest still waits in order.
async fn check_promotion(
    checks: &mut Checks,
    addr: SocketAddr,
    organizer: &Account,
    users: &[Account],
    id: &str,
    booked: &[(usize, &str)],
    queue: &[Value],
) -> anyhow::Result<()> {
    let n = CANCELLED_AFTER.min(booked.len()).min(queue.len());
    let mut conn = Conn::to(addr);
    for &(user, booking) in &booked[..n] {
        let reply = conn
            .send(
                &Call::post_empty(api(&format!("/bookings/{booking}/cancel")))
                    .token(&users[user].token),
            )
            .await;
        checks.equal("cancellation", reply.status, 200);
    }
    let promoted = every_item(
        addr,
        &format!("/events/{id}/waitlist?status=promoted"),
        &organizer.token,
    )
    .await?;
    let promoted: HashSet<&str> = promoted.iter().filter_map(|e| e["id"].as_str()).collect();
    let head: HashSet<&str> = queue[..n].iter().filter_map(|e| e["id"].as_str()).collect();
    checks.expect(promoted == head, || {
        format!(
            "{n} cancellations promoted {} entries, not the first {n} of the queue",
            promoted.len()
        )
    });
    let rest = every_item(addr, &format!("/events/{id}/waitlist"), &organizer.token).await?;
    check_queue(
        checks,
        "queue after the cancellations",
        &rest,
        queue.len() - n,
    );
    let same_order = rest
        .iter()
        .zip(&queue[n..])
        .all(|(a, b)| a["id"] == b["id"]);
    checks.expect(same_order, || {
        "the queue changed order after the cancellations".to_owned()
    });
    let figures = &event(addr, id).await?["availability"];
    checks.equal(
        "sold after the promotions",
        figures["sold"].as_u64(),
        Some(booked.len() as u64),
    );
    Ok(())
}
