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
    if frame.be16(off + 2).ok_or(NOT_DNS)? != dns_port() {
        return Err(NOT_DNS);
    }
    // Source port 0 cannot be replied to.
    if frame.be16(off).ok_or(MALFORMED)? == 0 {
        return Err(OTHER);
    }
    let len = frame.be16(off + 4).ok_or(MALFORMED)? as usize;
    if len != ip.payload_len || len < UDP_HEADER_LEN {
        return Err(MALFORMED);
    }
    Ok(Udp {
        payload_off: off + UDP_HEADER_LEN,
        payload_len: len - UDP_HEADER_LEN,
    })
}
