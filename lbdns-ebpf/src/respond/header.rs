//! The DNS header of the reply.

use super::csum::Csum;
use crate::{
    frame::{store_unaligned_u32, store_unaligned_u64, Frame},
    parse::dns::{FLAG_CD, FLAG_RD, HEADER_LEN},
};

/// QR: this is a response.
const FLAG_QR: u16 = 0x8000;
/// AA: the answer comes from the zone's authority.
pub const FLAG_AA: u16 = 0x0400;
/// TC: the reply is truncated; ask again over TCP (a rate-limited reply's slip).
pub const FLAG_TC: u16 = 0x0200;

/// Turns the query's header at `off` into the reply's: same ID, QR set with `set` (AA for an
/// answer; the low four bits of the RCODE), RD copied (RFC 1035 §4.1.1), CD copied (RFC 4035
/// §3.2.2), every other flag clear (AD included, as the socket path sends it), one question,
/// and `counts` answer, authority and additional records (the additional one the OPT record or
/// none). Returns the header's checksum contribution.
#[inline(always)]
pub fn write(
    frame: &Frame,
    off: usize,
    id: u16,
    query_flags: u16,
    set: u16,
    counts: [u16; 3],
) -> Option<Csum> {
    let [ancount, nscount, arcount] = counts;
    let header = frame.bytes::<HEADER_LEN>(off)?.as_mut_ptr();
    let flags = FLAG_QR | set | (query_flags & (FLAG_RD | FLAG_CD));
    let [flags_hi, flags_lo] = flags.to_be_bytes();
    let [id_hi, id_lo] = id.to_be_bytes();
    let [an_hi, an_lo] = ancount.to_be_bytes();
    let [ns_hi, ns_lo] = nscount.to_be_bytes();
    let [ar_hi, ar_lo] = arcount.to_be_bytes();
    // The ID, flags, QDCOUNT 1, ANCOUNT; then NSCOUNT and ARCOUNT. Written whole: the query's
    // header may lie elsewhere in the frame (`resize::Shift`).
    let front = u64::from_le_bytes([id_hi, id_lo, flags_hi, flags_lo, 0, 1, an_hi, an_lo]);
    let back = u32::from_le_bytes([ns_hi, ns_lo, ar_hi, ar_lo]);
    // SAFETY: `bytes` checked that the 12 bytes are inside the frame.
    unsafe {
        store_unaligned_u64(header.cast(), front);
        store_unaligned_u32(header.add(8).cast(), back);
    }
    let mut sum = Csum::default();
    sum.add16(id);
    sum.add16(flags);
    sum.add16(1);
    sum.add16(ancount);
    sum.add16(nscount);
    sum.add16(arcount);
    Some(sum)
}
