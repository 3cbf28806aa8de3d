//! The event loop's one wait: a level-triggered epoll over the timer, the services' notices and
//! the data path's descriptors.
//!
//! Level-triggered, so a descriptor that still holds something after a partial read (a TAP read
//! one frame at a time, an unread timer expiry) wakes the next wait at once instead of being
//! lost, and no read has to run until `EAGAIN` to re-arm an edge.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, RawFd};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use crate::datapath::Source;

/// Which descriptors a wait found ready.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Ready(u8);

impl Ready {
    pub const TIMER: Ready = Ready(1);
    pub const NOTICES: Ready = Ready(1 << 1);
    const TAP: Ready = Ready(1 << 2);
    const UNICAST4: Ready = Ready(1 << 3);
    const UNICAST6: Ready = Ready(1 << 4);

    pub fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// The data path's ready sources, the TAP first.
    pub fn sources(self) -> impl Iterator<Item = Source> {
        [
            (Ready::TAP, Source::Tap),
            (Ready::UNICAST4, Source::Unicast4),
            (Ready::UNICAST6, Source::Unicast6),
        ]
        .into_iter()
        .filter(move |(r, _)| self.contains(*r))
        .map(|(_, s)| s)
    }

    fn of(source: Source) -> Ready {
        match source {
            Source::Tap => Ready::TAP,
            Source::Unicast4 => Ready::UNICAST4,
            Source::Unicast6 => Ready::UNICAST6,
        }
    }
}

pub(super) struct Poller {
    epoll: Epoll,
    events: [EpollEvent; 8],
}

impl Poller {
    /// Watches `timer`, `notices` and every data path source for readability (and errors: a
    /// TAP whose interface was deleted polls as an error only, which the next read reports).
    pub fn new(
        timer: &impl AsFd,
        notices: &impl AsFd,
        sources: &[(Source, RawFd)],
    ) -> io::Result<Poller> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let watch = |fd: BorrowedFd<'_>, r: Ready| {
            epoll.add(fd, EpollEvent::new(EpollFlags::EPOLLIN, u64::from(r.0)))
        };
        watch(timer.as_fd(), Ready::TIMER)?;
        watch(notices.as_fd(), Ready::NOTICES)?;
        for &(source, fd) in sources {
            // SAFETY: the data path owns `fd` and outlives the poller (both belong to the
            // daemon, and the poller only lives inside its loop).
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            watch(fd, Ready::of(source))?;
        }
        Ok(Poller {
            epoll,
            events: [EpollEvent::empty(); 8],
        })
    }

    /// Waits until at least one descriptor is ready.
    pub fn wait(&mut self) -> io::Result<Ready> {
        loop {
            match self.epoll.wait(&mut self.events, EpollTimeout::NONE) {
                Ok(n) => {
                    let ready = self.events[..n]
                        .iter()
                        .fold(0u8, |acc, e| acc | e.data() as u8);
                    if ready != 0 {
                        return Ok(Ready(ready));
                    }
                }
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::eventfd::{EfdFlags, EventFd};
    use std::os::fd::AsRawFd;

    #[test]
    fn reports_what_is_ready_and_keeps_reporting_it_until_read() {
        let timer = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let notices = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let tap = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let u6 = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).unwrap();
        let mut p = Poller::new(
            &timer,
            &notices,
            &[
                (Source::Tap, tap.as_raw_fd()),
                (Source::Unicast6, u6.as_raw_fd()),
            ],
        )
        .unwrap();
        tap.write(1).unwrap();
        u6.write(1).unwrap();
        let r = p.wait().unwrap();
        assert_eq!(
            r.sources().collect::<Vec<_>>(),
            [Source::Tap, Source::Unicast6]
        );
        assert!(!r.contains(Ready::TIMER) && !r.contains(Ready::NOTICES));
        // Level-triggered: still ready, since nothing was read.
        assert_eq!(p.wait().unwrap(), r);
        tap.read().unwrap();
        u6.read().unwrap();
        timer.write(1).unwrap();
        let r = p.wait().unwrap();
        assert!(r.contains(Ready::TIMER));
        assert_eq!(r.sources().count(), 0);
    }
}
