//! IPv4 without options or fragmentation, and IPv6 without extension headers, carrying UDP.

use super::eth::{ETH_P_IPV6, L3};
use crate::{
    frame::{load_unaligned_u32, load_unaligned_u64, Frame},
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

#[inline(always)]
fn parse_v4(frame: &Frame, off: usize) -> Result<Ip, Skip> {
    // Version 4, header length 5 words: no options.
    if frame.u8(off).ok_or(NOT_DNS)? != 0x45 {
        return Err(NOT_DNS);
    }
    // MF flag and fragment offset both clear: a whole datagram. DF may be set.
    if frame.be16(off + 6).ok_or(NOT_DNS)? & 0x3fff != 0 {
        return Err(NOT_DNS);
    }
    if frame.u8(off + 9).ok_or(NOT_DNS)? != IPPROTO_UDP {
        return Err(NOT_DNS);
    }
    let total_len = frame.be16(off + 2).ok_or(NOT_DNS)? as usize;
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

#[inline(always)]
fn parse_v6(frame: &Frame, off: usize) -> Result<Ip, Skip> {
    if frame.u8(off).ok_or(NOT_DNS)? >> 4 != 6 {
        return Err(NOT_DNS);
    }
    // Next header UDP: no extension headers.
    if frame.u8(off + 6).ok_or(NOT_DNS)? != IPPROTO_UDP {
        return Err(NOT_DNS);
    }
    let payload_len = frame.be16(off + 4).ok_or(NOT_DNS)? as usize;
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
