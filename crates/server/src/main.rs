//! `boxoffice`: the event-ticket booking service's one binary.

mod app;
mod config;
mod instruments;
mod mailer;
mod secrets;
mod sweeper;
mod telemetry;

use clap::{Parser, Subcommand};
use config::{BcryptArgs, DatabaseArgs, LogArgs, ServeArgs};
use std::process::ExitCode;

/// Event-ticket booking that never oversells.
#[derive(Debug, Parser)]
#[command(name = "boxoffice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Applies pending migrations, then serves the HTTP API.
    Serve(Box<ServeArgs>),
    /// Applies pending migrations and exits.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        log: LogArgs,
    },
    /// Manages accounts from the command line.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Prints the OpenAPI document (what `/api/openapi.json` serves) and exits.
    Openapi,
    /// Prints a new random ticket signing key (a base64 Ed25519 seed): put it first in
    /// `TICKET_SIGNING_KEYS` to rotate, keeping the older keys after it.
    TicketKey,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Creates an account with any role (the way to make the first admin).
    Create(UserCreateArgs),
}

/// `boxoffice user create`.
#[derive(Debug, clap::Args)]
pub struct UserCreateArgs {
    /// Email, unique ignoring case.
    #[arg(long)]
    email: String,
    /// Password, 8 characters to 72 bytes. A password in the command line shows in the
    /// process list and the shell's history: prefer `--password-stdin`, or leave both
    /// out on a terminal to be asked for it.
    #[arg(long, conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Reads the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Display name.
    #[arg(long)]
    name: String,
    /// attendee, organizer or admin.
    #[arg(long, default_value = "attendee")]
    role: String,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    bcrypt: BcryptArgs,
    #[command(flatten)]
    log: LogArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = match &cli.command {
        Command::Openapi => return print_openapi(),
        Command::TicketKey => {
            println!("{}", boxoffice_auth::generate_seed());
            return ExitCode::SUCCESS;
        }
        Command::Serve(args) => &args.log,
        Command::Migrate { log, .. } => log,
        Command::User {
            command: UserCommand::Create(args),
        } => &args.log,
    };
    let _log_writer = match telemetry::init(log) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Openapi | Command::TicketKey => Ok(()),
            Command::Serve(args) => app::serve(*args).await,
            Command::Migrate { database, .. } => app::migrate(&database).await,
            Command::User {
                command: UserCommand::Create(args),
            } => app::create_user(args).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "boxoffice stopped");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `boxoffice openapi`: the document as pretty JSON on stdout.
fn print_openapi() -> ExitCode {
    match serde_json::to_string_pretty(&boxoffice_http::openapi_document()) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot write the OpenAPI document: {error}");
            ExitCode::FAILURE
        }
    }
}
