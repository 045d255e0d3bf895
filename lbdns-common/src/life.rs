//! What outlives one daemon process in the pinned maps: the layout version they were made
//! with, the name table's hash seed, and the daemon's heartbeat.
//!
//! The program and its maps stay pinned in bpffs across a restart (`lbdns_userspace::xdp::pins`),
//! so the next process finds maps made by an earlier build. It reuses them only when their
//! [`LAYOUT_VERSION`] equals its own; otherwise it builds new maps, fills them and swaps them
//! in with its program. The heartbeat makes a dead or hung daemon stop answering at the NIC:
//! the program passes every packet once [`Life::beat_ns`] is older than
//! [`Life::stale_after_ns`], so the socket path (or its absence) decides, never stale health.

/// The version of the maps' layout: their names, types, key and value types and the meaning of
/// every field. Bump it whenever any of that changes (a new map, a field, a counter), so a new
/// build never reads maps an older one filled with another meaning.
pub const LAYOUT_VERSION: u32 = 15;

/// The one value of the `LIFE` map (`crate::maps::LIFE`). Memory-mapped; written by userspace
/// only: the layout and seed once when the maps are made, the heartbeat with one atomic 8-byte
/// store at a time.
///
/// Its shape never changes, whatever [`LAYOUT_VERSION`] says: a new build beats the heartbeat
/// of maps it will not reuse, so the program an older build left attached keeps answering
/// while the new one loads its zones. A change needs a new map, not a new field.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Life {
    /// [`LAYOUT_VERSION`] of the build that made the maps.
    pub layout: u32,
    /// The RRsets the name table was sized for (`NAME_BUCKETS` has
    /// `crate::names::buckets_for` of them): the capacity a process that reuses the maps plans
    /// with.
    pub rrset_entries: u32,
    /// The name table's hash seed (`crate::maps::NAME_SEED`): a process that reuses the maps
    /// loads its program with the same one, or it would look names up in the wrong buckets.
    pub name_seed: u64,
    /// `CLOCK_MONOTONIC_COARSE` (the program's `bpf_ktime_get_coarse_ns`) when the daemon last
    /// said it was alive, in nanoseconds.
    pub beat_ns: u64,
    /// How old [`Self::beat_ns`] may get before the program passes everything; 0 turns the
    /// check off (maps filled by tests and benchmarks without a daemon).
    pub stale_after_ns: u64,
}

impl Life {
    /// Whether a heartbeat written at `beat_ns` is too old at `now_ns` for the program to
    /// answer. One definition for the program and the tests.
    #[inline(always)]
    pub const fn is_stale(beat_ns: u64, stale_after_ns: u64, now_ns: u64) -> bool {
        stale_after_ns != 0 && now_ns.wrapping_sub(beat_ns) > stale_after_ns
    }
}

const _: () = assert!(core::mem::size_of::<Life>() == 32);

#[cfg(feature = "user")]
// SAFETY: `#[repr(C)]`, integers only, explicit padding: every bit pattern is valid.
unsafe impl aya::Pod for Life {}
