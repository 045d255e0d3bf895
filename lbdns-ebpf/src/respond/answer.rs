//! The answer records: the leading address and those after it, as many as the set's cap allows.

use aya_ebpf::maps::Array;
use lbdns_common::{
    answer::{AnswerSet, Extension, INLINE_ADDRS},
    limits::MAX_ADDRS,
};

use super::csum::Csum;
use crate::{
    frame::{hide, store_unaligned_u32, store_unaligned_u64, Frame},
    lookup::Hit,
};

/// A compression pointer to offset 12: the question name, right after the header.
const OWNER_POINTER: u16 = 0xc00c;
/// Class IN.
const CLASS_IN: u16 = 1;
/// Owner pointer, type, class, TTL and RDLENGTH.
const RECORD_FIXED_LEN: usize = 12;

/// One answer record as it sits in the frame: owner pointer, type, class, TTL, RDLENGTH, then
/// the address.
#[repr(C)]
struct Record<const L: usize> {
    bytes: [u8; RECORD_FIXED_LEN],
    addr: [u8; L],
}

/// The length of one record carrying an address of `addr_len` bytes.
#[inline(always)]
pub const fn record_len(addr_len: usize) -> usize {
    RECORD_FIXED_LEN + addr_len
}

/// Writes `records` records at `off`, taking addresses from the hit's set starting at index
/// `lead` and wrapping around. Returns their checksum contribution as if `off` were on a word
/// boundary (each record has an even length).
///
/// A record is stored in 8-byte words (and a 4-byte one for AAAA): its first 12 bytes are the
/// same in every record of the reply, and the address follows them, 4-byte aligned in the set.
#[inline(always)]
pub fn write<const L: usize>(
    frame: &Frame,
    off: usize,
    hit: &Hit<'_, L>,
    lead: usize,
    records: usize,
) -> Option<Csum> {
    let set = hit.set;
    let rr_type: u16 = if L == 4 { 1 } else { 28 };
    let [type_hi, type_lo] = rr_type.to_be_bytes();
    let [len_hi, len_lo] = (L as u16).to_be_bytes();
    let [ttl0, ttl1, ttl2, ttl3] = set.ttl.to_be_bytes();
    // Bytes 0..8 of a record, and bytes 8..12, as the low half of bytes 8..16.
    let head = u64::from_le_bytes([0xc0, 0x0c, type_hi, type_lo, 0, 1, ttl0, ttl1]);
    let tail = u64::from(u32::from_le_bytes([ttl2, ttl3, len_hi, len_lo]));
    let count = set.count as usize;
    // The addresses' bytes summed as little-endian 32-bit words.
    let mut addr_sum = 0u64;
    let mut at = off;
    for i in 0..MAX_ADDRS {
        if i == records {
            break;
        }
        // `lead` and `i` are below `count`: subtracting `count` once wraps around. With a mask
        // rather than a branch, the verifier does not split what it knows of `lead` in two at
        // every record. Hidden, the index is also one the compiler does not fold into the
        // address of the previous record's, an offset the verifier sees as possibly negative.
        let index = lead + i;
        let past_end = ((count - 1).wrapping_sub(index) as isize >> (usize::BITS - 1)) as usize;
        let index = hide(index - (count & hide(past_end)));
        // Set addresses start 4-byte aligned (`AnswerSet`, `Extension`), in 4-byte words.
        let addr = if index < INLINE_ADDRS {
            set.addrs.get(index)?.as_ptr().cast::<u32>()
        } else {
            extension_addr(hit.answers, hit.slot, index)?
        };
        let record = frame.ptr::<Record<L>>(at)?.cast::<u8>();
        // SAFETY: `addr` points at `L` bytes of the set, 4-byte aligned, `L` a multiple of 4;
        // `ptr` checked that the record's `RECORD_FIXED_LEN + L` bytes are inside the frame.
        unsafe {
            let first = addr.read();
            store_unaligned_u64(record.cast(), head);
            store_unaligned_u64(record.add(8).cast(), tail | u64::from(first) << 32);
            addr_sum += u64::from(first);
            if L == 16 {
                let (second, third, fourth) =
                    (addr.add(1).read(), addr.add(2).read(), addr.add(3).read());
                store_unaligned_u64(
                    record.add(16).cast(),
                    u64::from(second) | u64::from(third) << 32,
                );
                store_unaligned_u32(record.add(24).cast(), fourth);
                addr_sum += u64::from(second) + u64::from(third) + u64::from(fourth);
            }
        }
        at += record_len(L);
    }
    let mut fixed = Csum::default();
    fixed.add16(OWNER_POINTER);
    fixed.add16(rr_type);
    fixed.add16(CLASS_IN);
    fixed.add32(set.ttl);
    fixed.add16(L as u16);
    let mut sum = fixed.times(records as u64);
    sum.add(Csum::from_swapped(addr_sum));
    Some(sum)
}

/// The address `index` (at least [`INLINE_ADDRS`]) of the extended set whose head is in `slot`:
/// in one of the slots after the head (`lbdns_common::answer::Extension`).
#[inline(always)]
fn extension_addr<const L: usize>(
    answers: &Array<AnswerSet<L>>,
    slot: u32,
    index: usize,
) -> Option<*const u32> {
    let at = Extension::<L>::addr_offset(index);
    let value = answers.get_ptr(slot.wrapping_add(1 + (at / AnswerSet::<L>::SIZE) as u32))?;
    // Hidden, so that the bound check stays for the verifier, which need not know what the
    // compiler knows of a remainder.
    let offset = hide(at % AnswerSet::<L>::SIZE);
    if offset > AnswerSet::<L>::SIZE - L {
        return None;
    }
    // SAFETY: `L` bytes at `offset` are inside the slot's value, which lives as long as the map;
    // userspace does not write a slot a reachable set takes.
    Some(unsafe { value.cast::<u8>().add(offset).cast::<u32>() })
}
