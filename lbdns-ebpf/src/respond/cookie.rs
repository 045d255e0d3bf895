//! The BADCOOKIE reply (RFC 7873 §5.2.3–5.2.4): the question only, an OPT record with the
//! client cookie and a fresh server cookie, RCODE 23 (7 in the header, 1 in the OPT record).
//! What response rate limiting sends, instead of a truncated reply, to a query over the limit
//! that carries a client cookie; the socket path's `authority::badcookie` gives the same bytes.

use aya_ebpf::programs::XdpContext;

use super::{header, net, opt, resize, resize::Shift};
use crate::{
    frame::Frame,
    maps::Scratch,
    parse::{dns::HEADER_LEN, dns::QUESTION_FIXED_LEN, opt::OPT_FIXED_LEN, Query},
    verdict::{Skip, COOKIE},
};

/// BADCOOKIE (23): the header's four bits and the OPT record's eight.
const RCODE_LOW: u16 = 23 & 0xf;
const RCODE_HIGH: u8 = 23 >> 4;

/// Rewrites `query`, which `parse::query` accepted, into its BADCOOKIE reply, ready for XDP_TX.
/// `Err(Skip::Pass)` leaves the frame untouched: the query has no client cookie.
#[inline(always)]
pub fn badcookie(ctx: &XdpContext, scratch: *mut Scratch, query: &Query) -> Result<(), Skip> {
    let dns = &query.dns;
    let Some(edns) = dns.edns else {
        return Err(COOKIE);
    };
    if !edns.cookie.present() {
        return Err(COOKIE);
    }
    let opt_off = dns.off + HEADER_LEN + dns.name.len + QUESTION_FIXED_LEN;
    let end = opt_off + OPT_FIXED_LEN + opt::COOKIE_OPTION_LEN;
    let shift = resize::resize(ctx, scratch, end)?;

    // The frame has its new length: from here on, failing means dropping.
    write(
        &Frame::new(ctx),
        scratch,
        query,
        edns.dnssec_ok,
        shift,
        opt_off,
        end,
    )
    .ok_or(Skip::Drop)
}

/// Writes the BADCOOKIE reply into the frame `badcookie` sized, the query's bytes `shift` on:
/// the OPT record at `opt_off`, the message ending at `end`. `None` means the frame must be
/// dropped. A function of its own rather than a closure, so that it is inlined: a closure
/// became a BPF-to-BPF call whose frame added to the entry's on the 512-byte stack.
#[inline(always)]
fn write(
    frame: &Frame,
    scratch: *mut Scratch,
    query: &Query,
    dnssec_ok: bool,
    shift: Shift,
    opt_off: usize,
    end: usize,
) -> Option<()> {
    let dns = &query.dns;
    let turned = net::turn_around(frame, query, shift, end)?;
    shift.move_question(frame, scratch, dns.off + HEADER_LEN, opt_off)?;
    let header = header::write(frame, dns.off, dns.id, dns.flags, RCODE_LOW, [0, 0, 1])?;
    let mut tail = net::question_tail(query);
    tail.add(opt::write(
        frame,
        scratch,
        opt_off,
        dnssec_ok,
        RCODE_HIGH,
        opt::Options {
            nsid: None,
            cookie_len: opt::COOKIE_OPTION_LEN,
            echo: opt::Echo::NONE,
        },
    )?);
    turned.seal(query, header, tail);
    Some(())
}
