//! RFC 1995 difference sequences turned into a [`Patch`]: the new record set of each owner
//! they touch, read from the zone we hold and edited there. Neither the held zone nor its
//! index is touched or copied: an IXFR of one name costs that name, and the caller lays the
//! patch over the index (`ZoneData::patched`) and onto the kept copy (`Patch::apply_to`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name, Record, RecordType};

use super::error::Inconsistency;
use super::sequence::Diff;
use crate::authority::{Node, ZoneData};
use crate::zone::{SourceRecord, Zone, ZoneError};

/// The zone a secondary holds, as an IXFR reads it: its index, which finds an owner's records
/// without a pass over the zone (a secondary keeps no other copy in memory).
pub type Held<'a> = &'a ZoneData;

/// What an IXFR changes: every owner it touches with all of its records after the change
/// (none: the owner is gone), the apex among them with its new SOA first, validated as a
/// zone file is (per owner; what reaches across names, a DNAME's, is checked when the zone
/// is indexed whole, see `ZoneData::patched`).
#[derive(Debug, Clone)]
pub struct Patch {
    /// In the order the diffs first name them, the apex last unless they name it.
    pub owners: Vec<(Name, Vec<SourceRecord>)>,
    /// Problems of the changed records that do not stop them (logged by the caller).
    pub warnings: Vec<ZoneError>,
}

impl Patch {
    /// The owners the patch gives new records, the apex among them.
    pub fn changed_names(&self) -> Vec<Name> {
        self.owners.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Makes `zone` the zone after the IXFR, in place: the touched owners' records replaced,
    /// the apex's (with the SOA) first. One pass over the records, no copy of them.
    pub fn apply_to(&self, zone: &mut Zone) {
        let touched: HashSet<&Name> = self.owners.iter().map(|(name, _)| name).collect();
        zone.records.retain(|r| !touched.contains(&r.record.name));
        let apex = LowerName::new(&zone.origin);
        let (at_apex, others): (Vec<_>, Vec<_>) = self
            .owners
            .iter()
            .partition(|(name, _)| LowerName::new(name) == apex);
        let first = at_apex.into_iter().flat_map(|(_, records)| records.clone());
        zone.records.splice(0..0, first);
        zone.records
            .extend(others.into_iter().flat_map(|(_, records)| records.clone()));
        zone.warnings = self.warnings.clone();
    }
}

/// The records of `held` changed by `diffs`, with `soa` (the new SOA) in place of the old,
/// grouped by owner, not yet validated.
///
/// A deletion of a record the zone does not hold, or an addition of one it holds, means our
/// copy and the primary's history disagree.
pub(super) fn apply(
    held: Held<'_>,
    soa: SourceRecord,
    diffs: Vec<Diff>,
    source: &Arc<Path>,
) -> Result<Vec<(Name, Vec<SourceRecord>)>, Inconsistency> {
    let mut changed: Vec<Name> = Vec::new();
    let mut seen: HashSet<Name> = HashSet::new();
    let mut deleting: HashSet<Name> = HashSet::new();
    for diff in &diffs {
        for r in diff.deleted.iter().chain(&diff.added) {
            if seen.insert(r.record.name.clone()) {
                changed.push(r.record.name.clone());
            }
        }
        deleting.extend(diff.deleted.iter().map(|r| r.record.name.clone()));
    }
    if seen.insert(held.origin.clone()) {
        changed.push(held.origin.clone());
    }
    let mut touched = current_records(held, &changed, &deleting, source);
    let apex = touched.entry(held.origin.clone()).or_default();
    apex.retain(|r| r.record.record_type() != RecordType::SOA);
    apex.insert(0, soa);
    for diff in diffs {
        for gone in diff.deleted {
            let at = touched.entry(gone.record.name.clone()).or_default();
            let Some(i) = at.iter().position(|r| same(&r.record, &gone.record)) else {
                return Err(Inconsistency::MissingDeletion {
                    position: gone.line,
                    record: describe(&gone.record),
                });
            };
            at.remove(i);
        }
        for new in diff.added {
            let at = touched.entry(new.record.name.clone()).or_default();
            if at.iter().any(|r| same(&r.record, &new.record)) {
                return Err(Inconsistency::DuplicateAddition {
                    position: new.line,
                    record: describe(&new.record),
                });
            }
            at.push(new);
        }
    }
    Ok(changed
        .into_iter()
        .map(|name| {
            let records = touched.remove(&name).unwrap_or_default();
            (name, records)
        })
        .collect())
}

/// The records `held` has at each of `owners`: each owner the index lists read from its
/// node; the others that lose a record (`deleting`: names the index does not list for
/// lookups, such as NSEC3 owners) from one pass over its nodes.
fn current_records(
    held: Held<'_>,
    owners: &[Name],
    deleting: &HashSet<Name>,
    source: &Arc<Path>,
) -> HashMap<Name, Vec<SourceRecord>> {
    let mut found: HashMap<Name, Vec<SourceRecord>> = HashMap::new();
    let mut unread: HashSet<LowerName> = HashSet::new();
    for owner in owners {
        let lower = LowerName::new(owner);
        match held.node(&lower) {
            Some(node) => {
                found.insert(owner.clone(), node_records(held, &lower, node, source));
            }
            None if deleting.contains(owner) => {
                unread.insert(lower);
            }
            None => {}
        }
    }
    if !unread.is_empty() {
        for (name, node) in held.nodes() {
            if unread.contains(&name) {
                let records = node_records(held, &name, node, source);
                found.insert(Name::from(name), records);
            }
        }
    }
    found
}

/// The records of the node at `name` in `held`, as a transfer would carry them.
fn node_records(
    held: Held<'_>,
    name: &LowerName,
    node: &Node,
    source: &Arc<Path>,
) -> Vec<SourceRecord> {
    let owner = held.spelled(name);
    node.rrsets
        .iter()
        .flat_map(|rrset| {
            rrset.rdatas.iter().map(move |rdata| SourceRecord {
                record: rdata.record_of(owner, rrset),
                file: source.clone(),
                line: 0,
            })
        })
        .collect()
}

/// The zone `held` indexes, as records: what a patch the index cannot take is applied to.
pub fn unindexed(held: Held<'_>, source: &Arc<Path>) -> Zone {
    Zone {
        origin: held.origin.clone(),
        records: held
            .records()
            .map(|record| SourceRecord {
                record,
                file: source.clone(),
                line: 0,
            })
            .collect(),
        warnings: Vec::new(),
    }
}

/// The same record as far as a diff is concerned: owner (in any case), type, class and RDATA;
/// the TTL is not part of a record's identity (RFC 2181 §5.2 makes it the RRset's).
fn same(a: &Record, b: &Record) -> bool {
    a.name == b.name && a.dns_class == b.dns_class && a.data == b.data
}

fn describe(record: &Record) -> String {
    format!("{} {}", record.name, record.record_type())
}
