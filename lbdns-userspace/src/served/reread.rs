//! A zone file read again over the index in force (a reload): the file is streamed and
//! compared, record by record, with the zone served now, and only the owners that differ go
//! into a patch laid over that index (`ZoneData::patched`, the overlay an IXFR uses). What
//! this holds beyond the catalog in force is a line of the file at a time, a counter per RRset
//! served and the differing owners' records: not the file's text, the parsed zone nor a
//! second index, which together put a million-name reload's peak at over four times its
//! steady memory.
//!
//! The result serves exactly what indexing the file whole would. A record counts as unchanged
//! only if a served record has its owner (case included), type, TTL and data (names in it
//! compared case and all), and comes in the same place: in its RRset's order, and its RRset
//! in its node's order of types. An owner all of whose records count so, and all of whose
//! served records the file gave, keeps its node. Every other owner, and the apex always (its
//! SOA starts the zone rules, and a reload usually changes it), is read again whole in a
//! second pass over the file, validated by the zone-file rules as a zone of its own, and
//! patched in (a file written between the two passes sends the zone to the whole reading).
//! The rules that span owners need nothing more: an owner untouched is as the
//! last load validated it, and the patch refuses what it cannot check (a DNAME above a
//! changed name, a delegation made or removed).
//!
//! The file is read whole instead ([`Whole`]), as at start-up, when something needs the whole
//! zone: an entry that does not read or a rule broken (the whole reading reports every error
//! with its `file:line`), DNSSEC records (the signature-expiry, orphan-signature and NSEC3
//! chain warnings span the zone), more changed owners than the overlay takes, or a change a
//! patch cannot express ([`Unpatchable`]: a name removed, a delegation made or removed, ...).

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use hickory_proto::rr::{LowerName, Name, Record, RecordType};

use crate::authority::{Catalog, Rdata, Unpatchable, ZoneData};
use crate::zone::{SourceRecord, Zone, ZoneError, ZoneSpec};

/// Owners, hashed fast: both passes look up every record's owner.
type Touched = HashSet<LowerName, foldhash::fast::RandomState>;

/// Why a zone file is read whole rather than patched in.
#[derive(Debug, thiserror::Error)]
pub enum Whole {
    #[error("its origin is not known before the records")]
    NoOrigin,
    #[error("no zone {0} is served with data now")]
    NotServed(Box<Name>),
    #[error("it does not read")]
    Unreadable,
    #[error("it was written while it was read")]
    Changed,
    #[error("it holds DNSSEC records ({0})")]
    Dnssec(RecordType),
    #[error("more than {0} owners changed")]
    TooManyChanges(usize),
    #[error("the changed owners break the zone rules")]
    Invalid,
    #[error(transparent)]
    Unpatchable(#[from] Unpatchable),
}

/// The zone the file of `spec` holds now, as a patch over the index `in_force` serves for it,
/// with the warnings the changed owners give; or why it must be read whole.
pub fn over_index(
    spec: &ZoneSpec,
    in_force: &Catalog,
) -> Result<(ZoneData, Vec<ZoneError>), Whole> {
    let path = spec.file.as_path();
    let started = stamp(path);
    let origin = match &spec.origin {
        Some(origin) => origin.clone(),
        None => first_soa_owner(path)?,
    };
    let Some(Some(served)) = in_force.zone_at(&origin) else {
        return Err(Whole::NotServed(Box::new(origin)));
    };
    let mut seen = Seen::new(served);
    let mut files = Files::default();
    let errors = Zone::stream(path, spec.origin.clone(), |source| {
        files.note(&source.file);
        seen.take(source.record)
    });
    if let Some(why) = seen.stopped.take() {
        return Err(why);
    }
    if !errors.is_empty() {
        return Err(Whole::Unreadable);
    }
    let stamps = files.stamps();
    if stamp(path) != started {
        return Err(Whole::Changed);
    }
    let touched = seen.finish()?;
    let mut records = Vec::new();
    let errors = Zone::stream(path, spec.origin.clone(), |source| {
        let owner = LowerName::new(&source.record.name);
        if owner == served.apex || touched.contains(&owner) {
            records.push(source);
        }
        true
    });
    if !errors.is_empty() {
        return Err(Whole::Unreadable);
    }
    if files.stamps() != stamps {
        return Err(Whole::Changed);
    }
    let changed = Zone::from_records(records, path, &origin).map_err(|_| Whole::Invalid)?;
    let changes = by_owner(changed.records, &touched);
    let patched = served.patched(&changes)?;
    Ok((patched, changed.warnings))
}

/// The owner of the first SOA record of the file at `path`: the apex a file without a
/// configured origin has.
fn first_soa_owner(path: &Path) -> Result<Name, Whole> {
    let mut origin = None;
    Zone::stream(path, None, |source| {
        if source.record.record_type() == RecordType::SOA {
            origin = Some(source.record.name);
        }
        origin.is_none()
    });
    origin.ok_or(Whole::NoOrigin)
}

/// What tells whether a file changed: its length, modification time and inode.
#[derive(Debug, PartialEq, Eq)]
struct Stamp(u64, Option<SystemTime>, u64);

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp(meta.len(), meta.modified().ok(), meta.ino()))
}

/// The files a reading took records from (the zone file and those it includes), so that the
/// second pass can be known to read what the first did: a file written between the passes
/// sends the zone to the whole reading, which reads each file once.
#[derive(Default)]
struct Files(Vec<Arc<Path>>);

impl Files {
    fn note(&mut self, file: &Arc<Path>) {
        // Records come file after file: the last one noted is nearly always this one.
        if !self
            .0
            .iter()
            .rev()
            .any(|known| Arc::ptr_eq(known, file) || known == file)
        {
            self.0.push(file.clone());
        }
    }

    fn stamps(&self) -> Vec<Option<Stamp>> {
        self.0.iter().map(|file| stamp(file)).collect()
    }
}

/// The records of the file as the served zone meets them, one at a time.
struct Seen<'a> {
    zone: &'a ZoneData,
    /// The index in `given` of the first RRset of each position's node.
    first: Vec<u32>,
    /// For each RRset served, how many of its records, from the first on, the file has given.
    given: Vec<u32>,
    /// The owners that differ from the served zone, so far.
    touched: Touched,
    /// The most owners a patch may change (the apex among them).
    room: usize,
    /// Why reading stopped early, if it did.
    stopped: Option<Whole>,
    /// The position of the last owner met: the file's next owner is usually there or just
    /// after it.
    last: usize,
}

impl<'a> Seen<'a> {
    fn new(zone: &'a ZoneData) -> Self {
        let mut first = Vec::with_capacity(zone.len());
        let mut rrsets = 0u32;
        for position in 0..zone.len() {
            let node = zone.node_at(position as u32);
            first.push(rrsets);
            rrsets += u32::try_from(node.rrsets.len()).expect("fewer than 2^32 RRsets");
        }
        Self {
            zone,
            first,
            given: vec![0; rrsets as usize],
            touched: Touched::default(),
            room: zone.patch_room(),
            stopped: None,
            last: 0,
        }
    }

    /// Counts `record` against the served zone; whether to read on.
    fn take(&mut self, record: Record) -> bool {
        let rtype = record.record_type();
        if matches!(
            rtype,
            RecordType::RRSIG
                | RecordType::NSEC
                | RecordType::NSEC3
                | RecordType::NSEC3PARAM
                | RecordType::DNSKEY
        ) {
            self.stopped = Some(Whole::Dnssec(rtype));
            return false;
        }
        let owner = LowerName::new(&record.name);
        // The apex is read again whole in any case.
        if owner == self.zone.apex || self.touched.contains(&owner) || self.meets(&owner, record) {
            return true;
        }
        self.touched.insert(owner);
        // The apex takes one place too.
        if self.touched.len() + 1 > self.room {
            self.stopped = Some(Whole::TooManyChanges(self.room));
            return false;
        }
        true
    }

    /// Whether `record` is the next record of its served RRset (or one already given again),
    /// and its RRset in its place among its node's; counts it if so.
    fn meets(&mut self, owner: &LowerName, record: Record) -> bool {
        let Some(position) = self.zone.position_from(owner, self.last) else {
            return false;
        };
        self.last = position;
        let node = self.zone.node_at(position as u32);
        if !self.zone.spelled(owner).eq_case(&record.name) {
            return false;
        }
        let rtype = record.record_type();
        let Some(k) = node.rrsets.iter().position(|rrset| rrset.rtype == rtype) else {
            return false;
        };
        let rrset = &node.rrsets[k];
        if rrset.ttl != record.ttl {
            return false;
        }
        let rdata = Rdata::from(record.data);
        let Some(at) = rrset.rdatas.iter().position(|r| identical(r, &rdata)) else {
            return false;
        };
        let slot = self.first[position] as usize + k;
        let given = self.given[slot] as usize;
        if at < given {
            // Given before: a duplicate, dropped as the whole reading drops it.
            return true;
        }
        // A record out of its served order, or the first of an RRset whose predecessor in the
        // node has not begun, would be served in another order.
        if at > given || (given == 0 && k > 0 && self.given[slot - 1] == 0) {
            return false;
        }
        self.given[slot] += 1;
        true
    }

    /// Every owner that differs: those whose records did not meet the served ones, and those
    /// with served records the file no longer gives.
    fn finish(self) -> Result<Touched, Whole> {
        let Self {
            zone,
            first,
            given,
            mut touched,
            room,
            ..
        } = self;
        for position in 0..zone.len() {
            let node = zone.node_at(position as u32);
            let slots = &given[first[position] as usize..][..node.rrsets.len()];
            let short = node
                .rrsets
                .iter()
                .zip(slots)
                .any(|(rrset, &given)| (given as usize) < rrset.rdatas.len());
            if !short {
                continue;
            }
            let name = zone.name_at(position as u32);
            if name != zone.apex {
                touched.insert(name);
                if touched.len() + 1 > room {
                    return Err(Whole::TooManyChanges(room));
                }
            }
        }
        Ok(touched)
    }
}

/// Equal data, and names in it equal case and all (`RData`'s own comparison ignores case,
/// which a reload must not: the whole reading would serve the new case).
fn identical(served: &Rdata, read: &Rdata) -> bool {
    served == read
        && match (served, read) {
            (Rdata::Other(a), Rdata::Other(b)) => a.to_string() == b.to_string(),
            _ => true,
        }
}

/// The records of the changed owners, grouped by owner in the order the file first gives
/// each, as `ZoneData::patched` takes them; the touched owners the file no longer has come
/// last, with no records.
fn by_owner(records: Vec<SourceRecord>, touched: &Touched) -> Vec<(Name, Vec<SourceRecord>)> {
    let mut at: HashMap<LowerName, usize> = HashMap::new();
    let mut changes: Vec<(Name, Vec<SourceRecord>)> = Vec::new();
    for source in records {
        let owner = LowerName::new(&source.record.name);
        let index = *at.entry(owner).or_insert_with(|| {
            changes.push((source.record.name.clone(), Vec::new()));
            changes.len() - 1
        });
        changes[index].1.push(source);
    }
    for name in touched {
        if !at.contains_key(name) {
            changes.push((Name::from(name), Vec::new()));
        }
    }
    changes
}

#[cfg(test)]
mod tests;
