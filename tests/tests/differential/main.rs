//! Differential test: lbdns against NSD, the reference authoritative server.
//!
//! Both servers load the same zones (`zones/example.com.zone` plus the zones in
//! `tests/corpus/`) inside the server namespace of a [`Topology`]; every query of
//! `tests/corpus/queries.txt` is sent from the client namespace to each of them, and the two
//! replies must agree on rcode, header flags, the echoed question, EDNS, and the answer,
//! authority and additional sections compared as sets of records with their TTLs.
//!
//! Why sets: record order within a section carries no meaning for an authoritative answer
//! (RFC 2181 §5 makes an RRset unordered), and lbdns deliberately rotates multi-record
//! A/AAAA RRsets, so sections are sorted before comparison. Names are compared caselessly
//! (RFC 4343) except the question, which must come back byte for byte (RFC 1035 §7.3 and the
//! 0x20 case-randomisation resolvers use).
//!
//! Where the two servers legitimately differ the test does not paper over it with a blanket
//! ignore: each divergence is listed in [`DIVERGENCES`] with the RFC text that allows both
//! behaviours, and it is reconciled only where the query and both replies show exactly that
//! difference; anything else left over fails the query.
//!
//! Each corpus runs twice: against lbdns's sockets alone, and with lbdns's XDP program attached
//! in native mode to the server's veth end ([`Mode::Xdp`]), where the answers the program gives
//! must agree with NSD just the same, and `fastpath.rs` proves from the program's counters that
//! it answered every query it must rather than passing them all to the sockets.
//!
//! `LBDNS_DIFF_VERBOSE=1` prints every query with both replies (with `--nocapture`), and
//! `LBDNS_TEST_SERVER=nsd` puts a second NSD in lbdns's place to check the machinery itself.
//!
//! Replies are decoded record by record with hickory-proto's name and RDATA decoders, but the
//! message walk is our own: hickory's whole-message decoder rejects records with empty RDATA
//! (it takes them for RFC 2136 update prerequisites), which an unknown type in RFC 3597 form
//! legitimately has.

mod compare;
mod corpus;
mod decode;
mod divergences;
mod exchange;
mod fastpath;
#[path = "../support/peer.rs"]
mod peer;
mod presentation;
mod reply;
mod servers;
mod signed;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::wire::{flag, Builder};
use lbdns_tests::{preflight, Topology};

use compare::compare;
use corpus::{encode_name, load_corpus, load_dnssec_corpus, load_identity_corpus, Case};
use decode::decode;
use divergences::{reconcile, DIVERGENCES};
use exchange::ask;
use fastpath::{FastPathWatch, HotNames};
use reply::{Echo, Outcome};
use servers::{
    start_lbdns_secondary, start_nsd, start_nsd_primary, start_under_test, zone_paths, Mode,
    Running, IDENTITY, LBDNS_PORT, NSD_PORT,
};

/// Bound on the whole corpus run, so a wedged server cannot hang the suite.
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// Per-category tallies for the summary.
#[derive(Debug, Default)]
struct Tally {
    queries: usize,
    agreed: usize,
    reconciled: usize,
}

#[test]
fn lbdns_agrees_with_nsd() -> Result<()> {
    queries_agree(Mode::Sockets)
}

#[test]
fn lbdns_with_native_xdp_agrees_with_nsd() -> Result<()> {
    queries_agree(Mode::Xdp)
}

/// `tests/corpus/queries.txt` against the example zone and the corpus zones.
fn queries_agree(mode: Mode) -> Result<()> {
    preflight(&["nsd"])?;
    let cases = load_corpus()?;
    let zones = zone_paths();
    // Declared before the servers so they are stopped before the namespaces go away.
    let topo = Topology::new()?;
    let nsd = start_nsd(&topo, NSD_PORT, &zones, None)?;
    let lbdns = start_under_test(&topo, &zones, None, mode)?;
    run_corpus(&topo, &cases, &zones, lbdns, nsd, mode)
}

#[test]
fn secondary_zones_from_nsd_agree_with_nsd() -> Result<()> {
    secondary_agrees(Mode::Sockets)
}

#[test]
fn secondary_zones_from_nsd_with_native_xdp_agree_with_nsd() -> Result<()> {
    secondary_agrees(Mode::Xdp)
}

/// lbdns as NSD's secondary (AXFR signed with TSIG, NOTIFY signed): the zones it received
/// answer the corpus as NSD answers from its files.
fn secondary_agrees(mode: Mode) -> Result<()> {
    preflight(&["nsd", "kdig"])?;
    let cases = load_corpus()?;
    let zones = zone_paths();
    let topo = Topology::new()?;
    let nsd = start_nsd_primary(&topo, NSD_PORT, &zones)?;
    let lbdns = start_lbdns_secondary(&topo, &zones, mode)?;
    run_corpus(&topo, &cases, &zones, lbdns, nsd, mode)
}

#[test]
fn lbdns_identity_agrees_with_nsd() -> Result<()> {
    identity_agrees(Mode::Sockets)
}

#[test]
fn lbdns_with_native_xdp_identity_agrees_with_nsd() -> Result<()> {
    identity_agrees(Mode::Xdp)
}

/// Both servers configured with the same identity, version and NSID ([`IDENTITY`]): the
/// CHAOS-class names and the NSID option (RFC 5001) on the queries of `identity.txt`.
fn identity_agrees(mode: Mode) -> Result<()> {
    preflight(&["nsd"])?;
    let cases = load_identity_corpus()?;
    let zones = zone_paths();
    let topo = Topology::new()?;
    let nsd = start_nsd(&topo, NSD_PORT, &zones, Some(&IDENTITY))?;
    let lbdns = start_under_test(&topo, &zones, Some(&IDENTITY), mode)?;
    run_corpus(&topo, &cases, &zones, lbdns, nsd, mode)
}

#[test]
fn signed_zones_agree_with_nsd() -> Result<()> {
    signed_zones_agree(Mode::Sockets)
}

#[test]
fn signed_zones_with_native_xdp_agree_with_nsd() -> Result<()> {
    signed_zones_agree(Mode::Xdp)
}

/// The signed zones (see `signed.rs`), answered with DO=0 and DO=1: signatures, NSEC and NSEC3
/// proofs (opt-out included), DS and DNSKEY, RRSIG queries, truncation.
fn signed_zones_agree(mode: Mode) -> Result<()> {
    preflight(&["nsd", "dnssec-keygen", "dnssec-signzone"])?;
    let signed = signed::sign_test_zones()?;
    let origins: Vec<&str> = signed.zones.iter().map(|(o, _)| o.as_str()).collect();
    let cases = load_dnssec_corpus(&origins)?;
    let topo = Topology::new()?;
    let nsd = start_nsd(&topo, NSD_PORT, &signed.zones, None)?;
    let lbdns = start_under_test(&topo, &signed.zones, None, mode)?;
    run_corpus(&topo, &cases, &signed.zones, lbdns, nsd, mode)
}

/// Sends every case to both servers and fails listing every difference that no documented
/// divergence explains; in [`Mode::Xdp`] also unless the program answered every query it must
/// (lbdns only: `zones` are what it serves).
fn run_corpus(
    topo: &Topology,
    cases: &[Case],
    zones: &[(String, PathBuf)],
    mut lbdns_server: Running,
    mut nsd_server: Running,
    mode: Mode,
) -> Result<()> {
    let mut watch = match (mode, lbdns_server.server.control_socket()) {
        (Mode::Xdp, Some(control)) => Some(FastPathWatch::new(control, HotNames::load(zones)?)?),
        (Mode::Xdp, None) => {
            println!("XDP mode not checked: the server under test is not lbdns");
            None
        }
        (Mode::Sockets, _) => None,
    };
    // LBDNS_DIFF_VERBOSE=1 prints every query with both replies (run with --nocapture).
    let verbose = std::env::var_os("LBDNS_DIFF_VERBOSE").is_some();
    let started = Instant::now();
    let mut tally: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut report = String::new();
    let mut failures = 0;
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    for case in cases {
        ensure!(
            started.elapsed() < RUN_TIMEOUT,
            "corpus run exceeded {RUN_TIMEOUT:?} at line {}",
            case.line
        );
        let at = || format!("line {}: {}", case.line, case.text);
        let lbdns = ask(topo, case, LBDNS_PORT).with_context(|| format!("lbdns, {}", at()))?;
        let by_xdp = match &mut watch {
            Some(watch) => watch.observe(case)?,
            None => false,
        };
        let nsd = ask(topo, case, NSD_PORT).with_context(|| format!("nsd, {}", at()))?;
        if verbose {
            let path = if by_xdp { " (by XDP)" } else { "" };
            println!("--- {case}\n  lbdns{path}: {lbdns}\n  nsd:   {nsd}");
        }
        let t = tally.entry(case.category.as_str()).or_default();
        t.queries += 1;
        let (mismatches, applied) = reconcile(case, &lbdns, &nsd);
        if mismatches.is_empty() {
            if applied.is_empty() {
                t.agreed += 1;
            } else {
                t.reconciled += 1;
            }
            for name in applied {
                *used.entry(name).or_default() += 1;
            }
            continue;
        }
        failures += 1;
        let path = if by_xdp { " (answered by XDP)" } else { "" };
        let _ = writeln!(report, "\n=== {case}{path}");
        if !applied.is_empty() {
            let _ = writeln!(report, "  (after reconciling {})", applied.join(", "));
        }
        for m in &mismatches {
            let _ = writeln!(
                report,
                "  {}:\n    lbdns: {}\n    nsd:   {}",
                m.field, m.lbdns, m.nsd
            );
        }
        let _ = write!(
            report,
            "  full lbdns reply: {lbdns}\n  full nsd reply:   {nsd}"
        );
    }

    println!(
        "differential corpus: {} queries in {:?}",
        cases.len(),
        started.elapsed()
    );
    println!(
        "{:<12} {:>7} {:>7} {:>10}",
        "category", "queries", "agreed", "reconciled"
    );
    for (cat, t) in &tally {
        println!(
            "{cat:<12} {:>7} {:>7} {:>10}",
            t.queries, t.agreed, t.reconciled
        );
    }
    for d in DIVERGENCES {
        let n = used.get(d.name).copied().unwrap_or(0);
        println!("divergence {} reconciled {n} queries: {}", d.name, d.reason);
    }
    // A crash mid-run would show up as a wall of "no reply" differences; say so plainly.
    lbdns_server.server.ensure_alive()?;
    nsd_server.server.ensure_alive()?;
    let fast_path = match &watch {
        Some(watch) => watch.verdict(cases.len()),
        None => Ok(()),
    };
    if failures > 0 {
        let fast_path = fast_path
            .err()
            .map_or_else(String::new, |e| format!("\n\n{e:#}"));
        bail!(
            "lbdns ({mode:?}) and NSD disagree on {failures} of {} queries:{report}{fast_path}",
            cases.len()
        );
    }
    fast_path
}

/// The corpus parses, holds enough queries and covers every category the suite promises,
/// without needing root.
#[test]
fn corpus_is_well_formed() -> Result<()> {
    let identity = load_identity_corpus()?;
    for category in ["chaos", "nsid"] {
        ensure!(
            identity.iter().any(|c| c.category == category),
            "no identity query in category {category}"
        );
    }
    let cases = load_corpus()?;
    for category in [
        "type",
        "nxdomain",
        "nodata",
        "cname",
        "dname",
        "wildcard",
        "delegation",
        "nested",
        "refused",
        "case",
        "edns",
        "do",
        "truncation",
        "tcp",
        "ipv6",
        "any",
        "flags",
        "class",
        "opcode",
        "malformed",
    ] {
        ensure!(
            cases.iter().any(|c| c.category == category),
            "no query in category {category}"
        );
    }
    // Built queries have distinct IDs (a reply can be tied to its query) and a question
    // the echo check can use.
    let built: Vec<&Case> = cases.iter().filter(|c| c.qtype.is_some()).collect();
    let mut ids: Vec<&[u8]> = built.iter().map(|c| &c.wire[..2]).collect();
    ids.sort_unstable();
    ids.dedup();
    ensure!(ids.len() == built.len(), "duplicate query IDs");
    ensure!(
        built.iter().all(|c| c.question_len > 0),
        "a built query has no question"
    );
    ensure!(encode_name("a\\.b.C")? == b"\x03a.b\x01C\x00");
    ensure!(encode_name("\\200x.\\\\")? == b"\x02\xc8x\x01\\\x00");
    ensure!(encode_name(".")? == b"\x00" && encode_name("a..b").is_err());
    ensure!(load_dnssec_corpus(&["nsec.test", "nsec3.test"])?
        .iter()
        .any(|c| c.dnssec_ok));
    for (origin, path) in zone_paths() {
        ensure!(
            Path::new(&path).is_file(),
            "zone file for {origin} missing: {}",
            path.display()
        );
    }
    Ok(())
}

/// The comparison ignores exactly what it claims to (record order, owner-name case, name
/// compression) and catches the rest, checked on hand-built replies without any server.
#[test]
fn comparison_is_order_and_case_blind_but_not_ttl_blind() -> Result<()> {
    let case = Case::parse(1, "type www.example.com A", 0x1234)?;
    let reply = |flags: u16, records: &[(&str, u32, [u8; 4])]| -> Result<Outcome> {
        let mut b = Builder::new(0x1234, flag::QR | flags).question("www.example.com", 1);
        for (owner, ttl, addr) in records {
            b = b.record(1, &lbdns_tests::wire::name(owner), 1, 1, *ttl, addr);
        }
        Ok(Outcome::Reply(Box::new(decode(&case, &b.build())?)))
    };
    let a = reply(
        flag::AA,
        &[
            ("www.example.com", 60, [198, 18, 1, 1]),
            ("www.example.com", 60, [198, 18, 1, 2]),
        ],
    )?;
    let rotated = reply(
        flag::AA,
        &[
            ("WWW.example.COM", 60, [198, 18, 1, 2]),
            ("www.example.com", 60, [198, 18, 1, 1]),
        ],
    )?;
    ensure!(
        compare(&a, &rotated).is_empty(),
        "{:?}",
        compare(&a, &rotated)
    );

    let other_ttl = reply(
        flag::AA,
        &[
            ("www.example.com", 60, [198, 18, 1, 1]),
            ("www.example.com", 61, [198, 18, 1, 2]),
        ],
    )?;
    let fields: Vec<&str> = compare(&a, &other_ttl).iter().map(|m| m.field).collect();
    ensure!(
        fields == ["answer"],
        "TTL difference reported as {fields:?}"
    );

    let no_aa = reply(0, &[("www.example.com", 60, [198, 18, 1, 1])])?;
    let fields: Vec<&str> = compare(&a, &no_aa).iter().map(|m| m.field).collect();
    ensure!(fields == ["flags", "answer"], "got {fields:?}");
    ensure!(compare(&a, &Outcome::NoReply).len() == 1);

    // The question must come back byte for byte: a case change is a difference.
    let recased = Builder::new(0x1234, flag::QR).question("WWW.example.com", 1);
    let recased = decode(&case, &recased.build())?;
    ensure!(matches!(recased.question, Echo::Different(_)));
    Ok(())
}
