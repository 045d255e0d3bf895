//! The query's OPT pseudo-record (RFC 6891 §6), and the program's one walk over its options.

use lbdns_common::edns::{OPTION_CLIENT_SUBNET, OPTION_COOKIE, OPTION_NSID};

use super::{
    cookie::{self, Cookie},
    ecs,
};
use crate::{
    frame::Frame,
    maps::{opaque, Scratch},
    verdict::{Skip, EDNS, MALFORMED, OTHER},
};

/// The OPT record type.
const TYPE_OPT: u16 = 41;
/// Length of an OPT record without options: root owner, type, class, TTL, RDLENGTH.
pub const OPT_FIXED_LEN: usize = 11;
/// The DO bit in the OPT TTL's flags (RFC 3225).
pub const FLAG_DO: u16 = 0x8000;
/// Options the fast path walks before leaving the query to the socket path. Queries carry one
/// or two (a cookie, padding) if any.
const MAX_OPTIONS: usize = 8;

/// [`Edns::options`] bit: the query carries an NSID option (RFC 5001), asking for the server's.
pub const SEEN_NSID: u8 = 1;
/// [`Edns::options`] bit: the query carries a valid Client Subnet option (RFC 7871), in
/// `Scratch::ecs` (`ecs::stored`).
pub const SEEN_ECS: u8 = 2;

/// What the reply needs from the query's OPT record.
#[derive(Clone, Copy)]
pub struct Edns {
    /// The requester's UDP payload size.
    pub udp_size: u16,
    /// The DO bit, which the reply copies.
    pub dnssec_ok: bool,
    /// The recognised options the query carries, as `SEEN_*` bits; `respond::opt` decides
    /// what each means for the reply.
    pub options: u8,
    /// The query's DNS Cookie, if any (`parse::cookie`).
    pub cookie: Cookie,
}

impl Edns {
    /// The fields of a query without an OPT record, all defined (`dns::parse` says why).
    pub const ABSENT: Edns = Edns {
        udp_size: 0,
        dnssec_ok: false,
        options: 0,
        cookie: Cookie::NONE,
    };
}

/// Parses the OPT record at `off`, which must end the message at `end`. Options are checked
/// for framing; the ones the server implements are recognised (`SEEN_*`), the others ignored,
/// as the socket path ignores the options it does not implement (RFC 6891 §6.1.2).
///
/// This is the program's one walk over the options: DNS Cookies (RFC 7873, `parse::cookie`)
/// and Client Subnet (RFC 7871, `parse::ecs`) have their arms here.
#[inline(always)]
pub fn parse(frame: &Frame, off: usize, end: usize, scratch: *mut Scratch) -> Result<Edns, Skip> {
    // Bytes 0..8 (owner, type, class, extended RCODE, version) and 7..11 (flags, RDLENGTH).
    let (front, back) = frame
        .header_words::<OPT_FIXED_LEN, 7>(off)
        .ok_or(MALFORMED)?;
    // An additional record other than OPT (TSIG, SIG(0)) is for the socket path.
    if front as u8 != 0 || u16::from_be((front >> 8) as u16) != TYPE_OPT {
        return Err(OTHER);
    }
    let udp_size = u16::from_be((front >> 24) as u16);
    // Extended RCODE and version: both 0 in a query the fast path answers; a higher version
    // gets BADVERS from the socket path.
    if (front >> 40) as u16 != 0 {
        return Err(EDNS);
    }
    let flags = u16::from_be(back as u16);
    let rdlen = usize::from(u16::from_be((back >> 16) as u16));
    let mut at = off + OPT_FIXED_LEN;
    if at + rdlen != end {
        return Err(MALFORMED);
    }
    let mut options = 0;
    let mut ecs_at = 0;
    let mut cookie = Cookie::NONE;
    // SAFETY: this CPU's scratch value, used only by this program run.
    let cookie_words = unsafe { &mut (*scratch).cookie };
    for _ in 0..MAX_OPTIONS {
        if at >= end {
            break;
        }
        // Code and length in one load, each byte-swapped in its place.
        let head = frame.le32(at).ok_or(MALFORMED)?;
        let code = u16::from_be(head as u16);
        let option_len = usize::from(u16::from_be((head >> 16) as u16));
        match code {
            OPTION_NSID => options |= SEEN_NSID,
            OPTION_COOKIE => cookie::read(frame, at + 4, option_len, &mut cookie, cookie_words)?,
            OPTION_CLIENT_SUBNET => ecs_at = ecs::seen(ecs_at, at)?,
            _ => {}
        }
        at += 4 + option_len;
    }
    if at > end {
        return Err(MALFORMED);
    }
    if at < end {
        return Err(EDNS);
    }
    // Only where it is: `geo::subnet` reads it once the name has an answer set, and only if
    // the server answers ECS, where the verifier has fewer paths to follow it on.
    if ecs_at != 0 {
        options |= SEEN_ECS;
        ecs::found(ecs_at, scratch);
    }
    // SAFETY: this CPU's scratch value, used only by this program run.
    let options = opaque(unsafe { &mut (*scratch).options }, u32::from(options)) as u8;
    Ok(Edns {
        udp_size,
        dnssec_ok: flags & FLAG_DO != 0,
        options,
        cookie,
    })
}
