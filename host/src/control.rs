//! `vrrpd ctl`: an operator drains a node or changes a router's priority at run time, over a
//! Unix socket that only vrrpd's own user (root, in practice) can use: the socket file is mode
//! 0600 in a directory of mode 0700, and the daemon also checks the peer's uid (`SO_PEERCRED`).
//! Never over the TCP status port.
//!
//! The protocol is one request line and one reply line:
//!
//! ```text
//! drain [VRID]            priority 0: an Active steps down at once (a Backup takes over after
//!                         Skew_Time); never Active again until undrained
//! undrain [VRID]          back to the configured (or set) priority
//! set-priority N [VRID]   N (1..=254) instead of the configured priority; checks still apply
//! reset [VRID]            forget both
//! show                    the overrides in force
//! ```
//!
//! Without a VRID a request applies to every virtual router. Replies start with `ok` or
//! `error`. What is set survives a reload (SIGHUP) and is lost at a restart.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the operator asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Drain,
    Undrain,
    SetPriority(u8),
    Reset,
    Show,
}

/// One request: an action for one virtual router, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub action: Action,
    pub vrid: Option<u8>,
}

impl Request {
    /// Parses a request line (see the module documentation).
    pub fn parse(line: &str) -> Result<Request, String> {
        let mut words = line.split_whitespace();
        let verb = words.next().ok_or("empty request")?;
        let number = |w: Option<&str>, what: &str| -> Result<Option<u8>, String> {
            w.map(|w| {
                w.parse::<u8>()
                    .map_err(|_| format!("{what} {w:?} is not a number from 0 to 255"))
            })
            .transpose()
        };
        let action = match verb {
            "drain" => Action::Drain,
            "undrain" => Action::Undrain,
            "reset" => Action::Reset,
            "show" => Action::Show,
            "set-priority" => {
                let p = number(words.next(), "priority")?.ok_or("set-priority needs N")?;
                if !(1..=254).contains(&p) {
                    return Err(format!(
                        "priority {p}: 1 to 254 (0 is drain, 255 is the address owner's)"
                    ));
                }
                Action::SetPriority(p)
            }
            other => return Err(format!("unknown request {other:?}")),
        };
        let vrid = number(words.next(), "VRID")?;
        if vrid == Some(0) {
            return Err("VRID 0 does not exist (1 to 255)".into());
        }
        if let Some(extra) = words.next() {
            return Err(format!("unexpected {extra:?}"));
        }
        if action == Action::Show && vrid.is_some() {
            return Err("show takes no VRID".into());
        }
        Ok(Request { action, vrid })
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.action {
            Action::Drain => f.write_str("drain")?,
            Action::Undrain => f.write_str("undrain")?,
            Action::Reset => f.write_str("reset")?,
            Action::Show => f.write_str("show")?,
            Action::SetPriority(p) => write!(f, "set-priority {p}")?,
        }
        match self.vrid {
            Some(v) => write!(f, " {v}"),
            None => Ok(()),
        }
    }
}

/// What the operator set for one virtual router.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Override {
    pub drained: bool,
    /// Replaces the configured priority.
    pub priority: Option<u8>,
}

impl Override {
    /// Applies `action`; `Err` when it cannot apply to this router.
    pub fn apply(&mut self, action: Action, owner: bool) -> Result<(), String> {
        match action {
            Action::Drain => self.drained = true,
            Action::Undrain => self.drained = false,
            Action::SetPriority(_) if owner => {
                return Err("the address owner's priority is 255 and cannot be set".into());
            }
            Action::SetPriority(p) => self.priority = Some(p),
            Action::Reset => *self = Override::default(),
            Action::Show => {}
        }
        Ok(())
    }

    /// The base priority to track checks over, `None` while drained (priority 0).
    pub fn base(&self, configured: u8) -> Option<u8> {
        (!self.drained).then(|| self.priority.unwrap_or(configured))
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.drained, self.priority) {
            (false, None) => f.write_str("as configured"),
            (true, None) => f.write_str("drained"),
            (false, Some(p)) => write!(f, "priority {p}"),
            (true, Some(p)) => write!(f, "drained (priority {p} when undrained)"),
        }
    }
}

/// Where the socket is when the config names none: a directory per network namespace, as the
/// data path's state, since several nodes of one host may share `/run` (the tests do).
pub fn default_socket() -> io::Result<PathBuf> {
    Ok(crate::datapath::state_dir()?.join("control.sock"))
}

/// Binds the socket at `path`, owner-only: the directory is made 0700 if vrrpd creates it, a
/// stale socket of an earlier run is replaced, and the socket is 0600.
pub fn bind(path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The client side: sends `request` to the daemon at `socket` and returns its reply line.
pub fn send(socket: &Path, request: &Request) -> io::Result<String> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    writeln!(stream, "{request}")?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    if reply.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the daemon closed the connection without a reply",
        ));
    }
    Ok(reply.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_print_back() {
        for line in [
            "drain",
            "drain 10",
            "undrain 255",
            "set-priority 50",
            "set-priority 254 7",
            "reset",
            "show",
        ] {
            let r = Request::parse(line).unwrap();
            assert_eq!(r.to_string(), line);
        }
        assert_eq!(
            Request::parse("  drain   10 \n").unwrap(),
            Request {
                action: Action::Drain,
                vrid: Some(10)
            }
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        for (line, says) in [
            ("", "empty"),
            ("stop", "unknown request"),
            ("set-priority", "needs N"),
            ("set-priority 0", "0 is drain"),
            ("set-priority 255", "address owner"),
            ("set-priority 300", "not a number"),
            ("drain 0", "VRID 0"),
            ("drain x", "not a number"),
            ("drain 1 2", "unexpected"),
            ("show 3", "no VRID"),
        ] {
            let e = Request::parse(line).unwrap_err();
            assert!(e.contains(says), "{line:?}: {e}");
        }
    }

    #[test]
    fn overrides_combine_as_documented() {
        let mut o = Override::default();
        assert_eq!(o.base(100), Some(100));
        o.apply(Action::SetPriority(50), false).unwrap();
        assert_eq!(o.base(100), Some(50));
        o.apply(Action::Drain, false).unwrap();
        assert_eq!(o.base(100), None);
        assert_eq!(o.to_string(), "drained (priority 50 when undrained)");
        o.apply(Action::Undrain, false).unwrap();
        assert_eq!(o.base(100), Some(50));
        o.apply(Action::Reset, false).unwrap();
        assert_eq!(o, Override::default());
        assert!(o.apply(Action::SetPriority(10), true).is_err());
        o.apply(Action::Drain, true).unwrap();
        assert_eq!(o.base(255), None);
    }

    #[test]
    fn the_socket_is_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/control.sock");
        let _l = bind(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // A second start replaces the stale socket of the first.
        drop(_l);
        bind(&path).unwrap();
    }
}
