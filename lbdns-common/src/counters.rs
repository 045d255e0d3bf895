//! The per-CPU counters the XDP program keeps: one `u64` per [`Counter`] in the `COUNTERS` map.
//!
//! Every packet the program sees increments exactly one counter, so the counters add up to the
//! number of packets that reached the program.

/// An index into the `COUNTERS` per-CPU array.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    /// Answered an A query (XDP_TX).
    AnsweredA = 0,
    /// Answered an AAAA query (XDP_TX).
    AnsweredAaaa = 1,
    /// Passed: not a UDP datagram to the DNS port over Ethernet/IPv4/IPv6 that the program
    /// parses (other traffic on the interface, IP options, fragments, extension headers).
    PassNotDns = 2,
    /// Passed: the (name, type) has no hot answer set.
    PassMiss = 3,
    /// Passed: QTYPE is not A or AAAA and the query has no fixed reply, or QCLASS is not IN.
    PassType = 4,
    /// Passed: EDNS the program leaves to the socket path (version above 0, too many options).
    PassEdns = 5,
    /// Passed: the reply would not fit the requester's UDP size, or the frame could not grow.
    PassSize = 6,
    /// Passed: a DNS message that is truncated or inconsistent (bad label, lengths that disagree).
    PassMalformed = 7,
    /// Passed: a well-formed DNS message that is not a plain query (QR=1, opcode, flags, section
    /// counts, an additional record other than OPT).
    PassOther = 8,
    /// Dropped: the packet was already being rewritten when a bounds check failed. The checks that
    /// decide to answer all run before the first write, so this should stay zero.
    Dropped = 9,
    /// Passed: a DO=1 query for a signed RRset (`answer::SIGNED`), whose answer needs its RRSIGs,
    /// when the signature store does not hold them (`answer::SIGNATURES` unset: too large, or a
    /// zone the socket path sends no RRSIGs for).
    PassSigned = 10,
    /// Passed: the daemon's heartbeat (`crate::life::Life`) is older than its limit: the daemon
    /// is dead or hung, and its answers may be stale.
    PassStale = 11,
    /// Passed: a COOKIE option (RFC 7873) the program leaves to the socket path: a malformed
    /// length (FORMERR there), a server cookie of another length or version than RFC 9018's, a
    /// second COOKIE option, or no secret or clock published yet.
    PassCookie = 12,
    /// Over a response rate limit (`crate::rrl`): a truncated or BADCOOKIE reply sent (XDP_TX)
    /// or the packet dropped; `RRL_COUNTERS` says which, by family.
    RateLimited = 13,
    /// Answered an A query NXDOMAIN: its name, right below a zone's apex, does not exist
    /// (XDP_TX; `crate::negative`).
    NxdomainA = 14,
    /// Answered an AAAA query NXDOMAIN, as [`Counter::NxdomainA`].
    NxdomainAaaa = 15,
    /// Answered with a reply prepared whole (XDP_TX; `crate::fixed`): a query of another type
    /// than A or AAAA, or an A or AAAA query for a name without that type (NODATA).
    AnsweredFixed = 16,
}

impl Counter {
    /// Every counter, in index order.
    pub const ALL: [Counter; 17] = [
        Counter::AnsweredA,
        Counter::AnsweredAaaa,
        Counter::PassNotDns,
        Counter::PassMiss,
        Counter::PassType,
        Counter::PassEdns,
        Counter::PassSize,
        Counter::PassMalformed,
        Counter::PassOther,
        Counter::Dropped,
        Counter::PassSigned,
        Counter::PassStale,
        Counter::PassCookie,
        Counter::RateLimited,
        Counter::NxdomainA,
        Counter::NxdomainAaaa,
        Counter::AnsweredFixed,
    ];

    /// The number of entries the `COUNTERS` map needs.
    pub const COUNT: u32 = Self::ALL.len() as u32;

    /// A stable snake_case name for logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::AnsweredA => "answered_a",
            Counter::AnsweredAaaa => "answered_aaaa",
            Counter::PassNotDns => "pass_not_dns",
            Counter::PassMiss => "pass_miss",
            Counter::PassType => "pass_type",
            Counter::PassEdns => "pass_edns",
            Counter::PassSize => "pass_size",
            Counter::PassMalformed => "pass_malformed",
            Counter::PassOther => "pass_other",
            Counter::Dropped => "dropped",
            Counter::PassSigned => "pass_signed",
            Counter::PassStale => "pass_stale",
            Counter::PassCookie => "pass_cookie",
            Counter::RateLimited => "rate_limited",
            Counter::NxdomainA => "answered_nxdomain_a",
            Counter::NxdomainAaaa => "answered_nxdomain_aaaa",
            Counter::AnsweredFixed => "answered_fixed",
        }
    }
}

const _: () = {
    let mut i = 0;
    while i < Counter::ALL.len() {
        assert!(
            Counter::ALL[i] as usize == i,
            "Counter::ALL must be in index order"
        );
        i += 1;
    }
};
