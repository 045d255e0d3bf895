//! Turns the query into its reply, in place, and sends it back out of the interface.
//!
//! Everything that could make the program pass the packet is decided before the first write:
//! once [`reply`] has resized the frame ([`resize`]), the packet is the reply or it is dropped.
//!
//! The reply is the query's frame with: MAC addresses, IP addresses and UDP ports swapped (VLAN
//! tags kept); fresh IP header fields; the DNS header of a reply; the question as the query
//! sent it; the answer records ([`answer`]); an OPT record if the query had one ([`opt`]). Both
//! checksums are computed from the values written ([`csum`]), never patched from the query's,
//! which may be a partial checksum from a local socket.

pub mod answer;
pub mod csum;
pub mod header;
pub mod net;
pub mod opt;
mod resize;

pub use resize::MAX_PREFIX_LEN;

use aya_ebpf::programs::XdpContext;
use lbdns_common::{
    answer::AnswerSet,
    limits::{MAX_ADDRS, PLAIN_UDP_PAYLOAD},
};

use crate::{
    frame::Frame,
    lookup::Hit,
    maps::Scratch,
    parse::{dns::HEADER_LEN, dns::QUESTION_FIXED_LEN, opt::OPT_FIXED_LEN, Query},
    verdict::{Skip, MISS, SIZE},
};
use csum::Csum;

/// Rewrites the frame into the reply to `query` from `hit`. On `Ok` the frame is ready for
/// XDP_TX; `Err(Skip::Pass)` leaves it untouched.
#[inline(always)]
pub fn reply<const L: usize>(
    ctx: &XdpContext,
    scratch: *mut Scratch,
    query: &Query,
    hit: Hit<'_, L>,
) -> Result<(), Skip> {
    let set = hit.set;
    let dns = &query.dns;
    let count = set.count as usize;
    if count == 0 || count > MAX_ADDRS {
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
    let records_off = dns.off + HEADER_LEN + dns.name_len + QUESTION_FIXED_LEN;
    let opt_off = records_off + records * answer::record_len(L);
    let end = opt_off + if dns.edns.is_some() { OPT_FIXED_LEN } else { 0 };
    let max_len = match dns.edns {
        Some(edns) if edns.udp_size > PLAIN_UDP_PAYLOAD => edns.udp_size,
        _ => PLAIN_UDP_PAYLOAD,
    };
    if end - dns.off > max_len as usize {
        return Err(SIZE);
    }
    resize::resize(ctx, scratch, records_off, end)?;

    // The frame has its new length: from here on, failing means dropping.
    let frame = Frame::new(ctx);
    // SAFETY: this CPU's counter for the RRset; XDP runs with preemption disabled.
    let start = unsafe {
        let k = *hit.rotation;
        *hit.rotation = k.wrapping_add(1);
        k as usize % count
    };
    write(
        &frame,
        query,
        set,
        start,
        records,
        records_off,
        opt_off,
        end,
    )
    .ok_or(Skip::Drop)
}

/// Writes every part of the reply into `frame`, whose length is already `end`.
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "the offsets computed by `reply`, passed once"
)]
fn write<const L: usize>(
    frame: &Frame,
    query: &Query,
    set: &AnswerSet<L>,
    start: usize,
    records: usize,
    records_off: usize,
    opt_off: usize,
    end: usize,
) -> Option<()> {
    let dns = &query.dns;
    let udp_len = (end - query.udp_off) as u16;

    net::swap_macs(frame)?;
    let pseudo = if query.ip.v6 {
        net::ipv6(frame, query.ip.off, udp_len)?
    } else {
        net::ipv4(frame, query.ip.off, (end - query.ip.off) as u16)?
    };
    let (udp, udp_sum) = net::UdpHeader::write(frame, query.udp_off, udp_len)?;
    let arcount = dns.edns.is_some() as u16;
    let header = header::write(frame, dns.off, dns.flags, records as u16, arcount)?;

    // The bytes after the name start at an odd offset when the name's length is odd; they are
    // summed as if aligned and byte-swapped (RFC 1071 §2(B)).
    let mut tail = Csum::default();
    tail.add16(dns.addr_type.rr_type());
    tail.add16(1);
    tail.add(answer::write(frame, records_off, set, start, records)?);
    if let Some(edns) = dns.edns {
        tail.add(opt::write(frame, opt_off, edns.dnssec_ok)?);
    }
    if dns.name_len % 2 == 1 {
        tail = tail.byte_swapped();
    }

    let mut sum = pseudo;
    sum.add16(udp_len); // the pseudo-header's copy of the length
    sum.add(udp_sum);
    sum.add(header);
    sum.add32(dns.name_sum);
    sum.add(tail);
    udp.set_checksum(sum);
    Some(())
}
