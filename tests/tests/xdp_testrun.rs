//! The XDP program under BPF_PROG_TEST_RUN: no interface, no namespace, the real object with its
//! maps filled through `lbdns::compile` and `lbdns::maps` from the catalog of the test zones
//! (`fixture`), and every reply it sends compared with the socket path's answer to the same
//! query from the same catalog (`oracle`).
//!
//! The object is the one embedded in the `lbdns` library (`lbdns::ebpf_object`). Needs root (or
//! CAP_BPF and CAP_NET_ADMIN); without it the tests fail and say so.

#[path = "support/peer.rs"]
mod peer;
mod xdp_testrun {
    pub mod changes;
    pub mod cookies;
    pub mod corpus;
    pub mod ecs;
    pub mod fixed;
    pub mod fixture;
    pub use lbdns_tests::frame;
    pub mod names;
    pub mod negative;
    pub mod oracle;
    pub mod pools;
    pub mod publish;
    pub mod rrl;
    pub mod signatures;
}

use std::time::Duration;

use aya::programs::{TestRun, TestRunOptions};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use lbdns::{
    authority::{Catalog, ServerIdentity},
    compile::{self, compile, HotRrset},
    ebpf_object,
    maps::MapWriter,
    served::Xdp,
    xdp::{AttachMode, Counters, FastPath, XdpConfig, XdpError},
};
use lbdns_common::{counters::Counter, maps, prepared::PREPARED_ON};
use lbdns_tests::env::pin_to_cpu0;
use lbdns_tests::{
    client::{udp_recv, udp_socket},
    wire::{self, flag, rtype, Builder},
    Topology,
};
use peer::PeerProgram;
use xdp_testrun::{
    corpus::{corpus, Case, Expect},
    fixture::{
        self, catalog, hot_rrsets, length_names, long_names, SECURE_MANY, SECURE_ONE, SIGNED,
    },
    frame::{check_reply_headers, udp_frame, Endpoints, Layout, Vlan},
    names::program_array,
    oracle::{assert_same_reply, Oracle, SocketOracle},
};

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;

/// The program, loaded with `config`, its maps holding `rrsets`.
struct Loaded {
    fast: FastPath,
    writer: MapWriter,
}

impl Loaded {
    fn new(config: &XdpConfig, rrsets: &[HotRrset]) -> Self {
        let mut fast = load(config);
        let mut writer = fast.map_writer().expect("map writer");
        writer
            .publish(&compile(rrsets.to_vec()).expect("fixture compiles").image)
            .expect("publish");
        writer
            .publish_cookies(fixture::cookies().secrets())
            .expect("publish the cookie secrets");
        writer.heartbeat().set_wall_clock(fixture::COOKIE_NOW);
        Self { fast, writer }
    }

    /// The program with its maps filled from `catalog` by the daemon's own publish
    /// (`served::Xdp::publish`: hot RRsets, compile, map writer, NSID).
    fn publishing(catalog: &Catalog) -> Self {
        let mut xdp = Xdp::new(load(&XdpConfig::default())).expect("map writer");
        xdp.publish(catalog)
            .unwrap_or_else(|error| panic!("{error:#}"));
        let (fast, writer) = xdp.into_parts();
        // The socket path's fixed clock (`fixture::cookies`), so both stamp cookies alike.
        writer.heartbeat().set_wall_clock(fixture::COOKIE_NOW);
        Self { fast, writer }
    }

    /// Runs the program once on `frame`: the action and the frame it left.
    fn run(&self, frame: &[u8]) -> (u32, Vec<u8>) {
        test_run(&self.fast, frame)
    }

    fn counters(&self) -> Counters {
        self.fast.counters().expect("counters")
    }
}

/// The program, loaded with `config`, its maps empty.
fn load(config: &XdpConfig) -> FastPath {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        panic!("xdp_testrun needs root for BPF_PROG_TEST_RUN: run `cargo xtask test` (or sudo -E cargo test)");
    }
    FastPath::load(ebpf_object::PROGRAM, config).unwrap_or_else(|error| panic!("{error}"))
}

/// Runs the program once on `frame`: the action and the frame it left.
fn test_run(fast: &FastPath, frame: &[u8]) -> (u32, Vec<u8>) {
    let mut out = vec![0; 4096];
    let result = fast
        .program()
        .test_run(TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut out),
            ..TestRunOptions::new()
        })
        .expect("BPF_PROG_TEST_RUN");
    out.truncate(result.data_size_out as usize);
    (result.return_value, out)
}

/// The counter that moved between two readings; exactly one must move per packet.
fn moved(before: &Counters, after: &Counters) -> Counter {
    let moved: Vec<(Counter, u64)> = after
        .iter()
        .zip(before.iter())
        .filter(|((_, a), (_, b))| a != b)
        .map(|((counter, a), (_, b))| (counter, a - b))
        .collect();
    assert!(
        matches!(moved[..], [(_, 1)]),
        "one packet must move one counter by one, moved {moved:?}"
    );
    moved[0].0
}

/// Runs one case and checks its verdict; answered cases are checked against `oracle`.
fn check(loaded: &Loaded, oracle: &mut dyn Oracle, case: &Case) -> Counter {
    let before = loaded.counters();
    let (action, out) = loaded.run(&case.frame);
    let counter = moved(&before, &loaded.counters());
    let what = &case.what;
    let fixed = matches!(
        case.expect,
        Expect::Pass(Counter::PassMiss | Counter::PassType)
    ) && counter == Counter::AnsweredFixed;
    let expect = if fixed {
        Expect::Fixed(Layout::of(&case.frame))
    } else {
        case.expect
    };
    match expect {
        Expect::Pass(reason) | Expect::PassNotFixed(reason) => {
            assert_eq!((action, counter), (XDP_PASS, reason), "{what}");
            assert_eq!(
                out, case.frame,
                "{what}: XDP_PASS must leave the frame unchanged"
            );
        }
        Expect::PassAny => {
            assert_eq!(action, XDP_PASS, "{what}");
            assert!(
                counter.name().starts_with("pass_"),
                "{what}: counted as {counter:?}"
            );
            assert_eq!(
                out, case.frame,
                "{what}: XDP_PASS must leave the frame unchanged"
            );
        }
        Expect::Answer(layout) | Expect::Nxdomain(layout) | Expect::Fixed(layout) => {
            assert_eq!(action, XDP_TX, "{what}: counted as {counter:?}");
            let kind = match expect {
                Expect::Nxdomain(_) => Kind::Nxdomain,
                Expect::Fixed(_) => Kind::Fixed,
                _ => Kind::Answer,
            };
            let reply = Reply {
                layout,
                counter,
                kind,
            };
            check_answer(what, oracle, &case.frame, &out, reply);
        }
    }
    counter
}

/// What an answered case's reply must be: where its layers are, the counter it moved, and
/// what kind of reply it is.
struct Reply {
    layout: Layout,
    counter: Counter,
    kind: Kind,
}

/// Where an answered case's reply comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An answer set.
    Answer,
    /// A zone's NXDOMAIN.
    Nxdomain,
    /// A fixed reply: NOERROR, AA as the socket path sets it (not in a referral).
    Fixed,
}

fn check_answer(what: &str, oracle: &mut dyn Oracle, query: &[u8], reply: &[u8], expect: Reply) {
    let Reply {
        layout,
        counter,
        kind,
    } = expect;
    let query_dns = &query[layout.dns
        ..layout.l4
            + usize::from(u16::from_be_bytes([
                query[layout.l4 + 4],
                query[layout.l4 + 5],
            ]))];
    let reply_dns = check_reply_headers(what, query, reply, layout);

    // Decoded by hickory, an implementation independent of the program and of the harness.
    let message = Message::from_vec(reply_dns)
        .unwrap_or_else(|e| panic!("{what}: reply does not parse: {e}"));
    // The harness's own decoder, which leaves EDNS option contents alone: some queries carry
    // options that hickory rejects.
    let query_message = wire::Message::parse(query_dns).expect("query parses");
    let query_flags = query_message.header.flags;
    let meta = &message.metadata;
    assert_eq!(meta.message_type, MessageType::Response, "{what}");
    assert!(meta.authoritative || kind == Kind::Fixed, "{what}: AA");
    let rcode = if kind == Kind::Nxdomain {
        ResponseCode::NXDomain
    } else {
        ResponseCode::NoError
    };
    assert_eq!(meta.response_code, rcode, "{what}");
    assert_eq!(meta.id, query_message.header.id, "{what}: ID");
    assert_eq!(
        (meta.recursion_desired, meta.checking_disabled),
        (query_flags & flag::RD != 0, query_flags & flag::CD != 0),
        "{what}: RD and CD copied"
    );
    assert!(
        !meta.recursion_available && !meta.authentic_data,
        "{what}: RA and AD clear"
    );
    let name_len = wire::name(&query_message.questions[0].name).len();
    let question_end = 12 + name_len + 4;
    assert_eq!(
        reply_dns[12..question_end],
        query_dns[12..question_end],
        "{what}: question echoed byte for byte"
    );
    assert_eq!(
        message.edns.is_some(),
        query_message.edns.is_some(),
        "{what}: OPT iff the query had one"
    );
    let expected_counter = match (query_message.questions[0].qtype, kind) {
        (_, Kind::Fixed) => Counter::AnsweredFixed,
        (rtype::A, Kind::Answer) => Counter::AnsweredA,
        (_, Kind::Answer) => Counter::AnsweredAaaa,
        (rtype::A, Kind::Nxdomain) => Counter::NxdomainA,
        (_, Kind::Nxdomain) => Counter::NxdomainAaaa,
    };
    assert_eq!(counter, expected_counter, "{what}");
    assert_same_reply(
        what,
        reply_dns,
        &oracle.expected_reply(layout.source(query), query_dns),
    );
}

#[test]
fn corpus_of_generated_packets() {
    pin_to_cpu0().expect("pin to CPU 0");
    let catalog = catalog();
    let loaded = Loaded::publishing(&catalog);
    let mut oracle = SocketOracle::new(catalog);
    let cases = corpus();
    assert!(cases.len() >= 500, "corpus has {} cases", cases.len());
    let mut seen = std::collections::BTreeMap::new();
    for case in &cases {
        *seen.entry(check(&loaded, &mut oracle, case)).or_insert(0) += 1;
    }
    // A stale heartbeat is a state of the maps, not of a packet: its own test below.
    for counter in Counter::ALL {
        // Rate limiting is off for the corpus: its own tests in `rrl`.
        if counter != Counter::Dropped
            && counter != Counter::PassStale
            && counter != Counter::RateLimited
        {
            assert!(
                seen.contains_key(&counter),
                "no case exercised {counter:?}: {seen:?}"
            );
        }
    }
    println!("{} cases: {seen:?}", cases.len());
    if std::env::var_os(WRITE_FUZZ_SEEDS).is_some() {
        write_fuzz_seeds(&cases);
    }
}

/// Set, the corpus test also writes its cases as seeds of the fuzz targets.
const WRITE_FUZZ_SEEDS: &str = "LBDNS_WRITE_FUZZ_SEEDS";

/// The corpus as fuzz seeds (tests/fuzz/seeds/), few enough to check in: each UDP query's DNS
/// message, framed by the target, for the xdp and respond targets, one per kind (messages
/// that differ only in ID, letter case, RD, AD or CD are one kind; libFuzzer varies those at
/// once); the frames that are not such a query whole for the xdp target (selector 3); the
/// malformed-query corpus for the respond target.
fn write_fuzz_seeds(cases: &[Case]) {
    use lbdns_fuzz::{seeds, xdp};
    let write = |target: &str, octets: &[u8]| {
        seeds::write(target, octets).unwrap_or_else(|error| panic!("{target} seed: {error}"))
    };
    let mut kinds = std::collections::HashSet::new();
    for case in cases {
        let Some(seed) = xdp::message_seed(&case.frame) else {
            write("xdp", &[&[3], &case.frame[..]].concat());
            continue;
        };
        let mut kind = seed[1..].to_ascii_lowercase();
        if kind.len() >= 4 {
            kind[..2].fill(0);
            kind[2] &= !0x01;
            kind[3] &= !0x30;
        }
        if kinds.insert(kind) {
            write("xdp", &seed);
            write("respond", &[&[0], &seed[1..]].concat());
        }
    }
    for case in lbdns_tests::malformed::corpus() {
        write("respond", &[&[0], &case.packet[..]].concat());
    }
}

/// A daemon that stopped beating (dead, hung, SIGSTOPped) leaves answers that may be stale:
/// once its heartbeat is older than the limit it set, the program passes every query
/// unchanged; a fresh beat, or no limit, and it answers again.
#[test]
fn a_stale_heartbeat_passes_every_query_unchanged() {
    pin_to_cpu0().expect("pin to CPU 0");
    let catalog = catalog();
    let loaded = Loaded::publishing(&catalog);
    let mut oracle = SocketOracle::new(catalog);
    let hot = corpus()
        .into_iter()
        .find(|case| matches!(case.expect, Expect::Answer(_)))
        .expect("the corpus has answered cases");
    let heartbeat = loaded.writer.heartbeat();
    // A limit of 1 ms, then 20 ms without a beat: several ticks of the coarse clock.
    heartbeat.beat(Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(20));
    let stale = Case {
        expect: Expect::Pass(Counter::PassStale),
        ..hot.clone()
    };
    assert_eq!(check(&loaded, &mut oracle, &stale), Counter::PassStale);
    heartbeat.beat(Duration::from_secs(10));
    assert_ne!(check(&loaded, &mut oracle, &hot), Counter::PassStale);
    heartbeat.beat(Duration::ZERO);
    std::thread::sleep(Duration::from_millis(20));
    assert_ne!(check(&loaded, &mut oracle, &hot), Counter::PassStale);
}

/// While `PREPARED_STATE` is off, as during a publish that replaces or removes elements of the
/// prepared replies' maps (`lbdns_common::prepared`), a name the zone lacks and a query with a
/// fixed reply go to the socket path; once it is on again the program answers both.
#[test]
fn prepared_replies_wait_while_their_elements_change() {
    pin_to_cpu0().expect("pin to CPU 0");
    let catalog = catalog();
    let loaded = Loaded::publishing(&catalog);
    let mut oracle = SocketOracle::new(catalog);
    let layout = Layout::new(Vlan::None, false);
    let case = |name: &str, qtype, expect| Case {
        what: format!("{name} type {qtype}"),
        frame: udp_frame(
            Vlan::None,
            v4_endpoints(53),
            &Builder::query(9, name, qtype).build(),
            0,
        ),
        expect,
    };
    let cases = [
        (
            case("absent.example.com", rtype::A, Expect::Nxdomain(layout)),
            case(
                "absent.example.com",
                rtype::A,
                Expect::PassNotFixed(Counter::PassMiss),
            ),
        ),
        (
            case("example.com", rtype::MX, Expect::Fixed(layout)),
            case(
                "example.com",
                rtype::MX,
                Expect::PassNotFixed(Counter::PassType),
            ),
        ),
    ];
    let mut state = program_array::<u32>(&loaded, maps::PREPARED_STATE);
    let on = state.get(&0, 0).expect("the state");
    assert_eq!(on, PREPARED_ON, "a publish leaves it on");
    for (answered, passed) in &cases {
        check(&loaded, &mut oracle, answered);
        state.set(0, 0, 0).expect("state off");
        check(&loaded, &mut oracle, passed);
        state.set(0, PREPARED_ON, 0).expect("state on");
        check(&loaded, &mut oracle, answered);
    }
}

/// RFC 5001 §2.2: the NSID follows what is published, as a reload publishes it: none (the
/// option is ignored), one, another one (written into the other slot, after a grace period),
/// none again; each reply equal to the socket path's with the same configuration.
#[test]
fn rfc5001_the_nsid_follows_each_publish() {
    pin_to_cpu0().expect("pin to CPU 0");
    let loaded = Loaded::new(&XdpConfig::default(), &hot_rrsets());
    let layout = Layout::new(Vlan::None, false);
    let dns = Builder::query(7, "www.example.com", rtype::A)
        .opt(&[0], 1232, 0, 0, &[0, 3, 0, 0])
        .build();
    let frame = udp_frame(Vlan::None, v4_endpoints(53), &dns, 0);
    for (rotation, nsid) in [
        None,
        Some(&b"first"[..]),
        Some(b"second-nsid"),
        None,
        Some(b"x"),
    ]
    .into_iter()
    .enumerate()
    {
        let identity = match nsid {
            None => ServerIdentity::default(),
            Some(octets) => ServerIdentity::default()
                .with_nsid(octets.to_vec())
                .unwrap(),
        };
        let catalog = catalog().with_identity(identity);
        loaded
            .writer
            .publish_nsid(compile::nsid(catalog.identity()).as_ref())
            .expect("NSID published");
        let mut oracle = SocketOracle::new(catalog);
        // A fresh catalog rotates from the start: bring it to the program's reply count.
        for _ in 0..rotation {
            oracle.expected_reply(v4_endpoints(53).client, &dns);
        }
        let before = loaded.counters();
        let (action, reply) = loaded.run(&frame);
        let what = format!("NSID {nsid:?}");
        assert_eq!(action, XDP_TX, "{what}");
        let counter = moved(&before, &loaded.counters());
        let expect = Reply {
            layout,
            counter,
            kind: Kind::Answer,
        };
        check_answer(&what, &mut oracle, &frame, &reply, expect);
    }
}

/// Successive replies from one CPU start one address further into the RRset.
#[test]
fn rotation_advances_by_one_per_query() {
    pin_to_cpu0().expect("pin to CPU 0");
    let loaded = Loaded::new(&XdpConfig::default(), &hot_rrsets());
    let layout = Layout::new(Vlan::None, false);
    let mut firsts = Vec::new();
    for id in 0..9 {
        let dns = Builder::query(id, "www.example.com", rtype::A).build();
        let (action, reply) = loaded.run(&udp_frame(Vlan::None, v4_endpoints(53), &dns, 0));
        assert_eq!(action, XDP_TX);
        let message = Message::from_vec(&reply[layout.dns..]).unwrap();
        let addrs: Vec<String> = message.answers.iter().map(|r| r.data.to_string()).collect();
        assert_eq!(addrs.len(), 4);
        firsts.push(addrs[0].clone());
    }
    let expected: Vec<String> = [1, 2, 3, 4, 1, 2, 3, 4, 1]
        .iter()
        .map(|i| format!("198.18.1.{i}"))
        .collect();
    assert_eq!(firsts, expected);
}

fn v4_endpoints(server_port: u16) -> Endpoints {
    Endpoints {
        client: "192.0.2.7".parse().unwrap(),
        server: "198.18.0.53".parse().unwrap(),
        client_port: 40000,
        server_port,
    }
}

/// The DNS port is a load-time setting.
#[test]
fn answers_on_the_configured_port_only() {
    let config = XdpConfig {
        dns_port: 5353,
        ..XdpConfig::default()
    };
    let loaded = Loaded::new(&config, &hot_rrsets());
    let dns = Builder::query(1, "www.example.com", rtype::A).build();
    assert_eq!(
        loaded
            .run(&udp_frame(Vlan::None, v4_endpoints(5353), &dns, 0))
            .0,
        XDP_TX
    );
    assert_eq!(
        loaded
            .run(&udp_frame(Vlan::None, v4_endpoints(53), &dns, 0))
            .0,
        XDP_PASS
    );
}

/// Prints what the verifier and the kernel report (no assertion on timings): the verified
/// instruction counts of both entries, and with `kernel.bpf_stats_enabled` at 1 the mean run
/// time of an ARP frame, of a UDP packet to another port and of a query for a name the table
/// does not have (all passed), of an NXDOMAIN for a name right below the apex, of a NODATA
/// AAAA from the same record, of two fixed replies (an MX, a NODATA AAAA further down), of an
/// answered A query, without and with an NSID in the
/// reply, and of a signed RRset's A queries: DO=0 (the addresses alone), DO=1 for a secure
/// zone's (the RRSIGs added from the signature store), and DO=1 for a zone whose RRSIGs the
/// socket path does not send (passed). Each run is its own BPF_PROG_TEST_RUN: with `repeat`,
/// the kernel runs the program again on the frame it has already turned into a reply, which is
/// then passed (QR=1).
#[test]
fn report_program_size_and_cost() {
    const RUNS: u64 = 200_000;
    pin_to_cpu0().expect("pin to CPU 0");
    let catalog = catalog();
    let loaded = Loaded::publishing(&catalog);
    let query_to = |port: u16, name: &str, flags: u16, options: &[u8]| {
        let dns = Builder::query(1, name, rtype::A)
            .opt(&[0], 1232, 0, flags, options)
            .build();
        udp_frame(Vlan::None, v4_endpoints(port), &dns, 0)
    };
    let query = |name: &str, flags: u16, options: &[u8]| query_to(53, name, flags, options);
    let of_type = |name: &str, qtype: u16| {
        let dns = Builder::query(1, name, qtype)
            .opt(&[0], 1232, 0, 0, &[])
            .build();
        udp_frame(Vlan::None, v4_endpoints(53), &dns, 0)
    };
    println!("{:?}", loaded.fast.stats().expect("stats"));
    println!(
        "fixed replies' program: {:?}",
        loaded.fast.fixed_stats().expect("stats")
    );
    for (what, frame, action) in [
        // The first three split an answer's cost: a frame passed at its Ethernet type (what a
        // run costs here before any work), the headers below DNS, then the whole query parsed
        // and looked up in both buckets of the name table.
        ("ARP frame, passed", arp_frame(), XDP_PASS),
        (
            "UDP to another port, passed",
            query_to(5353, "www.example.com", 0, &[]),
            XDP_PASS,
        ),
        (
            "A of a name not in the table, passed",
            query("absent.nowhere.example.com", 0, &[]),
            XDP_PASS,
        ),
        (
            "A of a name right below the apex that does not exist: NXDOMAIN",
            query("absent.example.com", 0, &[]),
            XDP_TX,
        ),
        (
            "AAAA of a name right below the apex with A only: NODATA from the negative record",
            of_type("api.example.com", rtype::AAAA),
            XDP_TX,
        ),
        // Through the tail call into the fixed replies' program.
        (
            "MX of the apex: a fixed reply",
            of_type("example.com", rtype::MX),
            XDP_TX,
        ),
        (
            "AAAA of a name two labels down: NODATA, a fixed reply",
            of_type("_sip._udp.example.com", rtype::AAAA),
            XDP_TX,
        ),
        ("answered A", query("www.example.com", 0, &[]), XDP_TX),
        (
            "answered A with NSID",
            query("www.example.com", 0, &[0, 3, 0, 0]),
            XDP_TX,
        ),
        ("signed A, DO=0", query(SIGNED, 0, &[]), XDP_TX),
        (
            "signed A, DO=1, passed",
            query(SIGNED, 0x8000, &[]),
            XDP_PASS,
        ),
        ("secure A, DO=0", query(SECURE_ONE, 0, &[]), XDP_TX),
        (
            "secure A, DO=1, one RRSIG (107 octets)",
            query(SECURE_ONE, 0x8000, &[]),
            XDP_TX,
        ),
        (
            "secure A, DO=1, two RRSIGs (406 octets)",
            query(SECURE_MANY, 0x8000, &[]),
            XDP_TX,
        ),
    ] {
        let before = loaded.fast.stats().expect("stats");
        for _ in 0..RUNS {
            assert_eq!(loaded.run(&frame).0, action, "{what}");
        }
        let after = loaded.fast.stats().expect("stats");
        let runs = after.run_count - before.run_count;
        if runs > 0 {
            let time = after.run_time - before.run_time;
            println!(
                "{what}: run_time_ns / run_cnt over {runs} queries: {} ns",
                time.as_nanos() / u128::from(runs)
            );
        } else {
            println!("kernel.bpf_stats_enabled is 0: no run time measured");
        }
    }
}

/// A minimal Ethernet frame of type ARP: not IP, so the program passes it at once.
fn arp_frame() -> Vec<u8> {
    let mut frame = vec![0; 60];
    frame[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    frame
}

/// The XDP mode `ip link` reports for `interface` in `ns`: "xdp" (native), "xdpgeneric", or none.
fn xdp_mode(ns: &lbdns_tests::Namespace, interface: &str) -> Option<String> {
    let out = ns
        .command("ip")
        .args(["-d", "link", "show", "dev", interface])
        .output()
        .expect("ip link show");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    ["xdpgeneric", "xdp"]
        .into_iter()
        .find(|mode| text.split_whitespace().any(|word| word == *mode))
        .map(str::to_owned)
}

/// Attaching in each mode, detaching, and a real query answered by the program alone (no socket
/// server runs) in generic mode, counted in the counters.
#[test]
fn attaches_detaches_and_answers_over_a_veth() {
    let topo = Topology::new().expect("namespaces (needs root)");
    let server = topo.server.name().to_owned();
    let iface = Topology::SERVER_IF;

    let loaded = topo
        .server
        .enter(move || {
            let mut loaded = Loaded::new(&XdpConfig::default(), &hot_rrsets());
            assert!(matches!(
                loaded.fast.attach("no-such-if0", AttachMode::Auto),
                Err(XdpError::NoInterface(_))
            ));
            assert_eq!(
                loaded.fast.attach(iface, AttachMode::Native).unwrap(),
                AttachMode::Native
            );
            loaded
        })
        .unwrap();
    assert_eq!(
        xdp_mode(&topo.server, iface).as_deref(),
        Some("xdp"),
        "native attach in {server}"
    );
    let loaded = topo
        .server
        .enter(move || {
            let mut loaded = loaded;
            loaded.fast.detach_all().unwrap();
            loaded
        })
        .unwrap();
    assert_eq!(xdp_mode(&topo.server, iface), None, "detached");

    let loaded = topo
        .server
        .enter(move || {
            let mut loaded = loaded;
            assert_eq!(
                loaded.fast.attach(iface, AttachMode::Generic).unwrap(),
                AttachMode::Generic
            );
            loaded
        })
        .unwrap();
    assert_eq!(xdp_mode(&topo.server, iface).as_deref(), Some("xdpgeneric"));

    // Generic mode sends XDP_TX replies without a program on the peer.
    let server_addr = std::net::SocketAddr::from((topo.server_v4, 53));
    let reply = topo
        .client
        .enter(move || {
            let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            socket
                .set_read_timeout(Some(std::time::Duration::from_secs(2)))
                .unwrap();
            let query = Builder::query(0x1234, "WwW.example.com", rtype::A)
                .edns(1232)
                .build();
            socket.send_to(&query, server_addr).unwrap();
            let mut buf = [0; 1500];
            let (len, from) = socket
                .recv_from(&mut buf)
                .expect("a reply from the XDP program");
            assert_eq!(from, server_addr);
            buf[..len].to_vec()
        })
        .unwrap();
    let message = Message::from_vec(&reply).unwrap();
    assert_eq!(message.metadata.id, 0x1234);
    assert_eq!(message.answers.len(), 4);
    assert_eq!(loaded.counters().get(Counter::AnsweredA), 1);

    // Dropping the program detaches it.
    drop(loaded);
    assert_eq!(xdp_mode(&topo.server, iface), None, "detached on drop");
}

/// Queries from a socket, over a veth, to the program attached natively: names of every length
/// (records of up to 33 words), A and AAAA, with and without EDNS, over IPv4 and IPv6. veth
/// gives XDP such a packet in a buffer with almost no room after it and 256 bytes before it, so
/// the frame must grow at its head (`respond::resize` in lbdns-ebpf), as it does under
/// BPF_PROG_TEST_RUN too, but here in a native driver's buffer. The client's stack drops a
/// reply with a wrong checksum, and no socket server runs: every query must get a reply, from
/// the program, equal to the socket path's.
#[test]
fn answers_sockets_over_a_native_veth() {
    let topo = Topology::new().expect("namespaces (needs root)");
    let loaded = topo
        .server
        .enter(|| {
            let mut loaded = Loaded::new(&XdpConfig::default(), &hot_rrsets());
            let mode = loaded.fast.attach(Topology::SERVER_IF, AttachMode::Native);
            assert_eq!(mode.unwrap(), AttachMode::Native);
            loaded
        })
        .unwrap();
    // Native XDP_TX on a veth reaches the peer only if the peer has a program.
    let _peer = PeerProgram::attach(&topo.client).unwrap_or_else(|error| panic!("{error:#}"));

    let mut oracle = SocketOracle::new(catalog());
    let mut names = length_names();
    names.extend(long_names());
    names.push("www.example.com".into());
    let mut sent = 0;
    for (i, name) in names.iter().enumerate() {
        // Every other letter upper case: the question goes back as sent.
        let qname: String = name
            .chars()
            .enumerate()
            .map(|(j, c)| {
                if (i + j) % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let qtypes: &[u16] = if long_names().contains(name) {
            &[rtype::A]
        } else {
            &[rtype::A, rtype::AAAA]
        };
        for &qtype in qtypes {
            for edns in [None, Some(1232)] {
                for server in topo.server_addrs(53) {
                    let what = format!("{qname} type {qtype} EDNS {edns:?} to {server}");
                    let mut builder = Builder::query(sent as u16, &qname, qtype);
                    if let Some(size) = edns {
                        builder = builder.edns(size);
                    }
                    let query = builder.build();
                    let socket = udp_socket(&topo.client, server).unwrap();
                    socket.send(&query).unwrap();
                    let reply = udp_recv(&socket, std::time::Duration::from_secs(2))
                        .unwrap()
                        .unwrap_or_else(|| {
                            panic!("{what}: no reply (passed, or dropped for its checksum)")
                        });
                    let client = match server {
                        std::net::SocketAddr::V4(_) => std::net::IpAddr::V4(topo.client_v4),
                        std::net::SocketAddr::V6(_) => std::net::IpAddr::V6(topo.client_v6),
                    };
                    assert_same_reply(&what, &reply, &oracle.expected_reply(client, &query));
                    sent += 1;
                }
            }
        }
    }
    let counters = loaded.counters();
    assert_eq!(
        counters.get(Counter::AnsweredA) + counters.get(Counter::AnsweredAaaa),
        sent,
        "every query answered by the program"
    );
}
