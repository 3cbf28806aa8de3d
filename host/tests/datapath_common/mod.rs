//! Network namespaces for the data-path tests: a "router" namespace where the code under test
//! runs and a "peer" namespace on the other end of a veth pair, both on 192.0.2.0/24.
//!
//! Shelling out to `ip` is fine here (the daemon itself never does). Everything a test creates is
//! removed by `Drop`, so a failing assertion cleans up too.

#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Why these tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespaces, bridges, /dev/net/tun)".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(o) if o.status.success() => None,
        _ => Some("no `ip` command (iproute2)".into()),
    }
}

/// Returns early from a test, saying why, when the environment cannot run it.
#[macro_export]
macro_rules! skip_unless_capable {
    () => {
        if let Some(why) = $crate::datapath_common::skip_reason() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

/// Runs `ip ARGS` (optionally inside namespace `ns`) and returns its output, failing the test with
/// the command and its stderr if it fails.
pub fn ip(ns: Option<&str>, args: &str) -> String {
    let out = ip_try(ns, args);
    assert!(
        out.status.success(),
        "ip {args} (netns {ns:?}) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn ip_try(ns: Option<&str>, args: &str) -> Output {
    let mut cmd = Command::new("ip");
    if let Some(ns) = ns {
        cmd.args(["netns", "exec", ns, "ip"]);
    }
    cmd.args(args.split_whitespace());
    cmd.output().expect("run ip")
}

/// Runs an arbitrary command inside namespace `ns`.
pub fn exec(ns: &str, argv: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(argv)
        .output()
        .expect("run ip netns exec")
}

/// A named network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: String) -> Netns {
        // A namespace of this name can only be a leftover of a killed run of this very test.
        let _ = ip_try(None, &format!("netns del {name}"));
        ip(None, &format!("netns add {name}"));
        let ns = Netns { name };
        ip(Some(&ns.name), "link set lo up");
        ns
    }

    /// Runs `f` on a new thread inside this namespace and returns its result.
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        self.spawn(f)
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    /// Starts `f` on a new thread inside this namespace.
    pub fn spawn<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> std::thread::JoinHandle<R> {
        let name = self.name.clone();
        std::thread::spawn(move || {
            enter_netns(&name);
            f()
        })
    }
}

/// Moves the calling thread into namespace `name`: sockets, netlink, /proc/sys/net and TAPs it
/// opens afterwards belong to that namespace.
pub fn enter_netns(name: &str) {
    let path = ["/run/netns", "/var/run/netns"]
        .iter()
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.exists())
        .expect("netns file");
    let f = File::open(path).expect("open netns");
    // SAFETY: `f` is an open namespace file; setns only affects the calling thread.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip_try(None, &format!("netns del {}", self.name));
    }
}

/// A router namespace whose uplink `up0` (192.0.2.1/24 and secondary 192.0.2.11/24, default
/// route via 192.0.2.254, 198.51.100.0/24 via 192.0.2.2, a link-scope route
/// in table 100) faces `peer0` (192.0.2.2/24) in a peer
/// namespace, plus a private state directory.
pub struct Lab {
    pub router: Netns,
    pub peer: Netns,
    pub state_dir: PathBuf,
}

pub const UPLINK: &str = "up0";
pub const BRIDGE: &str = "br-vrrp";
pub const TAP: &str = "tap-vrrp";

impl Lab {
    pub fn new(tag: &str) -> Lab {
        let pid = std::process::id();
        let router = Netns::new(format!("vh2-{tag}-{pid}-r"));
        let peer = Netns::new(format!("vh2-{tag}-{pid}-p"));
        let r = Some(router.name.as_str());
        let p = Some(peer.name.as_str());
        ip(
            r,
            &format!(
                "link add {UPLINK} type veth peer name peer0 netns {}",
                peer.name
            ),
        );
        ip(r, &format!("addr add 192.0.2.1/24 dev {UPLINK}"));
        ip(
            r,
            &format!("addr add 192.0.2.11/24 dev {UPLINK} label {UPLINK}:sec"),
        );
        ip(r, &format!("link set {UPLINK} up"));
        ip(r, "route add default via 192.0.2.254");
        ip(r, "route add 198.51.100.0/24 via 192.0.2.2 metric 50");
        ip(
            r,
            &format!("route add 203.0.113.0/24 dev {UPLINK} table 100"),
        );
        ip(p, "addr add 192.0.2.2/24 dev peer0");
        ip(p, "link set peer0 up");
        let state_dir = std::env::temp_dir().join(format!("vh2-{tag}-{pid}-state"));
        let _ = std::fs::remove_dir_all(&state_dir);
        Lab {
            router,
            peer,
            state_dir,
        }
    }

    pub fn r(&self) -> Option<&str> {
        Some(&self.router.name)
    }

    pub fn p(&self) -> Option<&str> {
        Some(&self.peer.name)
    }

    /// What `restore` must bring back exactly: the uplink's addresses, every IPv4 route, the MAC.
    pub fn uplink_view(&self) -> String {
        let addrs = ip(self.r(), &format!("-4 -o addr show dev {UPLINK}"));
        let addrs: Vec<String> = addrs
            .lines()
            .map(|l| l.split("\\").next().unwrap_or("").trim().to_string())
            .collect();
        let mut routes: Vec<String> = ip(self.r(), "-4 route show table all")
            .lines()
            .map(|l| l.trim().to_string())
            .collect();
        routes.sort();
        let mac = ip(self.r(), &format!("-br link show dev {UPLINK}"));
        let mac = mac.split_whitespace().nth(2).unwrap_or("").to_string();
        format!(
            "mac {mac}\naddrs:\n{}\nroutes:\n{}\n",
            addrs.join("\n"),
            routes.join("\n")
        )
    }

    pub fn link_exists(&self, name: &str) -> bool {
        ip_try(self.r(), &format!("link show dev {name}"))
            .status
            .success()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A current-thread tokio runtime, as the daemon uses.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Connects from namespace `ns` to `addr` and returns what the server sends before closing.
pub fn tcp_fetch(ns: &str, addr: std::net::SocketAddr) -> std::io::Result<String> {
    use std::io::Read;
    let name = ns.to_string();
    std::thread::spawn(move || {
        enter_netns(&name);
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Serves `greeting` to every connection on 0.0.0.0:`port` inside namespace `ns`, on a detached
/// thread (it ends with the test process). Returns once the socket listens.
pub fn serve_greeting(ns: &str, port: u16, greeting: &'static str) {
    use std::io::Write;
    let name = ns.to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        enter_netns(&name);
        let l = std::net::TcpListener::bind(("0.0.0.0", port)).expect("bind");
        ready_tx.send(()).unwrap();
        for mut c in l.incoming().flatten() {
            let _ = c.write_all(greeting.as_bytes());
        }
    });
    ready_rx.recv().expect("listener thread");
}
