//! HTTP prober for the end-to-end tests: GET / from an address on the test segment every
//! `--interval-ms`, each with `--timeout-ms`, recording one line per request on stdout:
//!
//! `<start unix s> <end unix s> ok <body>` or `<start> <end> err <reason>`
//!
//! Bounded: stops after `--count` requests or `--duration-ms`, whichever comes first. Refuses any
//! target outside 192.0.2.0/24, 198.51.100.0/24 (a lab's second segment) and 2001:db8::/32 (the
//! test segments' documentation prefixes). `--once` makes one request, prints the body and
//! exits 0 on success, 1 otherwise.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Opts {
    target: IpAddr,
    port: u16,
    interval: Duration,
    timeout: Duration,
    duration: Duration,
    count: usize,
    once: bool,
}

const USAGE: &str = "usage: prober [--once] [--port P] [--interval-ms N] [--timeout-ms N] \
                     [--duration-ms N] [--count N] 192.0.2.X|198.51.100.X|2001:db8::X";

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        target: Ipv4Addr::UNSPECIFIED.into(),
        port: 80,
        interval: Duration::from_millis(20),
        timeout: Duration::from_millis(200),
        duration: Duration::from_secs(120),
        count: 100_000,
        once: false,
    };
    let mut target = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{what} needs a number"))
        };
        match a.as_str() {
            "--once" => o.once = true,
            "--port" => o.port = u16::try_from(num("--port")?).map_err(|e| e.to_string())?,
            "--interval-ms" => o.interval = Duration::from_millis(num("--interval-ms")?.max(1)),
            "--timeout-ms" => o.timeout = Duration::from_millis(num("--timeout-ms")?.max(1)),
            "--duration-ms" => o.duration = Duration::from_millis(num("--duration-ms")?),
            "--count" => o.count = usize::try_from(num("--count")?).map_err(|e| e.to_string())?,
            "-h" | "--help" => return Err(USAGE.into()),
            t if target.is_none() => {
                target = Some(t.parse::<IpAddr>().map_err(|e| format!("{t}: {e}"))?)
            }
            other => return Err(format!("unexpected argument {other}\n{USAGE}")),
        }
    }
    o.target = target.ok_or(USAGE)?;
    let allowed = match o.target {
        IpAddr::V4(a) => matches!(a.octets()[..3], [192, 0, 2] | [198, 51, 100]),
        IpAddr::V6(a) => a.segments()[..2] == [0x2001, 0x0db8],
    };
    if !allowed {
        return Err(format!(
            "{}: only 192.0.2.0/24, 198.51.100.0/24 and 2001:db8::/32 are allowed",
            o.target
        ));
    }
    Ok(o)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One GET; Ok(body) on a 200, Err(reason) otherwise.
fn get(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| "timeout".to_string())
    };
    let mut s = TcpStream::connect_timeout(&addr, left()?).map_err(|e| format!("connect:{e}"))?;
    s.set_nodelay(true).ok();
    s.set_write_timeout(Some(left()?)).ok();
    let host = match addr.ip() {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes())
        .map_err(|e| format!("write:{e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        s.set_read_timeout(Some(left()?)).ok();
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 64 * 1024 {
                    return Err("response too long".into());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read:{e}")),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("bad response ({} bytes)", buf.len()))?;
    let status = head.lines().next().unwrap_or("");
    if !status.contains(" 200 ") {
        return Err(format!("status:{}", status.replace(' ', "_")));
    }
    Ok(body.trim().replace(['\n', '\r'], " "))
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let addr = SocketAddr::from((o.target, o.port));
    if o.once {
        match get(addr, o.timeout) {
            Ok(body) => println!("{body}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    // One thread per request so that a hanging request (the paused Active) does not delay the
    // schedule; bounded in flight.
    const MAX_IN_FLIGHT: usize = 256;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let start = Instant::now();
    let mut handles = Vec::new();
    for i in 0..o.count {
        let due = start + o.interval * u32::try_from(i).unwrap_or(u32::MAX);
        if due.duration_since(start) >= o.duration {
            break;
        }
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        let t0 = now();
        if in_flight.load(Ordering::SeqCst) >= MAX_IN_FLIGHT {
            let line = format!("{t0:.6} {t0:.6} err too_many_in_flight\n");
            out.lock().unwrap().write_all(line.as_bytes()).ok();
            continue;
        }
        in_flight.fetch_add(1, Ordering::SeqCst);
        let (inf, out, timeout) = (in_flight.clone(), out.clone(), o.timeout);
        handles.push(std::thread::spawn(move || {
            let r = get(addr, timeout);
            let t1 = now();
            let line = match r {
                Ok(body) => format!("{t0:.6} {t1:.6} ok {body}\n"),
                Err(e) => format!("{t0:.6} {t1:.6} err {}\n", e.replace(' ', "_")),
            };
            let mut o = out.lock().unwrap();
            o.write_all(line.as_bytes()).ok();
            o.flush().ok();
            inf.fetch_sub(1, Ordering::SeqCst);
        }));
        handles.retain(|h| !h.is_finished());
    }
    for h in handles {
        h.join().ok();
    }
}
