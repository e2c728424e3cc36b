//! Logs: pretty for a terminal or JSON lines carrying the request's span fields.

use crate::config::{LogArgs, LogFormat};
use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber.
///
/// # Errors
/// When the filter does not parse.
pub fn init(args: &LogArgs) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&args.log_filter)
        .with_context(|| format!("RUST_LOG {:?} is not a valid log filter", args.log_filter))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let installed = match args.log_format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}
