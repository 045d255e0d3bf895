//! The owners of a zone being validated: each numbered in the order the file first names it,
//! with the types it has.
//!
//! The zone-wide rules ask which types an owner has, and the TTL rule and the DNSSEC checks
//! ask it of every record. Numbering the owners once lets them ask by number: a file of a
//! million owners is lowercased and hashed once per owner, not once per record and per rule,
//! which was most of what validating it cost.

use std::hash::BuildHasher as _;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hickory_proto::rr::{LowerName, RecordType};
use smallvec::SmallVec;

use super::SourceRecord;

/// An owner's number: its place in the order the file first names the zone's owners.
pub(super) type Number = u32;

/// The types at one owner, in the order first seen: a few, so a list kept inline.
type Types = SmallVec<[RecordType; 4]>;

/// Names numbered in the order they are first given, each found again through a table of the
/// numbers by the name's hash: how a zone's owners are numbered while it is validated
/// ([`Owners`]) and while it is indexed (`authority::ZoneData::new`, which keeps the table as
/// its index).
#[derive(Debug)]
pub(crate) struct Numbered {
    names: Vec<LowerName>,
    /// Numbers, by the hash of their name under `hasher`.
    table: HashTable<u32>,
    hasher: RandomState,
}

impl Numbered {
    /// Room for `capacity` names, so that the table is not rehashed as it fills (that hashes
    /// every name again).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            names: Vec::with_capacity(capacity),
            table: HashTable::with_capacity(capacity),
            hasher: RandomState::default(),
        }
    }

    /// The number of `name`, given it one if it has none.
    pub(crate) fn number(&mut self, name: LowerName) -> u32 {
        let hash = self.hasher.hash_one(&name);
        let names = &self.names;
        if let Some(&number) = self.table.find(hash, |&n| names[n as usize] == name) {
            return number;
        }
        let number = u32::try_from(names.len()).expect("fewer than 2^32 names in a zone");
        let (names, hasher) = (&self.names, &self.hasher);
        self.table
            .insert_unique(hash, number, |&n| hasher.hash_one(&names[n as usize]));
        self.names.push(name);
        number
    }

    /// The number of `name`, if it has one.
    pub(crate) fn find(&self, name: &LowerName) -> Option<u32> {
        let names = &self.names;
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |&n| names[n as usize] == *name)
            .copied()
    }

    /// The names, by number.
    pub(crate) fn names(&self) -> &[LowerName] {
        &self.names
    }

    /// Leaves in the table only the numbers `findable` accepts: [`Self::find`] no longer finds
    /// the others, whose names keep their numbers. Then gives back the room the names and the
    /// table do not use, rehashing the table only if that frees buckets.
    pub(crate) fn keep_findable(&mut self, findable: impl Fn(u32) -> bool) {
        self.table.retain(|&mut number| findable(number));
        let (names, hasher) = (&self.names, &self.hasher);
        self.table
            .shrink_to(0, |&n| hasher.hash_one(&names[n as usize]));
        self.names.shrink_to_fit();
    }
}

/// The owners of one zone's records, numbered, and the types accepted at each.
pub(super) struct Owners {
    /// The owners, numbered.
    numbered: Numbered,
    /// The types at each owner, by number; filled by the caller as it accepts records.
    types: Vec<Types>,
    /// Each record's owner, by the record's place in the zone.
    of_record: Vec<Number>,
}

impl Owners {
    /// Numbers the owners of `records`, none with a type yet. An owner's records are usually
    /// written together, so each record's owner is first compared with the one before it,
    /// which needs neither lowercasing nor hashing.
    pub(super) fn number(records: &[SourceRecord]) -> Self {
        // Where each run of records with one owner starts: the most owners there can be.
        let starts: Vec<usize> = (0..records.len())
            .filter(|&i| i == 0 || records[i - 1].record.name != records[i].record.name)
            .collect();
        let mut numbered = Numbered::with_capacity(starts.len());
        let mut of_record = Vec::with_capacity(records.len());
        for (run, &start) in starts.iter().enumerate() {
            let end = starts.get(run + 1).copied().unwrap_or(records.len());
            let number = numbered.number(LowerName::new(&records[start].record.name));
            of_record.extend(std::iter::repeat_n(number, end - start));
        }
        Self {
            types: vec![Types::new(); numbered.names().len()],
            numbered,
            of_record,
        }
    }

    /// How many owners there are.
    pub(super) fn len(&self) -> usize {
        self.numbered.names().len()
    }

    /// The number of the owner of the record at `index` in the zone.
    pub(super) fn of_record(&self, index: usize) -> Number {
        self.of_record[index]
    }

    /// The owner numbered `number`.
    pub(super) fn name(&self, number: Number) -> &LowerName {
        &self.numbered.names()[number as usize]
    }

    /// The types accepted at the owner numbered `number`.
    pub(super) fn types(&self, number: Number) -> &[RecordType] {
        &self.types[number as usize]
    }

    /// The types accepted at `name`, if it owns records.
    pub(super) fn types_at(&self, name: &LowerName) -> Option<&[RecordType]> {
        Some(self.types(self.numbered.find(name)?))
    }

    /// Adds `rtype` to the types at the owner numbered `number`, unless it is there.
    pub(super) fn accept(&mut self, number: Number, rtype: RecordType) {
        let types = &mut self.types[number as usize];
        if !types.contains(&rtype) {
            types.push(rtype);
        }
    }

    /// Whether any owner has a record of `rtype`.
    pub(super) fn any_has(&self, rtype: RecordType) -> bool {
        self.types.iter().any(|types| types.contains(&rtype))
    }
}
