//! The DNS header and question (RFC 1035 §4.1).

use lbdns_common::{
    limits::{EDNS_UDP_PAYLOAD, PLAIN_UDP_PAYLOAD},
    qtype::AddrType,
};

use super::{name, opt};
use crate::{
    frame::Frame,
    maps::Scratch,
    verdict::{Skip, MALFORMED, OTHER, TYPE},
};

/// DNS header length.
pub const HEADER_LEN: usize = 12;
/// The RD (recursion desired) flag, which the reply copies.
pub const FLAG_RD: u16 = 0x0100;
/// The AD flag: dig and others set it in queries to ask for the AD bit (RFC 6840 §5.7).
const FLAG_AD: u16 = 0x0020;
/// The CD flag, which the reply copies (RFC 4035 §3.2.2).
pub const FLAG_CD: u16 = 0x0010;
/// The only header flags a query the fast path answers may carry. Everything else (QR, a
/// non-QUERY opcode, AA, TC, RA, Z, a non-zero RCODE) goes to the socket path.
const QUERY_FLAGS: u16 = FLAG_RD | FLAG_AD | FLAG_CD;
/// The class IN.
const CLASS_IN: u16 = 1;
/// Length of QTYPE and QCLASS.
pub const QUESTION_FIXED_LEN: usize = 4;

/// A plain query with one IN question.
pub struct Message {
    /// Offset of the DNS header.
    pub off: usize,
    /// The query's ID.
    pub id: u16,
    /// The query's header flags (a subset of `QUERY_FLAGS`).
    pub flags: u16,
    /// The question name: length, checksum contribution and hash. Its lowercase words are in
    /// `Scratch::name`.
    pub name: name::Name,
    /// QTYPE.
    pub qtype: u16,
    /// QTYPE if it is A or AAAA, which the name table answers; any other has only a fixed
    /// reply (`crate::fixed`).
    pub addr_type: Option<AddrType>,
    /// The query's OPT record, if it has one.
    pub edns: Option<opt::Edns>,
    /// The longest reply the requester takes: its EDNS UDP payload size, at least 512 bytes
    /// (RFC 6891 §6.2.5) and at most the socket path's EDNS_UDP_PAYLOAD; 512 bytes without
    /// EDNS (RFC 1035 §4.2.1).
    pub max_len: u16,
}

/// Parses the DNS message of `len` bytes at `off`.
#[inline(always)]
pub fn parse(
    frame: &Frame,
    off: usize,
    len: usize,
    scratch: *mut Scratch,
) -> Result<Message, Skip> {
    if len < HEADER_LEN {
        return Err(MALFORMED);
    }
    let (front, back) = frame.header_words::<HEADER_LEN, 8>(off).ok_or(MALFORMED)?;
    let id = u16::from_be(front as u16);
    let flags = u16::from_be((front >> 16) as u16);
    if flags & !QUERY_FLAGS != 0 {
        return Err(OTHER);
    }
    let (qdcount, ancount) = (u16::from_be((front >> 32) as u16), (front >> 48) as u16);
    let (nscount, arcount) = (back as u16, u16::from_be((back >> 16) as u16));
    if qdcount != 1 || ancount != 0 || nscount != 0 || arcount > 1 {
        return Err(OTHER);
    }

    let name = name::read(frame, off + HEADER_LEN, scratch)?;
    let fixed = off + HEADER_LEN + name.len;
    // QTYPE and QCLASS in one load, each byte-swapped in its place.
    let types = frame.le32(fixed).ok_or(MALFORMED)?;
    let qtype = u16::from_be(types as u16);
    let qclass = u16::from_be((types >> 16) as u16);
    let question_end = fixed + QUESTION_FIXED_LEN;
    let end = off + len;
    if question_end > end {
        return Err(MALFORMED);
    }
    if qclass != CLASS_IN {
        return Err(TYPE);
    }
    let addr_type = AddrType::from_rr_type(qtype);

    // Chosen between a parsed record and `Edns::ABSENT` rather than built as `None` on one
    // path: a `None` leaves the payload's bytes undefined, and LLVM filled them from whatever
    // register was free, a packet pointer on some paths, whose partial store the verifier
    // rejects (found in this project, once the rate limiter changed the registers).
    let (present, parsed) = if arcount == 1 {
        (true, opt::parse(frame, question_end, end, scratch)?)
    } else if question_end != end {
        // Bytes after the last section.
        return Err(MALFORMED);
    } else {
        (false, opt::Edns::ABSENT)
    };
    let edns = present.then_some(parsed);
    // Decided here, where `edns` is known: from `respond`, the compiler read the size from a
    // stack slot before testing `edns`, on paths where the slot held a pointer, and the verifier
    // rejects that read.
    let max_len = match edns {
        // The socket path sends at most EDNS_UDP_PAYLOAD whatever the requester takes.
        Some(edns) if edns.udp_size > PLAIN_UDP_PAYLOAD => edns.udp_size.min(EDNS_UDP_PAYLOAD),
        _ => PLAIN_UDP_PAYLOAD,
    };
    Ok(Message {
        off,
        id,
        flags,
        name,
        qtype,
        addr_type,
        edns,
        max_len,
    })
}
