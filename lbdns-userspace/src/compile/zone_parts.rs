//! Each served zone's share of an image the fast path reads (NXDOMAIN, fixed replies), kept
//! with the zone it was compiled from and the other zones it read: a publish after a change
//! compiles again only the zones that changed or whose reads changed, since a zone's data is
//! replaced, never changed in place (`Arc`).

use std::sync::Arc;

use foldhash::{HashMap, HashSet};
use hickory_proto::rr::{LowerName, RecordType};

use crate::authority::{Catalog, ZoneData};

/// A part's reads of other zones' data.
pub trait Reads {
    /// The apexes of the other served zones, with data or without, whose data the part's
    /// compilation read (a CNAME's target there, an MX's): the part is compiled again when any
    /// of them is loaded, replaced or unloaded.
    fn other_zones(&self) -> &[LowerName];
}

/// One kept part.
#[derive(Debug)]
struct Kept<P> {
    /// The zone it was compiled from.
    zone: Arc<ZoneData>,
    part: P,
    /// Each of [`Reads::other_zones`] with its data as the part read it.
    read: Vec<(LowerName, Option<Arc<ZoneData>>)>,
}

/// The parts, and what beyond its own zone each may depend on: the apexes served, the pool
/// owners and the address types their pools have no endpoint for.
#[derive(Debug)]
pub struct ZoneParts<P> {
    parts: HashMap<LowerName, Kept<P>>,
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

impl<P: Reads> ZoneParts<P> {
    /// Brings the parts up to `catalog`, compiling with `compile` each zone new or replaced,
    /// or one of whose reads of other zones changed (and every zone, for parts that depend on
    /// the catalog, when the apexes served or the pool owners changed). Returns whether
    /// anything an image is assembled from changed.
    pub fn update(
        &mut self,
        catalog: &Catalog,
        depends: Depends,
        mut compile: impl FnMut(&LowerName, &ZoneData) -> P,
    ) -> bool {
        let served: HashMap<&LowerName, &Option<Arc<ZoneData>>> = catalog.served().collect();
        let apexes: HashSet<LowerName> = served.keys().map(|&apex| apex.clone()).collect();
        let owners: HashSet<LowerName> = catalog.pool_owners().cloned().collect();
        let nodata: HashSet<(LowerName, RecordType)> = catalog.pool_nodata().cloned().collect();
        let context = apexes != self.apexes || owners != self.owners || nodata != self.nodata;
        let mut changed = context;
        self.apexes = apexes;
        self.owners = owners;
        self.nodata = nodata;
        let same = |apex: &LowerName, then: &Option<Arc<ZoneData>>| match (served.get(apex), then) {
            (Some(Some(now)), Some(then)) => Arc::ptr_eq(now, then),
            (Some(None), None) => true,
            _ => false,
        };
        let mut parts = HashMap::default();
        for (&apex, &zone) in &served {
            let Some(zone) = zone else {
                continue;
            };
            let kept = self.parts.remove(apex).filter(|kept| {
                Arc::ptr_eq(&kept.zone, zone)
                    && !(context && depends == Depends::OnCatalog)
                    && kept.read.iter().all(|(other, then)| same(other, then))
            });
            let kept = kept.unwrap_or_else(|| {
                changed = true;
                let part = compile(apex, zone);
                let read = part
                    .other_zones()
                    .iter()
                    .map(|other| {
                        let now = served.get(other).and_then(|now| (*now).clone());
                        (other.clone(), now)
                    })
                    .collect();
                Kept {
                    zone: zone.clone(),
                    part,
                    read,
                }
            });
            parts.insert(apex.clone(), kept);
        }
        changed |= !self.parts.is_empty();
        self.parts = parts;
        changed
    }

    /// The parts, in no order.
    pub fn parts(&self) -> impl Iterator<Item = &P> {
        self.parts.values().map(|kept| &kept.part)
    }
}
