//! One zone replaced or patched: the path a zone transfer takes into service (and, once it
//! expires, out of it). An AXFR's zone is indexed whole; an IXFR's patch is laid over the
//! index in force (`ZoneData::patched`), so it costs the names it changes. Either way the new
//! catalog shares every other zone with the one in force.

use std::sync::Arc;
use std::time::Instant;

use hickory_proto::rr::Name;

use crate::authority::{Catalog, Unpatchable, ZoneData};
use crate::pool::Zones;
use crate::xfr::Patch;
use crate::zone::{Zone, ZoneErrors};
use crate::{notify, transfer_out};

use super::{answers, lock, CatalogZones, Served};

/// Why a zone was not replaced; the zone in force is still served, unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ZoneRefused {
    #[error("zone {0} is not served here")]
    NotServed(Box<Name>),
    /// The new data breaks a pool owner (a CNAME, a delegation, a DNAME or a DNSKEY now
    /// sits where the pool answers), exactly as the loader would refuse it.
    #[error("a pool owner would break: {reason}")]
    PoolOwner { owner: Box<Name>, reason: String },
    /// The patch needs the zone indexed whole ([`Served::replace_zone`]).
    #[error("the change cannot be patched in: {0}")]
    Unpatchable(#[from] Unpatchable),
    /// The zone is served without data: there is no index to patch.
    #[error("the zone has no data to patch")]
    Unindexed,
    /// The zone after the change, checked whole, breaks the zone-file rules.
    #[error("{0}")]
    Invalid(ZoneErrors),
}

impl Served {
    /// Puts `zone` into service in place of the zone with its origin, on both paths: the pool
    /// owners in it are checked as at load, the pool answers set, the XDP maps published,
    /// then the socket path's catalog swapped. On an error nothing changes.
    /// Returns the index served.
    pub fn replace_zone(&self, zone: &Zone) -> Result<Arc<ZoneData>, ZoneRefused> {
        let data = Arc::new(ZoneData::new(zone));
        self.swap_zone(&zone.origin, |_| Ok(Some(data.clone())))?;
        self.metrics.zone_replaced(zone);
        Ok(data)
    }

    /// Serves `data` again for its zone (an expired secondary zone whose copy a primary
    /// confirmed current).
    pub fn serve_index(&self, data: Arc<ZoneData>) -> Result<(), ZoneRefused> {
        let origin = data.origin.clone();
        self.swap_zone(&origin, |_| Ok(Some(data.clone())))?;
        self.metrics.zone_patched(&data);
        Ok(())
    }

    /// Puts an IXFR's `patch` into service for the zone at `origin` as [`Served::replace_zone`]
    /// does a zone, laid over the index in force instead of indexing the zone again: the cost
    /// is the names it touches. `ZoneRefused::Unpatchable` or `Unindexed`: the zone must be
    /// indexed whole instead. Returns the index served.
    pub fn patch_zone(&self, origin: &Name, patch: &Patch) -> Result<Arc<ZoneData>, ZoneRefused> {
        let mut patched = None;
        self.swap_zone(origin, |old| match old {
            Some(data) => {
                let data = Arc::new(data.patched(&patch.owners)?);
                patched = Some(data.clone());
                Ok(Some(data))
            }
            None => Err(ZoneRefused::Unindexed),
        })?;
        let data = patched.expect("a patch served is a patched index");
        self.metrics.zone_patched(&data);
        Ok(data)
    }

    /// The index the zone at `origin` is served from, if it has data.
    pub fn zone_data(&self, origin: &Name) -> Option<Arc<ZoneData>> {
        self.catalog.load().zone_at(origin)?.cloned()
    }

    /// Keeps serving the zone at `origin` but without data: its queries get SERVFAIL and
    /// the fast path stops answering its names (an expired secondary zone).
    pub fn withdraw_zone(&self, origin: &Name) -> Result<(), ZoneRefused> {
        self.swap_zone(origin, |_| Ok(None))?;
        self.metrics.zone_withdrawn(origin);
        Ok(())
    }

    /// Serves `data` (given the zone's data in force) at `origin` on both paths.
    fn swap_zone(
        &self,
        origin: &Name,
        data: impl FnOnce(Option<&Arc<ZoneData>>) -> Result<Option<Arc<ZoneData>>, ZoneRefused>,
    ) -> Result<(), ZoneRefused> {
        let started = Instant::now();
        // One zone change or reload at a time: each builds on the catalog in force.
        let _changing = lock(&self.changing);
        let pools = lock(&self.pools);
        let old = self.catalog.load();
        let data = data(old.zone_at(origin).flatten())?;
        let fresh = old
            .with_zone(origin, data)
            .ok_or_else(|| ZoneRefused::NotServed(Box::new(origin.clone())))?;
        check_pool_owners(&fresh, origin, pools.pools().iter().map(|p| &p.owner))?;
        fresh.set_pools(answers(&pools));
        // XDP first: it serves the new data before the socket path does, never after. Only the
        // names whose answers differ are written; the other zones are the same `Arc`s.
        self.publish_change(&old, &fresh);
        let fresh = Arc::new(fresh);
        let previous = self.catalog.swap(fresh.clone());
        tracing::info!(
            zone = %origin,
            seconds = started.elapsed().as_secs_f64(),
            "zone published to both paths"
        );
        // RFC 1996 and 1995: our own secondaries (`notify`) hear of a new serial, and the
        // change is kept for IXFR out, so lbdns hosts chain.
        transfer_out::record_differences(&previous, &fresh);
        notify::out::spawn(notify::out::changed(Some(&previous), &fresh));
        Ok(())
    }
}

/// The pool owners inside the zone at `origin` of `catalog`, checked as the loader checks them.
fn check_pool_owners<'a>(
    catalog: &Catalog,
    origin: &Name,
    owners: impl Iterator<Item = &'a Name>,
) -> Result<(), ZoneRefused> {
    let Some(Some(zone)) = catalog.zone_at(origin) else {
        return Ok(());
    };
    for owner in owners {
        let inside = catalog
            .zone_for(owner)
            .is_some_and(|found| std::ptr::eq(found, &**zone));
        if !inside {
            continue;
        }
        if let Some(reason) = CatalogZones(catalog).placement(owner).refusal(owner) {
            return Err(ZoneRefused::PoolOwner {
                owner: Box::new(owner.clone()),
                reason,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
