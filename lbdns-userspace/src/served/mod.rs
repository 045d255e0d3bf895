//! The served state: what both paths answer from, and the one way a change reaches them.
//!
//! [`Served`] owns the catalog the socket path answers from, the pools with their health and
//! drains, the health checker's targets, and the XDP maps. Every change takes the same path:
//!
//! change → [`PoolSet`] or a freshly [`load`]ed catalog → pool [`answers`](answers::answers)
//! set in the catalog → [`Xdp::publish_names`] (the hot RRsets of the names the change touches
//! → compile → map writer) → the socket path's catalog swapped in (on a reload; pool answers are
//! swapped inside the catalog). A change costs what it touches: the owners of the pools that
//! changed, or the names whose answers differ between two catalogs
//! ([`authority::changed_names`]); only a change beyond names publishes every hot RRset
//! ([`Xdp::publish`]), as start-up does.
//!
//! - a health verdict: [`Served::health_changed`] → `PoolSet::set_health` → `apply`;
//! - a drain or undrain: [`Served::set_drained`] → `PoolSet::set_drained` → `apply`;
//! - a zone set replaced (SIGHUP, `lbdns reload`): [`Served::replace`] → [`load_carrying`],
//!   each zone file the catalog in force serves streamed and compared with it and its changed
//!   owners patched over its index (`reread`; the file read whole and indexed when a patch
//!   cannot hold the change), health and drains carried over, then published to the maps
//!   before the socket path swaps;
//! - one zone replaced (an AXFR): [`Served::replace_zone`] → `Catalog::with_zone` (the
//!   other zones shared), pool owners checked, then published like a reload;
//! - one zone patched (an IXFR): [`Served::patch_zone`] → `ZoneData::patched` (the zone's
//!   index shared, the touched names laid over it) → the same steps, costing those names.
//!
//! The daemon (`serve.rs`) owns the threads and signals that call these; `load` is also what
//! `lbdns check` runs.

mod answers;
mod heartbeat;
mod load;
mod memory;
mod owners;
mod publish;
mod reload;
mod reread;
mod state_file;
#[cfg(test)]
pub(crate) mod testing;
mod zone;

pub use answers::answers;
pub use heartbeat::Heart;
pub use load::{load, load_carrying, settings, Carried, LoadError, Loaded};
pub use memory::{fix_allocator_thresholds, release_freed_memory};
pub use owners::CatalogZones;
pub use publish::{Origin, Xdp};
pub use reload::{ReloadFailed, Reloaded};
pub use state_file::{Persisted, StateFile};
pub use zone::ZoneRefused;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Result;
use arc_swap::ArcSwap;
use hickory_proto::rr::LowerName;
use serde_json::{json, Value};

use crate::authority::{self, Catalog};
use crate::config::{Overrides, XdpSettings};
use crate::health::{Checker, HealthChange};
use crate::maps::PublishReport;
use crate::metrics::{self, Metrics};
use crate::pool::{self, PoolId, PoolSet, UnknownEndpoint};
use crate::xdp::{FastPath, Pins};

/// Where the fast path stands, for `lbdns stats` and `status`.
#[derive(Debug)]
pub enum FastPathState {
    /// Filling its maps with the XDP lock held, for seconds with a million names.
    Starting,
    /// Not configured, or detached after a failed publish.
    Off,
    /// Running: its counters as `name value` lines.
    Running(String),
}

/// Everything that changes while the daemon runs, shared by the signal loop, the health
/// thread and the control socket. Lock order: `changing`, `pools`, `checker`, `xdp`.
pub struct Served {
    /// Held by whatever replaces zones (a reload, a transfer), so each builds on the catalog
    /// its predecessor put in force.
    changing: Mutex<()>,
    catalog: Arc<ArcSwap<Catalog>>,
    pools: Mutex<PoolSet>,
    checker: Mutex<Checker>,
    xdp: Mutex<Option<Xdp>>,
    /// Set while the fast path fills its maps with the XDP lock held: `lbdns stats` and
    /// `status` say so instead of waiting for the lock.
    xdp_starting: AtomicBool,
    /// Set once the fast path is stopped or handed over: it is not started again.
    xdp_given_up: AtomicBool,
    metrics: Arc<Metrics>,
    /// Where the zones and configuration come from, read again on each reload.
    config: Option<PathBuf>,
    overrides: Overrides,
    /// Where drains and health verdicts are kept across restarts, if anywhere.
    state_file: Option<StateFile>,
}

impl Served {
    /// Puts a loaded catalog and its pools in service; `xdp_starting` when a fast path will
    /// be started with [`Served::start_xdp`].
    /// `config` and `overrides` are read again on each [`Served::replace`].
    pub fn new(
        catalog: Catalog,
        pools: PoolSet,
        checker: Checker,
        metrics: Arc<Metrics>,
        xdp_starting: bool,
        config: Option<PathBuf>,
        overrides: Overrides,
    ) -> Self {
        Self {
            changing: Mutex::new(()),
            catalog: Arc::new(ArcSwap::from_pointee(catalog)),
            pools: Mutex::new(pools),
            checker: Mutex::new(checker),
            xdp: Mutex::new(None),
            xdp_starting: AtomicBool::new(xdp_starting),
            xdp_given_up: AtomicBool::new(false),
            metrics,
            config,
            overrides,
            state_file: None,
        }
    }

    /// Starts from the drains and health verdicts the last process saved in `file` (none if
    /// it saved nothing), and saves them there from now on. Call before the fast path starts.
    pub fn restore(&mut self, file: StateFile) {
        let saved = file.load();
        {
            let mut pools = lock(&self.pools);
            let mut checker = lock(&self.checker);
            for status in checker.snapshot() {
                if saved.down.contains(&state_file::key(&status.target)) {
                    checker.assume(&status.target, false);
                    pools.set_health(&status.target, false);
                }
            }
            for &address in &saved.drained {
                // An address the configuration no longer has stays gone.
                let _ = pools.set_drained(address, true);
            }
            if !saved.drained.is_empty() || !saved.down.is_empty() {
                tracing::info!(
                    file = %file.path().display(),
                    drained = saved.drained.len(),
                    down = saved.down.len(),
                    "drains and health carried over from the last process"
                );
                let every: Vec<PoolId> = (0..pools.pools().len()).collect();
                self.apply(&pools, &every);
            }
        }
        self.state_file = Some(file);
    }

    /// Saves the drains and health verdicts in force, if there is a state file.
    fn save(&self, pools: &PoolSet) {
        if let Some(file) = &self.state_file {
            let state = Persisted::of(pools, &lock(&self.checker).snapshot());
            if let Err(error) = file.save(&state) {
                tracing::warn!(file = %file.path().display(), "cannot save the state: {error}");
            }
        }
    }

    /// The catalog the socket path answers from.
    pub fn catalog(&self) -> &Arc<ArcSwap<Catalog>> {
        &self.catalog
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// A health verdict: the pools that hold its target answer anew on both paths.
    pub fn health_changed(&self, change: &HealthChange) {
        let mut pools = lock(&self.pools);
        let changed = pools.set_health(&change.target, change.up);
        if !changed.is_empty() {
            self.apply(&pools, &changed);
        }
        self.save(&pools);
    }

    /// Drains (or undrains) `address` in every pool that has it; returns how many changed.
    pub fn set_drained(&self, address: IpAddr, drain: bool) -> Result<usize, UnknownEndpoint> {
        let mut pools = lock(&self.pools);
        let changed = pools.set_drained(address, drain)?;
        if !changed.is_empty() {
            self.apply(&pools, &changed);
            self.save(&pools);
        }
        Ok(changed.len())
    }

    /// Recomputes the pool answers from `pools` and applies them to both paths: the socket
    /// path at once (the catalog's pool answers swapped, its zones untouched), then the XDP
    /// maps, where only the answer sets of the `changed` pools' owners are compiled, compared
    /// and, if they differ, rewritten. The pools lock is held throughout, so two changes reach
    /// the maps in the order they were made; the work under it is the few pools' answers. If
    /// the maps cannot be written, XDP is detached, so the socket path (always right) answers
    /// alone.
    fn apply(&self, pools: &PoolSet, changed: &[PoolId]) {
        let started = Instant::now();
        let catalog = self.catalog.load();
        catalog.set_pools(answers(pools));
        let owners: Vec<LowerName> = changed
            .iter()
            .map(|&id| LowerName::new(&pools.pools()[id].owner))
            .collect();
        self.publish_with(|xdp| xdp.publish_names(&catalog, &owners));
        tracing::info!(
            pools = changed.len(),
            seconds = started.elapsed().as_secs_f64(),
            "pool change published to both paths"
        );
    }

    /// Makes the XDP maps, which answer what `old` answers, answer what `new` does: only the
    /// names whose answers differ are compiled and compared ([`authority::changed_names`]),
    /// unless the change reaches beyond them, when every hot RRset is.
    fn publish_change(&self, old: &Catalog, new: &Catalog) {
        self.publish_with(|xdp| match authority::changed_names(old, new) {
            Some(names) => xdp.publish_names(new, &names),
            None => xdp.publish(new),
        });
    }

    /// Runs one publish to the XDP maps, if the fast path runs; detaches it if that fails.
    fn publish_with(&self, publish: impl FnOnce(&mut Xdp) -> Result<PublishReport>) {
        let mut xdp = lock(&self.xdp);
        if let Some(fast) = xdp.as_mut() {
            match publish(fast) {
                // A publish that outgrew the maps swapped in new ones, counters too.
                Ok(_) => self
                    .metrics
                    .xdp_started(fast.fast.counter_map(), fast.writer.fill()),
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
    pub fn start_xdp(
        &self,
        mut fast: FastPath,
        settings: &XdpSettings,
        pins: Option<Pins>,
        heart: Arc<Heart>,
    ) -> Result<()> {
        let mut xdp = lock(&self.xdp);
        if self.xdp_given_up.load(Ordering::Acquire) {
            // A new process took XDP over before this one started it: its pins are the new
            // process's now.
            fast.abandon();
            self.xdp_starting.store(false, Ordering::Relaxed);
            return Ok(());
        }
        let started = Xdp::start(fast, settings, pins, heart, &self.catalog.load());
        self.xdp_starting.store(false, Ordering::Relaxed);
        let started = started?;
        self.metrics
            .xdp_started(started.fast.counter_map(), started.writer.fill());
        *xdp = Some(started);
        Ok(())
    }

    /// Detaches the fast path from every interface and removes its pins (a stop); or, with
    /// `for_restart`, leaves it attached and pinned for the next process to adopt. Returns its
    /// last counters.
    pub fn stop_xdp(&self, for_restart: bool) -> Option<String> {
        let mut guard = lock(&self.xdp);
        self.xdp_given_up.store(true, Ordering::Release);
        let xdp = guard.take()?;
        drop(guard);
        let stats = xdp.stats();
        xdp.stop(for_restart);
        Some(stats)
    }

    pub fn xdp_state(&self) -> FastPathState {
        if self.xdp_starting.load(Ordering::Relaxed) {
            return FastPathState::Starting;
        }
        match &*lock(&self.xdp) {
            Some(xdp) => FastPathState::Running(xdp.stats()),
            None => FastPathState::Off,
        }
    }

    /// The fast path's state and counters, for `--json` replies.
    pub fn xdp_json(&self) -> Value {
        if self.xdp_starting.load(Ordering::Relaxed) {
            return json!({ "state": "starting" });
        }
        match &*lock(&self.xdp) {
            Some(xdp) => xdp.stats_json(),
            None => json!({ "state": "off" }),
        }
    }

    /// `lbdns status` for the pools, as text.
    pub fn status(&self) -> String {
        let health = lock(&self.checker).snapshot();
        pool::status(&lock(&self.pools), &health)
    }

    /// `lbdns status --json` for the pools.
    pub fn status_json(&self) -> Value {
        let health = lock(&self.checker).snapshot();
        pool::status_json(&lock(&self.pools), &health)
    }

    /// Every pool endpoint's state, for a scrape.
    pub fn endpoint_samples(&self) -> Vec<metrics::pools::EndpointSample> {
        let pools = lock(&self.pools);
        let health = lock(&self.checker).snapshot();
        metrics::pools::endpoints(&pools, &health)
    }
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("pools", &self.pools)
            .field("xdp", &self.xdp)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these is a bug already reported; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
