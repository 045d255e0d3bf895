//! Each served zone's share of an image the fast path reads (NXDOMAIN, fixed replies), kept
//! with the zone it was compiled from: a publish after a change compiles again only the zones
//! that changed, since a zone's data is replaced, never changed in place (`Arc`).

use std::sync::Arc;

use foldhash::{HashMap, HashSet};
use hickory_proto::rr::{LowerName, RecordType};

use crate::authority::{Catalog, ZoneData};

/// The parts, and what beyond its own zone each may depend on: the apexes served, the pool
/// owners and the address types their pools have no endpoint for.
#[derive(Debug)]
pub struct ZoneParts<P> {
    parts: HashMap<LowerName, (Arc<ZoneData>, P)>,
    apexes: HashSet<LowerName>,
    owners: HashSet<LowerName>,
    nodata: HashSet<(LowerName, RecordType)>,
}

impl<P> Default for ZoneParts<P> {
    fn default() -> Self {
        Self {
            parts: HashMap::default(),
            apexes: HashSet::default(),
            owners: HashSet::default(),
            nodata: HashSet::default(),
        }
    }
}

/// How a part depends on the catalog beyond its zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depends {
    /// On its zone alone: a change of the apexes served or of the pool owners keeps it.
    OnZone,
    /// On the apexes served and the pool owners (and their pools' absent address types) too: a
    /// change of any compiles every zone again.
    OnCatalog,
}

impl<P> ZoneParts<P> {
    /// Brings the parts up to `catalog`, compiling with `compile` each zone new or replaced
    /// (and every zone, for parts that depend on the catalog, when the apexes served or the
    /// pool owners changed). Returns whether anything an image is assembled from changed.
    pub fn update(
        &mut self,
        catalog: &Catalog,
        depends: Depends,
        mut compile: impl FnMut(&LowerName, &ZoneData) -> P,
    ) -> bool {
        let apexes: HashSet<LowerName> = catalog.served().map(|(apex, _)| apex.clone()).collect();
        let owners: HashSet<LowerName> = catalog.pool_owners().cloned().collect();
        let nodata: HashSet<(LowerName, RecordType)> = catalog.pool_nodata().cloned().collect();
        let context = apexes != self.apexes || owners != self.owners || nodata != self.nodata;
        let mut changed = context;
        self.apexes = apexes;
        self.owners = owners;
        self.nodata = nodata;
        let mut parts = HashMap::default();
        for (apex, zone) in catalog.served() {
            let Some(zone) = zone else {
                continue;
            };
            let kept = match self.parts.remove(apex) {
                Some((compiled, part))
                    if Arc::ptr_eq(&compiled, zone)
                        && !(context && depends == Depends::OnCatalog) =>
                {
                    Some(part)
                }
                _ => None,
            };
            let part = kept.unwrap_or_else(|| {
                changed = true;
                compile(apex, zone)
            });
            parts.insert(apex.clone(), (zone.clone(), part));
        }
        changed |= !self.parts.is_empty();
        self.parts = parts;
        changed
    }

    /// The parts, in no order.
    pub fn parts(&self) -> impl Iterator<Item = &P> {
        self.parts.values().map(|(_, part)| part)
    }
}
