//! The query name: validated, lowercased into the scratch space, hashed for the name table, and
//! summed for the checksum.
//!
//! Two passes, neither byte by byte: the labels are walked by their length bytes, then the name
//! is copied 8 bytes at a time, lowercased, hashed and summed a word at a time.

use lbdns_common::{limits::MAX_NAME_LEN, names::hash_word};

use crate::{
    frame::{hide, Frame},
    maps::{name_seed, opaque, Scratch, QNAME_WORDS},
    verdict::{Skip, MALFORMED},
};

/// The query name as the lookup needs it; its lowercase words are in `Scratch::name`.
pub struct Name {
    /// Length in wire format, 1..=[`MAX_NAME_LEN`].
    pub len: usize,
    /// Its contribution to the reply's UDP checksum: the sum of its 16-bit words as
    /// little-endian loads see them, byte-swapped (`respond::csum::Csum::from_swapped`).
    pub sum: u64,
    /// The name table's hash state after the name's last word (`lbdns_common::names::finish`
    /// completes it once the type is known).
    pub hash: u64,
}

/// The largest label length; length bytes with the top bits set are compression pointers or
/// extended label types, which a question name in a query does not use.
const MAX_LABEL_LEN: u8 = 63;

/// The most labels a name of [`MAX_NAME_LEN`] bytes has, the root label included: every other
/// label takes at least two bytes.
const MAX_LABELS: usize = MAX_NAME_LEN / 2 + 1;

// `read` bounds the length by casting it to `u8`.
const _: () = assert!(MAX_NAME_LEN == u8::MAX as usize);

/// Reads the wire-format name at `off` into `scratch.name`, lowercased, the last word zero
/// padded.
///
/// The name starts at an even offset of the UDP payload (after the 8-byte UDP and 12-byte DNS
/// headers), so in the Internet checksum byte `i` is the high half of a 16-bit word when `i` is
/// even. Summing here saves a second pass over the name when the reply is checksummed, and
/// hashing here a second pass for the lookup.
#[inline(always)]
pub fn read(frame: &Frame, off: usize, scratch: *mut Scratch) -> Result<Name, Skip> {
    let len = length(frame, off, scratch)?;
    // SAFETY: `scratch` is this CPU's scratch value, which only this program run uses.
    let words = unsafe { &mut (*scratch).name };

    let mut sum = 0u64;
    let mut hash = name_seed();
    // Whole words. Each iteration only narrows the range the verifier knows for `len`: no
    // branch inside the loop forks its state.
    let mut i = 0;
    while i < QNAME_WORDS - 1 {
        if 8 * i + 8 > len {
            break;
        }
        let bytes = frame.le64(off + 8 * i).ok_or(MALFORMED)?;
        sum += (bytes & 0xffff_ffff) + (bytes >> 32);
        let lower = lowercase(bytes);
        hash = hash_word(hash, lower);
        words[i] = lower;
        i += 1;
    }
    // The last 1 to 7 bytes, if any.
    let left = len - 8 * i;
    if left > 0 {
        let bytes = last_word(frame, off, len, 8 * i).ok_or(MALFORMED)?;
        sum += (bytes & 0xffff_ffff) + (bytes >> 32);
        let lower = lowercase(bytes);
        hash = hash_word(hash, lower);
        *words.get_mut(i).ok_or(MALFORMED)? = lower;
    }

    // Each exit of the loop above knows `len` within its own 8-byte range; the length read back
    // is the same unknown value on every path (`maps::opaque`). `length` stored 1..=255, so the
    // cast to `u8` loses nothing; it bounds the value itself rather than a copy the compiler
    // might check instead (the verifier tracks ranges per register).
    // SAFETY: as above.
    let len = usize::from(unsafe { core::ptr::read_volatile(&(*scratch).name_len) } as u8);
    if len == 0 {
        return Err(MALFORMED);
    }
    Ok(Name { len, sum, hash })
}

/// The word at octet `at` of the `len` octets from `off` that end the question name, zero
/// past them, as a little-endian load sees them: the words of a map key that holds a name (or
/// its last labels) octet for octet.
#[inline(always)]
pub fn suffix_word(frame: &Frame, off: usize, len: usize, at: usize) -> Option<u64> {
    if at >= len {
        Some(0)
    } else if len - at >= 8 {
        frame.le64(off + at)
    } else {
        last_word(frame, off, len, at)
    }
}

/// The octets from `at` to the end of the question name of `len` octets at `off`, fewer than 8,
/// as a little-endian load sees them, zero padded. QTYPE and QCLASS follow the name, so the 8
/// octets from `at` are in the question when at least 4 of them are the name's; otherwise the
/// name's last 4 octets are read with the 4 after them, and shifted.
#[inline(always)]
pub fn last_word(frame: &Frame, off: usize, len: usize, at: usize) -> Option<u64> {
    let left = len - at;
    let bytes = if left >= 4 {
        frame.le64(off + at)?
    } else {
        // Hidden: LLVM would check `off + len` and load at 4 before it, an access below the
        // checked range, which the verifier refuses.
        frame.le64(hide(off + len - 4))? >> (8 * (4 - left))
    };
    Some(bytes & ((1 << (8 * left)) - 1))
}

/// Checks the name's labels and returns its length, root label included: 1..=[`MAX_NAME_LEN`].
#[inline(always)]
fn length(frame: &Frame, off: usize, scratch: *mut Scratch) -> Result<usize, Skip> {
    // The offset of the next length byte.
    let mut at = 0;
    let mut root = false;
    for _ in 0..MAX_LABELS {
        let label = frame.u8(off + at).ok_or(MALFORMED)?;
        if label == 0 {
            root = true;
            break;
        }
        if label > MAX_LABEL_LEN {
            return Err(MALFORMED);
        }
        at += 1 + usize::from(label);
        if at >= MAX_NAME_LEN {
            return Err(MALFORMED);
        }
    }
    if !root {
        return Err(MALFORMED);
    }
    // Each exit of the loop above has its own range for `at`; see `maps::opaque`.
    // SAFETY: `scratch` is this CPU's scratch value, which only this program run uses.
    let len = opaque(unsafe { &mut (*scratch).name_len }, at as u32 + 1) as usize;
    if len == 0 || len > MAX_NAME_LEN {
        return Err(MALFORMED);
    }
    Ok(len)
}

/// Lowercases the ASCII letters among eight bytes. Safe on length bytes too: they are at most
/// 63, below `A`.
///
/// Per byte, without carries between bytes: with `low` the low 7 bits, `low + 0x3f` has its top
/// bit set exactly when `low >= b'A'`, and `low + 0x25` when `low > b'Z'`; a byte with its own
/// top bit set is not ASCII. A letter gets 0x20 added by shifting its flag bit (0x80) down.
#[inline(always)]
fn lowercase(bytes: u64) -> u64 {
    const TOP: u64 = 0x8080_8080_8080_8080;
    const EACH: u64 = 0x0101_0101_0101_0101;
    let low = bytes & !TOP;
    let from_a = low + EACH * (0x80 - b'A' as u64);
    let after_z = low + EACH * (0x80 - (b'Z' as u64 + 1));
    let upper = from_a & !after_z & !bytes & TOP;
    bytes | (upper >> 2)
}
