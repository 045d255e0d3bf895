//! The name table (`lbdns_common::names`) filled to the load it is sized for: with 6 names per
//! 8-entry bucket, many names find both their buckets full and entries move to make room. Every
//! name must still answer from its own set, through removals and additions, and names that are
//! not published, including ones that differ from a published name only in the type or a byte
//! past the first word, must pass.

use std::net::{IpAddr, Ipv4Addr};

use lbdns::{
    compile::{compile, AddrType, HotRrset},
    xdp::XdpConfig,
};
use lbdns_tests::wire::{self, Builder, Message};

use super::frame::{udp_frame, Layout, Vlan};
use crate::{test_run, v4_endpoints, Loaded, XDP_PASS, XDP_TX};

/// 96 names in 16 buckets of 8 entries: the table as full as its size allows.
const NAMES: u32 = 96;

const CONFIG: XdpConfig = XdpConfig {
    dns_port: 53,
    rrset_entries: NAMES,
    // Records of 4 and 5 words, and room to replace the shorter ones by longer ones.
    name_bytes: NAMES * 8 * 6,
    a_slots: NAMES,
    aaaa_slots: 1,
};

/// Name `index`: names of two and three words, sharing their first word.
fn name(index: u32) -> String {
    format!("host-{index}.crowded.example")
}

fn address(index: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, (index / 256) as u8, index as u8)
}

fn rrsets(indices: impl Iterator<Item = u32>) -> Vec<HotRrset> {
    indices
        .map(|index| HotRrset {
            name: wire::name(&name(index)),
            qtype: AddrType::A,
            ttl: 60,
            addrs: vec![IpAddr::V4(address(index))],
            schedule: Vec::new(),
            cap: None,
        })
        .collect()
}

/// The address the program answers `qname` with, or `None` if it passes.
fn ask(loaded: &Loaded, qname: &str, qtype: AddrType) -> Option<Vec<IpAddr>> {
    let dns = Builder::query(9, qname, qtype.rr_type()).build();
    let frame = udp_frame(Vlan::None, v4_endpoints(53), &dns, 0);
    match test_run(&loaded.fast, &frame) {
        (XDP_PASS, _) => None,
        (XDP_TX, reply) => {
            let dns = &reply[Layout::new(Vlan::None, false).dns..];
            Some(Message::parse(dns).expect("the reply parses").answer_ips())
        }
        (other, _) => panic!("action {other} for {qname}"),
    }
}

/// Names in `live` answer with their own address; the others pass.
fn assert_answers(loaded: &Loaded, live: &[u32], after: &str) {
    for index in 0..2 * NAMES {
        let expected = live
            .contains(&index)
            .then(|| vec![IpAddr::V4(address(index))]);
        let qname = name(index);
        assert_eq!(
            ask(loaded, &qname, AddrType::A),
            expected,
            "{qname} {after}"
        );
        assert_eq!(ask(loaded, &qname, AddrType::Aaaa), None, "{qname} AAAA");
    }
}

#[test]
fn a_full_table_answers_every_name_from_its_own_set() {
    let first: Vec<u32> = (0..NAMES).collect();
    let mut loaded = Loaded::new(&CONFIG, &rrsets(first.iter().copied()));
    assert_answers(&loaded, &first, "after the first publish");
    // A name past the last one published, and a published one with a changed last byte.
    assert_eq!(ask(&loaded, "host-0.crowded.examplf", AddrType::A), None);

    // Every other name replaced by one not yet seen: removals from either bucket, then
    // insertions into a table that is as full as before.
    let second: Vec<u32> = (0..NAMES)
        .map(|index| if index % 2 == 0 { index } else { NAMES + index })
        .collect();
    let image = compile(&rrsets(second.iter().copied()))
        .expect("compiles")
        .image;
    let report = loaded.writer.publish(&image).expect("publish");
    assert_eq!((report.removed, report.written), (48, 48));
    assert_answers(&loaded, &second, "after replacing half of the names");
}
