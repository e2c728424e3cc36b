//! The monitor: while the clients run, it reads every event's seat figures (for
//! invariant 1) and snapshots its waiting queue, checking that the queue keeps join order. The
//! snapshots later show whether anyone was promoted past an entry ahead of it.

use super::Workload;
use crate::cluster::{Answer, Request};
use crate::seats::{check_seats, text};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Each event's waiting queue as the monitor saw it over time: entry ids in queue
/// order, oldest snapshot first.
#[derive(Debug, Default)]
pub struct QueueSnapshots {
    /// Snapshots by event id.
    pub by_event: BTreeMap<String, Vec<Vec<String>>>,
}

impl QueueSnapshots {
    /// Adds a snapshot of `event`'s queue, checking it against the previous one: the
    /// entries seen before keep their order and stand ahead of every newcomer.
    ///
    /// # Panics
    /// When the queue changed its order.
    pub fn push(&mut self, event: &str, queue: Vec<String>) {
        let snapshots = self.by_event.entry(event.to_owned()).or_default();
        if let Some(previous) = snapshots.last() {
            check_order(previous, &queue, event);
        }
        snapshots.push(queue);
    }

    /// Entries promoted while an entry ahead of them in a queue was still waiting,
    /// given the ids of the promoted entries, as "B overtook A" texts; and how many
    /// promotions the snapshots witnessed (an entry in one snapshot, promoted by the
    /// next).
    #[must_use]
    pub fn overtakings(&self, promoted: &HashSet<String>) -> (Vec<String>, usize) {
        let mut found = Vec::new();
        let mut witnessed = 0;
        for (event, snapshots) in &self.by_event {
            for pair in snapshots.windows(2) {
                let (before, after) = (&pair[0], &pair[1]);
                let still: HashSet<&String> = after.iter().collect();
                for (i, gone) in before.iter().enumerate() {
                    if still.contains(gone) || !promoted.contains(gone) {
                        continue;
                    }
                    witnessed += 1;
                    // Everyone ahead of a promoted entry was promoted or left by then.
                    for ahead in &before[..i] {
                        if still.contains(ahead) {
                            found.push(format!(
                                "event {event}: entry {gone} was promoted while {ahead}, ahead of it, kept waiting"
                            ));
                        }
                    }
                }
            }
        }
        (found, witnessed)
    }

    /// How many snapshots were taken in all.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_event.values().map(Vec::len).sum()
    }

    /// Whether none was taken.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Asserts that the entries of `previous` still in `next` come first, in the same order.
fn check_order(previous: &[String], next: &[String], event: &str) {
    let index: HashMap<&String, usize> =
        previous.iter().enumerate().map(|(i, id)| (id, i)).collect();
    let mut last = None;
    let mut newcomer = None;
    for id in next {
        match index.get(id) {
            Some(&i) => {
                assert!(
                    newcomer.is_none(),
                    "event {event}: entry {id} stands behind {newcomer:?}, which joined after it: {previous:?} then {next:?}"
                );
                assert!(
                    last.is_none_or(|l| l < i),
                    "event {event}: the queue changed its order: {previous:?} then {next:?}"
                );
                last = Some(i);
            }
            None => newcomer = newcomer.or(Some(id)),
        }
    }
}

/// The ids of a queue page, checking positions 1..=n and that it is the only page.
///
/// # Panics
/// When the page is not a whole queue in position order.
#[must_use]
pub fn queue_ids(page: &Value, context: &str) -> Vec<String> {
    assert_eq!(
        page["next_cursor"],
        Value::Null,
        "{context}: the workload keeps queues under 100: {page}"
    );
    let items = page["items"].as_array().expect("items");
    for (i, entry) in items.iter().enumerate() {
        assert_eq!(
            (entry["status"].as_str(), entry["position"].as_u64()),
            (Some("waiting"), Some(i as u64 + 1)),
            "{context}: the queue holds waiting entries at positions 1..=n: {page}"
        );
    }
    items.iter().map(|e| text(e, "id")).collect()
}

/// Watches until `stopped` turns true; returns the queue snapshots.
pub(super) async fn watch(w: Arc<Workload>, stopped: watch::Receiver<bool>) -> QueueSnapshots {
    let mut queues = QueueSnapshots::default();
    let mut round = 0;
    loop {
        for event in &w.events {
            let context = format!("monitor round {round}, {}", event.name);
            let seats = w
                .client
                .send(Request::get(&format!("/events/{}", event.id)))
                .await;
            if let Some(reply) = readable(&w, seats, &context) {
                check_seats(reply.ok(200), &context);
            }
            let queue = w
                .client
                .send(
                    Request::get(&format!("/events/{}/waitlist?limit=100", event.id))
                        .token(&w.organizer.token),
                )
                .await;
            if let Some(reply) = readable(&w, queue, &context) {
                queues.push(&event.id, queue_ids(reply.ok(200), &context));
            }
        }
        round += 1;
        if *stopped.borrow() {
            return queues;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A 200 reply, or `None` for 503 (during faults) and lost requests.
fn readable(w: &Workload, answer: Answer, context: &str) -> Option<crate::cluster::Reply> {
    match answer {
        Answer::Lost(_) => None,
        Answer::Reply(reply) if reply.is_unavailable() => {
            assert!(
                w.config.unavailable_allowed,
                "{context}: 503 while no fault was injected: {reply}"
            );
            None
        }
        Answer::Reply(reply) => {
            assert_eq!(reply.status, 200, "{context}: {reply}");
            Some(reply)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{QueueSnapshots, check_order};
    use std::collections::HashSet;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn newcomers_queue_behind_those_before_them() {
        check_order(&ids(&["a", "b"]), &ids(&["b", "c", "d"]), "e");
    }

    #[test]
    #[should_panic(expected = "which joined after it")]
    fn a_newcomer_ahead_of_an_older_entry_is_caught() {
        check_order(&ids(&["a", "b"]), &ids(&["c", "b"]), "e");
    }

    #[test]
    #[should_panic(expected = "changed its order")]
    fn a_reordered_queue_is_caught() {
        check_order(&ids(&["a", "b"]), &ids(&["b", "a"]), "e");
    }

    #[test]
    fn promotions_from_the_head_pass_and_overtaking_is_found() {
        let mut queues = QueueSnapshots::default();
        queues.push("e", ids(&["a", "b", "c", "d"]));
        queues.push("e", ids(&["c", "d"]));
        queues.push("e", ids(&["c"]));
        let promoted = |names: &[&str]| -> HashSet<String> { ids(names).into_iter().collect() };
        // a and b promoted, then d left: in order.
        assert_eq!(queues.overtakings(&promoted(&["a", "b"])), (vec![], 2));
        // d promoted while c, ahead of it, kept waiting.
        let (found, witnessed) = queues.overtakings(&promoted(&["a", "b", "d"]));
        assert_eq!(witnessed, 3);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("entry d was promoted while c"),
            "{found:?}"
        );
    }
}
