//! Reading seat figures from an Event document and checking invariant 1 on them.

use serde_json::Value;

/// An event's `availability`, or a ticket type's figures (`capacity` is then its
/// `quantity`, `None` when uncapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// The event's capacity, or the type's quantity.
    pub capacity: Option<u64>,
    /// Seats sold.
    pub sold: u64,
    /// Seats held by live holds.
    pub held: u64,
    /// Seats that can be taken now.
    pub available: u64,
}

/// A number field of a JSON document.
#[track_caller]
#[must_use]
pub fn number(value: &Value, field: &str) -> u64 {
    value[field]
        .as_u64()
        .unwrap_or_else(|| panic!("`{field}` is not a count in {value}"))
}

/// A text field of a JSON document.
#[track_caller]
#[must_use]
pub fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is not a string in {value}"))
        .to_owned()
}

/// The event-wide figures of an Event document.
#[track_caller]
#[must_use]
pub fn event_figures(event: &Value) -> Figures {
    let a = &event["availability"];
    Figures {
        capacity: Some(number(a, "capacity")),
        sold: number(a, "sold"),
        held: number(a, "held"),
        available: number(a, "available"),
    }
}

/// The figures of the ticket type `id` in an Event document.
#[track_caller]
#[must_use]
pub fn type_figures(event: &Value, id: &str) -> Figures {
    let ty = ticket_types(event)
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no ticket type {id} in {event}"));
    Figures {
        capacity: ty["quantity"].as_u64(),
        sold: number(ty, "sold"),
        held: number(ty, "held"),
        available: number(ty, "available"),
    }
}

/// The ticket types of an Event document.
#[track_caller]
#[must_use]
pub fn ticket_types(event: &Value) -> &Vec<Value> {
    event["ticket_types"]
        .as_array()
        .unwrap_or_else(|| panic!("no ticket_types in {event}"))
}

/// Invariant 1 and the arithmetic of the contract on one Event document: `sold + held
/// <= capacity` for the event and for each type (`<= quantity` when capped),
/// `available = capacity - sold - held`, a type's `available` is what its cap and the
/// event leave, and the types add up to the event.
///
/// # Panics
/// When any of these fails; the message names `context`.
#[track_caller]
pub fn check_seats(event: &Value, context: &str) {
    let e = event_figures(event);
    let capacity = e.capacity.expect("an event has a capacity");
    assert!(
        e.sold + e.held <= capacity,
        "{context}: oversold: sold {} + held {} > capacity {capacity}: {event}",
        e.sold,
        e.held
    );
    assert_eq!(
        e.available,
        capacity - e.sold - e.held,
        "{context}: available != capacity - sold - held: {event}"
    );
    let (mut sold, mut held) = (0, 0);
    for ty in ticket_types(event) {
        let t = type_figures(event, &text(ty, "id"));
        sold += t.sold;
        held += t.held;
        assert!(
            t.sold + t.held <= capacity,
            "{context}: type over the event's capacity: {ty} in {event}"
        );
        let free = match t.capacity {
            Some(quantity) => {
                assert!(
                    t.sold + t.held <= quantity,
                    "{context}: capped type oversold: sold {} + held {} > quantity {quantity}: {event}",
                    t.sold,
                    t.held
                );
                (quantity - t.sold - t.held).min(e.available)
            }
            None => e.available,
        };
        assert_eq!(
            t.available, free,
            "{context}: a type's available is what its cap and the event leave: {ty} in {event}"
        );
    }
    assert_eq!(
        (sold, held),
        (e.sold, e.held),
        "{context}: the types' sold and held add up to the event's: {event}"
    );
}
