//! The lbdns XDP program.
//!
//! Placeholder until the DNS fast path lands: it passes every packet to the kernel stack, so
//! the build pipeline (`cargo xtask build-ebpf`, embedding in the `lbdns` binary) can be
//! exercised end to end.
#![no_std]
#![no_main]

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};

/// Entry point attached to the interface: hands every packet on to the kernel stack.
#[xdp]
pub fn lbdns(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
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
