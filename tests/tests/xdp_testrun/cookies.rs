//! DNS Cookies in the corpus (RFC 7873, RFC 9018): queries with a client cookie alone, with
//! valid server cookies (fresh, renewed, made with the previous secret, ahead within the skew),
//! with invalid ones (expired, too far ahead, another secret, another address), and malformed or
//! foreign lengths and versions, which the program passes and the socket path answers (FORMERR
//! for the malformed). Answered cases are compared with the socket path on the same clock
//! (`fixture::cookies`), so the server cookies must agree octet for octet.

use std::net::IpAddr;

use aya::programs::{TestRun, TestRunOptions};
use lbdns::authority::{badcookie, Client, Transport};
use lbdns::xdp::XdpConfig;
use lbdns_common::cookie::{self, ClientAddr, SecretKey};
use lbdns_common::counters::Counter;
use lbdns_tests::env::pin_to_cpu0;
use lbdns_tests::wire::{flag, rtype, Builder};

use super::{
    corpus::{framed, Case, Expect, Rng},
    fixture::{self, hot_rrsets, COOKIE_NOW, COOKIE_PREVIOUS, COOKIE_SECRET},
    frame::{check_reply_headers, Layout, Vlan},
};
use crate::{Loaded, XDP_PASS, XDP_TX};

/// The client address the corpus's frames come from (`corpus::endpoints`).
fn client(v6: bool) -> IpAddr {
    if v6 {
        "2001:db8:c::7".parse().unwrap()
    } else {
        "192.0.2.7".parse().unwrap()
    }
}

const CLIENT: [u8; 8] = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];

/// The COOKIE option data of a client cookie with the server cookie `secret` makes for
/// `addr` at `stamp`.
pub fn made(secret: [u8; 16], addr: IpAddr, stamp: u32) -> Vec<u8> {
    let addr = match addr {
        IpAddr::V4(v4) => ClientAddr::v4(v4.octets()),
        IpAddr::V6(v6) => ClientAddr::v6(v6.octets()),
    };
    let client = u64::from_le_bytes(CLIENT);
    let meta = cookie::meta_at(stamp);
    let mac = cookie::mac(&SecretKey::new(secret), client, meta, addr);
    [CLIENT, meta.to_le_bytes(), mac.to_le_bytes()].concat()
}

/// A COOKIE option holding `data`.
pub fn option(data: &[u8]) -> Vec<u8> {
    let mut option = vec![0, 10];
    option.extend_from_slice(&(data.len() as u16).to_be_bytes());
    option.extend_from_slice(data);
    option
}

/// Appends the cookie cases.
pub fn cases(rng: &mut Rng, cases: &mut Vec<Case>) {
    for v6 in [false, true] {
        let here = client(v6);
        let elsewhere: IpAddr = if v6 {
            "2001:db8:c::8".parse().unwrap()
        } else {
            "192.0.2.8".parse().unwrap()
        };
        let answered: [(&str, Vec<u8>); 9] = [
            ("a client cookie alone", CLIENT.to_vec()),
            (
                "a fresh valid cookie",
                made(COOKIE_SECRET, here, COOKIE_NOW),
            ),
            (
                "a valid cookie of 40 minutes, renewed",
                made(COOKIE_SECRET, here, COOKIE_NOW - 2400),
            ),
            (
                "a valid cookie 4 minutes ahead",
                made(COOKIE_SECRET, here, COOKIE_NOW + 240),
            ),
            (
                "a cookie of the previous secret, renewed",
                made(COOKIE_PREVIOUS, here, COOKIE_NOW - 10),
            ),
            (
                "an expired cookie",
                made(COOKIE_SECRET, here, COOKIE_NOW - 3601),
            ),
            (
                "a cookie 301 seconds ahead",
                made(COOKIE_SECRET, here, COOKIE_NOW + 301),
            ),
            (
                "a cookie of another secret",
                made([7; 16], here, COOKIE_NOW),
            ),
            (
                "a cookie made for another address",
                made(COOKIE_SECRET, elsewhere, COOKIE_NOW),
            ),
        ];
        for (i, (what, data)) in answered.into_iter().enumerate() {
            // Odd and even name lengths, with and without an NSID before the cookie, DO or
            // not: the option's checksum share depends on its offset. A name the zone lacks
            // gets the program's NXDOMAIN with the same cookie.
            let (name, nxdomain) = match i % 4 {
                0 => ("www.example.com", false),
                1 => ("ab.t", false),
                2 => ("no-cookie-jar.example.com", true),
                _ => ("no-cookie-jars.example.com", true),
            };
            let qtype = if i % 3 == 0 { rtype::AAAA } else { rtype::A };
            let mut options = option(&data);
            if i % 4 == 1 {
                options = [&[0, 3, 0, 0][..], &options].concat();
            }
            let flags = if i % 4 == 2 { 0x8000 } else { 0 };
            let vlan = [Vlan::None, Vlan::Dot1q, Vlan::Dot1ad][i % 3];
            let dns = Builder::new(rng.next() as u16, flag::RD)
                .question(name, qtype)
                .opt(&[0], 1232, 0, flags, &options)
                .build();
            let layout = Layout::new(vlan, v6);
            cases.push(Case {
                what: format!("{name} type {qtype} with {what} (v6={v6})"),
                frame: framed(v6, vlan, &dns, rng),
                expect: if nxdomain {
                    Expect::Nxdomain(layout)
                } else {
                    Expect::Answer(layout)
                },
            });
        }
        let mut other_version = made(COOKIE_SECRET, here, COOKIE_NOW);
        other_version[8] = 2;
        let passed: [(&str, Vec<u8>); 9] = [
            ("an empty cookie", option(&[])),
            ("a 7-octet cookie", option(&[1; 7])),
            ("a 9-octet cookie", option(&[1; 9])),
            ("a 15-octet cookie", option(&[1; 15])),
            ("a 41-octet cookie", option(&[1; 41])),
            (
                "a 16-octet cookie (another server's format)",
                option(&[1; 16]),
            ),
            ("a 40-octet cookie", option(&[1; 40])),
            ("a version 2 server cookie", option(&other_version)),
            ("two cookies", [option(&CLIENT), option(&CLIENT)].concat()),
        ];
        for (what, options) in passed {
            let dns = Builder::new(rng.next() as u16, flag::RD)
                .question("www.example.com", rtype::A)
                .opt(&[0], 1232, 0, 0, &options)
                .build();
            cases.push(Case {
                what: format!("{what} (v6={v6})"),
                frame: framed(v6, Vlan::None, &dns, rng),
                expect: Expect::Pass(Counter::PassCookie),
            });
        }
    }
}

/// RFC 7873 §5.2.3–5.2.4: the BADCOOKIE reply the program's `respond::cookie::badcookie` makes
/// (what response rate limiting's slip sends to a query with a cookie) is the socket path's
/// `authority::badcookie`, octet for octet: the question, the client cookie with a fresh server
/// cookie, RCODE 23. IPv4 and IPv6, VLAN tags, names of odd and even length, DO or not, cookies
/// alone, invalid and valid. A query without a cookie passes unchanged.
#[test]
fn rfc7873_5_2_3_the_programs_badcookie_reply_is_the_socket_paths() {
    pin_to_cpu0().expect("pin to CPU 0");
    let mut loaded = Loaded::new(&XdpConfig::default(), &hot_rrsets());
    let catalog = fixture::catalog();
    let mut rng = Rng::new(0xbadc_00c1e);
    let program = loaded
        .fast
        .badcookie_program()
        .unwrap_or_else(|error| panic!("{error}"));
    let run = |frame: &[u8]| {
        let mut out = vec![0; 4096];
        let result = program
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ..TestRunOptions::new()
            })
            .expect("BPF_PROG_TEST_RUN");
        out.truncate(result.data_size_out as usize);
        (result.return_value, out)
    };
    for v6 in [false, true] {
        let here = client(v6);
        let kinds = [
            ("a client cookie alone", CLIENT.to_vec()),
            (
                "an expired cookie",
                made(COOKIE_SECRET, here, COOKIE_NOW - 4000),
            ),
            (
                "a valid cookie",
                made(COOKIE_SECRET, here, COOKIE_NOW - 2000),
            ),
        ];
        for (i, (what, data)) in kinds.into_iter().enumerate() {
            for (name, flags, vlan) in [
                ("www.example.com", 0, Vlan::None),
                ("ab.t", 0x8000, Vlan::Dot1q),
                ("no-such-name.example.com", 0, Vlan::Dot1ad),
            ] {
                let dns = Builder::new(rng.next() as u16, flag::RD | flag::CD)
                    .question(name, if i == 1 { rtype::AAAA } else { rtype::A })
                    .opt(&[0], 1232, 0, flags, &option(&data))
                    .build();
                let frame = framed(v6, vlan, &dns, &mut rng);
                let what = format!("BADCOOKIE to {name} with {what} (v6={v6})");
                let (action, reply) = run(&frame);
                assert_eq!(action, XDP_TX, "{what}");
                let got = check_reply_headers(&what, &frame, &reply, Layout::new(vlan, v6));
                let expected = badcookie(&catalog, &dns, Client::new(here, Transport::Udp));
                assert_eq!(Some(got.to_vec()), expected, "{what}");
                assert_eq!(got[3] & 0xf, 7, "{what}: RCODE 23's low bits");
            }
        }
        let plain = Builder::new(7, 0)
            .question("www.example.com", rtype::A)
            .edns(1232)
            .build();
        let frame = framed(v6, Vlan::None, &plain, &mut rng);
        assert_eq!(run(&frame), (XDP_PASS, frame), "no cookie (v6={v6})");
    }
}
