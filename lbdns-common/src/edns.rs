//! EDNS options (RFC 6891 §6.1.2): the codes both paths recognise, the one order replies write
//! them in, and what the XDP program is told about the options the server answers.
//!
//! Each path has one walker over a query's options: `authority::edns` on the socket path,
//! `parse::opt` in the XDP program. An option the server implements is recognised there and
//! nowhere else; every other option is skipped, as RFC 6891 §6.1.2 asks. DNS Cookies (RFC 7873)
//! and Client Subnet (RFC 7871) plug into those two walkers and into [`REPLY_ORDER`].

/// NSID, the name server identifier (RFC 5001): an empty option in a query asks for it.
pub const OPTION_NSID: u16 = 3;
/// EDNS Client Subnet (RFC 7871).
pub const OPTION_CLIENT_SUBNET: u16 = 8;
/// DNS Cookies (RFC 7873).
pub const OPTION_COOKIE: u16 = 10;
/// Padding (RFC 7830), which goes last: its length depends on everything before it.
pub const OPTION_PADDING: u16 = 12;

/// The order of options in a reply's OPT record, the same on both paths so that their replies
/// are equal byte for byte: the server's identity first, then the cookie (RFC 7873 §5.2.2 asks
/// for it in every reply to a query with one), then the client subnet echo, then padding.
/// RFC 6891 gives options no order; fixing one keeps replies deterministic.
pub const REPLY_ORDER: [u16; 4] = [
    OPTION_NSID,
    OPTION_COOKIE,
    OPTION_CLIENT_SUBNET,
    OPTION_PADDING,
];

/// Bit of the `EDNS_ANSWERS` value: NSID is configured, so a query that asks for it needs a
/// reply with the NSID option, which the socket path writes (the program passes such queries).
pub const ANSWERS_NSID: u32 = 1;
