//! Ticket types after creation: `POST /events/{id}/ticket-types`, `PATCH` and `DELETE
//! /events/{id}/ticket-types/{type_id}`, alone and racing bookings.

use crate::support::{
    api, assert_seats, attendee, attendees, book, create_event, event, event_body, hold, join,
    my_bookings, my_entries, organizer, send, text,
};
use boxoffice_e2e::TestServer;
use serde_json::{Value, json};

const VIP_PRICE: u64 = 9000;
const NEW_VIP_PRICE: u64 = 9500;

/// `PATCH /events/{event}/ticket-types/{ty}`.
async fn patch_type(
    server: &TestServer,
    token: &str,
    event: &str,
    ty: &str,
    body: Value,
) -> crate::support::Reply {
    let path = format!("/events/{event}/ticket-types/{ty}");
    api(server, "PATCH", &path, Some(token), Some(body)).await
}

/// `DELETE /events/{event}/ticket-types/{ty}`.
async fn retire(server: &TestServer, token: &str, event: &str, ty: &str) -> crate::support::Reply {
    let path = format!("/events/{event}/ticket-types/{ty}");
    api(server, "DELETE", &path, Some(token), None).await
}

/// The type named `name` of event `id`, as `GET /events/{id}` shows it.
async fn type_named(server: &TestServer, id: &str, name: &str) -> Value {
    let e = event(server, id).await;
    let types = e["ticket_types"].as_array().expect("ticket types");
    types
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no type {name} in {e}"))
        .clone()
}

crate::on_both_stores!(changing_ticket_types, super::changing_ticket_types_body);
async fn changing_ticket_types_body(server: TestServer) {
    let (org, _) = organizer(&server, "org.types@example.org").await;
    let (other_org, _) = organizer(&server, "other.types@example.org").await;
    let (ann, _) = attendee(&server, "ann.types@example.org").await;
    let (bob, _) = attendee(&server, "bob.types@example.org").await;
    let body = event_body(
        "Type changes",
        json!({"capacity": 10, "ticket_types": [
            {"name": "VIP", "price_cents": VIP_PRICE, "quantity": 2},
            {"name": "General", "price_cents": 2000}]}),
    );
    let created = create_event(&server, &org, body).await;
    let id = text(&created, "id");
    let vip = text(&created["ticket_types"][0], "id");
    let general = text(&created["ticket_types"][1], "id");
    assert_eq!(created["ticket_types"][0]["status"], "on_sale");

    let vip_body = |n: u64| json!({"quantity": n, "ticket_type_id": vip});
    let sold = book(&server, &ann, &id, vip_body(2)).await;
    assert_eq!(sold.ok(201)["booking"]["price_cents"], VIP_PRICE);
    let waiting = book(&server, &bob, &id, vip_body(1)).await;
    let entry = waiting.ok(202)["waitlist_entry"].clone();
    assert_eq!(entry["closed_reason"], Value::Null);

    // Who may, and what is refused without a change.
    let raise = json!({"quantity": 3, "price_cents": NEW_VIP_PRICE});
    patch_type(&server, &other_org, &id, &vip, raise.clone())
        .await
        .problem(403, "forbidden");
    patch_type(&server, &ann, &id, &vip, raise.clone())
        .await
        .problem(403, "forbidden");
    let unknown = uuid::Uuid::new_v4().to_string();
    patch_type(&server, &org, &id, &unknown, raise.clone())
        .await
        .problem(404, "not_found");
    let broken = json!({"name": " ", "price_cents": -1, "quantity": 11});
    let mut fields = patch_type(&server, &org, &id, &vip, broken)
        .await
        .invalid_fields();
    fields.sort();
    assert_eq!(fields, ["name", "price_cents", "quantity"]);
    let taken = json!({"name": "general"});
    let fields = patch_type(&server, &org, &id, &vip, taken)
        .await
        .invalid_fields();
    assert_eq!(fields, ["name"]);
    patch_type(&server, &org, &id, &vip, json!({"quantity": 1}))
        .await
        .problem(409, "quantity_below_sold");
    assert_seats(&server, &id, 10, 2, 0, 1, "after the refusals").await;

    // A raise promotes the queue at once, at the new price.
    let raised = patch_type(&server, &org, &id, &vip, raise).await;
    let raised = raised.ok(200);
    assert_eq!(
        (
            &raised["quantity"],
            &raised["price_cents"],
            &raised["sold"],
            &raised["available"]
        ),
        (&json!(3), &json!(NEW_VIP_PRICE), &json!(3), &json!(0)),
        "{raised}"
    );
    let promoted = my_entries(&server, &bob).await;
    assert_eq!(promoted[0]["status"], "promoted", "{promoted:?}");
    let bobs = my_bookings(&server, &bob, "").await;
    assert_eq!(bobs[0]["price_cents"], NEW_VIP_PRICE, "{bobs:?}");
    let anns = my_bookings(&server, &ann, "").await;
    assert_eq!(
        anns[0]["price_cents"], VIP_PRICE,
        "bookings keep their price"
    );

    // A type added later sells after the others.
    let student = json!({"name": "Student", "price_cents": 500, "quantity": 4});
    let path = format!("/events/{id}/ticket-types");
    let added = api(&server, "POST", &path, Some(&org), Some(student.clone())).await;
    let location = added.header("location").expect("a Location").to_owned();
    let added = added.ok(201).clone();
    let path_of_type = location.trim_start_matches("/api/v1");
    let read = crate::support::get(&server, path_of_type, None).await;
    assert_eq!(read.ok(200), &added);
    assert_eq!(
        (
            &added["name"],
            &added["quantity"],
            &added["sold"],
            &added["status"]
        ),
        (&json!("Student"), &json!(4), &json!(0), &json!("on_sale"))
    );
    api(&server, "POST", &path, Some(&org), Some(student))
        .await
        .invalid_fields();
    let names: Vec<_> = event(&server, &id).await["ticket_types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| text(t, "name"))
        .collect();
    assert_eq!(names, ["VIP", "General", "Student"]);
    let student_id = text(&added, "id");
    let held = hold(
        &server,
        &ann,
        &id,
        json!({"quantity": 1, "ticket_type_id": student_id}),
    )
    .await;
    assert_eq!(held.ok(201)["price_cents"], 500);

    // Retiring stops sales of the type, closes its queue, keeps its bookings.
    let (cid, _) = attendee(&server, "cid.types@example.org").await;
    let queued = join(&server, &cid, &id, vip_body(1)).await;
    let queued_id = text(queued.ok(201), "id");
    retire(&server, &ann, &id, &vip)
        .await
        .problem(403, "forbidden");
    retire(&server, &org, &id, &vip).await.empty(204);
    retire(&server, &org, &id, &vip).await.empty(204);
    let retired = type_named(&server, &id, "VIP").await;
    assert_eq!(
        (&retired["status"], &retired["sold"], &retired["available"]),
        (&json!("retired"), &json!(3), &json!(0))
    );
    let closed = my_entries(&server, &cid).await;
    let closed = closed
        .iter()
        .find(|e| e["id"] == queued_id.as_str())
        .expect("listed");
    assert_eq!(
        (&closed["status"], &closed["closed_reason"]),
        (&json!("closed"), &json!("ticket_type_retired"))
    );
    book(&server, &cid, &id, vip_body(1))
        .await
        .problem(409, "ticket_type_retired");
    hold(&server, &cid, &id, vip_body(1))
        .await
        .problem(409, "ticket_type_retired");
    join(&server, &cid, &id, vip_body(1))
        .await
        .problem(409, "ticket_type_retired");
    patch_type(&server, &org, &id, &vip, json!({"price_cents": 1}))
        .await
        .problem(409, "ticket_type_retired");
    let default = book(&server, &cid, &id, json!({"quantity": 1})).await;
    assert_eq!(
        default.ok(201)["booking"]["ticket_type_id"],
        general.as_str(),
        "the first type on sale"
    );
    assert_eq!(
        my_bookings(&server, &ann, "").await.len(),
        1,
        "ann's booking stays"
    );

    // A lifted cap; a cancelled event changes no type.
    let lifted = patch_type(&server, &org, &id, &student_id, json!({"quantity": null})).await;
    assert_eq!(lifted.ok(200)["quantity"], Value::Null);
    api(
        &server,
        "DELETE",
        &format!("/events/{id}"),
        Some(&org),
        None,
    )
    .await
    .empty(204);
    patch_type(&server, &org, &id, &general, json!({"price_cents": 1}))
        .await
        .problem(409, "event_cancelled");

    // The document describes the routes.
    let doc = send(server.client.get(server.url("/api/openapi.json"))).await;
    let paths = &doc.ok(200)["paths"];
    let item = &paths["/api/v1/events/{id}/ticket-types/{type_id}"];
    let methods = ["get", "patch", "delete"];
    assert!(methods.iter().all(|m| item[m].is_object()), "{item}");
    assert!(paths["/api/v1/events/{id}/ticket-types"]["post"].is_object());
}

crate::on_both_stores!(
    type_changes_racing_bookings,
    super::type_changes_racing_bookings_body
);
async fn type_changes_racing_bookings_body(server: TestServer) {
    const CLIENTS: usize = 40;
    let (org, _) = organizer(&server, "org.race.types@example.org").await;
    let body = event_body(
        "Racing type changes",
        json!({"capacity": 30, "ticket_types": [
            {"name": "VIP", "price_cents": VIP_PRICE, "quantity": 10},
            {"name": "General", "price_cents": 2000}]}),
    );
    let created = create_event(&server, &org, body).await;
    let id = text(&created, "id");
    let vip = text(&created["ticket_types"][0], "id");
    let clients = attendees(&server, "race.types.", CLIENTS).await;
    let books = clients.iter().map(|(token, _)| {
        let body = json!({"quantity": 2, "ticket_type_id": vip});
        let (server, id) = (&server, &id);
        async move {
            let reply = book(server, token, id, body).await;
            assert!(
                reply.status == 201 || reply.status == 202,
                "{:?}",
                reply.body
            );
        }
    });
    let changes = (0..12_u64).map(|i| {
        let body = if i == 6 {
            json!({"price_cents": NEW_VIP_PRICE})
        } else if i % 2 == 0 {
            json!({"quantity": 4 + i})
        } else {
            json!({"quantity": 20 - i})
        };
        let (server, org, id, vip) = (&server, &org, &id, &vip);
        async move {
            let reply = patch_type(server, org, id, vip, body).await;
            match reply.status {
                200 => {
                    let ty = &reply.body;
                    let taken =
                        ty["sold"].as_u64().expect("sold") + ty["held"].as_u64().expect("held");
                    assert!(ty["quantity"].as_u64().is_none_or(|q| taken <= q), "{ty}");
                }
                _ => {
                    reply.problem(409, "quantity_below_sold");
                }
            }
        }
    });
    tokio::join!(
        futures_util::future::join_all(books),
        futures_util::future::join_all(changes)
    );

    let e = event(&server, &id).await;
    let ty = &e["ticket_types"][0];
    let (sold, capacity) = (ty["sold"].as_u64().expect("sold"), ty["quantity"].as_u64());
    assert!(capacity.is_none_or(|q| sold <= q), "type oversold: {e}");
    let availability = &e["availability"];
    assert_eq!(
        availability["sold"].as_u64().expect("sold")
            + availability["available"].as_u64().expect("available"),
        30,
        "no seat lost: {e}"
    );
    let mut booked = 0;
    for (token, _) in &clients {
        for b in my_bookings(&server, token, "?status=confirmed").await {
            let price = b["price_cents"].as_u64().expect("price");
            assert!(price == VIP_PRICE || price == NEW_VIP_PRICE, "{b}");
            booked += b["quantity"].as_u64().expect("quantity");
        }
    }
    assert_eq!(booked, sold, "the bookings add up to the type's sold: {e}");
    let free = ty["available"].as_u64().expect("available");
    assert!(
        free < 2 || e["availability"]["waitlist_count"] == 0,
        "two seats are free while entries of two wait: {e}"
    );
}
