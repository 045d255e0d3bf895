//! RFC 1995 difference sequences applied to a copy of the zone we hold. The zone itself is
//! never touched: the caller swaps the result in only once it validated.

use std::collections::{HashMap, HashSet};

use hickory_proto::rr::{Name, Record, RecordType};

use super::error::Inconsistency;
use super::sequence::Diff;
use crate::zone::{SourceRecord, Zone};

/// The records of `current` changed by `diffs`, with `soa` (the new SOA) first, and the owners
/// that changed, in the order the diffs first name them.
///
/// Only the touched owners are gathered and edited; every other record is copied as it was.
/// A deletion of a record the zone does not hold, or an addition of one it holds, means our
/// copy and the primary's history disagree.
pub(super) fn apply(
    current: &Zone,
    soa: SourceRecord,
    diffs: Vec<Diff>,
) -> Result<(Vec<SourceRecord>, Vec<Name>), Inconsistency> {
    let mut changed: Vec<Name> = Vec::new();
    let mut seen: HashSet<Name> = HashSet::new();
    for r in diffs.iter().flat_map(|d| d.deleted.iter().chain(&d.added)) {
        if seen.insert(r.record.name.clone()) {
            changed.push(r.record.name.clone());
        }
    }
    let mut records = Vec::with_capacity(current.records.len() + 1);
    records.push(soa);
    let mut touched: HashMap<Name, Vec<SourceRecord>> = HashMap::new();
    for r in &current.records {
        if r.record.record_type() == RecordType::SOA && r.record.name == current.origin {
            continue;
        }
        match seen.contains(&r.record.name) {
            true => touched
                .entry(r.record.name.clone())
                .or_default()
                .push(r.clone()),
            false => records.push(r.clone()),
        }
    }
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
    for name in &changed {
        records.extend(touched.remove(name).unwrap_or_default());
    }
    Ok((records, changed))
}

/// The same record as far as a diff is concerned: owner (in any case), type, class and RDATA;
/// the TTL is not part of a record's identity (RFC 2181 §5.2 makes it the RRset's).
fn same(a: &Record, b: &Record) -> bool {
    a.name == b.name && a.dns_class == b.dns_class && a.data == b.data
}

fn describe(record: &Record) -> String {
    format!("{} {}", record.name, record.record_type())
}
