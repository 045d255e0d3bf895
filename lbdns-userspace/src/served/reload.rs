//! A zone set replaced: the configuration and every zone read again, the catalog rebuilt, and
//! the health and drains in force carried over, then published to both paths.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::secondary::config::SecondarySpec;
use crate::secondary::Configured;
use crate::{metrics, notify, transfer_out};

use super::{
    answers, load_carrying, lock, release_freed_memory, settings, Carried, LoadError, Served,
};

/// What a reload put into service, as `lbdns reload` prints it, and the secondary zones the
/// daemon must now run.
#[derive(Debug)]
pub struct Reloaded {
    pub zones: Vec<metrics::zones::ZoneLoad>,
    pub pools: usize,
    /// The secondary zones now configured, for `Secondaries::update`: those read from their
    /// kept copies (new, or configured differently) need a task started afresh; the others
    /// keep their task, data and state.
    pub secondaries: Configured,
    /// The catalog zones consumed now and the members they list (their members are among
    /// `secondaries`).
    pub catalogs: Vec<crate::catalog_zone::Consumed>,
}

impl fmt::Display for Reloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "reloaded {} zone(s) and {} pool(s)",
            self.zones.len(),
            self.pools
        )?;
        if !self.secondaries.specs.is_empty() {
            writeln!(f, "{} secondary zone(s)", self.secondaries.specs.len())?;
        }
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

/// A reload that changed nothing, and the errors that stopped it.
#[derive(Debug, thiserror::Error)]
#[error("reload failed, still serving the previous zones and pools")]
pub struct ReloadFailed(#[source] pub LoadError);

impl Served {
    /// Loads zones and pools again and swaps them in; health and drains carry over. The
    /// secondary zones configured exactly as one of `running` keep the data they serve now
    /// (and their task keeps its state); the others are read from their kept copies. On any
    /// error both paths keep serving what they had.
    pub fn replace(&self, running: &[SecondarySpec]) -> Result<Reloaded, ReloadFailed> {
        let _changing = lock(&self.changing);
        let loaded = settings(self.config.as_deref(), self.overrides.clone()).and_then(|now| {
            let catalog = self.catalog.load();
            let carried: Carried = now
                .secondaries
                .iter()
                .filter(|spec| running.contains(spec))
                .filter_map(|spec| {
                    let data = catalog.zone_at(&spec.origin)?.cloned();
                    Some((spec.origin.clone(), data))
                })
                .collect();
            // The zone files this catalog serves are read as patches over it where they can be.
            let loaded = load_carrying(&now, carried, Some(&catalog))?;
            Ok((loaded, now))
        });
        let (loaded, now) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                self.metrics.zones_failed();
                return Err(ReloadFailed(error));
            }
        };
        let (fresh, zones, patched, mut fresh_pools) =
            (loaded.catalog, loaded.zones, loaded.patched, loaded.pools);
        let carried: Vec<_> = now
            .secondaries
            .iter()
            .filter(|spec| !loaded.secondaries.iter().any(|k| k.spec == **spec))
            .map(|spec| spec.origin.clone())
            .collect();
        self.metrics.zones_reloaded(&zones, &carried);
        for data in &patched {
            self.metrics.zone_patched(data);
        }
        for (zone, _) in loaded.secondaries.iter().filter_map(|k| k.copy.as_ref()) {
            self.metrics.zone_replaced(zone);
        }
        let at = std::time::SystemTime::now();
        let mut loads = metrics::zones::loaded(&zones, at);
        loads.extend(patched.iter().map(|data| metrics::zones::indexed(data, at)));
        let reloaded = Reloaded {
            zones: loads,
            pools: fresh_pools.pools().len(),
            secondaries: Configured {
                specs: now.secondaries,
                kept: loaded.secondaries,
                bounds: now.secondary_timers,
                keys: now.keys,
            },
            catalogs: now.catalogs,
        };
        drop(zones);
        drop(patched);
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
        fresh.set_pools(answers(&fresh_pools));
        let started = Instant::now();
        // XDP first: it serves the new data before the socket path does, never after.
        self.publish_change(&self.catalog.load(), &fresh);
        let previous = self.catalog.swap(Arc::new(fresh));
        *pools = fresh_pools;
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "reload published to both paths"
        );
        drop(checker);
        drop(pools);
        // Both paths serve the change already. RFC 1996: secondaries of the zones whose serial
        // changed hear of it now; the change is kept for IXFR (RFC 1995).
        let current = self.catalog.load();
        transfer_out::record_differences(&previous, &current);
        notify::out::spawn(notify::out::changed(Some(&previous), &current));
        // Queries still holding the old catalog keep it alive; trim once it is gone here.
        drop(previous);
        release_freed_memory();
        Ok(reloaded)
    }
}

#[cfg(test)]
mod tests;
