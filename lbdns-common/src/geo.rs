//! Location-steered answers at the NIC (geo pools, RFC 7871 Client Subnet): how the program maps
//! a client address to a location, and a hot RRset and a location to the location's answer set.
//!
//! Two steps, each one map read:
//!
//! ```text
//! client address ──GEO_V4 / GEO_V6 (LPM trie)──▶ GeoTarget { location, scope }
//! (RRset's own set, GEO flag, geo_row) + location ──GEO_SLOT_V4 / _V6──▶ slot ──ANSWERS_*──▶ set
//! ```
//!
//! The tries hold the classifier's entries deaggregated: disjoint prefixes covering the whole
//! family, so the prefix an address matches is the widest one over which its answer holds,
//! and its length is the ECS SCOPE PREFIX-LENGTH (RFC 7871 §7.2.1), stored in the value because
//! an LPM lookup does not say which prefix matched. A key is the kernel's LPM key: a `u32`
//! prefix length, then the address in network byte order (`[u8; 4]` or `[u8; 16]`).
//!
//! A geo RRset's own set (`RRSET_SLOT_*[id]`) is the answer for clients of no location (the
//! pool's default location's, or every healthy endpoint's). It carries
//! [`crate::answer::GEO`] and names a row of `GEO_SLOT_*`: [`LOCATION_ROW`] slot numbers, one
//! per location id, each the slot of that location's answer set, or [`SAME_AS_OWN`]. A row is
//! given out by the map writer while the RRset lives, like a signature entry; a location's set
//! is replaced as any set is (written into a free slot, then its row entry stored with one
//! atomic store, the old slot reused after a grace period: `crate::publish`), so a change of
//! one location's answer touches that location's entry and slot only. Rotation stays per RRset
//! id (`ROTATION_*`), whatever the location.

/// Location ids the program answers: the width of a `GEO_SLOT_*` row. A trie value naming a
/// location at or above it passes the query to the socket path.
pub const LOCATION_ROW: u32 = 256;

/// [`GeoTarget::location`] of addresses that map to no location: they get the RRset's own set.
pub const NO_LOCATION: u16 = u16::MAX;

/// A `GEO_SLOT_*` entry meaning "this location gets the RRset's own set".
pub const SAME_AS_OWN: u32 = u32::MAX;

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
