//! `cargo xtask`: the one entry point for setting up, building, running and testing lbdns.
//!
//! lbdns is two programs built by two toolchains: the XDP program (nightly, `bpfel-unknown-none`,
//! linked by bpf-linker) and the userspace daemon (stable) that embeds it. This crate knows the
//! order and the flags, and installs what a fresh machine lacks, so every task is one command.

mod bench;
mod build;
mod cmd;
mod deb;
mod ebpf;
mod fuzz;
mod run;
mod setup;
mod test;
mod workspace;

use std::ffi::OsString;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::build::Profile;

#[derive(Debug, Parser)]
#[command(bin_name = "cargo xtask", about = "Set up, build, run and test lbdns.")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what every task needs (nightly rust-src, bpf-linker, cargo-deb, the Debian
    /// packages of the tests and benchmarks), skipping whatever is already in place. Each task
    /// installs its own part by itself.
    Setup,
    /// Build the XDP program and print the object's path. Always optimised: the verifier rejects
    /// unoptimised BPF.
    BuildEbpf,
    /// Build the `lbdns` binary with the XDP program embedded, and print its path.
    Build {
        /// Build the userspace daemon with the release profile.
        #[arg(long)]
        release: bool,
    },
    /// Build, then serve zones/example.com.zone on port 5353 of the loopback addresses.
    Run {
        /// Build the userspace daemon with the release profile.
        #[arg(long)]
        release: bool,
        /// Extra arguments for `lbdns serve`, after `--`.
        #[arg(last = true)]
        args: Vec<OsString>,
    },
    /// Build the Debian package (release binary, man pages, completions, unit, configuration)
    /// with cargo-deb, and print its path.
    Deb,
    /// Check formatting, build, run clippy on everything and run every test, the privileged
    /// suites and the package's too: what CI runs (as root).
    Test,
    /// Run one fuzz target (tests/fuzz/targets) for a while with cargo-fuzz on the nightly
    /// toolchain, from its seeds; without a target, list them. Not part of `test`, which
    /// replays the seeds only. The xdp target needs root.
    Fuzz {
        /// The target to run.
        target: Option<String>,
        /// How long to run it, in seconds.
        #[arg(long, default_value_t = 60)]
        secs: u64,
        /// Extra libFuzzer flags, after `--` (e.g. `-fork=1 -ignore_crashes=1` to go on past
        /// a crash and collect every one).
        #[arg(last = true)]
        libfuzzer: Vec<OsString>,
    },
    /// Measure lbdns against the ceiling, NSD, Knot and gdnsd with kxdpgun and dnsperf (root;
    /// about 12 minutes with the defaults). Not part of `test`.
    Bench(bench::Args),
    /// Restart lbdns serving the 1,000,000-name zone a few times under dnsperf load, as systemd
    /// restarts it, and print how many hot queries were lost (root). Not part of `test`.
    BenchRestart(bench::restart::Args),
    /// Measure what a change costs lbdns at a million names (a health flip, a drain, a reload
    /// of one changed name: time, map entries written, peak memory) against NSD's memory for
    /// the same zone (root; a few minutes). Not part of `test`.
    BenchChange(bench::change::Args),
    /// Measure response rate limiting: its ns/packet in XDP with nobody limited, what a
    /// well-behaved client gets during a spoofed flood, the amplification factor under a flood
    /// (root; about a minute). Not part of `test`.
    BenchRrl(bench::rrl::Args),
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Setup => setup::all(),
        Task::BuildEbpf => {
            setup::toolchain()?;
            let object = ebpf::build()?;
            println!("{}", object.display());
            Ok(())
        }
        Task::Build { release } => {
            setup::toolchain()?;
            let binary = build::lbdns(Profile::from_release_flag(release))?;
            println!("{}", binary.display());
            Ok(())
        }
        Task::Run { release, args } => {
            setup::toolchain()?;
            run::serve_example_zone(Profile::from_release_flag(release), &args)
        }
        Task::Deb => {
            setup::packaging()?;
            println!("{}", deb::build()?.display());
            Ok(())
        }
        Task::Test => {
            setup::test_tools()?;
            test::all()
        }
        Task::Fuzz {
            target,
            secs,
            libfuzzer,
        } => {
            setup::fuzzing()?;
            fuzz::run(target.as_deref(), secs, &libfuzzer)
        }
        Task::Bench(args) => {
            setup::bench_tools()?;
            bench::run(args)
        }
        Task::BenchRestart(args) => {
            setup::bench_tools()?;
            bench::restart::run(args)
        }
        Task::BenchChange(args) => {
            setup::bench_tools()?;
            bench::change::run(args)
        }
        Task::BenchRrl(args) => {
            setup::bench_tools()?;
            bench::rrl::run(args)
        }
    }
}
