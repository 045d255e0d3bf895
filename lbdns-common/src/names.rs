//! The name table: how the program finds the RRset id of a question (name, type).
//!
//! ```text
//! NAME_BUCKETS [bucket] ──▶ [u64; 8]   entries: fingerprint, RRset id, record
//! NAME_WORDS   [word]   ──▶ u64        records: header word, then the name's words
//! ```
//!
//! Both are memory-mapped arrays that only userspace writes. The program hashes the query name
//! while it copies it into its scratch space (one multiply per 8 bytes), looks at the entries of
//! the name's two buckets, and for each entry whose fingerprint matches compares the record with
//! the query word by word. The entry and the record's header both hold the RRset id.
//!
//! # Why the entry carries the RRset id
//!
//! At a million names every link of the lookup is a cache miss: the bucket, the record, the
//! RRset's slot (`RRSET_SLOT_*`), its answer set. With the id only in the record, each waited
//! for the one before. With the id in the entry, the slot's address is known as soon as the
//! bucket is read, so the CPU fetches the record and the slot at once. The program still
//! checks the record's id against the entry's.
//!
//! # Why not a BPF hash map
//!
//! A kernel hash map hashes its whole fixed-size key on every lookup, so names needed maps of
//! four key sizes, each element took about 100 bytes, and each map allocated buckets for its
//! full capacity. Here a name costs one 8-byte entry in a table kept at most 3/4 full and a
//! record of 8 bytes plus its name rounded up to 8, and the lookup hashes the name once, as it
//! is read.
//!
//! # Buckets (bucketized cuckoo hashing)
//!
//! A name may sit in either of two buckets of [`BUCKET_ENTRIES`] entries: [`first_bucket`] and
//! [`other_bucket`]. The second is derived from the first and the fingerprint alone, and
//! deriving it again gives back the first, so userspace can move an entry to its other bucket
//! (to make room) without the name. An entry is one aligned 8-byte store: a program sees it
//! whole, or not at all.
//!
//! # Why a reader never answers from another name's data
//!
//! A fingerprint only says which records are worth comparing; the program answers only when
//! the record's type, length and every word of its name equal the query's. A record is
//! written before its entry, and rewritten only after a grace period that follows the removal
//! of its entry (`crate::publish`), so the comparison reads a whole, stable record. Moving
//! entries between buckets can make a concurrent lookup miss a name (the query then goes to
//! the socket path, which answers it), never find a wrong one.

use crate::{limits::MAX_NAME_LEN, qtype::AddrType};

/// Entries per bucket: one 64-byte cache line.
pub const BUCKET_ENTRIES: usize = 8;

/// One bucket of `NAME_BUCKETS`: empty entries are 0.
pub type Bucket = [u64; BUCKET_ENTRIES];

/// The most entries a table holds per bucket, on average, when it is as full as it may be:
/// 6 of 8. Cuckoo insertion with two choices of 8 entries rarely needs a move below about 90%.
const FULLEST_LOAD: u32 = 6;

/// The number of buckets (a power of two, at least 2) for a table of up to `names` names.
pub const fn buckets_for(names: u32) -> u32 {
    let buckets = names.div_ceil(FULLEST_LOAD).next_power_of_two();
    if buckets < 2 {
        2
    } else {
        buckets
    }
}

/// The words of the record of a name of `name_len` bytes: the header, then the name, zero
/// padded to whole words.
pub const fn record_words(name_len: usize) -> usize {
    1 + name_len.div_ceil(8)
}

/// The most words a record takes: a name of [`MAX_NAME_LEN`] bytes.
pub const MAX_RECORD_WORDS: usize = record_words(MAX_NAME_LEN);

/// A record's first word: the RRset id, the name's length and its type. The program compares
/// `header >> 32` with [`header_tag`] and takes the id from the low half.
pub const fn record_header(id: u32, name_len: usize, addr_type: AddrType) -> u64 {
    (header_tag(name_len, addr_type) << 32) | id as u64
}

/// The high half of a record's header: name length and type, which the query must match.
pub const fn header_tag(name_len: usize, addr_type: AddrType) -> u64 {
    name_len as u64 | (addr_type as u64) << 8
}

/// What a record header holds: the RRset id, the name's length and its type. `None` for a
/// header no record has (a type byte that is no [`AddrType`]).
pub const fn parse_header(header: u64) -> Option<(u32, usize, AddrType)> {
    let tag = header >> 32;
    match AddrType::from_discriminant((tag >> 8) as u8) {
        Some(addr_type) => Some((header as u32, (tag & 0xff) as usize, addr_type)),
        None => None,
    }
}

/// The multiplier of the word hash: odd, with its bits spread (2^64 / golden ratio).
const WORD_MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Adds one 8-byte word of the lowercase name (a little-endian load, zero padded past the
/// name's end) to the hash `state`, which starts as the table's seed.
#[inline(always)]
pub const fn hash_word(state: u64, word: u64) -> u64 {
    (state ^ word).wrapping_mul(WORD_MUL).rotate_left(27)
}

/// The name's hash, from the state after its last word: mixes in the name's length and the
/// type (MurmurHash3's 64-bit finaliser), so every bit of the result depends on every input bit.
#[inline(always)]
pub const fn finish(state: u64, name_len: usize, addr_type: AddrType) -> u64 {
    let mut h = state ^ header_tag(name_len, addr_type);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The words of a name as records hold them and the hash reads them: 8 bytes at a time,
/// little-endian, the last word zero padded.
pub fn name_words(name: &[u8]) -> impl Iterator<Item = u64> + '_ {
    name.chunks(8).map(|chunk| {
        let mut word = [0; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        u64::from_le_bytes(word)
    })
}

/// [`name_words`] in an array of `N` words, zero past the name: the key of a map that holds
/// a name, or part of one, octet for octet. Octets past `8 * N` are left out; callers bound the
/// length first.
pub fn key_words<const N: usize>(name: &[u8]) -> [u64; N] {
    let mut words = [0; N];
    for (word, stored) in words.iter_mut().zip(name_words(name)) {
        *word = stored;
    }
    words
}

/// The hash of a lowercase wire-format name, as the program computes it from the query.
pub fn hash_name(seed: u64, name: &[u8], addr_type: AddrType) -> u64 {
    let state = name_words(name).fold(seed, hash_word);
    finish(state, name.len(), addr_type)
}

/// Bits of an entry's fingerprint. The low bit is always set, so it takes 2^11 values: a lookup
/// that reads a bucket of six other names compares one of their records once in about 340.
pub const FINGERPRINT_BITS: u32 = 12;
/// Bits of an entry's RRset id: ids are below this many, per family.
pub const ID_BITS: u32 = 24;
/// Bits of an entry's record: the first word of a record is below this many.
pub const RECORD_BITS: u32 = 28;
/// The most RRset ids (answer slots) per family the name table can lead to: 16,777,216.
pub const MAX_IDS: u32 = 1 << ID_BITS;
/// The most `NAME_WORDS` words the name table can lead to: 2 GiB of records.
pub const MAX_WORDS: u32 = 1 << RECORD_BITS;

const _: () = assert!(FINGERPRINT_BITS + ID_BITS + RECORD_BITS == 64);

/// The fingerprint an entry carries: the hash's top bits, odd so that no entry is 0.
#[inline(always)]
pub const fn fingerprint(hash: u64) -> u32 {
    (hash >> (64 - FINGERPRINT_BITS)) as u32 | 1
}

/// The name's first bucket: the hash's low bits. `mask` is the number of buckets minus one.
#[inline(always)]
pub const fn first_bucket(hash: u64, mask: u32) -> u32 {
    hash as u32 & mask
}

/// The bucket an entry with `fingerprint` may move to from `bucket`, and back: applying it
/// twice gives `bucket`. It differs from `bucket` whenever the table has two buckets or more.
#[inline(always)]
pub const fn other_bucket(bucket: u32, fingerprint: u32, mask: u32) -> u32 {
    bucket ^ ((fingerprint.wrapping_mul(0x5bd1_e995) | 1) & mask)
}

/// An entry: which record to compare, the fingerprint that says whether to, and the RRset id
/// the record holds. `id` is below [`MAX_IDS`] and `record` below [`MAX_WORDS`]; the
/// fingerprint is [`fingerprint`]'s.
#[inline(always)]
pub const fn entry(fingerprint: u32, id: u32, record: u32) -> u64 {
    (fingerprint as u64) << (ID_BITS + RECORD_BITS)
        | (id as u64) << RECORD_BITS
        | (record & (MAX_WORDS - 1)) as u64
}

/// The fingerprint of an entry.
#[inline(always)]
pub const fn entry_fingerprint(entry: u64) -> u32 {
    (entry >> (ID_BITS + RECORD_BITS)) as u32
}

/// The RRset id of an entry.
#[inline(always)]
pub const fn entry_id(entry: u64) -> u32 {
    (entry >> RECORD_BITS) as u32 & (MAX_IDS - 1)
}

/// The first word of the record an entry leads to.
#[inline(always)]
pub const fn entry_record(entry: u64) -> u32 {
    entry as u32 & (MAX_WORDS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_gives_back_what_it_was_made_of() {
        for (id, len, addr_type) in [
            (0, 1, AddrType::A),
            (u32::MAX, MAX_NAME_LEN, AddrType::Aaaa),
        ] {
            let header = record_header(id, len, addr_type);
            assert_eq!(parse_header(header), Some((id, len, addr_type)));
        }
        assert_eq!(parse_header(header_tag(3, AddrType::A) << 40), None);
    }

    #[test]
    fn an_entry_gives_back_what_it_was_made_of() {
        for hash in [0, u64::MAX, 0x8000_0000_0000_0000, 0x0123_4567_89ab_cdef] {
            for (id, record) in [(0, 0), (MAX_IDS - 1, MAX_WORDS - 1), (12_345, 6_789_012)] {
                let fingerprint = fingerprint(hash);
                let entry = entry(fingerprint, id, record);
                assert_ne!(entry, 0, "no entry is empty");
                assert_eq!(entry_fingerprint(entry), fingerprint);
                assert_eq!(entry_id(entry), id);
                assert_eq!(entry_record(entry), record);
            }
        }
    }
}
