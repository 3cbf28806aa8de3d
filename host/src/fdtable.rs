//! Helper threads get a descriptor table of their own, so that the event loop thread alone holds
//! the fast path's nf_tables socket and the TAP device.
//!
//! Why it matters: the fast path's table is owned by that socket and goes with it, which is what
//! fences the VIP when vrrpd is killed. In a container vrrpd is PID 1, and when it dies the kernel
//! kills every other process of the container (nginx) as soon as the last of vrrpd's threads
//! that is not yet exiting is gone. A thread that shares the event loop's descriptor table
//! keeps the socket open until it has itself closed its files, which may come after that kill:
//! for those few milliseconds the table still hands VIP traffic to a kernel whose nginx is dead,
//! and every connection attempt is refused (a proxy that retries at once turns that into a 502).
//! With a table of its own, a helper thread holds nothing of the data path, and the socket
//! closes with the event loop thread, before the kernel kills anything.
//!
//! Two flavours: the logger thread keeps only stdio and its output ([`keep_only`]); the tokio
//! runtime's blocking-pool threads lose the sockets and devices ([`drop_sockets_and_devices`])
//! but keep the runtime's own event and timer descriptors, through which they wake the event
//! loop. A blocking task must open what it uses itself.

use std::io;
use std::os::fd::RawFd;

/// `CLOSE_RANGE_UNSHARE` (linux/close_range.h): unshare the descriptor table, then close.
const CLOSE_RANGE_UNSHARE: libc::c_int = 1 << 1;

/// Gives the calling thread a private copy of the descriptor table and closes in that copy
/// every descriptor except `keep` (the process's other threads keep theirs).
pub fn keep_only(keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<libc::c_uint> = keep
        .iter()
        .filter_map(|&fd| libc::c_uint::try_from(fd).ok())
        .collect();
    keep.sort_unstable();
    keep.dedup();
    // The gaps between kept descriptors: [0, k0), (k0, k1), ..., (kn, MAX].
    let mut gaps = Vec::with_capacity(keep.len() + 1);
    let mut first = 0;
    for &k in &keep {
        if k > first {
            gaps.push((first, k - 1));
        }
        first = k + 1;
    }
    gaps.push((first, libc::c_uint::MAX));
    let mut unshared = false;
    for (lo, hi) in gaps {
        let flags = if unshared { 0 } else { CLOSE_RANGE_UNSHARE };
        // SAFETY: close_range(2) takes no pointers; with CLOSE_RANGE_UNSHARE it closes
        // descriptors of this thread's new private table only, never the event loop's.
        if unsafe { libc::close_range(lo, hi, flags) } != 0 {
            return Err(io::Error::last_os_error());
        }
        unshared = true;
    }
    Ok(())
}

/// Gives the calling thread a private copy of the descriptor table and closes in that copy
/// every socket and character device (the TAP) above stderr. Anonymous descriptors (eventfd,
/// epoll, timerfd, pidfd), through which a runtime thread wakes the event loop, stay.
pub fn drop_sockets_and_devices() -> io::Result<()> {
    unshare()?;
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/thread-self/fd")?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: fstat(2) writes into the zeroed struct it is given; a descriptor that is no
        // longer open (the directory's own) fails with EBADF and is skipped.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            continue;
        }
        let kind = st.st_mode & libc::S_IFMT;
        if kind == libc::S_IFSOCK || kind == libc::S_IFCHR {
            // SAFETY: closes this thread's private copy of the entry only.
            unsafe { libc::close(fd) };
        }
    }
    Ok(())
}

/// Gives the calling thread a private copy of the descriptor table, closing nothing: what the
/// process opens from now on, on another thread, is not in it.
pub fn unshare() -> io::Result<()> {
    // Not unshare(CLONE_FILES): Docker's default seccomp profile refuses unshare(2) without
    // CAP_SYS_ADMIN, but allows close_range(2), which unshares the same way. The highest
    // possible descriptor number is never open, so nothing is closed.
    // SAFETY: close_range(2) takes no pointers and closes nothing here.
    if unsafe { libc::close_range(libc::c_uint::MAX, libc::c_uint::MAX, CLOSE_RANGE_UNSHARE) } != 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the calling thread's descriptor table holds `fd` (an `fcntl(F_GETFD)` probe).
pub fn holds(fd: RawFd) -> bool {
    // SAFETY: F_GETFD reads the descriptor's flags; an unknown descriptor is EBADF.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn open_file() -> std::fs::File {
        std::fs::File::open("/proc/self/stat").expect("open")
    }

    #[test]
    fn a_thread_with_its_own_table_holds_only_what_it_kept() {
        let kept = open_file();
        let shared = open_file();
        let (kept_fd, shared_fd) = (kept.as_raw_fd(), shared.as_raw_fd());
        let (later_tx, later_rx) = std::sync::mpsc::channel::<RawFd>();
        let (seen_tx, seen_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            keep_only(&[0, 1, 2, kept_fd]).expect("close_range with CLOSE_RANGE_UNSHARE");
            let now = (holds(kept_fd), holds(shared_fd));
            // A descriptor the main thread opens afterwards is not in this table either.
            let later = later_rx.recv().unwrap();
            seen_tx.send((now, holds(later))).unwrap();
        });
        let later = open_file();
        later_tx.send(later.as_raw_fd()).unwrap();
        let ((kept_seen, shared_seen), later_seen) = seen_rx.recv().unwrap();
        thread.join().unwrap();
        assert!(kept_seen, "the kept descriptor was closed");
        assert!(
            !shared_seen,
            "the thread still holds a descriptor it did not keep"
        );
        assert!(
            !later_seen,
            "the thread sees a descriptor opened after it unshared"
        );
        // The main thread's table is untouched.
        assert!(holds(kept_fd) && holds(shared_fd) && holds(later.as_raw_fd()));
        drop((kept, shared, later));
    }

    #[test]
    fn a_runtime_thread_loses_sockets_and_devices_and_keeps_the_rest() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let device = std::fs::File::open("/dev/null").unwrap();
        let file = open_file();
        let (sock_fd, dev_fd, file_fd) = (socket.as_raw_fd(), device.as_raw_fd(), file.as_raw_fd());
        let seen = std::thread::spawn(move || {
            drop_sockets_and_devices().expect("unshare");
            (holds(sock_fd), holds(dev_fd), holds(file_fd), holds(2))
        })
        .join()
        .unwrap();
        assert_eq!(
            seen,
            (false, false, true, true),
            "(socket, device, file, stderr)"
        );
        assert!(
            holds(sock_fd) && holds(dev_fd),
            "the main thread lost its own"
        );
    }
}
