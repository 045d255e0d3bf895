//! IPv4 without options or fragmentation, and IPv6 without extension headers, carrying UDP.

use super::eth::{ETH_P_IPV6, L3};
use crate::{
    frame::{load_unaligned_u16, load_unaligned_u32, load_unaligned_u64, Frame},
    maps::Scratch,
    verdict::{Skip, MALFORMED, NOT_DNS},
};

/// IPv4 header length without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// IPv6 fixed header length.
pub const IPV6_HEADER_LEN: usize = 40;
/// The protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// The network header of a datagram the fast path may answer.
#[derive(Clone, Copy)]
pub struct Ip {
    /// Offset of the IP header.
    pub off: usize,
    /// IPv6 rather than IPv4.
    pub v6: bool,
    /// Offset of the UDP header, right after the IP header.
    pub payload_off: usize,
    /// Length of the IP payload according to the IP header.
    pub payload_len: usize,
}

/// Checks the IP header at `l3.off`.
#[inline(always)]
pub fn parse(frame: &Frame, l3: L3) -> Result<Ip, Skip> {
    if l3.ether_type == ETH_P_IPV6 {
        parse_v6(frame, l3.off)
    } else {
        parse_v4(frame, l3.off)
    }
}

/// The IPv4 header's bytes that [`parse_v4`] checks are in the frame: the 10 it reads, up to
/// the protocol, and one more, as the checks field by field before it did (they took the
/// protocol byte with the byte after it), so a header cut there is still not DNS.
const IPV4_CHECKED_LEN: usize = 11;

/// Checks the fields of the IPv4 header, in two loads under one bounds check. Not
/// `Frame::header_words`, whose second word is 4 bytes: with it LLVM made 253 more bytes of
/// JITed code and the verifier 10K more instructions.
#[inline(always)]
fn parse_v4(frame: &Frame, off: usize) -> Result<Ip, Skip> {
    let header = frame
        .bytes::<IPV4_CHECKED_LEN>(off)
        .ok_or(NOT_DNS)?
        .as_ptr();
    // Bytes 0..8 (version to fragment offset), then the TTL and the protocol.
    // SAFETY: `bytes` checked that the bytes are inside the frame.
    let (front, ttl_protocol) = unsafe {
        (
            load_unaligned_u64(header.cast()),
            load_unaligned_u16(header.add(8).cast()),
        )
    };
    // Version 4, header length 5 words: no options.
    if front as u8 != 0x45 {
        return Err(NOT_DNS);
    }
    // MF flag and fragment offset both clear: a whole datagram. DF may be set.
    if u16::from_be((front >> 48) as u16) & 0x3fff != 0 {
        return Err(NOT_DNS);
    }
    if (ttl_protocol >> 8) as u8 != IPPROTO_UDP {
        return Err(NOT_DNS);
    }
    let total_len = usize::from(u16::from_be((front >> 16) as u16));
    // The frame may be longer (Ethernet padding), never shorter.
    if total_len < IPV4_HEADER_LEN || off + total_len > frame.len() {
        return Err(MALFORMED);
    }
    Ok(Ip {
        off,
        v6: false,
        payload_off: off + IPV4_HEADER_LEN,
        payload_len: total_len - IPV4_HEADER_LEN,
    })
}

/// Checks the fields of the IPv6 header, all in its first 8 bytes: one load.
#[inline(always)]
fn parse_v6(frame: &Frame, off: usize) -> Result<Ip, Skip> {
    let front = frame.le64(off).ok_or(NOT_DNS)?;
    // Little-endian: version in the top half of byte 0, payload length in bytes 4..6 (swapped),
    // next header in byte 6.
    if (front as u8) >> 4 != 6 {
        return Err(NOT_DNS);
    }
    // Next header UDP: no extension headers.
    if (front >> 48) as u8 != IPPROTO_UDP {
        return Err(NOT_DNS);
    }
    let payload_len = usize::from(u16::from_be((front >> 32) as u16));
    if off + IPV6_HEADER_LEN + payload_len > frame.len() {
        return Err(MALFORMED);
    }
    Ok(Ip {
        off,
        v6: true,
        payload_off: off + IPV6_HEADER_LEN,
        payload_len,
    })
}

/// Copies the source address into `scratch` for the rate limiter (`crate::rrl`), which keys
/// every UDP datagram to the DNS port by it; the family stays 0 (not counted) should the
/// address not be inside the frame, which `parse` has checked already.
#[inline(always)]
pub fn source(frame: &Frame, ip: &Ip, scratch: *mut Scratch) {
    // SAFETY: this CPU's scratch value, used only by this program run; `ptr` checked that the
    // address is inside the frame.
    unsafe {
        let to = &mut (*scratch).source;
        if ip.v6 {
            if let Some(from) = frame.ptr::<[u64; 2]>(ip.off + 8) {
                let from = from.cast::<u64>();
                to[0] = load_unaligned_u64(from);
                to[1] = load_unaligned_u64(from.add(1));
                (*scratch).source_family = 6;
            }
        } else if let Some(from) = frame.ptr::<u32>(ip.off + 12) {
            to[0] = u64::from(load_unaligned_u32(from));
            (*scratch).source_family = 4;
        }
    }
}
