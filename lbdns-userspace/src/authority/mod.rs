//! The authoritative answers: which zone a name belongs to and what a query gets back.
//! Pure and shared by every transport; the XDP maps are compiled from the same data.

mod lookup;
mod query;
mod wire;
mod zone_data;

use foldhash::HashMap;
use hickory_proto::rr::{LowerName, Name, RecordType};

pub use wire::{respond, Transport, EDNS_PAYLOAD};
pub use zone_data::{Order, Rrset, Span, ZoneData};

use crate::zone::Zone;

/// Every zone served, found by the most specific origin that contains a name.
#[derive(Debug, Default)]
pub struct Catalog {
    zones: HashMap<LowerName, ZoneData>,
    /// The label counts of the apexes, deepest first, so finding a name's zone probes only
    /// depths where a zone exists.
    depths: Vec<u8>,
}

/// Two zone files claim the same apex.
#[derive(Debug, thiserror::Error)]
#[error("zone {0} is loaded twice")]
pub struct DuplicateZone(pub Name);

impl Catalog {
    pub fn new(zones: &[Zone]) -> Result<Self, DuplicateZone> {
        let mut catalog = Self::default();
        for zone in zones {
            let data = ZoneData::new(zone);
            let depth = data.apex.num_labels();
            if catalog.zones.insert(data.apex.clone(), data).is_some() {
                return Err(DuplicateZone(zone.origin.clone()));
            }
            if !catalog.depths.contains(&depth) {
                catalog.depths.push(depth);
            }
        }
        catalog.depths.sort_unstable_by(|a, b| b.cmp(a));
        Ok(catalog)
    }

    /// The zone whose apex is the closest ancestor of `name` (or `name` itself): nested zones
    /// are answered by the child.
    pub fn zone_for(&self, name: &Name) -> Option<&ZoneData> {
        let labels = name.num_labels();
        self.depths
            .iter()
            .filter(|&&depth| depth <= labels)
            .find_map(|&depth| {
                self.zones
                    .get(&LowerName::new(&name.trim_to(usize::from(depth))))
            })
    }

    pub fn zones(&self) -> impl Iterator<Item = &ZoneData> {
        self.zones.values()
    }

    /// The A and AAAA RRsets that a query for their own name and type gets verbatim with
    /// AA=1: not at or below a delegation, not a wildcard owner, and not shadowed by a more
    /// specific zone. These are what the XDP fast path may answer without the socket path.
    pub fn direct_address_rrsets(&self) -> impl Iterator<Item = &Rrset> {
        self.zones
            .values()
            .flat_map(move |zone| {
                zone.rrsets().filter(move |(name, rrset)| {
                    matches!(rrset.rtype, RecordType::A | RecordType::AAAA)
                        && !name.is_wildcard()
                        && zone.cut_above(&rrset.name, true).is_none()
                        && self
                            .zone_for(&rrset.name)
                            .is_some_and(|owner| std::ptr::eq(owner, zone))
                })
            })
            .map(|(_, rrset)| rrset)
    }
}

#[cfg(test)]
mod tests;
