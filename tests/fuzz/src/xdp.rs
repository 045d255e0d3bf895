//! The XDP program under BPF_PROG_TEST_RUN, its maps filled by the daemon's own publish from
//! the TestRun fixture's catalog, each frame's verdict judged against the socket path:
//!
//! - XDP_TX: the reply's Ethernet, IP and UDP headers answer the query's
//!   (`frame::check_reply_headers`), and its DNS message is the socket path's reply to the same
//!   query from the same client, apart from where the answer RRset's rotation starts
//!   (`oracle::assert_same_reply`);
//! - XDP_PASS: the frame is left as it came;
//! - anything else (XDP_DROP, XDP_ABORTED, a redirect) is a failure.
//!
//! libFuzzer sees the coverage of this harness and of the socket path it compares with, not of
//! the BPF program: inputs that take the socket path's parser somewhere new are kept, and most
//! of what the program branches on (flags, EDNS, options, names) the parser branches on too.
//!
//! Input: one selector octet, then either a DNS message or a whole frame. Selector bits 0–1:
//! 0, 1, 2 frame the message as UDP to port 53 untagged, 802.1Q or QinQ; 3 takes the rest as
//! the frame itself. Bit 2: IPv6 rather than IPv4. Bit 3: a UDP checksum the program must
//! ignore instead of none. Frames are mutated valid queries this way, with their lengths and
//! IP checksum right, or mutated at any layer.

use std::{net::IpAddr, time::Duration};

use aya::programs::{TestRun as _, TestRunOptions};
use lbdns::{
    authority::{respond, Client, Transport},
    ebpf_object,
    maps::MapWriter,
    served::Xdp,
    xdp::{FastPath, XdpConfig},
};

use crate::{
    fixture,
    frame::{check_reply_headers, udp_frame, Endpoints, Layout, Vlan},
    oracle::assert_same_reply,
};

const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;

/// BPF_PROG_TEST_RUN takes no XDP frame shorter than an Ethernet header.
const MIN_FRAME: usize = 14;
/// A full-size Ethernet frame with two VLAN tags; larger ones are not what a NIC hands XDP.
const MAX_FRAME: usize = 1522;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: [u16; 2] = [0x8100, 0x88a8];

/// The program loaded and published, and the writer whose maps it reads.
struct Harness {
    fast: FastPath,
    /// Kept for the maps' lifetime and their heartbeat.
    _writer: MapWriter,
}

impl Harness {
    fn new() -> Self {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            panic!("the xdp fuzz target and its replay need root for BPF_PROG_TEST_RUN");
        }
        let fast = FastPath::load(ebpf_object::PROGRAM, &XdpConfig::default())
            .unwrap_or_else(|error| panic!("loading the XDP program: {error}"));
        let mut xdp = Xdp::new(fast).unwrap_or_else(|error| panic!("{error:#}"));
        crate::with_catalog(|catalog| xdp.publish(catalog))
            .unwrap_or_else(|error| panic!("{error:#}"));
        let (fast, writer) = xdp.into_parts();
        // No staleness limit: a long run must not turn answers into passes. Then the socket
        // path's fixed clock (`fixture::cookies`), so both stamp cookies alike: a beat sets the
        // program's wall clock to the real time.
        writer.heartbeat().beat(Duration::ZERO);
        writer.heartbeat().set_wall_clock(fixture::COOKIE_NOW);
        Self {
            fast,
            _writer: writer,
        }
    }

    /// The program's action on `frame` and the frame it left.
    fn run(&self, frame: &[u8]) -> (u32, Vec<u8>) {
        let mut out = vec![0; 4096];
        let result = self
            .fast
            .program()
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ..TestRunOptions::new()
            })
            .unwrap_or_else(|error| panic!("BPF_PROG_TEST_RUN on {} octets: {error}", frame.len()));
        out.truncate(result.data_size_out as usize);
        (result.return_value, out)
    }
}

thread_local! {
    static HARNESS: Harness = Harness::new();
}

/// The frame the input stands for (see the module's documentation).
pub fn frame(data: &[u8]) -> Option<Vec<u8>> {
    let (&selector, rest) = data.split_first()?;
    let frame = match selector & 3 {
        3 => rest.to_vec(),
        tags => {
            let vlan = [Vlan::None, Vlan::Dot1q, Vlan::Dot1ad][usize::from(tags)];
            let checksum = if selector & 8 == 0 { 0 } else { 0x5a5a };
            udp_frame(vlan, endpoints(selector & 4 != 0), rest, checksum)
        }
    };
    (MIN_FRAME..=MAX_FRAME)
        .contains(&frame.len())
        .then_some(frame)
}

/// The selector and DNS message that stand for `frame`, when it is a UDP datagram as
/// [`frame`] builds them (untagged, 802.1Q or QinQ; IPv4 without options, or IPv6): how the
/// seed corpus holds the queries that mutations should keep well framed.
pub fn message_seed(frame: &[u8]) -> Option<Vec<u8>> {
    let layout = layout(frame)?;
    let tags = (layout.l3 - 14) / 4;
    if !layout.v6 && layout.l4 != layout.l3 + 20 {
        return None;
    }
    let selector = tags as u8 | if layout.v6 { 4 } else { 0 };
    let mut seed = vec![selector];
    seed.extend_from_slice(&frame[layout.dns..]);
    Some(seed)
}

fn endpoints(v6: bool) -> Endpoints {
    let (client, server): (IpAddr, IpAddr) = if v6 {
        (
            "2001:db8:c::7".parse().expect("literal"),
            "2001:db8::53".parse().expect("literal"),
        )
    } else {
        (
            "192.0.2.7".parse().expect("literal"),
            "198.18.0.53".parse().expect("literal"),
        )
    };
    Endpoints {
        client,
        server,
        client_port: 40000,
        server_port: 53,
    }
}

/// Runs the program on the frame `data` stands for and judges its verdict.
pub fn check(data: &[u8]) {
    let Some(frame) = frame(data) else {
        return;
    };
    let (action, out) = HARNESS.with(|harness| harness.run(&frame));
    match action {
        XDP_PASS => assert!(out == frame, "XDP_PASS changed the frame"),
        XDP_TX => check_answer(&frame, &out),
        other => panic!("action {other} (only XDP_TX and XDP_PASS are allowed)"),
    }
}

/// An XDP_TX reply: headers that answer the query's, and the socket path's DNS reply.
fn check_answer(query: &[u8], reply: &[u8]) {
    let layout = layout(query).expect("answered a frame that is not Ethernet, IP and UDP");
    let udp_len = usize::from(u16::from_be_bytes([
        query[layout.l4 + 4],
        query[layout.l4 + 5],
    ]));
    let query_dns = query
        .get(layout.dns..layout.l4 + udp_len)
        .expect("answered a datagram whose UDP length does not fit the frame");
    let reply_dns = check_reply_headers("xdp", query, reply, layout);
    let client = Client::new(layout.source(query), Transport::Udp);
    let expected = crate::with_catalog(|catalog| respond(catalog, query_dns, client))
        .expect("answered a query the socket path does not answer");
    assert_same_reply("xdp", reply_dns, &expected);
}

/// Where the layers of an Ethernet, IP and UDP `frame` start, found from its own headers.
fn layout(frame: &[u8]) -> Option<Layout> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]));
    let mut l3 = 14;
    let mut ether_type = be16(12)?;
    while ETHERTYPE_VLAN.contains(&ether_type) && l3 < 22 {
        ether_type = be16(l3 + 2)?;
        l3 += 4;
    }
    let (l4, v6) = match ether_type {
        ETHERTYPE_IPV4 => (l3 + usize::from(frame.get(l3)? & 0x0f) * 4, false),
        ETHERTYPE_IPV6 => (l3 + 40, true),
        _ => return None,
    };
    (frame.len() >= l4 + 8).then_some(Layout {
        l3,
        l4,
        dns: l4 + 8,
        v6,
    })
}
