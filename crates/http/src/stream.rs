//! Live availability streams (`GET /events/{id}/availability/stream`): one watcher per
//! process reads each watched event every [`TICK`] (from memory while its published
//! version is unchanged, where there is a version board) and hands what changed to the
//! event's subscribers, so the cost follows the events watched, not the subscribers.

use crate::dto::{AvailabilityDto, TicketTypeDto, ticket_types_of};
use actix_web::web::Bytes;
use boxoffice_domain::EventId;
use boxoffice_domain::event::Event;
use boxoffice_domain::services::{EventError, EventService};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// How often watched events are read: at most this many frames a second per event.
pub const TICK: Duration = Duration::from_millis(100);

/// How often an idle stream sends a comment, so proxies keep it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// What a frame's `data:` line carries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AvailabilityFrame {
    /// The event.
    pub event_id: Uuid,
    /// Its seat counts.
    pub availability: AvailabilityDto,
    /// Its ticket types with their seat counts.
    pub ticket_types: Vec<TicketTypeDto>,
}

/// One Server-Sent Event of the stream, as the OpenAPI document describes it (one
/// schema per event of a `text/event-stream`, as OpenAPI 3.2 does).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AvailabilityEvent {
    /// Always `availability`.
    pub event: String,
    /// The event's version when the figures were read.
    pub id: String,
    /// An [`AvailabilityFrame`] as JSON.
    pub data: String,
}

/// One frame, rendered once for every subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The event's version it shows (the SSE `id:`).
    pub version: u64,
    /// `id:`, `event:` and `data:` lines, ready to send.
    pub text: Bytes,
}

impl Frame {
    /// The frame of `event` at `version`.
    ///
    /// # Errors
    /// Only if the figures do not serialise.
    pub fn of(event: &Event, version: u64) -> serde_json::Result<Self> {
        let data = AvailabilityFrame {
            event_id: event.id.as_uuid(),
            availability: event.availability().into(),
            ticket_types: ticket_types_of(event.clone()),
        };
        let json = serde_json::to_string(&data)?;
        let text = format!("id: {version}\nevent: availability\ndata: {json}\n\n");
        Ok(Self {
            version,
            text: Bytes::from(text),
        })
    }
}

/// The process's open streams and the events they watch.
pub struct Streams {
    events: Arc<EventService>,
    watched: Mutex<HashMap<EventId, watch::Sender<Arc<Frame>>>>,
    open: AtomicUsize,
    max: usize,
    /// Becomes `true` when the process stops: every stream ends.
    closing: watch::Sender<bool>,
}

/// A stream's share of the process's streams; dropping it (when the client goes) frees it.
pub struct Subscription {
    streams: Arc<Streams>,
    /// The event's frames as they change.
    pub frames: watch::Receiver<Arc<Frame>>,
    /// Becomes `true` when the process stops.
    pub closing: watch::Receiver<bool>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let open = self.streams.open.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!("boxoffice_sse_streams").set(open as f64);
    }
}

impl Streams {
    /// Streams of `events`, at most `max` open at once in this process.
    #[must_use]
    pub fn new(events: Arc<EventService>, max: usize) -> Arc<Self> {
        Arc::new(Self {
            events,
            watched: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
            max,
            closing: watch::channel(false).0,
        })
    }

    /// Opens a stream of `event` whose first frame is `first` (what the caller read and
    /// sends first); `None` past the bound on open streams.
    pub fn subscribe(self: &Arc<Self>, event: EventId, first: &Frame) -> Option<Subscription> {
        if *self.closing.borrow() {
            return None; // stopping: the watcher no longer runs
        }
        let open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        if open > self.max {
            self.open.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        metrics::gauge!("boxoffice_sse_streams").set(open as f64);
        let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = watched
            .entry(event)
            .or_insert_with(|| watch::channel(Arc::new(first.clone())).0);
        let mut frames = sender.subscribe();
        if frames.borrow().version > first.version {
            frames.mark_changed(); // the watcher has a newer frame than `first`
        }
        Some(Subscription {
            streams: Arc::clone(self),
            frames,
            closing: self.closing.subscribe(),
        })
    }

    /// The frames a subscriber is sent: `first`, then each frame newer than the last
    /// one sent (or of its version with other figures, as when a hold ran out before
    /// the sweep), and a comment every [`HEARTBEAT`]; the stream ends when the process
    /// stops.
    pub fn frames(
        first: Frame,
        subscription: Subscription,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> {
        let start = tokio::time::Instant::now() + HEARTBEAT;
        let heartbeat = tokio::time::interval_at(start, HEARTBEAT);
        let state = (true, subscription, heartbeat, Arc::new(first));
        futures_util::stream::unfold(
            state,
            |(first, mut sub, mut heartbeat, mut sent)| async move {
                if first {
                    let text = sent.text.clone();
                    return Some((Ok(text), (false, sub, heartbeat, sent)));
                }
                loop {
                    tokio::select! {
                        changed = sub.frames.changed() => {
                            changed.ok()?;
                            let frame = Arc::clone(&sub.frames.borrow_and_update());
                            let newer = frame.version > sent.version
                                || (frame.version == sent.version && frame.text != sent.text);
                            if newer {
                                sent = frame;
                                let text = sent.text.clone();
                                return Some((Ok(text), (false, sub, heartbeat, sent)));
                            }
                        }
                        _ = heartbeat.tick() => {
                            let comment = Bytes::from_static(b": keepalive\n\n");
                            return Some((Ok(comment), (false, sub, heartbeat, sent)));
                        }
                        _ = async { sub.closing.wait_for(|closing| *closing).await.map(drop) } => return None,
                    }
                }
            },
        )
    }

    /// Reads the watched events every [`TICK`] and publishes what changed, until
    /// `stopping` is set; then ends every stream.
    pub async fn watch(self: Arc<Self>, stopping: Arc<AtomicBool>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !stopping.load(Ordering::SeqCst) {
            tick.tick().await;
            for (event, sender) in self.still_watched() {
                self.refresh(event, &sender).await;
            }
        }
        self.closing.send_replace(true);
    }

    /// The watched events, forgetting those nobody watches any more.
    fn still_watched(&self) -> Vec<(EventId, watch::Sender<Arc<Frame>>)> {
        let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
        watched.retain(|_, sender| sender.receiver_count() > 0);
        watched.iter().map(|(id, s)| (*id, s.clone())).collect()
    }

    /// Reads `event` and publishes its frame when it differs from the last one (a new
    /// version, or other figures at the same version).
    async fn refresh(&self, event: EventId, sender: &watch::Sender<Arc<Frame>>) {
        let read = match self.events.read(event).await {
            Ok((read, _)) => read,
            Err(EventError::NotFound) => return,
            Err(error) => {
                tracing::warn!(%event, error = %error, "cannot read a watched event");
                return;
            }
        };
        match Frame::of(&read.value, read.version) {
            Ok(frame) => {
                sender.send_if_modified(|current| {
                    let changed = current.text != frame.text;
                    if changed {
                        *current = Arc::new(frame);
                    }
                    changed
                });
            }
            Err(error) => tracing::warn!(%event, error = %error, "cannot render availability"),
        }
    }
}
