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
use hickory_proto::rr::{LowerName, Name, RecordType};
use smallvec::SmallVec;

use super::name::{from_wire, is_within, Wire};
use super::SourceRecord;

/// An owner's number: its place in the order the file first names the zone's owners.
pub(super) type Number = u32;

/// The types at one owner, in the order first seen: a few, so a list kept inline.
type Types = SmallVec<[RecordType; 4]>;

/// Names numbered in the order they are first given, each found again through a table of the
/// numbers by the name's hash: how a zone's owners are numbered while it is validated
/// ([`Owners`]) and while it is indexed (`authority::ZoneData::new`, which keeps the table as
/// its index).
///
/// The names are kept in lower-case wire form, one after another in one buffer: a hickory
/// `Name` takes 80 bytes however short it is, which made the names a quarter of the daemon's
/// memory at a million names. Finding a name hashes and compares its wire form.
#[derive(Debug)]
pub(crate) struct Numbered {
    /// The names' wire forms, one after another.
    wire: Vec<u8>,
    /// Where each name's wire form ends in `wire`; it starts where the one before ends.
    ends: Vec<u32>,
    /// Numbers, by the hash of their name's wire form under `hasher`.
    table: HashTable<u32>,
    hasher: RandomState,
}

/// What a name's wire form is guessed to take, for sizing the buffer ahead: about the size of
/// a name in a large zone, so that filling it rarely needs it to grow.
const GUESSED_WIRE_LEN: usize = 32;

impl Numbered {
    /// Room for `capacity` names, so that the table is not rehashed as it fills (that hashes
    /// every name again).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            wire: Vec::with_capacity(capacity * GUESSED_WIRE_LEN),
            ends: Vec::with_capacity(capacity),
            table: HashTable::with_capacity(capacity),
            hasher: RandomState::default(),
        }
    }

    /// The number of `name`, in any case, given it one if it has none.
    pub(crate) fn number(&mut self, name: &Name) -> u32 {
        let wire = Wire::lower_case(name);
        let wire = wire.as_bytes();
        let hash = self.hasher.hash_one(wire);
        if let Some(&number) = self.table.find(hash, |&n| self.wire(n) == wire) {
            return number;
        }
        let number = u32::try_from(self.ends.len()).expect("fewer than 2^32 names in a zone");
        self.wire.extend_from_slice(wire);
        let end = u32::try_from(self.wire.len()).expect("a zone's names within 4 GiB");
        self.ends.push(end);
        let (ends, octets, hasher) = (&self.ends, &self.wire, &self.hasher);
        self.table
            .insert_unique(hash, number, |&n| hasher.hash_one(slice(octets, ends, n)));
        number
    }

    /// The number of `name`, in any case, if it has one.
    pub(crate) fn find(&self, name: &Name) -> Option<u32> {
        let wire = Wire::lower_case(name);
        let wire = wire.as_bytes();
        let hash = self.hasher.hash_one(wire);
        self.table.find(hash, |&n| self.wire(n) == wire).copied()
    }

    /// How many names there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The lower-case wire form of the name numbered `number`.
    pub(crate) fn wire(&self, number: u32) -> &[u8] {
        slice(&self.wire, &self.ends, number)
    }

    /// The name numbered `number`.
    pub(crate) fn name(&self, number: u32) -> LowerName {
        let name = from_wire(self.wire(number)).expect("a name's wire form reads back");
        LowerName::from(name)
    }

    /// Leaves in the table only the numbers `findable` accepts: [`Self::find`] no longer finds
    /// the others, whose names keep their numbers. Then gives back the room the names and the
    /// table do not use, rehashing the table only if that frees buckets.
    pub(crate) fn keep_findable(&mut self, findable: impl Fn(u32) -> bool) {
        self.table.retain(|&mut number| findable(number));
        let (ends, octets, hasher) = (&self.ends, &self.wire, &self.hasher);
        self.table
            .shrink_to(0, |&n| hasher.hash_one(slice(octets, ends, n)));
        self.wire.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// The wire form of name `number` in the buffer `octets` whose names end at `ends`.
fn slice<'a>(octets: &'a [u8], ends: &[u32], number: u32) -> &'a [u8] {
    let at = number as usize;
    let start = at.checked_sub(1).map_or(0, |before| ends[before] as usize);
    &octets[start..ends[at] as usize]
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
            let number = numbered.number(&records[start].record.name);
            of_record.extend(std::iter::repeat_n(number, end - start));
        }
        Self {
            types: vec![Types::new(); numbered.len()],
            numbered,
            of_record,
        }
    }

    /// How many owners there are.
    pub(super) fn len(&self) -> usize {
        self.numbered.len()
    }

    /// The number of the owner of the record at `index` in the zone.
    pub(super) fn of_record(&self, index: usize) -> Number {
        self.of_record[index]
    }

    /// The owner numbered `number`.
    pub(super) fn name(&self, number: Number) -> LowerName {
        self.numbered.name(number)
    }

    /// Whether the owner numbered `number` is the apex whose lower-case wire form is `apex`,
    /// or below it.
    pub(super) fn is_within(&self, number: Number, apex: &[u8]) -> bool {
        is_within(self.numbered.wire(number), apex)
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
