//! Everything of the daemon that is not the protocol, on a thread of its own: the status server,
//! the health checks, the notify hooks, the supervised service and the signals, all on a
//! current-thread tokio runtime.
//!
//! Why a second thread: the event loop wakes once per advert interval (100 times a second at
//! 10 ms) and does a few microseconds of work each time. A general async runtime around it cost
//! more than the work itself (its turn, the `select!` rebuilt each time, wakers, timer wheel), so
//! the loop is a plain `epoll_wait` on the main thread and hears of these services through a
//! channel and an `eventfd` ([`Notifier`]).
//!
//! The thread gets a descriptor table of its own that holds none of the data path's descriptors
//! (see [`crate::fdtable`]): the fast path's nf_tables socket must close with the main thread.
//! It builds its runtime first and then unshares the table, so the runtime's own descriptors
//! (the driver's wake-up eventfd, the signal pipe) are in both tables, and the main thread can
//! spawn tasks on it; it must start before the data path opens anything. Whatever the services
//! open later (listening socket, check sockets, children's pipes) is theirs alone, so it is
//! opened on this thread: [`Services::run`] runs a closure there, [`Services::block_on`] a
//! future.
//!
//! Signals: the main thread, and every other thread but this one, blocks SIGTERM, SIGINT, SIGHUP
//! and SIGCHLD, so the kernel delivers them here, where tokio's handlers write to descriptors of
//! this table ([`block_signals`]).

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use tokio::runtime::Handle;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;
use tracing::warn;

use crate::health::HealthEvent;

/// What the services tell the event loop.
#[derive(Debug)]
pub(super) enum Notice {
    Terminate(&'static str),
    Reload,
    Health(HealthEvent),
    /// The supervised service exited: its name and exit status.
    ChildExited(String, String),
    /// An operator's request (`vrrpd ctl`), and where its reply line goes.
    Control(crate::control::Request, oneshot::Sender<String>),
    /// The status server is about to answer: the routers' counters are to be copied into the
    /// status, and the sender told once they are.
    Refresh(oneshot::Sender<()>),
}

/// The signals only the services thread takes.
fn handled_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ] {
        set.add(s);
    }
    set
}

/// Blocks the signals the services thread handles in the calling thread (and the threads it
/// starts from now on): tokio's handlers write to descriptors of the services thread's table, so
/// a signal delivered to another thread would be lost.
pub fn block_signals() -> io::Result<()> {
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&handled_signals()), None).map_err(io::Error::from)
}

fn unblock_signals() -> io::Result<()> {
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&handled_signals()), None)
        .map_err(io::Error::from)
}

/// Sends [`Notice`]s to the event loop and wakes it.
#[derive(Clone)]
pub(super) struct Notifier {
    tx: crossbeam_channel::Sender<Notice>,
    wake: Arc<EventFd>,
}

impl Notifier {
    pub fn send(&self, notice: Notice) {
        if self.tx.send(notice).is_ok() {
            // Fails only when the counter would overflow, i.e. the loop is long gone.
            let _ = self.wake.write(1);
        }
    }
}

/// The event loop's end of the [`Notifier`].
pub(super) struct Inbox {
    rx: crossbeam_channel::Receiver<Notice>,
    wake: Arc<EventFd>,
}

impl Inbox {
    /// Everything sent since the last call; resets the wake-up.
    pub fn drain(&self) -> impl Iterator<Item = Notice> + '_ {
        // EAGAIN when nothing was written since the last read: nothing is lost.
        let _ = self.wake.read();
        self.rx.try_iter()
    }
}

impl AsFd for Inbox {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }
}

pub(super) fn channel() -> io::Result<(Notifier, Inbox)> {
    let wake = Arc::new(EventFd::from_flags(
        EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC,
    )?);
    let (tx, rx) = crossbeam_channel::unbounded();
    Ok((
        Notifier {
            tx,
            wake: wake.clone(),
        },
        Inbox { rx, wake },
    ))
}

/// The services thread and its runtime. Dropping it stops the runtime (every task is
/// cancelled) and joins the thread.
pub(super) struct Services {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The services thread is gone (it panicked); whatever was asked of it did not happen.
#[derive(Debug, thiserror::Error)]
#[error("the services thread is gone")]
pub(super) struct Gone;

impl Services {
    /// Starts the thread with the signal handlers, which send to `notifier`. Call it before the
    /// data path opens its descriptors: the thread's table is a copy of the process's at start.
    pub fn start(notifier: Notifier) -> io::Result<Services> {
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("vrrpd-services".into())
            .spawn(move || {
                let setup = || -> io::Result<_> {
                    let rt = super::runtime()?;
                    let signals = {
                        let _guard = rt.enter();
                        Signals::new()?
                    };
                    crate::fdtable::unshare()?;
                    unblock_signals()?;
                    Ok((rt, signals))
                };
                let (rt, signals) = match setup() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let (stop_tx, stop_rx) = oneshot::channel();
                let _ = ready_tx.send(Ok((rt.handle().clone(), stop_tx)));
                rt.block_on(async move {
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = signals.forward(notifier) => {}
                    }
                });
            })?;
        let (handle, stop) = ready_rx
            .recv()
            .map_err(|_| io::Error::other("the services thread died while starting"))??;
        Ok(Services {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the services thread, inside its runtime (so it may `tokio::spawn`, and the
    /// descriptors it opens are the services thread's), and returns its result.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, Gone> {
        self.block_on(async move { f() })
    }

    /// Runs `fut` to completion on the services thread and returns its output.
    pub fn block_on<F>(&self, fut: F) -> Result<F::Output, Gone>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().map_err(|_| Gone)
    }

    /// Starts `fut` on the services thread without waiting for it.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn(fut);
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            warn!("the services thread panicked");
        }
    }
}

struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn forward(mut self, to: Notifier) {
        loop {
            let notice = tokio::select! {
                biased;
                _ = self.term.recv() => Notice::Terminate("SIGTERM"),
                _ = self.int.recv() => Notice::Terminate("SIGINT"),
                _ = self.hup.recv() => Notice::Reload,
            };
            to.send(notice);
        }
    }
}

/// Serves `vrrpd ctl` on `listener` (on the services thread): one request line, one reply
/// line, from vrrpd's own user or root only.
pub(super) async fn serve_control(listener: tokio::net::UnixListener, to: Notifier) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(control_connection(stream, to.clone()));
    }
}

async fn control_connection(stream: tokio::net::UnixStream, to: Notifier) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let me = nix::unistd::geteuid().as_raw();
    let reply = match stream.peer_cred() {
        Ok(c) if c.uid() == 0 || c.uid() == me => None,
        Ok(c) => {
            tracing::warn!(uid = c.uid(), "control request refused: not vrrpd's user");
            Some("error permission denied: only root or vrrpd's user may control it".to_owned())
        }
        Err(e) => Some(format!("error peer credentials: {e}")),
    };
    let (read, mut write) = stream.into_split();
    let reply = match reply {
        Some(r) => r,
        None => {
            let mut line = String::new();
            // A request is one short line; more is not a request.
            let mut reader = BufReader::new(read.take(512));
            let read = reader.read_line(&mut line);
            match tokio::time::timeout(std::time::Duration::from_secs(5), read).await {
                Ok(Ok(_)) => match crate::control::Request::parse(&line) {
                    Ok(req) => {
                        let (tx, rx) = oneshot::channel();
                        to.send(Notice::Control(req, tx));
                        rx.await
                            .unwrap_or_else(|_| "error the daemon is stopping".to_owned())
                    }
                    Err(e) => format!("error {e}"),
                },
                Ok(Err(e)) => format!("error reading the request: {e}"),
                Err(_) => "error no request within 5 s".to_owned(),
            }
        }
    };
    let _ = write.write_all(format!("{reply}\n").as_bytes()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn run_executes_on_the_services_thread_with_its_own_descriptors() {
        let (notifier, inbox) = channel().unwrap();
        let services = Services::start(notifier.clone()).unwrap();
        // Opened after the start, as the data path is.
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = socket.as_raw_fd();
        let (name, held) = services
            .run(move || {
                (
                    std::thread::current().name().map(str::to_owned),
                    crate::fdtable::holds(fd),
                )
            })
            .unwrap();
        assert_eq!(name.as_deref(), Some("vrrpd-services"));
        assert!(!held, "the services thread holds the loop's socket {fd}");
        // Tasks spawned from there run on its runtime.
        let seven = services
            .block_on(async { tokio::spawn(async { 7 }).await.unwrap() })
            .unwrap();
        assert_eq!(seven, 7);
        // A notice sent from the services thread wakes the loop's end.
        services.run(move || notifier.send(Notice::Reload)).unwrap();
        let mut fds = [nix::poll::PollFd::new(
            inbox.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        assert_eq!(
            nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(5_000u16)).unwrap(),
            1
        );
        let got: Vec<Notice> = inbox.drain().collect();
        assert!(matches!(got.as_slice(), [Notice::Reload]), "{got:?}");
        drop(services);
    }
}
