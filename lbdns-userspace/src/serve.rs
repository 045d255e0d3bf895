//! The daemon: the threads and signals around the served state (`lbdns::served`). It loads
//! the zones and pools, starts the XDP fast path, runs the socket server, the health checker
//! and the control socket, and hands health changes, control requests and SIGHUP to
//! `Served` until told to stop.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use lbdns::catalog_zone::{self, Catalogs, Consumer};
use lbdns::config::{Overrides, Settings, XdpSettings};
use lbdns::control::{self, Format, Request};
use lbdns::health::Checker;
use lbdns::maps::Heartbeat;
use lbdns::metrics::{self, Metrics};
use lbdns::privilege;
use lbdns::secondary::{self, primaries::Primaries, Configured, Secondaries};
use lbdns::served::{
    self, release_freed_memory, FastPathState, Heart, Loaded, Origin, ReloadFailed, Reloaded,
    Served, StateFile, Xdp,
};
use lbdns::server::{handover, Inherited};
use lbdns::systemd::Notifier;
use lbdns::xdp::{sizing, Adoptable, FastPath, Pins};

use crate::cli::ZoneArgs;

/// The daemon's shared parts: the served state, and what reports a reload. Shared by the
/// signal loop, the health thread and the control socket.
struct Daemon {
    served: Arc<Served>,
    /// The secondary zones' tasks and status, and what they transfer with.
    secondaries: Arc<Secondaries>,
    transfers: secondary::Context<Consumer<Primaries>>,
    /// The catalog zones consumed and the members they list now.
    catalogs: Arc<Catalogs>,
    /// Held for a whole reload: SIGHUP and `lbdns reload` may ask at once, and each caller
    /// must get the result of the reload it asked for.
    reloading: Mutex<()>,
    notifier: Notifier,
}

impl Daemon {
    /// Starts the loaded fast path and tells systemd it is ready.
    fn start_xdp(&self, fast: FastPath, settings: &XdpSettings, restart: Restart) -> Result<()> {
        self.served
            .start_xdp(fast, settings, restart.pins, restart.heart)?;
        self.notifier.status(&format!(
            "XDP fast path ready on {}",
            settings.interfaces.join(", ")
        ));
        Ok(())
    }

    fn answer(&self, request: Request) -> String {
        match request {
            Request::Stats(Format::Json) => {
                let stats = json!({
                    "socket": self.served.metrics().socket_stats_json(),
                    "xdp": self.served.xdp_json(),
                });
                format!("{stats}\n")
            }
            Request::Status(Format::Json) => {
                let mut status = self.served.status_json();
                status["xdp"] = self.served.xdp_json();
                status["secondaries"] = secondary::status::json(&self.secondaries.status());
                status["catalogs"] = self.catalogs.json();
                format!("{status}\n")
            }
            Request::Reload => match self.reload() {
                Ok(reloaded) => reloaded.to_string(),
                Err(failed) => {
                    let mut out = format!("error: {failed}\n");
                    for error in failed.0.messages() {
                        out.push_str(&format!("{error}\n"));
                    }
                    out
                }
            },
            Request::Stats(Format::Text) => {
                let mut out = self.served.metrics().socket_stats();
                match self.served.xdp_state() {
                    FastPathState::Starting => {
                        out.push_str("xdp starting: its maps are being filled\n");
                    }
                    FastPathState::Running(stats) => out.push_str(&stats),
                    FastPathState::Off => out.push_str("xdp off (serve --xdp IFACE)\n"),
                }
                out
            }
            Request::Status(Format::Text) => {
                let mut out = self.served.status();
                out.push_str(&secondary::status::text(
                    &self.secondaries.status(),
                    std::time::SystemTime::now(),
                ));
                out.push_str(&self.catalogs.text());
                match self.served.xdp_state() {
                    FastPathState::Starting => {
                        out.push_str("xdp\n  starting: its maps are being filled\n");
                    }
                    FastPathState::Running(stats) => {
                        out.push_str("xdp\n");
                        for line in stats.lines() {
                            out.push_str(&format!("  {line}\n"));
                        }
                    }
                    FastPathState::Off => {}
                }
                out
            }
            Request::Drain(address) | Request::Undrain(address) => {
                let drain = matches!(request, Request::Drain(_));
                match self.served.set_drained(address, drain) {
                    Err(error) => format!("error: {error}\n"),
                    Ok(changed) => {
                        let verb = if drain { "drained" } else { "undrained" };
                        tracing::info!(%address, "{verb} by control request");
                        format!("{address} {verb} in {changed} pool(s)\n")
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
        let mut result = self.served.replace(&self.secondaries.specs());
        match &mut result {
            Ok(reloaded) => {
                let configured = std::mem::take(&mut reloaded.secondaries);
                catalog_zone::log(&reloaded.catalogs);
                self.catalogs.set(std::mem::take(&mut reloaded.catalogs));
                self.secondaries.update(configured, &self.transfers);
                // The members a catalog dropped are stopped and withdrawn: their copies go.
                self.catalogs.prune();
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
                for error in failed.0.messages() {
                    tracing::error!("{error}");
                }
                tracing::error!("{failed}");
                self.notifier
                    .reloaded("last reload failed, serving the previous zones");
            }
        }
        result
    }
}

/// Every pool endpoint's state, for a scrape.
fn endpoint_samples(daemon: &Weak<Daemon>) -> Vec<metrics::pools::EndpointSample> {
    daemon
        .upgrade()
        .map(|daemon| daemon.served.endpoint_samples())
        .unwrap_or_default()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these is a bug already reported; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How the daemon was told to exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    /// SIGTERM or SIGINT (`systemctl stop`): detach XDP and remove its pins at once.
    Stop,
    /// SIGUSR2 (`systemctl restart`, through the unit's `RestartKillSignal=`): leave XDP
    /// attached and pinned for the next process.
    Restart,
}

/// What carries the fast path across a restart: where it is pinned, pinned maps this build
/// may reuse, and the heartbeat, which starts before the zones load when maps are adopted.
struct Restart {
    pins: Option<Pins>,
    adoptable: Option<Adoptable>,
    heart: Arc<Heart>,
}

impl Restart {
    fn prepare(settings: &XdpSettings) -> Result<Self> {
        let pins = settings.pin_dir.as_deref().and_then(|dir| {
            let pins = Pins::new(dir, &settings.interfaces);
            match pins.prepare() {
                Ok(()) => Some(pins),
                Err(error) => {
                    tracing::warn!(
                        dir = %pins.dir().display(),
                        "cannot pin XDP ({error}): a restart will detach the fast path, and \
                         the socket path will answer alone until the new process attaches it"
                    );
                    None
                }
            }
        });
        let adoptable = pins
            .as_ref()
            .and_then(|pins| pins.adoptable(settings.dns_port))
            .filter(|adoptable| {
                let fits = settings.sizes.agrees_with(&adoptable.config);
                if !fits {
                    tracing::info!(
                        "the configured XDP map sizes differ from the pinned maps': new maps \
                         will be filled and swapped in"
                    );
                }
                fits
            });
        let heart = Heart::start(settings.heartbeat_limit)
            .context("cannot start the XDP heartbeat thread")?;
        // The program an earlier process left attached keeps answering while the zones load,
        // from maps adopted or not (an upgrade across a layout change): `LIFE` keeps its shape
        // across layout versions, so this build can beat it.
        if let Some(pins) = pins.as_ref().filter(|pins| pins.life().exists()) {
            match Heartbeat::from_pin(&pins.life()) {
                Ok(heartbeat) => {
                    heart.set(Some(Arc::new(heartbeat)));
                    let maps = if adoptable.is_some() {
                        "adopting the pinned XDP maps"
                    } else {
                        "replacing the pinned XDP maps"
                    };
                    tracing::info!(
                        dir = %pins.dir().display(),
                        "{maps}: the program left attached answers while the zones load"
                    );
                }
                Err(error) => tracing::warn!(
                    "cannot beat the pinned LIFE map ({error}): the program left attached \
                     stops answering when its heartbeat is too old"
                ),
            }
        }
        Ok(Self {
            pins,
            adoptable,
            heart,
        })
    }

    fn origin(&self) -> Origin {
        match (&self.pins, self.adoptable) {
            (Some(pins), Some(adoptable)) => Origin::Adopt(pins.clone(), adoptable),
            (Some(pins), None) => Origin::Pinned(pins.clone()),
            (None, _) => Origin::Unpinned,
        }
    }
}

/// Runs the daemon until SIGTERM or SIGINT (a stop) or SIGUSR2 (an exit for a restart).
pub fn run(zone: ZoneArgs, overrides: Overrides) -> Result<()> {
    served::fix_allocator_thresholds();
    let notifier = Notifier::from_env();
    let overrides = Overrides {
        zones: zone.zones,
        ..overrides
    };
    let settings: Settings =
        served::settings(zone.config.as_deref(), overrides.clone()).map_err(crate::report)?;
    // Before the first thread: each thread copies the capabilities of the one that made it.
    privilege::drop_unused()?.check(&settings)?;
    // The sockets of the process this one replaces: systemd's fd store hands them back on a
    // restart; without systemd, a daemon still running gives them over, and XDP with them,
    // before this process adopts the pinned maps.
    let mut inherited = Inherited::from_systemd();
    let takeover = handover::request(&settings.control)
        .context("cannot take over from the running lbdns")?
        .map(|(takeover, sockets)| {
            tracing::info!("taking over from the running lbdns: its sockets and its XDP pins");
            inherited.extend(sockets);
            takeover
        });
    let restart = (!settings.xdp.interfaces.is_empty())
        .then(|| Restart::prepare(&settings.xdp))
        .transpose()?;
    // Map sizes are fixed at load: adopted maps have theirs, and with every one set the
    // program loads while the zones are read; otherwise after, sized from them.
    let early = match restart.as_ref().and_then(|restart| restart.adoptable) {
        Some(adoptable) => Some(adoptable.config),
        None => settings.xdp.sizes.complete(settings.xdp.dns_port),
    };
    let loading = restart
        .as_ref()
        .map(|restart| early.map(|config| Xdp::load(config, restart.origin())));
    let Loaded {
        catalog,
        zones,
        pools,
        secondaries: kept,
        ..
    } = served::load(&settings).map_err(crate::report)?;
    let metrics = Arc::new(Metrics::default());
    metrics.zones_loaded(&zones);
    for (zone, _) in kept.iter().filter_map(|k| k.copy.as_ref()) {
        metrics.zone_replaced(zone);
    }
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
                    restart.as_ref().map_or(Origin::Unpinned, Restart::origin),
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
    let (daemon, exit) = runtime.block_on(async {
        let (changes, mut changed) = mpsc::unbounded_channel();
        let checker = Checker::start(pools.targets(), changes);
        let mut served = Served::new(
            catalog,
            pools,
            checker,
            metrics,
            fast.is_some(),
            zone.config,
            overrides,
        );
        match &settings.state_file {
            Some(path) => served.restore(StateFile::new(path.clone())),
            None => {
                tracing::info!("drains and health are not kept across restarts (no --state-file)")
            }
        }
        let served = Arc::new(served);
        let catalogs = Arc::new(Catalogs::default());
        catalog_zone::log(&settings.catalogs);
        catalogs.set(settings.catalogs.clone());
        let (catalog_changed, mut catalog_change) = mpsc::unbounded_channel();
        let daemon = Arc::new(Daemon {
            catalogs: catalogs.clone(),
            transfers: secondary::Context {
                transfer: Arc::new(Consumer::new(
                    Primaries::default(),
                    catalogs,
                    catalog_changed,
                )),
                served: served.clone(),
                bounds: Arc::default(),
                keys: Arc::default(),
            },
            served,
            secondaries: Arc::default(),
            reloading: Mutex::new(()),
            notifier,
        });
        let metrics_task = match settings.metrics {
            None => None,
            Some(address) => {
                let listener = metrics::bind(address)?;
                let reading = Arc::downgrade(&daemon);
                daemon
                    .served
                    .metrics()
                    .set_endpoints(move || endpoint_samples(&reading));
                tracing::info!(%address, "serving metrics at /metrics");
                Some(tokio::spawn(metrics::serve(
                    listener,
                    daemon.served.metrics().clone(),
                )))
            }
        };
        let mut serving = lbdns::server::start(
            daemon.served.catalog(),
            &settings.listen,
            settings.tcp,
            &daemon.served.metrics().socket,
            &daemon.served.metrics().rrl,
            &daemon.secondaries,
            &mut inherited,
        )?;
        // Sockets inherited for addresses no longer listened on close here.
        drop(inherited);
        // These sockets answer: the daemon they came from may stop reading and exit, and its
        // control socket is then free.
        if let Some(takeover) = takeover {
            takeover
                .done(&settings.control)
                .context("cannot finish the takeover")?;
        }
        // Under systemd, the fd store keeps the sockets across a restart (closed on a stop).
        daemon.notifier.store_fds(&serving.sockets);
        // Each secondary zone serves its kept copy already; its task refreshes it at once.
        daemon.secondaries.update(
            Configured {
                specs: settings.secondaries.clone(),
                kept,
                bounds: settings.secondary_timers,
                keys: settings.keys.clone(),
            },
            &daemon.transfers,
        );
        // Members dropped from a catalog while we were down leave their copies behind.
        daemon.catalogs.prune();
        let listener = control::bind(&settings.control).with_context(|| {
            format!(
                "cannot create the control socket {}",
                settings.control.display()
            )
        })?;
        let (handed_over, mut handover_done) = mpsc::unbounded_channel();
        let leaving = daemon.clone();
        handover::listen(
            &settings.control,
            std::mem::take(&mut serving.sockets),
            move || drop(leaving.served.stop_xdp(true)),
            move || {
                let _ = handed_over.send(());
            },
        )
        .context("cannot listen for a handover")?;
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
                    listening.served.health_changed(&change);
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
        // An exit for a restart (the unit's RestartKillSignal=): XDP stays attached and pinned.
        let mut restarting =
            signal(SignalKind::user_defined2()).context("cannot install SIGUSR2 handler")?;
        tracing::info!(
            zones = settings.zones.len(),
            secondaries = settings.secondaries.len(),
            "lbdns serving"
        );
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
        if let (Some(fast), Some(restart)) = (fast, restart) {
            let filling = daemon.clone();
            let xdp_settings = settings.xdp.clone();
            std::thread::Builder::new()
                .name("xdp start".to_owned())
                .spawn(move || {
                    if let Err(error) = filling.start_xdp(fast, &xdp_settings, restart) {
                        let _ = xdp_failed.send(error);
                    }
                })
                .context("cannot start the XDP start-up thread")?;
        }
        let failure = loop {
            tokio::select! {
                // `reload` logs its outcome; SIGHUP has no one else to tell.
                _ = hangup.recv() => drop(daemon.reload()),
                // A catalog kept with another member set: the reload reads it and applies it.
                Some(catalog) = catalog_change.recv() => {
                    tracing::info!(%catalog, "applying the catalog's member set");
                    drop(daemon.reload());
                }
                _ = terminate.recv() => break Ok(Exit::Stop),
                _ = interrupt.recv() => break Ok(Exit::Stop),
                _ = restarting.recv() => break Ok(Exit::Restart),
                Some(error) = xdp_failure.recv() => break Err(error),
                // A new process serves on these sockets and has taken XDP over.
                Some(()) = handover_done.recv() => break Ok(Exit::Restart),
            }
        };
        daemon.notifier.stopping();
        // The sockets outlive this process (fd store, handover): stop reading them, answering
        // what was read, before anything else goes.
        serving.readers.stop(Duration::from_secs(2));
        control_task.abort();
        if let Some(task) = metrics_task {
            task.abort();
        }
        let _ = std::fs::remove_file(&settings.control);
        // Last: a new process waits for it to go before it binds the control socket.
        let _ = std::fs::remove_file(handover::path(&settings.control));
        failure.map(|exit| (daemon, exit))
    })?;
    // A stop detaches the fast path from every interface and unpins it; an exit for a restart
    // leaves it answering for the next process, until its heartbeat gets too old.
    let for_restart = exit == Exit::Restart;
    if for_restart {
        tracing::info!("exiting for a restart: XDP stays attached and pinned");
    }
    if let Some(stats) = daemon.served.stop_xdp(for_restart) {
        for line in stats.lines() {
            tracing::info!("XDP {line}");
        }
    }
    tracing::info!("lbdns stopped");
    Ok(())
}
