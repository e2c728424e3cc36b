use super::*;
use futures_util::future::join_all;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Batches as run: the event and its requests.
type Ran = Arc<Mutex<Vec<(EventId, Vec<u32>)>>>;

/// Answers each request with itself doubled and records every batch it ran.
#[derive(Clone, Default)]
struct Recorder {
    batches: Ran,
    /// Event whose batches wait for `release`.
    stalled: Option<EventId>,
    release: Arc<Notify>,
    fail: Arc<AtomicBool>,
}

#[async_trait]
impl BatchRunner<u32, u32> for Recorder {
    async fn run(&self, event: EventId, batch: Vec<u32>) -> anyhow::Result<Vec<u32>> {
        if self.stalled == Some(event) {
            self.release.notified().await;
        } else {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if batch.contains(&666) {
            panic!("a runner bug");
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(anyhow::anyhow!("connection lost").context(StoreUnavailable("database")));
        }
        self.batches
            .lock()
            .expect("not poisoned")
            .push((event, batch.clone()));
        Ok(batch.into_iter().map(|n| n * 2).collect())
    }
}

impl Recorder {
    fn batches(&self) -> Vec<(EventId, Vec<u32>)> {
        self.batches.lock().expect("not poisoned").clone()
    }
}

#[tokio::test]
async fn concurrent_requests_run_in_bounded_batches_in_arrival_order() {
    let commits = GroupCommit::new(8, SEAT_BATCHES);
    let runner = Recorder::default();
    let event = EventId::generate();
    let answers = join_all((0..50).map(|n| commits.submit(&runner, event, n))).await;
    let answers: Vec<u32> = answers.into_iter().map(|a| a.expect("answered")).collect();
    assert_eq!(answers, (0..50).map(|n| n * 2).collect::<Vec<_>>());
    let batches = runner.batches();
    let order: Vec<u32> = batches.iter().flat_map(|(_, b)| b.clone()).collect();
    assert_eq!(order, (0..50).collect::<Vec<_>>(), "arrival order");
    assert!(batches.iter().all(|(_, b)| b.len() <= 8), "{batches:?}");
    assert!(batches.len() < 50, "requests were batched: {batches:?}");
    assert!(
        commits.queues.lock().expect("not poisoned").is_empty(),
        "idle again"
    );
}

#[tokio::test]
async fn a_busy_event_does_not_hold_up_another() {
    let commits = GroupCommit::new(8, SEAT_BATCHES);
    let busy = EventId::generate();
    let runner = Recorder {
        stalled: Some(busy),
        ..Recorder::default()
    };
    let stalled = tokio::spawn({
        let (commits, runner) = (commits.clone(), runner.clone());
        async move { commits.submit(&runner, busy, 1).await }
    });
    tokio::task::yield_now().await;
    let other = tokio::time::timeout(
        Duration::from_secs(5),
        commits.submit(&runner, EventId::generate(), 2),
    )
    .await;
    assert_eq!(other.expect("not held up").expect("answered"), 4);
    assert!(!stalled.is_finished());
    runner.release.notify_one();
    assert_eq!(stalled.await.expect("joined").expect("answered"), 2);
}

#[tokio::test]
async fn a_failed_batch_fails_each_of_its_requests_and_keeps_unavailability() {
    let commits = GroupCommit::new(8, SEAT_BATCHES);
    let runner = Recorder::default();
    runner.fail.store(true, Ordering::SeqCst);
    let event = EventId::generate();
    let answers = join_all((0..5).map(|n| commits.submit(&runner, event, n))).await;
    for answer in answers {
        let error = answer.expect_err("the batch failed");
        assert!(
            error.downcast_ref::<StoreUnavailable>().is_some(),
            "{error:#}"
        );
        assert!(format!("{error:#}").contains("connection lost"));
    }
    runner.fail.store(false, Ordering::SeqCst);
    assert_eq!(
        commits.submit(&runner, event, 3).await.expect("answered"),
        6
    );
}

#[tokio::test]
async fn a_panicking_batch_answers_with_an_error_and_the_event_recovers() {
    let commits = GroupCommit::new(8, SEAT_BATCHES);
    let runner = Recorder::default();
    let event = EventId::generate();
    let error = commits.submit(&runner, event, 666).await;
    assert!(error.is_err());
    assert!(commits.queues.lock().expect("not poisoned").is_empty());
    assert_eq!(
        commits.submit(&runner, event, 1).await.expect("answered"),
        2
    );
}
