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
        /// Draw the run's timeline (states, adverts, pauses) as an SVG file.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Random topologies and fault schedules, one per seed, checked against invariants.
    Swarm {
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Where to write the pcap of a failing seed (default: swarm-SEED.pcap).
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Print each seed's plan and timeline.
        #[arg(long, short)]
        verbose: bool,
        /// Also draw unicast peer lists (single IPv4 VRID seeds; see DRAW_PEERS in swarm.rs).
        #[arg(long)]
        unicast: bool,
    },
    /// Simulated time over wall time: 3 routers at 10 ms adverts for an hour, and a swarm.
    Bench {
        /// Simulated seconds of the steady-state run.
        #[arg(long, default_value_t = 3600)]
        seconds: u64,
        #[arg(long, default_value_t = 1000)]
        seeds: u64,
    },
    /// Draw a trace's timeline as SVG: a lane per router, its states as the replay infers them.
    Plot {
        trace: PathBuf,
        #[arg(long, short)]
        output: PathBuf,
        /// pause/resume lines, as `replay --events` reads them: shaded on the paused router's
        /// lane.
        #[arg(long)]
        events: Option<PathBuf>,
        /// The title above the lanes (default: the trace's file name).
        #[arg(long)]
        title: Option<String>,
    },
    /// Put our core in one router's seat of a real trace and compare what it does.
    Replay {
        trace: PathBuf,
        /// The address the seat's router advertises from (IPv4, or IPv6 link-local).
        #[arg(long)]
        seat: std::net::IpAddr,
        /// pause/resume lines (`pause r1 <unix time>` or `pause r1 at <unix time>`) that freeze
        /// and thaw the seat; lines of other kinds are skipped.
        #[arg(long)]
        events: Option<PathBuf>,
        /// The seat's host name in the events file (inferred from the trace by default).
        #[arg(long)]
        name: Option<String>,
        /// One JSON object instead of the timeline.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 2.0)]
        tolerance_ms: f64,
        /// Seat config where it never advertised (or to override the trace).
        #[arg(long)]
        vrid: Option<u8>,
        #[arg(long)]
        priority: Option<u8>,
        #[arg(long)]
        interval_ms: Option<u32>,
        #[arg(long)]
        version: Option<u8>,
        #[arg(long)]
        vip: Vec<std::net::IpAddr>,
        /// Seconds after the first frame when the seat's daemon starts.
        #[arg(long)]
        startup: Option<f64>,
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
            plot,
        } => run(&file, seed, pcap.as_deref(), quiet, plot.as_deref()),
        Command::Plot {
            trace,
            output,
            events,
            title,
        } => plot(&trace, &output, events.as_deref(), title),
        Command::Swarm {
            seeds,
            from,
            pcap,
            verbose,
            unicast,
        } => swarm(from, seeds, pcap, verbose, unicast),
        Command::Bench { seconds, seeds } => bench(seconds, seeds),
        Command::Replay {
            trace,
            seat,
            events,
            name,
            json,
            tolerance_ms,
            vrid,
            priority,
            interval_ms,
            version,
            vip,
            startup,
        } => {
            let events = match events.map(std::fs::read_to_string).transpose() {
                Ok(e) => e,
                Err(e) => return fail(format_args!("events: {e}")),
            };
            let version = match version {
                None => None,
                Some(2) => Some(vrrp_core::wire::Version::V2),
                Some(3) => Some(vrrp_core::wire::Version::V3),
                Some(v) => return fail(format_args!("--version {v}: 2 or 3")),
            };
            let tolerance_us = (tolerance_ms * 1000.0).round() as u64;
            let opts = vrrp_sim::replay::Options {
                seat,
                events,
                name,
                tolerance_us,
                overrides: vrrp_sim::replay::Overrides {
                    vrid,
                    priority,
                    interval: interval_ms.map(|ms| (ms / 10) as u16),
                    version,
                    vips: vip,
                    startup,
                },
            };
            let report = match vrrp_sim::replay::replay_file(&trace, &opts) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&report).expect("a report always serializes")
                );
            } else {
                print!("{}", vrrp_sim::replay::render(&report, tolerance_us));
            }
            if report.verdict == "match" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
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
    plot: Option<&std::path::Path>,
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
    let out = vrrp_sim::run::run(&scenario, seed, pcap.is_some() || plot.is_some());
    println!("# {} seed {seed}", file.display());
    for line in timeline::render(&out.log, &out.names, !quiet) {
        println!("{line}");
    }
    if let Some(path) = pcap
        && let Err(e) = std::fs::write(path, &out.pcap)
    {
        return fail(format_args!("{}: {e}", path.display()));
    }
    if let Some(path) = plot {
        let title = format!("{} (seed {seed})", scenario.name);
        let drawn = vrrp_sim::plot::from_run(&scenario, &out, &title)
            .and_then(|tl| vrrp_sim::plot::svg(&tl))
            .and_then(|svg| std::fs::write(path, svg).map_err(|e| e.to_string()));
        if let Err(e) = drawn {
            return fail(format_args!("{}: {e}", path.display()));
        }
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

fn plot(
    trace: &std::path::Path,
    output: &std::path::Path,
    events: Option<&std::path::Path>,
    title: Option<String>,
) -> ExitCode {
    let events = match events.map(std::fs::read_to_string).transpose() {
        Ok(e) => e,
        Err(e) => return fail(format_args!("events: {e}")),
    };
    let frames = match std::fs::read(trace)
        .map_err(|e| e.to_string())
        .and_then(|b| vrrp_sim::pcap::read_trace(&b))
    {
        Ok(f) => f,
        Err(e) => return fail(format_args!("{}: {e}", trace.display())),
    };
    let title = title.unwrap_or_else(|| {
        trace
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned())
    });
    let tl = match vrrp_sim::plot::from_trace(&frames, events.as_deref(), &title) {
        Ok(t) => t,
        Err(e) => return fail(format_args!("{}: {e}", trace.display())),
    };
    for n in &tl.notes {
        eprintln!("vrrp-sim: {n}");
    }
    match vrrp_sim::plot::svg(&tl)
        .and_then(|s| std::fs::write(output, s).map_err(|e| e.to_string()))
    {
        Ok(()) => {
            println!(
                "{}: {} lanes, {:.3} s",
                output.display(),
                tl.lanes.len(),
                tl.end as f64 / 1e6
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(format_args!("{}: {e}", output.display())),
    }
}

fn swarm(from: u64, seeds: u64, pcap: Option<PathBuf>, verbose: bool, unicast: bool) -> ExitCode {
    use vrrp_sim::swarm;
    let started = std::time::Instant::now();
    let mut failed = 0;
    let mut simulated = 0;
    for seed in from..from + seeds {
        let draw = || swarm::Plan::draw_with(seed, swarm::DRAW_PEERS || unicast);
        let out = swarm::run_plan(draw(), false);
        simulated += out.simulated;
        if verbose {
            println!("{:?}", draw());
            for line in timeline::render(&out.log, &out.names, true) {
                println!("{line}");
            }
        }
        if out.violations.is_empty() {
            continue;
        }
        failed += 1;
        // Same seed, same run: record it again, this time with every frame.
        let again = swarm::run_plan(draw(), true);
        let path = pcap
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("swarm-{seed}.pcap")));
        let written = std::fs::write(&path, &again.pcap);
        println!("seed {seed} FAILED");
        for v in &out.violations {
            println!("  {v}");
        }
        match written {
            Ok(()) => println!("  pcap: {}", path.display()),
            Err(e) => println!("  pcap: {}: {e}", path.display()),
        }
        let repro = swarm::repro(seed);
        if unicast {
            println!("  repro: {repro} --unicast");
        } else {
            println!("  repro: {repro}");
        }
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "swarm: seeds {from}..{}: {} passed, {failed} failed ({:.1} s simulated in {:.2} s, {:.0} seeds/s)",
        from + seeds,
        seeds - failed,
        simulated as f64 / 1e6,
        wall,
        seeds as f64 / wall.max(1e-9)
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn bench(seconds: u64, seeds: u64) -> ExitCode {
    use vrrp_sim::bench;
    for log_adverts in [false, true] {
        let r = bench::steady(seconds * 1_000_000, log_adverts);
        println!(
            "steady: 3 routers, 10 ms adverts, {seconds} s simulated in {:.3} s wall = {:.0}x real time ({} frames, {:.2} M frames/s){}",
            r.wall,
            bench::ratio(r.simulated, r.wall),
            r.frames,
            r.frames as f64 / r.wall / 1e6,
            if log_adverts {
                ", timeline of every advert kept"
            } else {
                ""
            }
        );
    }
    let s = bench::swarm(seeds);
    println!(
        "swarm: {} seeds in {:.2} s wall = {:.0} seeds/s, {:.0} s simulated = {:.0}x real time, {} failed",
        s.seeds,
        s.wall,
        s.seeds as f64 / s.wall,
        s.simulated as f64 / 1e6,
        bench::ratio(s.simulated, s.wall),
        s.failed
    );
    ExitCode::SUCCESS
}
