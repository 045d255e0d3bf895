//! Giving the frame the reply's length.
//!
//! The reply is longer than the query by its answer records, and the room for them can be at
//! either end of the frame. Every XDP driver reserves headroom (256 bytes; veth always gives
//! that much), while room after the packet depends on the driver: veth copies a packet that
//! comes from a local socket into a buffer just large enough for it, aligned to 64 bytes. So the
//! frame grows at its head, and the bytes before the answers (about 80) move back to the start
//! in 8-byte words; only a reply that outgrows the headroom grows at the tail. Measured: where
//! both ends have room (BPF_PROG_TEST_RUN), growing at the head costs the same as
//! `bpf_xdp_adjust_tail`, within a few ns; on veth it saves the call that fails, about 11 ns.

use aya_ebpf::{
    helpers::{bpf_xdp_adjust_head, bpf_xdp_adjust_tail},
    programs::XdpContext,
    EbpfContext,
};

use crate::{
    frame::{store_unaligned_u64, Frame},
    maps::{opaque, Scratch},
    verdict::{Skip, SIZE},
};

/// The most bytes before the answer section: Ethernet with two VLAN tags, IPv6, UDP, the DNS
/// header and the longest question.
const MAX_PREFIX_LEN: usize = 22 + 40 + 8 + 12 + 255 + 4;

/// More than the frame ever grows by: the answer records of the largest reply.
const MAX_GROWTH: usize = 1024;

/// Makes the frame `end` bytes long, keeping its first `prefix_len` bytes, the ones before the
/// answer section, where they are. Whatever follows them is left for the reply to overwrite.
///
/// `Err(Skip::Pass)` leaves the frame as it was; `Err(Skip::Drop)` means it has changed.
#[inline(always)]
pub fn resize(
    ctx: &XdpContext,
    scratch: *mut Scratch,
    prefix_len: usize,
    end: usize,
) -> Result<(), Skip> {
    let delta = end as i32 - Frame::new(ctx).len() as i32;
    if delta == 0 {
        return Ok(());
    }
    if delta > 0 {
        match grow_at_head(ctx, scratch, prefix_len, delta as usize) {
            // Not enough headroom, and the frame as it was.
            Err(Skip::Pass(_)) => {}
            done => return done,
        }
    }
    // SAFETY: the helper only moves the frame's end; callers re-read it with `Frame::new`.
    if unsafe { bpf_xdp_adjust_tail(ctx.as_ptr().cast(), delta) } == 0 {
        return Ok(());
    }
    Err(SIZE)
}

/// Adds `delta` bytes at the head of the frame and moves the first `prefix_len` bytes there.
/// `Err(Skip::Pass)` if it cannot, with the frame unchanged.
///
/// The copy runs front to back in 8-byte words: the destination is before the source, so each
/// word is read before any store reaches it. The last word, which may overlap the one before it,
/// is read before anything is stored.
#[inline(always)]
fn grow_at_head(
    ctx: &XdpContext,
    scratch: *mut Scratch,
    prefix_len: usize,
    delta: usize,
) -> Result<(), Skip> {
    // Bounds for the verifier; the caller's values are far inside them.
    if !(8..=MAX_PREFIX_LEN).contains(&prefix_len) || delta > MAX_GROWTH {
        return Err(SIZE);
    }
    // SAFETY: the helper only moves the frame's start; the frame is re-read below.
    if unsafe { bpf_xdp_adjust_head(ctx.as_ptr().cast(), -(delta as i32)) } != 0 {
        return Err(SIZE);
    }
    // The frame now starts `delta` bytes earlier: from here on, failing means dropping.
    let frame = Frame::new(ctx);
    // How far the bytes move, and the offset of their last word twice, each through map memory
    // (see `maps::opaque`), which hides from the compiler what it knows of them, so that it keeps
    // the bounds checks the verifier needs: otherwise it drops the loop's as implied by the last
    // word's, and checks `delta` on a copy the verifier does not connect to the one it adds.
    // Narrowing an opaque copy also leaves the caller's `prefix_len` alone, so the code after
    // this is verified once, not once per exit of the loop.
    // SAFETY: this CPU's scratch value, used only by this program run.
    let cells = unsafe { &mut (*scratch).copy };
    let from = opaque(&mut cells[0], delta as u32) as usize;
    let last_at = opaque(&mut cells[1], prefix_len as u32 - 8) as usize;
    let loop_end = opaque(&mut cells[2], prefix_len as u32 - 8) as usize;
    if from > MAX_GROWTH || last_at > MAX_PREFIX_LEN - 8 || loop_end > MAX_PREFIX_LEN - 8 {
        return Err(Skip::Drop);
    }
    // Destinations are checked before their sources: the source's check implies the
    // destination's, and the compiler drops a check that comes second, but the verifier needs
    // both.
    let last_to = frame.ptr::<u64>(last_at).ok_or(Skip::Drop)?;
    let last = frame.le64(from + last_at).ok_or(Skip::Drop)?;
    let mut at = 0;
    while at < loop_end {
        let to = frame.ptr::<u64>(at).ok_or(Skip::Drop)?;
        let word = frame.le64(from + at).ok_or(Skip::Drop)?;
        // SAFETY: `ptr` checked that the 8 bytes are inside the frame.
        unsafe { store_unaligned_u64(to, word) };
        at += 8;
    }
    // SAFETY: `ptr` checked that the 8 bytes are inside the frame.
    unsafe { store_unaligned_u64(last_to, last) };
    Ok(())
}
