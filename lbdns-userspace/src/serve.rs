//! The daemon: loads the zones, fills and attaches the XDP fast path, runs the socket
//! server and the control socket, and reacts to signals until told to stop.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use tokio::signal::unix::{signal, SignalKind};

use lbdns::authority::Catalog;
use lbdns::config::{Settings, XdpSettings};
use lbdns::control::{self, Request};
use lbdns::maps::MapWriter;
use lbdns::xdp::FastPath;
use lbdns::{compile, ebpf_object};

use crate::load_catalog;

/// The XDP program and the writer of its maps, kept together for the daemon's lifetime.
struct Xdp {
    fast: FastPath,
    writer: MapWriter,
}

impl Xdp {
    /// Loads the program, fills its maps from `catalog`, then attaches it: maps first, so the
    /// program never runs with maps that lag behind the socket path.
    fn start(settings: &XdpSettings, catalog: &Catalog) -> Result<Self> {
        let mut fast = FastPath::load(ebpf_object::PROGRAM, &settings.maps)
            .context("cannot load the XDP program")?;
        let writer = fast.map_writer().context("cannot open the XDP maps")?;
        let mut xdp = Self { fast, writer };
        xdp.publish(catalog)?;
        for interface in &settings.interfaces {
            let mode = xdp
                .fast
                .attach(interface, settings.mode)
                .with_context(|| format!("cannot attach XDP to {interface}"))?;
            tracing::info!(%interface, %mode, port = settings.maps.dns_port, "XDP fast path attached");
        }
        Ok(xdp)
    }

    /// Makes the maps answer exactly what `catalog` answers directly.
    fn publish(&mut self, catalog: &Catalog) -> Result<()> {
        let compiled = compile::compile(&compile::hot_rrsets(catalog))
            .context("cannot compile the zones for XDP")?;
        for skipped in &compiled.skipped {
            tracing::info!(rrset = ?skipped.id, reason = ?skipped.reason, "left to the socket path");
        }
        let report = self
            .writer
            .publish(&compiled.image)
            .context("cannot write the XDP maps")?;
        tracing::info!(
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

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(settings: Settings) -> Result<()> {
    let (catalog, _) = crate::catalog_or_report(&settings.zones)?;
    // XDP goes first: a missing interface or privilege stops start-up before any port is bound.
    let xdp = if settings.xdp.interfaces.is_empty() {
        None
    } else {
        Some(Xdp::start(&settings.xdp, &catalog)?)
    };
    let xdp = Arc::new(Mutex::new(xdp));
    let catalog = Arc::new(ArcSwap::from_pointee(catalog));
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let _sockets = lbdns::server::start(&catalog, &settings.listen, settings.tcp)?;
        let listener = control::bind(&settings.control).with_context(|| {
            format!(
                "cannot create the control socket {}",
                settings.control.display()
            )
        })?;
        let stats_source = xdp.clone();
        let control_task = tokio::spawn(control::serve(listener, move |request| match request {
            Request::Stats => match &*stats_source.lock().expect("no panics while locked") {
                Some(xdp) => xdp.stats(),
                None => "error: the XDP fast path is off (serve --xdp IFACE)\n".to_owned(),
            },
        }));
        tracing::info!(zones = settings.zones.len(), "lbdns serving");
        let mut hangup = signal(SignalKind::hangup()).context("cannot install SIGHUP handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
        let mut interrupt =
            signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
        loop {
            tokio::select! {
                _ = hangup.recv() => reload(&catalog, &xdp, &settings),
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
            }
        }
        control_task.abort();
        let _ = std::fs::remove_file(&settings.control);
        Ok::<_, anyhow::Error>(())
    })?;
    if let Some(xdp) = xdp.lock().expect("no panics while locked").take() {
        for line in xdp.stats().lines() {
            tracing::info!("XDP {line}");
        }
        // Dropping the fast path detaches it from every interface.
        drop(xdp);
    }
    tracing::info!("lbdns stopped");
    Ok(())
}

/// Loads the zones again and swaps them in. The XDP maps are written first; if that fails the
/// fast path is detached, so the socket path (always right) answers everything.
fn reload(current: &ArcSwap<Catalog>, xdp: &Mutex<Option<Xdp>>, settings: &Settings) {
    let fresh = match load_catalog(&settings.zones) {
        Ok((catalog, _)) => catalog,
        Err(errors) => {
            for error in &errors {
                tracing::error!("{error}");
            }
            tracing::error!("reload failed, still serving the previous zones");
            return;
        }
    };
    let mut xdp = xdp.lock().expect("no panics while locked");
    if let Some(fast) = xdp.as_mut() {
        if let Err(error) = fast.publish(&fresh) {
            tracing::error!("{error:#}; detaching XDP, the socket path answers everything");
            *xdp = None;
        }
    }
    current.store(Arc::new(fresh));
    tracing::info!("zones reloaded");
}
