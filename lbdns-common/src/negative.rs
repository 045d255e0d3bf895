//! Negative answers at the NIC: NXDOMAIN for an A or AAAA query whose name is one label below
//! the apex of a zone and does not exist, the shape of a random-subdomain flood.
//!
//! ```text
//! PREPARED_STATE [0]                     ──▶  PREPARED_ON    while the maps are not changing
//! NEGATIVE_ZONES {apex}                  ──▶  NegativeZone   its number and its SOA record
//! NEGATIVE_CHILDREN {zone, first label}  ──▶  marks          a name right below the apex
//!                                                            exists (EXISTS), and the address
//!                                                            types it answers NODATA
//! ```
//!
//! # Proof of absence
//!
//! The program answers NXDOMAIN for `label.apex` only when:
//! - the name table has no answer set for the question (the name may still exist);
//! - `apex`, as the question spells it, is a key of `NEGATIVE_ZONES`: a zone userspace found
//!   eligible (no wildcard right below its apex, no DNAME at it, an apex of at most [`MAX_APEX_LEN`] octets
//!   spelled in lowercase, not the root, at most [`MAX_CHILDREN_PER_ZONE`] names right below
//!   its apex);
//! - `(zone, label)` is not a key of `NEGATIVE_CHILDREN`, which holds every name right below
//!   the apex that exists in any form: with records of any type, as an empty non-terminal, as
//!   a delegation, as the apex of another zone, as a pool owner; and the first labels of the
//!   SOA's MNAME and RNAME below the apex (the socket path's encoder would compress those into
//!   the question, and the copied record would differ).
//!
//! Every key holds the whole name, so a lookup never mistakes one name for another, and the
//! proof does not depend on the name table, whose lookups can miss a name while userspace moves
//! entries (`crate::names`).
//!
//! # NODATA
//!
//! A name right below the apex that exists without an address type (a name with A records
//! asked for AAAA: every dual-stack client asks both) is answered NODATA by the same record: the
//! socket path's NODATA for it carries the zone's SOA just as its NXDOMAIN does, with RCODE
//! NOERROR. Userspace marks the child with [`NODATA_A`] or [`NODATA_AAAA`] only where it has
//! checked that the socket path's reply is exactly that (`lbdns_userspace::compile::negative`),
//! so the program needs no other lookup to answer it. Like the proof of absence, the mark does
//! not depend on the name table: a changed mark is a changed element, written only while the
//! program does not read the maps (`crate::prepared`).
//!
//! # Publishing
//!
//! As every prepared reply (`crate::prepared`): new keys while the program answers, changes
//! with `PREPARED_STATE` off. New children go in before the records that say they exist, so a
//! program never finds a zone's record without its names
//! (`lbdns_userspace::maps::prepared`).
//!
//! # The record
//!
//! [`NegativeZone::records`] is the zone's SOA as the socket path writes it into an NXDOMAIN
//! reply: after a question one label below the apex, owner and names compressed against the
//! question and against each other (`lbdns_userspace::authority::negative_soa`). Its octets
//! depend on the question only through the first label's length, which moves every pointer:
//! its [`crate::prepared::Records::pointers`] say where they are and where each leads.

use crate::prepared::Records;

/// The longest apex the program answers for, in wire format: 8 words of key.
pub const MAX_APEX_LEN: usize = 64;

/// The words of a [`ZoneKey`].
pub const APEX_WORDS: usize = MAX_APEX_LEN / 8;

/// The octets of a [`ChildKey`]'s label: a length byte and up to 63 octets.
pub const CHILD_LABEL_LEN: usize = 64;

/// The words of a [`ChildKey`]'s label.
pub const CHILD_LABEL_WORDS: usize = CHILD_LABEL_LEN / 8;

/// The most names right below one apex for which the program answers: a zone with more is
/// left to the socket path, as its children would take a map element each
/// (`crate::maps::MAX_NEGATIVE_CHILDREN`).
pub const MAX_CHILDREN_PER_ZONE: usize = 16_384;

/// `NEGATIVE_CHILDREN`'s value: the name exists. Every value has it.
pub const EXISTS: u8 = 1;
/// `NEGATIVE_CHILDREN`'s value: an A query for the name is answered NODATA with the zone's
/// record (see the module's NODATA).
pub const NODATA_A: u8 = 2;
/// `NEGATIVE_CHILDREN`'s value: an AAAA query for the name is answered NODATA, as [`NODATA_A`].
pub const NODATA_AAAA: u8 = 4;

/// The key of `NEGATIVE_ZONES`: the apex in lowercase wire format, zero padded.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneKey {
    /// The apex's octets as little-endian words, as the program reads them.
    pub apex: [u64; APEX_WORDS],
}

/// The key of `NEGATIVE_CHILDREN`: a zone's number and the first label of a name right
/// below its apex, with its length byte, lowercase, zero padded.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildKey {
    /// [`NegativeZone::zone`].
    pub zone: u64,
    /// The label's octets as little-endian words.
    pub label: [u64; CHILD_LABEL_WORDS],
}

/// The value of `NEGATIVE_ZONES`: what the program needs to answer NXDOMAIN below one apex.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NegativeZone {
    /// The zone's number in `NEGATIVE_CHILDREN`'s keys: a hash of its apex, unique among the
    /// zones published.
    pub zone: u64,
    /// The zone's SOA record, with [`crate::prepared::SIGNED_ZONE`] if the zone is signed.
    pub records: Records,
}

const _: () = {
    assert!(core::mem::offset_of!(NegativeZone, records) == 8);
    assert!(core::mem::size_of::<ChildKey>() == 8 + CHILD_LABEL_LEN);
};

#[cfg(feature = "user")]
// SAFETY: `#[repr(C)]`, integers and arrays of them, explicit padding: every bit pattern is valid.
unsafe impl aya::Pod for ZoneKey {}
#[cfg(feature = "user")]
// SAFETY: as for `ZoneKey`.
unsafe impl aya::Pod for ChildKey {}
#[cfg(feature = "user")]
// SAFETY: as for `ZoneKey`; the offsets are asserted above.
unsafe impl aya::Pod for NegativeZone {}
