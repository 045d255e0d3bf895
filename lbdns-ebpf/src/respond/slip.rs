//! The truncated reply a rate-limited response slips as (lbdns_common::rrl): the query's
//! question and nothing else, TC=1, so that a real client asks again over TCP, which is never
//! limited. Built from the query's frame, before anything of the reply was written; the
//! socket path's `rrl::truncated` builds the same octets.

use aya_ebpf::{helpers::bpf_xdp_adjust_tail, programs::XdpContext, EbpfContext};

use super::{csum::Csum, header, net};
use crate::{
    frame::Frame,
    parse::{
        dns::{FLAG_CD, FLAG_RD, HEADER_LEN, QUESTION_FIXED_LEN},
        Query,
    },
};

/// Rewrites the query's frame into its truncated reply: QR and TC set, RD and CD copied,
/// NOERROR, the question, no records (no OPT either). `None` means the frame may have changed
/// and must be dropped.
#[inline(always)]
pub fn write(ctx: &XdpContext, query: &Query) -> Option<()> {
    let dns = &query.dns;
    let end = dns.off + HEADER_LEN + dns.name.len + QUESTION_FIXED_LEN;
    let len = Frame::new(ctx).len();
    if end > len {
        return None;
    }
    if end < len {
        // SAFETY: the helper only moves the frame's end; it is re-read below.
        if unsafe { bpf_xdp_adjust_tail(ctx.as_ptr().cast(), end as i32 - len as i32) } != 0 {
            return None;
        }
    }
    let frame = Frame::new(ctx);
    let udp_len = (end - query.udp_off) as u16;
    net::swap_macs(&frame)?;
    let pseudo = if query.ip.v6 {
        net::ipv6(&frame, query.ip.off, udp_len)?
    } else {
        net::ipv4(&frame, query.ip.off, (end - query.ip.off) as u16)?
    };
    let (udp, udp_sum) = net::UdpHeader::write(&frame, query.udp_off, udp_len)?;
    let flags = header::FLAG_QR | header::FLAG_TC | (dns.flags & (FLAG_RD | FLAG_CD));
    let header = header::write_flags(&frame, dns.off, dns.id, flags, 0, 0)?;
    let mut tail = Csum::default();
    tail.add16(dns.addr_type.rr_type());
    tail.add16(1);
    if dns.name.len % 2 == 1 {
        tail = tail.byte_swapped();
    }
    let mut sum = pseudo;
    sum.add16(udp_len);
    sum.add(udp_sum);
    sum.add(header);
    sum.add32(dns.name.sum);
    sum.add(tail);
    udp.set_checksum(sum);
    Some(())
}
