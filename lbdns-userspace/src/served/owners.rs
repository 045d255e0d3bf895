//! Pool owners checked against the served zones: a pool may only own a name the zones serve
//! with authority, outside any delegation, below no DNAME, without a CNAME and in no signed
//! zone.

use hickory_proto::rr::{LowerName, Name, RecordType};

use crate::authority::Catalog;
use crate::pool::{Placement, Zones};

/// The served zones, as pool validation asks about them.
#[derive(Debug)]
pub struct CatalogZones<'a>(pub &'a Catalog);

impl Zones for CatalogZones<'_> {
    fn placement(&self, owner: &Name) -> Placement {
        let Some(zone) = self.0.zone_for(owner) else {
            // A zone served without data yet: its pool owners are checked when its data
            // arrives (`Served::replace_zone`).
            if self.0.is_unavailable(owner) {
                return Placement::Authoritative;
            }
            return Placement::Outside;
        };
        let lower = LowerName::new(owner);
        if let Some((cut, _)) = zone.cut_above(owner, &lower, zone.node(&lower)) {
            return Placement::Delegated {
                cut: Name::from(&cut),
            };
        }
        let mut ancestor = lower.base_name();
        while zone.apex.zone_of(&ancestor) {
            if zone
                .node(&ancestor)
                .is_some_and(|node| node.get(RecordType::DNAME).is_some())
            {
                return Placement::Redirected {
                    dname: Name::from(&ancestor),
                };
            }
            if ancestor == zone.apex {
                break;
            }
            ancestor = ancestor.base_name();
        }
        let node = zone.node(&lower);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::Zone;

    fn placement(zone: &str, owner: &str) -> Placement {
        let zone = Zone::parse(zone, std::path::Path::new("z"), None).unwrap();
        let catalog = Catalog::new(&[zone]).unwrap();
        CatalogZones(&catalog).placement(&Name::from_ascii(owner).unwrap())
    }

    #[test]
    fn rfc6672_3_3_names_below_a_dname_are_no_pool_owners() {
        let zone = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 198.18.0.1\n\
                    old DNAME new.test.\nold A 198.18.0.2\n";
        let redirected = |owner| {
            matches!(placement(zone, owner), Placement::Redirected { dname }
                if dname == Name::from_ascii("old.z.test.").unwrap())
        };
        assert!(redirected("www.old.z.test."));
        assert!(redirected("a.b.old.z.test."));
        // The owner itself keeps its other data: only the names below it are redirected.
        assert!(matches!(
            placement(zone, "old.z.test."),
            Placement::Authoritative
        ));
        assert!(matches!(
            placement(zone, "www.z.test."),
            Placement::Authoritative
        ));
        let apex = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns.other.\n\
                    @ DNAME new.test.\n";
        assert!(matches!(
            placement(apex, "www.z.test."),
            Placement::Redirected { .. }
        ));
    }
}
