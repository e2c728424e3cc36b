//! The composition root: opens the configured store, builds the use cases on its ports,
//! and runs the commands.

use crate::UserCreateArgs;
use crate::config::{Database, DatabaseArgs, ServeArgs};
use crate::mailer::{LogMailer, SmtpMailer};
use crate::secrets;
use crate::sweeper::Sweeper;
use actix_web::dev::ServerHandle;
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use boxoffice_auth::{BcryptHasher, JwtAccessTokens};
use boxoffice_domain::ports::{
    Analytics, ApiTokens, AuditLog, Bookings, CheckIns, EventRepository, HealthCheck, KeyedSeats,
    Mailer, RateLimiter, Reservations, TokenStore, UserRepository, VersionBoard, Waitlists,
};
use boxoffice_domain::services::{
    AccountPorts, AccountService, AccountSettings, BookingPorts, BookingService, EventService,
    NewAccount, TicketPorts, TicketService, create_account,
};
use boxoffice_domain::user::{Email, Password, PersonName, Role};
use boxoffice_domain::{Clock, SystemClock};
use boxoffice_http::bodies::Bodies;
use boxoffice_http::rate_limit::{MemoryRateLimiter, RateLimits};
use boxoffice_http::stream::Streams;
use boxoffice_http::{AppState, security};
use boxoffice_store_postgres::PgStore;
use boxoffice_store_redis::{Redis, RedisRateLimiter, RedisVersionBoard, SeatGate};
use boxoffice_store_sqlite::SqliteStore;
use chrono::Duration;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The ports the configured stores provide.
struct Stores {
    users: Arc<dyn UserRepository>,
    tokens: Arc<dyn TokenStore>,
    events: Arc<dyn EventRepository>,
    reservations: Arc<dyn Reservations>,
    bookings: Arc<dyn Bookings>,
    waitlists: Arc<dyn Waitlists>,
    keyed: Arc<dyn KeyedSeats>,
    analytics: Arc<dyn Analytics>,
    audit: Arc<dyn AuditLog>,
    check_ins: Arc<dyn CheckIns>,
    api_tokens: Arc<dyn ApiTokens>,
    health: Vec<Arc<dyn HealthCheck>>,
    /// Where the stores publish event versions, when every instance can see it: event
    /// reads are then served from memory. `None` with Postgres alone, whose instances
    /// share no board.
    versions: Option<Arc<dyn VersionBoard>>,
}

impl Stores {
    fn from<S>(store: S, versions: Option<Arc<dyn VersionBoard>>) -> Self
    where
        S: UserRepository
            + TokenStore
            + EventRepository
            + Reservations
            + Bookings
            + Waitlists
            + KeyedSeats
            + Analytics
            + AuditLog
            + CheckIns
            + ApiTokens
            + HealthCheck,
    {
        let store = Arc::new(store);
        Self {
            users: store.clone(),
            tokens: store.clone(),
            events: store.clone(),
            reservations: store.clone(),
            bookings: store.clone(),
            waitlists: store.clone(),
            keyed: store.clone(),
            analytics: store.clone(),
            audit: store.clone(),
            check_ins: store.clone(),
            api_tokens: store.clone(),
            health: vec![store],
            versions,
        }
    }

    /// Postgres behind the Redis seat admission gate: the gate for the ports that take
    /// seats, Postgres for the rest; event versions are published in Redis too.
    fn gated(store: PgStore, redis: Redis) -> Self {
        let versions: Arc<dyn VersionBoard> = Arc::new(RedisVersionBoard::new(redis.clone()));
        let store = Arc::new(store.publishing_to(versions.clone()));
        let gate = Arc::new(SeatGate::new(store.clone(), redis.clone()));
        Self {
            users: store.clone(),
            tokens: store.clone(),
            events: gate.clone(),
            reservations: gate.clone(),
            bookings: gate.clone(),
            keyed: gate,
            waitlists: store.clone(),
            analytics: store.clone(),
            audit: store.clone(),
            check_ins: store.clone(),
            api_tokens: store.clone(),
            health: vec![store, Arc::new(redis)],
            versions: Some(versions),
        }
    }
}

/// Opens the store `DATABASE_URL` names and applies pending migrations; with `redis`,
/// Postgres gets the seat admission gate.
async fn open_stores(
    database: &Database,
    args: &DatabaseArgs,
    redis: Option<Redis>,
) -> anyhow::Result<Stores> {
    let stores = match database {
        Database::Sqlite(path) => {
            let path = path
                .to_str()
                .context("the SQLite path is not valid UTF-8")?;
            let store = SqliteStore::open(path).await?;
            log_migrations(store.migrate().await?);
            if redis.is_some() {
                tracing::warn!(
                    "REDIS_URL is set, but the seat admission gate needs Postgres: SQLite serves one process on its own"
                );
            }
            let versions: Arc<dyn VersionBoard> = store.versions();
            Stores::from(store, Some(versions))
        }
        Database::Postgres(url) => {
            log_migrations(boxoffice_store_postgres::run_migrations(url).await?);
            let store: PgStore =
                boxoffice_store_postgres::connect(url, args.database_max_connections as usize)
                    .await?;
            match redis {
                Some(redis) => Stores::gated(store, redis),
                None => Stores::from(store, None),
            }
        }
    };
    Ok(stores)
}

fn log_migrations(applied: Vec<String>) {
    if applied.is_empty() {
        tracing::info!("database schema is up to date");
    }
    for name in applied {
        tracing::info!(migration = %name, "applied migration");
    }
}

/// `boxoffice migrate`.
pub async fn migrate(args: &DatabaseArgs) -> anyhow::Result<()> {
    let database = Database::parse(&args.url()?)?;
    open_stores(&database, args, None).await.map(drop)
}

/// `boxoffice user create`.
pub async fn create_user(args: UserCreateArgs) -> anyhow::Result<()> {
    let invalid = |field: &str, message: String| anyhow::anyhow!("--{field} {message}");
    let new = NewAccount {
        name: PersonName::parse(&args.name).map_err(|m| invalid("name", m))?,
        email: Email::parse(&args.email).map_err(|m| invalid("email", m))?,
        password: Password::parse(&password_of(&args)?).map_err(|m| invalid("password", m))?,
        role: args.role.parse::<Role>().map_err(|m| invalid("role", m))?,
    };
    let database = Database::parse(&args.database.url()?)?;
    let stores = open_stores(&database, &args.database, None).await?;
    let hasher = BcryptHasher::new(args.bcrypt.bcrypt_cost)?;
    let user = create_account(&*stores.users, &hasher, &SystemClock, new)
        .await
        .context("cannot create the user")?;
    println!("created {} {} ({})", user.role, user.email, user.id);
    Ok(())
}

/// The new account's password: `--password`, the first line of standard input with
/// `--password-stdin`, or asked for (without echo) on a terminal.
fn password_of(args: &UserCreateArgs) -> anyhow::Result<String> {
    use std::io::IsTerminal as _;
    if let Some(password) = &args.password {
        return Ok(password.clone());
    }
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("give --password, or --password-stdin with the password on standard input");
    }
    let password = rpassword::prompt_password("Password: ").context("cannot read the password")?;
    let again =
        rpassword::prompt_password("Password again: ").context("cannot read the password")?;
    if password != again {
        anyhow::bail!("the two passwords differ");
    }
    Ok(password)
}

/// Where mail goes: the SMTP server of `SMTP_URL`, else the log.
fn mailer(args: &ServeArgs) -> anyhow::Result<Arc<dyn Mailer>> {
    match args.smtp_url()? {
        Some(url) => {
            tracing::info!(from = %args.mail_from, "mail is sent through SMTP");
            Ok(Arc::new(SmtpMailer::new(&url, &args.mail_from)?))
        }
        None => Ok(Arc::new(LogMailer)),
    }
}

/// Where rate-limit counters live: in Redis when `REDIS_URL` is set, so that every
/// instance counts against the same limits, else in this process.
fn rate_limiter(redis: Option<&Redis>) -> Arc<dyn RateLimiter> {
    match redis {
        Some(redis) => Arc::new(RedisRateLimiter::new(redis.clone())),
        None => Arc::new(MemoryRateLimiter::new()),
    }
}

/// The event use cases, reading events from memory when there is a version board.
fn event_service(
    events: Arc<dyn EventRepository>,
    versions: Option<Arc<dyn VersionBoard>>,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditLog>,
) -> EventService {
    let service = EventService::new(events, clock, audit);
    match versions {
        Some(board) => service.with_versions(board),
        None => service,
    }
}

/// `boxoffice serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let database = Database::parse(&args.database.url()?)?;
    let secret = secrets::jwt_secret(args.jwt_secret()?.as_deref(), &database)?;
    let signer = secrets::ticket_signer(args.ticket_signing_keys()?.as_deref(), &database)?;
    let redis = args
        .redis_url()?
        .as_deref()
        .map(|url| {
            Redis::new(
                url,
                args.redis_max_connections as usize,
                &args.redis_key_prefix,
            )
        })
        .transpose()
        .context("REDIS_URL is not a usable Redis URL")?;
    if redis.is_some() {
        tracing::info!(prefix = %args.redis_key_prefix, "rate-limit counters are shared in Redis");
    }
    let limiter = rate_limiter(redis.as_ref());
    let stores = open_stores(&database, &args.database, redis).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let accounts = AccountService::new(
        AccountPorts {
            users: stores.users.clone(),
            tokens: stores.tokens,
            hasher: Arc::new(BcryptHasher::new(args.bcrypt.bcrypt_cost)?),
            access: Arc::new(JwtAccessTokens::new(
                &secret,
                Duration::seconds(i64::from(args.access_token_ttl_secs)),
            )),
            mailer: mailer(&args)?,
            clock: clock.clone(),
            audit: stores.audit.clone(),
        },
        AccountSettings {
            refresh_ttl: Duration::seconds(i64::from(args.refresh_token_ttl_secs)),
            ..AccountSettings::default()
        },
    );
    // With a version board, requests authenticate against accounts kept in memory.
    let accounts = match &stores.versions {
        Some(board) => accounts.with_versions(board.clone()),
        None => accounts,
    };
    let tickets = TicketService::new(TicketPorts {
        check_ins: stores.check_ins.clone(),
        api_tokens: stores.api_tokens,
        events: stores.events.clone(),
        users: stores.users.clone(),
        signer: Arc::new(signer),
        clock: clock.clone(),
    });
    let render_metrics = crate::instruments::install(stores.health.clone())?;
    let bookings = Arc::new(BookingService::new(
        BookingPorts {
            reservations: stores.reservations,
            bookings: stores.bookings,
            waitlists: stores.waitlists,
            keyed: stores.keyed,
            analytics: stores.analytics,
            events: stores.events.clone(),
            check_ins: stores.check_ins.clone(),
            clock: clock.clone(),
        },
        Duration::seconds(i64::from(args.hold_ttl_secs)),
    ));
    let events = Arc::new(event_service(
        stores.events,
        stores.versions,
        clock.clone(),
        stores.audit,
    ));
    let streams = Streams::new(events.clone(), args.sse_max_streams as usize);
    let stopping: Arc<AtomicBool> = Arc::default();
    tokio::spawn(streams.clone().watch(stopping.clone()));
    let state = web::Data::new(AppState {
        accounts: Arc::new(accounts),
        events,
        bookings: bookings.clone(),
        tickets: Arc::new(tickets),
        health: stores.health,
        clock,
        render_metrics: Arc::new(render_metrics),
        rate_limits: RateLimits::new(limiter, args.rate_limits.settings()),
        event_bodies: Bodies::default(),
        listing_bodies: Bodies::default(),
        stopping: stopping.clone(),
        streams,
    });

    let origins = args.cors_allowed_origins.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(Condition::new(
                !origins.is_empty(),
                security::cors(&origins),
            ))
            .wrap(from_fn(security::security_headers))
            .wrap(from_fn(boxoffice_http::observe::observe))
            .configure(boxoffice_http::routes)
    })
    .shutdown_timeout(u64::from(args.shutdown_timeout_secs))
    .disable_signals()
    .bind(args.addr)
    .with_context(|| format!("cannot listen on {}", args.addr))?;
    for addr in server.addrs() {
        tracing::info!(
            %addr,
            store = match database { Database::Sqlite(_) => "sqlite", Database::Postgres(_) => "postgres" },
            hold_ttl_secs = args.hold_ttl_secs,
            shutdown_timeout_secs = args.shutdown_timeout_secs,
            shutdown_delay_secs = args.shutdown_delay_secs,
            "listening"
        );
    }
    let sweeper = Sweeper::start(bookings);
    let server = server.run();
    let delay = std::time::Duration::from_secs(u64::from(args.shutdown_delay_secs));
    tokio::spawn(stop_on_signal(server.handle(), stopping, delay));
    let served = server.await.context("the HTTP server failed");
    tracing::info!("HTTP server stopped; stopping background tasks");
    sweeper.stop().await;
    tracing::info!("stopped");
    served
}

/// Stops the server on a signal. SIGTERM: `/health/ready` answers 503 at once, the
/// server keeps serving for `delay` (so a load balancer that polls readiness stops
/// sending first), then stops gracefully: it closes the listener, lets requests in
/// flight finish for up to the shutdown timeout, then closes what is left. SIGINT:
/// stops at once. Either way `run` returns when the workers have stopped.
async fn stop_on_signal(
    server: ServerHandle,
    stopping: Arc<AtomicBool>,
    delay: std::time::Duration,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for SIGTERM and SIGINT; stop the process with SIGKILL");
        return;
    };
    tokio::select! {
        _ = term.recv() => {
            stopping.store(true, Ordering::SeqCst);
            tracing::info!(delay_secs = delay.as_secs(), "SIGTERM: not ready; stopping after the delay");
            tokio::time::sleep(delay).await;
            tracing::info!("closing the listener; draining requests in flight");
            server.stop(true).await;
        }
        _ = int.recv() => {
            tracing::info!("SIGINT: stopping at once");
            server.stop(false).await;
        }
    }
}
