//! Response rate limiting (RRL): the one definition of the rule, for the XDP program and the
//! socket path alike. Both call these plain functions; only where the buckets live differs
//! (a direct-mapped table of [`Slot`]s in the kernel, a hash map in userspace).
//!
//! A response is counted in the bucket of its [`Key`]: the client's address masked to a
//! prefix ([`prefix_v4`], [`prefix_v6`]) and what the response is ([`Response`]): a positive
//! answer by owner name and type, NXDOMAIN and NODATA by zone, referrals and errors by their
//! class, as BIND and NSD count. Queries the program passes to the socket path are counted
//! once more, per prefix alone ([`Response::Passed`]), against a higher ceiling that cuts
//! floods of random names before they reach userspace.
//!
//! The bucket is a GCRA (virtual scheduling) token bucket in one word, [`Bucket::tat_ns`]:
//! the time at which the bucket would be empty again. [`admit`] lets a response through when
//! that time is less than a burst ahead of now, and moves it one interval on. Over any window
//! of `w` seconds a key gets at most `rate × w + burst` responses through.

/// The `Settings::flags` bit: rate limiting is on.
pub const ENABLED: u32 = 1;
/// The `Settings::flags` bit: count and log what would be limited, but send every response.
pub const LOG_ONLY: u32 = 2;

/// The `RRL_SETTINGS` map's one value: the configuration the program applies. Written by
/// userspace at start-up and reload, field by field: a packet that reads a mix of old and new
/// values is limited by one or the other, which is harmless.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// [`ENABLED`], [`LOG_ONLY`].
    pub flags: u32,
    /// Every `slip`-th limited response is a truncated reply; 0: none.
    pub slip: u32,
    /// IPv4 prefix length, 0..=32.
    pub v4_prefix: u32,
    /// IPv6 prefix length, 0..=64: the key holds the address's first 64 bits.
    pub v6_prefix: u32,
    /// The per-response rate.
    pub responses: Rate,
    /// The per-prefix ceiling on queries the program passes to the socket path.
    pub passed: Rate,
}

/// A rate with its burst, in the bucket's terms.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rate {
    /// Nanoseconds per response: 1e9 / responses per second.
    pub interval_ns: u64,
    /// How far ahead of now the bucket may run: `burst × interval_ns`.
    pub burst_ns: u64,
}

impl Rate {
    /// `per_second` responses a second (at least 1), `burst` at once (at least 1).
    pub const fn new(per_second: u32, burst: u32) -> Self {
        let per_second = if per_second == 0 { 1 } else { per_second };
        let burst = if burst == 0 { 1 } else { burst };
        let interval_ns = 1_000_000_000 / per_second as u64;
        Self {
            interval_ns,
            burst_ns: interval_ns * burst as u64,
        }
    }
}

/// One key's bucket.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// When the bucket would be empty again (`CLOCK_MONOTONIC_COARSE`, ns).
    pub tat_ns: u64,
    /// Responses limited since the bucket was last full: whether the key is being limited.
    pub over: u32,
    /// Responses limited in all (wrapping): every `slip`-th of them slips, so the share is
    /// the configured one however the limited responses fall between those let through.
    pub limited: u32,
}

/// One entry of the program's bucket table (`RRL_BUCKETS`, [`crate::maps::RRL_BUCKETS`]):
/// direct-mapped, so a key has one entry, [`slot_of`], and holds it until a key that maps to the
/// same entry is counted. A key whose entry another took starts again with a full bucket:
/// with [`crate::maps::RRL_BUCKET_ENTRIES`] entries that takes thousands of keys counted at
/// once, and lets through at most a burst more. An array rather than a hash map because the
/// kernel inlines an array lookup into the program, where a hash map lookup is a helper call
/// that hashes the key and walks a bucket list.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    /// The key whose bucket this is.
    pub key: Key,
    pub bucket: Bucket,
}

/// The entry of `RRL_BUCKETS` that `key` uses: the key's words mixed (the finaliser of
/// SplitMix64), cut to the table's size, a power of two.
#[inline(always)]
pub const fn slot_of(key: &Key) -> u32 {
    let mut mixed = key.prefix ^ key.response.rotate_left(29);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^= mixed >> 31;
    (mixed as u32) & (crate::maps::RRL_BUCKET_ENTRIES - 1)
}

/// What [`admit`] decided for one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate. `ended`: the key was being limited, and its bucket has filled up
    /// again since.
    Within { ended: bool },
    /// Over the rate: send a truncated reply (TC=1, the question only). `started`: the first
    /// response limited since the key was last within its rate.
    Slip { started: bool },
    /// Over the rate: send nothing.
    Drop { started: bool },
}

impl Verdict {
    /// Whether the key starts being limited with this response.
    pub const fn started(self) -> bool {
        matches!(
            self,
            Verdict::Slip { started: true } | Verdict::Drop { started: true }
        )
    }
}

/// Counts one response against `bucket` at `now_ns`.
///
/// Shared buckets are updated by several CPUs without a lock: two updates of one bucket at
/// the same instant may both read the old time, and one response more than the rate goes
/// through. Each CPU adds at most one such response per overlapping update, so the error is
/// at most (CPUs − 1) responses per interval while a key is hammered from every CPU at once.
#[inline(always)]
pub fn admit(bucket: &mut Bucket, now_ns: u64, rate: &Rate, slip: u32) -> Verdict {
    // A key stops being limited once its bucket is full again, not when one response gets
    // through: a flood at any rate above the limit lets one through every interval.
    let full = bucket.tat_ns <= now_ns;
    let ended = full && bucket.over != 0;
    let tat = if full { now_ns } else { bucket.tat_ns };
    if ended {
        bucket.over = 0;
    }
    let next = tat + rate.interval_ns;
    if next - now_ns <= rate.burst_ns {
        bucket.tat_ns = next;
        return Verdict::Within { ended };
    }
    bucket.over = bucket.over.saturating_add(1);
    bucket.limited = bucket.limited.wrapping_add(1);
    let started = bucket.over == 1;
    // `slip` of 1 truncates every limited response, 2 every second one, 0 none.
    if slip != 0 && bucket.limited.is_multiple_of(slip) {
        Verdict::Slip { started }
    } else {
        Verdict::Drop { started }
    }
}

/// What a response is, for its bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    /// A positive answer: [`name_digest`] of the owner name and type.
    Positive(u64),
    /// NXDOMAIN or NODATA: [`name_digest`] of the zone's apex (type 0).
    Negative(u64),
    /// A referral.
    Referral,
    /// An error (any RCODE but NOERROR and NXDOMAIN).
    Error,
    /// A query the XDP program passed to the socket path.
    Passed,
}

/// The key of a bucket: a prefix and a response.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Key {
    /// [`prefix_v4`] or [`prefix_v6`].
    pub prefix: u64,
    /// The response's class in the low 4 bits, the family in bit 4, a digest above.
    pub response: u64,
}

impl Key {
    /// The key of `response` to a client in `prefix` (IPv6 if `v6`).
    #[inline(always)]
    pub const fn new(prefix: u64, v6: bool, response: Response) -> Self {
        let (class, digest) = match response {
            Response::Positive(digest) => (1, digest),
            Response::Negative(digest) => (2, digest),
            Response::Referral => (3, 0),
            Response::Error => (4, 0),
            Response::Passed => (5, 0),
        };
        Self {
            prefix,
            response: (digest & !0x1f) | ((v6 as u64) << 4) | class,
        }
    }
}

/// An IPv4 address (network byte order, as in the packet) masked to `len` bits, 0..=32.
#[inline(always)]
pub const fn prefix_v4(addr: [u8; 4], len: u32) -> u64 {
    let addr = u32::from_be_bytes(addr) as u64;
    if len >= 32 {
        return addr;
    }
    addr & !(u32::MAX as u64 >> len)
}

/// The first 64 bits of an IPv6 address masked to `len` bits, 0..=64.
#[inline(always)]
pub const fn prefix_v6(high: [u8; 8], len: u32) -> u64 {
    let addr = u64::from_be_bytes(high);
    if len >= 64 {
        return addr;
    }
    if len == 0 {
        return 0;
    }
    addr & !(u64::MAX >> len)
}

/// The digest of a name and type for [`Response::Positive`] and [`Response::Negative`]:
/// `state` is `crate::names::hash_word` folded over the lowercase name's words (the program
/// has it from its name table lookup), mixed with the name's length and `qtype`.
#[inline(always)]
pub const fn name_digest(state: u64, name_len: usize, qtype: u16) -> u64 {
    let mut h = state ^ ((name_len as u64) << 16 | qtype as u64);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// The digest of a lowercase wire-format name and type, as [`name_digest`] computes it from
/// the hash state the program holds (seed 0).
pub fn digest_of(name: &[u8], qtype: u16) -> u64 {
    let state = crate::names::name_words(name).fold(0, crate::names::hash_word);
    name_digest(state, name.len(), qtype)
}

/// An `RRL_EVENTS` record: `key` started (`started` 1) or stopped (0) being limited. The
/// program writes one per change, never one per packet; the daemon logs them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub key: Key,
    pub started: u32,
    /// Explicit padding.
    pub _pad: u32,
}

/// The `RRL_COUNTERS` per-CPU array's entries, and the socket path's counters of the same.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tally {
    /// Responses within the rate, sent, from IPv4 clients.
    AnsweredV4 = 0,
    /// As [`Tally::AnsweredV4`], IPv6.
    AnsweredV6 = 1,
    /// Limited responses sent as a truncated reply, IPv4.
    SlippedV4 = 2,
    /// As [`Tally::SlippedV4`], IPv6.
    SlippedV6 = 3,
    /// Limited responses dropped, IPv4 (and queries over the passed ceiling, in XDP).
    DroppedV4 = 4,
    /// As [`Tally::DroppedV4`], IPv6.
    DroppedV6 = 5,
    /// Responses over the rate sent all the same: the client is on the allow list. IPv4.
    AllowedV4 = 6,
    /// As [`Tally::AllowedV4`], IPv6.
    AllowedV6 = 7,
}

impl Tally {
    /// Every tally, in index order.
    pub const ALL: [Tally; 8] = [
        Tally::AnsweredV4,
        Tally::AnsweredV6,
        Tally::SlippedV4,
        Tally::SlippedV6,
        Tally::DroppedV4,
        Tally::DroppedV6,
        Tally::AllowedV4,
        Tally::AllowedV6,
    ];

    /// The entries the `RRL_COUNTERS` map needs.
    pub const COUNT: u32 = Self::ALL.len() as u32;

    /// The IPv4 tally `self` or its IPv6 twin.
    #[inline(always)]
    pub const fn family(self, v6: bool) -> Tally {
        // Each IPv6 tally follows its IPv4 one.
        match (self, v6) {
            (Tally::AnsweredV4, true) => Tally::AnsweredV6,
            (Tally::SlippedV4, true) => Tally::SlippedV6,
            (Tally::DroppedV4, true) => Tally::DroppedV6,
            (Tally::AllowedV4, true) => Tally::AllowedV6,
            (other, _) => other,
        }
    }

    /// A stable snake_case name for `lbdns stats` and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Tally::AnsweredV4 => "rrl_answered_v4",
            Tally::AnsweredV6 => "rrl_answered_v6",
            Tally::SlippedV4 => "rrl_slipped_v4",
            Tally::SlippedV6 => "rrl_slipped_v6",
            Tally::DroppedV4 => "rrl_dropped_v4",
            Tally::DroppedV6 => "rrl_dropped_v6",
            Tally::AllowedV4 => "rrl_allowed_v4",
            Tally::AllowedV6 => "rrl_allowed_v6",
        }
    }
}

const _: () = {
    let mut i = 0;
    while i < Tally::ALL.len() {
        assert!(
            Tally::ALL[i] as usize == i,
            "Tally::ALL must be in index order"
        );
        i += 1;
    }
    assert!(core::mem::size_of::<Settings>() == 48);
    assert!(core::mem::size_of::<Bucket>() == 16);
    assert!(core::mem::size_of::<Key>() == 16);
    assert!(core::mem::size_of::<Slot>() == 32);
    assert!(crate::maps::RRL_BUCKET_ENTRIES.is_power_of_two());
};

#[cfg(feature = "user")]
// SAFETY: `#[repr(C)]`, integers only, no padding: every bit pattern is valid.
unsafe impl aya::Pod for Settings {}
#[cfg(feature = "user")]
// SAFETY: as `Settings`.
unsafe impl aya::Pod for Bucket {}
#[cfg(feature = "user")]
// SAFETY: as `Settings`.
unsafe impl aya::Pod for Key {}
#[cfg(feature = "user")]
// SAFETY: as `Settings`: two such structs.
unsafe impl aya::Pod for Slot {}
#[cfg(feature = "user")]
// SAFETY: as `Settings`, with explicit padding.
unsafe impl aya::Pod for Event {}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn keys_spread_over_the_bucket_table() {
        // 100 /24s asking for 100 names each: as many keys as a busy server limits at once.
        let mut taken = [0u64; (crate::maps::RRL_BUCKET_ENTRIES / 64) as usize];
        let mut distinct = 0;
        for net in 0..100u32 {
            let prefix = prefix_v4((0xc612_0000 | net << 8).to_be_bytes(), 24);
            for name in 0..100u64 {
                let digest = name_digest(name.wrapping_mul(0x9e37_79b9_7f4a_7c15), 12, 1);
                let slot = slot_of(&Key::new(prefix, false, Response::Positive(digest)));
                assert!(slot < crate::maps::RRL_BUCKET_ENTRIES);
                let (word, bit) = ((slot / 64) as usize, 1 << (slot % 64));
                if taken[word] & bit == 0 {
                    taken[word] |= bit;
                    distinct += 1;
                }
            }
        }
        // 10,000 keys in 262,144 entries: about 190 collide by chance; far more means the mix
        // lets the prefix or the name through unmixed.
        assert!(distinct > 9_600, "{distinct} entries for 10,000 keys");
    }

    #[test]
    fn a_key_gets_its_burst_then_its_rate() {
        let rate = Rate::new(10, 5);
        let mut bucket = Bucket::default();
        let now = 1_000 * MS;
        let through = (0..50)
            .filter(|_| matches!(admit(&mut bucket, now, &rate, 0), Verdict::Within { .. }))
            .count();
        assert_eq!(through, 5);
        // One interval later, one more; the key is still being limited.
        assert_eq!(
            admit(&mut bucket, now + 100 * MS, &rate, 0),
            Verdict::Within { ended: false }
        );
        assert_eq!(
            admit(&mut bucket, now + 100 * MS, &rate, 0),
            Verdict::Drop { started: false }
        );
        // Quiet until the bucket is full again: limiting has ended, and starts anew.
        let later = now + 2_000 * MS;
        assert_eq!(
            admit(&mut bucket, later, &rate, 0),
            Verdict::Within { ended: true }
        );
        for _ in 0..4 {
            admit(&mut bucket, later, &rate, 0);
        }
        assert_eq!(
            admit(&mut bucket, later, &rate, 0),
            Verdict::Drop { started: true }
        );
    }

    #[test]
    fn every_slip_th_limited_response_is_truncated() {
        let rate = Rate::new(1, 1);
        for (slip, truncated) in [(0, 0), (1, 12), (2, 6), (3, 4)] {
            let mut bucket = Bucket::default();
            admit(&mut bucket, MS, &rate, slip);
            let slipped = (0..12)
                .filter(|_| matches!(admit(&mut bucket, MS, &rate, slip), Verdict::Slip { .. }))
                .count();
            assert_eq!(slipped, truncated, "slip {slip}");
        }
    }

    #[test]
    fn prefixes_mask_the_host_bits() {
        assert_eq!(prefix_v4([198, 18, 1, 77], 24), 0xc612_0100);
        assert_eq!(prefix_v4([198, 18, 1, 77], 32), 0xc612_014d);
        assert_eq!(prefix_v4([198, 18, 1, 77], 0), 0);
        let high = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0x23, 0x45];
        assert_eq!(prefix_v6(high, 56), 0x2001_0db8_0001_2300);
        assert_eq!(prefix_v6(high, 64), 0x2001_0db8_0001_2345);
        assert_eq!(prefix_v6(high, 0), 0);
    }

    #[test]
    fn keys_differ_by_class_family_and_digest() {
        let a = Key::new(1, false, Response::Positive(digest_of(b"\x01a\0", 1)));
        let b = Key::new(1, false, Response::Positive(digest_of(b"\x01b\0", 1)));
        let aaaa = Key::new(1, false, Response::Positive(digest_of(b"\x01a\0", 28)));
        let v6 = Key::new(1, true, Response::Positive(digest_of(b"\x01a\0", 1)));
        let referral = Key::new(1, false, Response::Referral);
        let error = Key::new(1, false, Response::Error);
        let all = [a, b, aaaa, v6, referral, error];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}
