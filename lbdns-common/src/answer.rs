//! Answer sets: the records one reply carries, stored by slot in the `ANSWERS_V4`/`ANSWERS_V6`
//! arrays. A name reaches its set through its RRset id and `RRSET_SLOT_*`; how a set is replaced
//! while queries flow is in [`crate::publish`].
//!
//! Which records reply k carries (k counts the replies this CPU has sent for the RRset id, see
//! `ROTATION_*` in [`crate::maps`]), with `n = count`:
//!
//! ```text
//! lead    = schedule[k % schedule_len]
//! records = addrs[(lead + i) % n]  for i in 0..limit
//! ```
//!
//! A plain RRset has the schedule `0, 1, .., n - 1`, so it rotates: reply k leads with address
//! `k % n`. The socket path orders pools by the same rule, so both paths agree for every k.

use crate::limits::{MAX_ADDRS, MAX_SCHEDULE};

/// One RRset's addresses as the fast path serves them, with the order of its replies: which
/// address leads (a weighted schedule, or plain rotation) and how many records follow (the cap).
/// `L` is the address length: 4 or 16.
///
/// Addresses, schedule and cap share one value so that pointing an RRset id at another slot
/// changes all three at once: a reply never leads with a schedule index meant for other
/// addresses. Keeping the schedule here costs 36 bytes per slot (48 bytes before the addresses:
/// an A set is 112 bytes, an AAAA set 304), in every slot of the preallocated arrays, used or
/// not. The signature store's entry is named here for the same reason.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnswerSet<const L: usize> {
    /// The TTL every record of the reply carries, in seconds.
    pub ttl: u32,
    /// How many entries of `addrs` are in use: 1..=[`MAX_ADDRS`]. The program passes a query
    /// whose set is outside that range.
    pub count: u16,
    /// The answer cap: the most records one reply carries, 1..=`count` (`count` for a plain
    /// RRset). A reply carries its leading address and the `limit - 1` that follow it, wrapping
    /// around. The program passes a query whose set has 0 here, and reads more as `count`.
    pub limit: u16,
    /// How many entries of `schedule` are in use: 1..=[`MAX_SCHEDULE`]. The program passes a
    /// query whose set is outside that range.
    pub schedule_len: u8,
    /// What the program must know about the RRset besides its records: [`SIGNED`],
    /// [`SIGNATURES`], [`GEO`], [`NO_ECS`].
    pub flags: u8,
    /// Zero. Explicit so that the value has no uninitialised bytes, and so that `schedule`
    /// starts on a 4-byte boundary.
    pub _pad: [u8; 2],
    /// With [`SIGNATURES`] in `flags`: the entry of `SIGNATURES` ([`crate::signature`]) that
    /// holds the RRSIG records covering these addresses. Written by the map writer, which
    /// chooses the entry; zero without the flag.
    pub signatures: u32,
    /// Indices into `addrs`, each below `count`: reply k leads with
    /// `addrs[schedule[k % schedule_len]]`. In a weighted pool's schedule each address appears
    /// in proportion to its weight; a plain RRset's is `0, 1, .., count - 1`. One schedule for
    /// both keeps a single path in the program. The program passes a query whose entry is not
    /// below `count`. Entries from `schedule_len` on are zero.
    pub schedule: [u8; MAX_SCHEDULE],
    /// Addresses in network byte order; entries from `count` on are zero.
    pub addrs: [[u8; L]; MAX_ADDRS],
}

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

/// The bytes before `addrs`.
const HEADER_LEN: usize = 16 + MAX_SCHEDULE;

const _: () = {
    assert!(core::mem::offset_of!(AnswerSetV4, schedule) == 16);
    assert!(core::mem::offset_of!(AnswerSetV4, addrs) == HEADER_LEN);
    assert!(
        HEADER_LEN.is_multiple_of(4),
        "addresses are read as 4-byte words"
    );
    assert!(core::mem::size_of::<AnswerSetV4>() == HEADER_LEN + 4 * MAX_ADDRS);
    assert!(core::mem::size_of::<AnswerSetV6>() == HEADER_LEN + 16 * MAX_ADDRS);
    assert!(core::mem::align_of::<AnswerSetV6>() == 4);
};

#[cfg(feature = "user")]
// SAFETY: `u32`, `u16`, `u16`, four bytes, `u32`, then bytes only, padding included as a
// field; the sizes asserted above leave no implicit padding anywhere, and every bit pattern is
// valid.
unsafe impl<const L: usize> aya::Pod for AnswerSet<L> {}
