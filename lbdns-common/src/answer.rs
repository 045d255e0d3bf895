//! Answer sets: the records one reply carries, stored by slot in the `ANSWERS_V4`/`ANSWERS_V6`
//! arrays. A name reaches its set through its RRset id and `RRSET_SLOT_*`; how a set is replaced
//! while queries flow is in [`crate::publish`].
//!
//! Which records reply k carries (k counts the replies this CPU has sent for the RRset id, see
//! `ROTATION_*` in [`crate::maps`]), with `n = count`:
//!
//! ```text
//! lead    = k % n                            plain rotation (schedule_len 0)
//! lead    = schedule[k % schedule_len]       a weighted order
//! records = addrs[(lead + i) % n]  for i in 0..limit
//! ```
//!
//! The socket path orders pools by the same rule, so both paths agree for every k.
//!
//! # Slots and blocks
//!
//! A slot is small: the set's header and [`INLINE_ADDRS`] addresses (32 bytes for A, 80 for
//! AAAA). Most RRsets are a few addresses in plain rotation, and their set is one slot. A set of
//! more addresses, or with a weighted order, has [`EXTENDED`] and takes a block of
//! [`BLOCK_SLOTS`] slots: the head slot, then its [`Extension`] (the schedule and the addresses
//! past the inline ones) laid over the [`EXTENSION_SLOTS`] slots after it. Every slot of a
//! preallocated array costs its size whether used or not, so a slot sized for the largest set
//! (112 bytes for A, 304 for AAAA, before) cost most zones three times what they use.

use crate::limits::{MAX_ADDRS, MAX_SCHEDULE};

/// Addresses a set's head slot holds. A set of more is [`EXTENDED`].
pub const INLINE_ADDRS: usize = 4;

/// The slots after its head that an [`EXTENDED`] set's [`Extension`] takes.
pub const EXTENSION_SLOTS: u32 = 3;

/// The slots an [`EXTENDED`] set takes, its head first: a block, aligned to its size in the
/// slot numbers.
pub const BLOCK_SLOTS: u32 = 1 + EXTENSION_SLOTS;

/// One RRset's answer set as the fast path serves it: its head slot. `L` is the address length:
/// 4 or 16.
///
/// The set, its order (schedule and cap) and its extension are one block of slots, so that
/// pointing an RRset id at another slot changes them all at once: a reply never leads with a
/// schedule index meant for other addresses. The signature store's entry is named here for the
/// same reason.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnswerSet<const L: usize> {
    /// The TTL every record of the reply carries, in seconds.
    pub ttl: u32,
    /// How many addresses the set has: 1..=[`MAX_ADDRS`], more than [`INLINE_ADDRS`] only with
    /// [`EXTENDED`]. The program passes a query whose set is outside that range. It does not
    /// check the flag against the count: that test split every later path in two for the
    /// verifier (611K verified instructions became more than a million), and the writer builds
    /// both from one set (`compile`), so an extension is always where a count above
    /// [`INLINE_ADDRS`] says.
    pub count: u8,
    /// The answer cap: the most records one reply carries, 1..=`count` (`count` for a plain
    /// RRset). A reply carries its leading address and the `limit - 1` that follow it, wrapping
    /// around. The program passes a query whose set has 0 here, and reads more as `count`.
    pub limit: u8,
    /// 0 for plain rotation; otherwise how many entries of the extension's schedule are in use,
    /// 1..=[`MAX_SCHEDULE`], with [`EXTENDED`]. The program passes a query whose set is outside
    /// that range.
    pub schedule_len: u8,
    /// What the program must know about the RRset besides its records: [`SIGNED`],
    /// [`SIGNATURES`], [`GEO`], [`NO_ECS`], [`EXTENDED`].
    pub flags: u8,
    /// With [`SIGNATURES`] in `flags`: the entry of `SIGNATURES` ([`crate::signature`]) that
    /// holds the RRSIG records covering these addresses. Written by the map writer, which
    /// chooses the entry; zero without the flag.
    pub signatures: u32,
    /// Zero. Explicit so that the value has no uninitialised bytes, and so that `addrs` starts
    /// 16 bytes in.
    pub _pad: [u8; 4],
    /// The first addresses in network byte order; entries from `count` on are zero.
    pub addrs: [[u8; L]; INLINE_ADDRS],
}

/// What the [`EXTENSION_SLOTS`] slots after an [`EXTENDED`] set's head hold, byte for byte
/// (zero padded to their end).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Extension<const L: usize> {
    /// Indices into the set's addresses, each below `count`: reply k leads with address
    /// `schedule[k % schedule_len]`. In a weighted pool's schedule each address appears in
    /// proportion to its weight. The program passes a query whose entry is not below `count`.
    /// Entries from `schedule_len` on are zero.
    pub schedule: [u8; MAX_SCHEDULE],
    /// The addresses after the [`INLINE_ADDRS`] in the head, in network byte order; entries past
    /// `count` are zero.
    pub addrs: [[u8; L]; MAX_ADDRS - INLINE_ADDRS],
}

impl<const L: usize> AnswerSet<L> {
    /// The bytes of one slot.
    pub const SIZE: usize = core::mem::size_of::<Self>();
}

impl<const L: usize> Extension<L> {
    /// Where the extension's address `index` (from [`INLINE_ADDRS`] to [`MAX_ADDRS`]) of the
    /// set's addresses lies: its byte offset from the start of the first slot after the head.
    /// The slot is `offset / AnswerSet::<L>::SIZE` after that one; no address crosses slots.
    #[inline(always)]
    pub const fn addr_offset(index: usize) -> usize {
        ADDRS_OFFSET + (index - INLINE_ADDRS) * L
    }

    /// The extension as the slots that hold it.
    pub fn slots(&self) -> [AnswerSet<L>; EXTENSION_SLOTS as usize] {
        // SAFETY: `AnswerSet` is integers and bytes only, for which zero is valid.
        let mut slots: [AnswerSet<L>; EXTENSION_SLOTS as usize] = unsafe { core::mem::zeroed() };
        // SAFETY: both sides are plain bytes without padding (asserted below), the extension
        // fits in the slots, and the two do not overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (self as *const Self).cast::<u8>(),
                slots.as_mut_ptr().cast::<u8>(),
                core::mem::size_of::<Self>(),
            );
        }
        slots
    }
}

/// Where the extension's addresses start.
const ADDRS_OFFSET: usize = MAX_SCHEDULE;

/// [`AnswerSet::flags`] bit: the RRset is covered by an RRSIG at its owner (its zone is
/// DNSSEC-signed). A DO=1 answer carries the RRSIGs (RFC 4035 §3.1.1): the program adds them
/// from the signature store when the set also has [`SIGNATURES`], and otherwise passes the
/// query to the socket path (`PassSigned`). DO=0 queries get the addresses alone, as the socket
/// path sends them.
pub const SIGNED: u8 = 1;

/// [`AnswerSet::flags`] bit, only with [`SIGNED`]: the RRSIG records a DO=1 answer carries are
/// in `SIGNATURES[AnswerSet::signatures]`. Without it (signatures larger than the store takes,
/// or a zone the socket path does not answer with signatures) DO=1 queries are passed.
pub const SIGNATURES: u8 = 2;

/// [`AnswerSet::flags`] bit: the RRset's answer depends on where the client is (a geo pool's).
/// This set is the answer for clients of no location; the program maps the client to a
/// location and answers from the RRset the RRset's row of `GEO_SLOT_*` names for it
/// ([`crate::geo`]).
pub const GEO: u8 = 4;

/// [`AnswerSet::flags`] bit, only with [`GEO`]: the pool has Client Subnet switched off, so
/// the query's source address steers even when it carries ECS, and the echo's scope is 0.
pub const NO_ECS: u8 = 8;

/// An answer set of A records.
pub type AnswerSetV4 = AnswerSet<4>;
/// An answer set of AAAA records.
pub type AnswerSetV6 = AnswerSet<16>;

/// [`AnswerSet::flags`] bit: the set has more than [`INLINE_ADDRS`] addresses or a weighted
/// order, and its [`Extension`] is in the [`EXTENSION_SLOTS`] slots after its head. The program
/// passes a query whose set has a schedule and lacks the flag.
pub const EXTENDED: u8 = 16;

/// The bytes before `addrs`.
const HEADER_LEN: usize = 16;

const _: () = {
    assert!(core::mem::offset_of!(AnswerSetV4, addrs) == HEADER_LEN);
    assert!(
        HEADER_LEN.is_multiple_of(4),
        "addresses are read as 4-byte words"
    );
    assert!(AnswerSetV4::SIZE == HEADER_LEN + 4 * INLINE_ADDRS);
    assert!(AnswerSetV6::SIZE == HEADER_LEN + 16 * INLINE_ADDRS);
    assert!(AnswerSetV4::SIZE.is_multiple_of(8) && AnswerSetV6::SIZE.is_multiple_of(8));
    assert!(core::mem::align_of::<AnswerSetV6>() == 4);
    // An extension has no padding, fits its slots, keeps the schedule in its first slot, and
    // no address crosses from one slot into the next.
    assert!(core::mem::offset_of!(Extension<4>, addrs) == ADDRS_OFFSET);
    assert!(core::mem::size_of::<Extension<4>>() == ADDRS_OFFSET + 4 * (MAX_ADDRS - INLINE_ADDRS));
    assert!(
        core::mem::size_of::<Extension<16>>() == ADDRS_OFFSET + 16 * (MAX_ADDRS - INLINE_ADDRS)
    );
    assert!(core::mem::size_of::<Extension<4>>() <= EXTENSION_SLOTS as usize * AnswerSetV4::SIZE);
    assert!(core::mem::size_of::<Extension<16>>() <= EXTENSION_SLOTS as usize * AnswerSetV6::SIZE);
    assert!(MAX_SCHEDULE <= AnswerSetV4::SIZE);
    assert!(AnswerSetV4::SIZE.is_multiple_of(4) && ADDRS_OFFSET.is_multiple_of(4));
    assert!(AnswerSetV6::SIZE.is_multiple_of(16) && ADDRS_OFFSET.is_multiple_of(16));
    assert!(INLINE_ADDRS < MAX_ADDRS);
};

#[cfg(feature = "user")]
// SAFETY: `u32`, four bytes, `u32`, then bytes only, padding included as a field; the sizes
// asserted above leave no implicit padding anywhere, and every bit pattern is valid.
unsafe impl<const L: usize> aya::Pod for AnswerSet<L> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extension_s_addresses_are_where_the_program_reads_them() {
        let mut extension = Extension::<16> {
            schedule: [0; MAX_SCHEDULE],
            addrs: [[0; 16]; MAX_ADDRS - INLINE_ADDRS],
        };
        extension.schedule[3] = 7;
        for (i, addr) in extension.addrs.iter_mut().enumerate() {
            *addr = [i as u8 + 1; 16];
        }
        let slots = extension.slots();
        // SAFETY: the slots are plain bytes.
        let bytes = unsafe {
            core::slice::from_raw_parts(
                slots.as_ptr().cast::<u8>(),
                slots.len() * AnswerSetV6::SIZE,
            )
        };
        assert_eq!(bytes[3], 7);
        for index in INLINE_ADDRS..MAX_ADDRS {
            let at = Extension::<16>::addr_offset(index);
            let (slot, offset) = (at / AnswerSetV6::SIZE, at % AnswerSetV6::SIZE);
            assert!(
                offset + 16 <= AnswerSetV6::SIZE,
                "address {index} crosses a slot"
            );
            let start = slot * AnswerSetV6::SIZE + offset;
            assert_eq!(
                bytes[start..start + 16],
                [(index - INLINE_ADDRS) as u8 + 1; 16]
            );
        }
    }
}
