//! What the Debian package ships: the man pages and completions generated from the command line
//! are current and name every subcommand; the `.deb` that README's command builds holds what
//! README's "Install as a package" section promises.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use vrrp_host::cli::Cli;

fn host() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// vrrpd's subcommands, as its command line defines them.
fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Files under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn generated_pages_and_completions_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_vrrpd-gen"))
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let committed = host().join("packaging");
    let fresh = files(tmp.path());
    assert_eq!(
        fresh,
        files(&committed),
        "host/packaging differs from vrrpd-gen's files: cargo run -p vrrp-host --bin vrrpd-gen -- host/packaging"
    );
    for f in fresh {
        assert!(
            read(&tmp.path().join(&f)) == read(&committed.join(&f)),
            "host/packaging/{} is stale: cargo run -p vrrp-host --bin vrrpd-gen -- host/packaging",
            f.display()
        );
    }
}

#[test]
fn man_pages_and_completions_name_every_subcommand() {
    let subs = subcommands();
    assert!(subs.len() >= 4, "{subs:?}");
    let dir = host().join("packaging");
    let top = read(&dir.join("man/vrrpd.8"));
    for s in &subs {
        // roff escapes every hyphen.
        let name = s.replace('-', "\\-");
        assert!(
            top.contains(&format!("vrrpd\\-{name}(8)")),
            "vrrpd.8 does not list {s}"
        );
        let page = read(&dir.join(format!("man/vrrpd-{s}.8")));
        assert!(page.contains(&format!(".TH vrrpd-{s} 8")), "vrrpd-{s}.8");
        for f in ["vrrpd.bash", "_vrrpd", "vrrpd.fish"] {
            assert!(
                read(&dir.join("completions").join(f)).contains(s.as_str()),
                "{f} does not complete {s}"
            );
        }
    }
    // Options too: a completion that only knew the subcommands would pass the loop above.
    for f in ["vrrpd.bash", "_vrrpd", "vrrpd.fish"] {
        let text = read(&dir.join("completions").join(f));
        assert!(text.contains("log-format"), "{f} lacks run --log-format");
    }
}

/// The command README gives to build the package, and where it puts it.
const BUILD: &[&str] = &[
    "deb",
    "-p",
    "vrrp-host",
    "--target",
    "x86_64-unknown-linux-gnu",
];
const RUSTFLAGS: &str = "-C target-feature=+crt-static";

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Skips (outside CI) or fails (CI=true) when a tool is missing.
fn require(tool: &str, arg: &str, install: &str) -> bool {
    if have(tool, arg) {
        return true;
    }
    let why = format!("{tool} is not installed ({install})");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true: {why}"
    );
    println!("skipped: {why}");
    false
}

/// The paths README's "Install as a package" table promises, in `dpkg-deb -c` form.
fn promised_by_readme() -> Vec<String> {
    let readme = read(&host().join("../README.md"));
    let section = readme
        .split("\n## Install as a package")
        .nth(1)
        .expect("README has an \"Install as a package\" section");
    let section = section.split("\n## ").next().unwrap();
    assert!(
        section.contains("apt install ./target/debian/vrrpd_"),
        "README's section installs the package from where cargo deb writes it"
    );
    let command = format!("RUSTFLAGS=\"{RUSTFLAGS}\" cargo {}", BUILD.join(" "));
    assert!(
        section.contains(&command),
        "README's section does not give the command this test runs: {command}"
    );
    section
        .lines()
        .filter(|l| l.starts_with("| `/"))
        .map(|l| format!(".{}", l[3..].split('`').next().unwrap()))
        .collect()
}

#[test]
fn debian_package_ships_what_readme_promises() {
    let promised = promised_by_readme();
    assert!(promised.len() >= 6, "{promised:?}");
    if !require("cargo-deb", "--version", "cargo install --locked cargo-deb")
        || !require("dpkg-deb", "--version", "apt-get install dpkg")
    {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    // `--fast`: lighter compression, 8 s instead of a minute of xz on two loaded cores, while
    // the end-to-end tests measure failover timing; the contents are the same.
    let build = Command::new(env!("CARGO"))
        .args(BUILD)
        .arg("--fast")
        .arg("--output")
        .arg(out.path())
        .env("RUSTFLAGS", RUSTFLAGS)
        .current_dir(host().join(".."))
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "cargo deb failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    println!("cargo deb: {:.1} s", started.elapsed().as_secs_f64());
    let version = env!("CARGO_PKG_VERSION");
    let deb = out.path().join(format!("vrrpd_{version}-1_amd64.deb"));
    assert!(deb.is_file(), "no {}", deb.display());

    let dpkg = |args: &[&str]| {
        let o = Command::new("dpkg-deb")
            .args(args)
            .arg(&deb)
            .output()
            .unwrap();
        assert!(o.status.success(), "dpkg-deb {args:?}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let listing = dpkg(&["-c"]);
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    for p in &promised {
        assert!(
            paths.contains(&p.as_str()),
            "{p} not in the package:\n{listing}"
        );
    }
    for s in subcommands() {
        let page = format!("./usr/share/man/man8/vrrpd-{s}.8.gz");
        assert!(paths.contains(&page.as_str()), "{page} not in the package");
    }
    let mode = |path: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" {path}")))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
    };
    assert_eq!(mode("./usr/sbin/vrrpd").as_deref(), Some("-rwxr-xr-x"));

    let info = dpkg(&["-I"]);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
            .map(str::to_string)
    };
    assert_eq!(field("Package").as_deref(), Some("vrrpd"));
    assert_eq!(field("Version"), Some(format!("{version}-1")));
    assert_eq!(field("Architecture").as_deref(), Some("amd64"));
    assert_eq!(field("Section").as_deref(), Some("net"));
    assert!(field("Maintainer").is_some_and(|m| !m.is_empty()));
    assert!(field("Description").is_some_and(|d| d.contains("VRRP")));
    // The configuration survives upgrades, and the unit is registered (not started: the
    // example must be edited first).
    let control = |file: &str| {
        let o = Command::new("dpkg-deb")
            .arg("-I")
            .arg(&deb)
            .arg(file)
            .output()
            .unwrap();
        assert!(o.status.success(), "dpkg-deb -I {file}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(control("conffiles").trim(), "/etc/vrrpd/vrrpd.toml");
    let postinst = control("postinst");
    assert!(postinst.contains("daemon-reload"), "{postinst}");
    assert!(!postinst.contains("deb-systemd-invoke start"), "{postinst}");

    // The packaged files are the repository's.
    let root = tempfile::tempdir().unwrap();
    assert!(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(root.path())
            .status()
            .unwrap()
            .success()
    );
    for (packaged, source) in [
        ("etc/vrrpd/vrrpd.toml", "examples/vrrpd.toml"),
        (
            "usr/lib/systemd/system/vrrpd.service",
            "systemd/vrrpd.service",
        ),
        (
            "usr/share/bash-completion/completions/vrrpd",
            "packaging/completions/vrrpd.bash",
        ),
    ] {
        assert_eq!(
            read(&root.path().join(packaged)),
            read(&host().join(source)),
            "{packaged}"
        );
    }
    let vrrpd = root.path().join("usr/sbin/vrrpd");
    let version_out = Command::new(&vrrpd).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version_out.stdout).trim(),
        format!("vrrpd {version}")
    );
}
