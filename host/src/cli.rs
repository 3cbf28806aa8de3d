//! Command line: `vrrpd run | check | status | ctl | import-keepalived`, and what `check` and
//! `status` print.
//!
//! Exit codes: 0 success; 1 a runtime failure (nothing listening for `status`, the daemon
//! failed); 2 a configuration the daemon refuses (bad file, bad value, a host setting it cannot
//! make) or a command-line usage error.

mod describe;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config, LogFormat};
use crate::daemon::{self, RunOptions};
use crate::status;
pub use describe::describe;

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
    /// Drain this node or change a router's priority while the daemon runs (its control socket).
    ///
    /// Only root or vrrpd's own user may. What is set survives a reload (SIGHUP), not a restart.
    /// Exit status: 0 done, 1 the daemon refused the request, 2 no daemon to ask (no socket,
    /// permission denied).
    Ctl {
        /// The control socket [default: the daemon's, for this network namespace].
        #[arg(long, value_name = "PATH", conflicts_with = "config", global = true)]
        socket: Option<PathBuf>,
        /// Take the socket from this file's `control.socket`.
        #[arg(short, long, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        request: CtlRequest,
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

/// What `vrrpd ctl` asks.
#[derive(Debug, Subcommand)]
pub enum CtlRequest {
    /// Priority 0: an Active steps down at once (a Backup takes over after Skew_Time), and the
    /// router is never Active until undrained.
    Drain {
        /// Only this virtual router and the other members of its sync group [default: all].
        #[arg(long, value_name = "VRID")]
        vrid: Option<u8>,
    },
    /// Back to the configured (or set) priority.
    Undrain {
        #[arg(long, value_name = "VRID")]
        vrid: Option<u8>,
    },
    /// Run at N (1..=254) instead of the configured priority; checks still apply.
    SetPriority {
        #[arg(value_name = "N")]
        priority: u8,
        #[arg(long, value_name = "VRID")]
        vrid: Option<u8>,
    },
    /// Forget what was drained or set.
    Reset {
        #[arg(long, value_name = "VRID")]
        vrid: Option<u8>,
    },
    /// What is drained or set.
    Show,
}

impl CtlRequest {
    /// The protocol line for this request (see [`crate::control`]).
    fn line(&self) -> String {
        let with = |verb: String, vrid: &Option<u8>| match vrid {
            Some(v) => format!("{verb} {v}"),
            None => verb,
        };
        match self {
            CtlRequest::Drain { vrid } => with("drain".into(), vrid),
            CtlRequest::Undrain { vrid } => with("undrain".into(), vrid),
            CtlRequest::SetPriority { priority, vrid } => {
                with(format!("set-priority {priority}"), vrid)
            }
            CtlRequest::Reset { vrid } => with("reset".into(), vrid),
            CtlRequest::Show => "show".into(),
        }
    }
}

/// `vrrpd ctl`: one request to the running daemon.
fn ctl(socket: Option<PathBuf>, config: Option<PathBuf>, request: CtlRequest) -> ExitCode {
    let req = match crate::control::Request::parse(&request.line()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vrrpd ctl: {e}");
            return ExitCode::from(2);
        }
    };
    let socket = match (socket, config) {
        (Some(s), _) => s,
        (None, Some(path)) => match load(&path) {
            Ok(Config {
                control_socket: Some(s),
                ..
            }) => s,
            Ok(_) => match crate::control::default_socket() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("vrrpd ctl: {e}");
                    return ExitCode::from(2);
                }
            },
            Err(code) => return code,
        },
        (None, None) => match crate::control::default_socket() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("vrrpd ctl: {e}");
                return ExitCode::from(2);
            }
        },
    };
    match crate::control::send(&socket, &req) {
        Ok(reply) if reply.starts_with("ok") => {
            println!("{reply}");
            ExitCode::SUCCESS
        }
        Ok(reply) => {
            eprintln!("vrrpd ctl: {reply}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("vrrpd ctl: {}: {e}", socket.display());
            ExitCode::from(2)
        }
    }
}

/// Runs one command line; what `main` returns.
pub fn main(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run { config, log_format } => run(config, log_format),
        Command::Check { config } => check(&config),
        Command::Status { json, addr, config } => status(json, addr, config),
        Command::ImportKeepalived { file, output } => crate::import::run(&file, output.as_deref()),
        Command::Ctl {
            socket,
            config,
            request,
        } => ctl(socket, config, request),
    }
}

/// `vrrpd run`: the daemon in the foreground until SIGTERM / SIGINT.
fn run(config_path: PathBuf, log_format: Option<LogFormat>) -> ExitCode {
    let cfg = match load(&config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let log_format = log_format.unwrap_or(cfg.log.format);
    let _log = match crate::logging::init(log_format, &cfg.log.level) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("vrrpd: logging: {e}");
            return ExitCode::from(2);
        }
    };
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
