//! Names of the program's maps and globals, and the map sizes it is built with.
//!
//! Userspace resizes maps before loading (`EbpfLoader::map_max_entries`) using these names. The
//! program declares the maps under the same names; loading fails if the two disagree.

/// Array of [`crate::names::Bucket`]: the name table's entries. Memory-mapped, written by
/// userspace only, one atomic 8-byte store per entry (see [`crate::names`]).
pub const NAME_BUCKETS: &str = "NAME_BUCKETS";
/// Array of `u64`: the name table's records. Memory-mapped, written by userspace only, into
/// words no program reaches (see [`crate::publish`]).
pub const NAME_WORDS: &str = "NAME_WORDS";
/// Array of [`IdPair`] by A RRset id: the slot of its current answer set. Memory-mapped,
/// written by userspace only, one atomic store per value (see [`crate::publish`]).
pub const RRSET_SLOT_V4: &str = "RRSET_SLOT_V4";
/// Array of [`IdPair`] by AAAA RRset id, as [`RRSET_SLOT_V4`].
pub const RRSET_SLOT_V6: &str = "RRSET_SLOT_V6";
/// Two `u32`s by RRset id, in the arrays that hold one per id (`RRSET_SLOT_*`, `ROTATION_*`,
/// `GEO_ROW_*`): id `i` is half `i % 2` of value `i / 2` ([`id_pair`]). The kernel rounds every
/// array value up to 8 bytes, so a value of one `u32` would take 8 bytes per id: 16 MiB of the
/// three A arrays at a million RRsets.
pub type IdPair = [u32; 2];

/// The value of an [`IdPair`] array that holds `id`, and its half.
#[inline(always)]
pub const fn id_pair(id: u32) -> (u32, usize) {
    (id / 2, (id % 2) as usize)
}

/// The values of an [`IdPair`] array of `ids` ids.
pub const fn id_pairs(ids: u32) -> u32 {
    ids.div_ceil(2)
}

/// Array of [`crate::answer::AnswerSetV4`] by slot: a set's head, and an extended set's
/// extension in the slots after it. Memory-mapped, written by userspace only, into slots no
/// program reaches (see [`crate::publish`]).
pub const ANSWERS_V4: &str = "ANSWERS_V4";
/// Array of [`crate::answer::AnswerSetV6`] by slot. Written by userspace only.
pub const ANSWERS_V6: &str = "ANSWERS_V6";
/// Array of [`crate::signature::Signatures`], both families': the RRSIG records of signed hot
/// RRsets, named by their answer sets. Memory-mapped, written by userspace only, into entries no
/// program reaches (see [`crate::publish`]).
pub const SIGNATURES: &str = "SIGNATURES";
/// Array of [`IdPair`] by CPU and A RRset id: how many replies that CPU has sent for the RRset,
/// which picks the next reply's leading address ([`crate::answer`]). Written by the program
/// only. Indexed by id rather than slot, so the rotation carries on across a change of
/// addresses, schedule or cap. CPU `c`'s counters are the [`rotation_stride`] values from `c *
/// stride` ([`rotation_value`]).
///
/// Why not a per-CPU array: the kernel finds a per-CPU element through a table of pointers, one
/// per element, so at a million RRsets a reply's counter was two dependent cache misses (the
/// pointer, then the counter) after the name's bucket, the longest chain of the lookup. Here the
/// address is computed from the CPU number, and the counter is one miss, read beside the
/// record and the answer set.
pub const ROTATION_V4: &str = "ROTATION_V4";
/// Array of [`IdPair`] by CPU and AAAA RRset id, as [`ROTATION_V4`].
pub const ROTATION_V6: &str = "ROTATION_V6";
/// Global `u32`: the [`rotation_stride`] of `ROTATION_V4`, set at load time with its size.
pub const ROTATION_STRIDE_V4: &str = "ROTATION_STRIDE_V4";
/// Global `u32`: the [`rotation_stride`] of `ROTATION_V6`.
pub const ROTATION_STRIDE_V6: &str = "ROTATION_STRIDE_V6";

/// Values of a `ROTATION_*` array per CPU for a family of `ids` ids: their [`id_pairs`], rounded
/// up to whole 64-byte cache lines, so that no two CPUs write the same line.
pub const fn rotation_stride(ids: u32) -> u32 {
    id_pairs(ids).next_multiple_of(ROTATION_VALUES_PER_LINE)
}

/// [`IdPair`] values in a cache line.
const ROTATION_VALUES_PER_LINE: u32 = 64 / core::mem::size_of::<IdPair>() as u32;

/// The value of a `ROTATION_*` array with `stride` values per CPU that holds `cpu`'s counter
/// of RRset `id`, and its half. Userspace refuses a size for which `cpu * stride` would not fit
/// in a `u32` (`XdpError::TooManyCpus`); the arithmetic wraps rather than panics all the same.
#[inline(always)]
pub const fn rotation_value(stride: u32, cpu: u32, id: u32) -> (u32, usize) {
    let (value, half) = id_pair(id);
    (cpu.wrapping_mul(stride).wrapping_add(value), half)
}
/// Per-CPU `u64` by [`crate::counters::Counter`]. Written by the program only.
pub const COUNTERS: &str = "COUNTERS";

/// Array of one `u32`: which EDNS options the server answers, and where their values are
/// (`crate::edns::ANSWERS_NSID`, `crate::edns::NSID_SLOT`). Memory-mapped, written by userspace
/// only, one atomic store, whenever the configuration is published (start-up and reload).
pub const EDNS_ANSWERS: &str = "EDNS_ANSWERS";
/// Array of two [`crate::edns::Nsid`]: the current NSID and the one being written. Memory-mapped,
/// written by userspace only, into the value no program reads (see `EDNS_ANSWERS`).
pub const NSID_VALUES: &str = "NSID_VALUES";
/// Array of two [`crate::cookie::CookieSecrets`]: the current server cookie secrets and the
/// ones being written (`crate::edns::COOKIE_SLOT`). Memory-mapped, written by userspace only,
/// into the value no program reads.
pub const COOKIE_SECRETS: &str = "COOKIE_SECRETS";
/// Array of one `u64`: the Unix time in seconds, the program's wall clock for cookie time
/// stamps (RFC 9018 §4.3). Memory-mapped, written by userspace only, one atomic store with
/// every heartbeat (at most a second apart), so it is as fresh as the heartbeat the program
/// already trusts; the kernel's TAI clock would need the TAI offset, which is 0 unless a time
/// daemon sets it.
pub const WALL_CLOCK: &str = "WALL_CLOCK";

/// LPM trie of IPv4 prefixes (key: prefix length, `[u8; 4]`) to [`crate::geo::GeoTarget`]: the
/// location and ECS scope of client addresses. Written by userspace only, one element at a
/// time (each update is atomic), more specific entries before the wider ones they replace.
pub const GEO_V4: &str = "GEO_V4";
/// LPM trie of IPv6 prefixes (key: prefix length, `[u8; 16]`), as [`GEO_V4`].
pub const GEO_V6: &str = "GEO_V6";
/// Array of `u32` by the top 16 bits of an IPv4 address: 0 (ask `GEO_V4`), a
/// [`crate::geo::DIRECT`] target, or a [`crate::geo::CHUNK`] of `GEO_CHUNKS`. Memory-mapped,
/// written by userspace only, one atomic store per entry.
pub const GEO_V4_16: &str = "GEO_V4_16";
/// Array of `u32` by the top 16 bits of an IPv6 address, as [`GEO_V4_16`] (0: ask `GEO_V6`).
pub const GEO_V6_16: &str = "GEO_V6_16";
/// Array of [`crate::geo::V6_48Slot`] by [`crate::geo::v6_48_slot`]: the entries of the IPv6
/// /48s in the /40s the map splits, ahead of `GEO_V6_16`. Memory-mapped, written by userspace
/// only, one atomic 8-byte store per slot; a slot names only a chunk the tables name too, and
/// is cleared before that chunk is freed.
pub const GEO_V6_48: &str = "GEO_V6_48";
/// Array of `u32`, chunks of [`crate::geo::CHUNK_LEN`] entries, each chunk named by one root or
/// chunk entry of either family and indexed by the address's next octet. Each entry is 0 (ask
/// the family's trie), a [`crate::geo::DIRECT`] target or, above the deepest level
/// ([`crate::geo::V4_LEVELS`], [`crate::geo::V6_LEVELS`]), a [`crate::geo::CHUNK`].
/// Memory-mapped, written by userspace only, one atomic store per entry, into chunks no entry
/// names (after a grace period).
pub const GEO_CHUNKS: &str = "GEO_CHUNKS";
/// Array of [`IdPair`] by A RRset id: the `GEO_LOCATIONS_V4` row (+1, 0 for none) of a geo RRset
/// (`crate::answer::GEO`). Memory-mapped, written by userspace only, one atomic store per
/// value (see [`crate::geo`]).
pub const GEO_ROW_V4: &str = "GEO_ROW_V4";
/// Array of [`IdPair`] by AAAA RRset id, as [`GEO_ROW_V4`].
pub const GEO_ROW_V6: &str = "GEO_ROW_V6";
/// Array of `u32`, rows of [`crate::geo::LOCATION_ROW`] entries: the A RRset id of each
/// location's answer of a geo RRset, or [`crate::geo::SAME_AS_OWN`] or
/// [`crate::geo::NO_ANSWER`]. Memory-mapped, written by userspace only, one atomic store per
/// entry (see [`crate::geo`]).
pub const GEO_LOCATIONS_V4: &str = "GEO_LOCATIONS_V4";
/// Array of `u32` rows for geo AAAA RRsets, as [`GEO_LOCATIONS_V4`].
pub const GEO_LOCATIONS_V6: &str = "GEO_LOCATIONS_V6";

/// Array of one [`crate::life::Life`]: the layout version and hash seed the maps were made
/// with, and the daemon's heartbeat. Memory-mapped, written by userspace only; read by the
/// program once per query, and by the next daemon process when it adopts pinned maps.
pub const LIFE: &str = "LIFE";

/// Array of one [`crate::rrl::Settings`]: whether and how the program limits response rates.
/// Memory-mapped, written by userspace only, at start-up and reload.
pub const RRL_SETTINGS: &str = "RRL_SETTINGS";
/// Array of [`crate::rrl::Slot`], shared by every CPU: the rate limiter's buckets,
/// direct-mapped by [`crate::rrl::slot_of`]. Written by the program only.
pub const RRL_BUCKETS: &str = "RRL_BUCKETS";
/// LPM trie of IPv4 prefixes (key: prefix length, then the address) never rate-limited.
/// Written by userspace only.
pub const RRL_ALLOW_V4: &str = "RRL_ALLOW_V4";
/// As [`RRL_ALLOW_V4`], of IPv6 prefixes.
pub const RRL_ALLOW_V6: &str = "RRL_ALLOW_V6";
/// Ring buffer of [`crate::rrl::Event`]: keys starting and stopping being limited. Written by
/// the program, read by the daemon's heartbeat thread.
pub const RRL_EVENTS: &str = "RRL_EVENTS";
/// Bytes of `RRL_EVENTS`: 2,048 events of 24 bytes and their headers, more than a second's
/// worth of changes in any flood worth logging.
pub const RRL_EVENT_BYTES: u32 = 64 * 1024;
/// Per-CPU `u64` by [`crate::rrl::Tally`]. Written by the program only.
pub const RRL_COUNTERS: &str = "RRL_COUNTERS";
/// Entries of the rate limiter's bucket table, a power of two: 32 bytes each, 8 MiB.
pub const RRL_BUCKET_ENTRIES: u32 = 262_144;
/// Prefixes each allow list holds.
pub const RRL_ALLOW_ENTRIES: u32 = 1024;

/// Array of one `u32`: [`crate::prepared::PREPARED_ON`] while the program may answer from the
/// prepared replies (`NEGATIVE_*`, `FIXED_REPLIES`), 0 while userspace replaces or removes
/// elements of them ([`crate::prepared`]). Memory-mapped, written by userspace only, one
/// atomic store.
pub const PREPARED_STATE: &str = "PREPARED_STATE";
/// Hash map of [`crate::negative::ZoneKey`] to [`crate::negative::NegativeZone`]: the zones
/// whose nonexistent names the program answers, and their SOA records. Allocated per element
/// (`BPF_F_NO_PREALLOC`), so the bound costs nothing until used. Written by userspace only.
pub const NEGATIVE_ZONES: &str = "NEGATIVE_ZONES";
/// Hash map of [`crate::negative::ChildKey`] to `u8`: the names right below those zones'
/// apexes that exist. Allocated per element. Written by userspace only.
pub const NEGATIVE_CHILDREN: &str = "NEGATIVE_CHILDREN";
/// Default size of `NEGATIVE_ZONES`, in zones. Allocated per element, so the bound costs
/// nothing until used.
pub const DEFAULT_NEGATIVE_ZONES: u32 = 65_536;
/// Size of `NEGATIVE_CHILDREN`, in names, where none is chosen from the zones (the object's
/// own, and a program loaded before the zones are read). Elements are allocated as they are
/// used, but the kernel allocates the table's buckets for every entry (16 bytes each), and a
/// flood of names the zone lacks reads a random one per query: with 2^20 entries (16 MiB of
/// buckets) the program took 353 ns a query above the accounting floor under the bench's
/// `flood` mix, with 2^16 (1 MiB) 276 ns, with 2^10 140 ns. So the daemon sizes the map from
/// what the zones need.
pub const DEFAULT_NEGATIVE_CHILDREN: u32 = 1 << 16;
/// The most entries `NEGATIVE_CHILDREN` is made with (16 MiB of buckets). An image holds at most
/// half as many names, since a publish adds the new ones before it removes the old.
pub const MAX_NEGATIVE_CHILDREN: u32 = 1 << 20;
/// Hash map of [`crate::fixed::FixedKey`] to [`crate::fixed::FixedReply`]: the replies the
/// socket path writes the same for every query of a name and type. Allocated per element
/// (600 bytes each). Written by userspace only.
pub const FIXED_REPLIES: &str = "FIXED_REPLIES";
/// Size of `FIXED_REPLIES` where none is chosen from the zones.
pub const DEFAULT_FIXED_REPLIES: u32 = 1 << 12;
/// The most entries `FIXED_REPLIES` is made with; an image holds at most half as many.
pub const MAX_FIXED_REPLIES: u32 = 1 << 17;

/// The maps pinned in bpffs so that they outlive the process (all but the program-private
/// scratch space and the globals): a new process reuses them when their layout version is its
/// own, found by the `LIFE` among them. A new set is pinned in a directory of its own and
/// renamed into place once its program runs, so the pinned set is always one program's.
pub const PINNED: [&str; 30] = [
    NAME_BUCKETS,
    NAME_WORDS,
    RRSET_SLOT_V4,
    RRSET_SLOT_V6,
    ANSWERS_V4,
    ANSWERS_V6,
    SIGNATURES,
    ROTATION_V4,
    ROTATION_V6,
    COUNTERS,
    EDNS_ANSWERS,
    NSID_VALUES,
    COOKIE_SECRETS,
    WALL_CLOCK,
    GEO_V4,
    GEO_V6,
    GEO_V4_16,
    GEO_V6_16,
    GEO_V6_48,
    GEO_CHUNKS,
    GEO_ROW_V4,
    GEO_ROW_V6,
    GEO_LOCATIONS_V4,
    GEO_LOCATIONS_V6,
    LIFE,
    PREPARED_STATE,
    NEGATIVE_ZONES,
    NEGATIVE_CHILDREN,
    FIXED_REPLIES,
    FIXED_PROGRAM,
];

/// Global `u16`: the UDP port queries arrive on, host byte order. Set at load time.
pub const DNS_PORT: &str = "DNS_PORT";

/// Global `u64`: the name table's hash seed ([`crate::names::hash_word`]). Userspace draws it
/// at random for each load, so no zone can be crafted to crowd the table's buckets.
pub const NAME_SEED: &str = "NAME_SEED";
/// Global `u32`: the number of `NAME_BUCKETS` minus one (a power of two minus one).
pub const NAME_BUCKET_MASK: &str = "NAME_BUCKET_MASK";

/// Default number of names (hot RRsets, A and AAAA counted apart) the name table holds: it
/// gets [`crate::names::buckets_for`] buckets, 64 bytes each (1 MiB for 65536 names).
pub const DEFAULT_RRSET_ENTRIES: u32 = 65_536;
/// Default size of `NAME_WORDS` per name table entry, in 8-byte words: a record is one word
/// plus the name's, so 6 words fit names of up to 40 bytes on average (3 MiB for 65536
/// names).
pub const DEFAULT_WORDS_PER_NAME: u32 = 6;
/// Default number of answer-set slots per address type, which is also the number of RRset ids
/// (`RRSET_SLOT_*`, `ROTATION_*` entries). A set takes one slot, or a block of
/// [`crate::answer::BLOCK_SLOTS`] when it is extended. Arrays are allocated up front: 16384
/// slots are 512 KiB of A sets (32 bytes each) and 1.25 MiB of AAAA sets (80 bytes).
pub const DEFAULT_ANSWER_SLOTS: u32 = 16_384;

/// The fewest answer-set slots (and RRset ids) per family, and the fewest name-table RRsets,
/// that maps sized from the zones get: 32 KiB of A sets and 80 KiB of AAAA sets.
pub const MIN_SLOTS: u32 = 1024;

/// Default number of `SIGNATURES` entries: how many signed hot RRsets (A and AAAA together,
/// plus spares for changes) can carry their RRSIGs in DO=1 answers from the fast path. 632
/// bytes each: 4096 are 2.5 MiB.
pub const DEFAULT_SIGNATURE_ENTRIES: u32 = 4096;

/// Default size of `GEO_V4` and `GEO_V6`, in prefixes each. The tries allocate per entry
/// (`BPF_F_NO_PREALLOC`), so the bound costs nothing until used; it holds a country database
/// deaggregated (a few 10^5 prefixes) with room to spare.
pub const DEFAULT_GEO_PREFIXES: u32 = 1 << 20;

/// Default number of `GEO_LOCATIONS_*` rows per family: how many geo RRsets (owners of geo
/// pools, A and AAAA apart) the program answers, plus spares for changes. 1 KiB each.
pub const DEFAULT_GEO_ROWS: u32 = 1024;

/// Default number of `GEO_CHUNKS` chunks: the /16s, /24s and longer prefixes of either family
/// the map splits whose parts the program finds without the trie. 1 KiB each; past them, the
/// trie answers.
pub const DEFAULT_GEO_CHUNKS: u32 = 4096;

/// The XDP program's name in the object.
pub const PROGRAM: &str = "lbdns";
/// A second entry of the object, never attached: it rewrites every query the program parses
/// that carries a client cookie into its BADCOOKIE reply (`respond::cookie::badcookie`, what
/// response rate limiting's slip sends), so tests compare that reply with the socket path's.
pub const BADCOOKIE_PROGRAM: &str = "lbdns_badcookie";
/// The object's third entry: the fixed replies (`crate::fixed`), which [`PROGRAM`] tail-calls
/// through [`FIXED_PROGRAM`] for the queries it has no reply for. A program of its own so that
/// the verifier follows it apart from the first.
pub const FIXED_REPLY_PROGRAM: &str = "lbdns_fixed";
/// Program array of one entry, [`FIXED_REPLY_PROGRAM`], set by userspace at load. Pinned: the
/// kernel empties a program array once nothing holds it open (no descriptor, no pin), so
/// without the pin a program left attached for a restart would pass these queries until the
/// next process swaps its own in. A process that adopts the pinned maps sets its own fixed
/// replies' program here, which the program still attached then calls: of the same layout
/// version, it reads the same maps.
pub const FIXED_PROGRAM: &str = "FIXED_PROGRAM";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cpu_has_its_own_cache_lines_of_rotation_counters() {
        for ids in [1, 2, 15, 16, 17, 1024, 1_000_001] {
            let stride = rotation_stride(ids);
            assert!(stride >= id_pairs(ids), "{ids} ids: room for every id");
            assert_eq!(
                stride as usize * size_of::<IdPair>() % 64,
                0,
                "{ids} ids: whole lines"
            );
            let last = ids - 1;
            for cpu in 0..4 {
                let (first_value, first_half) = rotation_value(stride, cpu, 0);
                let (last_value, last_half) = rotation_value(stride, cpu, last);
                assert_eq!((first_value, first_half), (cpu * stride, 0));
                assert_eq!(last_half, last as usize % 2);
                assert!(
                    last_value < (cpu + 1) * stride,
                    "{ids} ids: CPU {cpu} in its region"
                );
            }
        }
    }
}
