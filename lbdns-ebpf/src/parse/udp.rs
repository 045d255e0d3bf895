//! The UDP header of a datagram to the DNS port.

use super::ip::Ip;
use crate::{
    frame::Frame,
    maps::dns_port,
    verdict::{Skip, MALFORMED, NOT_DNS, OTHER},
};

/// UDP header length.
pub const UDP_HEADER_LEN: usize = 8;

/// Where the DNS message is.
pub struct Udp {
    /// Offset of the DNS message.
    pub payload_off: usize,
    /// Length of the DNS message.
    pub payload_len: usize,
}

/// Checks the destination port and that the UDP length agrees with the IP header. The
/// checksum is not verified: the kernel stack has not seen the packet yet, and packets from
/// local sockets may carry a partial one.
#[inline(always)]
pub fn parse(frame: &Frame, ip: &Ip) -> Result<Udp, Skip> {
    let off = ip.payload_off;
    // The ports and the length in one load: little-endian, each big-endian field is
    // byte-swapped in its place.
    let header = frame.le64(off).ok_or(NOT_DNS)?;
    if u16::from_be((header >> 16) as u16) != dns_port() {
        return Err(NOT_DNS);
    }
    // Source port 0 cannot be replied to.
    if header as u16 == 0 {
        return Err(OTHER);
    }
    let len = usize::from(u16::from_be((header >> 32) as u16));
    if len != ip.payload_len || len < UDP_HEADER_LEN {
        return Err(MALFORMED);
    }
    Ok(Udp {
        payload_off: off + UDP_HEADER_LEN,
        payload_len: len - UDP_HEADER_LEN,
    })
}
