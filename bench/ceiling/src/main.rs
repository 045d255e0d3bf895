//! The benchmark's reference XDP programs.
//!
//! `ceiling` turns every DNS query into a "reply" by swapping the addresses (MAC, IP, UDP
//! ports), setting QR and sending the packet back with `XDP_TX`. It reads no map and builds no
//! answer, so no XDP responder can be faster on the same machine: the benchmark reports every
//! target as a fraction of it.
//!
//! `lookup_floor` does what `ceiling` does after two dependent reads at places the query name
//! picks: a bucket of one array, then an answer set of another, which the bucket's content
//! chooses (lbdns's own types, lbdns_common's `Bucket` and `AnswerSetV4`). The benchmark sizes the arrays like lbdns's name table and answer sets at a million
//! names, so the reads miss the caches and the TLB as any lookup of a name, then of its answer,
//! must: the least an XDP responder can spend per reply at that size, on this machine.
//!
//! `pass` returns `XDP_PASS` for everything. On a veth, a native-mode `XDP_TX` reaches the peer
//! only when the peer has an XDP program attached, so the benchmark puts this one on the client
//! end while dnsperf runs against any target, which keeps the client path the same for all.
//!
//! `count_replies` counts the replies to the benchmark's own saturating generator (for kernels
//! that refuse kxdpgun's XDP program; xtask's `bench::generator`): on the client end, it counts
//! and drops every UDP datagram from port 53 and passes anything else.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::{Array, PerCpuArray},
    programs::XdpContext,
};
use lbdns_common::{answer::AnswerSetV4, names::Bucket};

const ETH_LEN: usize = 14;
const ETH_P_IPV4: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
/// Only option-less IPv4 headers are reflected: a fixed header length keeps every offset a
/// constant the verifier can check, and a benchmark's queries carry no options.
const IPV4_LEN: usize = 20;
const IPV6_LEN: usize = 40;
const IPPROTO_UDP: u8 = 17;
const UDP_LEN: usize = 8;
const DNS_HEADER_LEN: usize = 12;
const DNS_PORT: u16 = 53;
/// The QR bit in the third octet of the DNS header.
const QR: u8 = 0x80;

#[xdp]
pub fn ceiling(ctx: XdpContext) -> u32 {
    reflected(&ctx)
}

/// The buckets the first read picks from, lbdns's name table buckets: [`BUCKETS`] entries, 1
/// unless the benchmark sizes it at load.
#[map]
static LOOKUP_BUCKETS: Array<Bucket> = Array::with_max_entries(1, 0);
/// The entries the second read picks from, lbdns's A answer sets: [`SETS`] entries, 1 unless
/// sized at load.
#[map]
static LOOKUP_SETS: Array<AnswerSetV4> = Array::with_max_entries(1, 0);
/// How many entries `LOOKUP_BUCKETS` has; set at load, with its size.
#[unsafe(no_mangle)]
static BUCKETS: u32 = 1;
/// How many entries `LOOKUP_SETS` has; set at load, with its size.
#[unsafe(no_mangle)]
static SETS: u32 = 1;

#[xdp]
pub fn lookup_floor(ctx: XdpContext) -> u32 {
    chase(&ctx);
    reflected(&ctx)
}

#[xdp]
pub fn pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

/// Replies `count_replies` has seen on this CPU.
#[map]
static REPLIES: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

#[xdp]
pub fn count_replies(ctx: XdpContext) -> u32 {
    if !from_dns_port(&ctx) {
        return xdp_action::XDP_PASS;
    }
    if let Some(replies) = REPLIES.get_ptr_mut(0) {
        // SAFETY: this CPU's value; XDP runs with preemption disabled.
        unsafe { *replies += 1 };
    }
    xdp_action::XDP_DROP
}

/// Whether the packet is a UDP datagram ([`datagram`]) from port 53.
#[inline(always)]
fn from_dns_port(ctx: &XdpContext) -> bool {
    datagram(ctx).is_some_and(|(_, _, udp)| u16::from_be_bytes([udp[0], udp[1]]) == DNS_PORT)
}

/// XDP_TX with the packet turned into its reflection ([`reflect`]), or XDP_PASS.
#[inline(always)]
fn reflected(ctx: &XdpContext) -> u32 {
    match reflect(ctx) {
        Some(()) => xdp_action::XDP_TX,
        None => xdp_action::XDP_PASS,
    }
}

/// The IP layer of a datagram, checked but not yet changed.
enum Ip<'a> {
    V4(&'a mut [u8; IPV4_LEN]),
    V6(&'a mut [u8; IPV6_LEN]),
}

impl Ip<'_> {
    /// Where the UDP header starts.
    fn udp_offset(&self) -> usize {
        ETH_LEN
            + match self {
                Ip::V4(_) => IPV4_LEN,
                Ip::V6(_) => IPV6_LEN,
            }
    }
}

/// The Ethernet, IP and UDP headers of a UDP datagram over IPv4 without options (and not a
/// fragment, other than a first-and-only one) or IPv6 without extension headers; `None` for
/// any other packet.
#[inline(always)]
fn datagram<'a>(
    ctx: &XdpContext,
) -> Option<(&'a mut [u8; ETH_LEN], Ip<'a>, &'a mut [u8; UDP_LEN])> {
    let eth = at::<ETH_LEN>(ctx, 0)?;
    let ip = match u16::from_be_bytes([eth[12], eth[13]]) {
        ETH_P_IPV4 => {
            let ip = at::<IPV4_LEN>(ctx, ETH_LEN)?;
            // Fragments other than a first-and-only one (MF set, or an offset) are left alone.
            let fragmented = ip[6] & 0x3f != 0 || ip[7] != 0;
            if ip[0] != 0x45 || ip[9] != IPPROTO_UDP || fragmented {
                return None;
            }
            Ip::V4(ip)
        }
        ETH_P_IPV6 => {
            let ip = at::<IPV6_LEN>(ctx, ETH_LEN)?;
            if ip[6] != IPPROTO_UDP {
                return None;
            }
            Ip::V6(ip)
        }
        _ => return None,
    };
    let udp = at::<UDP_LEN>(ctx, ip.udp_offset())?;
    Some((eth, ip, udp))
}

/// Turns a DNS query into its reflection in place, or returns `None`, having changed nothing,
/// for any other packet.
#[inline(always)]
fn reflect(ctx: &XdpContext) -> Option<()> {
    let (eth, ip, udp) = datagram(ctx)?;
    let dns = at::<DNS_HEADER_LEN>(ctx, ip.udp_offset() + UDP_LEN)?;
    if u16::from_be_bytes([udp[2], udp[3]]) != DNS_PORT || dns[2] & QR != 0 {
        return None;
    }

    // Every check has passed: from here on the packet becomes the reply. (A packet that is
    // passed on is unchanged.)
    swap(eth, 0, 6, 6);
    match ip {
        Ip::V4(ip) => swap(ip, 12, 16, 4),
        Ip::V6(ip) => swap(ip, 8, 24, 16),
    }
    swap(udp, 0, 2, 2);
    let old = u16::from_be_bytes([dns[2], dns[3]]);
    dns[2] |= QR;
    let new = u16::from_be_bytes([dns[2], dns[3]]);
    // Swapping addresses and ports leaves the one's-complement sum as it was; only the flags
    // word changed. Zero means "no checksum" (IPv4 only) and stays zero.
    let checksum = u16::from_be_bytes([udp[6], udp[7]]);
    if checksum != 0 {
        let [high, low] = checksum_update(checksum, old, new).to_be_bytes();
        udp[6] = high;
        udp[7] = low;
    }
    Some(())
}

/// The two dependent reads of `lookup_floor`: the bucket that the first 16 octets after the
/// IPv4 and UDP headers and the DNS header (the question name's, in a benchmark's queries)
/// hash to, then the entry that the hash and the bucket's first word pick. Reads nothing of a
/// shorter packet.
#[inline(always)]
fn chase(ctx: &XdpContext) {
    let Some(name) = at::<16>(ctx, ETH_LEN + IPV4_LEN + UDP_LEN + DNS_HEADER_LEN) else {
        return;
    };
    let [low, high] = [0, 8].map(|i| {
        let mut word = [0; 8];
        word.copy_from_slice(&name[i..i + 8]);
        u64::from_le_bytes(word)
    });
    let mut hash = (low ^ high.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    hash ^= hash >> 29;
    // SAFETY: reads of this program's own read-only globals.
    let (buckets, sets) = unsafe {
        (
            core::ptr::read_volatile(&BUCKETS),
            core::ptr::read_volatile(&SETS),
        )
    };
    let Some(bucket) = LOOKUP_BUCKETS.get(scale(hash, buckets)) else {
        return;
    };
    // SAFETY: a word of the map's value, which lives as long as the map; volatile, so that the
    // second read's index waits for it as a lookup's would.
    let word = unsafe { core::ptr::read_volatile(&bucket[0]) };
    if let Some(set) = LOOKUP_SETS.get(scale(hash.rotate_left(32) ^ word, sets)) {
        // SAFETY: as above; the value itself is not used.
        unsafe { core::ptr::read_volatile(&set.ttl) };
    }
}

/// A number below `n` from the high half of `hash` (multiply and shift: no division).
#[inline(always)]
fn scale(hash: u64, n: u32) -> u32 {
    (((hash >> 32) * u64::from(n)) >> 32) as u32
}

/// The `N` octets at `offset`, if the packet is long enough to hold them.
///
/// Callers take non-overlapping ranges (one per header), so the references never alias.
#[inline(always)]
fn at<'a, const N: usize>(ctx: &XdpContext, offset: usize) -> Option<&'a mut [u8; N]> {
    let start = ctx.data() + offset;
    if start + N > ctx.data_end() {
        return None;
    }
    // SAFETY: the range lies inside the packet, which stays mapped and unmoved for the whole
    // run of the program (nothing here adjusts its head or tail).
    Some(unsafe { &mut *(start as *mut [u8; N]) })
}

/// Swaps the `len` octets at `a` with those at `b`.
#[inline(always)]
fn swap<const N: usize>(bytes: &mut [u8; N], a: usize, b: usize, len: usize) {
    for i in 0..len {
        bytes.swap(a + i, b + i);
    }
}

/// RFC 1624 (eqn. 3): the checksum after one 16-bit word changed from `old` to `new`,
/// `~(~HC + ~m + m')`. A UDP checksum that comes out zero is sent as all ones (RFC 768).
#[inline(always)]
fn checksum_update(checksum: u16, old: u16, new: u16) -> u16 {
    let mut sum = u32::from(!checksum) + u32::from(!old) + u32::from(new);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    match !(sum as u16) {
        0 => 0xffff,
        updated => updated,
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
