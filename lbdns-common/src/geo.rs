//! Location-steered answers at the NIC (geo pools, RFC 7871 Client Subnet): how the program maps
//! a client address to a location, and a hot RRset and a location to the location's answer set.
//!
//! Per query of a geo RRset:
//!
//! ```text
//! client address ──GEO_V4 / GEO_V6 (LPM trie)──▶ GeoTarget { location, scope }
//! RRset id ──GEO_ROW_*──▶ row;  row, location ──GEO_LOCATIONS_*──▶ location RRset id
//! location RRset id ──RRSET_SLOT_*──▶ slot ──ANSWERS_*──▶ the location's answer set
//! ```
//!
//! Addresses are looked up in direct tables first, the trie only where they say nothing. Each
//! family has a root table by the address's top 16 bits (`GEO_V4_16`, `GEO_V6_16`); its entry
//! holds the target of a /16 that lies in one trie entry ([`DIRECT`]), or names a chunk of
//! `GEO_CHUNKS` ([`CHUNK`]) with an entry per value of the next octet. A chunk's entry is again
//! a target or names a chunk one octet further down, to [`V4_LEVELS`] levels below the root
//! for IPv4 (every address) and [`V6_LEVELS`] for IPv6 (every /64). The families share the
//! chunks, so a map mostly of one family uses them all. An entry of 0 (no chunk was free, or
//! the map splits a /64) sends the lookup to the trie. An IPv6 /48 is five reads down that
//! path, so `GEO_V6_48` keeps, for the /48s of every /40 the map splits, the entry the path
//! ends in at /48 ([`V6_48Slot`]): a hit there leaves at most the /56 and /64 chunks to read,
//! a miss (another /48 in the slot, or none) takes the path from the root. A trie lookup walks one node per level of
//! its depth (about 40 ns with a few hundred prefixes and 120 ns with 10^5 on the development
//! machine, over 200 ns at the NIC, and twice that for IPv6's longer prefixes); the tables cost
//! one array read per octet of the prefix past /16.
//!
//! The tries hold the classifier's entries deaggregated: disjoint prefixes covering the whole
//! family, so the prefix an address matches is the widest one over which its answer holds,
//! and its length is the ECS SCOPE PREFIX-LENGTH (RFC 7871 §7.2.1), stored in the value because
//! an LPM lookup does not say which prefix matched. A key is the kernel's LPM key: a `u32`
//! prefix length, then the address in network byte order (`[u8; 4]` or `[u8; 16]`).
//!
//! A geo RRset's own set (`RRSET_SLOT_*[id]`) carries [`crate::answer::GEO`] and is the answer
//! for clients of no location (the pool's default location's, or every healthy endpoint's).
//! Each location's answer is an RRset of its own in the maps, with an id, a slot and rotation
//! like any other, published and replaced by the same steps (`crate::publish`) under a name no
//! query can carry (it has an upper-case letter; query names are looked up lower-cased): so a
//! change of one location's answer writes that RRset only. A row of `GEO_LOCATIONS_*` lists
//! those ids by location id ([`LOCATION_ROW`] entries, each stored atomically), with
//! [`SAME_AS_OWN`] where a location gets the own set and [`NO_ANSWER`] where it gets none the
//! program can send (NODATA), and `GEO_ROW_*[id]` names the row (+1; 0 for none, which passes
//! the query). The rotation stays the own RRset's (`ROTATION_*[id]`), whatever the location.

/// A root or chunk entry with this bit holds a [`GeoTarget`] itself ([`direct`],
/// [`target_of`]): every address of its /16, /24, /32 and so on is in one trie entry.
pub const DIRECT: u32 = 1 << 31;
/// A root or chunk entry with this bit names the chunk of `GEO_CHUNKS` (the low bits) that holds
/// its 256 parts one octet longer: a /16's /24s, a /24's /32s.
pub const CHUNK: u32 = 1 << 30;
/// Entries in a chunk of `GEO_CHUNKS`: one per value of an octet.
pub const CHUNK_LEN: u32 = 256;
/// Chunk levels below an IPv4 root entry: /24 and /32, every address.
pub const V4_LEVELS: u32 = 2;
/// Chunk levels below an IPv6 root entry: /24 to /64, in six octets. Prefixes past /64 are rare
/// in client maps, and each level costs a read, so addresses inside a /64 the map splits are
/// left to the trie.
pub const V6_LEVELS: u32 = 6;

/// The [`DIRECT`] entry of `target`.
#[inline(always)]
pub const fn direct(target: GeoTarget) -> u32 {
    DIRECT | (target.scope as u32) << 16 | target.location as u32
}

/// The target a [`DIRECT`] entry holds.
#[inline(always)]
pub const fn target_of(entry: u32) -> GeoTarget {
    GeoTarget {
        location: entry as u16,
        scope: (entry >> 16) as u8,
        _pad: 0,
    }
}

/// Chunk levels from an IPv6 root entry to the entries of /48s: /24, /32, /40, /48.
pub const V6_48_LEVEL: u32 = 4;

/// Slots of `GEO_V6_48`: 2 MiB. A /48 whose slot another /48 holds is found from the root.
pub const V6_48_SLOTS: u32 = 1 << 18;

/// An IPv6 /48's entry in `GEO_V6_48`, stored and loaded as one `u64` so that a reader never
/// sees one /48's tag with another's entry: the /48's first 32 bits above its entry (the /48's
/// root-to-/48 path entry: a [`DIRECT`] target, a [`CHUNK`] of its /56s, or 0 for the trie).
/// With its slot ([`v6_48_slot`]), the tag names the /48: the slot's low 16 bits are its last
/// 16 bits mixed with the tag's hash. A slot of 0 is empty (entry 0 sends a lookup to the root
/// anyway).
pub type V6_48Slot = u64;

/// The slot of the /48 whose first 32 bits are `high` and last 16 bits `low`.
#[inline(always)]
pub const fn v6_48_slot(high: u32, low: u32) -> u32 {
    (high.wrapping_mul(0x9e37_79b1) >> 14 ^ low) & (V6_48_SLOTS - 1)
}

/// The [`V6_48Slot`] of a /48 whose first 32 bits are `high` and whose entry is `entry`.
#[inline(always)]
pub const fn v6_48_value(high: u32, entry: u32) -> V6_48Slot {
    (high as u64) << 32 | entry as u64
}

/// Location ids the program answers: the width of a `GEO_LOCATIONS_*` row. A trie value naming
/// a location at or above it passes the query to the socket path.
pub const LOCATION_ROW: u32 = 256;

/// [`GeoTarget::location`] of addresses that map to no location: they get the RRset's own set.
pub const NO_LOCATION: u16 = u16::MAX;

/// [`GeoTarget::location`] of the IPv4-mapped IPv6 addresses (`::ffff:0:0/96`), which the
/// socket path locates as the IPv4 addresses they carry: at or above [`LOCATION_ROW`], so the
/// program passes them, at no cost to any other query.
pub const MAPPED: u16 = u16::MAX - 1;

/// A `GEO_LOCATIONS_*` entry meaning "this location gets the RRset's own set".
pub const SAME_AS_OWN: u32 = u32::MAX;

/// A `GEO_LOCATIONS_*` entry meaning "the socket path answers this location" (NODATA, or not
/// written yet): an id no RRset has, so the program passes the query.
pub const NO_ANSWER: u32 = u32::MAX - 1;

/// The first octet of the label that names a location's RRset: upper case, so that no query,
/// looked up lower-cased, ever reaches it. The label is this, then the location id in four
/// hexadecimal digits, put before the owner.
pub const LOCATION_LABEL: [u8; 2] = [5, b'G'];

/// The value of a `GEO_V4`/`GEO_V6` trie entry: where the clients of one prefix are.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GeoTarget {
    /// The location id, below [`LOCATION_ROW`], or [`NO_LOCATION`].
    pub location: u16,
    /// The entry's own prefix length: the ECS scope of every answer it steers (RFC 7871
    /// §7.2.1). The trie does not report which prefix matched, so it is stored here.
    pub scope: u8,
    /// Zero: no uninitialised bytes.
    pub _pad: u8,
}

const _: () = assert!(core::mem::size_of::<GeoTarget>() == 4);

#[cfg(feature = "user")]
// SAFETY: `#[repr(C)]`, a `u16` and two bytes, no implicit padding (asserted above); every bit
// pattern is valid.
unsafe impl aya::Pod for GeoTarget {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot and the tag stored in it name one /48: the /48s of one tag (first 32 bits) all
    /// have slots of their own, so a tag match in a slot is that /48's entry.
    #[test]
    fn a_slot_and_its_tag_name_one_48() {
        for high in [0, 0x2001_0db8, 0x2a00_1450, u32::MAX] {
            let mut seen = [0u64; (V6_48_SLOTS / 64) as usize];
            for low in 0..=0xffff {
                let slot = v6_48_slot(high, low);
                assert!(slot < V6_48_SLOTS);
                let (word, bit) = ((slot / 64) as usize, 1 << (slot % 64));
                assert!(
                    seen[word] & bit == 0,
                    "{high:#x}:{low:#x} shares slot {slot}"
                );
                seen[word] |= bit;
            }
        }
        // The ECS corpus (`xdp_testrun::ecs`) steers by a /48 that shares a slot with another.
        assert_eq!(v6_48_slot(0x2001_0db8, 1), v6_48_slot(0x2001_0dbd, 0x6db7));
        let value = v6_48_value(0x2001_0db8, CHUNK | 7);
        assert_eq!((value >> 32, value as u32), (0x2001_0db8, CHUNK | 7));
    }
}
