//! The truncated reply a rate-limited response slips as (lbdns_common::rrl): the query's
//! question and nothing else, TC=1, so that a real client asks again over TCP, which is never
//! limited. Built from the query's frame, before anything of the reply was written; the
//! socket path's `rrl::truncated` builds the same octets.

use aya_ebpf::{helpers::bpf_xdp_adjust_tail, programs::XdpContext, EbpfContext};

use super::{cookie, header, net, resize::Shift};
use crate::{
    frame::Frame,
    maps::Scratch,
    parse::{
        dns::{HEADER_LEN, QUESTION_FIXED_LEN},
        Query,
    },
    verdict::Skip,
};

/// Rewrites the query's frame into the reply a rate-limited response slips as: BADCOOKIE with a
/// fresh server cookie when the query has a client cookie (RFC 7873 §5.2.3–5.2.4), the
/// truncated reply otherwise. `Ok` to send it, `Err(Skip::Drop)` if writing failed.
#[inline(always)]
pub fn send(ctx: &XdpContext, scratch: *mut Scratch, query: &Query) -> Result<(), Skip> {
    if query.dns.edns.is_some_and(|edns| edns.cookie.present()) {
        cookie::badcookie(ctx, scratch, query).map_err(|_| Skip::Drop)
    } else {
        write(ctx, query).ok_or(Skip::Drop)
    }
}

/// Rewrites the query's frame into its truncated reply: QR and TC set, RD and CD copied,
/// NOERROR, the question, no records (no OPT either). `None` means the frame may have changed
/// and must be dropped.
#[inline(always)]
fn write(ctx: &XdpContext, query: &Query) -> Option<()> {
    let dns = &query.dns;
    let end = dns.off + HEADER_LEN + dns.name.len + QUESTION_FIXED_LEN;
    let len = Frame::new(ctx).len();
    if end > len {
        return None;
    }
    // The frame only shrinks, at its end: `resize::resize` would do the same, but inlined here
    // with its growing branch it cost 418 bytes of JITed code and 669 verified instructions.
    if end < len {
        // SAFETY: the helper only moves the frame's end; it is re-read below.
        if unsafe { bpf_xdp_adjust_tail(ctx.as_ptr().cast(), end as i32 - len as i32) } != 0 {
            return None;
        }
    }
    let frame = Frame::new(ctx);
    let turned = net::turn_around(&frame, query, Shift::NONE, end)?;
    let header = header::write(
        &frame,
        dns.off,
        dns.id,
        dns.flags,
        header::FLAG_TC,
        [0, 0, 0],
    )?;
    turned.seal(query, header, net::question_tail(query));
    Some(())
}
