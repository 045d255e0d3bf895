//! The `lbdns` command: `serve` runs the daemon, `check` validates zones and configuration,
//! `stats`, `status`, `drain` and `undrain` talk to a running daemon.

mod cli;
mod serve;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use lbdns::authority::Catalog;
use lbdns::balance::{self, CatalogZones};
use lbdns::config::{Overrides, Settings};
use lbdns::control::{self, Request};
use lbdns::pool::{self, PoolSet};
use lbdns::zone::{self, Zone};

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
        Command::Stats(args) => ask(&args, Request::Stats),
        Command::Status(args) => ask(&args, Request::Status),
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

/// Combines the configuration file and the flags. Errors come back as `file:line: message`
/// lines, so each caller can show them its own way (plain lines, or log lines on reload).
pub(crate) fn settings(args: ZoneArgs, overrides: Overrides) -> Result<Settings, Vec<String>> {
    let overrides = Overrides {
        zones: args.zones,
        ..overrides
    };
    let settings =
        Settings::new(args.config.as_deref(), overrides).map_err(|e| vec![e.to_string()])?;
    if settings.zones.is_empty() {
        return Err(vec![
            "no zones to serve: give --zone FILE or [[zone]] in --config".to_owned(),
        ]);
    }
    Ok(settings)
}

/// For start-up and `check`: every error on its own plain line (so editors and CI can jump
/// to `file:line`), then one summary error.
pub(crate) fn report(errors: Vec<String>) -> anyhow::Error {
    for error in &errors {
        eprintln!("{error}");
    }
    anyhow::anyhow!("{} error(s) in the configuration or zones", errors.len())
}

/// Signatures named one by one in the expiry warnings of a zone.
const MAX_EXPIRY_WARNINGS: usize = 10;

/// Loads every zone, builds the catalog, and checks the pools against it; logs zone warnings.
/// On failure returns every `file:line: message` error, so each caller can show them its own
/// way.
pub(crate) fn load_catalog(
    settings: &Settings,
) -> Result<(Catalog, Vec<Zone>, PoolSet), Vec<String>> {
    let zones = zone::load_all(&settings.zones).map_err(|errors| {
        errors
            .iter()
            .flat_map(zone::ZoneErrors::messages)
            .collect::<Vec<_>>()
    })?;
    for warning in zones.iter().flat_map(|z| &z.warnings) {
        tracing::warn!("{warning}");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let window = settings.expiry_warning.as_secs();
    // A zone near expiry has a signature on every RRset: name a few, count the rest.
    for zone in &zones {
        let expiring = zone::dnssec::expiring(zone, now, window);
        for warning in expiring.iter().take(MAX_EXPIRY_WARNINGS) {
            tracing::warn!("{warning}");
        }
        if let Some(more) = expiring.len().checked_sub(MAX_EXPIRY_WARNINGS + 1) {
            tracing::warn!(
                "zone {}: {} more signatures expire within the warning window",
                zone.origin,
                more + 1
            );
        }
    }
    let catalog = Catalog::new(&zones).map_err(|e| vec![e.to_string()])?;
    let pools = match &settings.source {
        Some(text) => pool::validate(&settings.pools, text.source(), &CatalogZones(&catalog))
            .map_err(|e| vec![e.to_string()])?,
        None => Vec::new(),
    };
    let catalog = catalog
        .with_pool_owners(pools.iter().map(|p| p.owner.clone()))
        .with_identity(settings.identity.clone());
    let pools = PoolSet::new(pools);
    catalog.set_pools(balance::answers(&pools));
    Ok((catalog, zones, pools))
}

pub(crate) fn catalog_or_report(settings: &Settings) -> Result<(Catalog, Vec<Zone>, PoolSet)> {
    load_catalog(settings).map_err(report)
}

fn check(args: ZoneArgs) -> Result<()> {
    let settings = settings(args, Overrides::default()).map_err(report)?;
    let (_, zones, pools) = catalog_or_report(&settings)?;
    for zone in &zones {
        println!("{}: {} records, ok", zone.origin, zone.records.len());
    }
    for pool in pools.pools() {
        println!(
            "pool {}: {} endpoints, ok",
            pool.owner,
            pool.endpoints.len()
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
