//! Hold expiry with three sweepers: expired holds give their seats back, and promote
//! the queue, exactly once.

use crate::support::{bookings_of, create_event, entries, text};
use boxoffice_e2e::cluster::{Cluster, Request};
use boxoffice_e2e::seats::{check_seats, event_figures, number, type_figures};
use futures_util::future::join_all;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// `HOLD_TTL_SECS=1` on three processes: 4 users hold all 12 seats (3 each), 16 users
/// ask for 1 or 2 seats and queue. Then nothing but reads: the three sweepers end the
/// holds, and the queue takes the 12 seats in join order. Checked: the holds were
/// ended exactly once between the three sweepers (their logs), every promoted entry
/// has exactly one booking, sold is what the users hold, the promoted entries are a
/// prefix of the queue and the next one does not fit; a late confirmation is 410.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_holds_promote_the_queue_once() {
    const SEATS: u64 = 12;
    const HOLDERS: usize = 4;
    const WAITERS: usize = 16;
    let Some(cluster) = Cluster::start(3, &[("HOLD_TTL_SECS", "1")]).await else {
        return;
    };
    let client = cluster.client();
    let seed = boxoffice_e2e::workload::seed("expired_holds_promote_the_queue_once");
    let mut rng = StdRng::seed_from_u64(seed);
    let organizer = cluster.organizer("expiry.organizer@example.org").await;
    let holders = client.attendees("expiry.holder.", HOLDERS).await;
    let waiters = client.attendees("expiry.waiter.", WAITERS).await;
    let wants: Vec<u64> = (0..WAITERS).map(|_| rng.random_range(1..=2)).collect();
    let event = create_event(
        &client,
        &organizer,
        json!({"name": "Expiry", "capacity": SEATS}),
    )
    .await;
    let id = text(&event, "id");
    let type_id = text(&event["ticket_types"][0], "id");

    // Everything below must happen within the holds' second: no request after it may
    // touch the event's seats, so that only the sweepers end the holds.
    let started = Instant::now();
    let holds = join_all(holders.iter().map(|h| {
        client.send(
            Request::post(&format!("/events/{id}/holds"), json!({"quantity": 3})).token(&h.token),
        )
    }))
    .await;
    let hold_ids: Vec<String> = holds
        .into_iter()
        .map(|answer| text(answer.reply().ok(201), "id"))
        .collect();
    let replies = join_all(waiters.iter().zip(&wants).map(|(w, n)| {
        client.send(
            Request::post(&format!("/events/{id}/bookings"), json!({"quantity": n}))
                .token(&w.token),
        )
    }))
    .await;
    let snapshot = client
        .send(Request::get(&format!("/events/{id}/waitlist?limit=100")).token(&organizer.token))
        .await
        .reply();
    let setup = started.elapsed();
    let order: Vec<String> = snapshot.ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| text(e, "id"))
        .collect();
    let mut queued = HashMap::new(); // entry id -> waiter index
    let mut direct = 0;
    for (i, answer) in replies.into_iter().enumerate() {
        let reply = answer.reply();
        match reply.status {
            202 => {
                queued.insert(text(&reply.body["waitlist_entry"], "id"), i);
            }
            // The holds expired before this request (a slow machine): it swept them
            // and booked.
            201 => direct += 1,
            _ => panic!("{reply}"),
        }
    }
    let whole = direct == 0 && order.len() == WAITERS;
    if whole {
        eprintln!("expiry: holds and queue set up in {setup:.1?}, within the holds' second");
    } else {
        eprintln!(
            "expiry: SLOW SETUP ({setup:.1?}): {direct} waiters booked directly, the snapshot holds {} of {WAITERS}; the exact checks become bounds",
            order.len()
        );
    }

    // Only reads from here: wait for the sweepers.
    let path = format!("/events/{id}");
    let settled = boxoffice_e2e::cluster::eventually(
        Duration::from_secs(15),
        "holds ended and the queue promoted",
        || async {
            let seen = client
                .send(Request::get(&path))
                .await
                .reply()
                .ok(200)
                .clone();
            let queue = entries(&client, &organizer, &id, "waiting").await;
            let free = type_figures(&seen, &type_id).available;
            let head_fits = queue.first().is_some_and(|h| number(h, "quantity") <= free);
            (event_figures(&seen).held == 0
                && !head_fits
                && seen["availability"]["waitlist_count"] == queue.len())
            .then_some((seen, queue))
        },
    )
    .await;
    let (seen, still_waiting) = settled;
    check_seats(&seen, "after the expiry");
    let figures = event_figures(&seen);
    assert_eq!(
        figures.sold + figures.available,
        SEATS,
        "no seat is lost: {seen}"
    );

    // The promoted entries: each queued entry is promoted or still waiting; those
    // promoted are the head of the queue.
    let promoted: BTreeSet<String> = entries(&client, &organizer, &id, "promoted")
        .await
        .iter()
        .map(|e| text(e, "id"))
        .collect();
    let waiting: Vec<String> = still_waiting.iter().map(|e| text(e, "id")).collect();
    for entry in queued.keys() {
        assert!(
            promoted.contains(entry) != waiting.contains(entry),
            "entry {entry} is either promoted or waiting"
        );
    }
    let promoted_in_order = order.iter().take_while(|e| promoted.contains(*e)).count();
    assert!(
        order[promoted_in_order..]
            .iter()
            .all(|e| !promoted.contains(e)),
        "the promoted entries are the head of the queue {order:?}; promoted: {promoted:?}"
    );
    assert_eq!(
        &order[promoted_in_order..],
        &waiting[..],
        "the rest waits in order"
    );
    if whole {
        // Everyone queued before any seat came back: the head takes what fits of 12.
        let mut fits = 0;
        let mut seats = 0;
        for i in order.iter().map(|e| queued[e]) {
            if seats + wants[i] > SEATS {
                break;
            }
            seats += wants[i];
            fits += 1;
        }
        assert_eq!(
            promoted_in_order, fits,
            "the queue takes the 12 seats in order"
        );
    }

    // Each waiter: one booking per promotion (or a direct one), nobody twice.
    let mut sold = 0;
    let mut from_queue = 0;
    for (i, waiter) in waiters.iter().enumerate() {
        let mine = bookings_of(&client, waiter).await;
        let entry = queued
            .iter()
            .find(|(_, w)| **w == i)
            .map(|(e, _)| e.clone());
        let expected = match &entry {
            Some(e) if promoted.contains(e) => 1,
            Some(_) => 0,
            None => 1, // booked directly
        };
        assert_eq!(mine.len(), expected, "waiter {i}: {mine:?}");
        for booking in &mine {
            assert_eq!(booking["quantity"], wants[i], "{booking}");
            assert_eq!(booking["status"], "confirmed", "{booking}");
            if booking["source"] == "waitlist" {
                from_queue += 1;
            }
            sold += wants[i];
        }
    }
    assert_eq!(
        from_queue,
        promoted.len(),
        "each promoted entry made one booking"
    );
    assert_eq!(figures.sold, sold, "sold is what the waiters hold");
    for holder in &holders {
        assert!(bookings_of(&client, holder).await.is_empty());
    }

    // The sweepers' logs: together they ended the 4 holds, none twice (a request that
    // came after the expiry may have ended some itself).
    let swept: u64 = cluster
        .running()
        .into_iter()
        .map(|i| expired_in_logs(&cluster.server(i).logs()))
        .sum();
    if whole {
        assert_eq!(
            swept, HOLDERS as u64,
            "the three sweepers ended each hold once"
        );
    } else {
        assert!(swept <= HOLDERS as u64, "no hold ended twice: {swept}");
    }

    // Too late to confirm, on whichever server.
    for (holder, hold) in holders.iter().zip(&hold_ids) {
        let reply = client
            .send(Request::post_empty(&format!("/holds/{hold}/confirm")).token(&holder.token))
            .await
            .reply();
        reply.problem(410, "hold_expired");
    }
    let after: Value = client
        .send(Request::get(&path))
        .await
        .reply()
        .ok(200)
        .clone();
    assert_eq!(
        after["availability"], seen["availability"],
        "late confirmations change nothing"
    );
}

/// Holds the sweeper of one server's logs says it expired.
fn expired_in_logs(logs: &str) -> u64 {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "expired holds returned their seats")
        .map(|line| line["holds"].as_u64().expect("holds"))
        .sum()
}
