//! Response rate limiting in the program (lbdns_common::rrl), with its settings written by the
//! daemon's own publish from a catalog's `[rrl]` limits. Floods run as fast as TestRun goes,
//! far above ten times the rate; the bounds use the flood's measured duration (rate × seconds
//! plus the burst), never a timing of their own.

use std::net::IpAddr;
use std::time::Instant;

use lbdns::authority::{Client, Transport};
use lbdns::rrl::{classify, AllowPrefix, RateLimits};
use lbdns_common::{counters::Counter, rrl::Tally};
use lbdns_tests::env::pin_to_cpu0;
use lbdns_tests::wire::{flag, rtype, Builder};

use super::{
    fixture::catalog,
    frame::{check_reply_headers, udp_frame, Endpoints, Layout, Vlan},
};
use crate::{Loaded, XDP_DROP, XDP_PASS, XDP_TX};

const RATE: u32 = 20;
const BURST: u32 = 10;
const PASSED: u32 = 50;

fn limits() -> RateLimits {
    RateLimits {
        enabled: true,
        responses_per_second: RATE,
        burst: BURST,
        passed_per_second: PASSED,
        slip: 2,
        ipv4_prefix: 24,
        ipv6_prefix: 56,
        allow: vec![AllowPrefix::new("198.18.2.0".parse().unwrap(), 24)],
        ..RateLimits::default()
    }
}

fn loaded(limits: RateLimits) -> Loaded {
    Loaded::publishing(&catalog().with_rate_limits(limits))
}

/// A frame with a query for `name` A from `client`.
fn query(client: &str, name: &str, id: u16) -> (Vec<u8>, Vec<u8>, Layout) {
    let client: IpAddr = client.parse().unwrap();
    let v6 = client.is_ipv6();
    let server = if v6 { "2001:db8::53" } else { "198.18.0.53" };
    let dns = Builder::query(id, name, rtype::A).build();
    let ends = Endpoints {
        client,
        server: server.parse().unwrap(),
        client_port: 40000,
        server_port: 53,
    };
    (
        udp_frame(Vlan::None, ends, &dns, 0),
        dns,
        Layout::new(Vlan::None, v6),
    )
}

/// What the program did with one query.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Outcomes {
    answered: u64,
    slipped: u64,
    dropped: u64,
    passed: u64,
}

/// Runs the query, checking a slipped reply byte for byte against the socket path's.
fn run(loaded: &Loaded, client: &str, name: &str, id: u16, outcomes: &mut Outcomes) {
    let (frame, dns, layout) = query(client, name, id);
    let (action, out) = loaded.run(&frame);
    match action {
        XDP_TX => {
            let reply = check_reply_headers("rrl", &frame, &out, layout);
            let flags = u16::from_be_bytes([reply[2], reply[3]]);
            if flags & flag::TC != 0 {
                let want = classify::truncated(&dns).expect("a question");
                assert_eq!(reply, want, "the slip is the socket path's truncated reply");
                outcomes.slipped += 1;
            } else {
                assert_ne!(reply[7], 0, "an answer");
                outcomes.answered += 1;
            }
        }
        XDP_DROP => outcomes.dropped += 1,
        XDP_PASS => outcomes.passed += 1,
        other => panic!("action {other}"),
    }
}

/// The most a key may get through in `seconds`: the rate, the burst, and one more for the
/// coarse clock's tick.
fn ceiling(rate: u32, burst: u32, seconds: f64) -> u64 {
    (f64::from(rate) * seconds).ceil() as u64 + u64::from(burst) + 1
}

#[test]
fn a_flood_from_one_prefix_gets_rate_plus_burst_and_slips_every_second_limited_reply() {
    pin_to_cpu0().expect("pin to CPU 0");
    let loaded = loaded(limits());
    let before = loaded.counters();
    let (mut flood, mut quiet) = (Outcomes::default(), Outcomes::default());
    let started = Instant::now();
    for i in 0..2000u16 {
        // Hosts all over one /24.
        let client = format!("192.0.2.{}", i % 250 + 1);
        run(&loaded, &client, "www.example.com", i, &mut flood);
        // Another /24 asks now and then: a low rate, within its own bucket.
        if i % 200 == 0 {
            run(&loaded, "198.18.1.9", "www.example.com", i, &mut quiet);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("flood over {seconds:.3} s: {flood:?}, quiet: {quiet:?}");
    assert!(
        2000.0 / seconds > 10.0 * f64::from(RATE),
        "the flood ran at ten times the rate"
    );
    assert!(flood.answered >= u64::from(BURST), "{flood:?}");
    assert!(
        flood.answered <= ceiling(RATE, BURST, seconds),
        "{flood:?} in {seconds} s"
    );
    let limited = flood.slipped + flood.dropped;
    assert_eq!(flood.answered + limited, 2000);
    // slip = 2: every second limited reply is truncated.
    assert!(
        (flood.slipped * 2).abs_diff(limited) <= 1,
        "{flood:?}: half the limited replies slip"
    );
    assert_eq!(
        quiet,
        Outcomes {
            answered: 10,
            ..Outcomes::default()
        }
    );
    let after = loaded.counters();
    assert_eq!(
        after.get(Counter::RateLimited) - before.get(Counter::RateLimited),
        limited
    );
    assert_eq!(after.tally(Tally::SlippedV4), flood.slipped);
    assert_eq!(after.tally(Tally::DroppedV4), flood.dropped);
    assert_eq!(
        after.tally(Tally::AnsweredV4),
        flood.answered + quiet.answered
    );
}

#[test]
fn an_allow_listed_prefix_is_never_limited() {
    pin_to_cpu0().expect("pin to CPU 0");
    let loaded = loaded(limits());
    let mut outcomes = Outcomes::default();
    for i in 0..500u16 {
        run(&loaded, "198.18.2.77", "www.example.com", i, &mut outcomes);
    }
    assert_eq!(
        outcomes,
        Outcomes {
            answered: 500,
            ..Outcomes::default()
        }
    );
    let counters = loaded.counters();
    // Within the rate they count as answered, over it as allowed.
    assert_eq!(
        counters.tally(Tally::AllowedV4) + counters.tally(Tally::AnsweredV4),
        500
    );
    assert!(counters.tally(Tally::AllowedV4) > 0);
    assert_eq!(counters.get(Counter::RateLimited), 0);
}

#[test]
fn ipv6_clients_are_grouped_at_the_configured_prefix_length() {
    pin_to_cpu0().expect("pin to CPU 0");
    let loaded = loaded(limits());
    let mut same = Outcomes::default();
    let started = Instant::now();
    // Two hosts of 2001:db8:0:100::/56.
    for i in 0..1000u16 {
        let client = if i % 2 == 0 {
            "2001:db8:0:100::1"
        } else {
            "2001:db8:0:1ff:ffff::2"
        };
        run(&loaded, client, "www.example.com", i, &mut same);
    }
    let seconds = started.elapsed().as_secs_f64();
    assert!(same.answered <= ceiling(RATE, BURST, seconds), "{same:?}");
    assert!(same.slipped > 0 && same.dropped > 0, "{same:?}");
    // The next /56 has a bucket of its own.
    let mut next = Outcomes::default();
    for i in 0..u16::try_from(BURST).unwrap() {
        run(
            &loaded,
            "2001:db8:0:200::1",
            "www.example.com",
            i,
            &mut next,
        );
    }
    assert_eq!(
        next,
        Outcomes {
            answered: u64::from(BURST),
            ..Outcomes::default()
        }
    );
    let counters = loaded.counters();
    assert_eq!(counters.tally(Tally::SlippedV6), same.slipped);
    assert_eq!(counters.tally(Tally::SlippedV4), 0);
}

#[test]
fn queries_the_program_passes_meet_the_per_prefix_ceiling() {
    pin_to_cpu0().expect("pin to CPU 0");
    let loaded = loaded(limits());
    let mut outcomes = Outcomes::default();
    let started = Instant::now();
    // Random names: none is hot, every one would go to the socket path.
    for i in 0..1000u16 {
        let name = format!("r{i}.example.com");
        run(&loaded, "192.0.2.9", &name, i, &mut outcomes);
    }
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        outcomes.passed <= ceiling(PASSED, PASSED, seconds),
        "{outcomes:?}"
    );
    assert!(outcomes.passed >= u64::from(PASSED), "{outcomes:?}");
    assert_eq!(
        outcomes.passed + outcomes.dropped,
        1000,
        "nothing slips: {outcomes:?}"
    );
    // Another prefix's passed queries are not cut.
    let mut other = Outcomes::default();
    for i in 0..10u16 {
        run(
            &loaded,
            "198.18.1.9",
            &format!("q{i}.example.com"),
            i,
            &mut other,
        );
    }
    assert_eq!(
        other,
        Outcomes {
            passed: 10,
            ..Outcomes::default()
        }
    );
}

#[test]
fn limiting_off_answers_every_query() {
    pin_to_cpu0().expect("pin to CPU 0");
    let loaded = loaded(RateLimits::default());
    let mut outcomes = Outcomes::default();
    for i in 0..500u16 {
        run(&loaded, "192.0.2.9", "www.example.com", i, &mut outcomes);
    }
    assert_eq!(
        outcomes,
        Outcomes {
            answered: 500,
            ..Outcomes::default()
        }
    );
}

/// What a reload does (`served::Xdp::publish` writes the catalog's limits with the NSID): the
/// running program takes new settings and allow lists in place, its buckets kept.
#[test]
fn a_reload_changes_the_limits_in_place() {
    pin_to_cpu0().expect("pin to CPU 0");
    let mut loaded = loaded(limits());
    let started = Instant::now();
    let flood = |loaded: &Loaded| {
        let mut outcomes = Outcomes::default();
        for i in 0..200u16 {
            run(loaded, "192.0.2.9", "www.example.com", i, &mut outcomes);
        }
        outcomes
    };
    let limited = flood(&loaded);
    let bound = ceiling(RATE, BURST, started.elapsed().as_secs_f64());
    assert!(limited.answered <= bound, "{limited:?}");
    // Off: every query answered.
    loaded
        .writer
        .publish_rate_limits(&RateLimits::default())
        .expect("publish");
    assert_eq!(
        flood(&loaded),
        Outcomes {
            answered: 200,
            ..Outcomes::default()
        }
    );
    // On again with the prefix allowed: answered.
    let mut allowing = limits();
    allowing
        .allow
        .push(AllowPrefix::new("192.0.2.0".parse().unwrap(), 24));
    loaded
        .writer
        .publish_rate_limits(&allowing)
        .expect("publish");
    assert_eq!(
        flood(&loaded),
        Outcomes {
            answered: 200,
            ..Outcomes::default()
        }
    );
    // The allow list entry removed: the bucket was kept, and has gained no more than the rate
    // since the first flood.
    loaded
        .writer
        .publish_rate_limits(&limits())
        .expect("publish");
    let again = flood(&loaded);
    let bound = ceiling(RATE, BURST, started.elapsed().as_secs_f64());
    assert!(
        limited.answered + again.answered <= bound,
        "{limited:?} {again:?}"
    );
    assert_eq!(
        again.answered + again.slipped + again.dropped,
        200,
        "{again:?}"
    );
}

/// A frame with a query for www.example.com A from 192.0.2.7 carrying the COOKIE option `data`.
fn cookie_query(data: &[u8], id: u16) -> (Vec<u8>, Vec<u8>, Layout) {
    let dns = Builder::query(id, "www.example.com", rtype::A)
        .opt(&[0], 1232, 0, 0, &super::cookies::option(data))
        .build();
    let ends = Endpoints {
        client: "192.0.2.7".parse().unwrap(),
        server: "198.18.0.53".parse().unwrap(),
        client_port: 40000,
        server_port: 53,
    };
    (
        udp_frame(Vlan::None, ends, &dns, 0),
        dns,
        Layout::new(Vlan::None, false),
    )
}

#[test]
fn rfc7873_5_2_5_a_valid_server_cookie_is_exempt_and_a_client_cookie_slips_as_badcookie() {
    pin_to_cpu0().expect("pin to CPU 0");
    let catalog = catalog().with_rate_limits(RateLimits {
        slip: 1,
        ..limits()
    });
    let loaded = Loaded::publishing(&catalog);
    let client: IpAddr = "192.0.2.7".parse().unwrap();
    let valid = super::cookies::made(
        super::fixture::COOKIE_SECRET,
        client,
        super::fixture::COOKIE_NOW,
    );
    // Far over the rate, every query with a valid server cookie is answered and not counted.
    for id in 0..500u16 {
        let (frame, _, layout) = cookie_query(&valid, id);
        let (action, out) = loaded.run(&frame);
        assert_eq!(action, XDP_TX);
        let reply = check_reply_headers("valid cookie", &frame, &out, layout);
        assert_eq!(reply[3] & 0x0f, 0, "NOERROR");
        assert_ne!(reply[7], 0, "an answer");
    }
    assert_eq!(loaded.counters().get(Counter::RateLimited), 0);
    // A client cookie alone: the burst, then every limited reply (slip = 1) is BADCOOKIE with a
    // fresh server cookie, the socket path's octets.
    let alone = &valid[..8];
    let (mut answered, mut badcookies) = (0, 0);
    for id in 0..100u16 {
        let (frame, dns, layout) = cookie_query(alone, id);
        let (action, out) = loaded.run(&frame);
        assert_eq!(action, XDP_TX);
        let reply = check_reply_headers("client cookie", &frame, &out, layout);
        if reply[3] & 0x0f == 0 {
            answered += 1;
            continue;
        }
        let want = lbdns::authority::badcookie(&catalog, &dns, Client::new(client, Transport::Udp))
            .expect("a BADCOOKIE reply");
        assert_eq!(reply, want, "the slip is the socket path's BADCOOKIE");
        badcookies += 1;
    }
    assert!(
        answered >= BURST && badcookies > 0,
        "{answered} answered, {badcookies} BADCOOKIE"
    );
    assert_eq!(answered + badcookies, 100);
}
