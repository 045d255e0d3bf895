//! Ethernet, IP and UDP headers of the reply.
//!
//! Each header is written fresh in a few 4- and 8-byte stores, from the few fields of the
//! query's that it keeps (addresses, ports, VLAN tags), loaded from where the query's bytes lie
//! after the frame was resized (`resize::Shift`): `shift` bytes after the reply's. Headers are
//! turned around front to back, each loading its fields before it stores, so no store lands
//! on a field still to be read: with the query's bytes after the reply's, a store reaches only
//! bytes before the ones it replaces. Little-endian loads see big-endian 16-bit fields
//! byte-swapped, so sums of loaded words are taken with [`Csum::from_swapped`].

use super::{csum::Csum, resize::Shift};
use crate::{
    frame::{
        load_unaligned_u16, load_unaligned_u32, load_unaligned_u64, store_unaligned_u16,
        store_unaligned_u32, store_unaligned_u64, Frame,
    },
    parse::ip::{IPPROTO_UDP, IPV4_HEADER_LEN, IPV6_HEADER_LEN},
    parse::udp::UDP_HEADER_LEN,
    parse::Query,
};

/// TTL and hop limit of replies (the Linux default).
const REPLY_TTL: u8 = 64;
/// IPv4 "don't fragment": a reply is at most the query's advertised size and never fragmented.
const IPV4_DF: u16 = 0x4000;
/// IPv4 version 4, header length 5 words (no options), TOS 0.
const IPV4_VERSION_IHL_TOS: u16 = 0x4500;

/// The headers below the DNS message turned around for the reply ([`turn_around`]), with
/// the UDP checksum left to [`Turned::seal`] once the message is written.
pub struct Turned {
    udp: UdpHeader,
    /// The pseudo-header's and the UDP header's share of the UDP checksum.
    sum: Csum,
}

/// Writes the reply's Ethernet, IP and UDP headers from the query's, which lie `shift` bytes
/// on: addresses and ports swapped, VLAN tags kept, lengths those of a DNS message ending at
/// `end`. Every reply the program sends starts so.
#[inline(always)]
pub fn turn_around(frame: &Frame, query: &Query, shift: Shift, end: usize) -> Option<Turned> {
    let udp_len = (end - query.udp_off) as u16;
    let by = shift.bytes();
    link_layer(frame, by)?;
    let mut sum = if query.ip.v6 {
        ipv6(frame, query.ip.off, by, udp_len)?
    } else {
        ipv4(frame, query.ip.off, by, (end - query.ip.off) as u16)?
    };
    let (udp, udp_sum) = UdpHeader::write(frame, query.udp_off, by, udp_len)?;
    sum.add16(udp_len); // the pseudo-header's copy of the length
    sum.add(udp_sum);
    Some(Turned { udp, sum })
}

impl Turned {
    /// Writes the UDP checksum over the message: the DNS header's sum (`header`), the question
    /// name's, and `tail`, the sum of everything after the name (its type and class, from
    /// [`question_tail`], and the records) taken as if it started on an even offset. It starts
    /// on an odd one when the name's length is odd, and is then byte-swapped (RFC 1071 §2(B)).
    #[inline(always)]
    pub fn seal(self, query: &Query, header: Csum, tail: Csum) {
        let tail = if query.dns.name.len % 2 == 1 {
            tail.byte_swapped()
        } else {
            tail
        };
        let mut sum = self.sum;
        sum.add(header);
        sum.add(Csum::from_swapped(query.dns.name.sum));
        sum.add(tail);
        self.udp.set_checksum(sum);
    }
}

/// The sum of the question's type and class: where the tail of every reply's message starts.
#[inline(always)]
pub fn question_tail(query: &Query) -> Csum {
    let mut tail = Csum::default();
    tail.add16(query.dns.qtype);
    tail.add16(1);
    tail
}

/// Writes the Ethernet header from the query's, `by` bytes on: the MAC addresses swapped, the
/// EtherType and up to two VLAN tags as they were. The 10 bytes after the addresses are copied
/// whatever the tags, as bytes 12..22: what follows the tags is the IP header, which its own
/// writer then stores whole.
#[inline(always)]
fn link_layer(frame: &Frame, by: usize) -> Option<()> {
    // Destinations are checked before their sources: the source's check implies the
    // destination's, and the compiler drops a check that comes second, but the verifier needs
    // both.
    let to = frame.bytes::<22>(0)?.as_mut_ptr();
    let from = frame.bytes::<22>(by)?.as_ptr();
    // SAFETY: `bytes` checked that both 22-byte ranges are inside the frame.
    unsafe {
        // Bytes 0..8 and 8..12: the destination, then the source.
        let low = load_unaligned_u64(from.cast());
        let high = u64::from(load_unaligned_u32(from.add(8).cast()));
        let tags = load_unaligned_u64(from.add(12).cast());
        let tags_end = load_unaligned_u16(from.add(20).cast());
        let dst = low & 0xffff_ffff_ffff;
        let src = (low >> 48) | (high << 16);
        store_unaligned_u64(to.cast(), src | (dst << 48));
        store_unaligned_u32(to.add(8).cast(), (dst >> 16) as u32);
        store_unaligned_u64(to.add(12).cast(), tags);
        store_unaligned_u16(to.add(20).cast(), tags_end);
    }
    Some(())
}

/// Writes a fresh IPv4 header (no options) at `off` from the query's addresses, `by` bytes on,
/// swapped. Returns the addresses' contribution to the UDP pseudo-header checksum.
#[inline(always)]
fn ipv4(frame: &Frame, off: usize, by: usize, total_len: u16) -> Option<Csum> {
    // The destination first, as in `link_layer`.
    let header = frame.bytes::<IPV4_HEADER_LEN>(off)?.as_mut_ptr();
    let query = frame.bytes::<IPV4_HEADER_LEN>(off + by)?.as_ptr();
    // SAFETY: `bytes` checked that the 20 bytes are inside the frame.
    let (src, dst) = unsafe {
        (
            load_unaligned_u32(query.add(12).cast()),
            load_unaligned_u32(query.add(16).cast()),
        )
    };
    let addrs = Csum::from_swapped(u64::from(src) + u64::from(dst));
    let ttl_protocol = u16::from_be_bytes([REPLY_TTL, IPPROTO_UDP]);

    let mut sum = addrs;
    sum.add16(IPV4_VERSION_IHL_TOS);
    sum.add16(total_len);
    sum.add16(IPV4_DF);
    sum.add16(ttl_protocol);

    let [len_hi, len_lo] = total_len.to_be_bytes();
    let [df_hi, df_lo] = IPV4_DF.to_be_bytes();
    let [csum_hi, csum_lo] = sum.ip_checksum().to_be_bytes();
    // Identification 0: unused with DF (RFC 6864).
    let first = u64::from_le_bytes([0x45, 0, len_hi, len_lo, 0, 0, df_hi, df_lo]);
    let second = u32::from_le_bytes([REPLY_TTL, IPPROTO_UDP, csum_hi, csum_lo]);
    // SAFETY: as above.
    unsafe {
        store_unaligned_u64(header.cast(), first);
        store_unaligned_u32(header.add(8).cast(), second);
        store_unaligned_u32(header.add(12).cast(), dst);
        store_unaligned_u32(header.add(16).cast(), src);
    }

    let mut pseudo = addrs;
    pseudo.add16(IPPROTO_UDP as u16);
    Some(pseudo)
}

/// Writes a fresh IPv6 header at `off` from the query's addresses, `by` bytes on, swapped.
/// Returns the addresses' contribution to the UDP pseudo-header checksum.
#[inline(always)]
fn ipv6(frame: &Frame, off: usize, by: usize, payload_len: u16) -> Option<Csum> {
    // The destination first, as in `link_layer`.
    let header = frame.bytes::<IPV6_HEADER_LEN>(off)?.as_mut_ptr();
    let query = frame.bytes::<IPV6_HEADER_LEN>(off + by)?.as_ptr();
    // Source at 8, destination at 24: two 8-byte words each.
    // SAFETY: `bytes` checked that the 40 bytes are inside the frame.
    let [src0, src1, dst0, dst1] =
        [8, 16, 24, 32].map(|at| unsafe { load_unaligned_u64(query.add(at).cast()) });
    let mut addrs = 0;
    for word in [src0, src1, dst0, dst1] {
        addrs += (word & 0xffff_ffff) + (word >> 32);
    }
    let [len_hi, len_lo] = payload_len.to_be_bytes();
    // Version 6, traffic class 0, flow label 0, the payload length, next header, hop limit.
    let first = u64::from_le_bytes([0x60, 0, 0, 0, len_hi, len_lo, IPPROTO_UDP, REPLY_TTL]);
    // SAFETY: as above.
    unsafe {
        store_unaligned_u64(header.cast(), first);
        store_unaligned_u64(header.add(8).cast(), dst0);
        store_unaligned_u64(header.add(16).cast(), dst1);
        store_unaligned_u64(header.add(24).cast(), src0);
        store_unaligned_u64(header.add(32).cast(), src1);
    }
    let mut pseudo = Csum::from_swapped(addrs);
    pseudo.add16(IPPROTO_UDP as u16);
    Some(pseudo)
}

/// The UDP header of the reply, written in two steps because its checksum covers the rest.
struct UdpHeader {
    header: *mut u8,
}

impl UdpHeader {
    /// Writes the header at `off` with the query's ports, `by` bytes on, swapped, and the
    /// length. Returns the header and its checksum contribution (checksum field 0).
    #[inline(always)]
    fn write(frame: &Frame, off: usize, by: usize, len: u16) -> Option<(Self, Csum)> {
        // The destination first, as in `link_layer`.
        let header = frame.bytes::<UDP_HEADER_LEN>(off)?.as_mut_ptr();
        let query = frame.bytes::<UDP_HEADER_LEN>(off + by)?.as_ptr();
        // SAFETY: `bytes` checked that the 8 bytes are inside the frame.
        let ports = unsafe { load_unaligned_u32(query.cast()) };
        let mut sum = Csum::from_swapped(u64::from(ports));
        sum.add16(len);
        let [len_hi, len_lo] = len.to_be_bytes();
        // The two 2-byte ports swap places; the checksum stays 0 until `set_checksum`.
        let first = u64::from(ports.rotate_left(16))
            | u64::from(u16::from_le_bytes([len_hi, len_lo])) << 32;
        // SAFETY: as above.
        unsafe { store_unaligned_u64(header.cast(), first) };
        Some((Self { header }, sum))
    }

    /// Stores the checksum over the pseudo-header and the whole datagram.
    #[inline(always)]
    fn set_checksum(self, sum: Csum) {
        // SAFETY: `write` checked that the header is inside the frame, which has not changed.
        unsafe { store_unaligned_u16(self.header.add(6).cast(), sum.udp_checksum().to_be()) };
    }
}
