//! Structured logs through `tracing`: human-readable lines by default, one JSON object per line
//! with `--log-format json` or `log.format = "json"`. Logs go to stderr so that `vrrpd check`
//! and `vrrpd status` keep stdout for their output.
//!
//! Lines are written by a thread of their own, never by the event loop: stderr is often a pipe
//! (a container's log driver, journald, a terminal on a slow link), and a write to a full pipe
//! blocks until the reader catches up. On the event loop that would be a freeze of the virtual
//! routers, adverts late by as long as the reader is. When the logger thread falls behind by
//! [`BUFFERED_LINES`] lines, further lines are dropped and counted ([`dropped_lines`], exported as
//! `vrrpd_log_lines_dropped_total`) rather than wait.

use std::io::Write;
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Lines the logger thread may fall behind by before new ones are dropped.
pub const BUFFERED_LINES: usize = 10_000;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Keeps the logger thread; dropping it writes out the lines still queued.
#[must_use = "dropping the guard stops the logger thread"]
pub struct LogGuard(#[allow(dead_code)] WorkerGuard);

/// Log lines dropped since start because the logger thread could not keep up.
pub fn dropped_lines() -> u64 {
    DROPPED.get().map_or(0, |c| c.dropped_lines() as u64)
}

/// A writer that hands lines to a thread of its own writing them to `out`, dropping (and
/// counting) lines when `limit` are waiting.
fn non_blocking<W: Write + Send + 'static>(out: W, limit: usize) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(limit)
        .thread_name("vrrpd-log")
        .finish(out)
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive (the config's
/// `log.level`); `RUST_LOG`, when set, wins so that one run can be debugged without editing the
/// file. Returns an error if the directive is invalid or a subscriber is already installed.
pub fn init(format: LogFormat, level: &str) -> Result<LogGuard, String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => {
            EnvFilter::try_new(&env).map_err(|e| format!("RUST_LOG={env:?}: {e}"))?
        }
        _ => EnvFilter::try_new(level).map_err(|e| format!("log level {level:?}: {e}"))?,
    };
    let (writer, guard) = non_blocking(std::io::stderr(), BUFFERED_LINES);
    let counter = writer.error_counter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    result.map_err(|e| e.to_string())?;
    let _ = DROPPED.set(counter);
    Ok(LogGuard(guard))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A reader that never reads (a stuck log driver): logging 50,000 lines must neither block
    /// the caller nor lose count of what it dropped.
    #[test]
    fn a_stuck_reader_never_blocks_the_logging_thread() {
        let (rx, tx) = nix::unistd::pipe().expect("pipe");
        let out = std::fs::File::from(tx);
        let (writer, guard) = non_blocking(out, 100);
        let counter = writer.error_counter();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            tracing::subscriber::with_default(subscriber, || {
                let start = Instant::now();
                for i in 0..50_000 {
                    tracing::warn!(i, "a line the pipe has no room for");
                }
                done_tx.send(start.elapsed()).unwrap();
            });
        });
        let took = done_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("logging blocked on a pipe nobody reads");
        println!(
            "50,000 lines in {took:?}, {} dropped",
            counter.dropped_lines()
        );
        // The pipe holds 64 KiB and the queue 100 lines: nearly everything was dropped, and
        // counted.
        assert!(
            counter.dropped_lines() > 40_000,
            "dropped {}",
            counter.dropped_lines()
        );
        drop(rx);
        drop(guard);
    }
}
