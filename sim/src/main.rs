//! `vrrp-sim`: run scenarios, replay real traces, swarm-test, benchmark.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vrrp_sim::scenario::Scenario;
use vrrp_sim::timeline;

#[derive(Parser)]
#[command(name = "vrrp-sim", version, about = "Deterministic VRRP simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario file and check its expectations.
    Run {
        file: PathBuf,
        /// Overrides the scenario's `seed` line.
        #[arg(long)]
        seed: Option<u64>,
        /// Write every frame of the run to this pcap file.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Leave out lines that only send a periodic advert.
        #[arg(long, short)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            file,
            seed,
            pcap,
            quiet,
        } => run(&file, seed, pcap.as_deref(), quiet),
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("vrrp-sim: {msg}");
    ExitCode::from(2)
}

fn run(
    file: &std::path::Path,
    seed: Option<u64>,
    pcap: Option<&std::path::Path>,
    quiet: bool,
) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return fail(format_args!("{}: {e}", file.display())),
    };
    let scenario = match Scenario::parse(&text) {
        Ok(s) => s,
        Err(e) => return fail(format_args!("{}: {e}", file.display())),
    };
    let seed = seed.unwrap_or(scenario.seed);
    let out = vrrp_sim::run::run(&scenario, seed, pcap.is_some());
    println!("# {} seed {seed}", file.display());
    for line in timeline::render(&out.log, &out.names, !quiet) {
        println!("{line}");
    }
    if let Some(path) = pcap
        && let Err(e) = std::fs::write(path, &out.pcap)
    {
        return fail(format_args!("{}: {e}", path.display()));
    }
    let mut failed = 0;
    for c in &out.checks {
        match c {
            Ok(what) => println!("ok     {what}"),
            Err(what) => {
                failed += 1;
                println!("FAILED {what}");
            }
        }
    }
    println!(
        "{} frames, {} expectations, {failed} failed",
        out.frames,
        out.checks.len()
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
