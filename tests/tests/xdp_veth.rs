//! `lbdns serve --xdp veth-srv --xdp-mode native` end to end: kdig and dig in the client
//! namespace get the hot A and AAAA answers from the XDP program (the daemon's counters,
//! read with `lbdns stats`, say which packets it answered), everything else from the socket
//! path, and the program is gone from the interface once the daemon exits.
//!
//! A native-mode XDP_TX on a veth reaches the peer only if the peer has an XDP program, so the
//! client's end gets one that passes everything ([`PeerProgram`]).
//!
//! Needs root, kdig, dig and a built `lbdns` binary; without them the tests fail and say so.

use std::{collections::BTreeMap, net::SocketAddr, path::Path, process::Command, time::Duration};

use lbdns_tests::{
    apex_only_zone,
    env::run_ok,
    example_zone, preflight,
    signing::{anchors, delv, Denial, Signer},
    workspace_root, DigResponse, Namespace, Query, Server, TempDir, Tool, Topology,
};

use lbdns_tests::env::{pin_to_cpu0, EXAMPLE_WWW_A as WWW_A, EXAMPLE_WWW_AAAA as WWW_AAAA};

#[path = "support/peer.rs"]
mod peer;
use peer::PeerProgram;

/// Bound on `lbdns stats`; it answers in milliseconds.
const STATS_TIMEOUT: Duration = Duration::from_secs(10);

/// A namespace pair with lbdns serving the example zone on port 53, its XDP program attached
/// natively to the server's veth end, and the pass-through program on the client's.
struct Setup {
    // Drop order: the server before the namespaces it runs in.
    server: Server,
    _peer: PeerProgram,
    topo: Topology,
}

impl Setup {
    fn new() -> Self {
        Self::with(&[&example_zone()], &[])
    }

    /// lbdns serving `zones`, with `extra` arguments to `serve`.
    fn with(zones: &[&Path], extra: &[&str]) -> Self {
        preflight(&["kdig", "dig"]).unwrap_or_else(|error| panic!("{error:#}"));
        let topo = Topology::new().expect("namespaces");
        let peer = PeerProgram::attach(&topo.client).unwrap_or_else(|error| panic!("{error:#}"));
        let mut args = vec!["--xdp", Topology::SERVER_IF, "--xdp-mode", "native"];
        args.extend_from_slice(extra);
        let server = Server::lbdns_with(&topo, zones, &topo.server_addrs(53), &args)
            .unwrap_or_else(|error| panic!("{error:#}"));
        Self {
            server,
            _peer: peer,
            topo,
        }
    }

    /// The daemon's XDP counters of answers and passes, by name.
    fn counters(&self) -> BTreeMap<String, u64> {
        let mut stats = self.server.stats().expect("lbdns stats");
        stats.retain(|name, _| name.starts_with("answered_") || name.starts_with("pass_"));
        stats
    }

    /// Runs `query` with `tool` against `server` and returns the reply and how each counter
    /// moved meanwhile, but `pass_not_dns`: ARP and neighbour discovery reach the interface
    /// whenever the kernels decide.
    fn ask(
        &self,
        tool: Tool,
        server: SocketAddr,
        query: &Query,
    ) -> (DigResponse, BTreeMap<String, u64>) {
        let before = self.counters();
        let reply = lbdns_tests::dig::query(tool, &self.topo.client, server, query)
            .unwrap_or_else(|error| panic!("{error:#}"));
        let after = self.counters();
        let moved = after
            .into_iter()
            .filter(|(name, _)| name != "pass_not_dns")
            .filter_map(|(name, value)| {
                let delta = value - before.get(&name).copied().unwrap_or(0);
                (delta > 0).then_some((name, delta))
            })
            .collect();
        (reply, moved)
    }

    /// Asks `name` `rtype` with kdig and dig, over IPv4 and IPv6, plain, with EDNS and with
    /// DO=1: each reply must have moved `counter` alone (answered by XDP, the client's kernel
    /// having checked the checksums). Returns each reply with what was asked.
    fn ask_every_way(&self, name: &str, rtype: &str, counter: &str) -> Vec<(String, DigResponse)> {
        let mut replies = Vec::new();
        for tool in [Tool::Kdig, Tool::Dig] {
            for server in self.topo.server_addrs(53) {
                for flags in [None, Some("+edns=0"), Some("+dnssec")] {
                    let mut query = Query::new(name, rtype);
                    if let Some(flag) = flags {
                        query = query.arg(flag);
                    }
                    let what = format!("{tool:?} {name} {rtype} to {server}, {flags:?}");
                    let (reply, moved) = self.ask(tool, server, &query);
                    assert_eq!(
                        moved,
                        BTreeMap::from([(counter.to_owned(), 1)]),
                        "{what}: answered by XDP alone\n{reply}"
                    );
                    replies.push((what, reply));
                }
            }
        }
        replies
    }
}

/// Where `got` starts in `zone_order`, if it is `zone_order` rotated.
fn rotation(got: &[String], zone_order: &[&str]) -> Option<usize> {
    let n = zone_order.len();
    (got.len() == n)
        .then(|| (0..n).find(|&k| (0..n).all(|i| got[i] == zone_order[(i + k) % n])))
        .flatten()
}

/// Hot A and AAAA queries from kdig and dig, over IPv4 and IPv6, with and without EDNS: each
/// is answered by the program (one answered_* counter moves by one, nothing else answers) with
/// the whole RRset, starting one record further on each time.
#[test]
fn hot_queries_are_answered_by_xdp_with_rotation() {
    pin_to_cpu0().expect("pin to CPU 0");
    let setup = Setup::new();
    let topo = &setup.topo;
    for (rtype, zone_order, counter) in [
        ("A", &WWW_A, "answered_a"),
        ("AAAA", &WWW_AAAA, "answered_aaaa"),
    ] {
        let mut starts = Vec::new();
        for tool in [Tool::Kdig, Tool::Dig] {
            for server in topo.server_addrs(53) {
                for edns in [None, Some(1232)] {
                    let mut query = Query::new("www.example.com", rtype);
                    query.edns = edns;
                    let what = format!("{tool:?} {rtype} to {server}, EDNS {edns:?}");
                    let (reply, moved) = setup.ask(tool, server, &query);
                    assert_eq!(
                        moved,
                        BTreeMap::from([(counter.to_owned(), 1)]),
                        "{what}: answered by XDP alone\n{reply}"
                    );
                    assert_eq!(reply.rcode, "NOERROR", "{what}\n{reply}");
                    assert!(reply.has_flag("aa"), "{what}: AA\n{reply}");
                    assert_eq!(reply.edns_udp, edns.map(|_| 1232), "{what}: OPT\n{reply}");
                    let got = reply.answer_rdata(rtype);
                    let start = rotation(&got, zone_order).unwrap_or_else(|| {
                        panic!("{what}: {got:?} is not the RRset rotated\n{reply}")
                    });
                    starts.push(start);
                }
            }
        }
        let expected: Vec<usize> = (0..starts.len()).map(|i| i % zone_order.len()).collect();
        assert_eq!(starts, expected, "{rtype}: each reply starts one record on");
    }
}

/// A name the example zone lacks right below its apex: kdig and dig, over IPv4 and IPv6, with
/// and without EDNS and DO, get NXDOMAIN from the program (`answered_nxdomain_*` moves by one, nothing
/// else answers) with the zone's SOA and its negative TTL; the kernel of the client's
/// namespace checked the checksums. One label deeper, the socket path answers the same.
#[test]
fn a_name_the_zone_lacks_gets_nxdomain_from_xdp() {
    pin_to_cpu0().expect("pin to CPU 0");
    let setup = Setup::new();
    let topo = &setup.topo;
    for (rtype, counter) in [
        ("A", "answered_nxdomain_a"),
        ("AAAA", "answered_nxdomain_aaaa"),
    ] {
        for (what, reply) in setup.ask_every_way("no-such-name.example.com", rtype, counter) {
            assert_eq!(reply.rcode, "NXDOMAIN", "{what}\n{reply}");
            assert!(reply.has_flag("aa"), "{what}: AA\n{reply}");
            assert!(reply.answer.is_empty(), "{what}\n{reply}");
            let soa = match &reply.authority[..] {
                [soa] if soa.rtype == "SOA" => soa,
                other => panic!("{what}: the SOA alone, not {other:?}\n{reply}"),
            };
            assert_eq!(
                (soa.name.as_str(), soa.ttl),
                ("example.com.", 60),
                "{what}: the apex's SOA with the negative TTL\n{reply}"
            );
        }
    }
    let v4 = topo.server_v4_addr(53);
    let (reply, moved) = setup.ask(Tool::Kdig, v4, &Query::new("a.b.example.com", "A"));
    assert_eq!(reply.rcode, "NXDOMAIN", "{reply}");
    assert_eq!(
        moved,
        BTreeMap::from([("pass_miss".to_owned(), 1)]),
        "two labels below the apex: the socket path's\n{reply}"
    );
}

/// More hot names than the old fixed map sizes held (16,384 A slots): with no size flags the
/// maps are sized from the zone at start, so XDP attaches and answers the last of them.
#[test]
fn a_zone_larger_than_the_old_default_map_sizes_is_answered_by_xdp() {
    const NAMES: u32 = 20_000;
    let dir = TempDir::new("xdp-veth-sizes").expect("temp dir");
    let zone = dir.write("big.test.zone", &big_zone(NAMES)).expect("zone");
    let setup = Setup::with(&[&zone], &[]);
    let v4 = setup.topo.server_v4_addr(53);
    let last = NAMES - 1;
    for (name, rtype, counter, rdata) in [
        (
            format!("h{last}.big.test"),
            "A",
            "answered_a",
            "198.18.179.250",
        ),
        (
            "v6.big.test".to_owned(),
            "AAAA",
            "answered_aaaa",
            "2001:db8::6",
        ),
    ] {
        let (reply, moved) = setup.ask(Tool::Kdig, v4, &Query::new(&name, rtype));
        assert_eq!(reply.rcode, "NOERROR", "{name} {rtype}\n{reply}");
        assert_eq!(
            reply.answer_rdata(rtype),
            [rdata],
            "{name} {rtype}\n{reply}"
        );
        assert_eq!(
            moved,
            BTreeMap::from([(counter.to_owned(), 1)]),
            "{name} {rtype}: answered by XDP\n{reply}"
        );
    }
}

/// A zone big.test. with `names` hot A names, h0 to h{names-1}, and one AAAA name, v6.
fn big_zone(names: u32) -> String {
    let mut text = apex_only_zone("big.test");
    for i in 0..names {
        text.push_str(&format!(
            "h{i} 60 A 198.18.{}.{}\n",
            100 + i / 250,
            1 + i % 250
        ));
    }
    text.push_str("v6 60 AAAA 2001:db8::6\n");
    text
}

/// A reload that brings more A names than the maps sized at start hold (floors of 1,024) builds
/// larger maps, fills them, and swaps them in with the program on the link, never detaching: the
/// log names the outgrown maps and the new sizes, and the new names are answered by XDP.
#[test]
fn a_reload_that_outgrows_the_maps_swaps_in_larger_ones_without_detaching() {
    let dir = TempDir::new("xdp-veth-outgrow").expect("temp dir");
    let zone = dir.write("big.test.zone", &big_zone(10)).expect("zone");
    let setup = Setup::with(&[&zone], &[]);
    let (reply, moved) = setup.ask(
        Tool::Kdig,
        setup.topo.server_v4_addr(53),
        &Query::new("h9.big.test", "A"),
    );
    assert_eq!(
        moved,
        BTreeMap::from([("answered_a".to_owned(), 1)]),
        "{reply}"
    );

    dir.write("big.test.zone", &big_zone(1500)).expect("zone");
    setup
        .server
        .control(&["reload"])
        .unwrap_or_else(|error| panic!("{error:#}"));
    let log = setup.server.stderr();
    let outgrown = log
        .lines()
        .find(|line| line.contains("the XDP maps are too small"))
        .unwrap_or_else(|| panic!("no outgrown maps logged:\n{log}"));
    // 1,501 A RRsets (ns1 and h0..h1499) ×1.25, rounded up: 1,877; with v6, 1,502 RRsets: 1,878.
    for map in [
        "--xdp-a-slots 1024 is outgrown: 1877 needed",
        "--xdp-rrset-entries 1024 is outgrown: 1878 needed",
    ] {
        assert!(outgrown.contains(map), "{map:?} in {outgrown}");
    }
    assert!(
        !outgrown.contains("--xdp-aaaa-slots"),
        "AAAA fits: {outgrown}"
    );
    let swapped = log
        .lines()
        .find(|line| line.contains("swapped them in with the program"))
        .unwrap_or_else(|| panic!("no swap logged:\n{log}"));
    // And the names right below the apex: 1,503 (h0..h1499, ns1, v6 and the RNAME's `h`),
    // twice over with a quarter more, 3,758, so 4,096.
    for size in [
        "a_slots=1877",
        "rrset_entries=1878",
        "negative_children=4096",
    ] {
        assert!(swapped.contains(size), "{size} in {swapped}");
    }
    assert!(!log.contains("detaching XDP"), "{log}");
    // The new names, and the old ones, are answered at the NIC by the swapped-in program.
    for name in ["h1499.big.test", "h9.big.test"] {
        let (reply, moved) = setup.ask(
            Tool::Kdig,
            setup.topo.server_v4_addr(53),
            &Query::new(name, "A"),
        );
        assert_eq!(
            moved,
            BTreeMap::from([("answered_a".to_owned(), 1)]),
            "{name}: {reply}"
        );
    }
}

/// A reload that brings more names right below an apex than `NEGATIVE_CHILDREN` (sized at
/// start from the zone: its floor, 1,024 entries) holds, and nothing the answer maps would not
/// hold: the daemon builds larger maps, fills them and swaps them in
/// on the link, never detaching. The program then answers NXDOMAIN for a name the zone lacks,
/// and NODATA (a fixed reply) for the names the reload added, which have TXT records only.
#[test]
fn a_reload_with_more_names_than_the_negative_map_holds_swaps_in_a_larger_one() {
    let dir = TempDir::new("xdp-veth-negative-grow").expect("temp dir");
    let zone = |names: u32| {
        let mut text = apex_only_zone("txt.test");
        for i in 0..names {
            text.push_str(&format!("t{i} 60 TXT \"{i}\"\n"));
        }
        text
    };
    let path = dir.write("txt.test.zone", &zone(10)).expect("zone");
    let setup = Setup::with(&[&path], &[]);
    let v4 = setup.topo.server_v4_addr(53);
    let ask = |name: &str| setup.ask(Tool::Kdig, v4, &Query::new(name, "A"));
    let (reply, moved) = ask("absent.txt.test");
    assert_eq!(reply.rcode, "NXDOMAIN", "{reply}");
    assert_eq!(
        moved,
        BTreeMap::from([("answered_nxdomain_a".to_owned(), 1)]),
        "{reply}"
    );

    // 1,102 names right below the apex (the TXT names, ns1, and the SOA's RNAME `h`, which the
    // socket path compresses into the question): more than the map's entries. Twice over with
    // a quarter more: 2,755, so 4,096.
    dir.write("txt.test.zone", &zone(1100)).expect("zone");
    setup
        .server
        .control(&["reload"])
        .unwrap_or_else(|error| panic!("{error:#}"));
    let log = setup.server.stderr();
    assert!(
        log.contains("1102 elements do not fit the 1024 entries of the XDP map NEGATIVE_CHILDREN"),
        "{log}"
    );
    assert!(!log.contains("the XDP maps are too small"), "{log}");
    let swapped = log
        .lines()
        .find(|line| line.contains("swapped them in with the program"))
        .unwrap_or_else(|| panic!("no swap logged:\n{log}"));
    assert!(swapped.contains("negative_children=4096"), "{swapped}");
    assert!(!log.contains("detaching XDP"), "{log}");

    let (reply, moved) = ask("absent.txt.test");
    assert_eq!(reply.rcode, "NXDOMAIN", "{reply}");
    assert_eq!(
        moved,
        BTreeMap::from([("answered_nxdomain_a".to_owned(), 1)]),
        "the swapped-in program answers\n{reply}"
    );
    // The names the reload added exist: NODATA, which the program answers from their fixed
    // replies (3,305 of them: each name's TXT and NODATA for A and AAAA, the apex's four, ns1's
    // AAAA; twice over with a quarter more, 8,263, so 16,384).
    assert!(swapped.contains("fixed_replies=16384"), "{swapped}");
    for name in ["t1099.txt.test", "t10.txt.test", "t0.txt.test"] {
        let (reply, moved) = ask(name);
        assert_eq!(reply.rcode, "NOERROR", "{name}: NODATA\n{reply}");
        assert!(reply.answer.is_empty(), "{name}\n{reply}");
        assert_eq!(
            moved,
            BTreeMap::from([("answered_fixed".to_owned(), 1)]),
            "{name}\n{reply}"
        );
    }
}

/// Queries of other types than A and AAAA, and NODATA, get their fixed replies from the
/// program (`answered_fixed` moves by one, nothing else answers) over IPv4 and IPv6, with and
/// without EDNS and DO, from kdig and dig, through the kernel of the client's namespace, which
/// checks the checksums.
#[test]
fn other_types_and_nodata_get_fixed_replies_from_xdp() {
    pin_to_cpu0().expect("pin to CPU 0");
    let setup = Setup::new();
    for (name, rtype, rdata) in [
        ("example.com", "MX", Some("10 mail.example.com.")),
        ("example.com", "TXT", Some("\"v=spf1 mx -all\"")),
        (
            "_sip._udp.example.com",
            "SRV",
            Some("10 60 5060 www.example.com."),
        ),
        ("api.example.com", "AAAA", None),
    ] {
        for (what, reply) in setup.ask_every_way(name, rtype, "answered_fixed") {
            assert_eq!(reply.rcode, "NOERROR", "{what}\n{reply}");
            assert!(reply.has_flag("aa"), "{what}: AA\n{reply}");
            match rdata {
                Some(rdata) => assert_eq!(reply.answer_rdata(rtype), [rdata], "{what}\n{reply}"),
                None => {
                    assert!(reply.answer.is_empty(), "{what}: NODATA\n{reply}");
                    assert!(
                        matches!(&reply.authority[..], [soa] if soa.rtype == "SOA"),
                        "{what}: the SOA\n{reply}"
                    );
                }
            }
        }
    }
}

/// Queries the program does not answer still get the socket path's answers, and the program
/// counts why it passed them.
#[test]
fn other_queries_are_answered_by_the_socket_path() {
    let setup = Setup::new();
    let v4 = setup.topo.server_v4_addr(53);
    let v6 = setup.topo.server_v6_addr(53);

    // A type the name lacks: NODATA from the socket path.
    let (mx, moved) = setup.ask(Tool::Kdig, v4, &Query::new("www.example.com", "MX"));
    assert_eq!(mx.rcode, "NOERROR", "{mx}");
    assert!(mx.answer.is_empty(), "{mx}");
    assert_eq!(moved, BTreeMap::from([("pass_type".to_owned(), 1)]), "MX");

    // Two labels below the apex: the program answers NXDOMAIN only one label below.
    let (nx, moved) = setup.ask(Tool::Dig, v6, &Query::new("a.nope.example.com", "A"));
    assert_eq!(nx.rcode, "NXDOMAIN", "{nx}");
    assert!(nx.has_flag("aa") && nx.answer.is_empty(), "{nx}");
    assert_eq!(
        moved,
        BTreeMap::from([("pass_miss".to_owned(), 1)]),
        "NXDOMAIN"
    );

    let (wildcard, moved) = setup.ask(Tool::Kdig, v4, &Query::new("x.apps.example.com", "A"));
    assert_eq!(wildcard.answer_rdata("A"), ["198.18.4.1"], "{wildcard}");
    assert_eq!(
        moved,
        BTreeMap::from([("pass_miss".to_owned(), 1)]),
        "wildcard"
    );

    for server in [v4, v6] {
        let query = Query::new("www.example.com", "A").tcp();
        let (tcp, moved) = setup.ask(Tool::Kdig, server, &query);
        assert_eq!(tcp.rcode, "NOERROR", "{tcp}");
        let got = tcp.answer_rdata("A");
        assert!(rotation(&got, &WWW_A).is_some(), "TCP to {server}: {got:?}");
        assert!(
            moved.keys().all(|name| name.starts_with("pass_")),
            "TCP to {server}: nothing answered by XDP, moved {moved:?}"
        );
    }
}

/// A signed zone (an RRSIG in RFC 3597 form covers www's A) whose configuration gains an NSID
/// and an identity on reload. DO=1 for the signed A goes to the socket path (RFC 4035 §3.1.1),
/// DO=0 is answered by the program; an NSID query is answered by the program without the
/// option while no NSID is configured, and with it once SIGHUP brought one (RFC 5001), over a
/// native veth whose receiving stack checks the checksum; CH TXT id.server is refused, then
/// answered.
#[test]
fn signed_answers_and_the_nsid_follow_the_zone_and_a_reload() {
    let dir = TempDir::new("xdp-veth-edns").expect("temp dir");
    let zone = dir
        .write(
            "signed.test.zone",
            &(apex_only_zone("signed.test")
                + "www 60 A 198.18.10.1\n\
                   www 60 TYPE46 \\# 21 0001 0d03 0000003c 70dbd880 5e0be100 1234 00 abcd\n"),
        )
        .expect("zone");
    let config = dir.write("lbdns.toml", "[server]\n").expect("config");
    let config_arg = config.display().to_string();
    let setup = Setup::with(&[&zone], &["--config", &config_arg]);
    let v4 = setup.topo.server_v4_addr(53);
    let www = || Query::new("www.signed.test", "A").edns(1232);
    let moved = |query: &Query, counter: &str| {
        let (reply, moved) = setup.ask(Tool::Kdig, v4, query);
        assert_eq!(reply.rcode, "NOERROR", "{reply}");
        assert_eq!(moved, BTreeMap::from([(counter.to_owned(), 1)]), "{reply}");
        reply
    };
    let reply = moved(&www(), "answered_a");
    assert_eq!(reply.answer_rdata("A"), ["198.18.10.1"], "{reply}");
    moved(&www().arg("+dnssec"), "pass_signed");
    let reply = moved(&www().arg("+nsid"), "answered_a");
    assert!(!reply.text.contains("NSID"), "no NSID configured:\n{reply}");
    let chaos = Query::new("id.server", "TXT").arg("-c").arg("CH");
    let (refused, _) = setup.ask(Tool::Kdig, v4, &chaos);
    assert_eq!(refused.rcode, "REFUSED", "{refused}");

    dir.write(
        "lbdns.toml",
        "[server]\nnsid = \"host-17\"\nidentity = \"ns1.signed.test\"\n",
    )
    .expect("config");
    let status = Command::new("kill")
        .args(["-HUP", &setup.server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + STATS_TIMEOUT;
    while !setup.server.stderr().contains("zones and pools reloaded") {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload:\n{}",
            setup.server.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let reply = moved(&www().arg("+nsid"), "answered_a");
    assert!(reply.text.contains("\"host-17\""), "the NSID:\n{reply}");
    assert_eq!(reply.answer_rdata("A"), ["198.18.10.1"], "{reply}");
    moved(&www(), "answered_a");
    let (answered, _) = setup.ask(Tool::Kdig, v4, &chaos);
    assert_eq!(
        answered.answer_rdata("TXT"),
        ["\"ns1.signed.test\""],
        "{answered}"
    );
}

/// The RDATA of an RRSIG covering `covered` (hex) by secure.test.'s key, in RFC 3597 form:
/// 18 fixed octets, the signer (13), and a 64-octet signature (ECDSA P-256 sized) of `fill`.
fn secure_rrsig(covered: &str, fill: &str) -> String {
    format!(
        "TYPE46 \\# 95 {covered} 0d03 0000003c 70dbd880 5e0be100 5678 \
         06736563757265 0474657374 00 {}",
        fill.repeat(64)
    )
}

/// RFC 4035 §3.1.1 over a native veth: in a secure zone (its DNSKEY signed), kdig +dnssec for a
/// hot A or AAAA name is answered by the program (its counter moves, nothing passes) with the
/// addresses and the RRSIG covering them, and a checksum the receiving stack accepts; without
/// +dnssec the same program answers with the addresses alone.
#[test]
fn rfc4035_3_1_1_dnssec_answers_carry_the_rrsig_from_xdp() {
    pin_to_cpu0().expect("pin to CPU 0");
    let dir = TempDir::new("xdp-veth-rrsig").expect("temp dir");
    let zone = format!(
        "$ORIGIN secure.test.\n@ 300 SOA ns1 h 1 3600 600 86400 60\n@ 300 NS ns1\n\
         @ 300 TYPE48 \\# 36 0101030d {}\n@ 300 {}\n\
         ns1 300 A 198.18.0.53\nwww 60 A 198.18.12.1\nwww 60 A 198.18.12.2\n\
         www 60 AAAA 2001:db8:12::1\nwww 90 {}\nwww 90 {}\n",
        "ab".repeat(32),
        secure_rrsig("0030", "01"),
        secure_rrsig("0001", "02"),
        secure_rrsig("001c", "03"),
    );
    let zone = dir.write("secure.test.zone", &zone).expect("zone");
    let setup = Setup::with(&[&zone], &[]);
    for server in setup.topo.server_addrs(53) {
        for (rtype, counter, addresses) in [("A", "answered_a", 2), ("AAAA", "answered_aaaa", 1)] {
            for dnssec in [true, false] {
                let mut query = Query::new("www.secure.test", rtype).edns(1232);
                if dnssec {
                    query = query.arg("+dnssec");
                }
                let what = format!("{rtype} to {server}, +dnssec {dnssec}");
                let (reply, moved) = setup.ask(Tool::Kdig, server, &query);
                assert_eq!(
                    moved,
                    BTreeMap::from([(counter.to_owned(), 1)]),
                    "{what}: answered by XDP alone\n{reply}"
                );
                assert_eq!(reply.rcode, "NOERROR", "{what}\n{reply}");
                assert_eq!(
                    reply.answer_rdata(rtype).len(),
                    addresses,
                    "{what}\n{reply}"
                );
                let rrsigs = reply.answer_rdata("RRSIG");
                assert_eq!(rrsigs.len(), usize::from(dnssec), "{what}\n{reply}");
                assert!(
                    rrsigs.iter().all(|rdata| rdata.starts_with(rtype)),
                    "{what}: the RRSIG covers {rtype}\n{reply}"
                );
                assert!(
                    reply
                        .answer
                        .iter()
                        .all(|record| record.ttl == if record.rtype == "RRSIG" { 90 } else { 60 }),
                    "{what}: each RRset's own TTL\n{reply}"
                );
            }
        }
    }
}

/// RFC 4035 §5 through the fast path: a zone signed at test time with ECDSA P-256
/// (`dnssec-signzone`), served with XDP; delv, a validating resolver, validates hot A and AAAA
/// answers whose DO=1 queries the program answered (its counters move), so the RRSIG octets the
/// program copies are the signatures themselves, in the right place, under a checksum the
/// receiving stack accepts.
#[test]
fn rfc4035_5_delv_validates_the_rrsigs_the_program_sends() {
    preflight(&["delv", "dnssec-keygen", "dnssec-signzone"]).unwrap_or_else(|e| panic!("{e:#}"));
    let signer = Signer::new().expect("signer");
    let zone = signer
        .sign(
            &workspace_root().join("tests/corpus/dnssec.zone"),
            "nsec.test",
            Denial::Nsec,
        )
        .unwrap_or_else(|error| panic!("{error:#}"));
    let anchor = anchors(signer.dir(), "nsec.test.anchors", &zone.ksk).expect("anchors");
    let setup = Setup::with(&[&zone.file], &[]);
    for (rtype, counter) in [("A", "answered_a"), ("AAAA", "answered_aaaa")] {
        let before = setup.counters();
        let out = delv(&setup.topo, &anchor, "nsec.test", "www.nsec.test", rtype)
            .unwrap_or_else(|error| panic!("{error:#}"));
        let after = setup.counters();
        assert!(
            out.lines().any(|line| line == "; fully validated"),
            "www.nsec.test {rtype}: delv did not validate:\n{out}"
        );
        assert!(
            out.lines()
                .any(|line| line.contains("RRSIG") && line.contains(rtype)),
            "www.nsec.test {rtype}: no RRSIG shown:\n{out}"
        );
        // delv asks once for the address (DO=1) and once for the DNSKEY, whose fixed reply
        // the program passes with DO=1 (`pass_signed`): the zone is signed.
        let answered = after[counter] - before.get(counter).copied().unwrap_or(0);
        assert_eq!(
            answered, 1,
            "www.nsec.test {rtype}: answered by XDP: {after:?}"
        );
    }
}

/// The program leaves the interface when the daemon exits on SIGTERM.
#[test]
fn the_program_is_detached_when_lbdns_exits() {
    let mut setup = Setup::new();
    assert_eq!(
        xdp_mode(&setup.topo.server, Topology::SERVER_IF).as_deref(),
        Some("xdp"),
        "attached in native mode"
    );
    let status = setup.server.stop().expect("lbdns stops on SIGTERM");
    assert!(status.success(), "lbdns exited with {status}");
    assert_eq!(
        xdp_mode(&setup.topo.server, Topology::SERVER_IF),
        None,
        "no XDP program left on {}",
        Topology::SERVER_IF
    );
}

/// The XDP mode `ip link` reports for `interface` in `ns`: "xdp" (native), "xdpgeneric", or none.
fn xdp_mode(ns: &Namespace, interface: &str) -> Option<String> {
    let out = run_ok(
        ns.command("ip")
            .args(["-d", "link", "show", "dev", interface]),
        STATS_TIMEOUT,
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    ["xdpgeneric", "xdp"]
        .into_iter()
        .find(|mode| out.stdout.split_whitespace().any(|word| word == *mode))
        .map(str::to_owned)
}

/// Pools with IPv4 endpoints only, a round-robin one and a geo one: the first's A answers
/// rotate from the name table, and each one's AAAA, NODATA whatever health says and wherever
/// the client is, is a fixed reply from the program; the same as the socket path's, whose TCP
/// answer is the reference.
#[test]
fn a_pools_absent_address_type_gets_its_nodata_from_xdp() {
    pin_to_cpu0().expect("pin to CPU 0");
    let dir = TempDir::new("xdp-veth-pool-nodata").expect("temp dir");
    let zone = dir
        .write("pool.test.zone", &apex_only_zone("pool.test"))
        .expect("zone");
    let config = dir
        .write(
            "lbdns.toml",
            "[geo]\n[[geo.location]]\nname = \"eu\"\n\
             [[geo.subnet]]\nprefix = \"198.18.100.0/24\"\nlocation = \"eu\"\n\
             [[pool]]\nname = \"lb.pool.test.\"\nttl = 20\n\
             [[pool.endpoint]]\naddress = \"198.18.61.1\"\n\
             [[pool.endpoint]]\naddress = \"198.18.61.2\"\n\
             [[pool]]\nname = \"geo.pool.test.\"\nttl = 20\npolicy = \"geo\"\n\
             [[pool.endpoint]]\naddress = \"198.18.62.1\"\nlocation = \"eu\"\n",
        )
        .expect("config");
    let config_arg = config.display().to_string();
    let setup = Setup::with(&[&zone], &["--config", &config_arg]);
    for server in setup.topo.server_addrs(53) {
        let (reply, moved) = setup.ask(Tool::Kdig, server, &Query::new("lb.pool.test", "A"));
        assert_eq!(
            moved,
            BTreeMap::from([("answered_a".to_owned(), 1)]),
            "{reply}"
        );
        assert_eq!(reply.answer_rdata("A").len(), 2, "{reply}");

        for owner in ["lb.pool.test", "geo.pool.test"] {
            let query = Query::new(owner, "AAAA");
            let (nodata, moved) = setup.ask(Tool::Kdig, server, &query);
            assert_eq!(
                moved,
                BTreeMap::from([("answered_fixed".to_owned(), 1)]),
                "{owner} AAAA answered by XDP alone\n{nodata}"
            );
            let (tcp, _) = setup.ask(Tool::Kdig, server, &query.clone().tcp());
            assert_eq!(nodata.rcode, "NOERROR", "{nodata}");
            assert!(
                nodata.has_flag("aa") && nodata.answer.is_empty(),
                "{nodata}"
            );
            assert_eq!(nodata.authority, tcp.authority, "{nodata}\n{tcp}");
            assert!(
                matches!(&nodata.authority[..], [soa] if soa.rtype == "SOA"),
                "{nodata}"
            );
        }
    }
}

/// A reload of the zone with one name's address changed writes that name's answer set alone,
/// as the log counts it, and the program answers the new address.
#[test]
fn a_reload_of_one_changed_name_writes_its_answer_set_alone() {
    let dir = TempDir::new("xdp-veth-one-name").expect("temp dir");
    let zone = dir.write("big.test.zone", &big_zone(300)).expect("zone");
    let setup = Setup::with(&[&zone], &[]);
    let changed = big_zone(300).replace("h7 60 A 198.18.100.8\n", "h7 60 A 198.19.7.7\n");
    assert_ne!(changed, big_zone(300));
    dir.write("big.test.zone", &changed).expect("zone");
    setup
        .server
        .control(&["reload"])
        .unwrap_or_else(|error| panic!("{error:#}"));
    // `lbdns reload` returns once both paths serve the new zone.
    let log = setup.server.stderr();
    let published = log
        .lines()
        .take_while(|line| !line.contains("reload published to both paths"))
        .filter(|line| line.contains("XDP maps published"))
        .last()
        .unwrap_or_else(|| panic!("no publish logged before the reload's end:\n{log}"));
    assert!(
        published.contains("scope=\"part\"")
            && published.contains(" written=1 ")
            && published.contains(" removed=0 "),
        "{published}"
    );

    let (reply, moved) = setup.ask(
        Tool::Kdig,
        setup.topo.server_v4_addr(53),
        &Query::new("h7.big.test", "A"),
    );
    assert_eq!(
        moved,
        BTreeMap::from([("answered_a".to_owned(), 1)]),
        "{reply}"
    );
    let addresses: Vec<&str> = reply.answer.iter().map(|r| r.rdata.as_str()).collect();
    assert_eq!(addresses, ["198.19.7.7"], "{reply}");
}

/// Two locations and a geo pool: eu for 198.18.100.0/24 and 2001:db8:100::/48, us for
/// 198.18.101.0/24 and a /26 inside eu's /24 at 198.18.100.128.
const GEO_CONFIG: &str = r#"[geo]
[[geo.location]]
name = "eu"
fallback = ["us"]
[[geo.location]]
name = "us"
[[geo.subnet]]
prefix = "198.18.100.0/24"
location = "eu"
[[geo.subnet]]
prefix = "198.18.100.128/26"
location = "us"
[[geo.subnet]]
prefix = "198.18.101.0/24"
location = "us"
[[geo.subnet]]
prefix = "2001:db8:100::/48"
location = "eu"

[[pool]]
name = "www.geo.test."
ttl = 20
policy = "geo"
[[pool.endpoint]]
address = "198.18.60.1"
location = "eu"
[[pool.endpoint]]
address = "198.18.60.2"
location = "us"
[[pool.endpoint]]
address = "2001:db8:60::1"
location = "eu"
[[pool.endpoint]]
address = "2001:db8:60::2"
location = "us"
"#;

/// Issue 18 at the NIC, native mode: kdig from client addresses in different mapped subnets
/// (added to the client's veth) gets each its own location's endpoint, and `+subnet=` steers
/// as the ECS option says, with the reply's scope the map's (RFC 7871 §7.2.1), every answer
/// from the program.
#[test]
fn rfc7871_geo_clients_get_their_locations_endpoints_from_xdp() {
    pin_to_cpu0().expect("pin to CPU 0");
    let dir = TempDir::new("xdp-veth-geo").expect("temp dir");
    let zone = dir
        .write("geo.test.zone", &apex_only_zone("geo.test"))
        .expect("zone");
    let config = dir.write("lbdns.toml", GEO_CONFIG).expect("config");
    let config_arg = config.display().to_string();
    let setup = Setup::with(&[&zone], &["--config", &config_arg]);
    let topo = &setup.topo;
    for client in ["198.18.100.2", "198.18.100.130", "198.18.101.2"] {
        topo.client
            .ip(&[
                "addr",
                "add",
                &format!("{client}/32"),
                "dev",
                Topology::CLIENT_IF,
            ])
            .expect("client address");
    }
    topo.client
        .ip(&[
            "addr",
            "add",
            "2001:db8:100::2/128",
            "dev",
            Topology::CLIENT_IF,
            "nodad",
        ])
        .expect("client address");
    for route in ["198.18.100.0/23", "2001:db8:100::/48"] {
        topo.server
            .ip(&["route", "add", route, "dev", Topology::SERVER_IF])
            .expect("route to the clients");
    }
    let v4 = topo.server_v4_addr(53);
    let v6 = topo.server_v6_addr(53);
    for (from, server, rtype, subnet, want, scope) in [
        ("198.18.100.2", v4, "A", None, "198.18.60.1", None),
        ("198.18.100.130", v4, "A", None, "198.18.60.2", None),
        ("198.18.101.2", v4, "A", None, "198.18.60.2", None),
        ("198.18.101.2", v4, "AAAA", None, "2001:db8:60::2", None),
        ("2001:db8:100::2", v6, "AAAA", None, "2001:db8:60::1", None),
        (
            "198.18.101.2",
            v4,
            "A",
            Some("198.18.100.0/24"),
            "198.18.60.1",
            // eu's /24 holds eu only up to its /25 before the us /26.
            Some("198.18.100.0/24/25"),
        ),
        (
            "198.18.100.2",
            v4,
            "A",
            Some("198.18.101.0/24"),
            "198.18.60.2",
            Some("198.18.101.0/24/24"),
        ),
        (
            "198.18.100.2",
            v4,
            "A",
            Some("198.18.100.128/26"),
            // Cut to the /24 cap, 198.18.100.0 is eu's; the scope claims no more than the
            // bits used.
            "198.18.60.1",
            Some("198.18.100.128/26/24"),
        ),
        (
            "198.18.100.2",
            v4,
            "A",
            Some("2001:db8:100::/56"),
            "198.18.60.1",
            Some("2001:db8:100::/56/48"),
        ),
    ] {
        let mut query = Query::new("www.geo.test", rtype)
            .edns(1232)
            .arg("-b")
            .arg(from);
        if let Some(subnet) = subnet {
            query = query.arg(&format!("+subnet={subnet}"));
        }
        let what = format!("{rtype} from {from}, ECS {subnet:?}");
        let (reply, moved) = setup.ask(Tool::Kdig, server, &query);
        let counter = if rtype == "A" {
            "answered_a"
        } else {
            "answered_aaaa"
        };
        assert_eq!(
            moved,
            BTreeMap::from([(counter.to_owned(), 1)]),
            "{what}: answered by XDP alone\n{reply}"
        );
        assert_eq!(reply.answer_rdata(rtype), [want], "{what}\n{reply}");
        match scope {
            Some(scope) => assert!(
                reply.text.contains(&format!("CLIENT-SUBNET: {scope}")),
                "{what}: scope {scope}\n{reply}"
            ),
            None => assert!(
                !reply.text.contains("CLIENT-SUBNET"),
                "{what}: no ECS without ECS\n{reply}"
            ),
        }
    }
}

/// Issue 18's fallback at the NIC: when eu's backend stops passing its checks, eu's clients get
/// us's endpoint from the program within `interval × fall + 1 s`, and eu's again once it is
/// back. The backends are TCP listeners in the server namespace on the endpoints' addresses.
#[test]
fn geo_clients_move_to_the_fallback_location_when_theirs_is_down() {
    use std::net::TcpListener;
    use std::time::Instant;

    pin_to_cpu0().expect("pin to CPU 0");
    const CHECK: &str = "[pool.check]\ntype = \"tcp\"\nport = 8053\ninterval = \"200ms\"\n\
                         timeout = \"100ms\"\nrise = 2\nfall = 3\n";
    let bound = Duration::from_millis(200) * 3 + Duration::from_secs(1);
    let dir = TempDir::new("xdp-veth-geo-down").expect("temp dir");
    let zone = dir
        .write("geo.test.zone", &apex_only_zone("geo.test"))
        .expect("zone");
    let config = GEO_CONFIG.replace("policy = \"geo\"\n", &format!("policy = \"geo\"\n{CHECK}"));
    let config = dir.write("lbdns.toml", &config).expect("config");
    let config_arg = config.display().to_string();
    preflight(&["kdig"]).unwrap_or_else(|error| panic!("{error:#}"));
    let topo = Topology::new().expect("namespaces");
    for backend in ["198.18.60.1/32", "198.18.60.2/32"] {
        topo.server
            .ip(&["addr", "add", backend, "dev", "lo"])
            .expect("backend address");
    }
    let listen = |ns: &Namespace, addr: &'static str| {
        ns.enter(move || TcpListener::bind((addr, 8053)).expect("backend"))
            .expect("enter the server namespace")
    };
    let eu = listen(&topo.server, "198.18.60.1");
    let _us = listen(&topo.server, "198.18.60.2");
    let setup = {
        let peer = PeerProgram::attach(&topo.client).unwrap_or_else(|error| panic!("{error:#}"));
        let args = [
            "--xdp",
            Topology::SERVER_IF,
            "--xdp-mode",
            "native",
            "--config",
            &config_arg,
        ];
        let server = Server::lbdns_with(&topo, &[&zone], &topo.server_addrs(53), &args)
            .unwrap_or_else(|error| panic!("{error:#}"));
        Setup {
            server,
            _peer: peer,
            topo,
        }
    };
    let topo = &setup.topo;
    topo.client
        .ip(&["addr", "add", "198.18.100.2/32", "dev", Topology::CLIENT_IF])
        .expect("client address");
    topo.server
        .ip(&[
            "route",
            "add",
            "198.18.100.0/23",
            "dev",
            Topology::SERVER_IF,
        ])
        .expect("route to the clients");
    let v4 = topo.server_v4_addr(53);
    let ask = || {
        let query = Query::new("www.geo.test", "A")
            .arg("-b")
            .arg("198.18.100.2");
        let (reply, moved) = setup.ask(Tool::Kdig, v4, &query);
        assert_eq!(
            moved,
            BTreeMap::from([("answered_a".to_owned(), 1)]),
            "answered by XDP alone\n{reply}"
        );
        reply.answer_rdata("A")
    };
    // Each step polls until the answer is the one expected, within its bound.
    let wait_for = |want: &str, within: Duration| {
        let deadline = Instant::now() + within;
        loop {
            let got = ask();
            if got == [want] {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still {got:?}, not {want}, after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // Both backends pass their checks at start.
    wait_for("198.18.60.1", Duration::from_secs(5));
    drop(eu);
    wait_for("198.18.60.2", bound);
    let _eu = listen(&topo.server, "198.18.60.1");
    wait_for(
        "198.18.60.1",
        Duration::from_millis(200) * 2 + Duration::from_secs(1),
    );
}
