//! The events file next to a trace: when a host was frozen and thawed.
//!
//! One event a line, `VERB HOST UNIXTIME` or `VERB HOST at UNIXTIME` (the e2e tests write the
//! first, `../shared/traces/*.events.txt` too); `#` starts a comment. `pause` is SIGSTOP of
//! every process of the host (`docker pause`), `resume` is SIGCONT. Other verbs (`sigterm`,
//! `inject`, which the e2e tests record beside them) do not freeze anyone: they are skipped and
//! counted.

/// One pause or resume of a host, at a Unix time in microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub pause: bool,
    pub host: String,
    pub unix_us: i64,
}

/// What an events file says: its pauses and resumes, and the verbs it skipped.
#[derive(Debug, Default)]
pub struct Events {
    pub events: Vec<Event>,
    pub skipped: Vec<String>,
}

fn micros_from_unix(s: &str) -> Result<i64, String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let bad = || format!("`{s}` is not a Unix time");
    let secs: i64 = int.parse().map_err(|_| bad())?;
    let mut us = 0i64;
    let mut unit = 100_000i64;
    for c in frac.chars() {
        let d = i64::from(c.to_digit(10).ok_or_else(bad)?);
        us += d * unit;
        unit /= 10;
    }
    Ok(secs * 1_000_000 + us)
}

pub fn parse(text: &str) -> Result<Events, String> {
    let mut out = Events::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let pause = match w[0] {
            "pause" => true,
            "resume" => false,
            other => {
                out.skipped.push(other.to_string());
                continue;
            }
        };
        let (host, t) = match w.as_slice() {
            [_, host, t] | [_, host, "at", t] => (host, t),
            _ => {
                return Err(format!(
                    "events line {}: expected `{} HOST UNIXTIME` or `{0} HOST at UNIXTIME`",
                    i + 1,
                    w[0]
                ));
            }
        };
        let unix_us = micros_from_unix(t).map_err(|e| format!("events line {}: {e}", i + 1))?;
        out.events.push(Event {
            pause,
            host: host.to_string(),
            unix_us,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_other_verbs() {
        let e = parse(
            "pause r1 1795603559.414946\n# comment\nsigterm r1 1795603560.5\n\
             resume r1 at 1795603565.42\ninject valid r3 1.0 2.0\n",
        )
        .unwrap();
        assert_eq!(
            e.events,
            [
                Event {
                    pause: true,
                    host: "r1".into(),
                    unix_us: 1_795_603_559_414_946
                },
                Event {
                    pause: false,
                    host: "r1".into(),
                    unix_us: 1_795_603_565_420_000
                },
            ]
        );
        assert_eq!(e.skipped, ["sigterm", "inject"]);
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(parse("pause r1").is_err());
        assert!(parse("pause r1 on 12.5").is_err());
        assert!(parse("resume r1 at soon").is_err());
    }
}
