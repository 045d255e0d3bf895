//! What a change of the catalog changes for the fast path: the names whose directly answered
//! A and AAAA RRsets may differ between two catalogs, found by comparing their zones name by
//! name, so a reload or a zone replaced with one name changed publishes that name alone.
//!
//! Zones list their names in the order their file first gives them (`ZoneData::new`), so the
//! names of two loads of nearly the same file line up: each is compared with the name at the
//! same place in the other, in wire form, with its A and AAAA RRsets and their RRSIGs; only
//! where those differ are names read back and, if they differ, looked up. A million-name zone
//! with one changed name costs one walk over both indexes and a handful of lookups.

use std::sync::Arc;

use hickory_proto::rr::{LowerName, RecordType};

use super::{Catalog, Node, Rrset, ZoneData};

/// The names whose fast-path answers may differ between `old` and `new` (pool owners always
/// among them: their answers are the pools', not the zones'); `None` when the change reaches
/// beyond the names that differ: zones added or removed, other pool owners, a delegation made
/// or removed, a zone's DNSSEC status changed. Then every hot RRset must be compared.
pub fn changed_names(old: &Catalog, new: &Catalog) -> Option<Vec<LowerName>> {
    if old.zones.depths() != new.zones.depths()
        || old.pool_owners != new.pool_owners
        || old.zones.len() != new.zones.len()
    {
        return None;
    }
    let mut names: Vec<LowerName> = new.pool_owners.iter().cloned().collect();
    for (apex, zone) in new.zones.iter() {
        match (old.zones.get(apex)?, zone) {
            (Some(before), Some(after)) if !Arc::ptr_eq(before, after) => {
                zone_changes(before, after, &mut names)?;
            }
            // A zone that gains or loses its data (a secondary's first transfer, or its
            // expiry): every name of it changes, and no other zone's.
            (None, Some(only)) | (Some(only), None) => {
                names.extend(only.nodes().map(|(name, _)| name));
            }
            _ => {}
        }
    }
    names.sort_unstable();
    names.dedup();
    Some(names)
}

/// Adds to `names` the names of `after` whose A or AAAA RRsets, or their RRSIGs, differ from
/// `before`'s, and those either zone lacks; `None` if a delegation point came or went.
fn zone_changes(before: &ZoneData, after: &ZoneData, names: &mut Vec<LowerName>) -> Option<()> {
    if before.secure != after.secure || before.cut_depths() != after.cut_depths() {
        return None;
    }
    if let Some(touched) = after.patched_names(before) {
        // A patch of `before`: only the names it touched can differ.
        for name in touched {
            let node = after.node(name)?;
            match before.node(name) {
                Some(old) if old.has_ns() != node.has_ns() => return None,
                Some(old) if same_addresses(old, node) => {}
                _ => names.push(name.clone()),
            }
        }
        return Some(());
    }
    let found = in_step(after, before, |name, node, old, found| match old {
        Some(old) => {
            found.matched += 1;
            if old.has_ns() != node.has_ns() {
                return None;
            }
            if !same_addresses(old, node) {
                found.names.push(name.clone());
            }
            Some(())
        }
        None => added(name, node, found),
    })?;
    names.extend(found.names);
    // Every name of `before` was found in `after`: none is gone.
    if found.matched < before.len() {
        let gone = in_step(before, after, |name, node, new, found| match new {
            Some(_) => Some(()),
            None => added(name, node, found),
        })?;
        names.extend(gone.names);
    }
    Some(())
}

/// A name only one of the zones has: a candidate, unless it is a delegation point.
fn added(name: &LowerName, node: &Node, found: &mut Found) -> Option<()> {
    if node.has_ns() {
        return None;
    }
    found.names.push(name.clone());
    Some(())
}

/// What comparing (part of) a zone with another found.
#[derive(Debug, Default)]
struct Found {
    /// Names whose answers may differ.
    names: Vec<LowerName>,
    /// Names the other zone has too.
    matched: usize,
}

/// Calls `f` with each name of `zone` whose fast-path answers may differ from `other`'s (see
/// [`alike`]), its node and `other`'s node of that name if it has one. The name expected in
/// `other` is the one after the last one found, so zones that list their names alike cost one
/// comparison of names in wire form and one of nodes per name; a name is read back and
/// looked up only where the names differ.
fn in_step(
    zone: &ZoneData,
    other: &ZoneData,
    f: impl Fn(&LowerName, &Node, Option<&Node>, &mut Found) -> Option<()>,
) -> Option<Found> {
    let mut found = Found::default();
    let mut next = 0;
    for position in 0..zone.len() {
        let node = zone.node_at(position as u32);
        // The name the last one found leads to expect.
        let in_place = zone.key_at(position) == other.key_at(next);
        if in_place && alike(node, other.node_at(next as u32)) {
            found.matched += 1;
            next += 1;
            continue;
        }
        let name = zone.name_at(position as u32);
        let at = if in_place {
            Some(next)
        } else {
            other.position(&name)
        };
        let counterpart = at.map(|at| {
            next = at + 1;
            other.node_at(at as u32)
        });
        f(&name, node, counterpart, &mut found)?;
    }
    Some(found)
}

/// Whether two nodes of one name give the fast path the same answers: both delegation points
/// or neither, and the same A and AAAA RRsets and RRSIGs.
fn alike(old: &Node, new: &Node) -> bool {
    // Nodes equal RRset by RRset, as nearly every node of two loads of one file is, are alike
    // without looking for each type.
    let equal = old.rrsets.len() == new.rrsets.len()
        && (old.rrsets.iter().zip(&new.rrsets))
            .all(|(old, new)| old.rtype == new.rtype && same(Some(old), Some(new)));
    equal || (old.has_ns() == new.has_ns() && same_addresses(old, new))
}

/// Whether two nodes of one name give the fast path the same A and AAAA RRsets and RRSIGs.
fn same_addresses(old: &Node, new: &Node) -> bool {
    [RecordType::A, RecordType::AAAA].into_iter().all(|rtype| {
        same(old.get(rtype), new.get(rtype)) && same(old.signatures(rtype), new.signatures(rtype))
    })
}

fn same(old: Option<&Rrset>, new: Option<&Rrset>) -> bool {
    match (old, new) {
        (None, None) => true,
        (Some(old), Some(new)) => old.ttl == new.ttl && old.rdatas == new.rdatas,
        _ => false,
    }
}
