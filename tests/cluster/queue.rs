//! Selling and queueing across processes: a flash sale that must sell exactly the
//! capacity and queue everyone else in order, and cancellations racing on three
//! processes that must promote exactly the head of the queue.

use crate::support::{assert_seats, book, bookings_of, create_event, entries, text};
use boxoffice_e2e::cluster::{Cluster, Request};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// 300 clients, one ticket each, spread over 3 processes at once, on a 50-seat event
/// that queues when sold out: exactly 50 bookings (201) and 250 entries (202) at
/// positions 1..=250, and the figures, the users' bookings and the queue agree on
/// every server.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flash_sale_sells_exactly_the_capacity() {
    const BUYERS: usize = 300;
    const SEATS: u64 = 50;
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    // A burst of 300 queues on one event's lock: allow more than the usual 10 s.
    let client = cluster.client().with_timeout(Duration::from_secs(60));
    let organizer = cluster.organizer("flash.organizer@example.org").await;
    let buyers = client.attendees("flash.buyer.", BUYERS).await;
    let event = create_event(
        &client,
        &organizer,
        json!({"name": "Flash", "capacity": SEATS}),
    )
    .await;
    let id = text(&event, "id");

    let started = Instant::now();
    let replies = join_all(buyers.iter().map(|buyer| {
        book(
            &client,
            buyer,
            &id,
            json!({"quantity": 1, "on_sold_out": "waitlist"}),
            None,
        )
    }))
    .await;
    eprintln!(
        "flash sale: {BUYERS} requests over 3 processes answered in {:.1?}",
        started.elapsed()
    );

    let mut winners = BTreeSet::new();
    let mut position_of: HashMap<u64, (String, String)> = HashMap::new(); // position -> (entry, user)
    let mut per_server = [0_usize; 3];
    for (buyer, reply) in buyers.iter().zip(&replies) {
        per_server[reply.server] += 1;
        let outcome = match reply.status {
            201 | 202 => reply.ok(reply.status),
            _ => panic!("a flash-sale request: {reply}"),
        };
        if reply.status == 201 {
            let booking = &outcome["booking"];
            assert_eq!(outcome["waitlist_entry"], Value::Null, "{reply}");
            assert_eq!(
                (
                    &booking["user_id"],
                    &booking["quantity"],
                    &booking["status"],
                    &booking["source"]
                ),
                (
                    &json!(buyer.id),
                    &json!(1),
                    &json!("confirmed"),
                    &json!("direct")
                ),
                "{reply}"
            );
            winners.insert(buyer.id.clone());
        } else {
            let entry = &outcome["waitlist_entry"];
            assert_eq!(outcome["booking"], Value::Null, "{reply}");
            assert_eq!(
                (&entry["user_id"], &entry["quantity"], &entry["status"]),
                (&json!(buyer.id), &json!(1), &json!("waiting")),
                "{reply}"
            );
            let position = entry["position"].as_u64().expect("position");
            let earlier = position_of.insert(position, (text(entry, "id"), buyer.id.clone()));
            assert!(
                earlier.is_none(),
                "two entries got position {position}: {reply}"
            );
        }
    }
    eprintln!("flash sale: requests per server {per_server:?}");
    assert_eq!(
        (winners.len(), position_of.len()),
        (50, 250),
        "exactly the capacity is booked, everyone else queued"
    );
    assert_eq!(
        position_of.keys().copied().collect::<BTreeSet<_>>(),
        (1..=250).collect::<BTreeSet<_>>(),
        "the entries' positions when they joined are 1..=250"
    );
    assert_seats(
        &client,
        &[0, 1, 2],
        &id,
        [SEATS, SEATS, 0, 250],
        "after the sale",
    )
    .await;

    // The queue, as it is now, is the join order the answers told.
    let queue = entries(&client, &organizer, &id, "waiting").await;
    assert_eq!(queue.len(), 250);
    for (i, entry) in queue.iter().enumerate() {
        let position = i as u64 + 1;
        assert_eq!(entry["position"], position, "{entry}");
        assert_eq!(
            (text(entry, "id"), text(entry, "user_id")),
            position_of[&position],
            "the entry at position {position}"
        );
    }
    // Every buyer's own bookings agree: one ticket for each winner, none for the others.
    let lists = join_all(buyers.iter().map(|b| bookings_of(&client, b))).await;
    let mut tickets = 0;
    for (buyer, list) in buyers.iter().zip(&lists) {
        let theirs: u64 = list
            .iter()
            .map(|b| b["quantity"].as_u64().expect("quantity"))
            .sum();
        assert_eq!(theirs, u64::from(winners.contains(&buyer.id)), "{list:?}");
        tickets += theirs;
    }
    assert_eq!(tickets, SEATS, "the users' bookings add up to sold");
}

/// 30 bookings of a sold-out event are cancelled at once over three processes while 45
/// users wait: exactly the first 30 entries are promoted, each once, in one booking of
/// their own; the other 15 keep waiting at positions 1..=15 in join order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cancellations_promote_the_head_of_the_queue() {
    const SEATS: usize = 30;
    const WAITING: usize = 45;
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let client = cluster.client();
    let organizer = cluster.organizer("fifo.organizer@example.org").await;
    let holders = client.attendees("fifo.holder.", SEATS).await;
    let waiters = client.attendees("fifo.waiter.", WAITING).await;
    let event = create_event(
        &client,
        &organizer,
        json!({"name": "FIFO", "capacity": SEATS}),
    )
    .await;
    let id = text(&event, "id");

    let booked = join_all(
        holders
            .iter()
            .map(|h| book(&client, h, &id, json!({"quantity": 1}), None)),
    )
    .await;
    let booking_ids: Vec<String> = booked
        .iter()
        .map(|reply| text(&reply.ok(201)["booking"], "id"))
        .collect();
    // The waiters join one after another (round-robin over the servers): join order is
    // known.
    let mut joined = Vec::new();
    for (i, waiter) in waiters.iter().enumerate() {
        let reply = client
            .send(
                Request::post(&format!("/events/{id}/waitlist"), json!({"quantity": 1}))
                    .token(&waiter.token),
            )
            .await
            .reply();
        let entry = reply.ok(201);
        assert_eq!(entry["position"], i + 1, "{reply}");
        joined.push(text(entry, "id"));
    }
    assert_seats(&client, &[0, 1, 2], &id, [30, 30, 0, 45], "with 45 waiting").await;

    let cancelled = join_all(holders.iter().zip(&booking_ids).map(|(holder, booking)| {
        client
            .send(Request::post_empty(&format!("/bookings/{booking}/cancel")).token(&holder.token))
    }))
    .await;
    let mut per_server = [0_usize; 3];
    for answer in cancelled {
        let reply = answer.reply();
        per_server[reply.server] += 1;
        assert_eq!(reply.ok(200)["status"], "cancelled", "{reply}");
    }
    eprintln!("cancellations per server {per_server:?}");
    assert_seats(
        &client,
        &[0, 1, 2],
        &id,
        [30, 30, 0, 15],
        "after the cancellations",
    )
    .await;

    let promoted: BTreeSet<String> = entries(&client, &organizer, &id, "promoted")
        .await
        .iter()
        .map(|e| text(e, "id"))
        .collect();
    assert_eq!(
        promoted,
        joined[..SEATS].iter().cloned().collect::<BTreeSet<_>>(),
        "exactly the first 30 entries are promoted"
    );
    let queue: Vec<String> = entries(&client, &organizer, &id, "waiting")
        .await
        .iter()
        .enumerate()
        .map(|(i, e)| {
            assert_eq!(e["position"], i + 1, "{e}");
            text(e, "id")
        })
        .collect();
    assert_eq!(queue, joined[SEATS..], "the others keep their order");

    // Each promoted waiter has one booking from the queue, which its entry names.
    for (waiter, entry_id) in waiters.iter().zip(&joined) {
        let mine = bookings_of(&client, waiter).await;
        let entry = client
            .every_item("/users/me/waitlist", &waiter.token)
            .await
            .into_iter()
            .find(|e| e["id"] == entry_id.as_str())
            .expect("the waiter's entry");
        if promoted.contains(entry_id) {
            assert_eq!(mine.len(), 1, "one booking per promotion: {mine:?}");
            assert_eq!(
                (
                    &mine[0]["source"],
                    &mine[0]["quantity"],
                    &mine[0]["status"],
                    &mine[0]["id"]
                ),
                (
                    &json!("waitlist"),
                    &json!(1),
                    &json!("confirmed"),
                    &entry["booking_id"]
                ),
                "{mine:?} for {entry}"
            );
        } else {
            assert!(mine.is_empty(), "{mine:?}");
            assert_eq!(entry["status"], "waiting", "{entry}");
        }
    }
}
