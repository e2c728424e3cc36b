//! Logs: pretty for a terminal or JSON lines carrying the request's span fields.
//!
//! Lines are formatted on the thread that logs, then written to standard output by a
//! thread of their own, in batches: a request never waits for a `write` system call
//! (one per request at `info` was the largest cost of a cheap request after the network).

use crate::config::{LogArgs, LogFormat};
use anyhow::Context;
use std::io::BufWriter;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Bytes of log lines gathered before one write to standard output.
const BATCH_BYTES: usize = 64 * 1024;

/// Installs the global subscriber. Keep the returned guard until the process ends: it
/// writes out the lines still queued when dropped.
///
/// # Errors
/// When the filter does not parse.
pub fn init(args: &LogArgs) -> anyhow::Result<WorkerGuard> {
    let filter = EnvFilter::try_new(&args.log_filter)
        .with_context(|| format!("RUST_LOG {:?} is not a valid log filter", args.log_filter))?;
    // Not lossy: when the queue is full, the logging thread waits rather than drop lines.
    // The writer thread flushes whenever the queue is empty, so lines are not held back.
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(BATCH_BYTES, std::io::stdout()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match args.log_format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))?;
    Ok(guard)
}
