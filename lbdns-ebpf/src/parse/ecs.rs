//! The query's Client Subnet option (RFC 7871 §6): family, source prefix length and address,
//! checked as RFC 7871 §7.1.1 asks. What the socket path answers with FORMERR, or treats in any
//! way but the plain one, is passed to it: a second ECS option, a family other than IPv4 and
//! IPv6, a source prefix longer than the address, an address of another length than the
//! prefix needs, bits set past the prefix, a non-zero scope.

use lbdns_common::edns::{ECS_FAMILY_V4, ECS_FAMILY_V6};

use crate::{
    frame::{hide, Frame},
    maps::Scratch,
    verdict::{Skip, EDNS, MALFORMED},
};

/// Family, source prefix length and scope: the option's fixed octets.
const FIXED_LEN: usize = 4;
/// The longest address: IPv6's.
const MAX_ADDR_LEN: usize = 16;

/// A valid ECS option of a query.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Ecs {
    /// `ECS_FAMILY_V4` or `ECS_FAMILY_V6`.
    pub family: u8,
    /// SOURCE PREFIX-LENGTH: at most 32 or 128.
    pub source: u8,
    /// Zero.
    pub _pad: [u8; 6],
    /// The address as two big-endian 64-bit words (an IPv4 address in the top half of the
    /// first), zero past the source prefix: what the reply echoes.
    pub addr: [u64; 2],
}

impl Ecs {
    /// No option: what an echo of length 0 names.
    pub const NONE: Ecs = Ecs {
        family: 0,
        source: 0,
        _pad: [0; 6],
        addr: [0; 2],
    };

    /// Whether the address is IPv6.
    #[inline(always)]
    pub fn v6(&self) -> bool {
        u16::from(self.family) == ECS_FAMILY_V6
    }
}

/// The option walker's arm: where the option starts (`at`, its code), given where an earlier
/// one started (0 for none). A second ECS option is left to the socket path (FORMERR, or the
/// option ignored with ECS off) before the walk knows whether ECS is answered: the walk's loop
/// stays one state per iteration for the verifier.
#[inline(always)]
pub fn seen(earlier: usize, at: usize) -> Result<usize, Skip> {
    if earlier != 0 {
        return Err(EDNS);
    }
    Ok(at)
}

/// The octets an address of `source` prefix bits takes in the option (RFC 7871 §6: no more
/// than needed).
#[inline(always)]
pub fn addr_len(source: u8) -> usize {
    usize::from(source).div_ceil(8)
}

/// The network mask of a `prefix`-bit prefix (at most 128) as two 64-bit words.
#[inline(always)]
pub fn mask(prefix: u32) -> [u64; 2] {
    let word = |bits: u32| match bits {
        0 => 0,
        1..=63 => u64::MAX << (64 - bits),
        _ => u64::MAX,
    };
    [word(prefix.min(64)), word(prefix.saturating_sub(64))]
}

/// `words` (a 128-bit big-endian value) shifted left by `bits`, at most 128.
#[inline(always)]
fn shift_left(words: [u64; 2], bits: u32) -> [u64; 2] {
    match bits {
        0 => words,
        1..=63 => [words[0] << bits | words[1] >> (64 - bits), words[1] << bits],
        64..=127 => [words[1] << (bits - 64), 0],
        _ => [0, 0],
    }
}

/// Keeps where the walker found the option (`at`, its code), for [`parse`].
#[inline(always)]
pub fn found(at: usize, scratch: *mut Scratch) {
    // SAFETY: this CPU's scratch value, used only by this program run.
    unsafe { core::ptr::write_volatile(&raw mut (*scratch).ecs_at, at as u32) };
}

/// Reads and checks the ECS option [`found`] kept into `Scratch::ecs`; the walker checked its
/// framing.
#[inline(always)]
pub fn parse(frame: &Frame, scratch: *mut Scratch) -> Result<(), Skip> {
    // SAFETY: this CPU's scratch value, used only by this program run.
    let at = unsafe { core::ptr::read_volatile(&raw const (*scratch).ecs_at) } as usize;
    if at > crate::parse::MAX_OPTION_OFFSET {
        return Err(EDNS);
    }
    let len = usize::from(frame.be16(at + 2).ok_or(MALFORMED)?);
    if len < FIXED_LEN {
        return Err(EDNS);
    }
    let family = frame.be16(at + 4).ok_or(MALFORMED)?;
    let source = frame.u8(at + 6).ok_or(MALFORMED)?;
    // SAFETY: `last_byte` checked that the byte is inside the frame.
    let scope = unsafe { *frame.last_byte(at + 7).ok_or(MALFORMED)? };
    let max = match family {
        ECS_FAMILY_V4 => 32,
        ECS_FAMILY_V6 => 128,
        _ => return Err(EDNS),
    };
    if source > max || scope != 0 || len != FIXED_LEN + addr_len(source) {
        return Err(EDNS);
    }
    // The address ends the option: the 16 octets up to its end (inside the message, which has
    // a header, a question and the OPT record before them) in two loads, shifted so that the
    // address leads. No loop: its exits would each carry other values into the rest.
    // Each offset hidden, or LLVM derives both loads from one pointer the verifier cannot
    // bound.
    let end = at + 4 + len;
    let block = [
        frame.le64(hide(end - 16)).ok_or(MALFORMED)?.swap_bytes(),
        frame.le64(hide(end - 8)).ok_or(MALFORMED)?.swap_bytes(),
    ];
    let addr = shift_left(block, 8 * (MAX_ADDR_LEN - addr_len(source)) as u32);
    let mask = mask(u32::from(source));
    if addr[0] & !mask[0] != 0 || addr[1] & !mask[1] != 0 {
        return Err(EDNS);
    }
    let ecs = Ecs {
        family: family as u8,
        source,
        _pad: [0; 6],
        addr,
    };
    // SAFETY: this CPU's scratch value, used only by this program run.
    unsafe { core::ptr::write_volatile(&raw mut (*scratch).ecs, ecs) };
    Ok(())
}

/// The option [`parse`] stored, read back whole and volatile: a value the verifier knows
/// nothing of, whichever path stored it.
#[inline(always)]
pub fn stored(scratch: *mut Scratch) -> Ecs {
    // SAFETY: this CPU's scratch value, used only by this program run.
    unsafe { core::ptr::read_volatile(&raw const (*scratch).ecs) }
}
