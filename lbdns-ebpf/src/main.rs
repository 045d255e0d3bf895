//! The lbdns XDP program: answers hot A and AAAA queries from BPF maps and hands every other
//! packet, unchanged, to the kernel stack and the socket server.
//!
//! Per packet: [`parse`] decides whether the packet is a plain IN A/AAAA query and copies the
//! lowercased name into the scratch space; [`lookup`] finds the answer set (name → RRset id →
//! slot); [`respond`] rewrites the packet into the reply, which leaves through XDP_TX. Every packet bumps one counter
//! ([`maps::COUNTERS`]). What the fast path leaves to the socket path is listed in
//! `lbdns_common::counters::Counter`.
#![no_std]
#![no_main]
// Inline assembly for single loads of misaligned words (`frame::Frame::le64`).
#![feature(asm_experimental_arch)]

mod frame;
mod lookup;
mod maps;
mod parse;
mod respond;
mod rrl;
mod verdict;

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};
use lbdns_common::{counters::Counter, qtype::AddrType};

use crate::{
    maps::{
        ANSWERS_V4, ANSWERS_V6, ROTATION_V4, ROTATION_V6, RRSET_SLOT_V4, RRSET_SLOT_V6, SCRATCH,
    },
    verdict::{Skip, MISS, OTHER, STALE},
};

/// Entry point attached to the interface.
#[xdp]
pub fn lbdns(ctx: XdpContext) -> u32 {
    let (action, counter) = match try_answer(&ctx) {
        Ok(answered) => (xdp_action::XDP_TX, answered),
        Err(Skip::Pass(reason)) => match SCRATCH.get_ptr_mut(0).map(rrl::passed) {
            Some(Err(_)) => (xdp_action::XDP_DROP, Counter::RateLimited),
            _ => (xdp_action::XDP_PASS, reason),
        },
        Err(Skip::Drop) => (xdp_action::XDP_DROP, Counter::Dropped),
        Err(Skip::Limited { .. }) => (xdp_action::XDP_DROP, Counter::RateLimited),
    };
    maps::count(counter);
    action
}

/// Answers the packet if it is a hot query; returns the counter for what was answered.
#[inline(always)]
fn try_answer(ctx: &XdpContext) -> Result<Counter, Skip> {
    let scratch = SCRATCH.get_ptr_mut(0).ok_or(OTHER)?;
    let query = parse::query(ctx, scratch)?;
    // After parsing, so that only DNS queries pay for the clock.
    if maps::daemon_stale() {
        return Err(STALE);
    }
    let id = lookup::rrset_id(scratch, &query.dns.name, query.dns.addr_type).ok_or(MISS)?;
    let replied = match query.dns.addr_type {
        AddrType::A => {
            let hit =
                lookup::answer_set(&RRSET_SLOT_V4, &ANSWERS_V4, &ROTATION_V4, id).ok_or(MISS)?;
            respond::reply(ctx, scratch, &query, hit).map(|()| Counter::AnsweredA)
        }
        AddrType::Aaaa => {
            let hit =
                lookup::answer_set(&RRSET_SLOT_V6, &ANSWERS_V6, &ROTATION_V6, id).ok_or(MISS)?;
            respond::reply(ctx, scratch, &query, hit).map(|()| Counter::AnsweredAaaa)
        }
    };
    match replied {
        // Over its rate limit, the reply slips: the truncated one goes instead.
        Err(Skip::Limited { slip: true }) => respond::slip::write(ctx, &query)
            .map(|()| Counter::RateLimited)
            .ok_or(Skip::Drop),
        other => other,
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
