//! Answer sets: the records one reply carries, stored by slot in the `ANSWERS_V4`/`ANSWERS_V6`
//! arrays. A name reaches its set through its RRset id and `RRSET_SLOT_*`; how a set is replaced
//! while queries flow is in [`crate::publish`].

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
    /// The most records one reply carries: 1..=`count`. Reply k (per CPU and RRset id) starts
    /// at `addrs[k % count]` and carries `limit` records, wrapping around.
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
