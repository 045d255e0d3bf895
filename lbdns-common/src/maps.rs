//! Names of the program's maps and globals, and the map sizes it is built with.
//!
//! Userspace resizes maps before loading (`EbpfLoader::map_max_entries`) using these names. The
//! program declares the maps under the same names; loading fails if the two disagree.

/// The four name-to-id hash maps ([`crate::key::NameEntry`] values), in
/// [`crate::key::KEY_TIERS`] order. Written by userspace only.
pub const RRSETS: [&str; 4] = ["RRSETS_32", "RRSETS_64", "RRSETS_128", "RRSETS_256"];
/// Array of `u32` by A RRset id: the slot of its current answer set. Memory-mapped, written by
/// userspace only, one atomic store per value (see [`crate::publish`]).
pub const RRSET_SLOT_V4: &str = "RRSET_SLOT_V4";
/// Array of `u32` by AAAA RRset id, as [`RRSET_SLOT_V4`].
pub const RRSET_SLOT_V6: &str = "RRSET_SLOT_V6";
/// Array of [`crate::answer::AnswerSetV4`] by slot. Memory-mapped, written by userspace only,
/// into slots no program reaches (see [`crate::publish`]).
pub const ANSWERS_V4: &str = "ANSWERS_V4";
/// Array of [`crate::answer::AnswerSetV6`] by slot. Written by userspace only.
pub const ANSWERS_V6: &str = "ANSWERS_V6";
/// Per-CPU `u32` by A RRset id: how many replies this CPU has sent for the RRset, which picks
/// the next reply's leading address ([`crate::answer`]). Written by the program only. Indexed by
/// id rather than slot, so the rotation carries on across a change of addresses, schedule or
/// cap.
pub const ROTATION_V4: &str = "ROTATION_V4";
/// Per-CPU `u32` by AAAA RRset id, as [`ROTATION_V4`].
pub const ROTATION_V6: &str = "ROTATION_V6";
/// Per-CPU `u64` by [`crate::counters::Counter`]. Written by the program only.
pub const COUNTERS: &str = "COUNTERS";

/// Global `u16`: the UDP port queries arrive on, host byte order. Set at load time.
pub const DNS_PORT: &str = "DNS_PORT";

/// Default `max_entries` of each `RRSETS_*` map. The maps allocate on insert, so an unused
/// capacity costs no memory.
pub const DEFAULT_RRSET_ENTRIES: u32 = 65_536;
/// Default number of answer-set slots per address type, which is also the number of RRset ids
/// (`RRSET_SLOT_*`, `ROTATION_*` entries). Arrays are allocated up front, each value rounded up
/// to 8 bytes by the kernel: 16384 slots are 1.75 MiB of A sets (112 bytes each) and 4.75 MiB
/// of AAAA sets (304 bytes).
pub const DEFAULT_ANSWER_SLOTS: u32 = 16_384;

/// The XDP program's name in the object.
pub const PROGRAM: &str = "lbdns";
