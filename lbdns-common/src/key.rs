//! How a question (name, type) becomes a key of the `RRSETS_*` hash maps.
//!
//! A key is the address type's tag byte followed by the query name in lowercase wire format
//! (length-prefixed labels ending with the root label), zero padded to the key size. A wire-format
//! name ends at its first zero length byte, so the padding cannot make two names equal, and no
//! length field is needed.
//!
//! The kernel hashes the whole key on every lookup, so keys come in four sizes ([`KEY_TIERS`]) and
//! each name goes to the smallest map its key fits: typical names hash 32 bytes, not 256.

use crate::limits::MAX_NAME_LEN;

/// The record types the fast path answers, as the first byte of a key.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddrType {
    /// IPv4 address records (type 1); answer sets live in `ANSWERS_V4`.
    A = 1,
    /// IPv6 address records (type 28); answer sets live in `ANSWERS_V6`.
    Aaaa = 2,
}

impl AddrType {
    /// The RR type code on the wire.
    pub const fn rr_type(self) -> u16 {
        match self {
            AddrType::A => 1,
            AddrType::Aaaa => 28,
        }
    }

    /// The type for an RR type code, if the fast path answers it.
    pub const fn from_rr_type(rr_type: u16) -> Option<Self> {
        match rr_type {
            1 => Some(AddrType::A),
            28 => Some(AddrType::Aaaa),
            _ => None,
        }
    }

    /// The length of one address (RDLENGTH of one record).
    pub const fn addr_len(self) -> usize {
        match self {
            AddrType::A => 4,
            AddrType::Aaaa => 16,
        }
    }
}

/// The key sizes of the four `RRSETS_*` maps, smallest first. The largest holds the tag byte and
/// the longest possible name.
pub const KEY_TIERS: [usize; 4] = [32, 64, 128, 256];

const _: () = assert!(KEY_TIERS[KEY_TIERS.len() - 1] == 1 + MAX_NAME_LEN);

/// The index into [`KEY_TIERS`] of the smallest map that holds a key for a name of `name_len`
/// wire-format bytes, or `None` if the name is longer than [`MAX_NAME_LEN`] or empty.
pub const fn tier_for_name_len(name_len: usize) -> Option<usize> {
    if name_len == 0 || name_len > MAX_NAME_LEN {
        return None;
    }
    let key_len = 1 + name_len;
    let mut tier = 0;
    while KEY_TIERS[tier] < key_len {
        tier += 1;
    }
    Some(tier)
}

/// A key of one of the `RRSETS_*` maps: `[tag, name..., 0, 0...]`. `N` is one of [`KEY_TIERS`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RrsetKey<const N: usize> {
    /// Byte 0: [`AddrType`] tag. Then the lowercase wire-format name, then zeros.
    pub bytes: [u8; N],
}

impl<const N: usize> RrsetKey<N> {
    /// Builds the key for `name`, which must already be lowercase wire format. Returns `None`
    /// if the name does not fit this key size.
    pub fn new(addr_type: AddrType, name: &[u8]) -> Option<Self> {
        if name.is_empty() || 1 + name.len() > N {
            return None;
        }
        let mut bytes = [0; N];
        bytes[0] = addr_type as u8;
        bytes[1..=name.len()].copy_from_slice(name);
        Some(Self { bytes })
    }
}

const _: () = {
    assert!(core::mem::size_of::<RrsetKey<32>>() == 32);
    assert!(core::mem::align_of::<RrsetKey<256>>() == 1);
};

#[cfg(feature = "user")]
// SAFETY: a byte array: every bit pattern is valid and there is no padding.
unsafe impl<const N: usize> aya::Pod for RrsetKey<N> {}

/// The value of an `RRSETS_*` entry: the RRset's id, which stays the same for as long as the
/// entry exists. The id indexes `RRSET_SLOT_*` (where the current answer set is) and
/// `ROTATION_*`.
///
/// Userspace never replaces this value: replacing a hash-map value frees the element, which the
/// kernel may hand to the next insert while a program still reads it (see [`crate::publish`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NameEntry {
    /// Index into `RRSET_SLOT_V4` and `ROTATION_V4` (for an A key) or the `_V6` maps (AAAA).
    pub id: u32,
}

const _: () = assert!(core::mem::size_of::<NameEntry>() == 4);

#[cfg(feature = "user")]
// SAFETY: one `u32`: every bit pattern is valid and there is no padding.
unsafe impl aya::Pod for NameEntry {}
