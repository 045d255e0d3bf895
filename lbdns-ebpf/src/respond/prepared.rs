//! A reply prepared by userspace (`lbdns_common::prepared`): the header with its flags and
//! counts, the question as sent, the records copied whole with their moving compression
//! pointers set for this question, and the OPT record. NXDOMAIN (the zone's SOA in the
//! authority section, RFC 2308 §3, from `NEGATIVE_ZONES`) and fixed replies (`FIXED_REPLIES`).

use aya_ebpf::programs::XdpContext;
use lbdns_common::{
    edns::Nsid,
    prepared::{
        Records, INTO_RECORD, MAX_POINTERS, MAX_RECORD_LEN, MIN_RECORD_LEN, RECORD_WORDS,
        SIGNED_ZONE,
    },
};

use super::{csum::Csum, header, net, opt, resize, MAX_DNS_OFF};
use crate::{
    frame::{hide, load_unaligned_u64, store_unaligned_u64, Frame},
    maps::{opaque, Scratch},
    parse::{
        dns::{HEADER_LEN, QUESTION_FIXED_LEN},
        opt::{OPT_FIXED_LEN, SEEN_ECS},
        Query,
    },
    verdict::{Skip, EDNS, MISS, SIGNED, SIZE},
};

/// A compression pointer's top bits.
const POINTER: u16 = 0xc000;

/// A prepared reply to one query.
pub struct Prepared {
    /// The records, an element userspace does not replace while this run may read it.
    pub records: &'static Records,
    /// The header's AA flag and RCODE.
    pub flags: u16,
    /// ANCOUNT, NSCOUNT and ARCOUNT, the OPT record not counted.
    pub counts: [u16; 3],
    /// Where the apex starts in the message, for the pointers that move with the question
    /// (none of a fixed reply's do).
    pub apex: usize,
}

/// Rewrites the frame into the prepared reply to `query`. On `Ok` the frame is ready for
/// XDP_TX; `Err(Skip::Pass)` leaves it untouched.
#[inline(always)]
pub fn reply(
    ctx: &XdpContext,
    scratch: *mut Scratch,
    query: &Query,
    prepared: Prepared,
) -> Result<(), Skip> {
    let Prepared {
        records,
        flags,
        counts: [ancount, nscount, arcount],
        apex,
    } = prepared;
    let dns = &query.dns;
    let mut nsid = None;
    let mut cookie_len = 0;
    if let Some(edns) = &dns.edns {
        // RFC 4035 §3.1.1 and §3.1.3: a DO=1 query to a signed zone gets RRSIGs, and NSEC or
        // NSEC3 records, which the copy lacks.
        if edns.dnssec_ok && records.flags & SIGNED_ZONE != 0 {
            return Err(SIGNED);
        }
        // The socket path decides what a Client Subnet option means for these replies.
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
    // read it (lbdns_common::prepared); this CPU's scratch value, used only by this run.
    let len = unsafe {
        let len = core::ptr::read_volatile(&records.len);
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
    let place = Place {
        shift,
        end,
        dns_off,
        record_off,
        opt_off,
        len,
        nsid,
        cookie_len,
    };
    let header = (flags, [ancount, nscount, arcount]);
    write(
        &Frame::new(ctx),
        scratch,
        query,
        records,
        header,
        apex,
        place,
    )
    .ok_or(Skip::Drop)
}

/// Where the reply's parts go, decided before the frame was resized.
struct Place {
    shift: resize::Shift,
    end: usize,
    dns_off: usize,
    record_off: usize,
    opt_off: usize,
    /// The records' length.
    len: usize,
    nsid: Option<&'static Nsid>,
    cookie_len: usize,
}

/// Writes the reply into the resized frame. A function rather than a closure, so that it is
/// inlined into each program that sends these replies: called from two, a closure was
/// outlined, and a call in a program that makes tail calls limits its stack to 256 bytes.
#[inline(always)]
fn write(
    frame: &Frame,
    scratch: *mut Scratch,
    query: &Query,
    records: &Records,
    (flags, [ancount, nscount, arcount]): (u16, [u16; 3]),
    apex: usize,
    place: Place,
) -> Option<()> {
    let dns = &query.dns;
    let turned = net::turn_around(frame, query, place.shift, place.end)?;
    place
        .shift
        .move_question(frame, scratch, dns.off + HEADER_LEN, place.record_off)?;
    let arcount = arcount.wrapping_add(dns.edns.is_some() as u16);
    let header = header::write(
        frame,
        dns.off,
        dns.id,
        dns.flags,
        flags,
        [ancount, nscount, arcount],
    )?;
    let mut tail = net::question_tail(query);
    let bases = Bases {
        apex,
        record: place.record_off - place.dns_off,
    };
    tail.add(write_records(
        frame,
        place.record_off,
        records,
        place.len,
        bases,
    )?);
    if let Some(edns) = dns.edns {
        let options = opt::Options {
            nsid: place.nsid,
            cookie_len: place.cookie_len,
            echo: opt::Echo::NONE,
        };
        let odd = place.len % 2 == 1;
        tail.add(opt::write_after_records(
            frame,
            scratch,
            place.opt_off,
            edns.dnssec_ok,
            options,
            odd,
        )?);
    }
    turned.seal(query, header, tail);
    Some(())
}

/// Where a pointer's target is counted from, in octets from the message's start.
#[derive(Clone, Copy)]
struct Bases {
    /// The apex in the question, after the first label.
    apex: usize,
    /// The record.
    record: usize,
}

/// Copies the records (`len` octets) to `off` and writes their moving compression pointers.
/// Returns their checksum contribution as if `off` were on a word boundary.
///
/// Whole words first, then the last 8 octets as one word, which may overlap the one before:
/// nothing is written past the records, which may end the frame.
#[inline(always)]
fn write_records(
    frame: &Frame,
    off: usize,
    records: &Records,
    len: usize,
    bases: Bases,
) -> Option<Csum> {
    let octets = records.octets.as_ptr();
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
    sum.add16(records.sum);
    let count = usize::from(records.pointer_count);
    for i in 0..MAX_POINTERS {
        if i >= count {
            break;
        }
        let pointer = records.pointers[i];
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
