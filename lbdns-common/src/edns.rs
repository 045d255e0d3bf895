//! EDNS options (RFC 6891 §6.1.2): the codes both paths recognise, the one order replies write
//! them in, and what the XDP program is told about the options the server answers.
//!
//! Each path has one walker over a query's options: `authority::edns` on the socket path,
//! `parse::opt` in the XDP program. An option the server implements is recognised there and
//! nowhere else; every other option is skipped, as RFC 6891 §6.1.2 asks. DNS Cookies (RFC 7873)
//! and Client Subnet (RFC 7871) plug into those two walkers and into [`REPLY_ORDER`]; an
//! option the program does not write itself makes it pass the query.

use crate::csum::folded_sum;

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

/// Bit of the `EDNS_ANSWERS` value: an NSID is configured, and a query that asks for it gets
/// the NSID option with the value in `NSID_VALUES` that [`NSID_SLOT`] picks.
pub const ANSWERS_NSID: u32 = 1;
/// Bit of the `EDNS_ANSWERS` value: which of the two `NSID_VALUES` is current. Userspace writes
/// a new NSID into the other one, waits for no program to read it, then flips this bit and
/// [`ANSWERS_NSID`] with one store (the order of `crate::publish`, for one value).
pub const NSID_SLOT: u32 = 2;

/// Bit of the `EDNS_ANSWERS` value: the server answers DNS Cookies (RFC 7873), with the
/// secrets in `COOKIE_SECRETS` that [`COOKIE_SLOT`] picks and the time in `WALL_CLOCK`. Without
/// it the program passes every query with a COOKIE option.
pub const ANSWERS_COOKIE: u32 = 4;
/// Bit of the `EDNS_ANSWERS` value: which of the two `COOKIE_SECRETS` is current, switched as
/// [`NSID_SLOT`] is.
pub const COOKIE_SLOT: u32 = 8;
/// Bit of the `EDNS_ANSWERS` value: the server answers Client Subnet (RFC 7871). A query's
/// valid ECS option steers geo answers by its address, cut to the privacy caps
/// ([`ecs_caps`]), and the reply echoes it with a scope. Without the bit the option is ignored,
/// as the socket path ignores it when ECS is off.
pub const ANSWERS_ECS: u32 = 16;
/// Where the IPv4 privacy cap sits in the `EDNS_ANSWERS` value: bits 16..24, 0..=32.
pub const ECS_CAP_V4_SHIFT: u32 = 16;
/// Where the IPv6 privacy cap sits in the `EDNS_ANSWERS` value: bits 24..32, 0..=128.
pub const ECS_CAP_V6_SHIFT: u32 = 24;

/// The privacy caps (RFC 7871 §11.1: the most bits of a client's address the server uses) an
/// `EDNS_ANSWERS` value carries, IPv4's then IPv6's.
#[inline(always)]
pub const fn ecs_caps(answers: u32) -> (u8, u8) {
    (
        (answers >> ECS_CAP_V4_SHIFT) as u8,
        (answers >> ECS_CAP_V6_SHIFT) as u8,
    )
}

/// Every `EDNS_ANSWERS` bit Client Subnet uses: [`ANSWERS_ECS`] and both caps.
pub const ECS_BITS: u32 = ANSWERS_ECS | 0xff << ECS_CAP_V4_SHIFT | 0xff << ECS_CAP_V6_SHIFT;

/// The `EDNS_ANSWERS` bits that switch Client Subnet on with these privacy caps.
#[inline(always)]
pub const fn answers_ecs(cap_v4: u8, cap_v6: u8) -> u32 {
    ANSWERS_ECS | (cap_v4 as u32) << ECS_CAP_V4_SHIFT | (cap_v6 as u32) << ECS_CAP_V6_SHIFT
}

/// Family codes of the ECS option (RFC 7871 §6, IANA address family numbers).
pub const ECS_FAMILY_V4: u16 = 1;
/// IPv6's.
pub const ECS_FAMILY_V6: u16 = 2;

/// The longest NSID the server sends. RFC 5001 sets no limit; this one keeps any reply's OPT
/// record, with the longest question, inside the 512 octets of a plain UDP reply.
pub const MAX_NSID_LEN: usize = 128;

/// The server's NSID as the program copies it into replies: a value of `NSID_VALUES`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nsid {
    /// Octets of `data` in use: 1..=[`MAX_NSID_LEN`]. The program passes NSID queries when the
    /// value is outside that range.
    pub len: u16,
    /// The one's complement sum of `data` as big-endian 16-bit words, folded to 16 bits: the
    /// NSID's share of the UDP checksum, computed once rather than per reply. The padding is
    /// zero, so it adds nothing.
    pub sum: u16,
    /// The NSID, zero from `len` on.
    pub data: [u8; MAX_NSID_LEN],
}

impl Nsid {
    /// `octets` as the program sends them; `None` if empty or longer than [`MAX_NSID_LEN`].
    pub fn new(octets: &[u8]) -> Option<Self> {
        if octets.is_empty() || octets.len() > MAX_NSID_LEN {
            return None;
        }
        let mut data = [0; MAX_NSID_LEN];
        data[..octets.len()].copy_from_slice(octets);
        Some(Self {
            len: octets.len() as u16,
            sum: folded_sum(&data),
            data,
        })
    }
}

const _: () = assert!(core::mem::size_of::<Nsid>() == 4 + MAX_NSID_LEN);

#[cfg(feature = "user")]
// SAFETY: two `u16`s then bytes, no padding (asserted above); every bit pattern is valid.
unsafe impl aya::Pod for Nsid {}
