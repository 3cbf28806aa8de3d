//! `vrrpd-gen DIR`: vrrpd's man pages and shell completions, generated from its clap command.
//!
//! Writes `DIR/man/vrrpd.8` and one `vrrpd-SUBCOMMAND.8` per subcommand (section 8: vrrpd is
//! a system daemon in /usr/sbin), and `DIR/completions/{vrrpd.bash,_vrrpd,vrrpd.fish}`. The
//! generated files are committed under `host/packaging/`, where the Debian package takes them
//! from; a test regenerates them and fails when they differ from the command line:
//!
//! ```text
//! cargo run -p vrrp-host --bin vrrpd-gen -- host/packaging
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;
use vrrp_host::cli::Cli;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: vrrpd-gen DIR");
        return ExitCode::from(2);
    };
    match generate(&PathBuf::from(dir)) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vrrpd-gen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let man = dir.join("man");
    std::fs::create_dir_all(&man)?;
    // `help` is clap's, not ours: no page for it.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Sets the subcommands' display names (`vrrpd-run`), which name their pages.
    cmd.build();
    let mut pages = vec![cmd.clone()];
    pages.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    for page in pages {
        let page = clap_mangen::Man::new(page)
            .section("8")
            .manual("System Manager's Manual")
            .source(format!("vrrpd {}", env!("CARGO_PKG_VERSION")));
        written.push(page.generate_to(&man)?);
    }
    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = Cli::command();
        written.push(clap_complete::generate_to(
            shell,
            &mut cmd,
            "vrrpd",
            &completions,
        )?);
    }
    Ok(written)
}
