//! The lbdns XDP program: answers hot A and AAAA queries from BPF maps and hands every other
//! packet, unchanged, to the kernel stack and the socket server.
//!
//! Per packet: [`parse`] decides whether the packet is a plain IN A/AAAA query and copies the
//! lowercased name into the scratch space; [`lookup`] finds the answer set (name → RRset id →
//! slot), and [`geo`] the set of the client's location for a geo pool's RRset; [`respond`] rewrites the packet into the reply, which leaves through XDP_TX. Every packet bumps one counter
//! ([`maps::COUNTERS`]). What the fast path leaves to the socket path is listed in
//! `lbdns_common::counters::Counter`.
#![no_std]
#![no_main]
// Inline assembly for single loads of misaligned words (`frame::Frame::le64`).
#![feature(asm_experimental_arch)]

mod fixed;
mod frame;
mod geo;
mod lookup;
mod maps;
mod negative;
mod parse;
mod respond;
mod rrl;
mod verdict;

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};
use lbdns_common::{counters::Counter, qtype::AddrType};

use crate::{
    frame::Frame,
    maps::{
        Rotations, Scratch, ANSWERS_V4, ANSWERS_V6, FIXED_PROGRAM, GEO_LOCATIONS_V4,
        GEO_LOCATIONS_V6, GEO_ROW_V4, GEO_ROW_V6, RRSET_SLOT_V4, RRSET_SLOT_V6, SCRATCH,
    },
    negative::Negative,
    parse::Query,
    verdict::{Skip, MISS, OTHER, STALE, TYPE},
};

/// Entry point attached to the interface.
///
/// Inlined into the function `#[xdp]` wraps it in: left to LLVM, the body stayed a function
/// of its own, and every packet paid for a BPF-to-BPF call and its return, which a kernel
/// with Safe RET (against SRSO) sends through a return thunk: about 10 ns of each run in
/// BPF_PROG_TEST_RUN, the ARP frame's 82 ns down to 77.
#[xdp]
#[inline(always)]
pub fn lbdns(ctx: XdpContext) -> u32 {
    finish(try_answer(&ctx))
}

/// Counts what was done and returns the action: the answer sent, or the packet passed (or
/// dropped over the rate limit for passed queries).
#[inline(always)]
fn finish(answered: Result<(u32, Counter), Skip>) -> u32 {
    let (action, counter) = match answered {
        Ok(sent) => sent,
        Err(Skip::Pass(reason)) => match SCRATCH.get_ptr_mut(0).map(rrl::passed) {
            Some(rrl::Limit::Drop) => (xdp_action::XDP_DROP, Counter::RateLimited),
            _ => (xdp_action::XDP_PASS, reason),
        },
        Err(Skip::Drop) => (xdp_action::XDP_DROP, Counter::Dropped),
    };
    maps::count(counter);
    action
}

/// The BADCOOKIE reply alone (`respond::cookie::badcookie`) for every query the program parses
/// that carries a client cookie; every other packet passes. Never attached: the entry through
/// which tests compare the reply response rate limiting's slip sends with the socket path's
/// (`lbdns_common::maps::BADCOOKIE_PROGRAM`). Counts nothing.
#[xdp]
pub fn lbdns_badcookie(ctx: XdpContext) -> u32 {
    let answered = SCRATCH.get_ptr_mut(0).ok_or(OTHER).and_then(|scratch| {
        let query = parse::query(&ctx, scratch)?;
        respond::cookie::badcookie(&ctx, scratch, &query)
    });
    match answered {
        Ok(()) => xdp_action::XDP_TX,
        Err(Skip::Pass(_)) => xdp_action::XDP_PASS,
        Err(Skip::Drop) => xdp_action::XDP_DROP,
    }
}

/// Answers the packet if it is a hot query; returns the action (XDP_TX, or XDP_DROP over a
/// rate limit) and the counter for what was done.
#[inline(always)]
fn try_answer(ctx: &XdpContext) -> Result<(u32, Counter), Skip> {
    let scratch = SCRATCH.get_ptr_mut(0).ok_or(OTHER)?;
    let query = parse::query(ctx, scratch)?;
    // After parsing, so that only DNS queries pay for the clock.
    if maps::daemon_stale(scratch) {
        return Err(STALE);
    }
    // One call of `prepared` for every query without a hot answer set: inlined twice, it
    // took the entry's stack frame past 512 bytes.
    let hot = query.dns.addr_type.and_then(|addr_type| {
        lookup::rrset_id(scratch, &query.dns.name, addr_type).map(|id| (addr_type, id))
    });
    let Some((addr_type, id)) = hot else {
        return prepared(ctx, scratch, &query);
    };
    let rotation = match addr_type {
        AddrType::A => lookup::touch(&RRSET_SLOT_V4, &ANSWERS_V4, Rotations::v4(), id),
        AddrType::Aaaa => lookup::touch(&RRSET_SLOT_V6, &ANSWERS_V6, Rotations::v6(), id),
    }
    .ok_or(MISS)?;
    // A hot answer: counted against its rate limit here, before the reply is built; should the
    // reply then pass the query on after all (too large, RRSIGs not stored, an option it leaves
    // to the socket path, no location's answer), the count is given back, as the socket path
    // counts what it answers.
    let charged = match rrl::response(scratch, &query) {
        rrl::Limit::Send(charged) => charged,
        rrl::Limit::Slip => {
            return respond::slip::send(ctx, scratch, &query)
                .map(|()| (xdp_action::XDP_TX, Counter::RateLimited));
        }
        rrl::Limit::Drop => return Ok((xdp_action::XDP_DROP, Counter::RateLimited)),
    };
    let frame = &Frame::new(ctx);
    let replied = (|| {
        let subnet = geo::subnet(frame, &query.dns.edns, scratch)?;
        match addr_type {
            AddrType::A => {
                let hit =
                    lookup::answer_set(&RRSET_SLOT_V4, &ANSWERS_V4, rotation, id).ok_or(MISS)?;
                let maps = geo::Family {
                    rows: &GEO_ROW_V4,
                    locations: &GEO_LOCATIONS_V4,
                    slots: &RRSET_SLOT_V4,
                    answers: &ANSWERS_V4,
                };
                let hit = geo::steer(frame, &query, scratch, subnet, id, hit, &maps)?;
                respond::reply(ctx, scratch, &query, hit, subnet).map(|()| Counter::AnsweredA)
            }
            AddrType::Aaaa => {
                let hit =
                    lookup::answer_set(&RRSET_SLOT_V6, &ANSWERS_V6, rotation, id).ok_or(MISS)?;
                let maps = geo::Family {
                    rows: &GEO_ROW_V6,
                    locations: &GEO_LOCATIONS_V6,
                    slots: &RRSET_SLOT_V6,
                    answers: &ANSWERS_V6,
                };
                let hit = geo::steer(frame, &query, scratch, subnet, id, hit, &maps)?;
                respond::reply(ctx, scratch, &query, hit, subnet).map(|()| Counter::AnsweredAaaa)
            }
        }
    })();
    if charged && matches!(replied, Err(Skip::Pass(_))) {
        rrl::refund(scratch, &query);
    }
    replied.map(|answered| (xdp_action::XDP_TX, answered))
}

/// Answers a query the name table has no answer set for: NXDOMAIN when an A or AAAA query's
/// name is proven not to exist, NODATA when it is proven to have none of the type
/// ([`negative`]); else hands it to [`lbdns_fixed`], which answers it if it has a fixed reply.
/// While response rate limiting is on, the socket path answers: it counts these replies by
/// their zone, which the program's limiter does not.
#[inline(always)]
fn prepared(
    ctx: &XdpContext,
    scratch: *mut Scratch,
    query: &Query,
) -> Result<(u32, Counter), Skip> {
    let passed = unanswered(query);
    if rrl::is_on() {
        return Err(passed);
    }
    if let Some(addr_type) = query.dns.addr_type {
        if let Ok((reply, said)) = negative::reply(&Frame::new(ctx), scratch, query, addr_type) {
            respond::prepared::reply(ctx, scratch, query, reply)?;
            // A NODATA is counted as the fixed replies' program counts the NODATA it sends.
            let counter = match (said, addr_type) {
                (Negative::Nodata, _) => Counter::AnsweredFixed,
                (Negative::Nxdomain, AddrType::A) => Counter::NxdomainA,
                (Negative::Nxdomain, AddrType::Aaaa) => Counter::NxdomainAaaa,
            };
            return Ok((xdp_action::XDP_TX, counter));
        }
    }
    // A program of its own, verified on its own: in this one, the reply's verification once
    // more for every path into it took the verifier past its million instructions. A tail call
    // does not return when it succeeds; without the program, the socket path answers.
    // SAFETY: the context is this program's own.
    unsafe { FIXED_PROGRAM.tail_call(ctx, 0) };
    Err(passed)
}

/// The fixed reply to the query (`lbdns_common::fixed`), if it has one; [`lbdns`] tail-calls
/// it for every query it has no reply for, after its own checks (the daemon's heartbeat, rate
/// limiting off), which it does not repeat. Inlined into its entry, as [`lbdns`].
#[xdp]
#[inline(always)]
pub fn lbdns_fixed(ctx: XdpContext) -> u32 {
    finish(fixed_reply(&ctx))
}

#[inline(always)]
fn fixed_reply(ctx: &XdpContext) -> Result<(u32, Counter), Skip> {
    let scratch = SCRATCH.get_ptr_mut(0).ok_or(OTHER)?;
    let query = parse::query(ctx, scratch)?;
    let reply = fixed::find(&Frame::new(ctx), scratch, &query, unanswered(&query))?;
    respond::prepared::reply(ctx, scratch, &query, reply)?;
    Ok((xdp_action::XDP_TX, Counter::AnsweredFixed))
}

/// Why a query without a reply passes: no answer set for an A or AAAA query, another type.
#[inline(always)]
fn unanswered(query: &Query) -> Skip {
    if query.dns.addr_type.is_some() {
        MISS
    } else {
        TYPE
    }
}

/// The kernel only allows GPL-only helpers to programs that declare a compatible licence.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";

/// BPF has no unwinding; the verifier proves panics unreachable, so this is never called.
#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
