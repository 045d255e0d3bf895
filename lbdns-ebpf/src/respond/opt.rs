//! The reply's OPT record (RFC 6891 §6.1.2), sent when the query had one, and what the
//! options the query carried mean for it.

use lbdns_common::{edns::ANSWERS_NSID, limits::EDNS_UDP_PAYLOAD};

use super::csum::Csum;
use crate::{
    frame::{store_unaligned_u64, Frame},
    maps::edns_answers,
    parse::opt::{Edns, FLAG_DO, OPT_FIXED_LEN, SEEN_NSID},
    verdict::{Skip, OPTION},
};

/// Passes a query with an option whose reply the program does not write: NSID, when the server
/// is configured with one (otherwise the option is ignored, as the socket path ignores it).
/// The reply's options would go in `lbdns_common::edns::REPLY_ORDER`.
#[inline(always)]
pub fn check(edns: &Edns) -> Result<(), Skip> {
    if edns.options & SEEN_NSID != 0 && edns_answers() & ANSWERS_NSID != 0 {
        return Err(OPTION);
    }
    Ok(())
}

/// The OPT record: root owner, type 41, our UDP payload size as the class, extended RCODE 0,
/// version 0, the DO bit copied from the query (RFC 3225 §3), other flags 0, no options.
#[inline(always)]
fn encode(dnssec_ok: bool) -> [u8; OPT_FIXED_LEN] {
    let [size_hi, size_lo] = EDNS_UDP_PAYLOAD.to_be_bytes();
    let [flags_hi, flags_lo] = if dnssec_ok { FLAG_DO } else { 0 }.to_be_bytes();
    [0, 0, 41, size_hi, size_lo, 0, 0, flags_hi, flags_lo, 0, 0]
}

/// Writes the OPT record at `off`. Returns its checksum contribution as if `off` were on a word
/// boundary.
#[inline(always)]
pub fn write(frame: &Frame, off: usize, dnssec_ok: bool) -> Option<Csum> {
    let record = encode(dnssec_ok);
    let to = frame.bytes::<OPT_FIXED_LEN>(off)?.as_mut_ptr();
    // Two 8-byte stores, the second overlapping the first: bytes 0..8 and 3..11.
    let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10] = record;
    // SAFETY: `bytes` checked that the 11 bytes are inside the frame.
    unsafe {
        store_unaligned_u64(
            to.cast(),
            u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
        );
        store_unaligned_u64(
            to.add(OPT_FIXED_LEN - 8).cast(),
            u64::from_le_bytes([b3, b4, b5, b6, b7, b8, b9, b10]),
        );
    }
    let mut sum = Csum::default();
    sum.add_bytes(&record);
    Some(sum)
}
