//! Command line: `vrrpd run | check | status`, and what `check` and `status` print.
//!
//! Exit codes: 0 success; 1 a runtime failure (nothing listening for `status`, the daemon
//! failed); 2 a configuration the daemon refuses (bad file, bad value, a host setting it cannot
//! make) or a command-line usage error.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config, Effect, LogFormat, format_duration};
use crate::daemon::{self, RunOptions};
use crate::status;

#[derive(Debug, Parser)]
#[command(
    name = "vrrpd",
    version,
    about = "VRRP daemon (RFC 9568, interoperable with VRRPv2 / RFC 3768) that keeps a virtual IP on a healthy nginx",
    after_help = "Exit status: 0 ok, 1 runtime failure, 2 configuration error (the message names FILE:LINE:COL and the key)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground.
    ///
    /// SIGTERM or SIGINT: advertise priority 0, release the VIPs and exit 0.
    /// SIGHUP: reload the configuration (no switchover if the VRRP parameters are unchanged).
    Run {
        /// Configuration file (TOML; see host/examples/vrrpd.toml).
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// Log format; overrides `log.format` from the file.
        #[arg(long, value_enum, value_name = "FORMAT")]
        log_format: Option<LogFormat>,
    },
    /// Validate a configuration file and print what would run, with RFC 9568 timers.
    Check {
        /// Configuration file to validate.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Ask the running daemon for its state (its HTTP status endpoint).
    Status {
        /// Print the daemon's JSON as is.
        #[arg(long)]
        json: bool,
        /// The status endpoint [default: 127.0.0.1:9100].
        #[arg(long, value_name = "HOST:PORT", conflicts_with = "config")]
        addr: Option<SocketAddr>,
        /// Take the endpoint from this file's `status.listen`.
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Convert a keepalived.conf (the vrrp_instance / vrrp_script subset) into a vrrpd config.
    ///
    /// Settings it cannot reproduce are listed by file and line on stderr and at the top of the
    /// output. Exit status: 0 all translated, 3 something listed, 2 the file cannot be converted.
    ImportKeepalived {
        /// The keepalived configuration (includes are resolved relative to it).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Write the TOML here instead of to stdout.
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
    },
}

/// Loads the config for a command, printing the error with its source line on failure.
pub fn load(path: &std::path::Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| {
        eprintln!("vrrpd: {}", e.render());
        ExitCode::from(2)
    })
}

/// `vrrpd check`.
pub fn check(path: &std::path::Path) -> ExitCode {
    match load(path) {
        Ok(config) => {
            print!("{}", describe(&config));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `vrrpd status`.
pub fn status(json: bool, addr: Option<SocketAddr>, config: Option<PathBuf>) -> ExitCode {
    let addr = match (addr, config) {
        (Some(a), _) => a,
        (None, Some(path)) => match load(&path) {
            Ok(c) => connectable(c.status_listen),
            Err(code) => return code,
        },
        (None, None) => config::DEFAULT_STATUS_LISTEN
            .parse()
            .expect("valid default"),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vrrpd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(status_text(addr, json)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vrrpd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What `vrrpd status` prints for the endpoint at `addr`.
pub async fn status_text(addr: SocketAddr, json: bool) -> Result<String, String> {
    let body = status::fetch(addr, "/status")
        .await
        .map_err(|e| e.to_string())?;
    if json {
        return Ok(body);
    }
    let snapshot: status::Snapshot = serde_json::from_str(&body)
        .map_err(|e| format!("{addr}/status is not a vrrpd status document: {e}"))?;
    Ok(status::render_human(&snapshot))
}

/// A daemon listening on the wildcard address is reached over loopback.
fn connectable(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
        }
        _ => listen,
    }
}

/// The `vrrpd check` report: routers with their RFC 9568 timers as the core computes them,
/// checks and hooks.
pub fn describe(c: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: OK", c.file.display());
    let _ = writeln!(
        out,
        "uplink {}; status on http://{}/status; logs {}, level {:?}",
        c.interface,
        c.status_listen,
        match c.log.format {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        },
        c.log.level
    );
    for r in &c.routers {
        let core = &r.core;
        let _ = writeln!(
            out,
            "\nVRID {}: VRRPv{}, priority {}{}, advert interval {}",
            core.vrid(),
            core.version().number(),
            core.priority(),
            if core.priority() == 255 {
                " (address owner)"
            } else {
                ""
            },
            format_duration(r.interval()),
        );
        let vips: Vec<String> = core
            .vips()
            .iter()
            .map(|v| format!("{v}/{}", core.vip_prefix_len()))
            .collect();
        let _ = writeln!(out, "  VIPs                  {}", vips.join(", "));
        let _ = writeln!(
            out,
            "  virtual MAC           00:00:5e:00:0{}:{:02x}",
            if core.is_v6() { 2 } else { 1 },
            core.vrid()
        );
        let _ = writeln!(
            out,
            "  primary address       {}",
            r.primary.map_or_else(
                || {
                    let family = if core.is_v6() {
                        "IPv6 link-local"
                    } else {
                        "IPv4"
                    };
                    format!("the {family} address of {} at start", c.interface)
                },
                |p| p.to_string()
            )
        );
        let _ = writeln!(
            out,
            "  preempt               {}",
            if core.preempt() {
                format!(
                    "yes, after {} from start",
                    format_duration(std_duration(core.preempt_delay()))
                )
            } else {
                "no".into()
            }
        );
        let _ = writeln!(
            out,
            "  accept mode           {}",
            if core.accept_mode() { "yes" } else { "no" }
        );
        if core.version() == vrrp_core::wire::Version::V3 {
            let _ = writeln!(
                out,
                "  checksum              {}",
                match core.checksum() {
                    vrrp_core::wire::ChecksumMode::PseudoHeader => "pseudo-header",
                    vrrp_core::wire::ChecksumMode::MessageOnly => "message-only",
                }
            );
        } else {
            let _ = writeln!(
                out,
                "  authentication        {}",
                match core.auth() {
                    vrrp_core::wire::Auth::None => "none",
                    vrrp_core::wire::Auth::Simple(_) => "simple password (clear text)",
                }
            );
        }
        let peers: Vec<String> = core.peers().iter().map(|p| p.to_string()).collect();
        let _ = writeln!(
            out,
            "  peers                 {}",
            if peers.is_empty() {
                "any source".to_owned()
            } else {
                peers.join(", ")
            }
        );
        let _ = writeln!(
            out,
            "  {}  {} per VIP, {} more burst(s) every {}",
            if core.is_v6() {
                "unsolicited NA      "
            } else {
                "gratuitous ARP      "
            },
            core.garp().burst,
            core.garp().repeats,
            format_duration(std_duration(core.garp().repeat_delay))
        );
        match core.timers() {
            Ok((skew, down)) => {
                let _ = writeln!(
                    out,
                    "  Skew_Time             {}",
                    format_duration(std_duration(skew))
                );
                let _ = writeln!(
                    out,
                    "  Active_Down_Interval  {} (3 x interval + Skew_Time: a Backup takes over after this much silence)",
                    format_duration(std_duration(down))
                );
            }
            Err(e) => {
                let _ = writeln!(out, "  timers                unavailable: {e}");
            }
        }
        if !r.track.is_empty() {
            let mut worst_weight = 0i32;
            let mut fault = false;
            let mut parts = Vec::new();
            for name in &r.track {
                let Some(check) = c.check(name) else { continue };
                match check.effect {
                    Effect::Weight(w) => {
                        parts.push(format!("{name} (weight {w:+})"));
                        if w < 0 {
                            worst_weight += i32::from(w);
                        }
                    }
                    Effect::Fault => {
                        parts.push(format!("{name} (fault)"));
                        fault = true;
                    }
                }
            }
            let _ = writeln!(out, "  tracks                {}", parts.join(", "));
            if worst_weight != 0 {
                let _ = writeln!(
                    out,
                    "  priority if negative-weight checks are down  {}",
                    crate::health::effective_priority(
                        core.priority(),
                        std::iter::once(crate::health::Tracked {
                            effect: Effect::Weight(worst_weight.clamp(-254, 254) as i16),
                            up: Some(false),
                        })
                    )
                );
            }
            if fault {
                let _ = writeln!(
                    out,
                    "  priority while a fault check is down        0 (steps down, never takes over)"
                );
            }
        }
    }
    if !c.checks.is_empty() {
        let _ = writeln!(out, "\nchecks:");
        for check in &c.checks {
            let effect = match check.effect {
                Effect::Weight(w) if w < 0 => format!("weight {w} while down"),
                Effect::Weight(w) => format!("weight +{w} while up"),
                Effect::Fault => "fault (priority 0) while down".into(),
            };
            let _ = writeln!(
                out,
                "  {:<12} {}\n  {:<12} every {}, timeout {}, up after {} success(es), down after {} failure(s), {effect}",
                check.name,
                check.kind,
                "",
                format_duration(check.interval),
                format_duration(check.timeout),
                check.rise,
                check.fall,
            );
        }
    }
    let _ = writeln!(out, "\nnotify hooks:");
    if c.notify.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for hook in &c.notify {
        let _ = writeln!(
            out,
            "  {:?}, killed after {}",
            hook.command,
            format_duration(hook.timeout)
        );
    }
    if !c.notify.is_empty() {
        let _ = writeln!(
            out,
            "  environment: VRRP_STATE VRRP_PREVIOUS_STATE VRRP_VRID VRRP_REASON VRRP_PRIORITY VRRP_INTERFACE VRRP_VIPS"
        );
    }
    if !c.sync_groups.is_empty() {
        let _ = writeln!(out, "\nsync groups (members share their tracked checks):");
        for g in &c.sync_groups {
            let _ = writeln!(out, "  {}: VRIDs {:?}", g.name, g.vrids);
        }
    }
    let _ = writeln!(out, "\nsupervised process:");
    match &c.supervise {
        None => {
            let _ = writeln!(out, "  none");
        }
        Some(sv) => {
            let _ = writeln!(
                out,
                "  {:?}: its exit stops vrrpd (exit 1, after stepping down); SIGTERM, then SIGKILL after {}",
                sv.command,
                format_duration(sv.grace)
            );
        }
    }
    out
}

fn std_duration(d: vrrp_core::Duration) -> std::time::Duration {
    std::time::Duration::from_micros(d.as_micros())
}

/// Runs one command line; what `main` returns.
pub fn main(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run { config, log_format } => run(config, log_format),
        Command::Check { config } => check(&config),
        Command::Status { json, addr, config } => status(json, addr, config),
        Command::ImportKeepalived { file, output } => crate::import::run(&file, output.as_deref()),
    }
}

/// `vrrpd run`: the daemon in the foreground until SIGTERM / SIGINT.
fn run(config_path: PathBuf, log_format: Option<LogFormat>) -> ExitCode {
    let cfg = match load(&config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let log_format = log_format.unwrap_or(cfg.log.format);
    if let Err(e) = crate::logging::init(log_format, &cfg.log.level) {
        eprintln!("vrrpd: logging: {e}");
        return ExitCode::from(2);
    }
    match daemon::run(cfg, RunOptions { config_path }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Logging is up, and its format is what the operator asked for.
            tracing::error!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::Path;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_commands() {
        let cli =
            Cli::try_parse_from(["vrrpd", "run", "--config", "x.toml", "--log-format", "json"])
                .unwrap();
        assert!(matches!(
            cli.command,
            Command::Run {
                log_format: Some(LogFormat::Json),
                ..
            }
        ));
        let cli =
            Cli::try_parse_from(["vrrpd", "status", "--json", "--addr", "127.0.0.1:9"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Status {
                json: true,
                addr: Some(_),
                config: None
            }
        ));
        assert!(
            Cli::try_parse_from(["vrrpd", "status", "--addr", "127.0.0.1:9", "--config", "x"])
                .is_err()
        );
        assert!(
            Cli::try_parse_from(["vrrpd", "run"]).is_err(),
            "--config is required"
        );
        assert!(Cli::try_parse_from(["vrrpd", "run", "-c", "x", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn check_report_has_the_core_timers() {
        let c = Config::parse(
            include_str!("../examples/vrrpd.toml"),
            Path::new("vrrpd.toml"),
        )
        .unwrap();
        let text = describe(&c);
        // priority 150, interval 100 ms: Skew_Time = (256 - 150) * 100 ms / 256 = 41.406 ms.
        assert!(text.contains("Skew_Time             41.406ms"), "{text}");
        assert!(text.contains("Active_Down_Interval  341.406ms"), "{text}");
        assert!(
            text.contains("VRID 51: VRRPv3, priority 150, advert interval 100ms"),
            "{text}"
        );
        assert!(text.contains("00:00:5e:00:01:33"), "{text}");
        assert!(
            text.contains("priority if negative-weight checks are down  90"),
            "{text}"
        );
        assert!(
            text.contains("nginx        http GET http://127.0.0.1/ expect 200"),
            "{text}"
        );
    }

    #[test]
    fn wildcard_listen_is_reached_over_loopback() {
        assert_eq!(
            connectable("0.0.0.0:9100".parse().unwrap()),
            "127.0.0.1:9100".parse().unwrap()
        );
        assert_eq!(
            connectable("[::]:9100".parse().unwrap()),
            "[::1]:9100".parse().unwrap()
        );
        assert_eq!(
            connectable("192.0.2.1:9100".parse().unwrap()),
            "192.0.2.1:9100".parse().unwrap()
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn status_command_reads_a_running_endpoint() {
        let c = Config::parse(
            include_str!("../examples/vrrpd.toml"),
            Path::new("vrrpd.toml"),
        )
        .unwrap();
        let handle = status::StatusHandle::new(status::Snapshot::new(&c));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(status::serve(listener, handle));
        let human = status_text(addr, false).await.unwrap();
        assert!(human.contains("VRID 51 (v3): Initialize"), "{human}");
        let json = status_text(addr, true).await.unwrap();
        assert!(json.contains("\"vrid\": 51"), "{json}");
        server.abort();
    }
}
