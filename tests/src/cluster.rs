//! Several `boxoffice serve` processes sharing one Postgres database and one private
//! Redis, as production runs them behind a load balancer, and a client that spreads
//! requests over them round-robin. A server can be killed (SIGKILL) and started again
//! while clients run: requests in flight to it come back as [`Answer::Lost`].

use crate::redis::TestRedis;
use crate::{PrivatePostgres, TestServer};
use boxoffice_store_postgres::testing::TestDatabase;
use serde_json::{Value, json};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one request may take before the test fails for a hang.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The servers' rate-limit settings, all lifted for the tests.
const RATE_LIMITS: [&str; 3] = [
    "RATE_LIMIT_AUTH_PER_MINUTE",
    "RATE_LIMIT_LOGIN_PER_EMAIL_PER_HOUR",
    "RATE_LIMIT_WRITES_PER_MINUTE",
];

/// How long the client keeps an idle connection: less than the servers' keep-alive.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Postgres connections per server: three servers of two tests at once stay far below
/// the shared server's `max_connections`.
const MAX_CONNECTIONS_PER_SERVER: &str = "5";

/// A registered, logged-in account.
#[derive(Debug, Clone)]
pub struct User {
    /// Its bearer access token.
    pub token: String,
    /// Its id.
    pub id: String,
}

/// N servers on one fresh database and one private Redis, started with the same
/// environment (`REDIS_URL` always names the private Redis). Dropping it kills the
/// servers and Redis and drops the database.
pub struct Cluster {
    // Fields drop in this order: servers first, the database they use last.
    servers: Vec<Option<TestServer>>,
    routes: Arc<Routes>,
    env: Vec<(String, String)>,
    redis: TestRedis,
    database: ClusterDatabase,
}

/// The database a cluster's servers share.
pub enum ClusterDatabase {
    /// A fresh database on the shared test Postgres, dropped afterwards.
    Shared(TestDatabase),
    /// A private Postgres cluster of the test's own, which it may restart.
    Private(PrivatePostgres),
}

impl ClusterDatabase {
    fn url(&self) -> String {
        match self {
            Self::Shared(database) => database.url().to_owned(),
            Self::Private(postgres) => postgres.url(),
        }
    }
}

impl Cluster {
    /// Starts `n` servers with `env` (plus `REDIS_URL` and a small
    /// `DATABASE_MAX_CONNECTIONS`), or `None` when Postgres or `redis-server` is missing
    /// outside CI (a `SKIPPED` line says which).
    pub async fn start(n: usize, env: &[(&str, &str)]) -> Option<Self> {
        let database = ClusterDatabase::Shared(TestDatabase::create().await?);
        Self::start_on(n, env, database).await
    }

    /// [`Cluster::start`] on `database`.
    pub async fn start_on(
        n: usize,
        env: &[(&str, &str)],
        database: ClusterDatabase,
    ) -> Option<Self> {
        assert!(n > 0, "a cluster needs a server");
        let redis = TestRedis::start().await?;
        let url = database.url();
        let mut all: Vec<(String, String)> = vec![
            ("REDIS_URL".to_owned(), redis.url()),
            (
                "DATABASE_MAX_CONNECTIONS".to_owned(),
                MAX_CONNECTIONS_PER_SERVER.to_owned(),
            ),
        ];
        // Hundreds of clients share 127.0.0.1: rate limits (where the server has them)
        // must not refuse them.
        for limit in RATE_LIMITS {
            all.push((limit.to_owned(), "1000000".to_owned()));
        }
        for (key, value) in env {
            all.retain(|(k, _)| k != key);
            all.push(((*key).to_owned(), (*value).to_owned()));
        }
        let borrowed: Vec<(&str, &str)> =
            all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let servers =
            futures_util::future::join_all((0..n).map(|_| TestServer::start_on(&url, &borrowed)))
                .await;
        let routes = Arc::new(Routes::new(servers.iter().map(|s| s.base.clone())));
        Some(Self {
            servers: servers.into_iter().map(Some).collect(),
            routes,
            env: all,
            redis,
            database,
        })
    }

    /// The private Postgres the cluster runs on, if it has one.
    #[must_use]
    pub fn private_postgres(&self) -> Option<&PrivatePostgres> {
        match &self.database {
            ClusterDatabase::Private(postgres) => Some(postgres),
            ClusterDatabase::Shared(_) => None,
        }
    }

    /// How many server slots there are (running or killed).
    #[must_use]
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether the cluster has no server slot (never: [`Cluster::start`] refuses 0).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// A client spreading requests over the running servers.
    #[must_use]
    pub fn client(&self) -> ClusterClient {
        ClusterClient::on_routes(self.routes.clone())
    }

    /// The shared Redis.
    #[must_use]
    pub fn redis(&self) -> &TestRedis {
        &self.redis
    }

    /// The shared Redis, to stop and start it.
    pub fn redis_mut(&mut self) -> &mut TestRedis {
        &mut self.redis
    }

    /// The URL of the shared database.
    #[must_use]
    pub fn database_url(&self) -> String {
        self.database.url()
    }

    /// Server `i`.
    ///
    /// # Panics
    /// When it is killed.
    #[must_use]
    pub fn server(&self, i: usize) -> &TestServer {
        self.servers[i]
            .as_ref()
            .unwrap_or_else(|| panic!("server {i} is killed"))
    }

    /// Kills server `i` with SIGKILL (no graceful shutdown). It leaves the rotation
    /// first, so new requests go to the others; requests in flight to it answer
    /// [`Answer::Lost`].
    pub fn kill(&mut self, i: usize) {
        {
            let mut slots = self.routes.slots.lock().expect("routes lock");
            slots[i].base = None;
            slots[i].epoch += 1;
        }
        let server = self.servers[i]
            .take()
            .unwrap_or_else(|| panic!("server {i} is already killed"));
        drop(server); // TestServer's Drop sends SIGKILL and reaps the process
    }

    /// Starts server `i` again (same database, Redis and environment; a new port) and
    /// puts it back into the rotation once it listens.
    pub async fn restart(&mut self, i: usize) {
        assert!(self.servers[i].is_none(), "server {i} is running");
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let server = TestServer::start_on(&self.database.url(), &env).await;
        {
            let mut slots = self.routes.slots.lock().expect("routes lock");
            slots[i].base = Some(server.base.clone());
            slots[i].epoch += 1;
        }
        self.servers[i] = Some(server);
    }

    /// An organizer account (made with `boxoffice user create` on the shared database).
    pub async fn organizer(&self, email: &str) -> User {
        let running = self
            .servers
            .iter()
            .flatten()
            .next()
            .expect("a running server");
        let token = running.user_with_role(email, "organizer").await;
        let me = self
            .client()
            .send(Request::get("/users/me").token(&token))
            .await
            .reply();
        let id = me.ok(200)["id"].as_str().expect("user id").to_owned();
        User { token, id }
    }

    /// Whether the servers use Redis: their readiness check names it.
    pub async fn uses_redis(&self) -> bool {
        let reply = self.client().send(Request::ops_get("/health/ready")).await;
        reply.reply().body["checks"]["redis"].is_string()
    }

    /// Waits until every running server answers `/health/ready` with 200.
    ///
    /// # Panics
    /// When one does not within `timeout`.
    pub async fn await_ready(&self, timeout: Duration) {
        let client = self.client();
        for i in self.running() {
            let started = Instant::now();
            loop {
                let reply = client
                    .send(Request::ops_get("/health/ready").on(i))
                    .await
                    .reply();
                if reply.status == 200 {
                    break;
                }
                assert!(
                    started.elapsed() < timeout,
                    "server {i} not ready within {timeout:?}: {reply}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// How many replies server `i` gave to this cluster's clients, over all its lives.
    #[must_use]
    pub fn answered(&self, i: usize) -> u64 {
        self.routes.answered[i].load(Ordering::Relaxed)
    }

    /// The indexes of the running servers.
    #[must_use]
    pub fn running(&self) -> Vec<usize> {
        (0..self.servers.len())
            .filter(|i| self.servers[*i].is_some())
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        // A failed test: show what the servers complained about.
        for (i, server) in self.servers.iter().enumerate() {
            let Some(server) = server else { continue };
            let logs = server.logs();
            let complaints: Vec<&str> = logs
                .lines()
                .filter(|l| l.contains("\"WARN\"") || l.contains("\"ERROR\""))
                .collect();
            let shown = &complaints[complaints.len().saturating_sub(20)..];
            eprintln!(
                "--- server {i}: last {} of {} warnings and errors\n{}",
                shown.len(),
                complaints.len(),
                shown.join("\n")
            );
        }
    }
}

/// Where each server slot listens now.
struct Routes {
    slots: Mutex<Vec<Slot>>,
    next: AtomicUsize,
    /// Replies each slot gave, over all its lives.
    answered: Vec<AtomicU64>,
}

struct Slot {
    /// `None` while killed.
    base: Option<String>,
    /// Bumped when the server is killed or started again.
    epoch: u64,
}

impl Routes {
    fn new(bases: impl Iterator<Item = String>) -> Self {
        let slots: Vec<Slot> = bases
            .map(|base| Slot {
                base: Some(base),
                epoch: 0,
            })
            .collect();
        Self {
            answered: slots.iter().map(|_| AtomicU64::new(0)).collect(),
            slots: Mutex::new(slots),
            next: AtomicUsize::new(0),
        }
    }

    /// The server to send to: `wanted`, or the next running one. Returns its index,
    /// base URL and epoch.
    fn pick(&self, wanted: Option<usize>) -> (usize, String, u64) {
        let slots = self.slots.lock().expect("routes lock");
        if let Some(i) = wanted {
            let base = slots[i]
                .base
                .clone()
                .unwrap_or_else(|| panic!("server {i} is killed"));
            return (i, base, slots[i].epoch);
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..slots.len())
            .map(|k| (start + k) % slots.len())
            .find_map(|i| slots[i].base.clone().map(|base| (i, base, slots[i].epoch)))
            .expect("no server is running")
    }

    fn epoch(&self, i: usize) -> u64 {
        self.slots.lock().expect("routes lock")[i].epoch
    }
}

/// A request to the cluster.
#[derive(Debug, Clone)]
pub struct Request {
    method: reqwest::Method,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    headers: Vec<(String, String)>,
    server: Option<usize>,
}

impl Request {
    /// A request to `path` as it is (like `/health/ready`).
    #[must_use]
    pub fn new(method: reqwest::Method, path: &str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            token: None,
            body: None,
            headers: Vec::new(),
            server: None,
        }
    }

    /// `GET /api/v1{path}`.
    #[must_use]
    pub fn get(path: &str) -> Self {
        Self::new(reqwest::Method::GET, &format!("/api/v1{path}"))
    }

    /// `POST /api/v1{path}` with a JSON body.
    #[must_use]
    pub fn post(path: &str, body: Value) -> Self {
        Self::new(reqwest::Method::POST, &format!("/api/v1{path}")).body(body)
    }

    /// `POST /api/v1{path}` without a body.
    #[must_use]
    pub fn post_empty(path: &str) -> Self {
        Self::new(reqwest::Method::POST, &format!("/api/v1{path}"))
    }

    /// `PATCH /api/v1{path}` with a JSON body.
    #[must_use]
    pub fn patch(path: &str, body: Value) -> Self {
        Self::new(reqwest::Method::PATCH, &format!("/api/v1{path}")).body(body)
    }

    /// `DELETE /api/v1{path}`.
    #[must_use]
    pub fn delete(path: &str) -> Self {
        Self::new(reqwest::Method::DELETE, &format!("/api/v1{path}"))
    }

    /// `GET {path}` outside `/api/v1` (health, metrics).
    #[must_use]
    pub fn ops_get(path: &str) -> Self {
        Self::new(reqwest::Method::GET, path)
    }

    /// With a bearer token.
    #[must_use]
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// With a JSON body.
    #[must_use]
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// With a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sent to server `i` rather than round-robin.
    #[must_use]
    pub fn on(mut self, i: usize) -> Self {
        self.server = Some(i);
        self
    }

    fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What came of a request.
#[derive(Debug)]
pub enum Answer {
    /// The server answered.
    Reply(Reply),
    /// The server was killed while the request was in flight: it may or may not have
    /// been done.
    Lost(Lost),
}

impl Answer {
    /// The reply.
    ///
    /// # Panics
    /// When the request was lost.
    #[track_caller]
    #[must_use]
    pub fn reply(self) -> Reply {
        match self {
            Self::Reply(reply) => reply,
            Self::Lost(lost) => panic!("no reply: {lost}"),
        }
    }
}

/// A request whose server was killed while it was in flight.
#[derive(Debug, Clone)]
pub struct Lost {
    /// The request, like `POST /api/v1/events/ID/bookings`.
    pub request: String,
    /// The server it went to.
    pub server: usize,
    /// What the client saw.
    pub error: String,
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to server {}: {}",
            self.request, self.server, self.error
        )
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The request, like `POST /api/v1/events/ID/bookings`.
    pub request: String,
    /// The server that answered.
    pub server: usize,
    /// The status code.
    pub status: u16,
    /// The `content-type` header, or "".
    pub content_type: String,
    /// The `etag` header.
    pub etag: Option<String>,
    /// The body as JSON: `Value::Null` when empty, a JSON string when not JSON.
    pub body: Value,
}

impl Reply {
    /// Asserts the status and a JSON body; returns the body.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status: {self}");
        assert!(
            self.content_type.starts_with("application/json"),
            "not JSON: {self}"
        );
        &self.body
    }

    /// Asserts a problem+json body with this status and `code`; returns the body.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "unexpected status: {self}");
        assert_eq!(self.content_type, "application/problem+json", "{self}");
        assert_eq!(self.code(), code, "{self}");
        &self.body
    }

    /// The problem's `code`, or "".
    #[must_use]
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Whether this is 503 `service_unavailable` (problem+json): a store is unreachable
    /// and nothing was done.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        self.status == 503
            && self.content_type == "application/problem+json"
            && self.code() == "service_unavailable"
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on server {} answered {} {}",
            self.request, self.server, self.status, self.body
        )
    }
}

/// Sends requests to a [`Cluster`], round-robin over its running servers unless a
/// request names one. Cheap to clone; every request is bounded by a timeout.
#[derive(Clone)]
pub struct ClusterClient {
    routes: Arc<Routes>,
    http: reqwest::Client,
    timeout: Duration,
}

impl ClusterClient {
    /// A client spreading requests round-robin over servers someone else runs, at these
    /// base URLs (`http://127.0.0.1:PORT`); none of them is ever killed.
    #[must_use]
    pub fn over(bases: Vec<String>) -> Self {
        Self::on_routes(Arc::new(Routes::new(bases.into_iter())))
    }

    fn on_routes(routes: Arc<Routes>) -> Self {
        Self {
            routes,
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                // Drop idle connections before the servers do (actix closes them after
                // 5 s of keep-alive), as a load balancer must: a request written on a
                // connection the server is closing fails without an answer.
                .pool_idle_timeout(IDLE_CONNECTION_TIMEOUT)
                .build()
                .expect("HTTP client"),
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// The same client with another bound on each request.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends `request` and reads the whole response.
    ///
    /// # Panics
    /// When the request fails or takes longer than the timeout while its server was not
    /// killed: a running server must answer.
    pub async fn send(&self, request: Request) -> Answer {
        let (server, base, epoch) = self.routes.pick(request.server);
        let mut builder = self
            .http
            .request(request.method.clone(), format!("{base}{}", request.path));
        if let Some(token) = &request.token {
            builder = builder.bearer_auth(token);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let exchange = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let etag = response
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(ToOwned::to_owned);
            let text = response.text().await?;
            Ok::<_, reqwest::Error>((status, content_type, etag, text))
        };
        let failure = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok((status, content_type, etag, text))) => {
                let body = if text.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&text).unwrap_or(Value::String(text))
                };
                self.routes.answered[server].fetch_add(1, Ordering::Relaxed);
                return Answer::Reply(Reply {
                    request: request.describe(),
                    server,
                    status,
                    content_type,
                    etag,
                    body,
                });
            }
            Ok(Err(error)) => error_chain(&error),
            Err(_) => format!("no answer within {:?}", self.timeout),
        };
        let lost = Lost {
            request: request.describe(),
            server,
            error: failure,
        };
        assert!(
            self.routes.epoch(server) != epoch,
            "a running server failed a request: {lost} (body {})",
            request.body.unwrap_or(Value::Null)
        );
        Answer::Lost(lost)
    }

    /// Registers `n` attendees concurrently, emails `{prefix}{i}@example.org`, and logs
    /// them in.
    pub async fn attendees(&self, prefix: &str, n: usize) -> Vec<User> {
        let mut users = Vec::with_capacity(n);
        let emails: Vec<String> = (0..n).map(|i| format!("{prefix}{i}@example.org")).collect();
        for chunk in emails.chunks(25) {
            let made =
                futures_util::future::join_all(chunk.iter().map(|email| self.attendee(email)))
                    .await;
            users.extend(made);
        }
        users
    }

    /// Registers one attendee and logs in.
    pub async fn attendee(&self, email: &str) -> User {
        let password = "password123";
        let registered = self
            .send(Request::post(
                "/auth/register",
                json!({"name": "Cluster Client", "email": email, "password": password}),
            ))
            .await
            .reply();
        let id = registered.ok(201)["id"]
            .as_str()
            .expect("user id")
            .to_owned();
        let tokens = self
            .send(Request::post(
                "/auth/login",
                json!({"email": email, "password": password}),
            ))
            .await
            .reply();
        let token = tokens.ok(200)["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        User { token, id }
    }

    /// Every item of a listing at `path` under `/api/v1` (which may carry a query),
    /// following `next_cursor` in pages of 100.
    ///
    /// # Panics
    /// When a page is not 200 or the listing does not end.
    pub async fn every_item(&self, path: &str, token: &str) -> Vec<Value> {
        match self.try_every_item(path, token).await {
            Ok(items) => items,
            Err(Answer::Reply(reply)) => panic!("listing {path}: {reply}"),
            Err(Answer::Lost(lost)) => panic!("listing {path}: {lost}"),
        }
    }

    /// Like [`ClusterClient::every_item`], but hands back an answer that is not 200
    /// (503, or lost) instead of failing.
    ///
    /// # Errors
    /// The first page that did not answer 200.
    pub async fn try_every_item(&self, path: &str, token: &str) -> Result<Vec<Value>, Answer> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let mut page_path = format!("{path}{separator}limit=100");
            if let Some(cursor) = &cursor {
                page_path.push_str(&format!("&cursor={}", urlencode(cursor)));
            }
            let reply = match self.send(Request::get(&page_path).token(token)).await {
                Answer::Reply(reply) if reply.status == 200 => reply,
                other => return Err(other),
            };
            items.extend(
                reply.body["items"]
                    .as_array()
                    .unwrap_or_else(|| panic!("a page without items: {reply}"))
                    .iter()
                    .cloned(),
            );
            match &reply.body["next_cursor"] {
                Value::Null => return Ok(items),
                Value::String(next) => cursor = Some(next.clone()),
                other => panic!("next_cursor {other} in {reply}"),
            }
        }
        panic!("the listing {path} does not end");
    }
}

/// An error and its causes, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(&format!(": {e}"));
        cause = e.source();
    }
    text
}

/// Percent-encodes a query value.
#[must_use]
pub fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `timeout`.
///
/// # Panics
/// When `check` returns `None` for longer than `timeout`; the message names `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            started.elapsed() < timeout,
            "{what}: not seen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
