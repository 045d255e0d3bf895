//! A zone patched rather than indexed again: the nodes of the names a change touches, laid
//! over the index of the zone they change (shared by `Arc`, never copied), so an IXFR of one
//! name costs that name, whatever the zone's size.
//!
//! A patch replaces the node of a name the zone has, or adds a name (with the empty
//! non-terminals above it that do not exist yet). What it cannot express it refuses
//! ([`Unpatchable`]), and the caller indexes the changed zone whole, as a load does:
//! - a name that loses its last record (whether it stays as an empty non-terminal depends on
//!   names below it, which the index does not list);
//! - a delegation made or removed (the depths at which lookups probe for cuts change);
//! - a DNAME anywhere a patch reaches (RFC 6672 §2.4 forbids data below it: a check over
//!   the names below);
//! - any change to the NSEC or NSEC3 chains: a name gaining or losing an NSEC, NSEC3
//!   records of other parameters, a changed NSEC3PARAM, a name added to an NSEC3 zone, or the
//!   zone becoming signed or unsigned. The chains hold positions sorted once; a patch keeps
//!   every position, so NSEC records rewritten in place (their type bitmaps) are fine;
//! - an overlay grown past [`OVERLAY_LIMIT`] names plus a sixty-fourth of the zone: the
//!   caller's full index then compacts it, so lookups never wade through a long overlay.

use std::collections::HashMap;
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name, RecordType};

use super::chains;
use super::zone_data::{spelling, wildcard_depth, Lineage, Node, ZoneData};
use crate::dnssec::{self, Nsec3, Nsec3Params};
use crate::zone::SourceRecord;

/// Names an overlay may hold, beyond a sixty-fourth of the zone's, before a patch is refused
/// and the zone indexed whole again.
const OVERLAY_LIMIT: usize = 4096;

/// The nodes patches replaced or added, over a zone's base index.
#[derive(Debug, Default, Clone)]
pub(super) struct Overlay {
    /// Base positions whose node a patch replaced (the name stays).
    pub(super) replaced: HashMap<u32, Arc<Node>>,
    /// Names patches added, at positions after the base's last.
    pub(super) added: Vec<(LowerName, Arc<Node>)>,
    /// The position of each added name.
    pub(super) added_at: HashMap<LowerName, u32>,
    /// The spelling of each name whose spelling a patch changed; `None`, lower case (see
    /// `ZoneData::spelled`).
    pub(super) spellings: HashMap<LowerName, Option<Name>>,
}

impl Overlay {
    fn len(&self) -> usize {
        self.replaced.len() + self.added.len()
    }
}

/// Why a change cannot be patched in: the zone must be indexed whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unpatchable {
    #[error("{0} loses its last record")]
    Emptied(Box<Name>),
    #[error("a delegation at {0} is made or removed")]
    Delegation(Box<Name>),
    #[error("a DNAME at or above {0}")]
    Dname(Box<Name>),
    #[error("the DNSSEC chains change at {0}")]
    Chains(Box<Name>),
    #[error("{0} names already patched over the index")]
    OverlayFull(usize),
}

impl ZoneData {
    /// This zone with each owner of `changes` holding exactly the records given (its new
    /// record set, validated by the caller as a zone file is), sharing this zone's index.
    /// Equal, answer for answer, to the zone indexed whole from the changed records.
    pub fn patched(&self, changes: &[(Name, Vec<SourceRecord>)]) -> Result<Self, Unpatchable> {
        if changes.len() > self.patch_room() {
            return Err(Unpatchable::OverlayFull(self.overlay.len()));
        }
        let base_len = self.base.len();
        let mut overlay = self.overlay.clone();
        let mut wildcard_depths = self.wildcard_depths.clone();
        let mut touched: Vec<LowerName> = Vec::with_capacity(changes.len());
        for (name, records) in changes {
            let refused = |why: fn(Box<Name>) -> Unpatchable| why(Box::new(name.clone()));
            let lower = LowerName::new(name);
            let all: Vec<usize> = (0..records.len()).collect();
            let node = Node::build(records, &all);
            let position = self.position_in(&overlay, &lower);
            let old = position.map(|at| node_in(self, &overlay, at));
            if old.is_none() && node.rrsets.is_empty() {
                // Added and removed again within the change: nothing to patch.
                continue;
            }
            self.check(&lower, old, &node).map_err(refused)?;
            // Spelled as its first record's owner, as `ZoneData::new` spells it.
            let spelled = records
                .first()
                .and_then(|first| spelling(&first.record.name));
            let now = self.spelled_in(&overlay, &lower);
            if !spelled.as_ref().unwrap_or(&lower).eq_case(now) {
                overlay.spellings.insert(lower.clone(), spelled);
            }
            let patched = Arc::new(node);
            match position {
                Some(at) if at < base_len => {
                    overlay.replaced.insert(at as u32, patched);
                }
                Some(at) => overlay.added[at - base_len].1 = patched,
                None => {
                    if self.chains.nsec3.is_some() {
                        return Err(refused(Unpatchable::Chains));
                    }
                    for ancestor in self.missing_ancestors(&overlay, &lower) {
                        if node_here(self, &overlay, &ancestor).is_some() {
                            continue;
                        }
                        let empty = Arc::new(Node::default());
                        wildcard_depths.extend(wildcard_depth(&ancestor));
                        add(&mut overlay, base_len, ancestor.clone(), empty);
                        touched.push(ancestor);
                    }
                    wildcard_depths.extend(wildcard_depth(&lower));
                    add(&mut overlay, base_len, lower.clone(), patched);
                }
            }
            touched.push(lower);
        }
        wildcard_depths.sort_unstable();
        wildcard_depths.dedup();
        Ok(Self {
            origin: self.origin.clone(),
            apex: self.apex.clone(),
            base: self.base.clone(),
            overlay,
            cut_depths: self.cut_depths.clone(),
            wildcard_depths,
            secure: self.secure,
            chains: self.chains.clone(),
            lineage: Lineage::fresh(Some((self.lineage.id, touched.into_boxed_slice()))),
            negative_soa: None,
        }
        .with_negative_soa())
    }

    /// How many owners a patch of this zone may still change before [`ZoneData::patched`]
    /// refuses it for a full index.
    pub fn patch_room(&self) -> usize {
        let limit = OVERLAY_LIMIT + self.base.len() / 64;
        limit.saturating_sub(self.overlay.len())
    }

    /// The names `self` was patched with, if it was patched from `before` itself.
    pub fn patched_names(&self, before: &ZoneData) -> Option<&[LowerName]> {
        match &self.lineage.patched_from {
            Some((from, names)) if *from == before.lineage.id => Some(names),
            _ => None,
        }
    }

    /// Whether `node` may take the place of `old` at `name` (`None`: a name the zone lacks)
    /// without changing what only a whole index knows.
    fn check(
        &self,
        name: &LowerName,
        old: Option<&Node>,
        node: &Node,
    ) -> Result<(), fn(Box<Name>) -> Unpatchable> {
        let empty = Node::default();
        let old = old.unwrap_or(&empty);
        if node.rrsets.is_empty() {
            return Err(Unpatchable::Emptied);
        }
        if *name != self.apex && old.has_ns() != node.has_ns() {
            return Err(Unpatchable::Delegation);
        }
        let dname = |n: &Node| n.get(RecordType::DNAME).is_some();
        if dname(old) || dname(node) || self.dname_above(name) {
            return Err(Unpatchable::Dname);
        }
        let nsec = |n: &Node| n.get(RecordType::NSEC).is_some();
        if nsec(old) != nsec(node) || nsec3_params(old) != nsec3_params(node) {
            return Err(Unpatchable::Chains);
        }
        if *name == self.apex {
            let params = |n: &Node| chains::usable_params(n);
            let signed = |n: &Node| n.signatures(RecordType::DNSKEY).is_some();
            if params(old) != params(node) || signed(node) != self.secure {
                return Err(Unpatchable::Chains);
            }
        }
        Ok(())
    }

    /// Whether a name above `name`, up to the apex, holds a DNAME.
    fn dname_above(&self, name: &LowerName) -> bool {
        let mut ancestor = name.base_name();
        while self.apex.zone_of(&ancestor) {
            let found = self.node(&ancestor);
            if found.is_some_and(|node| node.get(RecordType::DNAME).is_some()) {
                return true;
            }
            if ancestor == self.apex {
                break;
            }
            ancestor = ancestor.base_name();
        }
        false
    }

    /// The position of `name` as `overlay` (this zone's, or one being built) sees it.
    fn position_in(&self, overlay: &Overlay, name: &LowerName) -> Option<usize> {
        match overlay.added_at.get(name) {
            Some(&at) => Some(at as usize),
            None => self.position(name),
        }
    }

    /// The ancestors of `name` below the apex, topmost first, that `overlay` over this zone
    /// does not have: the empty non-terminals a new name brings.
    fn missing_ancestors(&self, overlay: &Overlay, name: &LowerName) -> Vec<LowerName> {
        let mut missing = Vec::new();
        let mut ancestor = name.base_name();
        while self.apex.zone_of(&ancestor) && ancestor != self.apex {
            if self.position_in(overlay, &ancestor).is_some() {
                break;
            }
            missing.push(ancestor.clone());
            ancestor = ancestor.base_name();
        }
        missing.reverse();
        missing
    }
}

/// The node at `position` as `overlay` over `zone` holds it.
fn node_in<'a>(zone: &'a ZoneData, overlay: &'a Overlay, position: usize) -> &'a Node {
    let base_len = zone.base.len();
    if position >= base_len {
        return &overlay.added[position - base_len].1;
    }
    match overlay.replaced.get(&(position as u32)) {
        Some(patched) => patched,
        None => zone.node_at(position as u32),
    }
}

/// The node of `name` as `overlay` over `zone` holds it.
fn node_here<'a>(zone: &'a ZoneData, overlay: &'a Overlay, name: &LowerName) -> Option<&'a Node> {
    Some(node_in(zone, overlay, zone.position_in(overlay, name)?))
}

fn add(overlay: &mut Overlay, base_len: usize, name: LowerName, patched: Arc<Node>) {
    let at = u32::try_from(base_len + overlay.added.len()).expect("fewer than 2^32 names");
    overlay.added_at.insert(name.clone(), at);
    overlay.added.push((name, patched));
}

/// The parameters of the NSEC3 records at `node`, in order, which decide its chain.
fn nsec3_params(node: &Node) -> Vec<Nsec3Params> {
    node.get(RecordType::NSEC3)
        .into_iter()
        .flat_map(|rrset| rrset.rdatas.iter())
        .filter_map(|rdata| dnssec::octets(rdata.other()?))
        .filter_map(|wire| Nsec3::decode(wire).ok().map(|nsec3| nsec3.params))
        .collect()
}
