//! The NXDOMAIN reply: the header with RCODE 3, the question, the zone's SOA record in the
//! authority section (RFC 2308 §3) copied from `NEGATIVE_ZONES` with its compression pointers
//! moved to where this question puts the apex and the record, and the OPT record.

use aya_ebpf::programs::XdpContext;
use lbdns_common::negative::{
    NegativeZone, INTO_RECORD, MAX_POINTERS, MAX_RECORD_LEN, MIN_RECORD_LEN, RECORD_WORDS,
    SIGNED_ZONE,
};

use super::{csum::Csum, header, net, opt, resize, MAX_DNS_OFF};
use crate::{
    frame::{hide, load_unaligned_u64, store_unaligned_u64, Frame},
    maps::{opaque, Scratch},
    negative::Absent,
    parse::{
        dns::{HEADER_LEN, QUESTION_FIXED_LEN},
        opt::{OPT_FIXED_LEN, SEEN_ECS},
        Query,
    },
    verdict::{Skip, EDNS, MISS, SIGNED, SIZE},
};

/// RCODE 3, NXDOMAIN (RFC 1035 §4.1.1).
const RCODE_NXDOMAIN: u16 = 3;

/// A compression pointer's top bits.
const POINTER: u16 = 0xc000;

/// Rewrites the frame into the NXDOMAIN reply to `query` from its zone (`crate::negative::absent`).
/// On `Ok` the frame is ready for XDP_TX; `Err(Skip::Pass)` leaves it untouched.
#[inline(always)]
pub fn reply(
    ctx: &XdpContext,
    scratch: *mut Scratch,
    query: &Query,
    absent: Absent,
) -> Result<(), Skip> {
    let Absent { zone, label_len } = absent;
    let dns = &query.dns;
    let mut nsid = None;
    let mut cookie_len = 0;
    if let Some(edns) = &dns.edns {
        // RFC 4035 §3.1.3: a DO=1 NXDOMAIN from a signed zone proves it with NSEC or NSEC3.
        if edns.dnssec_ok && zone.flags & SIGNED_ZONE != 0 {
            return Err(SIGNED);
        }
        // The socket path decides what a Client Subnet option means for a negative answer.
        if edns.options & SEEN_ECS != 0 {
            return Err(EDNS);
        }
        nsid = opt::nsid(edns)?;
        // SAFETY: this CPU's scratch value, used only by this program run.
        cookie_len = opt::cookie_len(&edns.cookie, unsafe { &mut (*scratch).cookie_len })?;
    }
    // Read once, through map memory, and bounded (see `maps::opaque`): a copy the compiler
    // kept from before the check would reach the verifier as any `u16`.
    // SAFETY: a field of the element, which userspace does not replace while this run may
    // read it (lbdns_common::negative); this CPU's scratch value, used only by this run.
    let len = unsafe {
        let len = core::ptr::read_volatile(&zone.len);
        opaque(&mut (*scratch).record_len, u32::from(len)) as usize
    };
    // Two comparisons, the second on a hidden copy: as one range check, LLVM subtracts first
    // and compares the difference, which bounds nothing the verifier follows.
    if len > MAX_RECORD_LEN || hide(len) < MIN_RECORD_LEN {
        return Err(MISS);
    }
    // SAFETY: this CPU's scratch value, used only by this program run.
    let dns_off = opaque(unsafe { &mut (*scratch).layout[2] }, dns.off as u32) as usize;
    if dns_off > MAX_DNS_OFF {
        return Err(MISS);
    }
    let record_off = dns_off + HEADER_LEN + dns.name.len + QUESTION_FIXED_LEN;
    let opt_off = record_off + len;
    let end = opt_off
        + if dns.edns.is_some() {
            OPT_FIXED_LEN + opt::options_len(nsid, cookie_len)
        } else {
            0
        };
    if end - dns.off > dns.max_len as usize {
        return Err(SIZE);
    }
    let shift = resize::resize(ctx, scratch, end)?;

    // The frame has its new length: from here on, failing means dropping.
    let frame = Frame::new(ctx);
    let written = (|| {
        let turned = net::turn_around(&frame, query, shift, end)?;
        shift.move_question(&frame, scratch, dns.off + HEADER_LEN, record_off)?;
        let arcount = dns.edns.is_some() as u16;
        let header = header::write(
            &frame,
            dns.off,
            dns.id,
            dns.flags,
            header::FLAG_AA | RCODE_NXDOMAIN,
            [0, 1, arcount],
        )?;
        let mut tail = net::question_tail(query);
        let bases = Bases {
            apex: HEADER_LEN + label_len,
            record: record_off - dns_off,
        };
        tail.add(write_record(&frame, record_off, zone, len, bases)?);
        if let Some(edns) = dns.edns {
            let options = opt::Options {
                nsid,
                cookie_len,
                echo: opt::Echo::NONE,
            };
            let odd = len % 2 == 1;
            tail.add(opt::write_after_records(
                &frame,
                scratch,
                opt_off,
                edns.dnssec_ok,
                options,
                odd,
            )?);
        }
        turned.seal(query, header, tail);
        Some(())
    })();
    written.ok_or(Skip::Drop)
}

/// Where a pointer's target is counted from, in octets from the message's start.
#[derive(Clone, Copy)]
struct Bases {
    /// The apex in the question, after the first label.
    apex: usize,
    /// The record.
    record: usize,
}

/// Copies the zone's record (`len` octets) to `off` and writes its compression pointers.
/// Returns its checksum contribution as if `off` were on a word boundary.
///
/// Whole words first, then the last 8 octets as one word, which may overlap the one before:
/// nothing is written past the record, which may end the frame.
#[inline(always)]
fn write_record(
    frame: &Frame,
    off: usize,
    zone: &NegativeZone,
    len: usize,
    bases: Bases,
) -> Option<Csum> {
    let octets = zone.record.as_ptr();
    let whole = len / 8;
    for i in 0..RECORD_WORDS {
        if i >= whole {
            break;
        }
        let to = frame.ptr::<u64>(off + 8 * i)?;
        // SAFETY: word `i` of the record, which is 8-aligned and `RECORD_WORDS` words long;
        // `ptr` checked that the 8 bytes are inside the frame.
        unsafe { store_unaligned_u64(to, octets.cast::<u64>().add(i).read()) };
    }
    // Hidden and checked again: the verifier may see `len` reloaded without the caller's bound.
    let last = hide(len.wrapping_sub(8));
    if last > MAX_RECORD_LEN - 8 {
        return None;
    }
    let to = frame.ptr::<u64>(off + last)?;
    // SAFETY: `len` is at most `MAX_RECORD_LEN`, so the 8 octets are inside the record; `ptr`
    // checked the frame's.
    unsafe { store_unaligned_u64(to, load_unaligned_u64(octets.add(last).cast())) };

    let mut sum = Csum::default();
    sum.add16(zone.sum);
    let count = usize::from(zone.pointer_count);
    for i in 0..MAX_POINTERS {
        if i >= count {
            break;
        }
        let pointer = zone.pointers[i];
        let at = usize::from(pointer.at);
        let target = if pointer.to & INTO_RECORD != 0 {
            bases.record + usize::from(pointer.to & !INTO_RECORD)
        } else {
            bases.apex + usize::from(pointer.to)
        };
        if at + 2 > len || target >= usize::from(!POINTER) {
            return None;
        }
        let value = POINTER | target as u16;
        let to = frame.bytes::<2>(off + at)?;
        *to = value.to_be_bytes();
        let mut share = Csum::default();
        share.add16(value);
        if at % 2 == 1 {
            share = share.byte_swapped();
        }
        sum.add(share);
    }
    Some(sum)
}
