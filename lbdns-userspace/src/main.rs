//! The `lbdns` command: `serve` runs the daemon, `check` validates zones and configuration,
//! `stats`, `status`, `reload`, `drain` and `undrain` talk to a running daemon.

mod cli;
mod serve;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use lbdns::config::{Overrides, Settings};
use lbdns::control::{self, Request};
use lbdns::served::{self, LoadError, Loaded};
use lbdns::systemd;

use cli::{Cli, Command, ControlArgs, ZoneArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Serve(mut args) => {
            let overrides = args.overrides();
            serve::run(args.zone, overrides)
        }
        Command::Stats(args) => ask(&args.control, Request::Stats(args.format())),
        Command::Status(args) => ask(&args.control, Request::Status(args.format())),
        Command::Reload(args) => ask(&args, Request::Reload),
        Command::Drain(args) => ask(&args.control, Request::Drain(args.address)),
        Command::Undrain(args) => ask(&args.control, Request::Undrain(args.address)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lbdns: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One line per event on stderr, or one journal entry per event, with the level as its
/// priority, when stderr is the journal; `RUST_LOG` picks the level (default `info`).
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let journal = systemd::journal::stderr_is_journal()
        .then(|| tracing_journald::layer().ok())
        .flatten();
    let registry = tracing_subscriber::registry().with(filter);
    match journal {
        Some(journal) => registry
            .with(journal.with_syslog_identifier("lbdns".to_owned()))
            .init(),
        None => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    // Colour codes only help a person at a terminal; log files get plain text.
                    .with_ansi(std::io::stderr().is_terminal()),
            )
            .init(),
    }
}

/// Combines the configuration file and the flags; the flags' zones join the file's.
pub(crate) fn settings(args: ZoneArgs, overrides: Overrides) -> Result<Settings, LoadError> {
    let overrides = Overrides {
        zones: args.zones,
        ..overrides
    };
    served::settings(args.config.as_deref(), overrides)
}

/// For start-up and `check`: every error on its own plain line (so editors and CI can jump
/// to `file:line`), then one summary error.
pub(crate) fn report(error: LoadError) -> anyhow::Error {
    let errors = error.messages();
    for error in &errors {
        eprintln!("{error}");
    }
    anyhow::anyhow!("{} error(s) in the configuration or zones", errors.len())
}

fn check(args: ZoneArgs) -> Result<()> {
    let settings = settings(args, Overrides::default()).map_err(report)?;
    let Loaded {
        zones,
        pools,
        secondaries,
        ..
    } = served::load(&settings).map_err(report)?;
    for zone in &zones {
        println!("{}: {} records, ok", zone.origin, zone.records.len());
    }
    for kept in &secondaries {
        match &kept.copy {
            Some((zone, state)) => println!(
                "{}: secondary, kept copy serial {}, {} records, ok",
                zone.origin,
                state.serial,
                zone.records.len()
            ),
            None => println!("{}: secondary, no usable kept copy, ok", kept.spec.origin),
        }
    }
    for pool in pools.pools() {
        println!(
            "pool {}: {} endpoints, ok",
            pool.owner,
            pool.endpoints.len()
        );
    }
    if !settings.geo.locations.is_empty() {
        println!(
            "geo: {} locations, {} IPv4 and {} IPv6 map entries, ok",
            settings.geo.locations.len(),
            settings.geo.map.entries(false).len(),
            settings.geo.map.entries(true).len()
        );
    }
    Ok(())
}

/// Sends one request to the running daemon and prints its reply.
fn ask(args: &ControlArgs, request: Request) -> Result<()> {
    let path = args
        .control
        .as_deref()
        .unwrap_or(Path::new(control::DEFAULT_PATH));
    print!("{}", control::ask(path, request)?);
    Ok(())
}
