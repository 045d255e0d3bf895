//! The `lbdns` command: `serve` runs the daemon, `check` validates zones and configuration.

pub mod ebpf_object;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use clap::{Args, Parser, Subcommand};
use tokio::signal::unix::{signal, SignalKind};

use lbdns::authority::Catalog;
use lbdns::config::{Overrides, Settings};
use lbdns::zone::{self, Zone, ZoneSpec};

/// XDP-accelerated authoritative DNS for load balancing.
#[derive(Debug, Parser)]
#[command(name = "lbdns", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the zones authoritatively over UDP and TCP. SIGHUP reloads the zones; a reload
    /// that fails keeps the zones already being served.
    Serve(ServeArgs),
    /// Validate zones and configuration; print `file:line: message` for each error.
    Check(CommonArgs),
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// Zone file to load, as FILE or ORIGIN=FILE (e.g. example.com.=db.example). Repeatable.
    #[arg(long = "zone", value_name = "[ORIGIN=]FILE")]
    zones: Vec<ZoneSpec>,
    /// TOML configuration file; flags add zones to it and replace its listen addresses.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to answer on, over UDP and TCP. Repeatable. Default: 0.0.0.0:53 and [::]:53.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Vec<SocketAddr>,
    /// Close TCP connections idle for this many seconds [default: 10].
    #[arg(long, value_name = "SECS")]
    tcp_idle_timeout: Option<u64>,
    /// Most concurrent TCP connections; further ones are closed at once [default: 512].
    #[arg(long, value_name = "N")]
    tcp_max_connections: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Serve(args) => serve(args),
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
        .init();
}

fn settings(common: CommonArgs, overrides: Overrides) -> Result<Settings> {
    let overrides = Overrides {
        zones: common.zones,
        ..overrides
    };
    let settings = Settings::new(common.config.as_deref(), overrides)?;
    if settings.zones.is_empty() {
        anyhow::bail!("no zones to serve: give --zone FILE or [[zone]] in --config");
    }
    Ok(settings)
}

/// Loads every zone, printing each error as `file:line: message` and each warning as a log line.
fn load(specs: &[ZoneSpec]) -> Result<Vec<Zone>> {
    match zone::load_all(specs) {
        Ok(zones) => {
            for warning in zones.iter().flat_map(|z| &z.warnings) {
                tracing::warn!("{warning}");
            }
            Ok(zones)
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("{error}");
            }
            anyhow::bail!("{} zone file(s) have errors", errors.len())
        }
    }
}

fn catalog(specs: &[ZoneSpec]) -> Result<Catalog> {
    let zones = load(specs)?;
    Ok(Catalog::new(&zones)?)
}

fn check(args: CommonArgs) -> Result<()> {
    let settings = settings(args, Overrides::default())?;
    let zones = load(&settings.zones)?;
    Catalog::new(&zones)?;
    for zone in &zones {
        println!("{}: {} records, ok", zone.origin, zone.records.len());
    }
    Ok(())
}

fn serve(args: ServeArgs) -> Result<()> {
    let overrides = Overrides {
        listen: args.listen,
        tcp_idle_timeout_secs: args.tcp_idle_timeout,
        tcp_max_connections: args.tcp_max_connections,
        ..Overrides::default()
    };
    let settings = settings(args.common, overrides)?;
    let catalog = Arc::new(ArcSwap::from_pointee(catalog(&settings.zones)?));
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let tasks = lbdns::server::start(&catalog, &settings.listen, settings.tcp)?;
        tracing::info!(zones = settings.zones.len(), "lbdns serving");
        let mut hangup = signal(SignalKind::hangup()).context("cannot install SIGHUP handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
        let mut interrupt =
            signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
        loop {
            tokio::select! {
                _ = hangup.recv() => reload(&catalog, &settings.zones),
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
            }
        }
        tracing::info!("shutting down");
        drop(tasks);
        Ok(())
    })
}

/// Swaps in freshly loaded zones, or keeps serving the old ones if any file is broken.
fn reload(current: &ArcSwap<Catalog>, specs: &[ZoneSpec]) {
    match catalog(specs) {
        Ok(fresh) => {
            current.store(Arc::new(fresh));
            tracing::info!("zones reloaded");
        }
        Err(error) => tracing::error!("reload failed, still serving the previous zones: {error:#}"),
    }
}
