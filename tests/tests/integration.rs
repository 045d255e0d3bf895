//! End-to-end tests: the real `lbdns serve` in a server namespace, queried with kdig/dig (and
//! raw sockets where the tools cannot express the check) from a client namespace, over UDP and
//! TCP, IPv4 and IPv6. Every expectation is about `zones/example.com.zone`.
//!
//! `LBDNS_TEST_SERVER=nsd` runs the same assertions against NSD, to validate the suite itself.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use lbdns_tests::client::{udp_query, TcpConn};
use lbdns_tests::env::{run_bounded, Output};
use lbdns_tests::wire::{rtype, Builder};
use lbdns_tests::{
    dig, example_zone, lbdns_bin, preflight, DigResponse, Namespace, Query, Record, Server,
    TempDir, Topology,
};

use lbdns_tests::env::{EXAMPLE_WWW_A as WWW_A, EXAMPLE_WWW_AAAA as WWW_AAAA};
const TIMEOUT: Duration = Duration::from_secs(3);

/// Root, tools, namespaces and a ready server on port 53 of both server addresses.
fn setup() -> Result<(Topology, Server)> {
    preflight(&["kdig", "dig"])?;
    let topo = Topology::new()?;
    let server = Server::example_under_test(&topo)?;
    Ok((topo, server))
}

fn set(v: &[String]) -> BTreeSet<&str> {
    v.iter().map(String::as_str).collect()
}

/// Authoritative NOERROR whose answer is exactly `want` (any order) for `rt`.
fn expect_answer(r: &DigResponse, rt: &str, want: &[&str]) -> Result<()> {
    ensure!(r.rcode == "NOERROR", "rcode {} != NOERROR:\n{r}", r.rcode);
    ensure!(r.has_flag("aa"), "AA flag missing:\n{r}");
    ensure!(r.has_flag("qr"), "QR flag missing:\n{r}");
    let got = r.answer_rdata(rt);
    ensure!(
        got.len() == want.len() && set(&got) == want.iter().copied().collect(),
        "{rt} answer {got:?}, want {want:?} (any order):\n{r}"
    );
    Ok(())
}

/// Authoritative negative answer (`rcode`) with only the zone's SOA in authority, carrying
/// the negative-caching TTL min(SOA TTL 300, MINIMUM 60) = 60 (RFC 2308 section 3).
fn expect_negative(r: &DigResponse, rcode: &str) -> Result<()> {
    ensure!(r.rcode == rcode, "rcode {} != {rcode}:\n{r}", r.rcode);
    ensure!(r.has_flag("aa"), "AA flag missing:\n{r}");
    ensure!(r.answer.is_empty(), "answer section not empty:\n{r}");
    let soa: Vec<&Record> = r.authority.iter().filter(|x| x.rtype == "SOA").collect();
    ensure!(soa.len() == 1, "want exactly one SOA in authority:\n{r}");
    ensure!(
        soa[0].name.eq_ignore_ascii_case("example.com."),
        "SOA owner {}:\n{r}",
        soa[0].name
    );
    ensure!(
        soa[0]
            .rdata
            .starts_with("ns1.example.com. hostmaster.example.com. 2026112101 "),
        "SOA rdata {}:\n{r}",
        soa[0].rdata
    );
    ensure!(
        soa[0].ttl == 60,
        "negative SOA TTL {} != 60:\n{r}",
        soa[0].ttl
    );
    Ok(())
}

#[test]
fn www_a_over_udp_tcp_ipv4_ipv6() -> Result<()> {
    let (topo, _server) = setup()?;
    for addr in topo.server_addrs(53) {
        for tcp in [false, true] {
            let mut q = Query::new("www.example.com", "A");
            if tcp {
                q = q.tcp();
            }
            let r = topo.kdig(addr, &q)?;
            expect_answer(&r, "A", &WWW_A).with_context(|| format!("{addr} tcp={tcp}"))?;
            ensure!(r.answer.iter().all(|a| a.ttl == 60), "TTL != 60:\n{r}");
            ensure!(!r.has_flag("tc"), "TC set on a small answer:\n{r}");
        }
    }
    Ok(())
}

/// The index of `got` as a rotation of `zone`, if it is one.
fn rotation(zone: &[&str], got: &[String]) -> Option<usize> {
    let n = zone.len();
    (got.len() == n).then_some(())?;
    (0..n).find(|k| (0..n).all(|i| got[i] == zone[(i + k) % n]))
}

fn check_round_robin(
    topo: &Topology,
    addr: SocketAddr,
    name: &str,
    rt: &str,
    zone: &[&str],
) -> Result<()> {
    let mut offsets = Vec::new();
    for _ in 0..(2 * zone.len() + 1) {
        let r = topo.kdig(addr, &Query::new(name, rt))?;
        let got = r.answer_rdata(rt);
        let k = rotation(zone, &got)
            .with_context(|| format!("{name} {rt}: {got:?} is not a rotation of {zone:?}:\n{r}"))?;
        offsets.push(k);
    }
    let n = zone.len();
    let steps: BTreeSet<usize> = offsets.windows(2).map(|w| (w[1] + n - w[0]) % n).collect();
    ensure!(
        steps.len() == 1 && (steps.contains(&1) || steps.contains(&(n - 1))),
        "{name} {rt}: successive answers must rotate by one in a fixed direction; \
         rotation offsets of successive answers were {offsets:?}"
    );
    Ok(())
}

#[test]
fn round_robin_rotates_by_one() -> Result<()> {
    let (topo, _server) = setup()?;
    let addr = topo.server_v4_addr(53);
    check_round_robin(&topo, addr, "www.example.com", "A", &WWW_A)?;
    check_round_robin(&topo, addr, "www.example.com", "AAAA", &WWW_AAAA)?;
    check_round_robin(
        &topo,
        addr,
        "api.example.com",
        "A",
        &["198.18.2.1", "198.18.2.2", "198.18.2.3"],
    )
}

#[test]
fn aaaa_records() -> Result<()> {
    let (topo, _server) = setup()?;
    let r = topo.kdig(
        topo.server_v6_addr(53),
        &Query::new("www.example.com", "AAAA"),
    )?;
    expect_answer(&r, "AAAA", &WWW_AAAA)?;
    let r = topo.kdig(
        topo.server_v4_addr(53),
        &Query::new("ns2.example.com", "AAAA").tcp(),
    )?;
    expect_answer(&r, "AAAA", &["2001:db8::54"])
}

#[test]
fn nxdomain_carries_soa() -> Result<()> {
    let (topo, _server) = setup()?;
    for q in [
        Query::new("nope.example.com", "A"),
        Query::new("deep.nope.example.com", "AAAA").tcp(),
    ] {
        let r = topo.kdig(topo.server_v4_addr(53), &q)?;
        expect_negative(&r, "NXDOMAIN").with_context(|| format!("{} {}", q.name, q.rtype))?;
    }
    Ok(())
}

#[test]
fn nodata_carries_soa() -> Result<()> {
    let (topo, _server) = setup()?;
    // mail has only an A record; apps.example.com is an empty non-terminal (only *.apps
    // below it), which exists and so is NODATA, not NXDOMAIN (RFC 8020).
    for (name, rt) in [
        ("mail.example.com", "AAAA"),
        ("www.example.com", "MX"),
        ("apps.example.com", "A"),
    ] {
        let r = topo.kdig(topo.server_v6_addr(53), &Query::new(name, rt))?;
        expect_negative(&r, "NOERROR").with_context(|| format!("{name} {rt}"))?;
    }
    Ok(())
}

#[test]
fn cname_chain_is_followed() -> Result<()> {
    let (topo, _server) = setup()?;
    for addr in topo.server_addrs(53) {
        let r = topo.kdig(addr, &Query::new("alias.example.com", "A"))?;
        ensure!(
            r.rcode == "NOERROR" && r.has_flag("aa"),
            "want AA NOERROR:\n{r}"
        );
        let chain: Vec<(String, String)> = r
            .answer
            .iter()
            .filter(|x| x.rtype == "CNAME")
            .map(|x| (x.name.to_ascii_lowercase(), x.rdata.to_ascii_lowercase()))
            .collect();
        let want = [
            ("alias.example.com.", "web.example.com."),
            ("web.example.com.", "www.example.com."),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()));
        ensure!(
            chain == want,
            "CNAME chain {chain:?}, want {want:?} first:\n{r}"
        );
        ensure!(
            r.answer[..2].iter().all(|x| x.rtype == "CNAME"),
            "CNAMEs must precede the A records:\n{r}"
        );
        let a: Vec<&Record> = r.answer.iter().filter(|x| x.rtype == "A").collect();
        ensure!(
            a.len() == 4
                && a.iter()
                    .all(|x| x.name.eq_ignore_ascii_case("www.example.com.")),
            "want the 4 www A records owned by www.example.com.:\n{r}"
        );
    }
    // Asking for the CNAME itself returns just it.
    let r = topo.kdig(
        topo.server_v4_addr(53),
        &Query::new("web.example.com", "CNAME"),
    )?;
    expect_answer(&r, "CNAME", &["www.example.com."])
}

#[test]
fn wildcard_synthesises_records() -> Result<()> {
    let (topo, _server) = setup()?;
    let addr = topo.server_v4_addr(53);
    for name in ["x.apps.example.com", "deep.er.apps.example.com"] {
        let r = topo.kdig(addr, &Query::new(name, "A"))?;
        expect_answer(&r, "A", &["198.18.4.1"])?;
        ensure!(
            r.answer[0].name.eq_ignore_ascii_case(&format!("{name}.")),
            "synthesised owner must be the query name {name}:\n{r}"
        );
        let r = topo.kdig(addr, &Query::new(name, "TXT").tcp())?;
        expect_answer(&r, "TXT", &["\"wildcard\""])?;
    }
    let r = topo.kdig(addr, &Query::new("x.apps.example.com", "AAAA"))?;
    expect_negative(&r, "NOERROR").context("wildcard NODATA")
}

#[test]
fn delegation_gives_referral_with_glue() -> Result<()> {
    let (topo, _server) = setup()?;
    for (name, rt) in [
        ("host.sub.example.com", "A"),
        ("sub.example.com", "NS"),
        ("ns.sub.example.com", "A"),
    ] {
        let r = topo.kdig(topo.server_v4_addr(53), &Query::new(name, rt))?;
        let ctx = format!("{name} {rt}");
        ensure!(r.rcode == "NOERROR", "{ctx}: rcode {}:\n{r}", r.rcode);
        ensure!(!r.has_flag("aa"), "{ctx}: a referral must not set AA:\n{r}");
        ensure!(r.answer.is_empty(), "{ctx}: referral has no answers:\n{r}");
        let ns: Vec<&Record> = r.authority.iter().filter(|x| x.rtype == "NS").collect();
        ensure!(
            ns.len() == 1
                && ns[0].name.eq_ignore_ascii_case("sub.example.com.")
                && ns[0].rdata.eq_ignore_ascii_case("ns.sub.example.com."),
            "{ctx}: want NS sub.example.com. -> ns.sub.example.com. in authority:\n{r}"
        );
        ensure!(
            !r.authority.iter().any(|x| x.rtype == "SOA"),
            "{ctx}: no SOA in a referral:\n{r}"
        );
        ensure!(
            r.additional.iter().any(|x| x.rtype == "A"
                && x.name.eq_ignore_ascii_case("ns.sub.example.com.")
                && x.rdata == "198.18.5.53"),
            "{ctx}: glue ns.sub.example.com. A 198.18.5.53 missing from additional:\n{r}"
        );
    }
    Ok(())
}

#[test]
fn out_of_zone_is_refused() -> Result<()> {
    let (topo, _server) = setup()?;
    for name in ["www.example.org", "com", ".", "example.com.evil.test"] {
        for addr in topo.server_addrs(53) {
            let r = topo.kdig(addr, &Query::new(name, "A"))?;
            ensure!(
                r.rcode == "REFUSED",
                "{name} via {addr}: rcode {}:\n{r}",
                r.rcode
            );
            ensure!(!r.has_flag("aa"), "{name}: REFUSED must not set AA:\n{r}");
            ensure!(r.answer.is_empty(), "{name}: REFUSED with answers:\n{r}");
        }
    }
    Ok(())
}

#[test]
fn mixed_case_qname_is_echoed() -> Result<()> {
    let (topo, _server) = setup()?;
    // dig sends the name as typed (kdig lower-cases it).
    let name = "wWw.ExAmPlE.cOm";
    let r = topo.dig(topo.server_v4_addr(53), &Query::new(name, "A"))?;
    expect_answer(&r, "A", &WWW_A)?;
    ensure!(
        r.question.first().map(|q| q.name.as_str()) == Some("wWw.ExAmPlE.cOm."),
        "question not echoed byte for byte (0x20):\n{r}"
    );
    // Byte-exact check of the question section with our own wire code, over UDP and TCP.
    let q = Builder::query(0x2020, "aPi.eXaMPle.COM", rtype::A).build();
    let question = &q[12..];
    let udp = udp_query(&topo.client, topo.server_v6_addr(53), &q, TIMEOUT, 3)?;
    let tcp = {
        let mut c = TcpConn::connect(&topo.client, topo.server_v6_addr(53), TIMEOUT)?;
        c.send_msg(&q)?;
        c.recv_msg(TIMEOUT)?
    };
    for (proto, m) in [("udp", udp), ("tcp", tcp)] {
        ensure!(m.header.id == 0x2020, "{proto}: id {}", m.header.id);
        ensure!(
            m.wire.get(12..12 + question.len()) == Some(question),
            "{proto}: question bytes differ from the query's:\n{m}"
        );
        ensure!(m.answers.len() == 3, "{proto}: want 3 api A records:\n{m}");
    }
    Ok(())
}

#[test]
fn any_query_gets_minimal_answer() -> Result<()> {
    let (topo, _server) = setup()?;
    // The apex owns SOA, NS, MX, TXT and CAA; www owns A and AAAA. RFC 8482 section 4: answer
    // with one RRset (or a synthesised HINFO), never everything, over UDP.
    for name in ["example.com", "www.example.com"] {
        let r = topo.kdig(topo.server_v4_addr(53), &Query::new(name, "ANY"))?;
        ensure!(r.rcode == "NOERROR", "{name} ANY: rcode {}:\n{r}", r.rcode);
        ensure!(!r.answer.is_empty(), "{name} ANY: empty answer:\n{r}");
        let rrsets: BTreeSet<(String, &str)> = r
            .answer
            .iter()
            .map(|x| (x.name.to_ascii_lowercase(), x.rtype.as_str()))
            .collect();
        ensure!(
            rrsets.len() == 1,
            "{name} ANY: want one RRset, got {rrsets:?}:\n{r}"
        );
        let is_hinfo = r.answer[0].rtype == "HINFO";
        ensure!(
            !is_hinfo || (r.answer.len() == 1 && r.answer[0].rdata.contains("RFC8482")),
            "{name} ANY: synthesised HINFO must be the single RFC8482 record:\n{r}"
        );
    }
    Ok(())
}

#[test]
fn edns_is_echoed_with_payload_1232() -> Result<()> {
    let (topo, _server) = setup()?;
    for addr in topo.server_addrs(53) {
        for q in [
            Query::new("www.example.com", "A").edns(4096),
            Query::new("www.example.com", "A").edns(512).tcp(),
            Query::new("nope.example.com", "A").edns(1400),
        ] {
            let r = topo.kdig(addr, &q)?;
            let ctx = format!("{} {} via {addr}", q.name, q.rtype);
            ensure!(
                r.edns_version == Some(0),
                "{ctx}: response lacks an EDNS(0) OPT:\n{r}"
            );
            ensure!(
                r.edns_udp == Some(1232),
                "{ctx}: OPT payload {:?} != 1232:\n{r}",
                r.edns_udp
            );
        }
        // No OPT in the query: none in the response (RFC 6891 section 7).
        let r = topo.kdig(addr, &Query::new("www.example.com", "A"))?;
        ensure!(
            r.edns_udp.is_none(),
            "OPT in response to a non-EDNS query:\n{r}"
        );
    }
    Ok(())
}

#[test]
fn edns_unknown_version_is_badvers() -> Result<()> {
    let (topo, _server) = setup()?;
    let q = Query::new("www.example.com", "A").edns(1232).arg("+edns=1");
    let r = topo.kdig(topo.server_v4_addr(53), &q)?;
    ensure!(
        r.rcode == "BADVERS",
        "EDNS version 1 must get BADVERS (RFC 6891 6.1.3):\n{r}"
    );
    ensure!(
        r.edns_version == Some(0),
        "BADVERS response must carry OPT version 0:\n{r}"
    );
    ensure!(r.answer.is_empty(), "BADVERS with answers:\n{r}");
    Ok(())
}

#[test]
fn tcp_several_queries_on_one_connection() -> Result<()> {
    let (topo, _server) = setup()?;
    // kdig reuses one connection for all questions with +keepopen.
    let qs = [
        Query::new("www.example.com", "A"),
        Query::new("mail.example.com", "A"),
        Query::new("nope.example.com", "A"),
    ];
    let rs = dig::kdig_keepopen(&topo.client, topo.server_v6_addr(53), &qs)?;
    expect_answer(&rs[0], "A", &WWW_A)?;
    expect_answer(&rs[1], "A", &["198.18.3.25"])?;
    expect_negative(&rs[2], "NXDOMAIN")?;
    // Pipelined with our own client: three frames written back to back on one connection;
    // replies may come in any order (RFC 7766 section 7) and are matched by ID.
    let mut c = TcpConn::connect(&topo.client, topo.server_v4_addr(53), TIMEOUT)?;
    let sent = [
        (0x0101, "www.example.com", rtype::A, 4),
        (0x0202, "api.example.com", rtype::A, 3),
        (0x0303, "ns2.example.com", rtype::AAAA, 1),
    ];
    let mut burst = Vec::new();
    for (id, name, t, _) in sent {
        burst.extend(lbdns_tests::wire::tcp_frame(
            &Builder::query(id, name, t).build(),
        ));
    }
    c.send_raw(&burst)?;
    let mut seen = BTreeSet::new();
    for _ in 0..sent.len() {
        let m = c.recv_msg(TIMEOUT)?;
        let (_, name, _, n) = sent
            .iter()
            .find(|s| s.0 == m.header.id)
            .with_context(|| format!("reply with unknown id:\n{m}"))?;
        ensure!(m.answers.len() == *n, "{name}: want {n} answers:\n{m}");
        ensure!(seen.insert(m.header.id), "duplicate reply:\n{m}");
    }
    // The connection is still usable afterwards.
    c.send_msg(&Builder::query(0x0404, "mail.example.com", rtype::A).build())?;
    let m = c.recv_msg(TIMEOUT)?;
    ensure!(
        m.header.id == 0x0404 && m.answers.len() == 1,
        "fourth query on the connection:\n{m}"
    );
    Ok(())
}

#[test]
fn dig_agrees() -> Result<()> {
    let (topo, _server) = setup()?;
    let r = topo.dig(
        topo.server_v6_addr(53),
        &Query::new("alias.example.com", "A").tcp(),
    )?;
    ensure!(r.rcode == "NOERROR" && r.has_flag("aa"), "dig alias:\n{r}");
    ensure!(
        r.answer_rdata("CNAME").len() == 2 && r.answer_rdata("A").len() == 4,
        "dig alias:\n{r}"
    );
    let r = topo.dig(
        topo.server_v4_addr(53),
        &Query::new("nope.example.com", "TXT").edns(1232),
    )?;
    expect_negative(&r, "NXDOMAIN")?;
    ensure!(
        r.edns_udp == Some(1232),
        "dig: OPT payload {:?}:\n{r}",
        r.edns_udp
    );
    let r = topo.dig(
        topo.server_v4_addr(53),
        &Query::new("_sip._udp.example.com", "SRV"),
    )?;
    expect_answer(&r, "SRV", &["10 60 5060 www.example.com."])
}

#[test]
fn large_answers_truncate_over_udp() -> Result<()> {
    preflight(&[])?;
    let dir = TempDir::new("big-zone")?;
    let mut zone = String::from("$ORIGIN big.test.\n$TTL 300\n@ IN SOA ns hm 1 2 3 4 60\n");
    zone.push_str("@ IN NS ns\nns IN A 198.18.9.9\n");
    for i in 0..60 {
        zone.push_str(&format!(
            "txt IN TXT \"record {i:02} padded to make the RRset large\"\n"
        ));
    }
    let zone = dir.write("big.zone", &zone)?;
    let topo = Topology::new()?;
    let _server = match std::env::var("LBDNS_TEST_SERVER").as_deref() {
        Ok("nsd") => Server::nsd(&topo, &[("big.test.", &zone)], &topo.server_addrs(53))?,
        _ => Server::lbdns(&topo, &[&zone], &topo.server_addrs(53))?,
    };
    let addr = topo.server_v4_addr(53);
    // The 60 TXT records need about 3 KB: over UDP they must be truncated (TC=1) to fit the
    // client's limit (512 without EDNS, RFC 1035 4.2.1; the advertised size with EDNS), and a
    // truncated answer must say so.
    for (edns, limit) in [(None, 512), (Some(1232u16), 1232), (Some(4096), 4096)] {
        let mut b = Builder::query(0x7c00, "txt.big.test", rtype::TXT);
        if let Some(size) = edns {
            b = b.edns(size);
        }
        let m = udp_query(&topo.client, addr, &b.build(), TIMEOUT, 3)?;
        ensure!(
            m.wire.len() <= limit,
            "UDP edns={edns:?}: {} bytes > {limit}",
            m.wire.len()
        );
        // With 4096 the whole answer may fit; otherwise it must be marked truncated.
        let complete = m.answers.len() == 60;
        ensure!(
            m.header.tc() != complete && (limit == 4096 || !complete),
            "UDP edns={edns:?}: want TC=1 on a truncated answer ({} of 60 TXT):\n{m}",
            m.answers.len()
        );
        ensure!(
            m.rcode() == 0,
            "UDP edns={edns:?}: rcode {}:\n{m}",
            m.rcode()
        );
    }
    let q = Builder::query(0x7c01, "txt.big.test", rtype::TXT).build();
    let m = lbdns_tests::client::tcp_query(&topo.client, addr, &q, TIMEOUT)?;
    ensure!(
        !m.header.tc() && m.answers.len() == 60,
        "TCP: want all 60 TXT, no TC:\n{m}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Zone validation: `lbdns check` and `serve` on broken zones.

/// A zone whose only error is on line 6.
const BROKEN_ZONE: &str = "$ORIGIN broken.test.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 1209600 60
@    IN NS  ns1
ns1  IN A   198.18.0.53
www  IN A   198.18.999.1
";

fn lbdns_check(zones: &[&std::path::Path]) -> Result<Output> {
    let mut cmd = std::process::Command::new(lbdns_bin()?);
    cmd.arg("check");
    for z in zones {
        cmd.arg("--zone").arg(z);
    }
    run_bounded(&mut cmd, Duration::from_secs(30))
}

#[test]
fn check_accepts_example_zone() -> Result<()> {
    let out = lbdns_check(&[&example_zone()])?;
    ensure!(
        out.status.success(),
        "check on the example zone failed ({}):\n{}",
        out.status,
        out.combined()
    );
    Ok(())
}

#[test]
fn check_reports_file_and_line() -> Result<()> {
    let dir = TempDir::new("check")?;
    let broken = dir.write("broken.zone", BROKEN_ZONE)?;
    let out = lbdns_check(&[&example_zone(), &broken])?;
    ensure!(
        !out.status.success(),
        "check accepted a broken zone:\n{}",
        out.combined()
    );
    let want = format!("{}:6:", broken.display());
    ensure!(
        out.combined().lines().any(|l| l.contains(&want)),
        "check output lacks `{want} message`:\n{}",
        out.combined()
    );
    ensure!(
        !out.combined().contains("example.com.zone:"),
        "check blamed the valid example zone:\n{}",
        out.combined()
    );
    Ok(())
}

#[test]
fn serve_refuses_broken_zone() -> Result<()> {
    preflight(&[])?;
    let dir = TempDir::new("serve-broken")?;
    let broken = dir.write("broken.zone", BROKEN_ZONE)?;
    // In a namespace of its own so that, should it start anyway, it binds nothing real.
    let ns = Namespace::new("brk")?;
    let mut cmd = ns.command(lbdns_bin()?);
    cmd.args(["serve", "--listen", "127.0.0.1:53", "--zone"])
        .arg(&broken);
    let out = run_bounded(&mut cmd, Duration::from_secs(30))
        .context("serve kept running with a broken zone")?;
    ensure!(
        !out.status.success(),
        "serve exited 0 with a broken zone:\n{}",
        out.combined()
    );
    ensure!(
        out.combined().contains("broken.zone"),
        "serve's error does not name the broken file:\n{}",
        out.combined()
    );
    Ok(())
}

#[test]
fn serve_exits_on_sigterm() -> Result<()> {
    let (_topo, mut server) = setup()?;
    let status = server.stop()?;
    ensure!(
        status.success() || std::os::unix::process::ExitStatusExt::signal(&status).is_some(),
        "unexpected exit status after SIGTERM: {status}; stderr:\n{}",
        server.stderr()
    );
    Ok(())
}
