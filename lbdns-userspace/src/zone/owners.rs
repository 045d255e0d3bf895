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

use super::name::{from_wire, is_relative, Wire};
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
/// Each name is kept as its key: its lower-case wire form without the labels of the zone's
/// apex (whole, if it is not at or below the apex), one after another in one buffer. A
/// hickory `Name` takes 80 bytes however short it is, which made the names a quarter of the
/// daemon's memory at a million names; the apex, the same at the end of every name, took half
/// of what was left. Finding a name hashes and compares its key.
#[derive(Debug)]
pub(crate) struct Numbered {
    /// The apex in lower-case wire form.
    apex: Box<[u8]>,
    /// The names' keys, one after another.
    keys: Vec<u8>,
    /// Where each name's key ends in `keys`; it starts where the one before ends.
    ends: Vec<u32>,
    /// Numbers, by the hash of their name's key under `hasher`.
    table: HashTable<u32>,
    hasher: RandomState,
}

/// What a name's key is guessed to take, for sizing the buffer ahead: about the size of a
/// name in a large zone, so that filling it rarely needs it to grow.
const GUESSED_KEY_LEN: usize = 16;

impl Numbered {
    /// Room for `capacity` names of the zone at `apex`, so that the table is not rehashed as it
    /// fills (that hashes every name again).
    pub(crate) fn with_capacity(capacity: usize, apex: &Name) -> Self {
        Self {
            apex: Wire::lower_case(apex).as_bytes().into(),
            keys: Vec::with_capacity(capacity * GUESSED_KEY_LEN),
            ends: Vec::with_capacity(capacity),
            table: HashTable::with_capacity(capacity),
            hasher: RandomState::default(),
        }
    }

    /// The number of `name`, in any case, given it one if it has none.
    pub(crate) fn number(&mut self, name: &Name) -> u32 {
        let key = self.key_of(name);
        let key = key.as_bytes();
        let hash = self.hasher.hash_one(key);
        if let Some(&number) = self.table.find(hash, |&n| self.key(n) == key) {
            return number;
        }
        let number = u32::try_from(self.ends.len()).expect("fewer than 2^32 names in a zone");
        self.keys.extend_from_slice(key);
        let end = u32::try_from(self.keys.len()).expect("a zone's names within 4 GiB");
        self.ends.push(end);
        let (ends, keys, hasher) = (&self.ends, &self.keys, &self.hasher);
        self.table
            .insert_unique(hash, number, |&n| hasher.hash_one(slice(keys, ends, n)));
        number
    }

    /// The number of `name`, in any case, if it has one.
    pub(crate) fn find(&self, name: &Name) -> Option<u32> {
        let key = self.key_of(name);
        let key = key.as_bytes();
        let hash = self.hasher.hash_one(key);
        self.table.find(hash, |&n| self.key(n) == key).copied()
    }

    /// How many names there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The key of `name`, numbered or not.
    pub(crate) fn key_of(&self, name: &Name) -> Wire {
        let mut key = Wire::lower_case(name);
        key.strip_suffix(&self.apex);
        key
    }

    /// The key of the name numbered `number`.
    pub(crate) fn key(&self, number: u32) -> &[u8] {
        slice(&self.keys, &self.ends, number)
    }

    /// Whether the name numbered `number` is the apex or below it.
    pub(crate) fn is_within(&self, number: u32) -> bool {
        is_relative(self.key(number))
    }

    /// The name numbered `number`.
    pub(crate) fn name(&self, number: u32) -> LowerName {
        let key = self.key(number);
        let whole = is_relative(key).then(|| Wire::joined(key, &self.apex));
        let wire = whole.as_ref().map_or(key, Wire::as_bytes);
        LowerName::from(from_wire(wire).expect("a name's key reads back"))
    }

    /// Leaves in the table only the numbers `findable` accepts: [`Self::find`] no longer finds
    /// the others, whose names keep their numbers. Then gives back the room the names and the
    /// table do not use, rehashing the table only if that frees buckets.
    pub(crate) fn keep_findable(&mut self, findable: impl Fn(u32) -> bool) {
        self.table.retain(|&mut number| findable(number));
        let (ends, keys, hasher) = (&self.ends, &self.keys, &self.hasher);
        self.table
            .shrink_to(0, |&n| hasher.hash_one(slice(keys, ends, n)));
        self.keys.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// The key of name `number` in the buffer `keys` whose keys end at `ends`.
fn slice<'a>(keys: &'a [u8], ends: &[u32], number: u32) -> &'a [u8] {
    let at = number as usize;
    let start = at.checked_sub(1).map_or(0, |before| ends[before] as usize);
    &keys[start..ends[at] as usize]
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
    pub(super) fn number(records: &[SourceRecord], apex: &Name) -> Self {
        // Where each run of records with one owner starts: the most owners there can be.
        let starts: Vec<usize> = (0..records.len())
            .filter(|&i| i == 0 || records[i - 1].record.name != records[i].record.name)
            .collect();
        let mut numbered = Numbered::with_capacity(starts.len(), apex);
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

    /// Whether the owner numbered `number` is the apex or below it.
    pub(super) fn is_within(&self, number: Number) -> bool {
        self.numbered.is_within(number)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    /// Names at, below and outside the apex are numbered once whatever their case, found
    /// again, and read back whole in lower case; only those outside keep the apex's labels.
    #[test]
    fn names_are_keyed_without_the_apex_and_read_back_whole() {
        let mut numbered = Numbered::with_capacity(4, &name("Example.COM."));
        let texts = [
            "example.com.",
            "WWW.example.com.",
            "a.b.Example.com.",
            "example.org.",
        ];
        let numbers: Vec<u32> = texts.iter().map(|t| numbered.number(&name(t))).collect();
        assert_eq!(numbers, [0, 1, 2, 3]);
        assert_eq!(numbered.number(&name("www.EXAMPLE.com.")), 1);
        assert_eq!(numbered.find(&name("A.B.example.com.")), Some(2));
        assert_eq!(numbered.find(&name("b.example.com.")), None);
        assert_eq!(numbered.find(&name("com.")), None);
        let back: Vec<String> = (0..4).map(|n| numbered.name(n).to_string()).collect();
        assert_eq!(
            back,
            [
                "example.com.",
                "www.example.com.",
                "a.b.example.com.",
                "example.org."
            ]
        );
        assert_eq!(numbered.key(0), b"");
        assert_eq!(numbered.key(1), b"\x03www");
        assert_eq!(numbered.key(3), b"\x07example\x03org\x00");
        let within: Vec<bool> = (0..4).map(|n| numbered.is_within(n)).collect();
        assert_eq!(within, [true, true, true, false]);
    }
}
