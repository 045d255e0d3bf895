//! The reply's Client Subnet option (RFC 7871 §7.2.1): the query's family, source prefix length
//! and address, echoed, with the scope over which the answer holds.

use lbdns_common::edns::OPTION_CLIENT_SUBNET;

use super::csum::Csum;
use crate::{
    frame::{hide, store_unaligned_u64, Frame},
    maps::Scratch,
    parse::ecs::{addr_len, Ecs},
};

/// Option code, option length, family, source and scope prefix lengths.
const HEAD_LEN: usize = 8;

/// The most octets the option takes: an IPv6 address whole.
pub const MAX_LEN: usize = HEAD_LEN + 16;

/// The octets the option takes in the reply, for a source prefix length of `source`.
#[inline(always)]
pub fn len(source: u8) -> usize {
    HEAD_LEN + addr_len(source)
}

/// The source prefix length of the stored option (`parse::ecs::stored`), read alone.
#[inline(always)]
pub fn stored_source(scratch: *mut Scratch) -> u8 {
    // SAFETY: this CPU's scratch value, used only by this program run.
    unsafe { core::ptr::read_volatile(&raw const (*scratch).ecs.source) }
}

/// `words` (a 128-bit big-endian value) shifted right by `bits`, at most 128.
#[inline(always)]
fn shift_right(words: [u64; 2], bits: u32) -> [u64; 2] {
    match bits {
        0 => words,
        1..=63 => [words[0] >> bits, words[1] >> bits | words[0] << (64 - bits)],
        64..=127 => [0, words[0] >> (bits - 64)],
        _ => [0, 0],
    }
}

/// Writes the option's address, which ends the frame at `end`, as the last octets of a 16-byte
/// block: two stores, no loop. The block's first `16 - n` octets land on what comes before
/// the address (its option's head, the OPT record, the answer records: at least 35 octets
/// after the question), so this goes before them, and after the question is in place
/// (`resize::Shift::move_question`), as the block may land on the query's copy of it.
#[inline(always)]
pub fn write_address(frame: &Frame, end: usize, ecs: &Ecs) -> Option<()> {
    let bits = 8 * (16 - addr_len(ecs.source)) as u32;
    let [first, second] = shift_right(ecs.addr, bits);
    // Hidden, or LLVM checks the block's end as `end` itself, on a register the verifier does
    // not connect to the block's start.
    let at = hide(end.checked_sub(16)?);
    let to = frame.bytes::<16>(at)?.as_mut_ptr();
    // SAFETY: `bytes` checked that the 16 bytes are inside the frame.
    unsafe {
        store_unaligned_u64(to.cast(), first.to_be());
        store_unaligned_u64(to.add(8).cast(), second.to_be());
    }
    Some(())
}

/// Writes the option's head at `off` with `scope`; [`write_address`] wrote the address after
/// it. Returns the option's checksum contribution as if `off` were on a word boundary.
#[inline(always)]
pub fn write(frame: &Frame, off: usize, ecs: &Ecs, scope: u8) -> Option<Csum> {
    let addr_len = addr_len(ecs.source);
    let [code_hi, code_lo] = OPTION_CLIENT_SUBNET.to_be_bytes();
    let [len_hi, len_lo] = (4 + addr_len as u16).to_be_bytes();
    let head = [
        code_hi, code_lo, len_hi, len_lo, 0, ecs.family, ecs.source, scope,
    ];
    let to = frame.bytes::<HEAD_LEN>(off)?.as_mut_ptr();
    // SAFETY: `bytes` checked that the 8 bytes are inside the frame.
    unsafe { store_unaligned_u64(to.cast(), u64::from_le_bytes(head)) };
    let mut sum = Csum::default();
    sum.add_bytes(&head);
    // The address is zero past its octets, so its whole words sum to the octets'.
    for word in ecs.addr {
        sum.add32((word >> 32) as u32);
        sum.add32(word as u32);
    }
    Some(sum)
}
