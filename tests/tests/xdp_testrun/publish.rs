//! Publishing while the program answers (`lbdns_common::publish`): after each publish of a
//! sequence, and during a stream of publishes, every name answers from its own current answer
//! set, whole. The maps are small, so ids, slots and name records are reused at once.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};

use lbdns::{
    compile::{compile, AddrType, HotRrset},
    maps::MapWriter,
    xdp::{FastPath, XdpConfig},
};
use lbdns_tests::wire::{self, Builder, Message};

use super::frame::{udp_frame, Layout, Vlan};
use crate::{test_run, v4_endpoints, Loaded, XDP_PASS, XDP_TX};

/// Few slots and name words: a sequence of publishes reuses them (and the ids and records)
/// quickly.
const CONFIG: XdpConfig = XdpConfig {
    dns_port: 53,
    rrset_entries: 16,
    // Three words per record ("nN.example.com."): two records more than four names of each
    // type take.
    name_bytes: 8 * 3 * 10,
    a_slots: 8,
    aaaa_slots: 8,
    signature_entries: 1,
    geo_chunks: 1,
    geo_v6_slots: 1,
    // Nothing here answers from prepared replies.
    negative_children: 1,
    fixed_replies: 1,
};

fn name(index: u8) -> String {
    format!("n{index}.example.com")
}

/// The addresses of name `index` at `version`: two of each family, which say whose they are.
fn addrs(index: u8, version: u8, qtype: AddrType) -> Vec<IpAddr> {
    (1..=2)
        .map(|host| match qtype {
            AddrType::A => IpAddr::V4(Ipv4Addr::new(10, index, version, host)),
            AddrType::Aaaa => IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                index.into(),
                version.into(),
                0,
                0,
                0,
                host.into(),
            )),
        })
        .collect()
}

/// The A and AAAA RRsets of each (name, version).
fn rrsets(names: &BTreeMap<u8, u8>) -> Vec<HotRrset> {
    names
        .iter()
        .flat_map(|(&index, &version)| {
            [AddrType::A, AddrType::Aaaa].map(|qtype| HotRrset {
                name: wire::name(&name(index)),
                qtype,
                ttl: 60,
                addrs: addrs(index, version, qtype).into(),
                schedule: Vec::new(),
                cap: None,
                signed: false,
                rrsigs: None,
            })
        })
        .collect()
}

fn publish(writer: &mut MapWriter, names: &BTreeMap<u8, u8>) -> lbdns::maps::PublishReport {
    writer
        .publish(&compile(rrsets(names)).expect("compiles").image)
        .expect("publish")
}

/// The addresses the program answers name `index` with, sorted, or `None` if it passes.
fn ask(fast: &FastPath, index: u8, qtype: AddrType) -> Option<Vec<IpAddr>> {
    let dns = Builder::query(7, &name(index), qtype.rr_type()).build();
    let (action, reply) = test_run(fast, &udp_frame(Vlan::None, v4_endpoints(53), &dns, 0));
    match action {
        XDP_PASS => None,
        XDP_TX => {
            let message = Message::parse(&reply[Layout::new(Vlan::None, false).dns..])
                .expect("the reply parses");
            let mut ips = message.answer_ips();
            ips.sort();
            Some(ips)
        }
        other => panic!("action {other} for {}", name(index)),
    }
}

/// Every name of `0..4` answers with exactly its version in `names`, or passes if absent.
fn assert_answers(fast: &FastPath, names: &BTreeMap<u8, u8>, after: &str) {
    for index in 0..4 {
        for qtype in [AddrType::A, AddrType::Aaaa] {
            let expected = names.get(&index).map(|&v| addrs(index, v, qtype));
            assert_eq!(
                ask(fast, index, qtype),
                expected,
                "{qtype:?} {} after {after}",
                name(index)
            );
        }
    }
}

/// One publish of a sequence: what it does, the (name, version) pairs it publishes, and whether
/// it must wait for a grace period.
type Publish = (&'static str, &'static [(u8, u8)], bool);

#[test]
fn each_name_answers_its_own_current_set_after_every_publish() {
    let mut loaded = Loaded::new(&CONFIG, &[]);
    let sequence: [Publish; 8] = [
        ("adding three names", &[(0, 0), (1, 0), (2, 0)], false),
        ("replacing n0's sets", &[(0, 1), (1, 0), (2, 0)], false),
        ("removing n1", &[(0, 1), (2, 0)], false),
        (
            "adding n3 (fresh numbers: n1's are retiring)",
            &[(0, 1), (2, 0), (3, 0)],
            false,
        ),
        (
            "removing n3, adding n1 and replacing n0 in one publish",
            &[(0, 2), (1, 1), (2, 0)],
            false,
        ),
        (
            "replacing every set (the slots run out: retiring ones are reused)",
            &[(0, 3), (1, 2), (2, 1)],
            true,
        ),
        ("removing every name", &[], false),
        (
            "adding four names (the records run out: retiring ones are reused)",
            &[(0, 4), (1, 4), (2, 4), (3, 4)],
            true,
        ),
    ];
    for (what, names, waits) in sequence {
        let names: BTreeMap<u8, u8> = names.iter().copied().collect();
        let report = publish(&mut loaded.writer, &names);
        assert_eq!(report.waited, waits, "{what}: {report:?}");
        assert_answers(&loaded.fast, &names, what);
    }
}

/// One thread publishes random changes while another queries: every reply is one whole answer
/// set of the name asked for. It runs until both enough publishes and enough answers happened,
/// so it does not depend on how long a grace period takes.
///
/// A smoke test of the real maps under concurrency: the races the protocol closes are
/// nanoseconds wide, so this seldom catches a broken order (it passed with the grace periods
/// skipped); the planning tests in `lbdns::maps::plan` check the order itself.
#[test]
fn queries_during_publishes_get_a_whole_set_of_their_own_name() {
    const PUBLISHES: usize = 300;
    const ANSWERS: u64 = 20_000;
    let Loaded { fast, mut writer } = Loaded::new(&CONFIG, &[]);
    let done = AtomicBool::new(false);
    let answered = AtomicU64::new(0);
    let publishes = std::thread::scope(|scope| {
        let querier = scope.spawn(|| {
            let mut index = 0;
            while !done.load(Ordering::Relaxed) {
                index = (index + 1) % 4;
                for qtype in [AddrType::A, AddrType::Aaaa] {
                    let Some(ips) = ask(&fast, index, qtype) else {
                        continue;
                    };
                    answered.fetch_add(1, Ordering::Relaxed);
                    let versions = (0..=u8::MAX).filter(|&v| addrs(index, v, qtype) == ips);
                    assert_eq!(
                        versions.count(),
                        1,
                        "{qtype:?} {} answered with {ips:?}",
                        name(index)
                    );
                }
            }
        });
        // Stops the querier however the publishing ends, a failed assertion included.
        let stop = StopOnDrop(&done);
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut publishes = 0;
        while publishes < PUBLISHES || answered.load(Ordering::Relaxed) < ANSWERS {
            let mut names = BTreeMap::new();
            for index in 0..4 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                if !rng.is_multiple_of(4) {
                    names.insert(index, (publishes % 200) as u8);
                }
            }
            publish(&mut writer, &names);
            publishes += 1;
        }
        drop(stop);
        querier.join().expect("querier");
        publishes
    });
    println!(
        "{} answers during {publishes} publishes, each from its own name",
        answered.into_inner()
    );
}

/// Sets the flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
