//! The load driver: a fixed number of requests in flight, each on an HTTP/1.1
//! keep-alive connection of its own (hyper's bare connection, no pool in between),
//! spread round-robin over the servers. Every answer's status and latency is recorded.

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How long one request may take before it counts as a timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest latency the histograms hold, in microseconds.
const MAX_LATENCY_US: u64 = 120_000_000;

/// One request to send.
#[derive(Debug, Clone)]
pub struct Call {
    method: Method,
    path: String,
    token: Option<Arc<str>>,
    body: Option<Bytes>,
}

impl Call {
    /// `GET path`.
    #[must_use]
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path.into(), None)
    }

    /// `POST path` with a JSON body.
    #[must_use]
    pub fn post(path: impl Into<String>, body: &Value) -> Self {
        Self::new(
            Method::POST,
            path.into(),
            Some(Bytes::from(body.to_string())),
        )
    }

    /// `POST path` without a body.
    #[must_use]
    pub fn post_empty(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path.into(), None)
    }

    /// `DELETE path`.
    #[must_use]
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path.into(), None)
    }

    fn new(method: Method, path: String, body: Option<Bytes>) -> Self {
        Self {
            method,
            path,
            token: None,
            body,
        }
    }

    /// With a bearer token.
    #[must_use]
    pub fn token(mut self, token: &Arc<str>) -> Self {
        self.token = Some(token.clone());
        self
    }

    fn request(&self, host: &HeaderValue) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str())
            .header(HOST, host.clone());
        if let Some(token) = &self.token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match &self.body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Full::new(body.clone())
            }
            None => Full::new(Bytes::new()),
        };
        // Method, path and headers are ours and valid: building cannot fail.
        builder.body(body).unwrap_or_default()
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code; [`NO_ANSWER`] when the connection failed or timed out.
    pub status: u16,
    /// The body.
    pub body: Bytes,
    /// When the answer was read.
    pub at: Instant,
}

/// [`Reply::status`] of a request that got no answer.
pub const NO_ANSWER: u16 = 0;

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    #[must_use]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body's `field` as a string, or "".
    #[must_use]
    pub fn text(&self, field: &str) -> String {
        self.json()[field].as_str().unwrap_or_default().to_owned()
    }
}

/// How the answers of a run went: latency histogram and counts by status.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latencies in microseconds.
    pub latencies: Histogram<u64>,
    /// Answers by status ("200", "409", "error", "timeout").
    pub statuses: BTreeMap<String, u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            latencies: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .expect("constant histogram bounds"),
            statuses: BTreeMap::new(),
        }
    }
}

impl Tally {
    fn record(&mut self, status: &str, latency: Duration) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(MAX_LATENCY_US)
            .clamp(1, MAX_LATENCY_US);
        self.latencies.saturating_record(us);
        *self.statuses.entry(status.to_owned()).or_default() += 1;
    }

    /// Adds `other`'s answers to these.
    pub fn merge(&mut self, other: &Self) {
        // Both histograms share the same bounds.
        let _ = self.latencies.add(&other.latencies);
        for (status, n) in &other.statuses {
            *self.statuses.entry(status.clone()).or_default() += n;
        }
    }

    /// Answers in all.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.statuses.values().sum()
    }

    /// Answers with this status.
    #[must_use]
    pub fn count(&self, status: &str) -> u64 {
        self.statuses.get(status).copied().unwrap_or(0)
    }

    /// 5xx answers, failed connections and timeouts.
    #[must_use]
    pub fn failures(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| s.starts_with('5') || s.as_str() == "error" || s.as_str() == "timeout")
            .map(|(_, n)| n)
            .sum()
    }
}

/// One keep-alive connection to one server, reconnected after a failure, with the
/// tally of its answers.
pub struct Conn {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
    tally: Tally,
}

impl Conn {
    /// A connection to `addr`, opened at the first request.
    #[must_use]
    pub fn to(addr: SocketAddr) -> Self {
        let host = HeaderValue::from_str(&addr.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        Self {
            addr,
            host,
            sender: None,
            tally: Tally::default(),
        }
    }

    async fn open(&mut self) -> anyhow::Result<()> {
        if self.sender.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        Ok(())
    }

    async fn exchange(&mut self, call: &Call) -> anyhow::Result<(u16, Bytes)> {
        self.open().await?;
        let sender = self
            .sender
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("not connected"))?;
        sender.ready().await?;
        let response = sender.send_request(call.request(&self.host)).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends `call` and reads the whole answer, recording its status and latency. A
    /// failed connection is dropped (the next call opens a new one) and answers
    /// [`NO_ANSWER`].
    pub async fn send(&mut self, call: &Call) -> Reply {
        let started = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(call)).await;
        let at = Instant::now();
        let (label, reply) = match outcome {
            Ok(Ok((status, body))) => (status.to_string(), Reply { status, body, at }),
            Ok(Err(_)) | Err(_) => {
                self.sender = None;
                let label = if outcome.is_err() { "timeout" } else { "error" };
                (
                    label.to_owned(),
                    Reply {
                        status: NO_ANSWER,
                        body: Bytes::new(),
                        at,
                    },
                )
            }
        };
        self.tally.record(&label, at - started);
        reply
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// After this many units of work.
    Units(usize),
    /// Once this long has passed (units in progress finish).
    For(Duration),
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Every answer.
    pub tally: Tally,
    /// When the first unit started.
    pub started: Instant,
    /// From the first unit's start to the last one's end.
    pub elapsed: Duration,
}

impl Run {
    /// Answers per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        per_second(self.tally.requests(), self.elapsed)
    }
}

/// `n` per `elapsed`, per second.
#[must_use]
#[allow(clippy::cast_precision_loss)] // figures for a report
pub fn per_second(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// Runs `work` with `inflight` connections at once, spread round-robin over `targets`:
/// each connection takes the next unit (0, 1, 2, ...) as soon as it finished its last,
/// until `until`. The connections are opened before the clock starts.
///
/// # Panics
/// When `targets` is empty.
pub async fn drive<F, Fut>(targets: &[SocketAddr], inflight: usize, until: Until, work: F) -> Run
where
    F: Fn(Conn, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Conn> + Send + 'static,
{
    assert!(!targets.is_empty(), "no server to drive");
    let mut conns: Vec<Conn> = (0..inflight)
        .map(|i| Conn::to(targets[i % targets.len()]))
        .collect();
    futures_util::future::join_all(conns.iter_mut().map(Conn::open)).await;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = match until {
        Until::For(duration) => Some(started + duration),
        Until::Units(_) => None,
    };
    let workers: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (work, next) = (work.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let unit = next.fetch_add(1, Ordering::Relaxed);
                    let more = match until {
                        Until::Units(n) => unit < n,
                        Until::For(_) => deadline.is_some_and(|d| Instant::now() < d),
                    };
                    if !more {
                        return conn.tally;
                    }
                    conn = work(conn, unit).await;
                }
            })
        })
        .collect();
    let mut tally = Tally::default();
    for worker in futures_util::future::join_all(workers).await {
        match worker {
            Ok(part) => tally.merge(&part),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a load worker was cancelled: {e}"),
        }
    }
    Run {
        tally,
        started,
        elapsed: started.elapsed(),
    }
}
