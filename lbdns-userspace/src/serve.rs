//! The daemon: loads the zones and pools, fills and attaches the XDP fast path, runs the socket
//! server, the health checker and the control socket, and reacts to health changes, control
//! requests and signals until told to stop.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex, MutexGuard,
};

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use lbdns::authority::Catalog;
use lbdns::config::{Overrides, Settings, XdpSettings};
use lbdns::control::{self, Request};
use lbdns::health::{Checker, HealthChange};
use lbdns::maps::MapWriter;
use lbdns::pool::PoolSet;
use lbdns::xdp::FastPath;
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
    /// needs the other.
    fn load(settings: &XdpSettings) -> std::thread::JoinHandle<Result<FastPath>> {
        let config = settings.maps;
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
            tracing::info!(%interface, %mode, port = settings.maps.dns_port, "XDP fast path attached");
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
        let report = self
            .writer
            .publish(&compiled.image)
            .context("cannot write the XDP maps")?;
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
            if let Err(error) = fast.publish(catalog) {
                tracing::error!("{error:#}; detaching XDP, the socket path answers everything");
                *xdp = None;
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
        *xdp = Some(started?);
        Ok(())
    }

    fn health_changed(&self, change: &HealthChange) {
        let mut pools = lock(&self.pools);
        if !pools.set_health(&change.target, change.up).is_empty() {
            self.apply(&pools);
        }
    }

    fn answer(&self, request: Request) -> String {
        match request {
            Request::Stats if self.xdp_starting.load(Ordering::Relaxed) => {
                "error: the XDP fast path is starting: its maps are being filled\n".to_owned()
            }
            Request::Stats => match &*lock(&self.xdp) {
                Some(xdp) => xdp.stats(),
                None => "error: the XDP fast path is off (serve --xdp IFACE)\n".to_owned(),
            },
            Request::Status => {
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

    /// Loads zones and pools again and swaps them in; health and drains carry over. On any
    /// error the daemon keeps serving what it had.
    fn reload(&self, zone: &ZoneArgs, overrides: &Overrides) {
        let loaded = crate::settings(zone.clone(), overrides.clone())
            .and_then(|settings| crate::load_catalog(&settings));
        let (fresh, _, mut fresh_pools) = match loaded {
            Ok(loaded) => loaded,
            Err(errors) => {
                for error in &errors {
                    tracing::error!("{error}");
                }
                tracing::error!("reload failed, still serving the previous zones and pools");
                return;
            }
        };
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
        tracing::info!("zones and pools reloaded");
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these is a bug already reported; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(zone: ZoneArgs, overrides: Overrides) -> Result<()> {
    let settings: Settings =
        crate::settings(zone.clone(), overrides.clone()).map_err(crate::report)?;
    let loading = (!settings.xdp.interfaces.is_empty()).then(|| Xdp::load(&settings.xdp));
    let (catalog, zones, pools) = crate::catalog_or_report(&settings)?;
    drop(zones);
    release_freed_memory();
    // A missing privilege, a verifier rejection or a mistyped interface stops start-up before
    // any port is bound.
    let fast = match loading {
        None => None,
        Some(loading) => {
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
        });
        let _sockets = lbdns::server::start(&daemon.catalog, &settings.listen, settings.tcp)?;
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
        tracing::info!(zones = settings.zones.len(), "lbdns serving");
        let mut hangup = signal(SignalKind::hangup()).context("cannot install SIGHUP handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
        let mut interrupt =
            signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
        let failure = loop {
            tokio::select! {
                _ = hangup.recv() => daemon.reload(&zone, &overrides),
                _ = terminate.recv() => break None,
                _ = interrupt.recv() => break None,
                Some(error) = xdp_failure.recv() => break Some(error),
            }
        };
        control_task.abort();
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
