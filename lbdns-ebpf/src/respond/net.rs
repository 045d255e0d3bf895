//! Ethernet, IP and UDP headers of the reply.

use super::csum::Csum;
use crate::{
    frame::{get16, get32, put16, put32, Frame},
    parse::ip::{IPPROTO_UDP, IPV4_HEADER_LEN, IPV6_HEADER_LEN},
    parse::udp::UDP_HEADER_LEN,
};

/// TTL and hop limit of replies (the Linux default).
const REPLY_TTL: u8 = 64;
/// IPv4 "don't fragment": a reply is at most the query's advertised size and never fragmented.
const IPV4_DF: u16 = 0x4000;

/// Swaps the destination and source MAC addresses.
#[inline(always)]
pub fn swap_macs(frame: &Frame) -> Option<()> {
    let macs = frame.bytes::<12>(0)?;
    let (dst, src) = macs.split_at_mut(6);
    dst.swap_with_slice(src);
    Some(())
}

/// Writes a fresh IPv4 header (no options) from the query's addresses, swapped. Returns the
/// addresses' contribution to the UDP pseudo-header checksum.
#[inline(always)]
pub fn ipv4(frame: &Frame, off: usize, total_len: u16) -> Option<Csum> {
    let header = frame.bytes::<IPV4_HEADER_LEN>(off)?;
    let src = get32(header, 12);
    let dst = get32(header, 16);
    let version_ihl_tos = 0x4500;
    let ttl_protocol = u16::from_be_bytes([REPLY_TTL, IPPROTO_UDP]);

    let mut sum = Csum::default();
    sum.add16(version_ihl_tos);
    sum.add16(total_len);
    sum.add16(IPV4_DF);
    sum.add16(ttl_protocol);
    sum.add32(src);
    sum.add32(dst);

    put16(header, 0, version_ihl_tos);
    put16(header, 2, total_len);
    put16(header, 4, 0); // identification: unused with DF (RFC 6864)
    put16(header, 6, IPV4_DF);
    put16(header, 8, ttl_protocol);
    put16(header, 10, sum.ip_checksum());
    put32(header, 12, dst);
    put32(header, 16, src);

    let mut pseudo = Csum::default();
    pseudo.add32(src);
    pseudo.add32(dst);
    pseudo.add16(IPPROTO_UDP as u16);
    Some(pseudo)
}

/// Writes a fresh IPv6 header from the query's addresses, swapped. Returns the addresses'
/// contribution to the UDP pseudo-header checksum.
#[inline(always)]
pub fn ipv6(frame: &Frame, off: usize, payload_len: u16) -> Option<Csum> {
    let header = frame.bytes::<IPV6_HEADER_LEN>(off)?;
    let mut pseudo = Csum::default();
    pseudo.add16(IPPROTO_UDP as u16);
    // Source at 8, destination at 24: four 32-bit words each, swapped pairwise.
    let mut i = 0;
    while i < 16 {
        let src = get32(header, 8 + i);
        let dst = get32(header, 24 + i);
        put32(header, 8 + i, dst);
        put32(header, 24 + i, src);
        pseudo.add32(src);
        pseudo.add32(dst);
        i += 4;
    }
    put32(header, 0, 0x6000_0000); // version 6, traffic class 0, flow label 0
    put16(header, 4, payload_len);
    put16(header, 6, u16::from_be_bytes([IPPROTO_UDP, REPLY_TTL]));
    Some(pseudo)
}

/// The UDP header of the reply, written in two steps because its checksum covers the rest.
pub struct UdpHeader<'a> {
    header: &'a mut [u8; UDP_HEADER_LEN],
}

impl<'a> UdpHeader<'a> {
    /// Swaps the ports and sets the length. Returns the header and its checksum contribution
    /// (checksum field 0).
    #[inline(always)]
    pub fn write(frame: &'a Frame, off: usize, len: u16) -> Option<(Self, Csum)> {
        let header = frame.bytes::<UDP_HEADER_LEN>(off)?;
        let src = get16(header, 0);
        let dst = get16(header, 2);
        put16(header, 0, dst);
        put16(header, 2, src);
        put16(header, 4, len);
        let mut sum = Csum::default();
        sum.add16(src);
        sum.add16(dst);
        sum.add16(len);
        Some((Self { header }, sum))
    }

    /// Stores the checksum over the pseudo-header and the whole datagram.
    #[inline(always)]
    pub fn set_checksum(self, sum: Csum) {
        put16(self.header, 6, sum.udp_checksum());
    }
}
