//! Harness for the Docker demo tests (docker_demo.rs): the compose project, an HTTP prober on
//! the published port, tcpdump on the project's Docker bridge, and teardown on drop.
//!
//! Every [`Demo`] is its own compose project (`vrrpdt<pid>x<n>`) with its own image tag; dropping
//! it (also while a test panics) runs `compose down --rmi all -v` and removes what is left:
//! containers, the network, the image, then whatever its build registered in its [`Teardown`].
//! The base image from docker/build-base.sh and the build cache of the Dockerfile's first stages
//! stay: they are the cache between runs.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use vrrp_tests::capture::Pcap;
use vrrp_tests::capture::TCPDUMP;
use vrrp_tests::unix_now;

/// The demo network, its VIP and the node addresses (docker/compose.yaml, docker/vrrpd/*.toml).
pub const SUBNET: &str = "198.51.100.0/24";
pub const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);
pub const MASTER_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 11);
pub const BACKUP_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 12);
/// VRID 51: the virtual MAC both nodes use while Active.
pub const VIRTUAL_MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 51];

pub const MASTER: &str = "nginx_master";
pub const BACKUP: &str = "nginx_backup";
pub const PROXY: &str = "proxy";

/// The repository root (tests/ is one level below).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn compose_file() -> PathBuf {
    repo().join("docker/compose.yaml")
}

/// `MEASURE docker <test> <key>=<value>`: the figures the closing note quotes.
pub fn measure(test: &str, key: &str, value: impl std::fmt::Display) {
    println!("MEASURE docker {test} {key}={value}");
}

/// Runs `cmd`, returning its output; panics with the command and its stderr on failure.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The whitespace-separated words `docker ARGS` prints (ids, names); none when it fails.
pub fn docker_words(args: &[&str]) -> Vec<String> {
    docker(args)
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn docker(args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(args);
    c
}

/// `docker compose` (the plugin) when it works, else the standalone `docker-compose`.
/// `VRRP_COMPOSE="docker-compose"` (or `"docker compose"`) forces one.
fn compose_program() -> Result<Vec<String>, String> {
    if let Ok(forced) = std::env::var("VRRP_COMPOSE") {
        return Ok(forced.split_whitespace().map(String::from).collect());
    }
    let ok = |prog: &str, args: &[&str]| {
        Command::new(prog)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ok("docker", &["compose", "version"]) {
        Ok(vec!["docker".into(), "compose".into()])
    } else if ok("docker-compose", &["version"]) {
        Ok(vec!["docker-compose".into()])
    } else {
        Err("neither `docker compose` nor `docker-compose` works".into())
    }
}

/// Whether the Docker tests can run here: Err(reason) if not.
fn prerequisites() -> Result<Vec<String>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(
            "not root (tcpdump on the Docker bridge, kill -9 of a container's vrrpd)".into(),
        );
    }
    let info = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map_err(|e| format!("docker: {e}"))?;
    if !info.status.success() {
        return Err(format!(
            "the Docker engine is not usable: {}",
            String::from_utf8_lossy(&info.stderr).trim()
        ));
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun not found".into());
    }
    if !Path::new(TCPDUMP).exists() {
        return Err(format!("{TCPDUMP} not found"));
    }
    compose_program()
}

/// A compose service's container state, from `docker inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    pub status: String,
    pub pid: u32,
    pub restarts: u32,
    pub health: String,
}

/// One run of the demo: a compose project with its own image tag. Torn down on drop.
pub struct Demo {
    pub test: String,
    pub project: String,
    pub image: String,
    pub port: u16,
    /// Host ports of the master's and the backup's vrrpd status (compose publishes them).
    pub status_ports: (u16, u16),
    compose: Vec<String>,
    /// The compose variables of the build (`VRRP_DEMO_BASE`, `VRRP_DEMO_VRRPD`, ...).
    build_env: Vec<(String, String)>,
    down: AtomicBool,
    /// What the build made besides the project's image; dropped after [`Demo::down`].
    _teardown: Teardown,
    // Last: released after the teardown. One demo at a time (fixed subnet and port).
    _exclusive: Exclusive,
}

/// Clean-up steps a build registers (remove an image, a directory); they run in reverse order
/// on drop, also when the build or the test panics.
#[derive(Default)]
pub struct Teardown(Vec<Box<dyn FnOnce() + Send>>);

impl Teardown {
    pub fn push(&mut self, step: impl FnOnce() + Send + 'static) {
        self.0.push(Box::new(step));
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        while let Some(step) = self.0.pop() {
            step();
        }
    }
}

/// One demo at a time on this machine: a mutex between the tests of this process (cargo test
/// runs them on threads) and an flock between processes.
struct Exclusive {
    _guard: std::sync::MutexGuard<'static, ()>,
    file: std::fs::File,
}

static IN_PROCESS: Mutex<()> = Mutex::new(());

impl Exclusive {
    fn acquire() -> Exclusive {
        use std::os::fd::AsRawFd;
        let guard = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
        let file = std::fs::File::create("/tmp/vrrp-docker-demo.lock").expect("lock file");
        // SAFETY: flock on an open file descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
        Exclusive {
            _guard: guard,
            file,
        }
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on an open file descriptor.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Demo {
    /// Builds what the demo needs (docker/build.sh: cached base image, static vrrpd) and runs
    /// `compose up -d --build`. `None` when Docker is not usable here (printed as `skipped: ...`),
    /// a panic instead under CI.
    pub fn up(test: &str) -> Option<Demo> {
        let demo = Demo::prepare(test)?;
        let t = Instant::now();
        demo.compose_run(&["up", "-d", "--build"]);
        measure(
            test,
            "compose_up_s",
            format!("{:.1}", t.elapsed().as_secs_f64()),
        );
        Some(demo)
    }

    /// Everything [`Demo::up`] does before `compose up`: the build, a project name, a port.
    /// Dropping the result takes down whatever was started under that project.
    pub fn prepare(test: &str) -> Option<Demo> {
        Demo::prepare_with(test, |_| {
            run(Command::new(repo().join("docker/build.sh")).stderr(Stdio::inherit()));
            // docker/build.sh's choices (base image, the prebuilt vrrpd), passed to compose
            // explicitly rather than through the .env it also reads.
            let env: Vec<(String, String)> = std::fs::read_to_string(repo().join("docker/.env"))
                .expect("docker/build.sh writes docker/.env")
                .lines()
                .filter(|l| l.starts_with("VRRP_DEMO_"))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert!(
                env.iter().any(|(k, _)| k == "VRRP_DEMO_BASE"),
                "VRRP_DEMO_BASE in docker/.env"
            );
            env
        })
    }

    /// [`Demo::prepare`] with another build: `build` runs once this process holds the demo
    /// lock and returns the compose variables of the build; what it registers in the
    /// [`Teardown`] is undone after the project is down (or at once if `build` panics).
    pub fn prepare_with(
        test: &str,
        build: impl FnOnce(&mut Teardown) -> Vec<(String, String)>,
    ) -> Option<Demo> {
        let compose = match vrrp_tests::prereq::decide(
            prerequisites().map(|_| ()),
            vrrp_tests::prereq::is_ci(),
        ) {
            Ok(true) => prerequisites().expect("checked just above"),
            Ok(false) => return None,
            Err(msg) => panic!("{msg}"),
        };
        let exclusive = Exclusive::acquire();
        remove_stale_projects();
        refuse_subnet_in_use();

        let t = Instant::now();
        let mut teardown = Teardown::default();
        let build_env = build(&mut teardown);
        measure(
            test,
            "prepare_s",
            format!("{:.1}", t.elapsed().as_secs_f64()),
        );

        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let project = format!("vrrpdt{}x{n}", std::process::id());
        let demo = Demo {
            test: test.to_string(),
            image: format!("vrrp-demo-test:{project}"),
            project,
            port: pick_port(),
            status_ports: (free_port(), free_port()),
            compose,
            build_env,
            down: AtomicBool::new(false),
            _teardown: teardown,
            _exclusive: exclusive,
        };
        println!(
            "compose project {} ({}), image {}, proxy on 127.0.0.1:{}",
            demo.project,
            demo.compose.join(" "),
            demo.image,
            demo.port
        );
        Some(demo)
    }

    /// `docker/demo ARGS` for this project (its name, image and ports in the environment).
    pub fn wrapper(&self, args: &[&str]) -> Output {
        let mut c = Command::new(repo().join("docker/demo"));
        c.args(args).env("COMPOSE_PROJECT_NAME", &self.project);
        self.demo_env(&mut c).output().expect("run docker/demo")
    }

    /// The compose command with this project's name, file and environment.
    pub fn compose(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.compose[0]);
        c.args(&self.compose[1..])
            .arg("-p")
            .arg(&self.project)
            .arg("-f")
            .arg(compose_file())
            .args(args);
        self.demo_env(&mut c);
        c
    }

    /// The variables compose.yaml reads, for this project; no stdin.
    fn demo_env<'c>(&self, c: &'c mut Command) -> &'c mut Command {
        c.envs(self.build_env.iter().map(|(k, v)| (k, v)))
            .env("VRRP_DEMO_IMAGE", &self.image)
            .env("VRRP_DEMO_PORT", self.port.to_string())
            .env("VRRP_DEMO_STATUS_MASTER", self.status_ports.0.to_string())
            .env("VRRP_DEMO_STATUS_BACKUP", self.status_ports.1.to_string())
            .stdin(Stdio::null())
    }

    /// Runs a compose command, panicking with its output on failure.
    pub fn compose_run(&self, args: &[&str]) -> String {
        stdout(&run(&mut self.compose(args)))
    }

    /// The container id of `service`, by the labels compose puts on it (both compose
    /// implementations do; `docker ps` is much faster than `docker-compose ps`).
    pub fn container(&self, service: &str) -> String {
        let out = stdout(&run(&mut docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
        ])));
        let id = out.lines().next().unwrap_or_default().to_string();
        assert!(
            !id.is_empty(),
            "no container for {service} in {}",
            self.project
        );
        id
    }

    pub fn state(&self, service: &str) -> ContainerState {
        let id = self.container(service);
        let out = stdout(&run(&mut docker(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Pid}} {{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
            &id,
        ])));
        let f: Vec<&str> = out.split_whitespace().collect();
        ContainerState {
            status: f[0].to_string(),
            pid: f[1].parse().unwrap_or(0),
            restarts: f[2].parse().unwrap_or(0),
            health: f[3].to_string(),
        }
    }

    /// `docker <verb> <container of service>` (pause, unpause, kill, start, stop), directly on
    /// the engine: faster than compose's start-up, for the chaos loop.
    pub fn docker_on(&self, verb: &str, service: &str) {
        let id = self.container(service);
        run(&mut docker(&[verb, &id]));
    }

    /// [`Demo::docker_on`] that reports a failure instead of panicking (a busy host can make
    /// `docker pause` fail: "unable to freeze").
    pub fn try_docker_on(&self, verb: &str, service: &str) -> Result<(), String> {
        let id = self.container(service);
        let out = docker(&[verb, &id]).output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// The VRRP state vrrpd reports in `service` (`vrrpd status --json`), or None when it does
    /// not answer (paused, stopped, restarting).
    pub fn vrrp_state(&self, service: &str) -> Option<String> {
        let status = self.status_json(service)?;
        status["routers"][0]["state"].as_str().map(str::to_owned)
    }

    /// `vrrpd status --json` in `service`, or None when it does not answer.
    pub fn status_json(&self, service: &str) -> Option<serde_json::Value> {
        let id = self.container(service);
        let out = Command::new("docker")
            .args(["exec", &id, "/usr/local/bin/vrrpd", "status", "--json"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// The state changes vrrpd in `service` has counted since it started (its status: every
    /// reason's counter, summed), or None when it does not answer.
    pub fn transitions(&self, service: &str) -> Option<u64> {
        let s = self.status_json(service)?;
        let counters = s["routers"][0]["transitions"].as_object()?;
        Some(counters.values().filter_map(|v| v.as_u64()).sum())
    }

    /// Every state change `service`'s vrrpd logged at or after `since` (Unix seconds), across
    /// restarts of its container (`docker logs` keeps them), in order.
    pub fn state_changes(&self, service: &str, since: f64) -> Vec<StateChange> {
        let id = self.container(service);
        let out = docker(&["logs", "-t", &id]).output();
        let Ok(out) = out else {
            return Vec::new();
        };
        // vrrpd logs to stderr; docker keeps both streams.
        let text = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        let mut v: Vec<StateChange> = text
            .lines()
            .filter_map(|l| StateChange::parse(service, l))
            .filter(|c| c.at >= since)
            .collect();
        v.sort_by(|a, b| a.at.total_cmp(&b.at));
        v
    }

    /// The host PID of the vrrpd process in `service`'s container (its main process).
    pub fn vrrpd_pid(&self, service: &str) -> u32 {
        self.process_pid(service, "vrrpd")
    }

    /// The host PID of the first process named `comm` in `service`'s container, breadth first
    /// from its main process (so for nginx: the master process, not a worker).
    pub fn process_pid(&self, service: &str, comm: &str) -> u32 {
        let root = self.state(service).pid;
        assert!(root > 0, "{service} is not running");
        let mut todo = std::collections::VecDeque::from([root]);
        while let Some(pid) = todo.pop_front() {
            if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
            {
                return pid;
            }
            // Every thread's children: vrrpd starts its supervised nginx from its services
            // thread, not its main one.
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten()
                .flatten();
            for task in tasks {
                let children =
                    std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
                todo.extend(
                    children
                        .split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
        panic!("no {comm} process in {service} (main process {root})");
    }

    /// The host side of the project's network: the Linux bridge `br-<network id>`.
    pub fn bridge(&self) -> String {
        let id = stdout(&run(&mut docker(&[
            "network",
            "ls",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
        ])));
        let id = id.lines().next().expect("the project's network exists");
        format!("br-{}", &id[..12])
    }

    /// GET / through the proxy.
    pub fn get(&self) -> Result<(u16, String), String> {
        http_get(self.port, Duration::from_secs(2))
    }

    /// Waits until the proxy answers 200 with `body`; returns how long it took.
    pub fn wait_body(&self, body: &str, timeout: Duration) -> Duration {
        vrrp_tests::wait_until(
            timeout,
            || matches!(self.get(), Ok((200, b)) if b.trim() == body),
        )
        .unwrap_or_else(|e| {
            panic!(
                "the proxy did not answer {body:?} within {timeout:?} ({e}); last answer {:?}",
                self.get()
            )
        })
    }

    /// Waits until `service` reports `state` (Active / Backup).
    pub fn wait_vrrp_state(&self, service: &str, state: &str, timeout: Duration) -> Duration {
        vrrp_tests::wait_until(timeout, || {
            self.vrrp_state(service).as_deref() == Some(state)
        })
        .unwrap_or_else(|e| {
            panic!(
                "{service} is not {state} ({e}): it reports {:?}",
                self.vrrp_state(service)
            )
        })
    }

    /// Waits for the steady state: the master Active, the backup Backup, "Primary" served.
    pub fn wait_converged(&self, timeout: Duration) -> Duration {
        let t = Instant::now();
        self.wait_vrrp_state(MASTER, "Active", timeout);
        self.wait_vrrp_state(BACKUP, "Backup", timeout.saturating_sub(t.elapsed()));
        self.wait_body("Primary", timeout.saturating_sub(t.elapsed()));
        t.elapsed()
    }

    /// Tears the project down: containers, network, the project's image. Idempotent; also
    /// what drop does.
    pub fn down(&self) {
        if self.down.swap(true, Ordering::SeqCst) {
            return;
        }
        if std::thread::panicking() {
            // The logs of what failed, before they go.
            if let Ok(out) = self.compose(&["logs", "--no-color", "--tail=80"]).output() {
                eprintln!(
                    "--- compose logs ({}) ---\n{}",
                    self.project,
                    String::from_utf8_lossy(&out.stdout)
                );
            }
        }
        // Unpause first: a paused container cannot be stopped by compose 1.29.
        for id in self.project_containers() {
            let _ = docker(&["unpause", &id]).output();
        }
        let down = self
            .compose(&["down", "-v", "--rmi", "all", "--remove-orphans", "-t", "2"])
            .output();
        if let Ok(out) = &down
            && !out.status.success()
        {
            eprintln!("compose down: {}", String::from_utf8_lossy(&out.stderr));
        }
        // Whatever compose left: containers, networks, the image.
        for id in self.project_containers() {
            let _ = docker(&["rm", "-f", "-v", &id]).output();
        }
        let label = format!("label=com.docker.compose.project={}", self.project);
        if let Ok(out) = docker(&["network", "ls", "-q", "--filter", &label]).output() {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = docker(&["network", "rm", id]).output();
            }
        }
        let _ = docker(&["rmi", "-f", &self.image]).output();
    }

    fn project_containers(&self) -> Vec<String> {
        let label = format!("label=com.docker.compose.project={}", self.project);
        docker_words(&["ps", "-aq", "--filter", &label])
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.down();
    }
}

/// Removes what test runs that died without their teardown left (a test killed by a timeout
/// gets no chance to drop its [`Demo`]): projects `vrrpdt<pid>x<n>` whose process is gone.
fn remove_stale_projects() {
    let list = docker_words;
    let mut projects: Vec<String> = list(&[
        "ps",
        "-a",
        "--format",
        "{{.Label \"com.docker.compose.project\"}}",
    ]);
    projects.extend(
        list(&["network", "ls", "--format", "{{.Name}}"])
            .into_iter()
            .filter_map(|n| n.strip_suffix("_vrrp").map(str::to_string)),
    );
    projects.extend(
        list(&["images", "--format", "{{.Tag}}", "vrrp-demo-test"])
            .into_iter()
            .filter(|t| t != "<none>"),
    );
    projects.sort();
    projects.dedup();
    for project in projects {
        let Some(pid) = project
            .strip_prefix("vrrpdt")
            .and_then(|r| r.split_once('x'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        eprintln!("removing {project}, left behind by a test process that is gone");
        let label = format!("label=com.docker.compose.project={project}");
        for id in list(&["ps", "-aq", "--filter", &label]) {
            let _ = docker(&["rm", "-f", "-v", &id]).output();
        }
        for id in list(&["network", "ls", "-q", "--filter", &label]) {
            let _ = docker(&["network", "rm", &id]).output();
        }
        let _ = docker(&["rmi", "-f", &format!("vrrp-demo-test:{project}")]).output();
    }
}

/// What is left of a project after teardown: (containers, networks, images).
pub fn project_leftovers(project: &str, image: &str) -> (usize, usize, usize) {
    let label = format!("label=com.docker.compose.project={project}");
    let count = |args: &[&str]| docker_words(args).len();
    (
        count(&["ps", "-aq", "--filter", &label]),
        count(&["network", "ls", "-q", "--filter", &label]),
        count(&["images", "-q", image]),
    )
}

/// Fails early, with what to do, when another network (a running demo) holds the subnet.
fn refuse_subnet_in_use() {
    let Ok(out) = docker(&["network", "ls", "-q"]).output() else {
        return;
    };
    for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let Ok(o) = docker(&[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}",
            id,
        ])
        .output() else {
            continue;
        };
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        if text.split_whitespace().skip(1).any(|s| s == SUBNET) {
            let name = text.split_whitespace().next().unwrap_or(id).to_string();
            panic!(
                "Docker network {name} already uses {SUBNET}, the demo's subnet (a demo still \
                 running?): stop it first, e.g. `docker compose -f docker/compose.yaml down`"
            );
        }
    }
}

/// 8000 (the README's port) when it is free, else any free port.
fn pick_port() -> u16 {
    if std::net::TcpListener::bind("127.0.0.1:8000").is_ok() {
        return 8000;
    }
    free_port()
}

/// A port on 127.0.0.1 that nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// HTTP/1.0 GET / on 127.0.0.1:port: (status, body).
pub fn http_get(port: u16, timeout: Duration) -> Result<(u16, String), String> {
    http_get_path(port, "/", timeout)
}

/// `GET path` on 127.0.0.1:`port`: status code and body.
pub fn http_get_path(port: u16, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::with_capacity(512);
    s.read_to_end(&mut buf).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| format!("not HTTP: {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok((status, body.to_string()))
}

/// One request of the prober.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Start, Unix seconds.
    pub start: f64,
    /// Duration, seconds.
    pub dur: f64,
    pub result: Result<(u16, String), String>,
}

impl Sample {
    pub fn ok(&self) -> bool {
        matches!(self.result, Ok((200, _)))
    }

    pub fn body(&self) -> Option<&str> {
        match &self.result {
            Ok((200, b)) => Some(b.trim()),
            _ => None,
        }
    }

    pub fn end(&self) -> f64 {
        self.start + self.dur
    }
}

/// A client polling GET / every 10 ms (start to start; the next request starts at once when
/// one takes longer), like the client of the seed's demo. Each request has a 2 s timeout.
pub struct Prober {
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Prober {
    pub fn start(port: u16) -> Prober {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (samples.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let period = Duration::from_millis(10);
            let mut next = Instant::now();
            while !st.load(Ordering::Relaxed) {
                let start = unix_now();
                let t = Instant::now();
                let result = http_get(port, Duration::from_secs(2));
                let dur = t.elapsed().as_secs_f64();
                s.lock().unwrap().push(Sample { start, dur, result });
                next += period;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        });
        Prober {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// A copy of the samples so far.
    pub fn samples(&self) -> Samples {
        Samples(self.samples.lock().unwrap().clone())
    }

    pub fn stop(mut self) -> Samples {
        self.halt();
        self.samples()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.halt();
    }
}

/// What the client saw.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<Sample>);

impl Samples {
    /// Samples that started in `[from, to)` (Unix seconds).
    pub fn window(&self, from: f64, to: f64) -> Samples {
        Samples(
            self.0
                .iter()
                .filter(|s| s.start >= from && s.start < to)
                .cloned()
                .collect(),
        )
    }

    /// Failed requests: connection errors, timeouts, any status but 200.
    pub fn failures(&self) -> Vec<&Sample> {
        self.0.iter().filter(|s| !s.ok()).collect()
    }

    /// The slowest request, seconds.
    pub fn max_latency(&self) -> f64 {
        self.0.iter().map(|s| s.dur).fold(0.0, f64::max)
    }

    /// The outage: the longest time the client went without a successful answer, in seconds:
    /// the longest time between the ends of two consecutive successful requests, or the
    /// longest request (a 10 ms poll gives about 10 ms when nothing happens).
    pub fn outage(&self) -> f64 {
        let ends: Vec<f64> = self.0.iter().filter(|s| s.ok()).map(Sample::end).collect();
        let gaps = ends.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        gaps.max(self.max_latency())
    }

    /// Counts of 200 bodies.
    pub fn bodies(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for b in self.0.iter().filter_map(Sample::body) {
            *m.entry(b.to_string()).or_insert(0) += 1;
        }
        m
    }

    /// The first successful answer `body` at or after `t`: its end time.
    pub fn first_body_after(&self, body: &str, t: f64) -> Option<f64> {
        self.0
            .iter()
            .find(|s| s.start >= t && s.body() == Some(body))
            .map(Sample::end)
    }

    /// One line for the log.
    pub fn summary(&self) -> String {
        let f = self.failures();
        format!(
            "{} requests, {} failed, bodies {:?}, max latency {:.0} ms, outage {:.0} ms{}",
            self.0.len(),
            f.len(),
            self.bodies(),
            self.max_latency() * 1e3,
            self.outage() * 1e3,
            f.first()
                .map(|s| format!(", first failure {:?}", s.result))
                .unwrap_or_default()
        )
    }
}

/// tcpdump on the project's Docker bridge, writing a pcap file.
pub struct BridgeCapture {
    child: Option<Child>,
    pub path: PathBuf,
}

impl BridgeCapture {
    /// Starts `tcpdump -i BRIDGE -w PATH FILTER` and waits until it listens.
    pub fn start(bridge: &str, path: PathBuf, filter: &str) -> BridgeCapture {
        let _ = std::fs::remove_file(&path);
        let mut child = Command::new(TCPDUMP)
            .args(["-i", bridge, "-U", "--immediate-mode", "-s", "256", "-w"])
            .arg(&path)
            .arg(filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("tcpdump: {e}"));
        // tcpdump says "listening on ..." on stderr once the capture is open.
        let mut err = child.stderr.take().expect("piped");
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !String::from_utf8_lossy(&seen).contains("listening on") {
            match err.read(&mut byte) {
                Ok(1) => seen.push(byte[0]),
                _ => panic!("tcpdump on {bridge}: {}", String::from_utf8_lossy(&seen)),
            }
        }
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        BridgeCapture {
            child: Some(child),
            path,
        }
    }

    /// What is captured so far.
    pub fn read_now(&self) -> Pcap {
        Pcap::read_partial(&self.path)
    }

    /// Stops tcpdump (SIGINT: it flushes) and reads the capture.
    pub fn finish(mut self) -> Pcap {
        self.halt();
        Pcap::read_partial(&self.path)
    }

    fn halt(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill with a valid pid and signal.
            unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
            let _ = c.wait();
        }
    }
}

impl Drop for BridgeCapture {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Where a test keeps its capture: `$CARGO_TARGET_DIR` (or target/) `/docker-artifacts/`.
pub fn artifact(name: &str) -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
        .join("docker-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact directory");
    dir.join(name)
}

/// Sends `kill -9` to a host PID.
pub fn kill9(pid: u32) {
    // SAFETY: kill with a valid pid and signal.
    let rc = unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill -9 {pid}: {}", std::io::Error::last_os_error());
}

/// A small deterministic PRNG (splitmix64) for the chaos schedule: the same seed gives the same
/// schedule.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }
}

/// One `state change` line of vrrpd's log, as `docker logs -t` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub service: String,
    /// Unix seconds (docker's timestamp of the line).
    pub at: f64,
    pub from: String,
    pub to: String,
    pub reason: String,
}

impl StateChange {
    /// Parses `<RFC 3339 time> ... state change vrid=51 from=Backup to=Active reason=...`;
    /// colour codes, if the log has them, are ignored.
    pub fn parse(service: &str, line: &str) -> Option<StateChange> {
        let plain = strip_ansi(line);
        let (stamp, rest) = plain.split_once(' ')?;
        if !rest.contains("state change") {
            return None;
        }
        let field = |key: &str| {
            rest.split_whitespace()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_string)
        };
        Some(StateChange {
            service: service.to_string(),
            at: rfc3339_unix(stamp)?,
            from: field("from")?,
            to: field("to")?,
            reason: field("reason")?,
        })
    }

    /// Into or out of Active: a change of who serves the VIP.
    pub fn moves_vip(&self) -> bool {
        self.from == "Active" || self.to == "Active"
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `2026-12-04T13:20:00.123456789Z` (UTC, as docker writes it) in Unix seconds.
pub fn rfc3339_unix(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':');
    let (hh, mm) = (
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<i64>().ok()?,
    );
    let sec: f64 = t.next()?.parse().ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60) as f64 + sec)
}

/// A busy loop on each of `n` threads (normal priority) until dropped: a busy host.
pub struct CpuHog {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuHog {
    pub fn start(n: usize) -> CpuHog {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        CpuHog { stop, threads }
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
