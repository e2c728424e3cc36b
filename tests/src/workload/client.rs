//! One client of the workload: random operations in sequence, every answer checked
//! against the contract and against what the client was told before, and the seat
//! figures of the event it touched checked after each operation.

use super::ledger::{Ledger, Left, seats_of};
use super::{EventPlan, Stats, Workload};
use crate::cluster::{Answer, Reply, Request, User};
use crate::seats::{check_seats, number, text};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// What came of a request, as the workload sees it.
enum Outcome {
    /// The server answered (never with a 5xx).
    Done(Reply),
    /// 503 `service_unavailable`: not done.
    Unavailable,
    /// Its server was killed meanwhile: maybe done.
    Lost,
}

/// A live hold of the client's, as the server described it.
struct Hold {
    id: String,
    ticket_type_id: String,
    quantity: u64,
    expires_at: DateTime<Utc>,
}

struct Client {
    w: Arc<Workload>,
    index: usize,
    rng: StdRng,
    ledger: Ledger,
    holds: Vec<Hold>,
}

/// Runs client `index` as `user` to its end; returns its record.
pub(super) async fn run(w: Arc<Workload>, index: usize, user: User) -> Ledger {
    let _running = Running(w.clone());
    let seed = w.config.seed.wrapping_add(index as u64);
    let mut client = Client {
        rng: StdRng::seed_from_u64(seed),
        ledger: Ledger::new(index, user),
        holds: Vec::new(),
        index,
        w,
    };
    for op in 0..client.w.config.ops_per_client {
        let event = client
            .w
            .events
            .choose(&mut client.rng)
            .expect("events")
            .clone();
        let ty = if client.rng.random_bool(0.3) {
            None
        } else {
            event.types.choose(&mut client.rng).cloned()
        };
        let n = client.rng.random_range(1..=3);
        let context = format!("client {index} op {op}");
        let what = match client.rng.random_range(0..100) {
            0..15 => client.hold(&event, ty.as_deref(), n, &context).await,
            15..27 if !client.holds.is_empty() => client.confirm(&context).await,
            27..33 if !client.holds.is_empty() => client.release(&context).await,
            15..33 => client.hold(&event, ty.as_deref(), n, &context).await,
            33..58 => client.book(&event, ty.as_deref(), n, &context).await,
            58..72 => client.cancel(&context).await,
            72..82 => client.join(&event, ty.as_deref(), n, &context).await,
            82..92 => client.leave(&context).await,
            92..95 => client.change_capacity(&event, &context).await,
            95..97 => client.change_type(&event, &context).await,
            _ => client.look_at_hold(&context).await,
        };
        client
            .check_event(&event, &format!("{context} ({what})"))
            .await;
        client.w.progress.fetch_add(1, Ordering::Relaxed);
    }
    client.ledger
}

/// Counts a client as ended when dropped, also when it fails.
struct Running(Arc<Workload>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Client {
    fn token(&self) -> String {
        self.ledger.user.token.clone()
    }

    async fn send(&self, request: Request, context: &str) -> Outcome {
        let answer = self.w.client.send(request).await;
        match answer {
            Answer::Lost(_) => {
                Stats::bump(&self.w.stats.lost);
                Outcome::Lost
            }
            Answer::Reply(reply) if reply.is_unavailable() => {
                assert!(
                    self.w.config.unavailable_allowed,
                    "{context}: 503 while no fault was injected: {reply}"
                );
                Stats::bump(&self.w.stats.unavailable);
                Outcome::Unavailable
            }
            Answer::Reply(reply) => {
                assert!(reply.status < 500, "{context}: server error: {reply}");
                Outcome::Done(reply)
            }
        }
    }

    /// Asserts `reply` is one of the refusals `allowed` (status, code) as problem+json.
    #[track_caller]
    fn refused(&self, reply: &Reply, allowed: &[(u16, &str)], context: &str) {
        assert!(
            allowed.contains(&(reply.status, reply.code())),
            "{context}: expected one of {allowed:?}: {reply}"
        );
        reply.problem(reply.status, reply.code());
        Stats::bump(&self.w.stats.refusals);
    }

    async fn hold(
        &mut self,
        event: &EventPlan,
        ty: Option<&str>,
        n: u64,
        context: &str,
    ) -> &'static str {
        let before = Utc::now();
        let body = seats_body(n, ty);
        let request =
            Request::post(&format!("/events/{}/holds", event.id), body).token(&self.token());
        match self.send(request, context).await {
            Outcome::Done(reply) if reply.status == 201 => {
                let hold = reply.ok(201);
                assert_eq!(hold["event_id"], event.id, "{context}: {reply}");
                assert_eq!(hold["quantity"], n, "{context}: {reply}");
                let ticket_type_id = text(hold, "ticket_type_id");
                assert_eq!(
                    ticket_type_id,
                    ty.unwrap_or(&event.types[0]),
                    "{context}: the asked type, or the first: {reply}"
                );
                let expires_at = time(hold, "expires_at");
                let ttl = chrono::Duration::from_std(self.w.config.hold_ttl).expect("ttl");
                assert!(
                    expires_at >= before + ttl - chrono::Duration::seconds(1)
                        && expires_at <= Utc::now() + ttl + chrono::Duration::seconds(1),
                    "{context}: a hold lasts HOLD_TTL_SECS: {reply}"
                );
                self.holds.push(Hold {
                    id: text(hold, "id"),
                    ticket_type_id,
                    quantity: n,
                    expires_at,
                });
                Stats::bump(&self.w.stats.holds);
            }
            Outcome::Done(reply) => self.refused(
                &reply,
                &[(409, "sold_out"), (409, "purchase_limit_exceeded")],
                context,
            ),
            Outcome::Unavailable | Outcome::Lost => {}
        }
        "hold"
    }

    async fn confirm(&mut self, context: &str) -> &'static str {
        let i = self.rng.random_range(0..self.holds.len());
        let hold = self.holds.swap_remove(i);
        let request =
            Request::post_empty(&format!("/holds/{}/confirm", hold.id)).token(&self.token());
        match self.send(request, context).await {
            Outcome::Done(reply) if reply.status == 201 => {
                let booking = reply.ok(201);
                assert_eq!(
                    (
                        &booking["quantity"],
                        &booking["ticket_type_id"],
                        &booking["source"],
                        &booking["status"]
                    ),
                    (
                        &json!(hold.quantity),
                        &json!(hold.ticket_type_id),
                        &json!("hold"),
                        &json!("confirmed")
                    ),
                    "{context}: the booking of a confirmed hold: {reply}"
                );
                self.ledger.saw_booking(booking, true, context);
                Stats::bump(&self.w.stats.confirms);
            }
            Outcome::Done(reply) => {
                self.refused(&reply, &[(410, "hold_expired")], context);
                assert!(
                    Utc::now() >= hold.expires_at,
                    "{context}: 410 for a hold that expires at {}: {reply}",
                    hold.expires_at
                );
                Stats::bump(&self.w.stats.expired);
            }
            // Not done: the hold is still the client's.
            Outcome::Unavailable => self.holds.push(hold),
            Outcome::Lost => self.ledger.unknown_bookings += 1,
        }
        "confirm"
    }

    async fn release(&mut self, context: &str) -> &'static str {
        let i = self.rng.random_range(0..self.holds.len());
        let hold = self.holds.swap_remove(i);
        let request = Request::delete(&format!("/holds/{}", hold.id)).token(&self.token());
        match self.send(request, context).await {
            Outcome::Done(reply) if reply.status == 204 => {
                assert_eq!(reply.body, Value::Null, "{context}: {reply}");
                Stats::bump(&self.w.stats.releases);
            }
            Outcome::Done(reply) => {
                self.refused(&reply, &[(404, "not_found")], context);
                assert!(
                    Utc::now() >= hold.expires_at,
                    "{context}: 404 for the client's live hold (expires at {}): {reply}",
                    hold.expires_at
                );
            }
            Outcome::Unavailable => self.holds.push(hold),
            Outcome::Lost => {}
        }
        "release"
    }

    /// `GET /holds/{id}` of one of the client's holds: 200 while live, 404 once expired.
    async fn look_at_hold(&mut self, context: &str) -> &'static str {
        let Some(hold) = self.holds.choose(&mut self.rng) else {
            return "nothing";
        };
        let before = Utc::now();
        let request = Request::get(&format!("/holds/{}", hold.id)).token(&self.token());
        match self.send(request, context).await {
            Outcome::Done(reply) if reply.status == 200 => {
                let seen = reply.ok(200);
                assert_eq!(
                    (&seen["id"], &seen["quantity"]),
                    (&json!(hold.id), &json!(hold.quantity)),
                    "{context}: {reply}"
                );
                assert!(
                    hold.expires_at > before,
                    "{context}: a hold past its expiry is still shown: {reply}"
                );
            }
            Outcome::Done(reply) => {
                reply.problem(404, "not_found");
                assert!(
                    Utc::now() >= hold.expires_at,
                    "{context}: 404 for the client's live hold (expires at {}): {reply}",
                    hold.expires_at
                );
            }
            Outcome::Unavailable | Outcome::Lost => {}
        }
        "look at a hold"
    }

    async fn book(
        &mut self,
        event: &EventPlan,
        ty: Option<&str>,
        n: u64,
        context: &str,
    ) -> &'static str {
        let waitlist = self.rng.random_bool(0.5);
        let allow_partial = self.rng.random_bool(0.3);
        let key = self
            .rng
            .random_bool(0.3)
            .then(|| format!("client-{}-key-{}", self.index, self.rng.random_range(0..3)));
        let mut body = seats_body(n, ty);
        body["on_sold_out"] = json!(if waitlist { "waitlist" } else { "fail" });
        body["allow_partial"] = json!(allow_partial);
        let mut request =
            Request::post(&format!("/events/{}/bookings", event.id), body).token(&self.token());
        if let Some(key) = &key {
            request = request.header("Idempotency-Key", key);
        }
        let context = &format!(
            "{context} (book {n}, waitlist {waitlist}, partial {allow_partial}, key {key:?})"
        );
        match self.send(request, context).await {
            Outcome::Done(reply) if reply.status == 201 || reply.status == 202 => {
                let outcome = reply.ok(reply.status).clone();
                self.booked(
                    event,
                    ty,
                    n,
                    (waitlist, allow_partial, key.is_some()),
                    &reply,
                    &outcome,
                    context,
                );
            }
            Outcome::Done(reply) => {
                let mut allowed = Vec::new();
                if !waitlist {
                    allowed.push((409, "sold_out"));
                } else {
                    allowed.push((409, "already_waitlisted"));
                }
                if event.per_user_limit.is_some() {
                    allowed.push((409, "purchase_limit_exceeded"));
                }
                if key.is_some() {
                    allowed.push((422, "idempotency_key_reused"));
                }
                self.refused(&reply, &allowed, context);
            }
            Outcome::Unavailable => {}
            Outcome::Lost => {
                self.ledger.unknown_bookings += 1;
                self.ledger.unknown_entries += 1;
            }
        }
        "book"
    }

    /// Checks a 201 or 202 BookingOutcome and records it.
    #[allow(clippy::too_many_arguments)]
    fn booked(
        &mut self,
        event: &EventPlan,
        ty: Option<&str>,
        n: u64,
        (waitlist, allow_partial, keyed): (bool, bool, bool),
        reply: &Reply,
        outcome: &Value,
        context: &str,
    ) {
        let booking = &outcome["booking"];
        let entry = &outcome["waitlist_entry"];
        let known = (booking.is_object()
            && self.ledger.bookings.contains_key(&text(booking, "id")))
            || (booking.is_null()
                && entry.is_object()
                && self.ledger.entries.contains_key(&text(entry, "id")));
        // The first request with this key may have been lost with its server, and what it
        // made may have changed since (cancelled, promoted) without the client knowing.
        let changed_since =
            booking["status"] == "cancelled" || (booking.is_null() && entry["status"] != "waiting");
        let repeat = known || (keyed && self.ledger.unknown_bookings > 0 && changed_since);
        if repeat {
            // An idempotent repeat: the first outcome, loaded as it is now.
            assert!(
                keyed,
                "{context}: a known booking or entry for a new request: {reply}"
            );
            if booking.is_object() {
                self.ledger.saw_booking(booking, known, context);
            }
            if entry.is_object() {
                self.ledger.saw_entry(entry, known, context);
            }
            Stats::bump(&self.w.stats.repeats);
            return;
        }
        let type_id = ty.unwrap_or(&event.types[0]);
        for part in [booking, entry].into_iter().filter(|p| p.is_object()) {
            assert_eq!(
                (&part["event_id"], &part["ticket_type_id"]),
                (&json!(event.id), &json!(type_id)),
                "{context}: {reply}"
            );
        }
        if reply.status == 202 {
            assert!(
                waitlist,
                "{context}: queued though on_sold_out is fail: {reply}"
            );
            assert!(booking.is_null(), "{context}: {reply}");
            assert_eq!(
                (&entry["status"], &entry["quantity"]),
                (&json!("waiting"), &json!(n)),
                "{context}: {reply}"
            );
            self.ledger.saw_entry(entry, true, context);
            Stats::bump(&self.w.stats.queued);
            return;
        }
        assert_eq!(
            (&booking["status"], &booking["source"]),
            (&json!("confirmed"), &json!("direct")),
            "{context}: {reply}"
        );
        let got = number(booking, "quantity");
        assert!((1..=n).contains(&got), "{context}: {reply}");
        if got < n {
            assert!(
                allow_partial,
                "{context}: part of a booking not asked for: {reply}"
            );
            if waitlist {
                assert_eq!(
                    (&entry["status"], &entry["quantity"]),
                    (&json!("waiting"), &json!(n - got)),
                    "{context}: the rest waits: {reply}"
                );
            } else {
                assert!(entry.is_null(), "{context}: {reply}");
            }
            Stats::bump(&self.w.stats.partial);
        } else {
            assert!(entry.is_null(), "{context}: {reply}");
        }
        self.ledger.saw_booking(booking, true, context);
        if entry.is_object() {
            self.ledger.saw_entry(entry, true, context);
        }
        Stats::bump(&self.w.stats.booked);
    }

    async fn cancel(&mut self, context: &str) -> &'static str {
        let listed = match self
            .w
            .client
            .try_every_item("/users/me/bookings?status=confirmed", &self.token())
            .await
        {
            Ok(items) => items,
            Err(answer) => {
                self.unfinished_read(answer, context);
                return "cancel";
            }
        };
        for booking in &listed {
            assert_eq!(
                booking["status"], "confirmed",
                "{context}: ?status=confirmed lists {booking}"
            );
            self.ledger.saw_booking(booking, false, context);
        }
        let Some(booking) = listed.choose(&mut self.rng) else {
            return "cancel";
        };
        let id = text(booking, "id");
        let held = seats_of(booking);
        let asked = self
            .rng
            .random_bool(0.5)
            .then(|| self.rng.random_range(1..=held));
        let mut request =
            Request::post_empty(&format!("/bookings/{id}/cancel")).token(&self.token());
        if let Some(k) = asked {
            request = request.body(json!({"quantity": k}));
        }
        let context = &format!("{context} (cancel {asked:?} of {held})");
        match self.send(request, context).await {
            Outcome::Done(reply) => {
                let after = reply.ok(200);
                assert_eq!(after["id"], json!(id), "{context}: {reply}");
                self.ledger.cancelled(&id, asked, after, context);
                if after["status"] == "cancelled" {
                    assert!(after["cancelled_at"].is_string(), "{context}: {reply}");
                    Stats::bump(&self.w.stats.cancels);
                } else {
                    Stats::bump(&self.w.stats.partial_cancels);
                }
            }
            Outcome::Unavailable => {}
            Outcome::Lost => self.ledger.maybe_cancelled(&id, asked),
        }
        "cancel"
    }

    async fn join(
        &mut self,
        event: &EventPlan,
        ty: Option<&str>,
        n: u64,
        context: &str,
    ) -> &'static str {
        let request = Request::post(&format!("/events/{}/waitlist", event.id), seats_body(n, ty))
            .token(&self.token());
        match self.send(request, context).await {
            Outcome::Done(reply) if reply.status == 201 => {
                let entry = reply.ok(201);
                assert_eq!(
                    (
                        &entry["event_id"],
                        &entry["ticket_type_id"],
                        &entry["quantity"],
                        &entry["status"]
                    ),
                    (
                        &json!(event.id),
                        &json!(ty.unwrap_or(&event.types[0])),
                        &json!(n),
                        &json!("waiting")
                    ),
                    "{context}: {reply}"
                );
                assert!(
                    entry["position"].as_u64().is_some_and(|p| p >= 1),
                    "{context}: {reply}"
                );
                self.ledger.saw_entry(entry, true, context);
                Stats::bump(&self.w.stats.joins);
            }
            Outcome::Done(reply) => {
                let mut allowed = vec![(409, "tickets_available"), (409, "already_waitlisted")];
                if event.per_user_limit.is_some() {
                    allowed.push((409, "purchase_limit_exceeded"));
                }
                self.refused(&reply, &allowed, context);
            }
            Outcome::Unavailable => {}
            Outcome::Lost => self.ledger.unknown_entries += 1,
        }
        "join"
    }

    async fn leave(&mut self, context: &str) -> &'static str {
        let listed = match self
            .w
            .client
            .try_every_item("/users/me/waitlist", &self.token())
            .await
        {
            Ok(items) => items,
            Err(answer) => {
                self.unfinished_read(answer, context);
                return "leave";
            }
        };
        for entry in &listed {
            self.ledger.saw_entry(entry, false, context);
        }
        let waiting: Vec<&Value> = listed.iter().filter(|e| e["status"] == "waiting").collect();
        let Some(entry) = waiting.choose(&mut self.rng) else {
            return "leave";
        };
        let id = text(entry, "id");
        let request = Request::delete(&format!("/waitlist/{id}")).token(&self.token());
        match self.send(request, context).await {
            Outcome::Done(reply) if reply.status == 204 => {
                self.ledger.left(&id, Left::Yes);
                Stats::bump(&self.w.stats.leaves);
            }
            // Promoted between the listing and the request.
            Outcome::Done(reply) => self.refused(&reply, &[(409, "not_waiting")], context),
            Outcome::Unavailable => {}
            Outcome::Lost => self.ledger.left(&id, Left::Maybe),
        }
        "leave"
    }

    async fn change_capacity(&mut self, event: &EventPlan, context: &str) -> &'static str {
        let (low, high) = event.capacities;
        let capacity = self.rng.random_range(low..=high);
        let request = Request::patch(
            &format!("/events/{}", event.id),
            json!({"capacity": capacity}),
        )
        .token(&self.w.organizer.token);
        match self.send(request, context).await {
            Outcome::Done(reply) if reply.status == 200 => {
                let changed = reply.ok(200);
                assert_eq!(changed["capacity"], capacity, "{context}: {reply}");
                check_seats(changed, &format!("{context}: capacity {capacity}"));
                Stats::bump(&self.w.stats.capacity_changes);
            }
            Outcome::Done(reply) => self.refused(&reply, &[(409, "capacity_below_sold")], context),
            Outcome::Unavailable | Outcome::Lost => {}
        }
        "capacity change"
    }

    /// Moves a ticket type's cap (at least 3, the most a client asks for, so no waiting
    /// entry is closed, and at most the lowest capacity the event takes, so it is
    /// valid) or lifts it, and sometimes its price.
    async fn change_type(&mut self, event: &EventPlan, context: &str) -> &'static str {
        let ty = event.types.choose(&mut self.rng).expect("types").clone();
        let lowest = event.capacities.0;
        let capped = self.rng.random_bool(0.8);
        let quantity = capped.then(|| self.rng.random_range(3..=lowest));
        let mut body = json!({"quantity": quantity});
        if self.rng.random_bool(0.3) {
            body["price_cents"] = json!(self.rng.random_range(1000..=9000));
        }
        let path = format!("/events/{}/ticket-types/{ty}", event.id);
        let request = Request::patch(&path, body).token(&self.w.organizer.token);
        match self.send(request, context).await {
            Outcome::Done(reply) if reply.status == 200 => {
                let changed = reply.ok(200);
                assert_eq!(changed["quantity"], json!(quantity), "{context}: {reply}");
                assert_eq!(changed["status"], "on_sale", "{context}: {reply}");
                Stats::bump(&self.w.stats.type_changes);
            }
            Outcome::Done(reply) => self.refused(&reply, &[(409, "quantity_below_sold")], context),
            Outcome::Unavailable | Outcome::Lost => {}
        }
        "ticket type change"
    }

    /// Invariant 1 on the event just touched.
    async fn check_event(&self, event: &EventPlan, context: &str) {
        let request = Request::get(&format!("/events/{}", event.id));
        if let Outcome::Done(reply) = self.send(request, context).await {
            check_seats(reply.ok(200), context);
        }
    }

    /// A listing that did not answer 200: only 503 (during faults) or a lost request.
    fn unfinished_read(&self, answer: Answer, context: &str) {
        match answer {
            Answer::Lost(_) => Stats::bump(&self.w.stats.lost),
            Answer::Reply(reply) => {
                assert!(
                    reply.is_unavailable() && self.w.config.unavailable_allowed,
                    "{context}: a listing failed: {reply}"
                );
                Stats::bump(&self.w.stats.unavailable);
            }
        }
    }
}

/// `{"quantity": n}` plus `ticket_type_id` when given.
fn seats_body(n: u64, ty: Option<&str>) -> Value {
    let mut body = json!({"quantity": n});
    if let Some(ty) = ty {
        body["ticket_type_id"] = json!(ty);
    }
    body
}

/// An RFC 3339 time field.
#[track_caller]
fn time(value: &Value, field: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&text(value, field))
        .unwrap_or_else(|e| panic!("`{field}` is not RFC 3339 ({e}) in {value}"))
        .with_timezone(&Utc)
}
