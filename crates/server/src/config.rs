//! Configuration: every setting comes from an environment variable (or the matching flag),
//! and `boxoffice serve --help` lists them all.

use anyhow::{Context, bail};
use boxoffice_domain::ports::RateLimit;
use boxoffice_http::rate_limit::RateLimitSettings;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Which store `DATABASE_URL` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded store, in this file.
    Sqlite(PathBuf),
    /// A Postgres server.
    Postgres(String),
}

impl Database {
    /// Reads `sqlite://PATH` or `postgres://...`.
    ///
    /// # Errors
    /// For any other scheme or an empty path.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                bail!("DATABASE_URL {url:?} names no file; use sqlite://PATH");
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            bail!("DATABASE_URL must start with sqlite:// or postgres://");
        }
    }
}

/// The content of a secret file, without the line break an editor leaves at its end.
///
/// # Errors
/// When the file cannot be read (the message names the file, never its content).
pub fn read_secret(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the secret file {}", path.display()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// `value`, or the content of `file` when one is given.
fn value_or_file(value: Option<&String>, file: Option<&PathBuf>) -> anyhow::Result<Option<String>> {
    match file {
        Some(path) => read_secret(path).map(Some),
        None => Ok(value.cloned()),
    }
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        default_value = "sqlite://boxoffice.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// A file holding `DATABASE_URL` (a mounted secret), instead of the variable.
    #[arg(
        long,
        env = "DATABASE_URL_FILE",
        value_name = "DATABASE_URL_FILE",
        conflicts_with = "database_url"
    )]
    pub database_url_file: Option<PathBuf>,

    /// Most Postgres connections this process opens.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", value_name = "DATABASE_MAX_CONNECTIONS", default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_max_connections: u32,
}

impl DatabaseArgs {
    /// `DATABASE_URL`, or the content of `DATABASE_URL_FILE`.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn url(&self) -> anyhow::Result<String> {
        value_or_file(Some(&self.database_url), self.database_url_file.as_ref())
            .map(Option::unwrap_or_default)
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines for a terminal.
    Pretty,
    /// One JSON object per line, with the request id, for log collectors.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// `pretty` for a terminal, `json` for production.
    #[arg(long, env = "LOG_FORMAT", value_name = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Log filter, e.g. `info` or `info,boxoffice_http=debug`.
    #[arg(
        long,
        env = "RUST_LOG",
        value_name = "RUST_LOG",
        default_value = "info"
    )]
    pub log_filter: String,
}

/// Settings of `boxoffice serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the log says which).
    #[arg(
        long,
        env = "BOXOFFICE_ADDR",
        value_name = "BOXOFFICE_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// `redis://HOST:PORT[/DB]` (optional): rate-limit counters shared by every instance
    /// and, with Postgres, the seat admission gate. Unset: rate-limit counters live in
    /// this process's memory and seats are admitted by Postgres alone.
    #[arg(
        long,
        env = "REDIS_URL",
        value_name = "REDIS_URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,

    /// A file holding `REDIS_URL` (a mounted secret), instead of the variable.
    #[arg(
        long,
        env = "REDIS_URL_FILE",
        value_name = "REDIS_URL_FILE",
        conflicts_with = "redis_url"
    )]
    pub redis_url_file: Option<PathBuf>,

    /// Most Redis connections this process opens.
    #[arg(
        long,
        env = "REDIS_MAX_CONNECTIONS",
        value_name = "REDIS_MAX_CONNECTIONS",
        default_value_t = 32,
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub redis_max_connections: u32,

    /// Prefix of every Redis key, so that deployments can share one Redis (no braces).
    #[arg(
        long,
        env = "REDIS_KEY_PREFIX",
        value_name = "REDIS_KEY_PREFIX",
        default_value = "bo:"
    )]
    pub redis_key_prefix: String,

    #[command(flatten)]
    pub rate_limits: RateLimitArgs,

    /// HS256 signing secret, at least 32 bytes. Unset with SQLite: generated and kept
    /// beside the database file. Required with Postgres.
    #[arg(
        long,
        env = "JWT_SECRET",
        value_name = "JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,

    /// `smtp://USER:PASSWORD@HOST:587?tls=required` (STARTTLS), `smtps://...` (TLS from
    /// the start) or `smtp://HOST:25` (in the clear, for a local relay): mail such as
    /// password resets goes there. Unset: mail is written to the log.
    #[arg(
        long,
        env = "SMTP_URL",
        value_name = "SMTP_URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,

    /// A file holding `SMTP_URL` (a mounted secret), instead of the variable.
    #[arg(
        long,
        env = "SMTP_URL_FILE",
        value_name = "SMTP_URL_FILE",
        conflicts_with = "smtp_url"
    )]
    pub smtp_url_file: Option<PathBuf>,

    /// The sender of mail sent through SMTP.
    #[arg(
        long,
        env = "MAIL_FROM",
        value_name = "MAIL_FROM",
        default_value = "boxoffice <no-reply@localhost>"
    )]
    pub mail_from: String,

    /// Ed25519 keys that sign ticket codes: 32-byte seeds in base64, separated by
    /// commas. The first signs new codes; the others only verify codes they signed, so
    /// a key can be replaced without voiding printed tickets (`boxoffice ticket-key`
    /// makes a new one). Unset with SQLite: generated and kept beside the database
    /// file. Required with Postgres.
    #[arg(
        long,
        env = "TICKET_SIGNING_KEYS",
        value_name = "TICKET_SIGNING_KEYS",
        hide_env_values = true
    )]
    pub ticket_signing_keys: Option<String>,

    /// A file holding `TICKET_SIGNING_KEYS` (a mounted secret), instead of the variable.
    #[arg(
        long,
        env = "TICKET_SIGNING_KEYS_FILE",
        value_name = "TICKET_SIGNING_KEYS_FILE",
        conflicts_with = "ticket_signing_keys"
    )]
    pub ticket_signing_keys_file: Option<PathBuf>,

    /// A file holding `JWT_SECRET` (a mounted secret), instead of the variable.
    #[arg(
        long,
        env = "JWT_SECRET_FILE",
        value_name = "JWT_SECRET_FILE",
        conflicts_with = "jwt_secret"
    )]
    pub jwt_secret_file: Option<PathBuf>,

    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECS", value_name = "ACCESS_TOKEN_TTL_SECS", default_value_t = 900,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub access_token_ttl_secs: u32,

    /// Lifetime of refresh tokens, in seconds (default 30 days).
    #[arg(long, env = "REFRESH_TOKEN_TTL_SECS", value_name = "REFRESH_TOKEN_TTL_SECS", default_value_t = 2_592_000,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub refresh_token_ttl_secs: u32,

    #[command(flatten)]
    pub bcrypt: BcryptArgs,

    /// Lifetime of seat holds, in seconds.
    #[arg(long, env = "HOLD_TTL_SECS", value_name = "HOLD_TTL_SECS", default_value_t = 600,
        value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub hold_ttl_secs: u32,

    /// Most live availability streams (`GET /events/{id}/availability/stream`) one process
    /// keeps open; past it, a new one is 503.
    #[arg(long, env = "SSE_MAX_STREAMS", value_name = "SSE_MAX_STREAMS", default_value_t = 10_000,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub sse_max_streams: u32,

    /// On SIGTERM, how long requests in flight may take to finish, in seconds, before
    /// their connections are closed (0: do not wait for them).
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", value_name = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub shutdown_timeout_secs: u32,

    /// On SIGTERM, how long to keep serving with `/health/ready` answering 503 before
    /// the listener closes, in seconds: time for a load balancer to stop sending.
    #[arg(long, env = "SHUTDOWN_DELAY_SECS", value_name = "SHUTDOWN_DELAY_SECS", default_value_t = 0,
        value_parser = clap::value_parser!(u32).range(0..=300))]
    pub shutdown_delay_secs: u32,

    /// Origins whose browser pages may call the API (CORS), comma-separated, such as
    /// `https://shop.example.org,https://door.example.org`, or `*` for any. Empty (the
    /// default): no cross-origin calls.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_name = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',', value_parser = parse_origin)]
    pub cors_allowed_origins: Vec<String>,

    #[command(flatten)]
    pub log: LogArgs,
}

/// `*`, or an origin: `http` or `https`, a host and maybe a port, nothing after.
fn parse_origin(raw: &str) -> Result<String, String> {
    let origin = raw.trim();
    if origin == "*" {
        return Ok(origin.to_owned());
    }
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("{origin:?} is not an origin: start it with https:// or http://"))?;
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if valid {
        Ok(origin.to_owned())
    } else {
        Err(format!(
            "{origin:?} is not an origin: a scheme, a host and maybe a port, no path"
        ))
    }
}

impl ServeArgs {
    /// `REDIS_URL`, or the content of `REDIS_URL_FILE`; `None` without either.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn redis_url(&self) -> anyhow::Result<Option<String>> {
        value_or_file(self.redis_url.as_ref(), self.redis_url_file.as_ref())
    }

    /// `SMTP_URL`, or the content of `SMTP_URL_FILE`; `None` without either.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn smtp_url(&self) -> anyhow::Result<Option<String>> {
        value_or_file(self.smtp_url.as_ref(), self.smtp_url_file.as_ref())
    }

    /// `JWT_SECRET`, or the content of `JWT_SECRET_FILE`; `None` without either.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn jwt_secret(&self) -> anyhow::Result<Option<String>> {
        value_or_file(self.jwt_secret.as_ref(), self.jwt_secret_file.as_ref())
    }

    /// `TICKET_SIGNING_KEYS`, or the content of `TICKET_SIGNING_KEYS_FILE`; `None` without either.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn ticket_signing_keys(&self) -> anyhow::Result<Option<String>> {
        value_or_file(
            self.ticket_signing_keys.as_ref(),
            self.ticket_signing_keys_file.as_ref(),
        )
    }
}

/// Rate limits; 0 turns a limit off. Over a limit a request gets 429 `rate_limited`.
#[derive(Debug, Clone, Args)]
pub struct RateLimitArgs {
    /// `POST /api/v1/auth/*` requests (register, login, refresh, logout, password reset)
    /// per client IP per minute.
    #[arg(
        long,
        env = "RATE_LIMIT_AUTH_PER_MINUTE",
        value_name = "RATE_LIMIT_AUTH_PER_MINUTE",
        default_value_t = 30
    )]
    pub rate_limit_auth_per_minute: u32,

    /// Login attempts per email per hour, right or wrong (slows password guessing).
    #[arg(
        long,
        env = "RATE_LIMIT_LOGIN_PER_EMAIL_PER_HOUR",
        value_name = "RATE_LIMIT_LOGIN_PER_EMAIL_PER_HOUR",
        default_value_t = 20
    )]
    pub rate_limit_login_per_email_per_hour: u32,

    /// Other `POST`, `PUT`, `PATCH` and `DELETE` requests under /api/v1 per user (per
    /// client IP without a valid access token) per minute.
    #[arg(
        long,
        env = "RATE_LIMIT_WRITES_PER_MINUTE",
        value_name = "RATE_LIMIT_WRITES_PER_MINUTE",
        default_value_t = 60
    )]
    pub rate_limit_writes_per_minute: u32,

    /// `POST`, `PUT`, `PATCH` and `DELETE` requests made with one API token (a door
    /// scanner's check-ins) per minute.
    #[arg(
        long,
        env = "RATE_LIMIT_API_TOKEN_PER_MINUTE",
        value_name = "RATE_LIMIT_API_TOKEN_PER_MINUTE",
        default_value_t = 600
    )]
    pub rate_limit_api_token_per_minute: u32,

    /// Proxies in front of the service that each append the address they saw to
    /// `X-Forwarded-For` (0 to 10). 0: the client is the peer address and the header
    /// is ignored, since clients can write anything in it.
    #[arg(long, env = "TRUSTED_PROXY_HOPS", value_name = "TRUSTED_PROXY_HOPS", default_value_t = 0,
        value_parser = clap::value_parser!(u8).range(0..=10))]
    pub trusted_proxy_hops: u8,
}

impl RateLimitArgs {
    /// The limits as the HTTP layer takes them.
    #[must_use]
    pub fn settings(&self) -> RateLimitSettings {
        RateLimitSettings {
            auth_per_ip: RateLimit::per_minute(self.rate_limit_auth_per_minute),
            login_per_email: RateLimit::per_hour(self.rate_limit_login_per_email_per_hour),
            writes: RateLimit::per_minute(self.rate_limit_writes_per_minute),
            api_token: RateLimit::per_minute(self.rate_limit_api_token_per_minute),
            trusted_proxy_hops: usize::from(self.trusted_proxy_hops),
        }
    }
}

/// Password hashing cost.
#[derive(Debug, Clone, Args)]
pub struct BcryptArgs {
    /// bcrypt cost factor, 4 to 31 (each step doubles the time; 12 takes ~270 ms).
    #[arg(long, env = "BCRYPT_COST", value_name = "BCRYPT_COST", default_value_t = 12,
        value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_the_store() {
        assert_eq!(
            Database::parse("sqlite://boxoffice.db").ok(),
            Some(Database::Sqlite("boxoffice.db".into()))
        );
        assert_eq!(
            Database::parse("sqlite:///var/lib/b.db").ok(),
            Some(Database::Sqlite("/var/lib/b.db".into()))
        );
        assert!(matches!(
            Database::parse("postgres://u@h/db"),
            Ok(Database::Postgres(_))
        ));
        assert!(Database::parse("mysql://x").is_err());
        assert!(Database::parse("sqlite://").is_err());
    }

    #[test]
    fn cors_origins_are_origins() {
        for good in [
            "*",
            "https://shop.example.org",
            "http://localhost:5173",
            " http://[::1]:8080 ",
        ] {
            assert_eq!(parse_origin(good), Ok(good.trim().to_owned()), "{good}");
        }
        for bad in [
            "",
            "shop.example.org",
            "https://",
            "https://shop.example.org/",
            "https://shop.example.org/path",
            "ftp://shop.example.org",
            "https://a b",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_come_from_files_as_well() {
        use clap::Parser;
        #[derive(Parser)]
        struct Serve {
            #[command(flatten)]
            args: ServeArgs,
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path.display().to_string()
        };
        let secret = write("jwt", "a-secret-of-thirty-two-bytes-or-more\n");
        let database = write("db", "postgres://u@h/db\r\n");
        let redis = write("redis", "redis://127.0.0.1:6379/2");
        let parsed = Serve::try_parse_from([
            "serve",
            "--jwt-secret-file",
            &secret,
            "--database-url-file",
            &database,
            "--redis-url-file",
            &redis,
        ])
        .expect("parses");
        assert_eq!(
            parsed.args.jwt_secret().expect("read").as_deref(),
            Some("a-secret-of-thirty-two-bytes-or-more")
        );
        assert_eq!(
            parsed.args.database.url().expect("read"),
            "postgres://u@h/db"
        );
        assert_eq!(
            parsed.args.redis_url().expect("read").as_deref(),
            Some("redis://127.0.0.1:6379/2")
        );
        let both =
            Serve::try_parse_from(["serve", "--jwt-secret", "x", "--jwt-secret-file", &secret]);
        assert!(both.is_err(), "a secret and its file at once");
        let missing = Serve::try_parse_from(["serve", "--jwt-secret-file", "/nonexistent/secret"])
            .expect("parses");
        let error = missing
            .args
            .jwt_secret()
            .expect_err("no such file")
            .to_string();
        assert!(error.contains("/nonexistent/secret"), "{error}");
    }
}
