//! The socket path's rate limiter: the rule of `lbdns_common::rrl` as the UDP threads apply it.

use std::net::IpAddr;

use lbdns_common::rrl::{digest_of, Response, Tally};

use super::{classify, Admit, AllowPrefix, Limiter, RateLimits};

const SECOND: u64 = 1_000_000_000;

fn limits(per_second: u32, burst: u32, slip: u32) -> RateLimits {
    RateLimits {
        enabled: true,
        responses_per_second: per_second,
        burst,
        slip,
        ..RateLimits::default()
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn www() -> Response {
    Response::Positive(digest_of(b"\x03www\x07example\x03com\0", 1))
}

/// A query for www.example.com A, to slip.
fn query() -> Vec<u8> {
    let mut query = vec![0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x03WwW\x07example\x03com\0\0\x01\0\x01");
    query
}

/// Sends `count` responses from `peer` evenly over `seconds` starting at `start`, returning
/// how many of each outcome.
fn flood(
    limiter: &Limiter,
    limits: &RateLimits,
    peer: IpAddr,
    response: Response,
    (start, seconds, count): (u64, u64, u64),
) -> (u64, u64, u64) {
    let mut outcomes = (0, 0, 0);
    for i in 0..count {
        let now = start + i * seconds * SECOND / count;
        match limiter.decide(limits, peer, response, now, &query()) {
            Admit::Send => outcomes.0 += 1,
            Admit::Slip | Admit::BadCookie => outcomes.1 += 1,
            Admit::Drop => outcomes.2 += 1,
        }
    }
    outcomes
}

#[test]
fn a_flood_at_ten_times_the_rate_gets_rate_plus_burst_and_slips_every_second_one() {
    let limiter = Limiter::default();
    let limits = limits(20, 5, 2);
    let (sent, slipped, dropped) =
        flood(&limiter, &limits, ip("198.18.0.7"), www(), (SECOND, 2, 400));
    // Two seconds at 20/s, plus the burst.
    assert!(sent <= 2 * 20 + 5, "{sent} sent");
    assert!(sent >= 2 * 20, "{sent} sent");
    let limited = slipped + dropped;
    assert_eq!(limited, 400 - sent);
    assert!(
        slipped.abs_diff(dropped) <= 1,
        "{slipped} slipped, {dropped} dropped"
    );
    assert_eq!(
        limiter.tallies[Tally::SlippedV4 as usize].load(std::sync::atomic::Ordering::Relaxed),
        slipped
    );
}

#[test]
fn a_quiet_prefix_and_another_response_keep_their_own_buckets() {
    let limiter = Limiter::default();
    let limits = limits(20, 5, 2);
    flood(
        &limiter,
        &limits,
        ip("198.18.0.7"),
        www(),
        (SECOND, 1, 1000),
    );
    // Another /24 at 10/s: every response.
    let quiet = flood(&limiter, &limits, ip("198.18.1.7"), www(), (SECOND, 1, 10));
    assert_eq!(quiet, (10, 0, 0));
    // The same /24, another name: its own bucket.
    let other = Response::Positive(digest_of(b"\x04mail\x07example\x03com\0", 1));
    let same_prefix = flood(&limiter, &limits, ip("198.18.0.9"), other, (SECOND, 1, 10));
    assert_eq!(same_prefix, (10, 0, 0));
}

#[test]
fn an_allow_listed_prefix_is_never_limited() {
    let limiter = Limiter::default();
    let mut limits = limits(20, 5, 2);
    limits.allow = vec![AllowPrefix::new(ip("198.18.0.0"), 24)];
    let outcomes = flood(&limiter, &limits, ip("198.18.0.7"), www(), (SECOND, 1, 500));
    assert_eq!(outcomes, (500, 0, 0));
    let allowed = limiter
        .tallies()
        .find(|(t, _)| *t == Tally::AllowedV4)
        .unwrap()
        .1;
    assert_eq!(allowed + limiter.tallies().next().unwrap().1, 500);
}

#[test]
fn ipv6_clients_are_grouped_at_the_configured_prefix() {
    let limiter = Limiter::default();
    let mut limits = limits(20, 5, 0);
    limits.ipv6_prefix = 56;
    // Two hosts of one /56 share a bucket; a host of the next /56 does not.
    let first = flood(
        &limiter,
        &limits,
        ip("2001:db8:0:1::1"),
        www(),
        (SECOND, 1, 100),
    );
    let same = flood(
        &limiter,
        &limits,
        ip("2001:db8:0:ff::2"),
        www(),
        (SECOND, 1, 10),
    );
    let next = flood(
        &limiter,
        &limits,
        ip("2001:db8:0:100::1"),
        www(),
        (SECOND, 1, 10),
    );
    assert!(first.0 <= 25, "{first:?}");
    assert!(same.0 < 10, "{same:?}: the /56 is being limited");
    assert_eq!(next, (10, 0, 0));
}

#[test]
fn log_only_counts_but_sends_everything() {
    let limiter = Limiter::default();
    let mut limits = limits(20, 5, 2);
    limits.log_only = true;
    let outcomes = flood(&limiter, &limits, ip("198.18.0.7"), www(), (SECOND, 1, 200));
    assert_eq!(outcomes, (200, 0, 0));
    let limited: u64 = limiter
        .tallies()
        .filter(|(t, _)| matches!(t, Tally::SlippedV4 | Tally::DroppedV4))
        .map(|(_, n)| n)
        .sum();
    assert!(limited >= 200 - 25, "{limited}");
}

#[test]
fn slip_zero_drops_and_slip_one_truncates_everything_over_the_limit() {
    for (slip, want_slipped) in [(0, false), (1, true)] {
        let limiter = Limiter::default();
        let (sent, slipped, dropped) = flood(
            &limiter,
            &limits(20, 5, slip),
            ip("198.18.0.7"),
            www(),
            (SECOND, 1, 200),
        );
        assert_eq!(sent + slipped + dropped, 200);
        if want_slipped {
            assert_eq!(dropped, 0);
        } else {
            assert_eq!(slipped, 0);
        }
    }
}

#[test]
fn the_truncated_reply_is_the_question_alone_with_tc() {
    let mut query = query();
    // An OPT record after the question goes.
    query[11] = 1;
    query.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
    let reply = classify::truncated(&query).unwrap();
    let question = b"\x03WwW\x07example\x03com\0\0\x01\0\x01";
    let mut want = vec![0x12, 0x34, 0x83, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    want.extend_from_slice(question);
    assert_eq!(reply, want);
    assert_eq!(classify::truncated(&query[..20]), None);
}

#[test]
fn a_reply_is_classed_by_rcode_answers_and_authority() {
    let catalog = crate::authority::Catalog::default();
    let reply = |flags: u8, rcode: u8, answers: u8| {
        let mut reply = query();
        reply[2] = 0x80 | flags;
        reply[3] = rcode;
        reply[7] = answers;
        reply
    };
    assert_eq!(classify::response(&catalog, &reply(0x04, 0, 1)), www());
    assert!(matches!(
        classify::response(&catalog, &reply(0x04, 3, 0)),
        Response::Negative(_)
    ));
    assert!(matches!(
        classify::response(&catalog, &reply(0x04, 0, 0)),
        Response::Negative(_)
    ));
    assert_eq!(
        classify::response(&catalog, &reply(0, 0, 0)),
        Response::Referral
    );
    assert_eq!(
        classify::response(&catalog, &reply(0, 5, 0)),
        Response::Error
    );
    // NOTIFY (opcode 4) replies are not limited.
    assert!(!classify::is_query_reply(&reply(0x20, 0, 0)));
}

#[test]
fn the_rrl_table_has_defaults_and_its_errors_name_file_and_line() {
    #[derive(serde::Deserialize)]
    struct File {
        rrl: Option<super::config::RrlSection>,
    }
    let path = std::path::Path::new("lbdns.toml");
    let parse = |text: &str| {
        let file: File = toml::from_str(text).unwrap();
        RateLimits::from_section(file.rrl, path, text)
    };
    assert!(!parse("").unwrap().enabled);
    let defaults = parse("[rrl]\n").unwrap();
    assert_eq!(
        (
            defaults.enabled,
            defaults.responses_per_second,
            defaults.burst,
            defaults.slip,
            defaults.ipv4_prefix,
            defaults.ipv6_prefix,
            defaults.passed_per_second,
        ),
        (true, 200, 200, 2, 24, 56, 2000)
    );
    let error = parse("[rrl]\nslip = 2\nipv6_prefix = 96\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "lbdns.toml:3: rrl.ipv6_prefix: /96 is longer than /64"
    );
    let error = parse("[rrl]\nallow = [\n  \"198.18.0.0/33\",\n]\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "lbdns.toml:3: rrl.allow: /33 is not a prefix length of 198.18.0.0"
    );
    let error = parse("[rrl]\nresponses_per_second = 0\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "lbdns.toml:2: rrl.responses_per_second: 0 is not between 1 and 1000000"
    );
}

#[test]
fn rfc7873_5_2_5_a_valid_server_cookie_is_exempt_and_a_client_cookie_slips_as_badcookie() {
    use lbdns_common::cookie::CookieState;
    let catalog = crate::authority::Catalog::default().with_rate_limits(limits(1, 1, 1));
    let mut reply = query();
    reply[2] = 0x84;
    reply[7] = 1;
    let peer = ip("198.18.0.7");
    let limiter = Limiter::default();
    let all = |cookie| {
        (0..50)
            .map(|_| limiter.admit(&catalog, &query(), &reply, peer, cookie))
            .collect::<Vec<_>>()
    };
    assert!(all(CookieState::Valid).iter().all(|a| *a == Admit::Send));
    // The valid cookies were not counted: the burst is still there.
    // (A response more goes through for each second the loop might take on a busy host.)
    let none = all(CookieState::None);
    assert_eq!(none[0], Admit::Send);
    assert!(none.iter().all(|a| matches!(a, Admit::Send | Admit::Slip)));
    assert!(none.contains(&Admit::Slip));
    for cookie in [CookieState::ClientOnly, CookieState::Invalid] {
        let slips = all(cookie);
        assert!(slips
            .iter()
            .all(|a| matches!(a, Admit::Send | Admit::BadCookie)));
        assert!(slips.contains(&Admit::BadCookie), "{cookie:?}");
    }
}
