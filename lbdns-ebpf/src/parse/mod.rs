//! Decides, without writing anything, whether a packet is a query the fast path answers, and
//! collects what the reply needs.
//!
//! Each layer checks its own header and hands the next layer an offset: Ethernet ([`eth`]),
//! IPv4/IPv6 ([`ip`]), UDP ([`udp`]), then the DNS message ([`dns`]: header and question, with
//! [`name`] for the query name, [`opt`] for the EDNS record and [`ecs`] for its Client Subnet
//! option).

pub mod cookie;
pub mod dns;
pub mod ecs;
pub mod eth;
pub mod ip;
pub mod name;
pub mod opt;
pub mod udp;

use aya_ebpf::programs::XdpContext;

use crate::{
    frame::Frame,
    maps::{opaque, Scratch},
    verdict::{Skip, OTHER},
};

/// The largest IP header offset: two VLAN tags.
const MAX_L3_OFF: usize = 22;
/// The largest offset of an EDNS option in a frame the program answers (the frame's own bound).
pub const MAX_OPTION_OFFSET: usize = 4096;

/// A query the fast path may answer, if its name has a hot answer set.
pub struct Query {
    /// The network layer: where it starts and which version.
    pub ip: ip::Ip,
    /// Offset of the UDP header.
    pub udp_off: usize,
    /// The DNS message: header fields, question and EDNS.
    pub dns: dns::Message,
}

/// Parses every layer of `frame`. The query name goes to `scratch` (see [`dns::Message`]).
#[inline(always)]
pub fn query(ctx: &XdpContext, scratch: *mut Scratch) -> Result<Query, Skip> {
    let frame = &Frame::new(ctx);
    // SAFETY: this CPU's scratch value, used only by this program run.
    unsafe { (*scratch).source_family = 0 };
    let l3 = eth::parse(frame)?;
    let mut ip = ip::parse(frame, l3)?;
    let udp = udp::parse(frame, &ip)?;
    ip::source(frame, &ip, scratch);
    // From here on the code is the same for every VLAN and IP version: see `maps::opaque`.
    // SAFETY: this CPU's scratch value, used only by this program run.
    let offsets = unsafe { &mut (*scratch).layout };
    ip.off = opaque(&mut offsets[0], ip.off as u32) as usize;
    let udp_off = opaque(&mut offsets[1], ip.payload_off as u32) as usize;
    let dns_off = opaque(&mut offsets[2], udp.payload_off as u32) as usize;
    if ip.off > MAX_L3_OFF
        || udp_off > MAX_L3_OFF + ip::IPV6_HEADER_LEN
        || dns_off != udp_off + udp::UDP_HEADER_LEN
    {
        return Err(OTHER);
    }
    ip.v6 = opaque(&mut offsets[3], ip.v6 as u32) != 0;
    let dns_len = opaque(&mut offsets[4], udp.payload_len as u32) as usize;
    // A fresh view of the frame too: the verifier remembers how far each path checked the old
    // one, which differs with the headers' lengths.
    let frame = &Frame::new(ctx);
    let mut dns = dns::parse(frame, dns_off, dns_len, scratch)?;
    if let Some(edns) = &mut dns.edns {
        cookie::check(frame, &ip, &mut edns.cookie, scratch)?;
    }
    Ok(Query { ip, udp_off, dns })
}
