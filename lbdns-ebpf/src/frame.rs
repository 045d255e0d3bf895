//! Bounds-checked access to the packet.

use aya_ebpf::programs::XdpContext;

/// Offsets larger than this are rejected before any pointer arithmetic, which gives the
/// verifier an upper bound for every variable offset. An XDP frame without fragments lives in
/// one page.
const MAX_OFFSET: usize = 4096;

/// The packet as the byte range `[start, end)`.
#[derive(Clone, Copy)]
pub struct Frame {
    start: usize,
    end: usize,
}

impl Frame {
    /// The frame as it is now. Build a new one after `bpf_xdp_adjust_tail`: it moves the end and
    /// the verifier forgets every earlier bounds check.
    #[inline(always)]
    pub fn new(ctx: &XdpContext) -> Self {
        Self {
            start: ctx.data(),
            end: ctx.data_end(),
        }
    }

    /// Frame length in bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// A pointer to a `T` at `off`, if the whole `T` is inside the frame.
    #[inline(always)]
    pub fn ptr<T>(&self, off: usize) -> Option<*mut T> {
        if off > MAX_OFFSET {
            return None;
        }
        let at = self.start + off;
        if at + core::mem::size_of::<T>() > self.end {
            return None;
        }
        Some(at as *mut T)
    }

    /// The byte at `off`, if the frame also holds the byte after it.
    ///
    /// For a one-byte check LLVM turns `at + 1 > end` into `at >= end`, from which the verifier
    /// learns no readable range, so this checks two bytes. Every byte the program reads alone
    /// (a name byte, a version or protocol field) is followed by bytes the message needs anyway.
    #[inline(always)]
    pub fn u8(&self, off: usize) -> Option<u8> {
        // SAFETY: `ptr` checked that both bytes are inside the frame.
        self.ptr::<[u8; 2]>(off).map(|p| unsafe { (*p)[0] })
    }

    /// A pointer to the byte at `off`, if it is inside the frame: for a byte written where
    /// nothing follows it, so that [`Self::u8`]'s two-byte check would fail. The byte's end
    /// goes through [`hide`], so that LLVM cannot turn `at + 1 > end` into `at >= end`, from
    /// which the verifier learns no writable range (found in this project: the NSID's last
    /// bytes).
    #[inline(always)]
    pub fn last_byte(&self, off: usize) -> Option<*mut u8> {
        if off > MAX_OFFSET {
            return None;
        }
        let at = self.start + off;
        if hide(at + 1) > self.end {
            return None;
        }
        Some(at as *mut u8)
    }

    /// The big-endian `u16` at `off`.
    #[inline(always)]
    pub fn be16(&self, off: usize) -> Option<u16> {
        // SAFETY: `ptr` checked that both bytes are inside the frame.
        self.ptr::<u16>(off)
            .map(|p| u16::from_be(unsafe { load_unaligned_u16(p) }))
    }

    /// The 8 bytes at `off` as a little-endian `u64`, in one load whatever their alignment.
    #[inline(always)]
    pub fn le64(&self, off: usize) -> Option<u64> {
        // SAFETY: `ptr` checked that the 8 bytes are inside the frame.
        self.ptr::<u64>(off)
            .map(|p| unsafe { load_unaligned_u64(p) })
    }

    /// The 4 bytes at `off` as a little-endian `u32`, in one load whatever their alignment.
    #[inline(always)]
    pub fn le32(&self, off: usize) -> Option<u32> {
        // SAFETY: `ptr` checked that the 4 bytes are inside the frame.
        self.ptr::<u32>(off)
            .map(|p| unsafe { load_unaligned_u32(p) })
    }

    /// The 8 bytes at `off` and the 4 at `off + SECOND`, as little-endian words, under one check
    /// that the `N` bytes at `off` are inside the frame: a header's fields read whole, each
    /// big-endian field byte-swapped in its place.
    #[inline(always)]
    pub fn header_words<const N: usize, const SECOND: usize>(
        &self,
        off: usize,
    ) -> Option<(u64, u32)> {
        const { assert!(N >= 8 && SECOND + 4 <= N) };
        let header = self.bytes::<N>(off)?.as_ptr();
        // SAFETY: `bytes` checked that the `N` bytes, which hold both words, are inside the
        // frame.
        unsafe {
            Some((
                load_unaligned_u64(header.cast()),
                load_unaligned_u32(header.add(SECOND).cast()),
            ))
        }
    }

    /// The `N` bytes at `off`, checked once.
    ///
    /// Writers take a whole header this way instead of checking each field: with several checks
    /// on one base pointer, LLVM may rewrite `at + 4 > end` as `at > end - 4`, arithmetic on the
    /// end pointer that the verifier rejects.
    #[inline(always)]
    #[expect(
        clippy::mut_from_ref,
        reason = "a view of packet memory, which this program run owns; each writer takes its \
                  header once"
    )]
    pub fn bytes<const N: usize>(&self, off: usize) -> Option<&mut [u8; N]> {
        // SAFETY: `ptr` checked that the `N` bytes are inside the frame; the caller holds no other
        // reference to them (each writer takes its own header once).
        self.ptr::<[u8; N]>(off).map(|p| unsafe { &mut *p })
    }
}

/// Loads the `u64` at `p`, which need not be aligned, with one BPF load.
///
/// Without LLVM's `allows-misaligned-mem-access` feature, `read_unaligned` becomes eight byte
/// loads. The kernel allows misaligned packet loads where the CPU does (x86, arm64), and the
/// verifier checks this one like any other.
///
/// # Safety
///
/// `p` must point at 8 readable bytes.
#[inline(always)]
pub unsafe fn load_unaligned_u64(p: *const u64) -> u64 {
    let value: u64;
    // SAFETY: the caller's; the instruction only reads `*p`.
    unsafe {
        core::arch::asm!(
            "{value} = *(u64 *)({p} + 0)",
            p = in(reg) p,
            value = lateout(reg) value,
            options(pure, readonly, nostack, preserves_flags),
        );
    }
    value
}

/// Stores `value` at `p`, which need not be aligned, with one BPF store. See
/// [`load_unaligned_u64`].
///
/// # Safety
///
/// `p` must point at 8 writable bytes that nothing else references.
#[inline(always)]
pub unsafe fn store_unaligned_u64(p: *mut u64, value: u64) {
    // SAFETY: the caller's; the instruction only writes `*p`.
    unsafe {
        core::arch::asm!(
            "*(u64 *)({p} + 0) = {value}",
            p = in(reg) p,
            value = in(reg) value,
            options(nostack, preserves_flags),
        );
    }
}

/// Stores `value` at `p`, which need not be aligned, with one BPF store. See
/// [`load_unaligned_u64`].
///
/// # Safety
///
/// `p` must point at 4 writable bytes that nothing else references.
#[inline(always)]
pub unsafe fn store_unaligned_u32(p: *mut u32, value: u32) {
    // SAFETY: the caller's; the instruction only writes `*p`.
    unsafe {
        core::arch::asm!(
            "*(u32 *)({p} + 0) = {value}",
            p = in(reg) p,
            value = in(reg) value,
            options(nostack, preserves_flags),
        );
    }
}

/// Loads the `u16` at `p`, which need not be aligned, with one BPF load. See
/// [`load_unaligned_u64`].
///
/// # Safety
///
/// `p` must point at 2 readable bytes.
#[inline(always)]
pub unsafe fn load_unaligned_u16(p: *const u16) -> u16 {
    let value: u16;
    // SAFETY: the caller's; the instruction only reads `*p`.
    unsafe {
        core::arch::asm!(
            "{value} = *(u16 *)({p} + 0)",
            p = in(reg) p,
            value = lateout(reg) value,
            options(pure, readonly, nostack, preserves_flags),
        );
    }
    value
}

/// Loads the `u32` at `p`, which need not be aligned, with one BPF load. See
/// [`load_unaligned_u64`].
///
/// # Safety
///
/// `p` must point at 4 readable bytes.
#[inline(always)]
pub unsafe fn load_unaligned_u32(p: *const u32) -> u32 {
    let value: u32;
    // SAFETY: the caller's; the instruction only reads `*p`.
    unsafe {
        core::arch::asm!(
            "{value} = *(u32 *)({p} + 0)",
            p = in(reg) p,
            value = lateout(reg) value,
            options(pure, readonly, nostack, preserves_flags),
        );
    }
    value
}

/// Stores `value` at `p`, which need not be aligned, with one BPF store. See
/// [`load_unaligned_u64`].
///
/// # Safety
///
/// `p` must point at 2 writable bytes that nothing else references.
#[inline(always)]
pub unsafe fn store_unaligned_u16(p: *mut u16, value: u16) {
    // SAFETY: the caller's; the instruction only writes `*p`.
    unsafe {
        core::arch::asm!(
            "*(u16 *)({p} + 0) = {value}",
            p = in(reg) p,
            value = in(reg) value,
            options(nostack, preserves_flags),
        );
    }
}

/// Returns `value`, which the compiler can no longer relate to how it was computed: a barrier
/// against rewrites that the verifier cannot follow. One register move (an empty sequence would
/// give two instructions' line information the same offset, which the kernel rejects).
#[inline(always)]
pub fn hide(mut value: usize) -> usize {
    // SAFETY: an empty instruction sequence that leaves its one register as it is.
    unsafe {
        core::arch::asm!(
            "{value} = {value}",
            value = inout(reg) value,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    value
}
