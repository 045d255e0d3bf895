//! The DNS header of the reply.

use super::csum::Csum;
use crate::{
    frame::{get16, put16, Frame},
    parse::dns::{FLAG_CD, FLAG_RD, HEADER_LEN},
};

/// QR: this is a response.
const FLAG_QR: u16 = 0x8000;
/// AA: the answer comes from the zone's authority.
const FLAG_AA: u16 = 0x0400;

/// Turns the query's header at `off` into the reply's: same ID, QR and AA set, RD copied
/// (RFC 1035 §4.1.1), CD copied (RFC 4035 §3.2.2), every other flag clear (AD included, as
/// the socket path sends it), RCODE NOERROR, one question, `ancount` answers, no authority
/// records, `arcount` additional records (the OPT record or none). Returns the header's
/// checksum contribution.
#[inline(always)]
pub fn write(
    frame: &Frame,
    off: usize,
    query_flags: u16,
    ancount: u16,
    arcount: u16,
) -> Option<Csum> {
    let header = frame.bytes::<HEADER_LEN>(off)?;
    let flags = FLAG_QR | FLAG_AA | (query_flags & (FLAG_RD | FLAG_CD));
    put16(header, 2, flags);
    put16(header, 6, ancount);
    put16(header, 10, arcount);
    // QDCOUNT stays 1 and NSCOUNT 0, as parsing required.
    let mut sum = Csum::default();
    sum.add16(get16(header, 0));
    sum.add16(flags);
    sum.add16(1);
    sum.add16(ancount);
    sum.add16(arcount);
    Some(sum)
}
