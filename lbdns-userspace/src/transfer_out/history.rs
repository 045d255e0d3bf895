//! Kept differences for IXFR out (RFC 1995): when a zone that may be transferred changes
//! serial, what was removed and what was added, so a secondary a few versions behind gets
//! only the change. The history is bounded: at most [`MAX_VERSIONS`] differences per zone,
//! and a difference of more than [`MAX_CHANGED`] records is not kept (the zone is sent
//! whole, as it would be anyway at that size).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use foldhash::HashMap;
use hickory_proto::rr::{LowerName, Name, RecordType};

use super::serve::soa_serial;
use crate::authority::{Catalog, Node, Rdata, Rrset, ZoneData};

/// Differences kept per zone.
pub const MAX_VERSIONS: usize = 16;
/// Records (removed plus added) above which a difference is not kept.
pub const MAX_CHANGED: usize = 10_000;

/// One record of a difference.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffRecord {
    pub name: Name,
    pub rtype: RecordType,
    pub ttl: u32,
    pub rdata: Rdata,
}

impl DiffRecord {
    /// `rdata` of `rrset` at `owner`, with its type and TTL.
    pub fn of(owner: &Name, rrset: &Rrset, rdata: &Rdata) -> Self {
        Self {
            name: owner.clone(),
            rtype: rrset.rtype,
            ttl: rrset.ttl,
            rdata: rdata.clone(),
        }
    }

    /// The SOA record of `zone`.
    pub fn soa(zone: &ZoneData) -> Self {
        let soa = zone.soa();
        Self::of(zone.spelled(&zone.apex), soa, &soa.rdatas[0])
    }
}

/// From one serial to the next: the old SOA, the records removed, the new SOA, the records
/// added (the order of RFC 1995 §4).
#[derive(Debug)]
pub struct Difference {
    pub from: DiffRecord,
    pub to: DiffRecord,
    pub removed: Vec<DiffRecord>,
    pub added: Vec<DiffRecord>,
}

impl Difference {
    fn serial(soa: &DiffRecord) -> u32 {
        match soa.rdata.other() {
            Some(hickory_proto::rr::RData::SOA(soa)) => soa.serial,
            _ => 0,
        }
    }

    pub fn old_serial(&self) -> u32 {
        Self::serial(&self.from)
    }

    pub fn new_serial(&self) -> u32 {
        Self::serial(&self.to)
    }
}

/// Every zone's kept differences, oldest first.
#[derive(Debug, Default)]
pub struct Histories {
    zones: Mutex<HashMap<LowerName, VecDeque<Arc<Difference>>>>,
}

impl Histories {
    fn lock(&self) -> MutexGuard<'_, HashMap<LowerName, VecDeque<Arc<Difference>>>> {
        self.zones
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The differences that take a zone from `serial` to its current version, in order;
    /// `None` when the history does not reach back to `serial`.
    pub fn since(&self, origin: &Name, serial: u32) -> Option<Vec<Arc<Difference>>> {
        let zones = self.lock();
        let history = zones.get(&LowerName::new(origin))?;
        let start = history.iter().position(|d| d.old_serial() == serial)?;
        let chain: Vec<_> = history.iter().skip(start).cloned().collect();
        let linked = chain
            .windows(2)
            .all(|pair| pair[0].new_serial() == pair[1].old_serial());
        linked.then_some(chain)
    }
}

/// Carries the kept differences from `previous` to `current` (a catalog replacing it) and
/// adds one for each transferable zone whose serial moved. Called where a changed catalog is
/// swapped in.
pub fn record(previous: &Catalog, current: &Catalog) {
    let old_histories = previous.transfers().histories().lock().clone();
    let mut histories = current.transfers().histories().lock();
    for (origin, rules) in current.transfers().zones() {
        if rules.provide_xfr.is_empty() {
            continue;
        }
        let apex = LowerName::new(&origin);
        let mut kept = old_histories.get(&apex).cloned().unwrap_or_default();
        let old = previous.zone_for(&origin).filter(|z| z.origin == origin);
        let new = current.zone_for(&origin).filter(|z| z.origin == origin);
        let (Some(old), Some(new)) = (old, new) else {
            continue;
        };
        if soa_serial(old) != soa_serial(new) {
            match difference(old, new) {
                Some(difference) => {
                    tracing::debug!(
                        zone = %origin,
                        from = difference.old_serial(),
                        to = difference.new_serial(),
                        removed = difference.removed.len(),
                        added = difference.added.len(),
                        "difference kept for IXFR"
                    );
                    kept.push_back(Arc::new(difference));
                    while kept.len() > MAX_VERSIONS {
                        kept.pop_front();
                    }
                }
                None => kept.clear(),
            }
        }
        histories.insert(apex, kept);
    }
}

/// What changed from `old` to `new`, the SOAs apart; `None` when more than [`MAX_CHANGED`]
/// records did. Zones list their names in file order, so two loads of nearly the same file
/// line up: each name is compared with the one at the same place in the other zone and looked
/// up only where they differ (as `authority::changed_names` does).
pub fn difference(old: &ZoneData, new: &ZoneData) -> Option<Difference> {
    let mut removed = Vec::new();
    let mut added = Vec::new();
    if let Some(touched) = new.patched_names(old) {
        // A patch of `old`: only the names it touched differ.
        for name in touched {
            let node = new.node(name)?;
            let before = old.node(name);
            missing_from(new, name, node, before, &mut added);
            if let Some(before) = before {
                missing_from(old, name, before, Some(node), &mut removed);
            }
        }
        if removed.len() + added.len() > MAX_CHANGED {
            return None;
        }
        return Some(Difference {
            from: DiffRecord::soa(old),
            to: DiffRecord::soa(new),
            removed,
            added,
        });
    }
    // The old zone's nodes by name, NSEC3-only ones too (its index leaves those out); built
    // only if a name is found neither in place nor in the index.
    let mut by_name: Option<HashMap<LowerName, usize>> = None;
    let mut matched = 0;
    for at in 0..new.len() {
        let (name, node) = new.at(at as u32);
        let before = if new.key_at(at) == old.key_at(at) {
            Some(old.node_at(at as u32))
        } else {
            old.node(&name).or_else(|| {
                let positions = by_name.get_or_insert_with(|| positions(old));
                positions.get(&name).map(|&i| old.node_at(i as u32))
            })
        };
        matched += usize::from(before.is_some());
        missing_from(new, &name, node, before, &mut added);
        if let Some(before) = before {
            missing_from(old, &name, before, Some(node), &mut removed);
        }
        if removed.len() + added.len() > MAX_CHANGED {
            return None;
        }
    }
    if matched < old.len() {
        // Some old names are gone: find them.
        let present: HashMap<LowerName, usize> = positions(new);
        for (name, node) in old.nodes() {
            if !present.contains_key(&name) {
                missing_from(old, &name, node, None, &mut removed);
            }
        }
        if removed.len() + added.len() > MAX_CHANGED {
            return None;
        }
    }
    Some(Difference {
        from: DiffRecord::soa(old),
        to: DiffRecord::soa(new),
        removed,
        added,
    })
}

/// Every node of `zone` by name.
fn positions(zone: &ZoneData) -> HashMap<LowerName, usize> {
    zone.nodes()
        .enumerate()
        .map(|(at, (name, _))| (name, at))
        .collect()
}

/// Adds to `out` the records of `node` (at `name` in `zone`) that `other` lacks, with their
/// TTL: a record whose TTL changed is removed and added again. The apex SOA is left out: the
/// difference carries both SOAs itself.
fn missing_from(
    zone: &ZoneData,
    name: &LowerName,
    node: &Node,
    other: Option<&Node>,
    out: &mut Vec<DiffRecord>,
) {
    let owner = zone.spelled(name);
    for rrset in &node.rrsets {
        if rrset.rtype == RecordType::SOA && *name == zone.apex {
            continue;
        }
        let counterpart = other.and_then(|other| {
            other
                .rrsets
                .iter()
                .find(|r| r.rtype == rrset.rtype && r.covered() == rrset.covered())
        });
        for rdata in rrset.rdatas.iter() {
            let kept = counterpart.is_some_and(|c| c.ttl == rrset.ttl && c.rdatas.contains(rdata));
            if !kept {
                out.push(DiffRecord::of(owner, rrset, rdata));
            }
        }
    }
}
