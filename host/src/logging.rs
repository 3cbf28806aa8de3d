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
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Lines the logger thread may fall behind by before new ones are dropped.
pub const BUFFERED_LINES: usize = 10_000;

/// How long stopping waits for the queued lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

static DROPPED: OnceLock<Arc<AtomicU64>> = OnceLock::new();

enum Msg {
    Line(Vec<u8>),
    Stop,
}

/// The writer the subscriber formats into: each write is one line, queued for the logger
/// thread, or dropped and counted when the queue is full.
#[derive(Clone)]
pub struct LineWriter {
    tx: Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Full (the thread is behind) or disconnected (it ended): the line is lost, and counted.
        if self.tx.try_send(Msg::Line(buf.to_vec())).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps the logger thread; dropping it writes out the lines still queued (waiting at most
/// `FLUSH_WAIT`, a second, for a slow reader).
#[must_use = "dropping the guard stops the logger thread"]
pub struct LogGuard {
    tx: Sender<Msg>,
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if self.tx.send_timeout(Msg::Stop, FLUSH_WAIT).is_ok()
            && self.done.recv_timeout(FLUSH_WAIT).is_ok()
            && let Some(t) = self.thread.take()
        {
            let _ = t.join();
        }
    }
}

/// Log lines dropped since start because the logger thread could not keep up.
pub fn dropped_lines() -> u64 {
    DROPPED.get().map_or(0, |c| c.load(Ordering::Relaxed))
}

/// A writer that hands lines to a thread of its own writing them to `out` (descriptor
/// `out_fd`), dropping (and counting) lines when `limit` are waiting. The thread keeps only
/// stdin, stdout, stderr and `out_fd` of the process's descriptors (see [`crate::fdtable`]).
fn non_blocking<W: Write + Send + 'static>(
    mut out: W,
    out_fd: RawFd,
    limit: usize,
) -> std::io::Result<(LineWriter, LogGuard, Arc<AtomicU64>)> {
    let (tx, rx) = bounded::<Msg>(limit);
    let (done_tx, done) = bounded::<()>(1);
    let dropped = Arc::new(AtomicU64::new(0));
    let (ready_tx, ready_rx) = bounded::<std::io::Result<()>>(1);
    let thread = std::thread::Builder::new()
        .name("vrrpd-log".into())
        .spawn(move || {
            // The daemon's signals are the services thread's: its handlers write to
            // descriptors this thread no longer has.
            let _ = nix::sys::signal::pthread_sigmask(
                nix::sys::signal::SigmaskHow::SIG_BLOCK,
                Some(&nix::sys::signal::SigSet::all()),
                None,
            );
            let _ = ready_tx.send(crate::fdtable::keep_only(&[0, 1, 2, out_fd]));
            while let Ok(msg) = rx.recv() {
                let mut stop = false;
                for msg in std::iter::once(msg).chain(rx.try_iter()) {
                    match msg {
                        // A reader that went away or a full disk: nothing better to do with
                        // the line than lose it; the daemon goes on.
                        Msg::Line(line) => drop(out.write_all(&line)),
                        Msg::Stop => stop = true,
                    }
                }
                let _ = out.flush();
                if stop {
                    break;
                }
            }
            let _ = done_tx.send(());
        })?;
    // The thread must have let go of the process's descriptors before the daemon opens its
    // data path, so this waits for it.
    ready_rx
        .recv()
        .map_err(|_| std::io::Error::other("the logger thread ended at start"))??;
    let writer = LineWriter {
        tx: tx.clone(),
        dropped: dropped.clone(),
    };
    let guard = LogGuard {
        tx,
        done,
        thread: Some(thread),
    };
    Ok((writer, guard, dropped))
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
    let (writer, guard, dropped) = non_blocking(std::io::stderr(), 2, BUFFERED_LINES)
        .map_err(|e| format!("logger thread: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || writer.clone());
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
    let _ = DROPPED.set(dropped);
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    /// The descriptors the threads named `name` of this process hold, from
    /// `/proc/self/task/<tid>/fd`.
    fn thread_fds(name: &str) -> Vec<Vec<RawFd>> {
        let mut out = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim_end() != name {
                continue;
            }
            let fds = std::fs::read_dir(task.path().join("fd"))
                .unwrap()
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect();
            out.push(fds);
        }
        out
    }

    /// The logger thread holds stdio and its output only: a socket the event loop opens later
    /// (the fast path's) is not kept open by it, so it closes when the event loop thread dies.
    #[test]
    fn the_logger_thread_holds_none_of_the_daemons_descriptors() {
        let before = std::fs::File::open("/proc/self/stat").unwrap();
        let (_rx, tx) = nix::unistd::pipe().expect("pipe");
        let out = std::fs::File::from(tx);
        let fd = out.as_raw_fd();
        let (_writer, guard, _) = non_blocking(out, fd, 10).expect("logger thread");
        let after = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tables = thread_fds("vrrpd-log");
        assert_eq!(tables.len(), 1, "one logger thread: {tables:?}");
        let held = &tables[0];
        assert!(held.contains(&fd), "the logger lost its output: {held:?}");
        for other in [before.as_raw_fd(), after.as_raw_fd()] {
            assert!(
                !held.contains(&other),
                "the logger thread holds descriptor {other}: {held:?}"
            );
        }
        drop(guard);
    }

    /// A reader that never reads (a stuck log driver): logging 50,000 lines must neither block
    /// the caller nor lose count of what it dropped.
    #[test]
    fn a_stuck_reader_never_blocks_the_logging_thread() {
        let (rx, tx) = nix::unistd::pipe().expect("pipe");
        let out = std::fs::File::from(tx);
        let fd = out.as_raw_fd();
        let (writer, guard, counter) = non_blocking(out, fd, 100).expect("logger thread");
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
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
            counter.load(Ordering::Relaxed)
        );
        // The pipe holds 64 KiB and the queue 100 lines: nearly everything was dropped, and
        // counted.
        assert!(
            counter.load(Ordering::Relaxed) > 40_000,
            "dropped {}",
            counter.load(Ordering::Relaxed)
        );
        drop(rx);
        drop(guard);
    }
}
