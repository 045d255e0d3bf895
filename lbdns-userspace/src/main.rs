//! The `lbdns` command: `serve` runs the daemon, `check` validates zones and configuration,
//! `stats` asks a running daemon for its counters.

mod cli;
mod serve;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use lbdns::authority::Catalog;
use lbdns::config::{Overrides, Settings};
use lbdns::control::{self, Request};
use lbdns::zone::{self, Zone, ZoneSpec};

use cli::{Cli, Command, ControlArgs, ZoneArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Serve(mut args) => {
            let overrides = args.overrides();
            settings(args.zone, overrides).and_then(serve::run)
        }
        Command::Stats(args) => stats(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lbdns: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One line per event on stderr; `RUST_LOG` picks the level (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only help a person at a terminal; journald and log files get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn settings(args: ZoneArgs, overrides: Overrides) -> Result<Settings> {
    let overrides = Overrides {
        zones: args.zones,
        ..overrides
    };
    let settings = Settings::new(args.config.as_deref(), overrides)?;
    if settings.zones.is_empty() {
        anyhow::bail!("no zones to serve: give --zone FILE or [[zone]] in --config");
    }
    Ok(settings)
}

/// Loads every zone and builds the catalog; logs zone warnings. On failure returns every
/// `file:line: message` error, so each caller can show them its own way.
pub(crate) fn load_catalog(specs: &[ZoneSpec]) -> Result<(Catalog, Vec<Zone>), Vec<String>> {
    let zones = zone::load_all(specs)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    for warning in zones.iter().flat_map(|z| &z.warnings) {
        tracing::warn!("{warning}");
    }
    let catalog = Catalog::new(&zones).map_err(|e| vec![e.to_string()])?;
    Ok((catalog, zones))
}

/// For start-up and `check`: every error on its own plain line, then one summary error.
pub(crate) fn catalog_or_report(specs: &[ZoneSpec]) -> Result<(Catalog, Vec<Zone>)> {
    load_catalog(specs).map_err(|errors| {
        for error in &errors {
            eprintln!("{error}");
        }
        anyhow::anyhow!("{} error(s) in the zones", errors.len())
    })
}

fn check(args: ZoneArgs) -> Result<()> {
    let settings = settings(args, Overrides::default())?;
    let (_, zones) = catalog_or_report(&settings.zones)?;
    for zone in &zones {
        println!("{}: {} records, ok", zone.origin, zone.records.len());
    }
    Ok(())
}

fn stats(args: &ControlArgs) -> Result<()> {
    let path = args
        .control
        .as_deref()
        .unwrap_or(Path::new(control::DEFAULT_PATH));
    print!("{}", control::ask(path, Request::Stats)?);
    Ok(())
}
