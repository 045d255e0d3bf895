//! The daemon: loads the zones and pools, fills and attaches the XDP fast path, runs the socket
//! server, the health checker and the control socket, and reacts to health changes, control
//! requests and signals until told to stop.

use std::fmt;
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex, MutexGuard, Weak,
};

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use serde_json::{json, Value};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use lbdns::authority::Catalog;
use lbdns::config::{Overrides, Settings, XdpSettings};
use lbdns::control::{self, Format, Request};
use lbdns::health::{Checker, HealthChange};
use lbdns::maps::{MapError, MapWriter};
use lbdns::metrics::{self, Metrics};
use lbdns::pool::PoolSet;
use lbdns::privilege;
use lbdns::systemd::Notifier;
use lbdns::xdp::sizing::{self, Need};
use lbdns::xdp::{FastPath, XdpConfig};
use lbdns::{balance, compile, ebpf_object};

use crate::cli::ZoneArgs;

/// The XDP program and the writer of its maps, kept together for the daemon's lifetime.
struct Xdp {
    fast: FastPath,
    writer: MapWriter,
}

impl Xdp {
    /// Starts loading the program (creating its maps and running the verifier) on a thread of
    /// its own: with large maps that takes seconds, as does reading large zones, and neither
    /// needs the other once the sizes are known (`xdp::sizing`).
    fn load(config: XdpConfig) -> std::thread::JoinHandle<Result<FastPath>> {
        tracing::info!(
            a_slots = config.a_slots,
            aaaa_slots = config.aaaa_slots,
            rrset_entries = config.rrset_entries,
            name_bytes = config.name_bytes,
            signature_entries = config.signature_entries,
            "XDP map sizes"
        );
        std::thread::spawn(move || {
            FastPath::load(ebpf_object::PROGRAM, &config).context("cannot load the XDP program")
        })
    }

    /// Fills the maps of the loaded program from `catalog`, then attaches it: maps first, so
    /// the program never runs with maps that lag behind the socket path.
    fn start(mut fast: FastPath, settings: &XdpSettings, catalog: &Catalog) -> Result<Self> {
        let started = std::time::Instant::now();
        let writer = fast.map_writer().context("cannot open the XDP maps")?;
        let mut xdp = Self { fast, writer };
        xdp.publish(catalog)?;
        // The image of every hot RRset, and its copies on the way, are gone.
        release_freed_memory();
        for interface in &settings.interfaces {
            let mode = xdp
                .fast
                .attach(interface, settings.mode)
                .with_context(|| format!("cannot attach XDP to {interface}"))?;
            tracing::info!(%interface, %mode, port = settings.dns_port, "XDP fast path attached");
        }
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "XDP fast path ready"
        );
        Ok(xdp)
    }

    /// Makes the maps answer exactly what `catalog` answers directly.
    fn publish(&mut self, catalog: &Catalog) -> Result<()> {
        let compiled = compile::compile(&compile::hot_rrsets(catalog))
            .context("cannot compile the zones for XDP")?;
        for skipped in &compiled.skipped {
            tracing::info!(rrset = ?skipped.id, reason = ?skipped.reason, "left to the socket path");
        }
        for rrset in &compiled.signatures_too_large {
            tracing::info!(
                ?rrset,
                "RRSIGs larger than the XDP signature store: DO=1 queries left to the socket path"
            );
        }
        let report = self.writer.publish(&compiled.image).map_err(|error| {
            let outgrown = matches!(error, MapError::Full(_) | MapError::NameTableFull)
                .then(|| sizing::outgrown(self.fast.config(), &Need::of(&compiled.image)));
            match outgrown {
                Some(outgrown) => anyhow::Error::new(error)
                    .context(format!("the XDP maps are too small: {outgrown}")),
                None => anyhow::Error::new(error).context("cannot write the XDP maps"),
            }
        })?;
        self.writer
            .publish_nsid(compile::nsid(catalog.identity()).as_ref())
            .context("cannot write the XDP program's NSID")?;
        tracing::debug!(
            written = report.written,
            removed = report.removed,
            unchanged = report.unchanged,
            grace_period = report.waited,
            "XDP maps published"
        );
        Ok(())
    }

    /// The counters as `name value` lines, for `lbdns stats` and the exit log.
    fn stats(&self) -> String {
        let mut out = String::new();
        match self.fast.counters() {
            Ok(counters) => {
                for (counter, total) in counters.iter() {
                    out.push_str(&format!("{} {total}\n", counter.name()));
                }
            }
            Err(error) => out.push_str(&format!("error: {error}\n")),
        }
        if let Ok(stats) = self.fast.stats() {
            if stats.run_count > 0 {
                let ns = stats.run_time.as_nanos() / u128::from(stats.run_count);
                out.push_str(&format!("ns_per_packet {ns}\n"));
            }
        }
        out
    }

    /// The counters for `--json`: `counters` by name, and `ns_per_packet` when the kernel
    /// measures run time.
    fn stats_json(&self) -> Value {
        let counters = match self.fast.counters() {
            Ok(counters) => counters
                .iter()
                .map(|(counter, total)| (counter.name().to_owned(), total.into()))
                .collect::<serde_json::Map<_, _>>(),
            Err(error) => return json!({ "state": "running", "error": error.to_string() }),
        };
        let ns_per_packet = self.fast.stats().ok().and_then(|stats| {
            (stats.run_count > 0)
                .then(|| stats.run_time.as_nanos() / u128::from(stats.run_count))
                .and_then(|ns| u64::try_from(ns).ok())
        });
        json!({ "state": "running", "counters": counters, "ns_per_packet": ns_per_packet })
    }
}

/// What a reload put into service, as `lbdns reload` prints it.
#[derive(Debug)]
struct Reloaded {
    zones: Vec<metrics::zones::ZoneLoad>,
    pools: usize,
}

impl fmt::Display for Reloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "reloaded {} zone(s) and {} pool(s)",
            self.zones.len(),
            self.pools
        )?;
        for zone in &self.zones {
            writeln!(
                f,
                "{}: serial {}, {} records",
                zone.zone, zone.serial, zone.records
            )?;
        }
        Ok(())
    }
}

/// A reload that changed nothing: every `file:line: message` error that stopped it.
#[derive(Debug, thiserror::Error)]
#[error("reload failed, still serving the previous zones and pools")]
struct ReloadFailed {
    errors: Vec<String>,
}

/// Everything that changes while the daemon runs, shared by the signal loop, the health task
/// and the control socket. Lock order: `pools`, then `xdp`.
struct Daemon {
    catalog: Arc<ArcSwap<Catalog>>,
    pools: Mutex<PoolSet>,
    xdp: Mutex<Option<Xdp>>,
    /// Set while the fast path fills its maps with the XDP lock held, for seconds with a
    /// million names: `lbdns stats` and `status` say so instead of waiting for the lock.
    xdp_starting: AtomicBool,
    checker: Mutex<Checker>,
    metrics: Arc<Metrics>,
    /// Where the zones and configuration come from, read again on each reload.
    zone_args: ZoneArgs,
    overrides: Overrides,
    /// Held for a whole reload: SIGHUP and `lbdns reload` may ask at once, and each caller
    /// must get the result of the reload it asked for.
    reloading: Mutex<()>,
    notifier: Notifier,
}

impl Daemon {
    /// Recomputes the pool answers from `pools` and applies them to both paths: the socket
    /// path at once, the XDP maps next (only changed answer sets are rewritten). If the maps
    /// cannot be written, XDP is detached, so the socket path (always right) answers alone.
    fn apply(&self, pools: &PoolSet) {
        let catalog = self.catalog.load();
        catalog.set_pools(balance::answers(pools));
        self.republish(&catalog);
    }

    fn republish(&self, catalog: &Catalog) {
        let mut xdp = lock(&self.xdp);
        if let Some(fast) = xdp.as_mut() {
            match fast.publish(catalog) {
                Ok(()) => self.metrics.xdp_published(fast.writer.fill()),
                Err(error) => {
                    tracing::error!("{error:#}; detaching XDP, the socket path answers everything");
                    self.metrics.xdp_stopped();
                    *xdp = None;
                }
            }
        }
    }

    /// Fills the maps of the loaded fast path from the catalog now in force and attaches it.
    /// Holds the XDP lock throughout, so a health change or reload meanwhile waits and then
    /// publishes on top: the maps never miss a change.
    fn start_xdp(&self, fast: FastPath, settings: &XdpSettings) -> Result<()> {
        let mut xdp = lock(&self.xdp);
        let started = Xdp::start(fast, settings, &self.catalog.load());
        self.xdp_starting.store(false, Ordering::Relaxed);
        let started = started?;
        self.metrics
            .xdp_started(started.fast.counter_map(), started.writer.fill());
        *xdp = Some(started);
        self.notifier.status(&format!(
            "XDP fast path ready on {}",
            settings.interfaces.join(", ")
        ));
        Ok(())
    }

    fn health_changed(&self, change: &HealthChange) {
        let mut pools = lock(&self.pools);
        if !pools.set_health(&change.target, change.up).is_empty() {
            self.apply(&pools);
        }
    }

    /// The fast path's state and counters, for `--json` replies.
    fn xdp_json(&self) -> Value {
        if self.xdp_starting.load(Ordering::Relaxed) {
            return json!({ "state": "starting" });
        }
        match &*lock(&self.xdp) {
            Some(xdp) => xdp.stats_json(),
            None => json!({ "state": "off" }),
        }
    }

    fn answer(&self, request: Request) -> String {
        match request {
            Request::Stats(Format::Json) => {
                let stats = json!({
                    "socket": self.metrics.socket_stats_json(),
                    "xdp": self.xdp_json(),
                });
                format!("{stats}\n")
            }
            Request::Status(Format::Json) => {
                let health = lock(&self.checker).snapshot();
                let mut status = balance::status_json(&lock(&self.pools), &health);
                status["xdp"] = self.xdp_json();
                format!("{status}\n")
            }
            Request::Reload => match self.reload() {
                Ok(reloaded) => reloaded.to_string(),
                Err(failed) => {
                    let mut out = format!("error: {failed}\n");
                    for error in &failed.errors {
                        out.push_str(&format!("{error}\n"));
                    }
                    out
                }
            },
            Request::Stats(Format::Text) => {
                let mut out = self.metrics.socket_stats();
                if self.xdp_starting.load(Ordering::Relaxed) {
                    out.push_str("xdp starting: its maps are being filled\n");
                } else {
                    match &*lock(&self.xdp) {
                        Some(xdp) => out.push_str(&xdp.stats()),
                        None => out.push_str("xdp off (serve --xdp IFACE)\n"),
                    }
                }
                out
            }
            Request::Status(Format::Text) => {
                let health = lock(&self.checker).snapshot();
                let mut out = balance::status(&lock(&self.pools), &health);
                if self.xdp_starting.load(Ordering::Relaxed) {
                    out.push_str("xdp\n  starting: its maps are being filled\n");
                } else if let Some(xdp) = &*lock(&self.xdp) {
                    out.push_str("xdp\n");
                    for line in xdp.stats().lines() {
                        out.push_str(&format!("  {line}\n"));
                    }
                }
                out
            }
            Request::Drain(address) | Request::Undrain(address) => {
                let drain = matches!(request, Request::Drain(_));
                let mut pools = lock(&self.pools);
                match pools.set_drained(address, drain) {
                    Err(error) => format!("error: {error}\n"),
                    Ok(changed) => {
                        if !changed.is_empty() {
                            self.apply(&pools);
                        }
                        let verb = if drain { "drained" } else { "undrained" };
                        tracing::info!(%address, "{verb} by control request");
                        format!("{address} {verb} in {} pool(s)\n", changed.len())
                    }
                }
            }
        }
    }

    /// The one reload, for SIGHUP and `lbdns reload` alike: logs its outcome, tells systemd,
    /// and returns it. Holds `reloading` throughout, so reloads never interleave.
    fn reload(&self) -> Result<Reloaded, ReloadFailed> {
        let _one_at_a_time = lock(&self.reloading);
        self.notifier.reloading();
        let result = self.load_and_swap();
        match &result {
            Ok(reloaded) => {
                tracing::info!(
                    zones = reloaded.zones.len(),
                    pools = reloaded.pools,
                    "zones and pools reloaded"
                );
                self.notifier.reloaded(&format!(
                    "serving {} zone(s), reloaded",
                    reloaded.zones.len()
                ));
            }
            Err(failed) => {
                for error in &failed.errors {
                    tracing::error!("{error}");
                }
                tracing::error!("{failed}");
                self.notifier
                    .reloaded("last reload failed, serving the previous zones");
            }
        }
        result
    }

    /// Loads zones and pools again and swaps them in; health and drains carry over. On any
    /// error the daemon keeps serving what it had.
    fn load_and_swap(&self) -> Result<Reloaded, ReloadFailed> {
        let loaded = crate::settings(self.zone_args.clone(), self.overrides.clone())
            .and_then(|settings| crate::load_catalog(&settings));
        let (fresh, zones, mut fresh_pools) = match loaded {
            Ok(loaded) => loaded,
            Err(errors) => {
                self.metrics.zones_failed();
                return Err(ReloadFailed { errors });
            }
        };
        self.metrics.zones_loaded(&zones);
        let reloaded = Reloaded {
            zones: metrics::zones::loaded(&zones, std::time::SystemTime::now()),
            pools: fresh_pools.pools().len(),
        };
        drop(zones);
        let mut pools = lock(&self.pools);
        let mut checker = lock(&self.checker);
        checker.set_targets(fresh_pools.targets());
        for status in checker.snapshot() {
            fresh_pools.set_health(&status.target, status.up);
        }
        for address in pools.drained() {
            // An address the new configuration no longer has stays gone.
            let _ = fresh_pools.set_drained(address, true);
        }
        fresh.set_pools(balance::answers(&fresh_pools));
        // XDP first: it serves the new data before the socket path does, never after.
        self.republish(&fresh);
        let previous = self.catalog.swap(Arc::new(fresh));
        *pools = fresh_pools;
        // Queries still holding the old catalog keep it alive; trim once it is gone here.
        drop(previous);
        release_freed_memory();
        Ok(reloaded)
    }
}

/// Gives freed heap pages back to the system once the zones' text and records are dropped.
/// Catalogs are built while larger temporaries live (at start-up the parsed records, on reload
/// also the old catalog), and glibc keeps their pages once they are freed: measured on a
/// 1,000,000-name zone, resident memory went from 1.05 GB to 1.88 GB after one reload without
/// this and stayed level with it; at start-up it trims about 50 MB, after the first XDP
/// publish about 340 MB.
fn release_freed_memory() {
    // SAFETY: malloc_trim only walks glibc's own free lists; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Every pool endpoint's state, for a scrape. Lock order as in `Daemon`: pools, then checker.
fn endpoint_samples(daemon: &Weak<Daemon>) -> Vec<metrics::pools::EndpointSample> {
    let Some(daemon) = daemon.upgrade() else {
        return Vec::new();
    };
    let pools = lock(&daemon.pools);
    let health = lock(&daemon.checker).snapshot();
    metrics::pools::endpoints(&pools, &health)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these is a bug already reported; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(zone: ZoneArgs, overrides: Overrides) -> Result<()> {
    let notifier = Notifier::from_env();
    let settings: Settings =
        crate::settings(zone.clone(), overrides.clone()).map_err(crate::report)?;
    // Before the first thread: each thread copies the capabilities of the one that made it.
    privilege::drop_unused()?.check(&settings)?;
    // Map sizes are fixed at load: with every one set, load while the zones are read;
    // otherwise after, sized from them.
    let early = settings.xdp.sizes.complete(settings.xdp.dns_port);
    let loading = (!settings.xdp.interfaces.is_empty()).then(|| early.map(Xdp::load));
    let (catalog, zones, pools) = crate::catalog_or_report(&settings)?;
    let metrics = Arc::new(Metrics::default());
    metrics.zones_loaded(&zones);
    drop(zones);
    release_freed_memory();
    // A missing privilege, a verifier rejection or a mistyped interface stops start-up before
    // any port is bound.
    let fast = match loading {
        None => None,
        Some(loading) => {
            let loading = match loading {
                Some(loading) => loading,
                None => Xdp::load(
                    sizing::for_catalog(&catalog, &settings.xdp.sizes, settings.xdp.dns_port)
                        .context("cannot compile the zones for XDP")?,
                ),
            };
            let fast = loading
                .join()
                .map_err(|_| anyhow::anyhow!("the XDP loading thread panicked"))??;
            for interface in &settings.xdp.interfaces {
                FastPath::check_interface(interface)
                    .with_context(|| format!("cannot attach XDP to {interface}"))?;
            }
            Some(fast)
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let daemon = runtime.block_on(async {
        let (changes, mut changed) = mpsc::unbounded_channel();
        let daemon = Arc::new(Daemon {
            catalog: Arc::new(ArcSwap::from_pointee(catalog)),
            checker: Mutex::new(Checker::start(pools.targets(), changes)),
            pools: Mutex::new(pools),
            xdp: Mutex::new(None),
            xdp_starting: AtomicBool::new(fast.is_some()),
            metrics,
            zone_args: zone,
            overrides,
            reloading: Mutex::new(()),
            notifier,
        });
        let metrics_task = match settings.metrics {
            None => None,
            Some(address) => {
                let listener = metrics::bind(address)?;
                let reading = Arc::downgrade(&daemon);
                daemon
                    .metrics
                    .set_endpoints(move || endpoint_samples(&reading));
                tracing::info!(%address, "serving metrics at /metrics");
                Some(tokio::spawn(metrics::serve(
                    listener,
                    daemon.metrics.clone(),
                )))
            }
        };
        let _sockets = lbdns::server::start(
            &daemon.catalog,
            &settings.listen,
            settings.tcp,
            &daemon.metrics.socket,
        )?;
        let listener = control::bind(&settings.control).with_context(|| {
            format!(
                "cannot create the control socket {}",
                settings.control.display()
            )
        })?;
        let answering = daemon.clone();
        let control_task = tokio::spawn(control::serve(listener, move |request| {
            answering.answer(request)
        }));
        // Applying a verdict writes maps and may wait for a grace period: a thread of its own,
        // so neither the health probes nor the TCP listeners wait behind it.
        let listening = daemon.clone();
        std::thread::Builder::new()
            .name("health changes".to_owned())
            .spawn(move || {
                while let Some(change) = changed.blocking_recv() {
                    listening.health_changed(&change);
                }
            })
            .context("cannot start the health-change thread")?;
        // Installed before readiness: systemd may send SIGHUP as soon as it is told, and
        // SIGHUP's default action ends the process.
        let mut hangup = signal(SignalKind::hangup()).context("cannot install SIGHUP handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
        let mut interrupt =
            signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
        tracing::info!(zones = settings.zones.len(), "lbdns serving");
        // The socket path and the control socket answer: systemd may go on. Readiness comes
        // before the fast path's own status line, so it is sent before that can start.
        let xdp_state = if fast.is_some() {
            "; XDP fast path filling its maps"
        } else {
            ""
        };
        daemon.notifier.ready(&format!(
            "serving {} zone(s){xdp_state}",
            settings.zones.len()
        ));
        // The socket path answers everything from here on. Filling the maps takes seconds for
        // a million names, so the fast path joins when they are full; if it cannot, the daemon
        // stops, as it would have at start-up.
        let (xdp_failed, mut xdp_failure) = mpsc::unbounded_channel();
        if let Some(fast) = fast {
            let filling = daemon.clone();
            let xdp_settings = settings.xdp.clone();
            std::thread::Builder::new()
                .name("xdp start".to_owned())
                .spawn(move || {
                    if let Err(error) = filling.start_xdp(fast, &xdp_settings) {
                        let _ = xdp_failed.send(error);
                    }
                })
                .context("cannot start the XDP start-up thread")?;
        }
        let failure = loop {
            tokio::select! {
                // `reload` logs its outcome; SIGHUP has no one else to tell.
                _ = hangup.recv() => drop(daemon.reload()),
                _ = terminate.recv() => break None,
                _ = interrupt.recv() => break None,
                Some(error) = xdp_failure.recv() => break Some(error),
            }
        };
        daemon.notifier.stopping();
        control_task.abort();
        if let Some(task) = metrics_task {
            task.abort();
        }
        let _ = std::fs::remove_file(&settings.control);
        match failure {
            None => Ok(daemon),
            Some(error) => Err(error),
        }
    })?;
    if let Some(xdp) = lock(&daemon.xdp).take() {
        for line in xdp.stats().lines() {
            tracing::info!("XDP {line}");
        }
        // Dropping the fast path detaches it from every interface.
        drop(xdp);
    }
    tracing::info!("lbdns stopped");
    Ok(())
}
