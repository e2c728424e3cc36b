//! The end of a run: once every hold has ended, invariants 2 and 3 and everything the
//! clients were told; then every free seat is sold to fresh users, to see that the
//! whole chain (Redis gate included) agrees with the figures.

use super::ledger::{Ledger, Left, seats_of};
use super::monitor::queue_ids;
use super::{EventPlan, Run, Workload};
use crate::cluster::{Answer, Request};
use crate::seats::{check_seats, event_figures, number, text, ticket_types, type_figures};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long the servers may take to end holds and promote the queue after the run.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(20);

impl Workload {
    /// Waits until every hold has ended and the queues took what fits, then checks:
    /// `sold + available == capacity`; `sold` per type is the sum of the users'
    /// confirmed bookings; no seat is free while a queue's head would fit; positions
    /// and `waitlist_count` agree with the queue; promotion never passed over a waiting
    /// entry; every booking and entry a client was told about exists in the state it
    /// expects, and nothing exists that no answer announced (unless a request was
    /// lost); finally every free seat can be booked, and then none.
    ///
    /// # Panics
    /// When any check fails.
    pub async fn check_end(&self, mut run: Run) {
        let started = Instant::now();
        let mut finals = BTreeMap::new();
        for event in &self.events {
            finals.insert(event.id.clone(), self.settle(event).await);
        }
        let mut sold_by_type: BTreeMap<String, u64> = BTreeMap::new();
        let mut promoted_bookings: HashSet<String> = HashSet::new();
        for ledger in &run.ledgers {
            let bookings = self
                .client
                .every_item("/users/me/bookings", &ledger.user.token)
                .await;
            let entries = self
                .client
                .every_item("/users/me/waitlist", &ledger.user.token)
                .await;
            for booking in &bookings {
                *sold_by_type
                    .entry(text(booking, "ticket_type_id"))
                    .or_default() += seats_of(booking);
            }
            for id in check_client(ledger, &bookings, &entries) {
                assert!(
                    promoted_bookings.insert(id.clone()),
                    "booking {id} is the promotion of two entries"
                );
            }
        }
        let mut promoted_entries = HashSet::new();
        let mut report = Vec::new();
        for event in &self.events {
            let final_event = &finals[&event.id];
            for ty in ticket_types(final_event) {
                let id = text(ty, "id");
                assert_eq!(
                    sold_by_type.get(&id).copied().unwrap_or(0),
                    number(ty, "sold"),
                    "the users' confirmed bookings add up to the type's sold: {final_event}"
                );
            }
            let promoted = self
                .client
                .every_item(
                    &format!("/events/{}/waitlist?status=promoted", event.id),
                    &self.organizer.token,
                )
                .await;
            for entry in &promoted {
                assert!(
                    promoted_bookings.contains(&text(entry, "booking_id")),
                    "a promoted entry of the organizer's list is not among its user's: {entry}"
                );
                promoted_entries.insert(text(entry, "id"));
            }
            let figures = event_figures(final_event);
            report.push(format!(
                "{}: capacity {}, sold {}, {} promoted, {} waiting",
                event.name,
                figures.capacity.unwrap_or(0),
                figures.sold,
                promoted.len(),
                final_event["availability"]["waitlist_count"]
            ));
        }
        assert_eq!(
            promoted_entries.len(),
            promoted_bookings.len(),
            "every promotion booking belongs to one promoted entry"
        );
        // Strict FIFO, from the monitor's snapshots and the final queues.
        for event in &self.events {
            let page = self
                .client
                .send(
                    Request::get(&format!("/events/{}/waitlist?limit=100", event.id))
                        .token(&self.organizer.token),
                )
                .await
                .reply();
            run.queues
                .push(&event.id, queue_ids(page.ok(200), "final queue"));
        }
        let (overtakings, witnessed) = run.queues.overtakings(&promoted_entries);
        assert!(
            overtakings.is_empty(),
            "promotion is strict FIFO:\n{}",
            overtakings.join("\n")
        );
        eprintln!(
            "workload end: {}; {} queue snapshots witnessed {witnessed} promotions in FIFO order",
            report.join("; "),
            run.queues.len()
        );
        for event in &self.events {
            self.drain(event).await;
        }
        eprintln!("workload end: checks took {:.1?}", started.elapsed());
    }

    /// Waits until the event's holds have ended and its queue took what fits, with no
    /// promotion between reading the queue and the event; checks invariant 2 there and
    /// returns the event.
    async fn settle(&self, event: &EventPlan) -> Value {
        let path = format!("/events/{}", event.id);
        let queue_path = format!("/events/{}/waitlist?limit=100", event.id);
        let started = Instant::now();
        let read_queue = async || {
            let queue = self
                .client
                .send(Request::get(&queue_path).token(&self.organizer.token))
                .await
                .reply();
            queue.ok(200)["items"].as_array().expect("items").clone()
        };
        loop {
            // The queue read before and after the event: a sweeper may still end a hold
            // and promote meanwhile, and the two reads must see the same state.
            let before = read_queue().await;
            let seen = self.read_event(&event.id).await;
            let queue = read_queue().await;
            if queue != before {
                assert!(
                    started.elapsed() < SETTLE_TIMEOUT,
                    "{}: the queue still changes after {SETTLE_TIMEOUT:?}",
                    event.name
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let figures = event_figures(&seen);
            let head_fits = queue.first().is_some_and(|head| {
                number(head, "quantity")
                    <= type_figures(&seen, &text(head, "ticket_type_id")).available
            });
            if figures.held == 0 && !head_fits {
                check_seats(&seen, &format!("{path} at the end"));
                assert_eq!(
                    figures.sold + figures.available,
                    figures.capacity.expect("capacity"),
                    "no seat is lost: {seen}"
                );
                assert_eq!(
                    number(&seen["availability"], "waitlist_count"),
                    queue.len() as u64,
                    "waitlist_count counts the queue: {seen}"
                );
                return seen;
            }
            assert!(
                started.elapsed() < SETTLE_TIMEOUT,
                "{}: holds still counted, or a seat free while the queue's head would fit, after {SETTLE_TIMEOUT:?}: {seen}\nqueue: {}",
                event.name,
                Value::Array(queue)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Books every free seat of the event, type by type, for fresh users (no queue
    /// entry may fit, so this takes nobody's turn); then nothing more can be booked.
    async fn drain(&self, event: &EventPlan) {
        let before = event_figures(&self.read_event(&event.id).await);
        let mut drained = 0;
        let mut buyers = 0;
        for ty in &event.types {
            loop {
                let free = type_figures(&self.read_event(&event.id).await, ty).available;
                if free == 0 {
                    break;
                }
                let quantity = free.min(4);
                let buyer = self
                    .client
                    .attendee(&format!(
                        "drain.{}.{buyers}@example.org",
                        event.name.to_lowercase()
                    ))
                    .await;
                buyers += 1;
                let body =
                    json!({"quantity": quantity, "ticket_type_id": ty, "on_sold_out": "fail"});
                let path = format!("/events/{}/bookings", event.id);
                let started = Instant::now();
                let booking = loop {
                    let reply = self
                        .client
                        .send(Request::post(&path, body.clone()).token(&buyer.token))
                        .await
                        .reply();
                    let refused = match reply.status {
                        201 => break reply.body["booking"].clone(),
                        409 if reply.code() == "sold_out" => true,
                        503 if reply.is_unavailable() && self.config.unavailable_allowed => true,
                        _ => false,
                    };
                    assert!(
                        refused && started.elapsed() < self.config.gate_catch_up,
                        "{}: booking {quantity} seats the figures show free: {reply}",
                        event.name
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                };
                if started.elapsed() > Duration::from_secs(1) {
                    eprintln!(
                        "{}: free seats were bookable only after {:.1?}",
                        event.name,
                        started.elapsed()
                    );
                }
                assert_eq!(
                    (&booking["quantity"], &booking["status"]),
                    (&json!(quantity), &json!("confirmed")),
                    "{booking}"
                );
                drained += quantity;
            }
        }
        let after = self.read_event(&event.id).await;
        check_seats(&after, &format!("{} after the drain", event.name));
        assert_eq!(
            event_figures(&after).sold,
            before.sold + drained,
            "{}: sold grew by the seats drained: {after}",
            event.name
        );
        let late = self
            .client
            .attendee(&format!(
                "drain.{}.late@example.org",
                event.name.to_lowercase()
            ))
            .await;
        for ty in &event.types {
            assert_eq!(type_figures(&after, ty).available, 0, "{after}");
            let body = json!({"quantity": 1, "ticket_type_id": ty, "on_sold_out": "fail"});
            let reply = self
                .client
                .send(
                    Request::post(&format!("/events/{}/bookings", event.id), body)
                        .token(&late.token),
                )
                .await;
            match reply {
                Answer::Reply(reply) => {
                    reply.problem(409, "sold_out");
                }
                Answer::Lost(lost) => panic!("{lost}"),
            }
        }
    }
}

/// Checks one client's bookings and entries, as the server lists them now, against its
/// record; returns the ids of the bookings its promoted entries made.
fn check_client(ledger: &Ledger, bookings: &[Value], entries: &[Value]) -> Vec<String> {
    let who = format!("client {}", ledger.client);
    let by_id: HashMap<String, &Value> = bookings.iter().map(|b| (text(b, "id"), b)).collect();
    for (id, seen) in &ledger.bookings {
        let booking = by_id
            .get(id)
            .unwrap_or_else(|| panic!("{who}: booking {id} it saw is gone"));
        assert!(
            seen.states.contains(&seats_of(booking)),
            "{who}: booking {id} holds {} seats (0 = cancelled); the client expects one of {:?}: {booking}",
            seats_of(booking),
            seen.states
        );
        assert_eq!(
            (&booking["event_id"], &booking["ticket_type_id"]),
            (&json!(seen.event_id), &json!(seen.ticket_type_id)),
            "{who}: {booking}"
        );
    }
    // Promoted entries and the bookings they made.
    let mut promotions = Vec::new();
    for entry in entries.iter().filter(|e| e["status"] == "promoted") {
        let booking_id = text(entry, "booking_id");
        let booking = by_id.get(&booking_id).unwrap_or_else(|| {
            panic!("{who}: the booking of a promoted entry is not the user's: {entry}")
        });
        assert_eq!(
            (
                &booking["source"],
                &booking["event_id"],
                &booking["ticket_type_id"]
            ),
            (
                &json!("waitlist"),
                &entry["event_id"],
                &entry["ticket_type_id"]
            ),
            "{who}: a promotion's booking: {booking} for {entry}"
        );
        assert!(
            seats_of(booking) <= number(entry, "quantity")
                && number(booking, "quantity") <= number(entry, "quantity"),
            "{who}: a promotion books the entry's quantity (less only if cancelled since): {booking} for {entry}"
        );
        promotions.push(booking_id);
    }
    let promoted: HashSet<&String> = promotions.iter().collect();
    let mut unannounced = Vec::new();
    for booking in bookings {
        let id = text(booking, "id");
        let announced = ledger.bookings.get(&id).is_some_and(|b| b.via_reply);
        if booking["source"] == "waitlist" {
            assert!(
                promoted.contains(&id),
                "{who}: a waitlist booking no promoted entry made: {booking}"
            );
        } else if !announced {
            unannounced.push(booking.clone());
        }
    }
    assert!(
        unannounced.len() <= ledger.unknown_bookings,
        "{who}: bookings no answer announced ({} requests were lost): {unannounced:?}",
        ledger.unknown_bookings
    );
    // Entries.
    let entry_by_id: HashMap<String, &Value> = entries.iter().map(|e| (text(e, "id"), e)).collect();
    for (id, seen) in &ledger.entries {
        let entry = entry_by_id
            .get(id)
            .unwrap_or_else(|| panic!("{who}: entry {id} it saw is gone"));
        let status = entry["status"].as_str().unwrap_or("");
        let expected: &[&str] = match seen.left {
            Left::Yes => &["left"],
            Left::No => &["waiting", "promoted"],
            Left::Maybe => &["waiting", "promoted", "left"],
        };
        assert!(
            expected.contains(&status),
            "{who}: entry {id} is {status}, expected one of {expected:?}: {entry}"
        );
        assert_eq!(
            (
                &entry["event_id"],
                &entry["ticket_type_id"],
                &entry["quantity"]
            ),
            (
                &json!(seen.event_id),
                &json!(seen.ticket_type_id),
                &json!(seen.quantity)
            ),
            "{who}: {entry}"
        );
    }
    let unannounced_entries: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            !ledger
                .entries
                .get(&text(e, "id"))
                .is_some_and(|s| s.via_reply)
        })
        .collect();
    assert!(
        unannounced_entries.len() <= ledger.unknown_entries,
        "{who}: waitlist entries no answer announced ({} requests were lost): {unannounced_entries:?}",
        ledger.unknown_entries
    );
    promotions
}
