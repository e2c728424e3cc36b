//! Group commit per event: concurrent requests for the same event queue up, and one task
//! per busy event runs what has queued (up to a bound) as one batch, in arrival order,
//! then answers each request with its own answer. An idle event has no task and no
//! queue; a request never waits for a batch of another event; a busy event holds at most
//! one store connection of this process at a time.

use crate::EventId;
use crate::ports::StoreUnavailable;
use async_trait::async_trait;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// Runs one batch of requests for one event, in one transaction.
#[async_trait]
pub trait BatchRunner<Request, Answer>: Clone + Send + Sync + 'static {
    /// The answers to `batch`, one per request at the same index.
    ///
    /// # Errors
    /// When the batch failed as a whole: it changed nothing, and every request of it
    /// gets the error.
    async fn run(&self, event: EventId, batch: Vec<Request>) -> anyhow::Result<Vec<Answer>>;
}

/// A request waiting for its batch, and where its answer goes.
type Waiter<Request, Answer> = (Request, oneshot::Sender<anyhow::Result<Answer>>);

/// The queues of busy events.
type Queues<Request, Answer> = Mutex<HashMap<EventId, VecDeque<Waiter<Request, Answer>>>>;

/// The names of the two summaries a group commit records per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetrics {
    /// Requests per batch.
    pub requests: &'static str,
    /// Seconds each batch took.
    pub seconds: &'static str,
}

/// The seat batches of the stores: one transaction of one event each.
pub const SEAT_BATCHES: BatchMetrics = BatchMetrics {
    requests: "boxoffice_seat_batch_requests",
    seconds: "boxoffice_seat_batch_seconds",
};

/// Per-event queues of requests and the tasks that run them in batches. Cheap to clone.
pub struct GroupCommit<Request, Answer> {
    queues: Arc<Queues<Request, Answer>>,
    limit: usize,
    metrics: BatchMetrics,
}

impl<Request, Answer> Clone for GroupCommit<Request, Answer> {
    fn clone(&self) -> Self {
        Self {
            queues: self.queues.clone(),
            limit: self.limit,
            metrics: self.metrics,
        }
    }
}

impl<Request, Answer> std::fmt::Debug for GroupCommit<Request, Answer> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl<Request: Send + 'static, Answer: Send + 'static> GroupCommit<Request, Answer> {
    /// Batches of at most `limit` requests (at least 1), recorded as `metrics`.
    #[must_use]
    pub fn new(limit: usize, metrics: BatchMetrics) -> Self {
        Self {
            queues: Arc::default(),
            limit: limit.max(1),
            metrics,
        }
    }

    /// Queues `request` for `event` and waits for its answer. The first request of an
    /// idle event starts the event's task, which runs batches with `runner` until the
    /// queue is empty. A request whose caller stops waiting still runs.
    ///
    /// # Errors
    /// The batch's error when it failed as a whole.
    pub async fn submit<R>(
        &self,
        runner: &R,
        event: EventId,
        request: Request,
    ) -> anyhow::Result<Answer>
    where
        R: BatchRunner<Request, Answer>,
    {
        let (answer, answered) = oneshot::channel();
        let idle = {
            let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
            match queues.entry(event) {
                Entry::Occupied(mut queue) => {
                    queue.get_mut().push_back((request, answer));
                    false
                }
                Entry::Vacant(slot) => {
                    slot.insert(VecDeque::from([(request, answer)]));
                    true
                }
            }
        };
        if idle {
            tokio::spawn(self.clone().drain(runner.clone(), event));
        }
        answered
            .await
            .map_err(|_| anyhow::anyhow!("the batch of event {event} ended without an answer"))?
    }

    /// The task of a busy event: runs batches until its queue is empty.
    async fn drain<R: BatchRunner<Request, Answer>>(self, runner: R, event: EventId) {
        let mut guard = Forget {
            queues: &self.queues,
            event,
            armed: true,
        };
        loop {
            let batch: Vec<_> = {
                let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(queue) = queues.get_mut(&event).filter(|q| !q.is_empty()) else {
                    queues.remove(&event);
                    guard.armed = false;
                    return;
                };
                let n = queue.len().min(self.limit);
                queue.drain(..n).collect()
            };
            metrics::histogram!(self.metrics.requests).record(batch.len() as f64);
            let (requests, answers): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let asked = requests.len();
            let started = std::time::Instant::now();
            let ran = runner.run(event, requests).await;
            metrics::histogram!(self.metrics.seconds).record(started.elapsed().as_secs_f64());
            match ran {
                Ok(answered) if answered.len() == asked => {
                    for (to, answer) in answers.into_iter().zip(answered) {
                        let _ = to.send(Ok(answer)); // the caller stopped waiting
                    }
                }
                outcome => {
                    let error = outcome.err().unwrap_or_else(|| {
                        anyhow::anyhow!("a batch of event {event} answered the wrong number")
                    });
                    tracing::warn!(%event, requests = asked, error = format!("{error:#}"), "seat batch failed");
                    for to in answers {
                        let _ = to.send(Err(copy(&error)));
                    }
                }
            }
        }
    }
}

/// Drops a busy event's queue if its task ends without emptying it (a panic), so that
/// its waiters get an error and the next request starts a new task.
struct Forget<'q, Request, Answer> {
    queues: &'q Queues<Request, Answer>,
    event: EventId,
    armed: bool,
}

impl<Request, Answer> Drop for Forget<'_, Request, Answer> {
    fn drop(&mut self) {
        if self.armed {
            let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
            queues.remove(&self.event);
        }
    }
}

/// The error of a failed batch for one of its requests: its message, still marked
/// [`StoreUnavailable`] when it was.
fn copy(error: &anyhow::Error) -> anyhow::Error {
    let copied = anyhow::anyhow!("{error:#}");
    let unavailable = error.downcast_ref::<StoreUnavailable>().or_else(|| {
        // A context is found by `downcast_ref` on the error, a source by the chain.
        error
            .chain()
            .find_map(|e| e.downcast_ref::<StoreUnavailable>())
    });
    match unavailable {
        Some(unavailable) => copied.context(*unavailable),
        None => copied,
    }
}

#[cfg(test)]
#[path = "group_commit_tests.rs"]
mod tests;
