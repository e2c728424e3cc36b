//! OpenAPI links: which operation's answer names the resource another operation takes,
//! so generated clients and stateful fuzzers can walk from an event to its holds,
//! bookings and waitlist entries.

use serde_json::{Value, json};

/// (operation, status, linked operation, where the linked `id` comes from).
const LINKS: &[(&str, &str, &str, &str)] = &[
    ("createEvent", "201", "getEvent", "$response.body#/id"),
    ("createEvent", "201", "updateEvent", "$response.body#/id"),
    ("createEvent", "201", "cancelEvent", "$response.body#/id"),
    ("createEvent", "201", "createHold", "$response.body#/id"),
    ("createEvent", "201", "bookTickets", "$response.body#/id"),
    ("createEvent", "201", "joinWaitlist", "$response.body#/id"),
    (
        "createEvent",
        "201",
        "listEventWaitlist",
        "$response.body#/id",
    ),
    ("createHold", "201", "getHold", "$response.body#/id"),
    ("createHold", "201", "confirmHold", "$response.body#/id"),
    ("createHold", "201", "releaseHold", "$response.body#/id"),
    ("confirmHold", "201", "getBooking", "$response.body#/id"),
    ("confirmHold", "201", "cancelBooking", "$response.body#/id"),
    (
        "bookTickets",
        "201",
        "getBooking",
        "$response.body#/booking/id",
    ),
    (
        "bookTickets",
        "201",
        "cancelBooking",
        "$response.body#/booking/id",
    ),
    (
        "bookTickets",
        "202",
        "leaveWaitlist",
        "$response.body#/waitlist_entry/id",
    ),
    ("joinWaitlist", "201", "leaveWaitlist", "$response.body#/id"),
    ("createEvent", "201", "checkIn", "$response.body#/id"),
    ("createEvent", "201", "listCheckIns", "$response.body#/id"),
    (
        "createEvent",
        "201",
        "getCheckInProgress",
        "$response.body#/id",
    ),
    (
        "confirmHold",
        "201",
        "listBookingTickets",
        "$response.body#/id",
    ),
    (
        "bookTickets",
        "201",
        "listBookingTickets",
        "$response.body#/booking/id",
    ),
    (
        "createApiToken",
        "201",
        "revokeApiToken",
        "$response.body#/api_token/id",
    ),
];

/// Adds [`LINKS`] to the responses of `document` (as JSON).
pub(super) fn add(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let Some(id) = operation["operationId"].as_str().map(ToOwned::to_owned) else {
            continue;
        };
        for (_, status, target, source) in LINKS.iter().filter(|(from, ..)| *from == id) {
            let response = &mut operation["responses"][*status];
            if let Some(response) = response.as_object_mut() {
                let links = response.entry("links").or_insert_with(|| json!({}));
                links[*target] = json!({"operationId": target, "parameters": {"id": source}});
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_link_joins_two_operations_of_the_document() {
        let document = serde_json::to_value(super::super::document()).expect("json");
        let ids: Vec<&str> = document["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.values())
            .filter_map(Value::as_object)
            .flat_map(|item| item.values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        for (from, status, to, _) in LINKS {
            assert!(ids.contains(from) && ids.contains(to), "{from} -> {to}");
            let linked = document["paths"]
                .as_object()
                .into_iter()
                .flat_map(|paths| paths.values())
                .filter_map(Value::as_object)
                .flat_map(|item| item.values())
                .find(|op| op["operationId"] == *from)
                .map(|op| op["responses"][*status]["links"][*to].clone());
            assert!(
                linked.is_some_and(|l| l["operationId"] == *to),
                "{from} {status} -> {to}"
            );
        }
    }
}
