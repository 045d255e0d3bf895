//! The query name: validated, lowercased into the lookup key, and summed for the checksum.

use lbdns_common::limits::MAX_NAME_LEN;

use crate::{
    frame::Frame,
    maps::{opaque, Scratch},
    verdict::{Skip, MALFORMED},
};

/// The largest label length; length bytes with the top bits set are compression pointers or
/// extended label types, which a question name in a query does not use.
const MAX_LABEL_LEN: u8 = 63;

/// Reads the wire-format name at `off` into `scratch.key[1..]`, lowercased, with the rest of the
/// key zeroed up to its size tier. Returns the name's length and its checksum contribution.
///
/// The name starts at an even offset of the UDP payload (after the 8-byte UDP and 12-byte DNS
/// headers), so in the Internet checksum byte `i` is the high half of a 16-bit word when `i` is
/// even. Summing here saves a second pass over the name when the reply is checksummed.
#[inline(always)]
pub fn read(frame: &Frame, off: usize, scratch: *mut Scratch) -> Result<(usize, u32), Skip> {
    // SAFETY: `scratch` is this CPU's scratch value, which only this program run uses.
    let scratch = unsafe { &mut *scratch };
    zero_key(scratch, 0, 32);
    // Bytes of the current label still to come; at 0 the next byte is a length byte. Counting
    // down keeps the verifier's view of it to a few nested ranges per position, where the
    // offset of the next length byte would take a different range for every label start.
    let mut label_left = 0u8;
    let mut sum = 0u32;
    let mut i = 0;
    loop {
        if i == MAX_NAME_LEN {
            return Err(MALFORMED);
        }
        let byte = frame.u8(off + i).ok_or(MALFORMED)?;
        if label_left == 0 {
            if byte == 0 {
                break;
            }
            if byte > MAX_LABEL_LEN {
                return Err(MALFORMED);
            }
            label_left = byte;
        } else {
            label_left -= 1;
        }
        if i == 31 {
            // The key no longer fits the 32-byte tier: clear the rest of the larger tiers.
            zero_key(scratch, 32, scratch.key.len());
        }
        scratch.key[1 + i] = ascii_lowercase(byte);
        sum += (byte as u32) << ((!i & 1) * 8);
        i += 1;
    }
    // Each exit of the loop above has its own exact `i`; see `maps::opaque`.
    let len = opaque(&mut scratch.name_len, i as u32 + 1) as usize;
    if len == 0 || len > MAX_NAME_LEN {
        return Err(MALFORMED);
    }
    Ok((len, sum))
}

/// Lowercases ASCII letters. Safe on length bytes too: they are at most 63, below `A`.
///
/// Branch-free: a compare would fork the verifier's state on every byte of the name. For a
/// byte `b`, `(b + 191) >> 8` is 1 exactly when `b >= b'A'` and `(b + 165) >> 8` when
/// `b > b'Z'`, so their difference is 1 for uppercase letters only.
#[inline(always)]
fn ascii_lowercase(byte: u8) -> u8 {
    let b = byte as u32;
    let upper = ((b + 191) >> 8) - ((b + 165) >> 8);
    (b | (upper << 5)) as u8
}

/// Zeroes `key[from..to]` in 8-byte stores; `from` and `to` are multiples of 8. Volatile so the
/// compiler does not turn it into a `memset` call, which BPF cannot make.
#[inline(always)]
fn zero_key(scratch: &mut Scratch, from: usize, to: usize) {
    let words = scratch.key.as_mut_ptr() as *mut u64;
    let mut i = from / 8;
    while i < to / 8 {
        // SAFETY: `key` is 256 bytes at the start of an 8-aligned struct and `to` <= 256.
        unsafe { core::ptr::write_volatile(words.add(i), 0) };
        i += 1;
    }
}
