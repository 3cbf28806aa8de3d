//! The core on a bare-metal board. The firmware (firmware/, an MPS2 AN386 Cortex-M4F
//! image with a LAN9118 driver) runs in QEMU in r1's seat, its TAP bridged to r1's port; vrrpd
//! with nginx sits in r2, keepalived with nginx in r3, all VRRPv3 at 100 ms on VRID 10.
//!
//! Phase A (firmware 200 > vrrpd 150 > keepalived 50):
//! 1. election: the firmware is Active and serves the VIP, the others stay silent;
//! 2. SIGSTOP of QEMU: vrrpd (the next priority) takes over within 3I+skew (bound 1.5 x + 50 ms);
//! 3. SIGCONT: the firmware takes the VIP back with no burst and vrrpd falls silent.
//!
//! Phase B (the firmware restarted at priority 20, the lowest):
//! 4. election again (vrrpd Active, the firmware Backup); pausing r2 and r3 together makes the
//!    firmware take over within its 3I+skew; resuming them gives the VIP back to vrrpd.
//!
//! Each phase's capture is replayed through `vrrp-sim replay` with the core in the firmware's
//! seat: the core in the simulator must change state when the real firmware did.
//!
//! The test builds the firmware itself (`cargo build --release` in firmware/, target
//! thumbv7em-none-eabihf) and uses the `vrrpd` and `vrrp-sim` binaries of its own target
//! directory, building them if missing. The firmware logs defmt frames over semihosting, which
//! QEMU writes to its standard output, kept as `<label>.log` in the artifacts (QEMU's own messages
//! in `<label>.stderr.log`); `defmt-print` (`cargo install --locked defmt-print`) decodes them with
//! the ELF's format strings into `<label>.log.txt`, and the firmware's state is read from those
//! decoded lines.

use std::cell::RefCell;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use vrrp_tests::capture::{Capture, Payload, Pcap, count_kinds};
use vrrp_tests::lab::{Lab, ProcId};
use vrrp_tests::nginx::Nginx;
use vrrp_tests::prereq::{self, Need};
use vrrp_tests::probe::{ProbeOpts, Prober, client_get};
use vrrp_tests::router::{Router, State, VrrpParams, vrrpd_config_toml};
use vrrp_tests::{VIP, unix_now, wait_until};

const PROBER: &str = env!("CARGO_BIN_EXE_prober");
const QEMU: &str = "qemu-system-arm";
const DEFMT_PRINT: &str = "defmt-print";
/// Timestamp (`{=u64:us}`: seconds with µs), level, message.
const LOG_FORMAT: &str = "{t} {L} {s}";
const FW_TARGET: &str = "thumbv7em-none-eabihf";
const INTERVAL: Duration = Duration::from_millis(100);
/// A generous bound for every step that waits on the protocol (elections are sub-second).
const SETTLE: Duration = Duration::from_secs(20);
/// Goal for "no burst": VRRP + ARP frames the firmware sends in its first 50 ms after SIGCONT.
/// One advert (its overdue Adver_Timer, coalesced), one reply to the queued lower-priority
/// adverts, and an ARP or two for the client whose requests queued up during the freeze;
/// measured 1 and 3 (2 adverts + 1 ARP). keepalived sends about 40 here.
const MAX_RESUME_FRAMES: usize = 4;
/// State changes of the replayed core against the firmware's: the same states in the same order,
/// each within one interval plus 10 ms. The firmware's changes are inferred from its adverts,
/// and a preempting advert that is still between the TAP and the LAN9118 FIFO when the
/// firmware's Adver_Timer fires (measured: 1.2 ms) costs it one more advert, which moves the
/// inferred Active -> Backup by one interval; the simulator delivers instantly.
const REPLAY_TOLERANCE_MS: f64 = 110.0;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `<target>` and `<profile>` of this test binary (`<target>/<profile>/deps/<binary>`).
fn target_and_profile() -> (PathBuf, String) {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.ancestors().nth(2).expect("<target>/<profile>");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_string();
    let target = profile_dir.parent().expect("<target>").to_path_buf();
    (target, profile)
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // Flags meant for the workspace's host build would reach the bare-metal one too.
    c.env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        // The firmware's .cargo/config.toml sets the level whose lines the test reads.
        .env_remove("DEFMT_LOG");
    c
}

fn run_ok(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// QEMU, defmt-print, the bare-metal target and what every e2e test with keepalived needs.
fn check_prerequisites() -> Result<(), String> {
    let mut missing = Vec::new();
    if let Err(e) = prereq::check(&[Need::Keepalived]) {
        missing.push(e);
    }
    if Command::new(QEMU).arg("--version").output().is_err() {
        missing.push(format!(
            "{QEMU} not found (apt-get install qemu-system-arm)"
        ));
    }
    if Command::new(DEFMT_PRINT).arg("--version").output().is_err() {
        missing.push(format!(
            "{DEFMT_PRINT} not found, needed to decode the firmware's log (cargo install \
             --locked defmt-print)"
        ));
    }
    let libdir = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", FW_TARGET])
        .output();
    let has_target = libdir.is_ok_and(|o| {
        o.status.success() && Path::new(String::from_utf8_lossy(&o.stdout).trim()).exists()
    });
    if !has_target {
        missing.push(format!(
            "Rust target {FW_TARGET} not installed (rustup target add {FW_TARGET})"
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join("; "))
    }
}

/// Builds the firmware image (release: the size and timing that ship) and returns the ELF.
fn build_firmware(target: &Path) -> PathBuf {
    let dir = target.join("firmware");
    let mut c = cargo();
    c.current_dir(repo_root().join("firmware"))
        .args(["build", "--release", "--target", FW_TARGET, "--target-dir"])
        .arg(&dir);
    run_ok(c, "cargo build (firmware)");
    let elf = dir.join(FW_TARGET).join("release").join("vrrp-firmware");
    assert!(elf.exists(), "{} not built", elf.display());
    elf
}

/// `vrrpd` and `vrrp-sim` of this target directory (nextest builds both for their own tests;
/// built here when missing). Returns the path of `vrrp-sim`.
fn host_binaries(target: &Path, profile: &str) -> PathBuf {
    let dir = target.join(profile);
    let (vrrpd, sim) = (dir.join("vrrpd"), dir.join("vrrp-sim"));
    if !vrrpd.exists() || !sim.exists() {
        let mut c = cargo();
        c.current_dir(repo_root())
            .args(["build", "-p", "vrrp-host", "-p", "vrrp-sim", "--bins"])
            .args([
                "--profile",
                if profile == "debug" { "dev" } else { profile },
            ])
            .arg("--target-dir")
            .arg(target);
        run_ok(c, "cargo build (vrrpd, vrrp-sim)");
    }
    sim
}

/// The firmware in QEMU, in r1's namespace.
struct Firmware {
    proc: ProcId,
    elf: PathBuf,
    /// The raw defmt stream: QEMU's standard output.
    defmt: PathBuf,
    /// Its decoded lines so far.
    decoded: PathBuf,
    /// QEMU's own messages.
    stderr: PathBuf,
    /// Bytes of `defmt` last decoded and their lines: the state is polled every few ms, the
    /// stream grows a few times a second.
    cache: RefCell<(u64, String)>,
}

impl Firmware {
    /// Gives r1's port to a TAP: r1's own address goes, and a bridge joins its eth0 to `tap0`,
    /// so the board's frames reach the segment exactly through r1's switch port (and its
    /// capture). Once per lab.
    fn wire(lab: &Lab) {
        let ns = lab.ns("r1");
        for args in [
            vec!["addr", "flush", "dev", "eth0"],
            vec![
                "link",
                "add",
                "brfw",
                "type",
                "bridge",
                "stp_state",
                "0",
                "forward_delay",
                "0",
                "mcast_snooping",
                "0",
            ],
            vec!["tuntap", "add", "dev", "tap0", "mode", "tap"],
            vec!["link", "set", "eth0", "master", "brfw"],
            vec!["link", "set", "tap0", "master", "brfw"],
            vec!["link", "set", "tap0", "up"],
            vec!["link", "set", "brfw", "up"],
        ] {
            let mut full = vec!["-n", ns.as_str()];
            full.extend(args);
            vrrp_tests::lab::run("ip", &full);
        }
    }

    /// Boots the image with `priority` (the other parameters from `params`) and waits for its
    /// first state change.
    fn start(lab: &Lab, elf: &Path, label: &str, params: &VrrpParams) -> Firmware {
        let ip = lab.node("r1").ip;
        let vips: Vec<String> = params
            .vips
            .iter()
            .map(|v| format!(",arg=vip={v}"))
            .collect();
        let semihosting = format!(
            "enable=on,target=native,chardev=defmt,arg=vrrp-firmware,arg=vrid={},arg=prio={},arg=version={},\
             arg=interval_ms={},arg=ip={ip},arg=prefix=24,arg=preempt={},arg=body=Firmware{}",
            params.vrid,
            params.priority,
            params.version,
            params.advert_int.as_millis(),
            params.preempt,
            vips.concat()
        );
        let elf_arg = elf.display().to_string();
        let stderr = lab.artifacts.join(format!("{label}.stderr.log"));
        let stderr = stderr.display().to_string();
        // QEMU's standard output carries the defmt stream alone (its log file is the stream):
        // its own messages go to a file of their own. `exec` keeps QEMU the process that the lab
        // signals and waits for.
        let proc = lab.spawn(
            "r1",
            label,
            "sh",
            &[
                "-c",
                "exec \"$@\" 2>\"$0\"",
                &stderr,
                QEMU,
                "-M",
                "mps2-an386",
                "-display",
                "none",
                "-monitor",
                "none",
                "-serial",
                "null",
                "-chardev",
                "stdio,id=defmt,signal=off",
                "-semihosting-config",
                &semihosting,
                "-kernel",
                &elf_arg,
                "-nic",
                "tap,ifname=tap0,script=no,downscript=no,model=lan9118",
            ],
        );
        let fw = Firmware {
            proc,
            elf: elf.to_path_buf(),
            defmt: lab.log_path(proc),
            decoded: lab.artifacts.join(format!("{label}.log.txt")),
            stderr: PathBuf::from(&stderr),
            cache: RefCell::new((0, String::new())),
        };
        wait_until(SETTLE, || {
            fw.assert_running(lab);
            fw.state().is_some()
        })
        .unwrap_or_else(|e| {
            panic!(
                "firmware did not start ({e}); its log:\n{}\nQEMU's:\n{}",
                fw.log(),
                fw.qemu_messages()
            )
        });
        fw
    }

    fn assert_running(&self, lab: &Lab) {
        assert!(
            lab.is_running(self.proc),
            "QEMU exited; the firmware's log:\n{}\nQEMU's:\n{}",
            self.log(),
            self.qemu_messages()
        );
    }

    fn qemu_messages(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The firmware's log so far, decoded by `defmt-print` (a frame still being written is
    /// left for the next call); also kept in the artifacts.
    fn log(&self) -> String {
        let len = fs::metadata(&self.defmt).map_or(0, |m| m.len());
        let mut cache = self.cache.borrow_mut();
        if cache.0 != len {
            let input = fs::File::open(&self.defmt)
                .unwrap_or_else(|e| panic!("{}: {e}", self.defmt.display()));
            let out = Command::new(DEFMT_PRINT)
                .arg("-e")
                .arg(&self.elf)
                .args(["--log-format", LOG_FORMAT])
                .stdin(input)
                .output()
                .unwrap_or_else(|e| panic!("{DEFMT_PRINT}: {e}"));
            assert!(
                out.status.success(),
                "{DEFMT_PRINT} on {}: {}\n{}",
                self.defmt.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            fs::write(&self.decoded, &text)
                .unwrap_or_else(|e| panic!("write {}: {e}", self.decoded.display()));
            *cache = (len, text);
        }
        cache.1.clone()
    }

    /// The state of the last `state A -> B (reason)` line of the firmware's log.
    fn state(&self) -> Option<String> {
        state_of(&self.log())
    }

    fn is(&self, lab: &Lab, state: &str) -> bool {
        self.assert_running(lab);
        self.state().as_deref() == Some(state)
    }
}

/// The state of the last `<t> INFO  state A -> B (reason)` line of a decoded log.
fn state_of(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find_map(|l| l.split_once(" state ").map(|(_, s)| s.to_string()))
        .and_then(|s| s.split_whitespace().nth(2).map(str::to_string))
}

/// Adverts per source address in `[from, to)`.
fn advert_sources(pcap: &Pcap, from: f64, to: f64) -> Vec<(IpAddr, usize)> {
    let mut v: Vec<(IpAddr, usize)> = Vec::new();
    for (t, _, a) in pcap.adverts() {
        if t < from || t >= to {
            continue;
        }
        match v.iter_mut().find(|(ip, _)| *ip == a.src) {
            Some(e) => e.1 += 1,
            None => v.push((a.src, 1)),
        }
    }
    v
}

/// Waits until only `owner` advertised during the last `window` and the client gets `body`.
fn wait_owner(lab: &Lab, cap: &Capture, owner: Ipv4Addr, body: &str, what: &str) {
    let window = 5.0 * INTERVAL.as_secs_f64();
    wait_until(SETTLE, || {
        let now = unix_now();
        let srcs = advert_sources(&cap.bridge_now(), now - window, now);
        srcs.len() == 1
            && srcs[0].0 == owner
            && srcs[0].1 >= 3
            && client_get(lab, PROBER, VIP, Duration::from_millis(300)).as_deref() == Ok(body)
    })
    .unwrap_or_else(|e| {
        let now = unix_now();
        panic!(
            "{what}: {e}; adverts in the last {window} s: {:?}",
            advert_sources(&cap.bridge_now(), now - window, now)
        )
    });
}

/// Waits for an advert from `ip` after now (to pause right after one: the worst case, the whole
/// Active_Down_Interval passes with the Active frozen).
fn after_next_advert(cap: &Capture, node: &str, ip: Ipv4Addr) {
    let t = unix_now();
    wait_until(SETTLE, || {
        cap.from_node_now(node)
            .adverts()
            .any(|(ts, _, a)| ts >= t && a.src == ip)
    })
    .expect("an advert to pause after");
}

/// Stops the capture and keeps its files (and the events since `since`) under a phase prefix.
/// The board sends from its own MAC (02:00 + its IPv4 address) except its adverts and what it
/// sends for the VIP as the Active, which carry the virtual MAC: a learning switch then keeps
/// the virtual MAC on the Active's port. Its start-up as a Backup (IGMP join) is in the capture.
fn board_frames_use_the_right_mac(from_board: &Pcap, ip: Ipv4Addr, vrid: u8) {
    let [a, b, c, d] = ip.octets();
    let own = [0x02, 0x00, a, b, c, d];
    let vmac = vrrp_tests::fastpath::virtual_mac(vrid);
    let mut from_own = 0;
    for f in &from_board.frames {
        if f.src_mac == own {
            from_own += 1;
            continue;
        }
        // The Active answers what was sent to the virtual MAC from it too (its HTTP for the
        // VIP); a Backup's IGMP or ARP requests from it would be the bug.
        let for_the_vip = match &f.payload {
            Payload::Vrrp(_) => true,
            Payload::Arp(arp) => arp.sender_ip == VIP,
            Payload::Ipv4 { src, .. } => *src == VIP,
            _ => false,
        };
        assert!(
            f.src_mac == vmac && for_the_vip,
            "a frame from {:02x?} that is neither an advert nor the VIP's: {f:?}",
            f.src_mac
        );
    }
    println!("MEASURE firmware frames_from_own_mac={from_own}");
    assert!(from_own > 0, "nothing from the board's own MAC {own:02x?}");
}

fn finish_phase(
    lab: &Lab,
    cap: &Capture,
    phase: &str,
    since: f64,
) -> (Pcap, Pcap, PathBuf, PathBuf) {
    cap.stop(lab);
    let pcap = lab.artifacts.join(format!("{phase}-bridge.pcap"));
    fs::rename(&cap.bridge, &pcap).expect("keep the bridge capture");
    let from_r1 = lab.artifacts.join(format!("{phase}-from-r1.pcap"));
    let (_, port) = cap.ports.iter().find(|(n, _)| n == "r1").expect("r1 port");
    fs::rename(port, &from_r1).expect("keep r1's capture");
    let mut events = String::new();
    for e in lab.events() {
        let t = e.rsplit(' ').next().and_then(|t| t.parse::<f64>().ok());
        if t.is_some_and(|t| t >= since) {
            events += &e;
            events.push('\n');
        }
    }
    let events = lab.write_artifact(&format!("{phase}-events.txt"), &events);
    (Pcap::read(&pcap), Pcap::read(&from_r1), pcap, events)
}

/// `vrrp-sim replay` with the core in the firmware's seat; returns (verdict, report line).
fn replay(sim: &Path, pcap: &Path, events: &Path, fw: Ipv4Addr, tolerance_ms: f64) -> String {
    let out = Command::new(sim)
        .arg("replay")
        .arg(pcap)
        .args(["--seat", &fw.to_string(), "--name", "r1", "--events"])
        .arg(events)
        .args(["--tolerance-ms", &tolerance_ms.to_string()])
        .output()
        .expect("run vrrp-sim");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    println!("REPLAY {}\n{text}{err}", pcap.display());
    assert!(
        out.status.success(),
        "vrrp-sim replay of {} in the firmware's seat: {}\n{text}{err}",
        pcap.display(),
        out.status
    );
    text
}

#[test]
fn firmware_in_qemu_fails_over_with_vrrpd_and_keepalived() {
    match prereq::decide(check_prerequisites(), prereq::is_ci()) {
        Ok(true) => {}
        Ok(false) => return,
        Err(msg) => panic!("{msg}"),
    }
    let (target, profile) = target_and_profile();
    let elf = build_firmware(&target);
    let sim = host_binaries(&target, &profile);

    let lab = Lab::new("firmware_in_qemu_fails_over_with_vrrpd_and_keepalived", 3);
    let (fw_ip, vrrpd_ip, ka_ip) = (lab.node("r1").ip, lab.node("r2").ip, lab.node("r3").ip);
    let base = VrrpParams::v3(10, 100, INTERVAL);
    let (p_fw, p_vrrpd, p_ka) = (
        base.with_priority(200),
        base.with_priority(150),
        base.with_priority(50),
    );
    Firmware::wire(&lab);
    let _nginx = [
        Nginx::start(&lab, "r2", "vrrpd"),
        Nginx::start(&lab, "r3", "keepalived"),
    ];

    // Phase A, 1: election by priority across the three.
    let t_a = unix_now();
    let cap = Capture::start(&lab);
    let fw = Firmware::start(&lab, &elf, "qemu-fw-200", &p_fw);
    let vrrpd = Router::vrrpd(&lab, "r2", &p_vrrpd, &vrrpd_config_toml(&p_vrrpd));
    let ka = Router::keepalived(&lab, "r3", &p_ka);
    wait_owner(
        &lab,
        &cap,
        fw_ip,
        "Firmware",
        "firmware Active at priority 200",
    );
    assert!(fw.is(&lab, "Active"));
    wait_until(SETTLE, || ka.state(&lab) == State::Backup).expect("keepalived Backup");
    let probe = Prober::start(
        &lab,
        PROBER,
        VIP,
        &ProbeOpts {
            interval: Duration::from_millis(10),
            timeout: Duration::from_millis(200),
            duration: Duration::from_secs(300),
        },
    );
    let since = unix_now();
    wait_until(SETTLE, || {
        probe.records(&lab).count_body_since("Firmware", since) >= 5
    })
    .expect("prober gets Firmware");

    // 2: SIGSTOP of QEMU right after one of its adverts; vrrpd takes over.
    after_next_advert(&cap, "r1", fw_ip);
    let t_pause = lab.pause("r1");
    // Held for 20 of vrrpd's adverts: they queue up for the firmware, which must read them on
    // SIGCONT without answering each.
    wait_until(SETTLE, || {
        probe.records(&lab).count_body_since("vrrpd", t_pause) >= 10
            && cap
                .bridge_now()
                .advert_times(vrrpd_ip, t_pause, f64::MAX)
                .len()
                >= 20
    })
    .expect("vrrpd serves the VIP while the firmware is paused");

    // 3: SIGCONT; the firmware takes the VIP back.
    let t_resume = lab.resume("r1");
    wait_until(SETTLE, || {
        probe.records(&lab).count_body_since("Firmware", t_resume) >= 10
    })
    .expect("the client gets Firmware again after SIGCONT");
    // vrrpd must have fallen silent: wait for an interval-long stretch with the firmware alone.
    wait_owner(
        &lab,
        &cap,
        fw_ip,
        "Firmware",
        "firmware Active after SIGCONT",
    );
    assert!(
        vrrpd.is_running(&lab),
        "vrrpd exited; see {}",
        lab.artifacts.display()
    );
    let (bridge_a, from_fw_a, pcap_a, events_a) = finish_phase(&lab, &cap, "phase-a", t_a);
    board_frames_use_the_right_mac(&from_fw_a, fw_ip, p_fw.vrid);

    let silence = bridge_a
        .takeover_silence(fw_ip, vrrpd_ip, t_pause)
        .expect("vrrpd advertised after the pause");
    let limit_ms = p_vrrpd.active_down_interval().as_secs_f64() * 1000.0;
    let ka_during_pause = bridge_a.advert_times(ka_ip, t_pause, t_resume).len();
    let (all, vrrp, arp) = count_kinds(from_fw_a.frames_in(t_resume, Duration::from_millis(50)));
    let last_vrrpd = bridge_a
        .advert_times(vrrpd_ip, t_pause, f64::MAX)
        .last()
        .copied()
        .unwrap_or(t_resume);
    let probes = probe.records(&lab);
    let takeback = probes.longest_gap(t_resume, unix_now());
    let line = format!(
        "MEASURE firmware-v3-100ms pause_qemu limit_ms={limit_ms:.3} silence_ms={:.3} \
         keepalived_adverts_during_pause={ka_during_pause} resume_frames={} resume_vrrp={vrrp} \
         resume_arp={arp} resume_all_frames={all} vrrpd_silent_after_resume_ms={:.3} \
         takeback_outage_ms={:.3}",
        silence.ms(),
        vrrp + arp,
        (last_vrrpd - t_resume) * 1000.0,
        takeback.map_or(f64::NAN, |g| g.ms()),
    );
    println!("{line}");
    lab.write_artifact("measure.txt", &format!("{line}\n"));
    let (lower, upper) = (
        3.0 * INTERVAL.as_secs_f64() * 1000.0 - 2.0,
        limit_ms * 1.5 + 50.0,
    );
    assert!(
        silence.ms() >= lower && silence.ms() <= upper,
        "takeover after SIGSTOP of QEMU: {:.3} ms outside [{lower:.3}, {upper:.3}] (3I+skew = \
         {limit_ms:.3} ms)",
        silence.ms()
    );
    assert!(
        vrrp + arp <= MAX_RESUME_FRAMES,
        "burst after SIGCONT: {} VRRP/ARP frames from the firmware in 50 ms (goal <= \
         {MAX_RESUME_FRAMES}); see {}",
        vrrp + arp,
        lab.artifacts.display()
    );
    assert!(
        last_vrrpd - t_resume <= INTERVAL.as_secs_f64() + 0.2,
        "vrrpd still advertised {:.3} s after SIGCONT",
        last_vrrpd - t_resume
    );
    let report_a = replay(&sim, &pcap_a, &events_a, fw_ip, REPLAY_TOLERANCE_MS);

    // Phase B, 4: the firmware restarted at the lowest priority takes over when both others
    // are paused.
    let p_fw_low = base.with_priority(20);
    lab.stop(fw.proc);
    // The whole log of the first run, into the artifacts.
    fw.log();
    let t_b = unix_now();
    let cap = Capture::start(&lab);
    let fw = Firmware::start(&lab, &elf, "qemu-fw-20", &p_fw_low);
    wait_owner(
        &lab,
        &cap,
        vrrpd_ip,
        "vrrpd",
        "vrrpd Active over the firmware at 20",
    );
    assert!(fw.is(&lab, "Backup"), "firmware at priority 20 is Backup");
    assert_eq!(ka.state(&lab), State::Backup, "keepalived at 50 is Backup");
    after_next_advert(&cap, "r2", vrrpd_ip);
    let t_pause2 = lab.pause("r2");
    lab.pause("r3");
    wait_until(SETTLE, || {
        fw.is(&lab, "Active") && probe.records(&lab).count_body_since("Firmware", t_pause2) >= 10
    })
    .expect("the firmware takes over with vrrpd and keepalived paused");
    let t_resume2 = lab.resume("r2");
    lab.resume("r3");
    wait_owner(
        &lab,
        &cap,
        vrrpd_ip,
        "vrrpd",
        "vrrpd preempts the firmware again",
    );
    assert!(fw.is(&lab, "Backup"), "firmware yields to vrrpd");
    probe.stop(&lab);
    let (bridge_b, _, pcap_b, events_b) = finish_phase(&lab, &cap, "phase-b", t_b);
    let silence2 = bridge_b
        .takeover_silence(vrrpd_ip, fw_ip, t_pause2)
        .expect("the firmware advertised after the pause");
    let limit2_ms = p_fw_low.active_down_interval().as_secs_f64() * 1000.0;
    let line = format!(
        "MEASURE firmware-v3-100ms others_paused limit_ms={limit2_ms:.3} silence_ms={:.3} \
         keepalived_adverts={} firmware_adverts_after_resume={}",
        silence2.ms(),
        bridge_b.advert_times(ka_ip, t_pause2, f64::MAX).len(),
        bridge_b.advert_times(fw_ip, t_resume2, f64::MAX).len(),
    );
    println!("{line}");
    let (lower2, upper2) = (
        3.0 * INTERVAL.as_secs_f64() * 1000.0 - 2.0,
        limit2_ms * 1.5 + 50.0,
    );
    assert!(
        silence2.ms() >= lower2 && silence2.ms() <= upper2,
        "firmware takeover: {:.3} ms outside [{lower2:.3}, {upper2:.3}]",
        silence2.ms()
    );
    let report_b = replay(&sim, &pcap_b, &events_b, fw_ip, REPLAY_TOLERANCE_MS);
    lab.write_artifact(
        "measure.txt",
        &format!("{line}\nREPLAY phase A\n{report_a}\nREPLAY phase B\n{report_b}\n"),
    );
}

#[test]
fn state_of_reads_the_last_decoded_state_line() {
    let log = "0.001000 INFO  vrrp-firmware: VRID 10 priority 200\n\
               0.002000 INFO  state Initialize -> Backup (Startup)\n\
               0.305000 INFO  state Backup -> Active (ActiveDown)\n\
               0.305100 INFO  http served 0 | nic rx 3\n";
    assert_eq!(state_of(log).as_deref(), Some("Active"));
    assert_eq!(state_of("0.001000 INFO  vrrp-firmware: VRID 10\n"), None);
}
