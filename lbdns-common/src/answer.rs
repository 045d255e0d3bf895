//! Answer sets: the records one reply carries, stored by slot in the `ANSWERS_V4`/`ANSWERS_V6`
//! arrays and found through an [`RrsetEntry`](crate::key::RrsetEntry).
//!
//! # Replacing an answer set while queries flow
//!
//! An array element is written by copying it in place, so a reader running at the same time could
//! see half of the old set and half of the new one. Userspace therefore never writes a slot that
//! an entry points at or that a running program may still read:
//!
//! 1. Write the new set into a free slot (one no entry points at).
//! 2. Replace the `RRSETS_*` entry with one that names the new slot. The kernel swaps hash-map
//!    elements under RCU, so a lookup finds either the old entry or the new one.
//! 3. Wait for an RCU grace period (userspace: `membarrier(MEMBARRIER_CMD_GLOBAL)`, which calls
//!    `synchronize_rcu`). XDP programs run inside an RCU read-side section, so once it returns no
//!    program still holds the old slot number.
//! 4. Only then mark the old slot free.
//!
//! Removing a name is steps 2 (delete the entry) to 4. The program reads the slot number once,
//! right after the lookup, and never writes answer sets.
//!
//! Later features fit this layout without a redesign: a health change, a priority tier failing
//! over, or a new weight is a new answer set published the same way; [`AnswerSet::limit`] caps
//! how many addresses one reply carries.

use crate::limits::MAX_ADDRS;

/// One RRset's addresses as the fast path serves them. `L` is the address length: 4 or 16.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnswerSet<const L: usize> {
    /// The TTL every record of the reply carries, in seconds.
    pub ttl: u32,
    /// How many entries of `addrs` are in use: 1..=[`MAX_ADDRS`]. The program passes a query
    /// whose set is outside that range.
    pub count: u16,
    /// The most records one reply carries: 1..=`count`. Reply k (per CPU) starts at
    /// `addrs[k % count]` and carries `limit` records, wrapping around.
    pub limit: u16,
    /// Addresses in network byte order; entries from `count` on are zero.
    pub addrs: [[u8; L]; MAX_ADDRS],
}

/// An answer set of A records.
pub type AnswerSetV4 = AnswerSet<4>;
/// An answer set of AAAA records.
pub type AnswerSetV6 = AnswerSet<16>;

const _: () = {
    assert!(core::mem::size_of::<AnswerSetV4>() == 8 + 4 * MAX_ADDRS);
    assert!(core::mem::size_of::<AnswerSetV6>() == 8 + 16 * MAX_ADDRS);
    assert!(core::mem::align_of::<AnswerSetV6>() == 4);
};

#[cfg(feature = "user")]
// SAFETY: `u32`, `u16`, `u16`, then bytes; the 8-byte header leaves no padding before or after
// the byte arrays (asserted above), and every bit pattern is valid.
unsafe impl<const L: usize> aya::Pod for AnswerSet<L> {}
