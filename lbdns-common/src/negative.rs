//! Negative answers at the NIC: NXDOMAIN for an A or AAAA query whose name is one label below
//! the apex of a zone and does not exist, the shape of a random-subdomain flood.
//!
//! ```text
//! NEGATIVE_STATE [0]                     ──▶  NEGATIVE_ON    while the two maps are not changing
//! NEGATIVE_ZONES {apex}                  ──▶  NegativeZone   its number and its SOA record
//! NEGATIVE_CHILDREN {zone, first label}  ──▶  present        a name right below the apex exists
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
//! # Publishing
//!
//! The kernel may give a deleted or replaced element's memory to the next insertion at once,
//! so a program that found an element could read another's octets if it were replaced while
//! the program runs. Hence `NEGATIVE_STATE`: userspace inserts new children and new zones while
//! the program answers, but replaces or removes elements only after storing 0 there and
//! waiting for a grace period (no program run that read [`NEGATIVE_ON`] is still running),
//! and stores [`NEGATIVE_ON`] again when it is done; meanwhile the socket path answers. New
//! children go in before the records that say they exist, so a program never finds a zone's
//! record without its names (`lbdns_userspace::maps::negative`).
//!
//! # The record
//!
//! [`NegativeZone::record`] is the zone's SOA as the socket path writes it into an NXDOMAIN
//! reply: after a question one label below the apex, owner and names compressed against the
//! question and against each other (`lbdns_userspace::authority::negative_soa`). Its octets
//! depend on the question only through the first label's length, which moves every pointer:
//! [`NegativeZone::pointers`] says where they are and where each leads.

/// The longest apex the program answers for, in wire format: 8 words of key.
pub const MAX_APEX_LEN: usize = 64;

/// The words of a [`ZoneKey`].
pub const APEX_WORDS: usize = MAX_APEX_LEN / 8;

/// The octets of a [`ChildKey`]'s label: a length byte and up to 63 octets.
pub const CHILD_LABEL_LEN: usize = 64;

/// The words of a [`ChildKey`]'s label.
pub const CHILD_LABEL_WORDS: usize = CHILD_LABEL_LEN / 8;

/// The longest SOA record: owner pointer, type, class, TTL and RDLENGTH, two names of at most
/// 255 octets, five counters; rounded up to whole words.
pub const MAX_RECORD_LEN: usize = (2 + 10 + 255 + 255 + 20usize).next_multiple_of(8);

/// The most compression pointers in the record: one ending each of its three names.
pub const MAX_POINTERS: usize = 3;

/// [`Pointer::to`]'s flag: the target is relative to the record's first octet, not to the
/// apex's first octet in the question.
pub const INTO_RECORD: u16 = 0x8000;

/// [`NegativeZone::flags`]: the zone is signed. A DO=1 query needs NSEC or NSEC3 records and
/// their signatures, which the socket path sends; the program passes it.
pub const SIGNED_ZONE: u8 = 1;

/// `NEGATIVE_STATE`'s value while the program may answer NXDOMAIN.
pub const NEGATIVE_ON: u32 = 1;

/// The most names right below one apex for which the program answers: a zone with more is
/// left to the socket path, as its children would take a map element each
/// (`crate::maps::MAX_NEGATIVE_CHILDREN`).
pub const MAX_CHILDREN_PER_ZONE: usize = 16_384;

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

/// A compression pointer in [`NegativeZone::record`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pointer {
    /// Its offset in the record. The record holds zeroes there.
    pub at: u16,
    /// The octets from the apex's start in the question to the target, or, with
    /// [`INTO_RECORD`], from the record's start.
    pub to: u16,
}

/// The value of `NEGATIVE_ZONES`: what the program needs to answer NXDOMAIN below one apex.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NegativeZone {
    /// The zone's number in `NEGATIVE_CHILDREN`'s keys: a hash of its apex, unique among the
    /// zones published.
    pub zone: u64,
    /// Octets of `record` in use.
    pub len: u16,
    /// The one's complement sum of `record` as big-endian 16-bit words from its first octet,
    /// folded to 16 bits, with the pointers' octets zero.
    pub sum: u16,
    /// [`SIGNED_ZONE`].
    pub flags: u8,
    /// Entries of `pointers` in use.
    pub pointer_count: u8,
    /// Zero; explicit so that the value has no uninitialised bytes.
    pub _pad: [u8; 6],
    /// The record's compression pointers.
    pub pointers: [Pointer; MAX_POINTERS],
    /// The record, zero from `len` on and where the pointers go.
    pub record: [u8; MAX_RECORD_LEN],
}

impl Default for NegativeZone {
    fn default() -> Self {
        Self {
            zone: 0,
            len: 0,
            sum: 0,
            flags: 0,
            pointer_count: 0,
            _pad: [0; 6],
            pointers: [Pointer::default(); MAX_POINTERS],
            record: [0; MAX_RECORD_LEN],
        }
    }
}

/// The 8-byte words of [`NegativeZone::record`].
pub const RECORD_WORDS: usize = MAX_RECORD_LEN / 8;

/// The shortest SOA record: owner pointer, fixed fields, two one-octet names (the root), the
/// counters. The program copies the last 8 octets as one word ending at the record's end.
pub const MIN_RECORD_LEN: usize = 2 + 10 + 1 + 1 + 20;

const _: () = {
    assert!(core::mem::offset_of!(NegativeZone, pointers) == 20);
    assert!(core::mem::offset_of!(NegativeZone, record) == 32);
    assert!(core::mem::size_of::<NegativeZone>() == 32 + MAX_RECORD_LEN);
    assert!(core::mem::size_of::<ChildKey>() == 8 + CHILD_LABEL_LEN);
    assert!(MIN_RECORD_LEN >= 8);
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
