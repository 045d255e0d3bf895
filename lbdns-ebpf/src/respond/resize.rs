//! Giving the frame the reply's length.
//!
//! The reply is longer than the query by its answer records, and the room for them can be at
//! either end of the frame. Drivers usually leave room after the packet, and the tail simply
//! moves. Some leave almost none: veth copies a packet that comes from a local socket into a
//! buffer just large enough for it, aligned to 64 bytes. Then the frame grows at its head, into
//! the headroom that XDP drivers reserve (256 bytes; veth always gives that much), and the
//! bytes before the answers are copied back to the start.

use aya_ebpf::{
    helpers::{bpf_xdp_adjust_head, bpf_xdp_adjust_tail, bpf_xdp_load_bytes, bpf_xdp_store_bytes},
    programs::XdpContext,
    EbpfContext,
};

use crate::{
    frame::Frame,
    maps::Scratch,
    verdict::{Skip, SIZE},
};

/// The most bytes before the answer section: Ethernet with two VLAN tags, IPv6, UDP, the DNS
/// header and the longest question.
pub const MAX_PREFIX_LEN: usize = 22 + 40 + 8 + 12 + 255 + 4;

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
    // SAFETY: the helper only moves the frame's end; callers re-read it with `Frame::new`.
    if unsafe { bpf_xdp_adjust_tail(ctx.as_ptr().cast(), delta) } == 0 {
        return Ok(());
    }
    if delta < 0 {
        return Err(SIZE);
    }
    grow_at_head(ctx, scratch, prefix_len, delta)
}

/// Adds `delta` bytes at the head of the frame and moves the first `prefix_len` bytes there,
/// through `scratch` (the helpers copy without regard to overlap).
#[inline(always)]
fn grow_at_head(
    ctx: &XdpContext,
    scratch: *mut Scratch,
    prefix_len: usize,
    delta: i32,
) -> Result<(), Skip> {
    // Bounds the helpers' length for the verifier; the caller's offsets are within them.
    if prefix_len == 0 || prefix_len > MAX_PREFIX_LEN {
        return Err(SIZE);
    }
    // SAFETY: this CPU's scratch value, used only by this program run.
    let buf = unsafe { (*scratch).prefix.as_mut_ptr() }.cast();
    let len = prefix_len as u32;
    // SAFETY (each call): `buf` points at `MAX_PREFIX_LEN` bytes of map memory and
    // `len <= MAX_PREFIX_LEN`; the helpers check the packet side themselves.
    if unsafe { bpf_xdp_load_bytes(ctx.as_ptr().cast(), 0, buf, len) } != 0 {
        return Err(SIZE);
    }
    if unsafe { bpf_xdp_adjust_head(ctx.as_ptr().cast(), -delta) } != 0 {
        return Err(SIZE);
    }
    // The frame now starts `delta` bytes earlier: from here on, failing means dropping.
    if unsafe { bpf_xdp_store_bytes(ctx.as_ptr().cast(), 0, buf, len) } != 0 {
        return Err(Skip::Drop);
    }
    Ok(())
}
