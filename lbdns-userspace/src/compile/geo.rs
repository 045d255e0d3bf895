//! Geo pools for the fast path (`lbdns_common::geo`): each geo pool owner's answer for clients
//! of no location becomes its RRset, flagged `GEO`, and each location's answer an RRset of its
//! own under a name no query reaches; a [`GeoRow`] per owner and family says which location
//! gets which.
//!
//! The answers are the socket path's (`authority::GeoAnswers`, fallbacks applied), so both
//! paths give a client the same addresses. A location whose answer equals the owner's own
//! shares its set ([`RowEntry::Own`]); a location answered NODATA, and a family whose own
//! answer is NODATA, are left to the socket path.

use hickory_proto::rr::{LowerName, Name, RecordType};
use lbdns_common::geo::{LOCATION_LABEL, LOCATION_ROW};

use super::{
    hot::{lowercase_wire, unsigned},
    AddrType, HotRrset, RrsetId,
};
use crate::authority::{Catalog, GeoAnswers};

/// What one location of a geo RRset gets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowEntry {
    /// The owner's own set (the answer for clients of no location).
    Own,
    /// The set of this RRset, the location's own (its name from [`location_name`]).
    Location(RrsetId),
    /// Nothing the fast path sends (NODATA): the socket path answers.
    Nothing,
}

/// A geo RRset's row: by location id, what each location gets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GeoRow {
    /// The geo pool owner's RRset.
    pub owner: RrsetId,
    /// Indexed by location id; at most `LOCATION_ROW` (locations past it are passed).
    pub entries: Vec<RowEntry>,
    /// Whether a query's ECS address steers (the pool's `ecs`), or only its source address.
    pub ecs: bool,
}

/// The geo pools' hot RRsets (owners' and locations') and rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HotGeo {
    pub rrsets: Vec<HotRrset>,
    pub rows: Vec<GeoRow>,
}

impl HotGeo {
    fn add(&mut self, owner: &Name, answers: &GeoAnswers) {
        let wire = lowercase_wire(owner);
        for (rtype, qtype) in [
            (RecordType::A, AddrType::A),
            (RecordType::AAAA, AddrType::Aaaa),
        ] {
            let unsigned = |rrset| unsigned(owner, rrset);
            let Some(own) = answers.unmapped.get(rtype).and_then(unsigned) else {
                continue;
            };
            let mut entries = Vec::new();
            let mut located = Vec::new();
            for (index, location) in answers.by_location.iter().enumerate() {
                if index >= LOCATION_ROW as usize {
                    break;
                }
                let entry = match location.get(rtype).and_then(unsigned) {
                    None => RowEntry::Nothing,
                    Some(set) if same_answer(&set, &own) => RowEntry::Own,
                    Some(mut set) => {
                        let Some(name) = location_name(&wire, index as u16) else {
                            return;
                        };
                        set.name = name.clone();
                        located.push(set);
                        RowEntry::Location(RrsetId { qtype, name })
                    }
                };
                entries.push(entry);
            }
            self.rows.push(GeoRow {
                owner: RrsetId {
                    qtype,
                    name: wire.clone(),
                },
                entries,
                ecs: answers.ecs,
            });
            self.rrsets.push(own);
            self.rrsets.extend(located);
        }
    }
}

/// Whether two sets answer alike: the same records in the same order, TTL, schedule and cap.
fn same_answer(a: &HotRrset, b: &HotRrset) -> bool {
    (&a.addrs, a.ttl, &a.schedule, a.cap) == (&b.addrs, b.ttl, &b.schedule, b.cap)
}

/// The name of the RRset of `owner`'s answer for location `location`: `owner` under a label of
/// an upper-case `G` and the id in four hexadecimal digits. The name table holds lower-cased
/// names and the program looks queries up lower-cased, so no query reaches it. `None` when the
/// name would be longer than 255 octets (the owner is then left to the socket path).
pub fn location_name(owner: &[u8], location: u16) -> Option<Vec<u8>> {
    let mut name = LOCATION_LABEL.to_vec();
    name.extend(format!("{location:04x}").bytes());
    name.extend_from_slice(owner);
    (name.len() <= lbdns_common::limits::MAX_NAME_LEN).then_some(name)
}

/// Whether `name` is a location RRset's name ([`location_name`]): its upper-case label is
/// allowed.
pub fn is_location_name(name: &[u8]) -> bool {
    name.len() > LOCATION_LABEL.len() + 4 && name.starts_with(&LOCATION_LABEL)
}

/// Every geo pool's hot RRsets and rows, sorted by RRset.
pub fn hot_geo(catalog: &Catalog) -> HotGeo {
    let pools = catalog.pools();
    let mut geo = HotGeo::default();
    for (owner, answers) in pools.geo_pools() {
        add_owner(catalog, &mut geo, owner, answers);
    }
    geo.sort();
    geo
}

/// [`hot_geo`] at `names` only: those that are geo pool owners.
pub fn hot_geo_at<'n>(catalog: &Catalog, names: impl IntoIterator<Item = &'n LowerName>) -> HotGeo {
    let pools = catalog.pools();
    let mut geo = HotGeo::default();
    for owner in names {
        if let Some(answers) = pools.geo(owner) {
            add_owner(catalog, &mut geo, owner, answers);
        }
    }
    geo.sort();
    geo
}

/// Adds `owner`'s sets, unless its zone is served without data or signs it (its DO=1 queries
/// need RRSIGs no pool answer has: the socket path answers).
fn add_owner(catalog: &Catalog, geo: &mut HotGeo, owner: &LowerName, answers: &GeoAnswers) {
    let name = Name::from(owner);
    if catalog.zone_for(&name).is_none()
        || catalog.is_signed(&name, RecordType::A)
        || catalog.is_signed(&name, RecordType::AAAA)
    {
        return;
    }
    geo.add(&name, answers);
}

impl HotGeo {
    fn sort(&mut self) {
        self.rrsets
            .sort_unstable_by(|a, b| (a.qtype, &a.name).cmp(&(b.qtype, &b.name)));
        self.rows.sort_unstable();
    }
}

/// The location RRset ids a geo owner's row may name, whether or not it does now: what a
/// change of the owner must remove when they are gone.
pub fn location_ids(owner: &[u8], locations: usize) -> impl Iterator<Item = RrsetId> + '_ {
    (0..locations.min(LOCATION_ROW as usize)).flat_map(move |index| {
        let name = location_name(owner, index as u16);
        [AddrType::A, AddrType::Aaaa]
            .into_iter()
            .filter_map(move |qtype| name.clone().map(|name| RrsetId { qtype, name }))
    })
}
