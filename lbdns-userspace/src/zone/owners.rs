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

/// The owners of one zone's records, numbered, and the types accepted at each.
pub(super) struct Owners {
    /// Each owner, by number.
    names: Vec<LowerName>,
    /// The types at each owner, by number; filled by the caller as it accepts records.
    types: Vec<Types>,
    /// Each record's owner, by the record's place in the zone.
    of_record: Vec<Number>,
    /// Numbers, by the hash of their owner under `hasher`.
    index: HashTable<Number>,
    hasher: RandomState,
}

impl Owners {
    /// Numbers the owners of `records`, none with a type yet. An owner's records are usually
    /// written together, so each record's owner is first compared with the one before it,
    /// which needs neither lowercasing nor hashing.
    pub(super) fn number(records: &[SourceRecord]) -> Self {
        // Where each run of records with one owner starts: the most owners there can be,
        // which sizes the table so that it is never rehashed (that hashes every name again).
        let starts: Vec<usize> = (0..records.len())
            .filter(|&i| i == 0 || records[i - 1].record.name != records[i].record.name)
            .collect();
        let hasher = RandomState::default();
        let mut owners = Self {
            names: Vec::with_capacity(starts.len()),
            types: Vec::new(),
            of_record: Vec::with_capacity(records.len()),
            index: HashTable::with_capacity(starts.len()),
            hasher,
        };
        for (run, &start) in starts.iter().enumerate() {
            let end = starts.get(run + 1).copied().unwrap_or(records.len());
            let number = owners.insert(LowerName::new(&records[start].record.name));
            owners
                .of_record
                .extend(std::iter::repeat_n(number, end - start));
        }
        owners.types = vec![Types::new(); owners.names.len()];
        owners
    }

    /// The number of `name`, given it one if it has none.
    fn insert(&mut self, name: LowerName) -> Number {
        let hash = self.hasher.hash_one(&name);
        let names = &self.names;
        if let Some(&number) = self.index.find(hash, |&n| names[n as usize] == name) {
            return number;
        }
        let number = Number::try_from(names.len()).expect("fewer than 2^32 owners in a zone");
        let (names, hasher) = (&self.names, &self.hasher);
        self.index
            .insert_unique(hash, number, |&n| hasher.hash_one(&names[n as usize]));
        self.names.push(name);
        number
    }

    /// How many owners there are.
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    /// The number of the owner of the record at `index` in the zone.
    pub(super) fn of_record(&self, index: usize) -> Number {
        self.of_record[index]
    }

    /// The owner numbered `number`.
    pub(super) fn name(&self, number: Number) -> &LowerName {
        &self.names[number as usize]
    }

    /// The types accepted at the owner numbered `number`.
    pub(super) fn types(&self, number: Number) -> &[RecordType] {
        &self.types[number as usize]
    }

    /// The types accepted at `name`, if it owns records.
    pub(super) fn types_at(&self, name: &LowerName) -> Option<&[RecordType]> {
        let names = &self.names;
        let number = self
            .index
            .find(self.hasher.hash_one(name), |&n| names[n as usize] == *name)?;
        Some(self.types(*number))
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
