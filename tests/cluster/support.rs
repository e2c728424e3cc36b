//! Helpers of the cluster tests: events, bookings and the seat figures over a cluster.

use boxoffice_e2e::cluster::{ClusterClient, Reply, Request, User};
use serde_json::{Value, json};

/// Creates an event in 2031 (`fields` add to or replace the defaults) as `organizer`;
/// returns it.
pub async fn create_event(client: &ClusterClient, organizer: &User, fields: Value) -> Value {
    let mut body = json!({
        "name": "Cluster",
        "venue": "Hall C",
        "starts_at": "2031-06-01T18:00:00Z",
        "capacity": 100,
    });
    let object = body.as_object_mut().expect("object");
    for (key, value) in fields.as_object().expect("fields") {
        object.insert(key.clone(), value.clone());
    }
    let reply = client
        .send(Request::post("/events", body).token(&organizer.token))
        .await
        .reply();
    reply.ok(201).clone()
}

/// `POST /events/{id}/bookings` as `user`, on server `server` or round-robin.
pub async fn book(
    client: &ClusterClient,
    user: &User,
    event_id: &str,
    body: Value,
    server: Option<usize>,
) -> Reply {
    let mut request =
        Request::post(&format!("/events/{event_id}/bookings"), body).token(&user.token);
    if let Some(i) = server {
        request = request.on(i);
    }
    client.send(request).await.reply()
}

/// Asserts the event's availability as every one of `servers` shows it.
pub async fn assert_seats(
    client: &ClusterClient,
    servers: &[usize],
    event_id: &str,
    [capacity, sold, held, waitlist_count]: [u64; 4],
    context: &str,
) {
    for &i in servers {
        let reply = client
            .send(Request::get(&format!("/events/{event_id}")).on(i))
            .await
            .reply();
        let event = reply.ok(200);
        assert_eq!(
            event["availability"],
            json!({
                "capacity": capacity,
                "sold": sold,
                "held": held,
                "available": capacity - sold - held,
                "waitlist_count": waitlist_count,
            }),
            "availability {context}, on server {i}: {event}"
        );
    }
}

/// The event's waitlist entries of `status` ("waiting": in queue order) as its
/// organizer sees them.
pub async fn entries(
    client: &ClusterClient,
    organizer: &User,
    event_id: &str,
    status: &str,
) -> Vec<Value> {
    client
        .every_item(
            &format!("/events/{event_id}/waitlist?status={status}"),
            &organizer.token,
        )
        .await
}

/// The user's bookings, every status.
pub async fn bookings_of(client: &ClusterClient, user: &User) -> Vec<Value> {
    client.every_item("/users/me/bookings", &user.token).await
}

/// A text field.
#[track_caller]
pub fn text(value: &Value, field: &str) -> String {
    boxoffice_e2e::seats::text(value, field)
}
