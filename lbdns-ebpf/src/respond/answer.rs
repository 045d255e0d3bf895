//! The answer records: the leading address and those after it, as many as the set's cap allows.

use lbdns_common::{answer::AnswerSet, limits::MAX_ADDRS};

use super::csum::Csum;
use crate::frame::{get32, put16, put32, Frame};

/// A compression pointer to offset 12: the question name, right after the header.
const OWNER_POINTER: u16 = 0xc00c;
/// Class IN.
const CLASS_IN: u16 = 1;
/// Owner pointer, type, class, TTL and RDLENGTH.
const RECORD_FIXED_LEN: usize = 12;

/// One answer record as it sits in the frame.
#[repr(C)]
struct Record<const L: usize> {
    /// Owner pointer, type, class, TTL, RDLENGTH.
    fixed: [u8; RECORD_FIXED_LEN],
    /// RDATA: the address.
    addr: [u8; L],
}

/// The length of one record carrying an address of `addr_len` bytes.
#[inline(always)]
pub const fn record_len(addr_len: usize) -> usize {
    RECORD_FIXED_LEN + addr_len
}

/// Writes `records` records at `off`, taking addresses from `set` starting at index `lead` and
/// wrapping around. Returns their checksum contribution as if `off` were on a word boundary
/// (each record has an even length).
#[inline(always)]
pub fn write<const L: usize>(
    frame: &Frame,
    off: usize,
    set: &AnswerSet<L>,
    lead: usize,
    records: usize,
) -> Option<Csum> {
    let rr_type = if L == 4 { 1 } else { 28 };
    let count = set.count as usize;
    let mut sum = Csum::default();
    let mut at = off;
    for i in 0..MAX_ADDRS {
        if i == records {
            break;
        }
        let record = frame.ptr::<Record<L>>(at)?;
        // SAFETY: `ptr` checked that the record is inside the frame.
        let record = unsafe { &mut *record };
        put16(&mut record.fixed, 0, OWNER_POINTER);
        put16(&mut record.fixed, 2, rr_type);
        put16(&mut record.fixed, 4, CLASS_IN);
        put32(&mut record.fixed, 6, set.ttl);
        put16(&mut record.fixed, 10, L as u16);
        // A remainder rather than a wrapping counter: the verifier then sees one unknown index
        // instead of following every (lead, count) pair through the loop.
        let addr = set.addrs.get((lead + i).checked_rem(count)?)?;
        // Word by word: a plain array copy becomes a `memcpy` call, a byte loop of its own.
        let mut word = 0;
        while word < L {
            let value = get32(addr, word);
            put32(&mut record.addr, word, value);
            sum.add32(value);
            word += 4;
        }
        at += record_len(L);
    }
    let mut fixed = Csum::default();
    fixed.add16(OWNER_POINTER);
    fixed.add16(rr_type);
    fixed.add16(CLASS_IN);
    fixed.add32(set.ttl);
    fixed.add16(L as u16);
    sum.add(fixed.times(records as u64));
    Some(sum)
}
