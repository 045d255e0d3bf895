//! The program's maps and globals. Names and sizes are shared with userspace through
//! `lbdns_common::maps`; userspace resizes the maps before loading.

use crate::parse::ecs::Ecs;
use aya_ebpf::{
    bindings::{BPF_F_MMAPABLE, BPF_F_NO_PREALLOC},
    helpers::{bpf_get_smp_processor_id, bpf_jiffies64, bpf_ktime_get_coarse_ns},
    macros::map,
    maps::{Array, HashMap, LpmTrie, PerCpuArray, ProgramArray, RingBuf},
};
use lbdns_common::{
    answer::{AnswerSetV4, AnswerSetV6},
    cookie::CookieSecrets,
    counters::Counter,
    edns::Nsid,
    fixed::{FixedKey, FixedReply},
    geo::{GeoTarget, V6_48Slot, CHUNK_LEN, LOCATION_ROW, V6_48_SLOTS},
    life::Life,
    limits::MAX_NAME_LEN,
    maps::{
        id_pair, id_pairs, rotation_stride, rotation_value, IdPair, DEFAULT_ANSWER_SLOTS,
        DEFAULT_FIXED_REPLIES, DEFAULT_GEO_CHUNKS, DEFAULT_GEO_PREFIXES, DEFAULT_GEO_ROWS,
        DEFAULT_NEGATIVE_CHILDREN, DEFAULT_NEGATIVE_ZONES, DEFAULT_RRSET_ENTRIES,
        DEFAULT_SIGNATURE_ENTRIES, DEFAULT_WORDS_PER_NAME,
    },
    maps::{RRL_ALLOW_ENTRIES, RRL_BUCKET_ENTRIES, RRL_EVENT_BYTES},
    names::{buckets_for, Bucket},
    negative::{ChildKey, NegativeZone, ZoneKey},
    prepared::PREPARED_ON,
    rrl::{self, Tally},
    signature::Signatures,
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

/// The name table's hash seed. Userspace sets a random one at load time.
#[unsafe(no_mangle)]
static NAME_SEED: u64 = 0;

/// The name table's hash seed, read volatile like [`dns_port`].
#[inline(always)]
pub fn name_seed() -> u64 {
    // SAFETY: reading a plain `u64` static.
    unsafe { core::ptr::read_volatile(&NAME_SEED) }
}

/// The number of `NAME_BUCKETS` minus one. Userspace sets it with the map's size.
#[unsafe(no_mangle)]
static NAME_BUCKET_MASK: u32 = buckets_for(DEFAULT_RRSET_ENTRIES) - 1;

/// The name table's bucket mask, read volatile like [`dns_port`].
#[inline(always)]
pub fn name_bucket_mask() -> u32 {
    // SAFETY: reading a plain `u32` static.
    unsafe { core::ptr::read_volatile(&NAME_BUCKET_MASK) }
}

// The name table (lbdns_common::names). Written by userspace only, through memory mappings,
// following lbdns_common::publish.

/// The name table's buckets of entries.
#[map]
pub static NAME_BUCKETS: Array<Bucket> =
    Array::with_max_entries(buckets_for(DEFAULT_RRSET_ENTRIES), BPF_F_MMAPABLE);
/// The name table's records: a header word with the RRset id, then the name's words.
#[map]
pub static NAME_WORDS: Array<u64> = Array::with_max_entries(
    DEFAULT_RRSET_ENTRIES * DEFAULT_WORDS_PER_NAME,
    BPF_F_MMAPABLE,
);

/// The slot of each A RRset's current answer set, by RRset id. Written by userspace only, with
/// one atomic store through a memory mapping (lbdns_common::publish), so it must be mmapable.
#[map]
pub static RRSET_SLOT_V4: Array<IdPair> =
    Array::with_max_entries(id_pairs(DEFAULT_ANSWER_SLOTS), BPF_F_MMAPABLE);
/// The slot of each AAAA RRset's current answer set, by RRset id. As [`RRSET_SLOT_V4`].
#[map]
pub static RRSET_SLOT_V6: Array<IdPair> =
    Array::with_max_entries(id_pairs(DEFAULT_ANSWER_SLOTS), BPF_F_MMAPABLE);

/// A answer sets by slot. Written by userspace only, through a memory mapping, following
/// lbdns_common::publish.
#[map]
pub static ANSWERS_V4: Array<AnswerSetV4> =
    Array::with_max_entries(DEFAULT_ANSWER_SLOTS, BPF_F_MMAPABLE);
/// AAAA answer sets by slot. As [`ANSWERS_V4`].
#[map]
pub static ANSWERS_V6: Array<AnswerSetV6> =
    Array::with_max_entries(DEFAULT_ANSWER_SLOTS, BPF_F_MMAPABLE);

/// The RRSIG records of signed answer sets, named by `AnswerSet::signatures`. Written by
/// userspace only, through a memory mapping, into entries no set in use names
/// (lbdns_common::signature).
#[map]
pub static SIGNATURES: Array<Signatures> =
    Array::with_max_entries(DEFAULT_SIGNATURE_ENTRIES, BPF_F_MMAPABLE);

/// Replies sent per A RRset id by each CPU: the k of `lbdns_common::answer`, which picks the
/// leading address of the next reply. By id, so a new set of the RRset carries on the sequence;
/// one region of [`ROTATION_STRIDE_V4`] values per CPU (`lbdns_common::maps::ROTATION_V4` says
/// why not a per-CPU array). Page-aligned (mmapable), so that the regions' cache lines are
/// their own. Userspace sizes it for the possible CPUs.
#[map]
pub static ROTATION_V4: Array<IdPair> =
    Array::with_max_entries(rotation_stride(DEFAULT_ANSWER_SLOTS), BPF_F_MMAPABLE);
/// Replies sent per AAAA RRset id by each CPU, as [`ROTATION_V4`].
#[map]
pub static ROTATION_V6: Array<IdPair> =
    Array::with_max_entries(rotation_stride(DEFAULT_ANSWER_SLOTS), BPF_F_MMAPABLE);

/// Values of `ROTATION_V4` per CPU. Userspace sets it with the map's size.
#[unsafe(no_mangle)]
static ROTATION_STRIDE_V4: u32 = rotation_stride(DEFAULT_ANSWER_SLOTS);
/// Values of `ROTATION_V6` per CPU. Userspace sets it with the map's size.
#[unsafe(no_mangle)]
static ROTATION_STRIDE_V6: u32 = rotation_stride(DEFAULT_ANSWER_SLOTS);

/// One family's rotation counters: the array and its values per CPU.
#[derive(Clone, Copy)]
pub struct Rotations {
    counters: &'static Array<IdPair>,
    stride: u32,
}

impl Rotations {
    /// The A RRsets' counters.
    #[inline(always)]
    pub fn v4() -> Self {
        Self {
            counters: &ROTATION_V4,
            // SAFETY: reading a plain `u32` static.
            stride: unsafe { core::ptr::read_volatile(&ROTATION_STRIDE_V4) },
        }
    }

    /// The AAAA RRsets' counters.
    #[inline(always)]
    pub fn v6() -> Self {
        Self {
            counters: &ROTATION_V6,
            // SAFETY: reading a plain `u32` static.
            stride: unsafe { core::ptr::read_volatile(&ROTATION_STRIDE_V6) },
        }
    }

    /// This CPU's counter of RRset `id`. XDP runs with preemption disabled, so the CPU does not
    /// change while the program holds it.
    #[inline(always)]
    pub fn on_this_cpu(self, id: u32) -> Option<*mut u32> {
        // SAFETY: a helper without arguments, which the verifier replaces with a load.
        let cpu = unsafe { bpf_get_smp_processor_id() };
        let (value, half) = rotation_value(self.stride, cpu, id);
        let pair = self.counters.get_ptr_mut(value)?;
        // SAFETY: `half` is 0 or 1, so the `u32` lies inside the value.
        Some(unsafe { pair.cast::<u32>().add(half) })
    }
}

/// Which EDNS options the server answers and where their values are
/// (`lbdns_common::edns::ANSWERS_NSID`, `NSID_SLOT`): one value, written by userspace only, with
/// one atomic store through a memory mapping.
#[map]
pub static EDNS_ANSWERS: Array<u32> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// The current NSID and the one userspace writes next (`lbdns_common::edns::NSID_SLOT`).
/// Written by userspace only, through a memory mapping, into the value no program reads.
#[map]
pub static NSID_VALUES: Array<Nsid> = Array::with_max_entries(2, BPF_F_MMAPABLE);

/// The server cookie secrets, current and being written (`lbdns_common::edns::COOKIE_SLOT`).
/// Written by userspace only, through a memory mapping, into the value no program reads.
#[map]
pub static COOKIE_SECRETS: Array<CookieSecrets> = Array::with_max_entries(2, BPF_F_MMAPABLE);

/// The Unix time in seconds, for cookie time stamps (`lbdns_common::maps::WALL_CLOCK`). Written
/// by userspace only, with one atomic store per heartbeat.
#[map]
pub static WALL_CLOCK: Array<u64> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// The Unix time in seconds as userspace last stored it; 0 if it never did.
#[inline(always)]
pub fn wall_clock() -> u64 {
    match WALL_CLOCK.get_ptr(0) {
        // SAFETY: the array's `u64` value, which lives as long as the map; userspace stores it
        // whole.
        Some(value) => unsafe { core::ptr::read_volatile(value) },
        None => 0,
    }
}

/// The EDNS options the server answers, read once per query that carries a recognised option.
#[inline(always)]
pub fn edns_answers() -> u32 {
    match EDNS_ANSWERS.get_ptr(0) {
        // SAFETY: a `u32` of the array's value, which lives as long as the map; userspace
        // stores it whole.
        Some(value) => unsafe { core::ptr::read_volatile(value) },
        None => 0,
    }
}

/// Where IPv4 clients are (lbdns_common::geo): prefix → location and ECS scope. Written by
/// userspace only, one element at a time.
#[map]
pub static GEO_V4: LpmTrie<[u8; 4], GeoTarget> = LpmTrie::with_max_entries(DEFAULT_GEO_PREFIXES, 0);
/// Where IPv6 clients are, as [`GEO_V4`].
#[map]
pub static GEO_V6: LpmTrie<[u8; 16], GeoTarget> =
    LpmTrie::with_max_entries(DEFAULT_GEO_PREFIXES, 0);

/// IPv4 client targets by /16, ahead of [`GEO_V4`] (lbdns_common::geo). Written by userspace
/// only, with one atomic store per entry through a memory mapping.
#[map]
pub static GEO_V4_16: Array<u32> = Array::with_max_entries(1 << 16, BPF_F_MMAPABLE);
/// IPv6 client targets by /16, ahead of [`GEO_V6`], as [`GEO_V4_16`].
#[map]
pub static GEO_V6_16: Array<u32> = Array::with_max_entries(1 << 16, BPF_F_MMAPABLE);
/// The entries of IPv6 /48s in the /40s the map splits, by slot, ahead of [`GEO_V6_16`]
/// (lbdns_common::geo::V6_48Slot). Written by userspace only, with one atomic 8-byte store per
/// slot through a memory mapping.
#[map]
pub static GEO_V6_48: Array<V6_48Slot> = Array::with_max_entries(V6_48_SLOTS, BPF_F_MMAPABLE);
/// Client targets one octet past a /16, /24 and so on, in chunks a [`GEO_V4_16`] or
/// [`GEO_V6_16`] entry, or a chunk's entry, names. As [`GEO_V4_16`].
#[map]
pub static GEO_CHUNKS: Array<u32> =
    Array::with_max_entries(DEFAULT_GEO_CHUNKS * CHUNK_LEN, BPF_F_MMAPABLE);

/// The `GEO_LOCATIONS_V4` row (+1, 0 for none) of each geo A RRset, by RRset id
/// (lbdns_common::geo). Written by userspace only, with one atomic store per value through a
/// memory mapping.
#[map]
pub static GEO_ROW_V4: Array<IdPair> =
    Array::with_max_entries(id_pairs(DEFAULT_ANSWER_SLOTS), BPF_F_MMAPABLE);
/// The row of each geo AAAA RRset, as [`GEO_ROW_V4`].
#[map]
pub static GEO_ROW_V6: Array<IdPair> =
    Array::with_max_entries(id_pairs(DEFAULT_ANSWER_SLOTS), BPF_F_MMAPABLE);
/// The RRset id of each location's answer of geo A RRsets, in rows of `LOCATION_ROW`
/// (lbdns_common::geo). Written by userspace only, with one atomic store per entry through a
/// memory mapping.
#[map]
pub static GEO_LOCATIONS_V4: Array<u32> =
    Array::with_max_entries(DEFAULT_GEO_ROWS * LOCATION_ROW, BPF_F_MMAPABLE);
/// The RRset id of each location's answer of geo AAAA RRsets, as [`GEO_LOCATIONS_V4`].
#[map]
pub static GEO_LOCATIONS_V6: Array<u32> =
    Array::with_max_entries(DEFAULT_GEO_ROWS * LOCATION_ROW, BPF_F_MMAPABLE);

/// The layout version, hash seed and the daemon's heartbeat (lbdns_common::life). Written by
/// userspace only, through a memory mapping, the heartbeat with one 8-byte store.
#[map]
pub static LIFE: Array<Life> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// Whether the daemon's heartbeat is older than its limit: then nothing is answered, as the
/// daemon that keeps the answers right is dead or hung.
///
/// The heartbeat is compared with the coarse clock, which moves once a tick, as the jiffies
/// counter does. So the verdict is kept per CPU with the tick, heartbeat and limit it came from
/// (`Scratch::life`), and the clock is read again only when one of them has changed: reading it
/// is a helper call, about 20 ns of a hot answer on the test VM, while the jiffies counter is
/// one load that the verifier inlines.
#[inline(always)]
pub fn daemon_stale(scratch: *mut Scratch) -> bool {
    let Some(life) = LIFE.get_ptr(0) else {
        return true;
    };
    // SAFETY: `u64` fields of the array's value, which lives as long as the map; userspace
    // stores each whole.
    let (beat, limit) = unsafe {
        (
            core::ptr::read_volatile(&raw const (*life).beat_ns),
            core::ptr::read_volatile(&raw const (*life).stale_after_ns),
        )
    };
    if limit == 0 {
        return false;
    }
    // SAFETY: a helper without arguments, which the verifier replaces with a load.
    let tick = unsafe { bpf_jiffies64() };
    // SAFETY: this CPU's scratch value, used only by this program run.
    let kept = unsafe { &mut (*scratch).life };
    if kept.tick != tick || kept.beat_ns != beat || kept.stale_after_ns != limit {
        // SAFETY: a helper without arguments.
        let now = unsafe { bpf_ktime_get_coarse_ns() };
        *kept = KeptLife {
            tick,
            beat_ns: beat,
            stale_after_ns: limit,
            stale: u64::from(Life::is_stale(beat, limit, now)),
        };
    }
    kept.stale != 0
}

// Prepared replies (lbdns_common::prepared). Written by userspace only.

/// `PREPARED_ON` while the program may read the three maps below. Written with one atomic
/// store through a memory mapping.
#[map]
pub static PREPARED_STATE: Array<u32> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// Whether the program may answer from the prepared replies now: the maps' elements are not
/// being replaced or removed.
#[inline(always)]
pub fn prepared_on() -> bool {
    let Some(state) = PREPARED_STATE.get_ptr(0) else {
        return false;
    };
    // SAFETY: a `u32` of the array's value, which lives as long as the map; userspace stores
    // it whole.
    unsafe { core::ptr::read_volatile(state) == PREPARED_ON }
}

/// The zones whose nonexistent names the program answers, by apex, with their SOA records.
#[map]
pub static NEGATIVE_ZONES: HashMap<ZoneKey, NegativeZone> =
    HashMap::with_max_entries(DEFAULT_NEGATIVE_ZONES, BPF_F_NO_PREALLOC);
/// The names right below those apexes that exist.
#[map]
pub static NEGATIVE_CHILDREN: HashMap<ChildKey, u8> =
    HashMap::with_max_entries(DEFAULT_NEGATIVE_CHILDREN, BPF_F_NO_PREALLOC);
/// The replies the socket path writes the same for every query of a name and type
/// (lbdns_common::fixed).
#[map]
pub static FIXED_REPLIES: HashMap<FixedKey, FixedReply> =
    HashMap::with_max_entries(DEFAULT_FIXED_REPLIES, BPF_F_NO_PREALLOC);
/// Entry 0: the program that answers fixed replies (`lbdns_fixed`), which `lbdns` tail-calls.
/// Set by userspace at load; pinned with the other maps, so that it keeps its entry while the
/// program is left attached for a restart (lbdns_common::maps::FIXED_PROGRAM).
#[map]
pub static FIXED_PROGRAM: ProgramArray = ProgramArray::with_max_entries(1, 0);

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

/// How the program limits response rates (lbdns_common::rrl). Written by userspace only,
/// through a memory mapping, at start-up and reload.
#[map]
pub static RRL_SETTINGS: Array<rrl::Settings> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// The rate limiter's buckets, shared by every CPU (lbdns_common::rrl::admit says how
/// precise that is), direct-mapped (lbdns_common::rrl::Slot). Written by the program only.
#[map]
pub static RRL_BUCKETS: Array<rrl::Slot> = Array::with_max_entries(RRL_BUCKET_ENTRIES, 0);

/// IPv4 prefixes never rate-limited. Written by userspace only.
#[map]
pub static RRL_ALLOW_V4: LpmTrie<[u8; 4], u8> = LpmTrie::with_max_entries(RRL_ALLOW_ENTRIES, 0);
/// IPv6 prefixes never rate-limited. Written by userspace only.
#[map]
pub static RRL_ALLOW_V6: LpmTrie<[u8; 16], u8> = LpmTrie::with_max_entries(RRL_ALLOW_ENTRIES, 0);

/// A key starting or stopping being limited (`lbdns_common::rrl::Event`), for the daemon's
/// log: one record per change, never one per packet. A full ring loses records, not packets.
#[map]
pub static RRL_EVENTS: RingBuf = RingBuf::with_byte_size(RRL_EVENT_BYTES, 0);

/// The rate limiter's counters by `Tally`; userspace sums them across CPUs.
#[map]
pub static RRL_COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Tally::COUNT, 0);

/// Adds one to `tally` on this CPU.
#[inline(always)]
pub fn tally(tally: Tally) {
    if let Some(value) = RRL_COUNTERS.get_ptr_mut(tally as u32) {
        // SAFETY: as in `count`.
        unsafe { *value += 1 }
    }
}

/// Takes one from `tally` on this CPU: a response counted and then not sent.
#[inline(always)]
pub fn untally(tally: Tally) {
    if let Some(value) = RRL_COUNTERS.get_ptr_mut(tally as u32) {
        // SAFETY: as in `count`.
        unsafe { *value = (*value).wrapping_sub(1) }
    }
}

/// Per-packet working memory that does not fit the 512-byte stack. Program-private.
#[repr(C)]
pub struct Scratch {
    /// The lowercase query name in 8-byte words, the last one zero padded: what the name
    /// table's records hold (lbdns_common::names).
    pub name: [u64; QNAME_WORDS],
    /// The offsets of the IP header, the UDP header and the DNS message, and whether the IP
    /// version is 6, passed through [`opaque`]: each VLAN and IP version combination has its
    /// own exact values.
    pub layout: [u32; 5],
    /// The query name's length, passed through [`opaque`]: each exit of the name loop has
    /// its own exact length.
    pub name_len: u32,
    /// The question's copy when the frame grows at its head (`respond::resize::Shift`): how
    /// far it moves, where it starts, and where its last word starts, twice, passed through
    /// [`opaque`].
    pub copy: [u32; 4],
    /// The 8-byte words of RRSIG records to copy (`respond::rrsig`), passed through [`opaque`]:
    /// the copy loop's exits would otherwise narrow the records' length differently each, and
    /// the code after it be verified once per exit.
    pub signature_words: u32,
    /// The EDNS options seen (`parse::opt::Edns::options`), passed through [`opaque`]: each
    /// combination of options would otherwise have the rest of the program verified apart.
    pub options: u32,
    /// The query's Client Subnet option, with `parse::opt::SEEN_ECS`: kept here rather than on
    /// the stack and read back volatile (`parse::ecs::stored`), so that what the verifier
    /// knows of it on each path (the exits of the loop that reads the address; no option at
    /// all) does not split the rest of the program's verification.
    pub ecs: Ecs,
    /// Where the query's Client Subnet option starts, for `parse::ecs::parse`.
    pub ecs_at: u32,
    /// What the query's Client Subnet option means for this reply (`geo::subnet`), the answer's
    /// ECS scope and the echo's length, each passed through [`opaque`]: whether the query had
    /// one, and whether its RRset is a geo pool's, would otherwise split the rest of the
    /// program's verification in as many copies.
    pub subnet: [u32; 3],
    /// What the query's DNS Cookie is worth (`parse::cookie`), passed through [`opaque`]: each
    /// outcome is a constant of its own, and the code after it would be verified once per
    /// outcome.
    pub cookie_state: u32,
    /// The query's DNS Cookie words (`parse::cookie`): the client cookie, then the server
    /// cookie's two, as the query brought them and then as the reply carries them.
    pub cookie: [u64; 3],
    /// The length of the reply's COOKIE option, passed through [`opaque`]
    /// (`respond::opt::cookie_len`).
    pub cookie_len: u32,
    /// The source address of a UDP datagram to the DNS port, for the rate limiter: its bytes
    /// in packet order as two little-endian words (IPv4 in the first 4 bytes).
    pub source: [u64; 2],
    /// The family of [`Self::source`]: 4, 6, or 0 before the UDP header was checked.
    pub source_family: u32,
    /// The rate limiter's working values (`crate::rrl`), kept off the 512-byte stack, which the
    /// entry's frame nearly fills.
    pub rrl: RrlScratch,
    /// The last heartbeat verdict and when it was reached ([`daemon_stale`]).
    pub life: KeptLife,
    /// The length of a prepared reply's records (`respond::prepared`), passed through
    /// [`opaque`].
    pub record_len: u32,
    /// The keys of a negative answer's lookups (`crate::negative`) and of a fixed reply's
    /// (`crate::fixed`), off the stack.
    pub zone_key: ZoneKey,
    pub child_key: ChildKey,
    pub fixed_key: FixedKey,
}

/// [`Scratch::life`]: the last heartbeat verdict and what it was reached from. The zeroed
/// scratch's limit of 0 is never checked against, so the first check reads the clock.
#[repr(C)]
pub struct KeptLife {
    /// `bpf_jiffies64` at the check.
    pub tick: u64,
    /// `Life::beat_ns` and `Life::stale_after_ns` as the check read them.
    pub beat_ns: u64,
    pub stale_after_ns: u64,
    /// 1 if the heartbeat was stale.
    pub stale: u64,
}

/// [`Scratch::rrl`]: the bucket key being counted, and the event reporting a key that starts
/// or stops being limited.
#[repr(C)]
pub struct RrlScratch {
    pub key: rrl::Key,
    pub event: rrl::Event,
}

/// The 8-byte words of `Scratch::name`: enough for the longest name.
pub const QNAME_WORDS: usize = MAX_NAME_LEN.div_ceil(8);

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

/// The `u32` of RRset `id` in an array of [`IdPair`]s (`RRSET_SLOT_*`, `GEO_ROW_*`).
#[inline(always)]
pub fn by_id(array: &Array<IdPair>, id: u32) -> Option<*mut u32> {
    let (value, half) = id_pair(id);
    let pair = array.get_ptr_mut(value)?;
    // SAFETY: `half` is 0 or 1, so the `u32` lies inside the value.
    Some(unsafe { pair.cast::<u32>().add(half) })
}

/// One `Scratch` per CPU.
#[map]
pub static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);
