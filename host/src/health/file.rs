//! The `file` check (keepalived's `track_file`): a number read from a file, times a weight.
//!
//! The file is read as keepalived reads it, so that an imported configuration drains a node
//! with the same files: at most the first 127 bytes, parsed as C's `strtol(text, NULL, 0)` does
//! (leading white space, a sign, `0x` for hexadecimal, a leading `0` for octal, anything after
//! the number ignored). A file that is missing, unreadable, empty or does not start with a number
//! counts as 0; a number outside -2147483648..=2147483648, or a read that takes longer than
//! the check's timeout, is ignored and the previous number stays (0 before the first).

use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::HealthEvent;
use crate::config::{CheckConfig, format_duration};
use vrrp_core::track::{Contribution, Scale};

/// What keepalived reads of a tracked file.
const READ_LIMIT: usize = 127;

/// The numbers keepalived accepts (the upper bound is its real-server weight limit).
const ACCEPTED: std::ops::RangeInclusive<i64> = i32::MIN as i64..=i32::MAX as i64 + 1;

/// One read of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// The number that applies; `note` says why when it is 0 by default (", no such file").
    Number { value: i64, note: String },
    /// Nothing to apply: the previous number stays. Says why.
    Ignored(String),
}

/// Writes the `init` number of every file check that has one, at vrrpd's start (keepalived's
/// `init_file`): to a missing file, or to any with `overwrite`. A file that cannot be written
/// is logged and the check runs on: it reads a missing file as 0, and the VIP must not wait for
/// a maintenance file.
pub fn init_files(checks: &[CheckConfig]) {
    for c in checks {
        if let crate::config::CheckKind::File {
            path,
            init: Some(init),
        } = &c.kind
        {
            match init_file(path, *init) {
                Ok(true) => {
                    tracing::info!(check = %c.name, path = %path.display(), value = init.value, "file check: wrote its initial number")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(check = %c.name, path = %path.display(), "file check: cannot write its initial number: {e}")
                }
            }
        }
    }
}

/// Writes `init.value` to `path` unless it exists and `init.overwrite` is off; whether it
/// wrote. The number goes to a file next to it first and is renamed over it, so a reader
/// never sees half of it.
pub fn init_file(path: &Path, init: crate::config::FileInit) -> std::io::Result<bool> {
    if !init.overwrite && std::fs::symlink_metadata(path).is_ok() {
        return Ok(false);
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".vrrpd-init");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{}\n", init.value))?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(true)
}

/// Reads the number in `path` (see the module documentation).
pub fn read_number(path: &Path) -> Reading {
    let zero = |why: String| Reading::Number {
        value: 0,
        note: format!(" ({why}: counts as 0)"),
    };
    // O_NONBLOCK: a FIFO put there does not hang the read.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path);
    let mut buf = Vec::with_capacity(READ_LIMIT);
    let read = file.and_then(|f| f.take(READ_LIMIT as u64).read_to_end(&mut buf));
    match read {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return zero("no such file".into()),
        Err(e) => return zero(e.to_string()),
        Ok(0) => return zero("empty".into()),
        Ok(_) => {}
    }
    match strtol(&buf) {
        None => zero(format!(
            "{:?} is not a number",
            String::from_utf8_lossy(&buf).trim()
        )),
        Some(Some(value)) if ACCEPTED.contains(&value) => Reading::Number {
            value,
            note: String::new(),
        },
        Some(_) => Reading::Ignored(format!(
            "{:?} is out of range (-2147483648..=2147483648): ignored",
            String::from_utf8_lossy(&buf).trim()
        )),
    }
}

/// C's `strtol(text, NULL, 0)`: `None` when no number starts the text, `Some(None)` when the
/// number overflows an `i64` (`ERANGE`).
fn strtol(text: &[u8]) -> Option<Option<i64>> {
    // C's isspace in the "C" locale.
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let mut rest = &text[start..];
    let negative = match rest.first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    let hex = matches!(rest, [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit());
    let (radix, digits) = if hex {
        (16, &rest[2..])
    } else if rest.first() == Some(&b'0') {
        (8, rest)
    } else {
        (10, rest)
    };
    let len = digits
        .iter()
        .take_while(|b| char::from(**b).is_digit(radix))
        .count();
    if len == 0 {
        return None;
    }
    let mut value: Option<i64> = Some(0);
    for d in &digits[..len] {
        let d = i64::from(char::from(*d).to_digit(radix).unwrap_or(0));
        value = value
            .and_then(|v| v.checked_mul(i64::from(radix)))
            .and_then(|v| {
                if negative {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            });
    }
    Some(value)
}

/// What the number does, for the check's detail: "3 × -10 = -30", "1 × weight 0: fault".
fn effect_of(value: i64, scale: Scale) -> (bool, String) {
    let reverse = if scale.reverse { " reversed" } else { "" };
    match scale.apply(Some(value)) {
        Contribution::Fault => (false, format!("× {}{reverse}: fault", scale.weight)),
        Contribution::Adjust(n) => (true, format!("× {}{reverse} = {n:+}", scale.weight)),
    }
}

/// The loop of one file check: read `path` every interval and report every change of the
/// number or of what the read found. Returns when the receiver is gone.
pub(super) async fn run_file(
    check: &CheckConfig,
    path: PathBuf,
    scale: Scale,
    tx: mpsc::Sender<HealthEvent>,
) {
    let mut ticks = tokio::time::interval(check.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut value = 0;
    let mut last_detail = None;
    // A read that outlived its timeout (a hung network filesystem) is waited for again rather
    // than joined by another blocked thread each interval.
    let mut pending: Option<JoinHandle<Reading>> = None;
    loop {
        ticks.tick().await;
        let mut read = pending.take().unwrap_or_else(|| {
            let path = path.clone();
            tokio::task::spawn_blocking(move || read_number(&path))
        });
        let why = match tokio::time::timeout(check.timeout, &mut read).await {
            Ok(Ok(Reading::Number { value: v, note })) => {
                value = v;
                note
            }
            Ok(Ok(Reading::Ignored(why))) => format!(" ({why}, keeps {value})"),
            Ok(Err(e)) => format!(" (read failed: {e}, keeps {value})"),
            Err(_) => {
                pending = Some(read);
                format!(
                    " (no answer within {}, keeps {value})",
                    format_duration(check.timeout)
                )
            }
        };
        let (up, effect) = effect_of(value, scale);
        let detail = format!("{}: {value}{why} {effect}", path.display());
        if last_detail.as_ref() == Some(&detail) {
            continue;
        }
        last_detail = Some(detail.clone());
        let event = HealthEvent {
            check: check.name.clone(),
            up,
            detail,
            value: Some(value),
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_strtol_reads_them() {
        assert_eq!(strtol(b"5"), Some(Some(5)));
        assert_eq!(strtol(b"  \t-12\n"), Some(Some(-12)));
        assert_eq!(strtol(b"+7"), Some(Some(7)));
        assert_eq!(strtol(b"0x1F"), Some(Some(31)));
        assert_eq!(strtol(b"-0X10"), Some(Some(-16)));
        assert_eq!(strtol(b"010"), Some(Some(8)), "a leading 0 is octal");
        assert_eq!(strtol(b"09"), Some(Some(0)), "9 is not an octal digit");
        assert_eq!(strtol(b"0xg"), Some(Some(0)), "0, then x");
        assert_eq!(strtol(b"0"), Some(Some(0)));
        assert_eq!(strtol(b"42 drained by ops"), Some(Some(42)));
        assert_eq!(strtol(b"drain"), None);
        assert_eq!(strtol(b"-"), None);
        assert_eq!(strtol(b" \n"), None);
        assert_eq!(strtol(b""), None);
        assert_eq!(strtol(b"99999999999999999999"), Some(None), "ERANGE");
        assert_eq!(strtol(b"-9223372036854775808"), Some(Some(i64::MIN)));
    }

    #[test]
    fn the_initial_number_goes_to_a_missing_file_or_over_any_with_overwrite() {
        use crate::config::FileInit;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drain");
        let keep = FileInit {
            value: 5,
            overwrite: false,
        };
        assert!(init_file(&path, keep).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "5\n");
        std::fs::write(&path, "-3\n").unwrap();
        assert!(!init_file(&path, keep).unwrap(), "an existing file is kept");
        assert_eq!(
            read_number(&path),
            Reading::Number {
                value: -3,
                note: String::new()
            }
        );
        let over = FileInit {
            value: 0,
            overwrite: true,
        };
        assert!(init_file(&path, over).unwrap());
        assert_eq!(
            read_number(&path),
            Reading::Number {
                value: 0,
                note: String::new()
            }
        );
        // Nothing left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A directory that does not exist: an error, not a panic.
        assert!(init_file(&dir.path().join("no/such/dir"), keep).is_err());
    }

    #[test]
    fn reading_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drain");
        let number = |value: i64, note: &str| Reading::Number {
            value,
            note: note.into(),
        };
        assert_eq!(
            read_number(&path),
            number(0, " (no such file: counts as 0)")
        );
        std::fs::write(&path, "3\n").unwrap();
        assert_eq!(read_number(&path), number(3, ""));
        std::fs::write(&path, "-2\n").unwrap();
        assert_eq!(read_number(&path), number(-2, ""));
        std::fs::write(&path, "").unwrap();
        assert_eq!(read_number(&path), number(0, " (empty: counts as 0)"));
        std::fs::write(&path, "drain\n").unwrap();
        assert_eq!(
            read_number(&path),
            number(0, " (\"drain\" is not a number: counts as 0)")
        );
        std::fs::write(&path, "2147483648").unwrap();
        assert_eq!(read_number(&path), number(2147483648, ""));
        std::fs::write(&path, "2147483649").unwrap();
        assert!(
            matches!(read_number(&path), Reading::Ignored(why) if why.contains("out of range")),
        );
        std::fs::write(&path, "-2147483649").unwrap();
        assert!(matches!(read_number(&path), Reading::Ignored(_)));
        // Only the first 127 bytes count, as in keepalived.
        std::fs::write(&path, format!("{}5", " ".repeat(127))).unwrap();
        assert_eq!(
            read_number(&path),
            number(0, &format!(" ({:?} is not a number: counts as 0)", ""))
        );
        let unreadable = read_number(dir.path());
        assert!(
            matches!(&unreadable, Reading::Number { value: 0, note } if note.contains("directory")),
            "{unreadable:?}"
        );
    }

    #[test]
    fn details_say_what_the_number_does() {
        let scale = |weight, reverse| Scale { weight, reverse };
        assert_eq!(
            effect_of(3, scale(-10, false)),
            (true, "× -10 = -30".into())
        );
        assert_eq!(
            effect_of(3, scale(-10, true)),
            (true, "× -10 reversed = +30".into())
        );
        assert_eq!(effect_of(1, scale(0, false)), (false, "× 0: fault".into()));
        assert_eq!(effect_of(0, scale(0, false)), (true, "× 0 = +0".into()));
    }
}

/// The check as the daemon runs it: spawned from a configuration, its events applied to the
/// [`HealthTable`](super::HealthTable) that gives the routers their priority.
#[cfg(test)]
mod daemon_tests {
    use std::path::Path;
    use std::time::Duration;

    use tokio::sync::mpsc;
    use tokio::time::Instant;

    use crate::config::Config;
    use crate::health::{HealthEvent, HealthTable, spawn};

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn writing_the_file_changes_the_priority_at_the_next_read() {
        let dir = tempfile::tempdir().unwrap();
        let drain = dir.path().join("drain");
        let text = format!(
            "interface = \"eth0\"\n\
             [[vrrp]]\nvrid = 1\npriority = 150\nvips = [\"192.0.2.1\"]\ntrack = [\"drain\"]\n\
             [[vrrp]]\nvrid = 2\npriority = 100\nvips = [\"192.0.2.2\"]\ntrack = [\"maint\"]\n\
             [check.drain]\nkind = \"file\"\npath = \"{0}\"\nweight = -10\ninterval = \"100ms\"\n\
             [check.maint]\nkind = \"file\"\npath = \"{0}\"\nweight = 0\ninterval = \"100ms\"\n",
            drain.display()
        );
        let config = Config::parse(&text, Path::new("t.toml")).unwrap();
        let mut table = HealthTable::new(&config);
        let (r1, r2) = (&config.routers[0], &config.routers[1]);
        assert_eq!(table.priority(r1), 150, "weighted, not read yet: nothing");
        assert_eq!(table.priority(r2), 0, "weight 0, not read yet: a fault");

        let start = Instant::now();
        let (tx, mut rx) = mpsc::channel(16);
        let _checks = spawn(&config.checks, tx);
        // Each step: what to write (None: delete) at which virtual time, the time of the
        // events the next read brings, and the priorities of the two routers then. 30 × -10 is
        // -254 or less: a fault; 20 × -10 leaves 1, the least priority.
        let steps: &[(u64, Option<&str>, u64, u8, u8)] = &[
            (0, None, 0, 150, 100),
            (250, Some("3\n"), 300, 120, 0),
            (420, Some("-2"), 500, 170, 0),
            (640, Some("0"), 700, 150, 100),
            (710, Some("30"), 800, 0, 0),
            (850, Some("drain"), 900, 150, 100),
            (950, Some("20"), 1000, 1, 0),
            (1020, None, 1100, 150, 100),
        ];
        let ms = Duration::from_millis;
        for &(at, write, seen_at, p1, p2) in steps {
            tokio::time::sleep_until(start + ms(at)).await;
            match write {
                Some(w) => std::fs::write(&drain, w).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&drain);
                }
            }
            let mut events: Vec<HealthEvent> = Vec::new();
            for _ in 0..2 {
                events.push(rx.recv().await.unwrap());
                assert_eq!(start.elapsed(), ms(seen_at), "{events:?}");
            }
            for e in &events {
                assert!(table.apply(e), "{e:?} changes the table");
            }
            assert_eq!(
                (table.priority(r1), table.priority(r2)),
                (p1, p2),
                "after writing {write:?}: {events:?}"
            );
        }
        assert_eq!(
            (table.value("drain"), table.state("drain")),
            (Some(0), Some(true)),
            "what a reload carries over"
        );
        assert!(
            tokio::time::timeout(ms(500), rx.recv()).await.is_err(),
            "no event while the file stays the same"
        );
    }
}
