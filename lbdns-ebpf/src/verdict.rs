//! Why a packet is not answered.

use lbdns_common::counters::Counter;

/// The outcome of a packet the program does not answer.
#[derive(Clone, Copy)]
pub enum Skip {
    /// Hand the packet, unchanged, to the kernel stack; the counter says why.
    Pass(Counter),
    /// Drop the packet: it was already partly rewritten, so passing it would deliver garbage.
    Drop,
}

/// Not a UDP datagram to the DNS port that the program parses.
pub const NOT_DNS: Skip = Skip::Pass(Counter::PassNotDns);
/// Truncated or inconsistent.
pub const MALFORMED: Skip = Skip::Pass(Counter::PassMalformed);
/// A DNS message that is not a plain query.
pub const OTHER: Skip = Skip::Pass(Counter::PassOther);
/// No hot answer set.
pub const MISS: Skip = Skip::Pass(Counter::PassMiss);
/// Not an IN A or IN AAAA question.
pub const TYPE: Skip = Skip::Pass(Counter::PassType);
/// EDNS the socket path handles.
pub const EDNS: Skip = Skip::Pass(Counter::PassEdns);
/// A DO=1 query for a signed RRset whose RRSIGs the signature store does not hold.
pub const SIGNED: Skip = Skip::Pass(Counter::PassSigned);
/// The reply would be too large.
pub const SIZE: Skip = Skip::Pass(Counter::PassSize);
/// The daemon's heartbeat is too old (lbdns_common::life).
pub const STALE: Skip = Skip::Pass(Counter::PassStale);
/// A COOKIE option the program leaves to the socket path: malformed (FORMERR there), of a
/// length or version this server does not make, a second one, or cookies not published.
pub const COOKIE: Skip = Skip::Pass(Counter::PassCookie);
