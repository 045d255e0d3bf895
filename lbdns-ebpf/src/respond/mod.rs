//! Turns the query into its reply, in place, and sends it back out of the interface.
//!
//! Everything that could make the program pass the packet is decided before the first write:
//! once [`reply`] has resized the frame ([`resize`]), the packet is the reply or it is dropped.
//!
//! The reply is the query's frame with: MAC addresses, IP addresses and UDP ports swapped (VLAN
//! tags kept); fresh IP header fields; the DNS header of a reply; the question as the query
//! sent it; the answer records ([`answer`]); for a DO=1 query to a signed RRset, the RRSIG
//! records from the signature store ([`rrsig`]); an OPT record if the query had one, with the
//! NSID when it asked for it and one is configured, the DNS Cookie when it had one ([`opt`]),
//! and the Client Subnet echo with the answer's scope when the query carried ECS and the server
//! answers it ([`ecs`]). [`cookie::badcookie`] rewrites a query into another reply: BADCOOKIE,
//! with the question and a fresh server cookie only. Both checksums are computed from
//! the values written ([`csum`]), never patched from the query's,
//! which may be a partial checksum from a local socket.

pub mod answer;
pub mod cookie;
pub mod csum;
pub mod ecs;
pub mod header;
pub mod net;
pub mod opt;
pub mod prepared;
mod resize;
pub mod rrsig;
pub mod slip;

use aya_ebpf::programs::XdpContext;
use lbdns_common::{
    answer::{EXTENDED, SIGNED},
    edns::Nsid,
    limits::{MAX_ADDRS, MAX_SCHEDULE},
    signature::Signatures,
};

use self::resize::Shift;
use crate::{
    frame::{hide, Frame},
    geo::ECS_ANSWERED,
    lookup::Hit,
    maps::{opaque, Scratch},
    parse::{dns::HEADER_LEN, dns::QUESTION_FIXED_LEN, ecs::stored, opt::OPT_FIXED_LEN, Query},
    verdict::{Skip, MISS, SIZE},
};

/// The largest offset of the DNS message: two VLAN tags, IPv6 and UDP (`parse::query`).
const MAX_DNS_OFF: usize = 22 + 40 + 8;

/// Rewrites the frame into the reply to `query` from `hit`, echoing the query's Client Subnet
/// option with the hit's scope when `subnet` (`geo::subnet`) says the server answers it. On `Ok`
/// the frame is ready for XDP_TX; `Err(Skip::Pass)` leaves it untouched.
#[inline(always)]
pub fn reply<const L: usize>(
    ctx: &XdpContext,
    scratch: *mut Scratch,
    query: &Query,
    hit: Hit<'_, L>,
    subnet: u32,
) -> Result<(), Skip> {
    let set = hit.set;
    let dns = &query.dns;
    let count = set.count as usize;
    if count == 0 || count > MAX_ADDRS {
        return Err(MISS);
    }
    let mut nsid = None;
    let mut ecs_len = 0;
    let mut signatures = None;
    let (mut signatures_len, mut signatures_count) = (0, 0);
    if let Some(edns) = &dns.edns {
        // RFC 4035 §3.1.1: a DO=1 answer from a signed zone carries the RRSIGs.
        if edns.dnssec_ok && set.flags & SIGNED != 0 {
            let (records, len, count) = rrsig::of(set)?;
            signatures = Some(records);
            (signatures_len, signatures_count) = (len, count);
        }
        nsid = opt::nsid(edns)?;
        if subnet & ECS_ANSWERED != 0 {
            ecs_len = ecs::len(ecs::stored_source(scratch));
        }
    }
    // SAFETY: this CPU's scratch value, used only by this program run.
    let cells = unsafe { &mut (*scratch).subnet };
    let ecs_len = opaque(&mut cells[1], ecs_len as u32) as usize;
    let scope = opaque(&mut cells[2], u32::from(hit.scope)) as u8;
    if ecs_len > ecs::MAX_LEN {
        return Err(MISS);
    }
    let records = if (set.limit as usize) < count {
        set.limit as usize
    } else {
        count
    };
    if records == 0 {
        return Err(MISS);
    }
    // SAFETY: this CPU's counter for the RRset; XDP runs with preemption disabled, so it holds
    // until the increment below.
    let k = unsafe { *hit.rotation };
    let lead = lead(&hit, k, count).ok_or(MISS)?;
    // The message's offset once more through `opaque`, and bounded: LLVM may keep `dns.off` in
    // two 32-bit stack halves, which the verifier reads back as 64 unknown bits (found in this
    // project once the rate limiter's call came before this function).
    // SAFETY: this CPU's scratch value, used only by this program run.
    let dns_off = opaque(unsafe { &mut (*scratch).layout[2] }, dns.off as u32) as usize;
    if dns_off > MAX_DNS_OFF {
        return Err(MISS);
    }
    let records_off = dns_off + HEADER_LEN + dns.name.len + QUESTION_FIXED_LEN;
    let signatures_off = records_off + records * answer::record_len(L);
    let opt_off = signatures_off + signatures_len;
    let mut cookie_len = 0;
    if let Some(edns) = &dns.edns {
        // SAFETY: this CPU's scratch value, used only by this program run.
        let cell = unsafe { &mut (*scratch).cookie_len };
        cookie_len = opt::cookie_len(&edns.cookie, cell)?;
    }
    let end = opt_off
        + if dns.edns.is_some() {
            OPT_FIXED_LEN + opt::options_len(nsid, cookie_len) + ecs_len
        } else {
            0
        };
    if end - dns.off > dns.max_len as usize {
        return Err(SIZE);
    }
    let shift = resize::resize(ctx, scratch, end)?;

    // The frame has its new length: from here on, failing means dropping.
    let frame = Frame::new(ctx);
    // Counted only now: a query that is passed is not a reply sent.
    // SAFETY: as for the read above.
    unsafe { *hit.rotation = k.wrapping_add(1) };
    let layout = Layout {
        shift,
        lead,
        records,
        signatures_count,
        records_off,
        signatures_off,
        opt_off,
        cookie_len,
        end,
    };
    let options = Options {
        nsid,
        ecs_len,
        scope,
    };
    write(&frame, scratch, query, &hit, &layout, signatures, options).ok_or(Skip::Drop)
}

/// The index of the address that reply `k` of the hit's set (with `count` addresses, checked to
/// be 1..=[`MAX_ADDRS`]) leads with: `k % count` in plain rotation, else `schedule[k %
/// schedule_len]` from the set's extension. `None` if the order is malformed, which passes the
/// query rather than answering it in an order the socket path would not give.
#[inline(always)]
fn lead<const L: usize>(hit: &Hit<'_, L>, k: u32, count: usize) -> Option<usize> {
    let set = hit.set;
    let len = usize::from(set.schedule_len);
    if len == 0 {
        // Checked once more, hidden: the verifier does not bound a remainder by its divisor.
        let lead = hide((k % count as u32) as usize);
        return (lead < count).then_some(lead);
    }
    if set.flags & EXTENDED == 0 || len > MAX_SCHEDULE {
        return None;
    }
    // The schedule opens the slot after the head (`lbdns_common::answer::Extension`). The index
    // is hidden so that its bound check stays: the verifier does not bound a remainder by its
    // divisor, though the compiler does.
    let schedule = hit.answers.get_ptr(hit.slot.wrapping_add(1))?.cast::<u8>();
    let at = hide((k % len as u32) as usize);
    if at >= MAX_SCHEDULE {
        return None;
    }
    // SAFETY: `at` is inside the slot's value (at least `MAX_SCHEDULE` bytes), which lives as
    // long as the map; userspace does not write a slot a reachable set takes.
    let entry = usize::from(unsafe { schedule.add(at).read() });
    (entry < count).then_some(entry)
}

/// Where each part of the reply goes, as [`reply`] computed it.
#[derive(Clone, Copy)]
struct Layout {
    /// Where the query's bytes lie.
    shift: Shift,
    /// The index of the leading address.
    lead: usize,
    /// How many address records.
    records: usize,
    /// How many RRSIG records follow them.
    signatures_count: u16,
    records_off: usize,
    signatures_off: usize,
    opt_off: usize,
    /// The COOKIE option's length, 0 without one (`opt::cookie_len`).
    cookie_len: usize,
    /// The frame's length.
    end: usize,
}

/// The options the reply's OPT record carries.
#[derive(Clone, Copy)]
struct Options<'a> {
    nsid: Option<&'a Nsid>,
    /// The octets of the Client Subnet echo, 0 for none.
    ecs_len: usize,
    /// The answer's ECS scope.
    scope: u8,
}

/// Writes every part of the reply into `frame`, whose length is already `layout.end`.
#[inline(always)]
fn write<const L: usize>(
    frame: &Frame,
    scratch: *mut Scratch,
    query: &Query,
    hit: &Hit<'_, L>,
    layout: &Layout,
    signatures: Option<&Signatures>,
    options: Options<'_>,
) -> Option<()> {
    let Layout {
        shift,
        lead,
        records,
        signatures_count,
        records_off,
        signatures_off,
        opt_off,
        cookie_len,
        end,
    } = *layout;
    let dns = &query.dns;
    let turned = net::turn_around(frame, query, shift, end)?;
    shift.move_question(frame, scratch, dns.off + HEADER_LEN, records_off)?;
    // Read whether or not it is echoed: an `Option` would split what follows in two for the
    // verifier.
    let ecs = stored(scratch);
    if options.ecs_len != 0 {
        ecs::write_address(frame, end, &ecs)?;
    }

    let arcount = dns.edns.is_some() as u16;
    let ancount = records as u16 + signatures_count;
    let header = header::write(
        frame,
        dns.off,
        dns.id,
        dns.flags,
        header::FLAG_AA,
        [ancount, 0, arcount],
    )?;

    let mut tail = net::question_tail(query);
    tail.add(answer::write(frame, records_off, hit, lead, records)?);
    // The RRSIG records go before the OPT record, which overwrites what their last 8-byte word
    // wrote past them.
    let signatures_len = opt_off - signatures_off;
    if let Some(signatures) = signatures {
        tail.add(rrsig::write(
            frame,
            scratch,
            signatures_off,
            signatures,
            signatures_len,
        )?);
    }
    if let Some(edns) = dns.edns {
        let options = opt::Options {
            nsid: options.nsid,
            cookie_len,
            echo: opt::Echo {
                ecs: &ecs,
                len: options.ecs_len,
                scope: options.scope,
            },
        };
        // Address records have even lengths; RRSIG records may not.
        let odd = signatures_len % 2 == 1;
        tail.add(opt::write_after_records(
            frame,
            scratch,
            opt_off,
            edns.dnssec_ok,
            options,
            odd,
        )?);
    }
    turned.seal(query, header, tail);
    Some(())
}
