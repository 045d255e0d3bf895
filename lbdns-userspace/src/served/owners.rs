//! Pool owners checked against the served zones: a pool may only own a name the zones serve
//! with authority, outside any delegation, without a CNAME and in no signed zone.

use hickory_proto::rr::{LowerName, Name, RecordType};

use crate::authority::Catalog;
use crate::pool::{Placement, Zones};

/// The served zones, as pool validation asks about them.
#[derive(Debug)]
pub struct CatalogZones<'a>(pub &'a Catalog);

impl Zones for CatalogZones<'_> {
    fn placement(&self, owner: &Name) -> Placement {
        let Some(zone) = self.0.zone_for(owner) else {
            return Placement::Outside;
        };
        if let Some((cut, _)) = zone.cut_above(owner, true) {
            return Placement::Delegated {
                cut: Name::from(&cut),
            };
        }
        let node = zone.node(&LowerName::new(owner));
        if node.is_some_and(|node| node.get(RecordType::CNAME).is_some()) {
            return Placement::Cname;
        }
        if zone.has_dnskey() {
            return Placement::Signed {
                zone: zone.origin.clone(),
            };
        }
        Placement::Authoritative
    }
}
