//! Sizes both sides must agree on.

/// The longest domain name in wire format, root label included (RFC 1035 §3.1).
pub const MAX_NAME_LEN: usize = 255;

/// The most addresses one answer set holds. Larger RRsets are not compiled into the maps: the
/// socket path answers them.
pub const MAX_ADDRS: usize = 16;

/// The most entries a schedule holds ([`crate::answer::Extension::schedule`]): the XDP ABI has
/// room for 32 leading addresses per cycle. Userspace scales a weighted pool's weights so that
/// its schedule fits, which makes 1/32 the finest share of leads the fast path serves.
pub const MAX_SCHEDULE: usize = 32;

// Schedule entries and the schedule length are `u8`s, and plain rotation is a schedule that
// names every address once.
const _: () = {
    assert!(MAX_ADDRS <= MAX_SCHEDULE);
    assert!(MAX_SCHEDULE <= u8::MAX as usize);
};

/// The largest DNS message a UDP reply may carry when the query has no OPT record (RFC 1035 §4.2.1).
pub const PLAIN_UDP_PAYLOAD: u16 = 512;

/// The UDP payload size lbdns advertises in its own OPT records (the DNS Flag Day 2020 value).
pub const EDNS_UDP_PAYLOAD: u16 = 1232;

/// The largest reply the fast path builds without signatures: header, the longest question,
/// [`MAX_ADDRS`] AAAA records with compressed owners, an OPT record.
const MAX_REPLY_LEN: usize = 12 + MAX_NAME_LEN + 4 + MAX_ADDRS * (12 + 16) + 11;

// The program checks a reply against the requester's UDP size capped at EDNS_UDP_PAYLOAD, as the
// socket path does. Unsigned replies always fit under the cap; a reply with RRSIG records
// (`crate::signature`) may not, and is passed to the socket path, which sets TC.
const _: () = assert!(MAX_REPLY_LEN <= EDNS_UDP_PAYLOAD as usize);
