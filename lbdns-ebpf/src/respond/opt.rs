//! The reply's OPT record (RFC 6891 §6.1.2), sent when the query had one.

use lbdns_common::limits::EDNS_UDP_PAYLOAD;

use super::csum::Csum;
use crate::{
    frame::Frame,
    parse::opt::{FLAG_DO, OPT_FIXED_LEN},
};

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
    *frame.bytes::<OPT_FIXED_LEN>(off)? = record;
    let mut sum = Csum::default();
    sum.add_bytes(&record);
    Some(sum)
}
