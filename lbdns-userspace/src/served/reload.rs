//! A zone set replaced: the configuration and every zone read again, the catalog rebuilt, and
//! the health and drains in force carried over, then published to both paths.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::{metrics, notify, transfer_out};

use super::{answers, load, lock, release_freed_memory, settings, LoadError, Served};

/// What a reload put into service, as `lbdns reload` prints it.
#[derive(Debug)]
pub struct Reloaded {
    pub zones: Vec<metrics::zones::ZoneLoad>,
    pub pools: usize,
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

/// A reload that changed nothing, and the errors that stopped it.
#[derive(Debug, thiserror::Error)]
#[error("reload failed, still serving the previous zones and pools")]
pub struct ReloadFailed(#[source] pub LoadError);

impl Served {
    /// Loads zones and pools again and swaps them in; health and drains carry over. On any
    /// error both paths keep serving what they had.
    pub fn replace(&self) -> Result<Reloaded, ReloadFailed> {
        let _changing = lock(&self.changing);
        let loaded = settings(self.config.as_deref(), self.overrides.clone())
            .and_then(|settings| load(&settings));
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                self.metrics.zones_failed();
                return Err(ReloadFailed(error));
            }
        };
        let (fresh, zones, mut fresh_pools) = (loaded.catalog, loaded.zones, loaded.pools);
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
