//! Catalog → what the XDP program needs to answer NXDOMAIN and NODATA right below an apex
//! (`lbdns_common::negative`): each eligible zone's SOA record as its negative replies carry
//! it, and every name right below its apex, marked with the address types it answers NODATA.
//!
//! A zone's share depends on that zone alone ([`ZonePart::of`]), so a publish after a change
//! compiles again only the zones that changed (`served::publish`); [`assemble`] adds what lies
//! outside any one zone's data: the apexes of zones served right below another's apex, and pool
//! owners. The NODATA marks come from the fixed replies ([`mark_nodata`]), which hold the socket
//! path's reply to each name's missing address types.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashSet};

use hickory_proto::rr::{LowerName, Name, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use lbdns_common::{
    fixed::{FixedKey, FixedReply},
    maps::{DEFAULT_NEGATIVE_ZONES, MAX_NEGATIVE_CHILDREN},
    names::key_words,
    negative::{
        ChildKey, NegativeZone, ZoneKey, CHILD_LABEL_LEN, CHILD_LABEL_WORDS, EXISTS, MAX_APEX_LEN,
        MAX_CHILDREN_PER_ZONE, NODATA_A, NODATA_AAAA,
    },
    prepared::{Records, INTO_RECORD},
};

use super::fixed::{FixedImage, FixedParts};
use super::prepared::records;
use super::zone_parts::{Depends, Reads, ZoneParts};
use crate::authority::{Catalog, ZoneData};
use crate::zone::name::last_label;

/// The most zones and children an image holds: half of the largest maps, since a publish adds
/// the new elements before it removes the old ones. (`NEGATIVE_CHILDREN` is made as large as
/// an image needs, up to its largest: `xdp::sizing`.)
const MAX_ZONES: usize = DEFAULT_NEGATIVE_ZONES as usize / 2;
const MAX_CHILDREN: usize = MAX_NEGATIVE_CHILDREN as usize / 2;

/// What `NEGATIVE_ZONES` and `NEGATIVE_CHILDREN` must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegativeImage {
    /// The zones whose absent names the program answers, by apex.
    pub zones: BTreeMap<ZoneKey, NegativeZone>,
    /// Every name right below those apexes that exists: [`EXISTS`], and [`NODATA_A`] and
    /// [`NODATA_AAAA`] for the address types it answers NODATA ([`mark_nodata`]).
    pub children: BTreeMap<ChildKey, u8>,
}

/// One eligible zone's share of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZonePart {
    /// The apex, lowercase.
    apex: LowerName,
    /// `NEGATIVE_ZONES`'s key and value.
    key: ZoneKey,
    value: NegativeZone,
    /// The first labels of the names right below the apex, as [`ChildKey::label`]s.
    children: BTreeSet<[u64; CHILD_LABEL_WORDS]>,
}

/// Why the program leaves a zone's nonexistent names to the socket path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    #[error("the root zone")]
    Root,
    #[error("an apex longer than {MAX_APEX_LEN} octets")]
    LongApex,
    #[error("an apex spelled with capitals")]
    SpelledApex,
    #[error("a wildcard right below the apex")]
    Wildcard,
    #[error("a DNAME at the apex")]
    Dname,
    #[error("no single SOA record to copy")]
    NoSoa,
    #[error("SOA names too long for the socket path's compression")]
    Compression,
    #[error("more than {MAX_CHILDREN_PER_ZONE} names right below the apex")]
    TooManyChildren,
}

impl ZonePart {
    /// The share of `zone`, if its nonexistent names right below the apex can be answered by
    /// the program exactly as the socket path answers them.
    pub fn of(zone: &ZoneData) -> Result<Self, Ineligible> {
        let apex = &zone.apex;
        if apex.is_root() {
            return Err(Ineligible::Root);
        }
        let spelled = zone.spelled(apex);
        let wire = Name::from(apex.clone())
            .to_bytes()
            .map_err(|_| Ineligible::LongApex)?;
        if wire.len() > MAX_APEX_LEN {
            return Err(Ineligible::LongApex);
        }
        if spelled.to_bytes().ok().as_deref() != Some(&wire[..]) {
            return Err(Ineligible::SpelledApex);
        }
        if zone.has_apex_wildcard() {
            return Err(Ineligible::Wildcard);
        }
        if zone
            .apex_node()
            .get(hickory_proto::rr::RecordType::DNAME)
            .is_some()
        {
            return Err(Ineligible::Dname);
        }
        let soa = zone.negative_soa().ok_or(Ineligible::NoSoa)?;
        // Every question one label below the apex has as many labels; one whose label is none
        // of the SOA names' tells whether the encoder has room for its compression targets.
        let applies = ["0", "1", "2"].into_iter().any(|label| {
            spelled
                .prepend_label(label)
                .is_ok_and(|question| soa.applies(&question))
        });
        if !applies {
            return Err(Ineligible::Compression);
        }
        let value = NegativeZone {
            zone: zone_number(&wire),
            records: records(soa.record(), soa.pointers(), zone.secure).ok_or(Ineligible::NoSoa)?,
        };

        let mut children = BTreeSet::new();
        for label in soa.above_apex() {
            children.insert(child_label(label).ok_or(Ineligible::NoSoa)?);
        }
        for position in 0..zone.len() {
            let Some(key) = zone.key_at(position) else {
                break;
            };
            // A name's key is its labels without the apex's: the last one is right below it.
            if let Some(label) = last_label(&key) {
                children.insert(child_label(label).ok_or(Ineligible::TooManyChildren)?);
                if children.len() > MAX_CHILDREN_PER_ZONE {
                    return Err(Ineligible::TooManyChildren);
                }
            }
        }
        Ok(Self {
            apex: apex.clone(),
            key: zone_key(&wire),
            value,
            children,
        })
    }
}

/// A zone's share reads its own data alone.
impl Reads for Result<ZonePart, Ineligible> {
    fn other_zones(&self) -> &[LowerName] {
        &[]
    }
}

/// Each served zone's share of the image, and the image they last made: an image whose inputs
/// (the zones, the apexes served, the pool owners, the fixed replies) are all unchanged is not
/// assembled or marked again.
#[derive(Debug, Default)]
pub struct NegativeParts {
    parts: ZoneParts<Result<ZonePart, Ineligible>>,
    image: NegativeImage,
    /// The generation of the fixed replies the image's NODATA marks come from.
    marked_from: Option<u64>,
}

impl NegativeParts {
    /// Brings the image up to date with `catalog`, whose fixed replies `fixed` holds (updated
    /// first), compiling again only the zones that changed.
    pub fn update(&mut self, catalog: &Catalog, fixed: &FixedParts) {
        // A part depends on its zone alone; every apex served and every pool owner makes the
        // name right below its zone's apex exist, which `assemble` adds.
        let changed = self.parts.update(catalog, Depends::OnZone, |apex, zone| {
            let part = ZonePart::of(zone);
            if let Err(why) = &part {
                tracing::info!(zone = %apex, %why, "names the zone lacks left to the socket path");
            }
            part
        });
        if changed {
            let eligible = self.parts.parts().filter_map(|part| part.as_ref().ok());
            self.image = assemble(catalog, eligible);
        }
        let generation = fixed.generation();
        if changed || self.marked_from != Some(generation) {
            mark_nodata(&mut self.image, fixed.image());
            self.marked_from = Some(generation);
        }
    }

    /// The image as the last [`Self::update`] left it.
    pub fn image(&self) -> &NegativeImage {
        &self.image
    }
}

/// The image of `parts` (the eligible zones of `catalog`, each compiled by [`ZonePart::of`]),
/// with the names right below their apexes that other zones and pool owners make exist. Zones
/// past the maps' room, and a zone whose number another took, are left out.
pub fn assemble<'p>(
    catalog: &Catalog,
    parts: impl IntoIterator<Item = &'p ZonePart>,
) -> NegativeImage {
    let mut image = NegativeImage::default();
    let mut numbers: HashMap<&LowerName, u64> = HashMap::default();
    let mut taken = HashSet::default();
    let mut parts: Vec<&ZonePart> = parts.into_iter().collect();
    parts.sort_by_key(|part| part.key);
    for part in parts {
        let number = part.value.zone;
        if image.zones.len() >= MAX_ZONES
            || image.children.len() + part.children.len() > MAX_CHILDREN
            || !taken.insert(number)
        {
            tracing::info!(
                zone = %part.apex,
                "names the zone lacks left to the socket path: no room in the XDP maps"
            );
            continue;
        }
        numbers.insert(&part.apex, number);
        image.zones.insert(part.key, part.value);
        image.children.extend(part.children.iter().map(|&label| {
            let key = ChildKey {
                zone: number,
                label,
            };
            (key, EXISTS)
        }));
    }
    // Names that exist outside the zones' own data: a zone's apex below its parent's, and
    // pool owners, which the pools answer whether or not their zone has records there.
    for (apex, _) in catalog.served() {
        if let Some(parent) = catalog.zone_for(&Name::from(apex.base_name())) {
            mark(&mut image, &numbers, parent, apex);
        }
    }
    for owner in catalog.pool_owners() {
        if let Some(zone) = catalog.zone_for(&Name::from(owner.clone())) {
            mark(&mut image, &numbers, zone, owner);
        }
    }
    image
}

/// How many names `catalog` puts into `NEGATIVE_CHILDREN`, for sizing the map before the
/// first publish (which compiles the zones again, and says why any is left out).
pub fn children_needed(catalog: &Catalog) -> u64 {
    let parts: Vec<ZonePart> = catalog
        .served()
        .filter_map(|(_, zone)| ZonePart::of(zone.as_ref()?).ok())
        .collect();
    assemble(catalog, &parts).children.len() as u64
}

/// Adds the child of `zone`'s apex that `name` lies at or below, if the zone is in the image.
fn mark(
    image: &mut NegativeImage,
    numbers: &HashMap<&LowerName, u64>,
    zone: &ZoneData,
    name: &LowerName,
) {
    let Some(&number) = numbers.get(&zone.apex) else {
        return;
    };
    let below = name.num_labels().checked_sub(zone.apex.num_labels() + 1);
    let Some(label) = below.and_then(|at| {
        Name::from(name.clone())
            .iter()
            .nth(usize::from(at))
            .map(<[u8]>::to_vec)
    }) else {
        return;
    };
    if let Some(label) = child_label(&label) {
        let key = ChildKey {
            zone: number,
            label,
        };
        image.children.insert(key, EXISTS);
    }
}

/// Marks each child whose A or AAAA question the socket path answers NODATA with exactly what
/// the program sends for an absent name there but the RCODE: the zone's record, its pointers
/// moved for the child's label. `fixed` holds the socket path's reply to every such question it
/// prepares (`super::fixed`: a name's missing address types, a pool's absent family), so a
/// reply that differs in any octet (another TTL, a compression into the child's own name) or
/// that is not fixed (a CNAME's, a referral's) leaves the child unmarked, and the fixed
/// replies' program or the socket path answers it as before.
pub fn mark_nodata(image: &mut NegativeImage, fixed: &FixedImage) {
    let NegativeImage { zones, children } = image;
    let by_number: HashMap<u64, (Vec<u8>, &Records)> = zones
        .iter()
        .map(|(key, zone)| (zone.zone, (apex_wire(key), &zone.records)))
        .collect();
    for (key, marks) in children.iter_mut() {
        *marks = EXISTS;
        let Some((apex, records)) = by_number.get(&key.zone) else {
            continue;
        };
        let mut name = label_wire(&key.label);
        let label_len = name.len();
        name.extend_from_slice(apex);
        if name.len() > lbdns_common::fixed::MAX_NAME_LEN {
            continue;
        }
        for (rtype, mark) in [(RecordType::A, NODATA_A), (RecordType::AAAA, NODATA_AAAA)] {
            let question = FixedKey {
                name: key_words(&name),
                qtype: u16::from(rtype),
                ..FixedKey::default()
            };
            let same = fixed
                .get(&question)
                .is_some_and(|reply| is_nodata_of(reply, records, label_len, name.len()));
            if same {
                *marks |= mark;
            }
        }
    }
}

/// Whether `reply` is the zone's negative `records` after a question of `name_len` octets whose
/// first label takes `label_len`, with RCODE NOERROR: what the program sends for a marked child.
fn is_nodata_of(reply: &FixedReply, records: &Records, label_len: usize, name_len: usize) -> bool {
    /// The header's AA flag, RCODE 0 (NOERROR): [`FixedReply::flags`] of a NODATA.
    const AA_NOERROR: u16 = 0x0400;
    /// The DNS header, and a question's type and class.
    const HEADER_LEN: usize = 12;
    const TYPE_CLASS_LEN: usize = 4;
    if reply.flags != AA_NOERROR || reply.counts != [0, 1, 0] {
        return false;
    }
    let ours = &reply.records;
    if ours.len != records.len || ours.flags != records.flags || ours.pointer_count != 0 {
        return false;
    }
    // Where the program's pointers lead: the apex in the question, after the header and the
    // first label; or into the records, after the question's name, type and class.
    let apex = HEADER_LEN + label_len;
    let start = HEADER_LEN + name_len + TYPE_CLASS_LEN;
    let mut octets = records.octets;
    for pointer in &records.pointers[..usize::from(records.pointer_count)] {
        let to = usize::from(pointer.to & !INTO_RECORD);
        let target = if pointer.to & INTO_RECORD != 0 {
            start + to
        } else {
            apex + to
        };
        let Ok(target) = u16::try_from(target) else {
            return false;
        };
        let at = usize::from(pointer.at);
        octets[at..at + 2].copy_from_slice(&(0xc000 | target).to_be_bytes());
    }
    let len = usize::from(records.len);
    octets[..len] == ours.octets[..len]
}

/// The apex a [`ZoneKey`] holds, in wire format.
fn apex_wire(key: &ZoneKey) -> Vec<u8> {
    let octets: Vec<u8> = key
        .apex
        .iter()
        .flat_map(|word| word.to_le_bytes())
        .collect();
    let mut at = 0;
    while let Some(&len) = octets.get(at).filter(|&&len| len != 0) {
        at += 1 + usize::from(len);
    }
    octets[..(at + 1).min(octets.len())].to_vec()
}

/// The label a [`ChildKey`] holds, with its length octet.
fn label_wire(label: &[u64; CHILD_LABEL_WORDS]) -> Vec<u8> {
    let octets: Vec<u8> = label.iter().flat_map(|word| word.to_le_bytes()).collect();
    let len = (1 + usize::from(octets[0])).min(octets.len());
    octets[..len].to_vec()
}

/// A zone's number: the 64-bit FNV-1a hash of its apex in lowercase wire form, the same in
/// every process, so that a restart finds the children it left under the same numbers.
fn zone_number(apex: &[u8]) -> u64 {
    apex.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &octet| {
        (hash ^ u64::from(octet)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The key of an apex of at most [`MAX_APEX_LEN`] octets.
fn zone_key(apex: &[u8]) -> ZoneKey {
    ZoneKey {
        apex: key_words(apex),
    }
}

/// The [`ChildKey::label`] of a label given without its length octet, in any case; `None` if
/// it is not one (more than 63 octets).
fn child_label(label: &[u8]) -> Option<[u64; CHILD_LABEL_WORDS]> {
    let mut octets = Vec::with_capacity(1 + label.len());
    octets.push(u8::try_from(label.len()).ok()?);
    octets.extend(label.iter().map(u8::to_ascii_lowercase));
    if octets.len() > CHILD_LABEL_LEN {
        return None;
    }
    Some(key_words(&octets))
}
