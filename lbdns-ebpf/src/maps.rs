//! The program's maps and globals. Names and sizes are shared with userspace through
//! `lbdns_common::maps`; userspace resizes the maps before loading.

use aya_ebpf::{
    bindings::{BPF_F_MMAPABLE, BPF_F_NO_PREALLOC},
    macros::map,
    maps::{Array, HashMap, PerCpuArray},
};
use lbdns_common::{
    answer::{AnswerSetV4, AnswerSetV6},
    counters::Counter,
    key::{NameEntry, RrsetKey, KEY_TIERS},
    maps::{DEFAULT_ANSWER_SLOTS, DEFAULT_RRSET_ENTRIES},
};

/// The UDP port queries arrive on, host byte order. Userspace overrides it at load time.
#[unsafe(no_mangle)]
static DNS_PORT: u16 = 53;

/// The configured DNS port. A volatile read, so the compiler cannot fold the default in.
#[inline(always)]
pub fn dns_port() -> u16 {
    // SAFETY: reading a plain `u16` static.
    unsafe { core::ptr::read_volatile(&DNS_PORT) }
}

// The name-to-id maps, one per key size (lbdns_common::key). Written by userspace only,
// following lbdns_common::publish. BPF_F_NO_PREALLOC: elements are allocated per insert, so
// unused capacity is free.

/// Names whose key fits 32 bytes (name up to 31 bytes).
#[map]
pub static RRSETS_32: HashMap<RrsetKey<32>, NameEntry> =
    HashMap::with_max_entries(DEFAULT_RRSET_ENTRIES, BPF_F_NO_PREALLOC);
/// Names whose key fits 64 bytes.
#[map]
pub static RRSETS_64: HashMap<RrsetKey<64>, NameEntry> =
    HashMap::with_max_entries(DEFAULT_RRSET_ENTRIES, BPF_F_NO_PREALLOC);
/// Names whose key fits 128 bytes.
#[map]
pub static RRSETS_128: HashMap<RrsetKey<128>, NameEntry> =
    HashMap::with_max_entries(DEFAULT_RRSET_ENTRIES, BPF_F_NO_PREALLOC);
/// Names whose key fits 256 bytes (every valid name).
#[map]
pub static RRSETS_256: HashMap<RrsetKey<256>, NameEntry> =
    HashMap::with_max_entries(DEFAULT_RRSET_ENTRIES, BPF_F_NO_PREALLOC);

/// The slot of each A RRset's current answer set, by RRset id. Written by userspace only, with
/// one atomic store through a memory mapping (lbdns_common::publish), so it must be mmapable.
#[map]
pub static RRSET_SLOT_V4: Array<u32> =
    Array::with_max_entries(DEFAULT_ANSWER_SLOTS, BPF_F_MMAPABLE);
/// The slot of each AAAA RRset's current answer set, by RRset id. As [`RRSET_SLOT_V4`].
#[map]
pub static RRSET_SLOT_V6: Array<u32> =
    Array::with_max_entries(DEFAULT_ANSWER_SLOTS, BPF_F_MMAPABLE);

/// A answer sets by slot. Written by userspace only, through a memory mapping, following
/// lbdns_common::publish.
#[map]
pub static ANSWERS_V4: Array<AnswerSetV4> =
    Array::with_max_entries(DEFAULT_ANSWER_SLOTS, BPF_F_MMAPABLE);
/// AAAA answer sets by slot. As [`ANSWERS_V4`].
#[map]
pub static ANSWERS_V6: Array<AnswerSetV6> =
    Array::with_max_entries(DEFAULT_ANSWER_SLOTS, BPF_F_MMAPABLE);

/// Replies sent per A RRset id on this CPU: the k of `lbdns_common::answer`, which picks the
/// leading address of the next reply. By id, so a new set of the RRset carries on the sequence.
#[map]
pub static ROTATION_V4: PerCpuArray<u32> = PerCpuArray::with_max_entries(DEFAULT_ANSWER_SLOTS, 0);
/// Replies sent per AAAA RRset id on this CPU.
#[map]
pub static ROTATION_V6: PerCpuArray<u32> = PerCpuArray::with_max_entries(DEFAULT_ANSWER_SLOTS, 0);

/// Packet counters by `Counter`; userspace sums them across CPUs.
#[map]
pub static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Counter::COUNT, 0);

/// Adds one to `counter` on this CPU.
#[inline(always)]
pub fn count(counter: Counter) {
    if let Some(value) = COUNTERS.get_ptr_mut(counter as u32) {
        // SAFETY: a per-CPU value; XDP runs with preemption disabled, so nothing else writes it.
        unsafe { *value += 1 }
    }
}

/// Per-packet working memory that does not fit the 512-byte stack. Program-private.
///
/// The lookup key is `tag` followed by `name`: `_align` puts the name on an 8-byte boundary, so
/// the name is copied in with aligned 8-byte stores.
#[repr(C, align(8))]
pub struct Scratch {
    /// Puts `tag` right before the 8-byte boundary where `name` starts.
    _align: [u8; 7],
    /// Byte 0 of the lookup key: the `AddrType` tag.
    pub tag: u8,
    /// The rest of the lookup key: the lowercase query name, then zeros up to the key's size
    /// tier. One byte longer than the longest key needs.
    pub name: [u64; NAME_WORDS],
    /// The offsets of the IP header, the UDP header and the DNS message, and whether the IP
    /// version is 6, passed through [`opaque`]: each VLAN and IP version combination has its
    /// own exact values.
    pub layout: [u32; 5],
    /// The query name's length, passed through [`opaque`]: each exit of the name loop has
    /// its own exact length.
    pub name_len: u32,
    /// The bytes moved when the frame grows at its head (`respond::resize`): how far, and where
    /// their last word starts, twice, passed through [`opaque`].
    pub copy: [u32; 3],
}

/// The 8-byte words of `Scratch::name`.
pub const NAME_WORDS: usize = 32;

const _: () = {
    assert!(core::mem::offset_of!(Scratch, tag) + 1 == core::mem::offset_of!(Scratch, name));
    assert!(core::mem::offset_of!(Scratch, name).is_multiple_of(8));
    assert!(1 + NAME_WORDS * 8 >= KEY_TIERS[KEY_TIERS.len() - 1]);
};

impl Scratch {
    /// The lookup key: `tag`, then the bytes of `name`.
    #[inline(always)]
    pub fn key(scratch: *mut Scratch) -> *const u8 {
        // SAFETY: `tag` is inside the struct, and the key's bytes run on into `name`.
        unsafe {
            scratch
                .cast::<u8>()
                .add(core::mem::offset_of!(Scratch, tag))
        }
    }
}

/// Returns `value` after a round trip through `cell`, map memory that the verifier does not
/// track: it sees an unknown value, so code after the call is verified once for every value
/// instead of once per exact value the paths before it produced. Callers re-check bounds.
#[inline(always)]
pub fn opaque(cell: &mut u32, value: u32) -> u32 {
    // SAFETY: a plain write and read of a `u32` in this CPU's scratch value.
    unsafe {
        core::ptr::write_volatile(cell, value);
        core::ptr::read_volatile(cell)
    }
}

/// One `Scratch` per CPU.
#[map]
pub static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);
