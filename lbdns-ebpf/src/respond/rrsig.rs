//! The RRSIG records of a DO=1 answer to a signed RRset (RFC 4035 §3.1.1), copied from the
//! signature store (`lbdns_common::signature`) right after the address records.

use lbdns_common::{
    answer::{AnswerSet, SIGNATURES as HAS_SIGNATURES},
    signature::{Signatures, MAX_SIGNATURE_BYTES, SIGNATURE_WORDS},
};

use super::csum::Csum;
use crate::{
    frame::{store_unaligned_u64, Frame},
    maps::{opaque, Scratch, SIGNATURES},
    verdict::{Skip, SIGNED},
};

/// The signatures `set` names, for a DO=1 answer, with the octets and the number of records they
/// take (1..=[`MAX_SIGNATURE_BYTES`], and 1..= the octets). A set without stored signatures, or
/// with an entry userspace cannot have written, passes the query to the socket path.
///
/// The length is read once, volatile, and checked: read again from the map, it would be any
/// `u16` to the verifier, and every offset after the records too large to check. Returned apart
/// from the reference, as plain numbers: in one value with it, LLVM read the reference's stack
/// slot as part of a number, which the verifier rejects.
#[inline(always)]
pub fn of<const L: usize>(set: &AnswerSet<L>) -> Result<(&'static Signatures, usize, u16), Skip> {
    if set.flags & HAS_SIGNATURES == 0 {
        return Err(SIGNED);
    }
    let records = SIGNATURES.get(set.signatures).ok_or(SIGNED)?;
    // SAFETY: `u16` fields of the value, which lives as long as the map; userspace does not
    // write an entry a set in use names.
    let (len, count) = unsafe {
        (
            usize::from(core::ptr::read_volatile(&records.len)),
            core::ptr::read_volatile(&records.count),
        )
    };
    if len == 0 || len > MAX_SIGNATURE_BYTES || count == 0 || usize::from(count) > len {
        return Err(SIGNED);
    }
    Ok((records, len, count))
}

/// Copies the `len` octets of records to `off` in 8-byte words and returns their checksum
/// contribution as if `off` were on a word boundary. The last word may run up to 7 bytes past
/// the records, into the OPT record, which is written after them and is longer than that (a
/// DO=1 query has one).
#[inline(always)]
pub fn write(
    frame: &Frame,
    scratch: *mut Scratch,
    off: usize,
    records: &Signatures,
    len: usize,
) -> Option<Csum> {
    // SAFETY: this CPU's scratch value, used only by this program run.
    let cell = unsafe { &mut (*scratch).signature_words };
    let count = opaque(cell, len.div_ceil(8) as u32) as usize;
    if count > SIGNATURE_WORDS {
        return None;
    }
    let words = records.records.as_ptr().cast::<u64>();
    for i in 0..SIGNATURE_WORDS {
        if i >= count {
            break;
        }
        let to = frame.ptr::<u64>(off + i * 8)?;
        // SAFETY: `records` is 8-aligned and holds `SIGNATURE_WORDS` words; `ptr` checked that
        // the 8 bytes are inside the frame.
        unsafe { store_unaligned_u64(to, words.add(i).read()) };
    }
    let mut sum = Csum::default();
    sum.add16(records.sum);
    Some(sum)
}
