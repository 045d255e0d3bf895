//! Giving the frame the reply's length.
//!
//! The reply is longer than the query by its answer records, and the room for them can be at
//! either end of the frame. Every XDP driver reserves headroom (256 bytes; veth always gives
//! that much), while room after the packet depends on the driver: veth copies a packet that
//! comes from a local socket into a buffer just large enough for it, aligned to 64 bytes. So the
//! frame grows at its head; only a reply that outgrows the headroom grows at the tail. Measured:
//! where both ends have room (BPF_PROG_TEST_RUN), growing at the head costs the same as
//! `bpf_xdp_adjust_tail`, within a few ns; on veth it saves the call that fails, about 11 ns.
//!
//! Growing at the head leaves the query's bytes [`Shift`] bytes after where the reply's go.
//! Nothing moves them wholesale: the writers of the Ethernet, IP and UDP headers
//! (`respond::net`) read the few fields they keep from where the query's bytes now lie and
//! write the reply's headers in place, and only the question is copied
//! ([`Shift::move_question`]). Copying every byte before the answers cost about 13 ns a reply
//! (BPF_PROG_TEST_RUN: 160 ns, 147 with the copy left out); writing the headers from where the
//! query's bytes lie instead takes about 6 of them back (152–154 ns).

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

/// How many bytes after its place in the reply each byte of the query now lies: what the frame
/// grew by at its head, 0 when it changed at its end.
#[derive(Clone, Copy)]
pub struct Shift(usize);

impl Shift {
    /// No shift: a frame whose end moved, or that kept its length.
    pub const NONE: Shift = Shift(0);

    /// The shift in bytes, at most [`MAX_GROWTH`].
    #[inline(always)]
    pub fn bytes(self) -> usize {
        self.0
    }

    /// Copies the question, the query's bytes `from..to` (offsets in the reply), to its place.
    /// Goes after the headers below DNS are turned around (their fields lie in the `shift`
    /// bytes before the question, which this overwrites) and before anything is written after
    /// `to` (which may land on the question as the query left it). With fewer than 8 bytes to
    /// copy, the copy writes over the end of the DNS header before `from`: write the header
    /// after it.
    ///
    /// The copy runs front to back in 8-byte words: the destination is before the source, so
    /// each word is read before any store reaches it. The last word, which may overlap the one
    /// before it, is read before anything is stored.
    #[inline(always)]
    pub fn move_question(
        self,
        frame: &Frame,
        scratch: *mut Scratch,
        from: usize,
        to: usize,
    ) -> Option<()> {
        if self.0 == 0 {
            return Some(());
        }
        let by = self.0;
        // Where the bytes start, and the offset of their last word twice, each through map
        // memory (see `maps::opaque`), which hides from the compiler what it knows of them, so
        // that it keeps the bounds checks the verifier needs: otherwise it drops the loop's as
        // implied by the last word's. Narrowing an opaque copy also leaves the caller's offsets
        // alone, so the code after this is verified once, not once per exit of the loop.
        // SAFETY: this CPU's scratch value, used only by this program run.
        let cells = unsafe { &mut (*scratch).copy };
        let mut at = opaque(&mut cells[1], from as u32) as usize;
        let last_at = opaque(&mut cells[2], to.wrapping_sub(8) as u32) as usize;
        let loop_end = opaque(&mut cells[3], to.wrapping_sub(8) as u32) as usize;
        if at > MAX_PREFIX_LEN || last_at > MAX_PREFIX_LEN - 8 || loop_end > MAX_PREFIX_LEN - 8 {
            return None;
        }
        // Destinations are checked before their sources: the source's check implies the
        // destination's, and the compiler drops a check that comes second, but the verifier
        // needs both.
        let last_to = frame.ptr::<u64>(last_at)?;
        let last = frame.le64(by + last_at)?;
        while at < loop_end {
            let to = frame.ptr::<u64>(at)?;
            let word = frame.le64(by + at)?;
            // SAFETY: `ptr` checked that the 8 bytes are inside the frame.
            unsafe { store_unaligned_u64(to, word) };
            at += 8;
        }
        // SAFETY: `ptr` checked that the 8 bytes are inside the frame.
        unsafe { store_unaligned_u64(last_to, last) };
        Some(())
    }
}

/// Makes the frame `end` bytes long, at its head if it grows and the headroom allows, else at
/// its end. Returns where the query's bytes now lie.
///
/// `Err(Skip::Pass)` leaves the frame as it was; `Err(Skip::Drop)` means it has changed.
#[inline(always)]
pub fn resize(ctx: &XdpContext, scratch: *mut Scratch, end: usize) -> Result<Shift, Skip> {
    let delta = end as i32 - Frame::new(ctx).len() as i32;
    if delta == 0 {
        return Ok(Shift::NONE);
    }
    if delta > 0 && delta as usize <= MAX_GROWTH {
        // SAFETY: the helper only moves the frame's start; callers re-read it with `Frame::new`.
        if unsafe { bpf_xdp_adjust_head(ctx.as_ptr().cast(), -delta) } == 0 {
            // Through map memory and bounded once more (see `maps::opaque`): the compiler knows
            // the bound from the test above and drops the frame's own offset checks on
            // `off + shift`, while the verifier, which tracks the helper's argument apart, does
            // not know it.
            // SAFETY: this CPU's scratch value, used only by this program run.
            let by = opaque(unsafe { &mut (*scratch).copy[0] }, delta as u32) as usize;
            if by > MAX_GROWTH {
                return Err(Skip::Drop);
            }
            return Ok(Shift(by));
        }
    }
    // SAFETY: the helper only moves the frame's end; callers re-read it with `Frame::new`.
    if unsafe { bpf_xdp_adjust_tail(ctx.as_ptr().cast(), delta) } == 0 {
        return Ok(Shift::NONE);
    }
    Err(SIZE)
}
