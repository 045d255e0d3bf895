//! Fixed replies at the NIC: a query whose reply the socket path writes the same every time,
//! whoever asks (no rotation, no pool, no client address in it), is answered from that reply
//! prepared whole by userspace. Queries of other types than A and AAAA (SOA, NS, MX, TXT, SRV
//! and the rest at a name the zone has them), and A or AAAA at a name without that type
//! (NODATA), which the name table leaves to the socket path.
//!
//! ```text
//! PREPARED_STATE [0]               ──▶  PREPARED_ON  while the maps are not changing
//! FIXED_REPLIES {name, qtype}      ──▶  FixedReply   the header's flags and counts, the records
//! ```
//!
//! The key is the question's name octet for octet (lowercase, as the zone is compiled), so a
//! question that spells it otherwise is not found: the socket path's encoder compresses against
//! the question's octets, and its records would differ. The records are what the socket path's
//! encoder wrote after the reference question, with nothing to move: a question of the same
//! name puts every compression target where it put them. Publishing follows
//! `crate::negative`'s rule, under the same state word.

use crate::prepared::Records;

/// The longest name with a fixed reply, in wire format: 8 words of key.
pub const MAX_NAME_LEN: usize = 64;

/// The words of [`FixedKey::name`].
pub const NAME_WORDS: usize = MAX_NAME_LEN / 8;

/// The key of `FIXED_REPLIES`: the question's name and type.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FixedKey {
    /// The name's octets in wire format as little-endian words, zero padded.
    pub name: [u64; NAME_WORDS],
    /// QTYPE.
    pub qtype: u16,
    /// Zero; explicit so that the key has no uninitialised bytes.
    pub _pad: [u16; 3],
}

/// The value of `FIXED_REPLIES`: a reply but for its ID, RD and CD, question and OPT record.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedReply {
    /// The header's AA flag and RCODE, as the reply's second 16-bit word holds them.
    pub flags: u16,
    /// ANCOUNT, NSCOUNT and ARCOUNT, the OPT record not counted.
    pub counts: [u16; 3],
    /// The answer, authority and additional records.
    pub records: Records,
}

/// The header bits [`FixedReply::flags`] may hold: AA and the RCODE.
pub const REPLY_FLAGS: u16 = 0x0400 | 0x000f;

/// The most fixed replies one zone has: its apex's types and a zone's worth of ordinary names,
/// not a million-name zone's NODATA for every name.
pub const MAX_REPLIES_PER_ZONE: usize = 4096;

const _: () = {
    assert!(core::mem::size_of::<FixedKey>() == MAX_NAME_LEN + 8);
    assert!(core::mem::offset_of!(FixedReply, records) == 8);
};

#[cfg(feature = "user")]
// SAFETY: `#[repr(C)]`, integers and arrays of them, explicit padding: every bit pattern is valid.
unsafe impl aya::Pod for FixedKey {}
#[cfg(feature = "user")]
// SAFETY: as for `FixedKey`; `Records` is of the same kind.
unsafe impl aya::Pod for FixedReply {}
