//! The name table (`lbdns_common::names`): records written into `NAME_WORDS`, entries stored
//! into `NAME_BUCKETS`, both through memory mappings.
//!
//! Where a name's record goes is the plan's choice (records are reused only after a grace
//! period); where its entry goes is decided here, from what the buckets hold.

use std::collections::HashSet;

use lbdns_common::{
    limits::MAX_NAME_LEN,
    names::{
        entry, entry_fingerprint, entry_record, fingerprint, first_bucket, hash_name, header_tag,
        name_words, other_bucket, parse_header, record_header, record_words, Bucket, MAX_IDS,
        MAX_WORDS,
    },
    qtype::AddrType,
};

use super::{mapped::MappedArray, MapError};
use crate::compile::RrsetId;

/// How many buckets an insertion may look at to find a free entry, moving entries to their
/// other bucket to reach it. Below 3/4 full, nearly every name finds one in its own two.
const MAX_SEARCH: usize = 1024;

/// The mapped name table.
pub(super) struct NameTable {
    buckets: MappedArray<Bucket>,
    words: MappedArray<u64>,
    seed: u64,
}

/// A bucket reached while looking for a free entry, and how: by moving the entry at `index`
/// of node `from`'s bucket here. The two choices of the new name have no `from`.
#[derive(Clone, Copy)]
struct Node {
    bucket: u32,
    from: Option<(usize, usize)>,
}

impl NameTable {
    /// The table in `buckets` (a power of two of them) and `words`, hashed with `seed`: the
    /// program's `NAME_SEED`.
    pub(super) fn new(
        buckets: MappedArray<Bucket>,
        words: MappedArray<u64>,
        seed: u64,
    ) -> Result<Self, MapError> {
        if !buckets.entries().is_power_of_two() {
            return Err(MapError::Layout {
                map: lbdns_common::maps::NAME_BUCKETS,
                reason: "not a power of two in size",
            });
        }
        Ok(Self {
            buckets,
            words,
            seed,
        })
    }

    /// The number of words records can take.
    pub(super) fn words(&self) -> u32 {
        self.words.entries()
    }

    /// Writes the record of a new RRset at `record` (free words, which no program reads), then
    /// stores its entry. Fails, having stored nothing, if no entry can be made free.
    pub(super) fn insert(&self, rrset: &RrsetId, id: u32, record: u32) -> Result<(), MapError> {
        self.words
            .write(record, &record_header(id, rrset.name.len(), rrset.qtype));
        for (i, word) in name_words(&rrset.name).enumerate() {
            self.words.write(record + 1 + i as u32, &word);
        }
        let (first, entry) = self.entry(rrset, id, record);
        place(&self.buckets, first, entry)
    }

    /// Starts loading the first bucket of `rrset`'s name into the cache, for an
    /// [`Self::insert`] soon after: at a million names, each insertion's bucket was a cache
    /// miss. Hashing reads the name: [`prefetch_name`] it earlier still.
    pub(super) fn prefetch(&self, rrset: &RrsetId) {
        self.buckets.prefetch(self.hash(rrset).0);
    }

    /// Clears the entry of RRset `id`, whose record is at `record`. Its record stays as it was:
    /// a program may still be comparing it.
    pub(super) fn remove(&self, rrset: &RrsetId, id: u32, record: u32) {
        let (first, entry) = self.entry(rrset, id, record);
        let cleared = clear(&self.buckets, first, entry);
        debug_assert!(cleared, "no entry for {rrset:?}");
    }

    /// The id and record of `rrset`, if the table has an entry for it: the program's lookup.
    pub(super) fn find(&self, rrset: &RrsetId) -> Option<(u32, u32)> {
        let (first, fingerprint) = self.hash(rrset);
        let tag = header_tag(rrset.name.len(), rrset.qtype);
        [first, other_bucket(first, fingerprint, self.buckets.mask())]
            .into_iter()
            .flat_map(|bucket| self.buckets.read(bucket))
            .filter(|&e| e != 0 && entry_fingerprint(e) == fingerprint)
            .map(entry_record)
            .find_map(|record| {
                let header = self.words.read(record);
                let same_name = header >> 32 == tag
                    && (1..)
                        .zip(name_words(&rrset.name))
                        .all(|(i, word)| self.words.read(record + i) == word);
                same_name.then_some((header as u32, record))
            })
    }

    /// Calls `f` with every RRset the table has an entry for, its id and its record, in
    /// bucket order.
    pub(super) fn for_each(&self, mut f: impl FnMut(&RrsetId, u32, u32)) {
        let mut rrset = RrsetId {
            qtype: AddrType::A,
            name: Vec::with_capacity(MAX_NAME_LEN.next_multiple_of(8)),
        };
        for bucket in 0..self.buckets.entries() {
            let filled = self.buckets.read(bucket).into_iter().filter(|&e| e != 0);
            for record in filled.map(entry_record) {
                let (id, len, qtype) = parse_header(self.words.read(record))
                    .expect("an entry leads to a record this writer wrote");
                rrset.qtype = qtype;
                rrset.name.clear();
                for i in 1..record_words(len) as u32 {
                    let word = self.words.read(record + i);
                    rrset.name.extend_from_slice(&word.to_le_bytes());
                }
                rrset.name.truncate(len);
                f(&rrset, id, record);
            }
        }
    }

    /// The first bucket of `rrset`'s name, and its entry leading to RRset `id`'s `record`.
    /// Both are below the entry's limits (`lbdns_common::names::MAX_IDS`, `MAX_WORDS`): the
    /// maps are sized within them (`crate::xdp::sizing`).
    fn entry(&self, rrset: &RrsetId, id: u32, record: u32) -> (u32, u64) {
        debug_assert!(id < MAX_IDS && record < MAX_WORDS, "{id} {record}");
        let (first, fingerprint) = self.hash(rrset);
        (first, entry(fingerprint, id, record))
    }

    /// The first bucket of `rrset`'s name, and the fingerprint its entry carries.
    fn hash(&self, rrset: &RrsetId) -> (u32, u32) {
        let hash = hash_name(self.seed, &rrset.name, rrset.qtype);
        (first_bucket(hash, self.buckets.mask()), fingerprint(hash))
    }
}

/// Starts loading `rrset`'s name into the cache, for a [`NameTable::prefetch`] soon after. The
/// image's names lie on the heap in the order the catalog gave them, not in the image's, so
/// each was a cache miss of its own.
pub(super) fn prefetch_name(rrset: &RrsetId) {
    crate::cache::prefetch(rrset.name.as_ptr());
}

/// The buckets as entry placement sees them: the mapped array, or a model in tests.
trait Buckets {
    /// The number of buckets minus one.
    fn mask(&self) -> u32;
    /// A copy of bucket `bucket`.
    fn bucket(&self, bucket: u32) -> Bucket;
    /// Stores entry `index` of `bucket` in one store that a reader sees whole.
    fn store(&self, bucket: u32, index: usize, entry: u64);
}

impl Buckets for MappedArray<Bucket> {
    fn mask(&self) -> u32 {
        self.entries() - 1
    }

    fn bucket(&self, bucket: u32) -> Bucket {
        self.read(bucket)
    }

    fn store(&self, bucket: u32, index: usize, entry: u64) {
        self.store_entry(bucket, index, entry);
    }
}

/// Stores `new`, whose first bucket is `first`, into a free entry of its first or other
/// bucket. When both are full, it searches breadth first for a chain of entries, each moving
/// to its other bucket, that ends at a free entry, and moves them from the far end: every
/// entry is in one of its buckets at every moment, so a lookup running meanwhile finds it
/// (or, having read a bucket just before an entry moved into it, misses it and passes the
/// query on).
fn place(buckets: &impl Buckets, first: u32, new: u64) -> Result<(), MapError> {
    let mask = buckets.mask();
    let second = other_bucket(first, entry_fingerprint(new), mask);
    // Nearly every name finds a free entry in one of its own buckets: look there before
    // setting up the search, which allocates a list and a hash set.
    for bucket in [first, second] {
        if let Some(free) = buckets.bucket(bucket).iter().position(|&e| e == 0) {
            buckets.store(bucket, free, new);
            return Ok(());
        }
    }
    let mut nodes = vec![
        Node {
            bucket: first,
            from: None,
        },
        Node {
            bucket: second,
            from: None,
        },
    ];
    // A chain through the same bucket twice would move an entry onto itself.
    let mut seen: HashSet<u32> = HashSet::from([first, second]);
    let mut at = 0;
    while at < nodes.len() {
        let entries = buckets.bucket(nodes[at].bucket);
        if let Some(free) = entries.iter().position(|&e| e == 0) {
            shift(buckets, &nodes, at, free, new);
            return Ok(());
        }
        for (index, &e) in entries.iter().enumerate() {
            let bucket = other_bucket(nodes[at].bucket, entry_fingerprint(e), mask);
            if nodes.len() < MAX_SEARCH && seen.insert(bucket) {
                nodes.push(Node {
                    bucket,
                    from: Some((at, index)),
                });
            }
        }
        at += 1;
    }
    Err(MapError::NameTableFull)
}

/// Moves the chain that ends at entry `free` of node `at`'s bucket along by one, and stores
/// `new` where it starts.
fn shift(buckets: &impl Buckets, nodes: &[Node], mut at: usize, mut free: usize, new: u64) {
    while let Some((from, index)) = nodes[at].from {
        let moving = buckets.bucket(nodes[from].bucket)[index];
        buckets.store(nodes[at].bucket, free, moving);
        (at, free) = (from, index);
    }
    buckets.store(nodes[at].bucket, free, new);
}

/// Clears `wanted`, whose first bucket is `first`, from whichever of its buckets holds it.
/// Returns whether one did.
fn clear(buckets: &impl Buckets, first: u32, wanted: u64) -> bool {
    let second = other_bucket(first, entry_fingerprint(wanted), buckets.mask());
    for bucket in [first, second] {
        if let Some(index) = buckets.bucket(bucket).iter().position(|&e| e == wanted) {
            buckets.store(bucket, index, 0);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests;
