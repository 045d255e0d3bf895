//! DNS Cookies (RFC 7873, RFC 9018) on the wire: what `respond`, `answer` and `badcookie` send.

use std::path::Path;
use std::sync::Arc;

use lbdns_common::cookie::CookieState;

use super::tests::UDP;
use super::{answer, badcookie, respond, Catalog};
use crate::cookies::{Cookies, FixedClock};
use crate::zone::Zone;

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 198.18.0.53\nwww 60 A 198.18.1.1\n";
const WWW: &[u8] = b"\x03www\x07example\x04test\x00";
/// RFC 9018 Appendix A.1's secret, client cookie and time.
const SECRET: [u8; 16] = [
    0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf,
];
pub(super) const CLIENT: [u8; 8] = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];
const NOW: u32 = 1_559_731_985;
/// The server cookie A.1 gives 198.51.100.100 at NOW.
const SERVER: [u8; 16] = [
    1, 0, 0, 0, 0x5c, 0xf7, 0x9f, 0x11, 0x1f, 0x81, 0x30, 0xc3, 0xee, 0xe2, 0x94, 0x80,
];

pub(super) fn catalog() -> Catalog {
    let zone = Zone::parse(ZONE, Path::new("zone"), None).unwrap();
    let cookies = Cookies::new(SECRET, None).with_clock(Arc::new(FixedClock(NOW)));
    Catalog::new(&[zone]).unwrap().with_cookies(cookies)
}

pub(super) fn from_a_1() -> super::Client {
    super::Client {
        addr: "198.51.100.100".parse().unwrap(),
        ..UDP
    }
}

/// A query for www with an OPT record holding one COOKIE option of `cookie`.
pub(super) fn query(cookie: &[u8]) -> Vec<u8> {
    let mut wire = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    wire.extend_from_slice(WWW);
    wire.extend_from_slice(&[0, 1, 0, 1, 0, 0, 41, 4, 0xd0, 0, 0, 0, 0]);
    wire.extend_from_slice(&(4 + cookie.len() as u16).to_be_bytes());
    wire.extend_from_slice(&[0, 10]);
    wire.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    wire.extend_from_slice(cookie);
    wire
}

/// The COOKIE option a reply ends with.
fn reply_cookie(reply: &[u8]) -> &[u8] {
    &reply[reply.len() - 28..]
}

fn expected_option(server: &[u8]) -> Vec<u8> {
    [&[0, 10, 0, 24][..], &CLIENT, server].concat()
}

#[test]
fn rfc7873_5_2_3_a_client_cookie_gets_the_server_cookie_of_rfc9018_a_1() {
    let answered = answer(&catalog(), &query(&CLIENT), from_a_1(), 0).unwrap();
    assert_eq!(answered.cookie, CookieState::ClientOnly);
    assert_eq!(answered.reply[3] & 0xf, 0);
    assert_eq!(reply_cookie(&answered.reply), expected_option(&SERVER));
}

#[test]
fn rfc7873_5_2_5_a_valid_server_cookie_is_valid_and_goes_back_as_it_came() {
    let answered = answer(
        &catalog(),
        &query(&[&CLIENT[..], &SERVER].concat()),
        from_a_1(),
        0,
    );
    let answered = answered.unwrap();
    assert_eq!(answered.cookie, CookieState::Valid);
    assert_eq!(reply_cookie(&answered.reply), expected_option(&SERVER));
}

#[test]
fn rfc7873_5_2_4_an_invalid_server_cookie_is_answered_as_a_client_cookie_alone() {
    let elsewhere = super::Client {
        addr: "198.51.100.101".parse().unwrap(),
        ..UDP
    };
    let answered = answer(
        &catalog(),
        &query(&[&CLIENT[..], &SERVER].concat()),
        elsewhere,
        0,
    );
    let answered = answered.unwrap();
    assert_eq!(answered.cookie, CookieState::Invalid);
    assert_eq!(answered.reply[3] & 0xf, 0);
    // A fresh cookie for this address, not the one for A.1's.
    assert_ne!(reply_cookie(&answered.reply), expected_option(&SERVER));
    assert_eq!(
        &reply_cookie(&answered.reply)[..16],
        &expected_option(&SERVER)[..16]
    );
}

#[test]
fn rfc7873_5_2_2_malformed_cookie_lengths_get_formerr() {
    for len in [0, 7, 9, 15, 41] {
        let reply = respond(&catalog(), &query(&vec![1; len]), from_a_1()).unwrap();
        assert_eq!(reply[3] & 0xf, 1, "{len}");
    }
    for len in [16, 40] {
        let answered = answer(&catalog(), &query(&vec![1; len]), from_a_1(), 0).unwrap();
        assert_eq!(answered.reply[3] & 0xf, 0, "{len}");
        assert_eq!(answered.cookie, CookieState::Invalid, "{len}");
    }
}

#[test]
fn rfc7873_5_2_3_badcookie_has_the_question_a_fresh_cookie_and_rcode_23() {
    let reply = badcookie(&catalog(), &query(&CLIENT), from_a_1()).unwrap();
    // QR, RD copied, no AA; RCODE 23's low four bits; one question, one additional (OPT).
    assert_eq!(&reply[..12], [0xab, 0xcd, 0x81, 7, 0, 1, 0, 0, 0, 0, 0, 1]);
    let question_end = 12 + WWW.len() + 4;
    assert_eq!(&reply[12..question_end], &query(&CLIENT)[12..question_end]);
    // OPT: root, type 41, payload 1232, extended RCODE 1 (23 >> 4), version 0, no DO, 28 octets.
    assert_eq!(
        &reply[question_end..question_end + 11],
        [0, 0, 41, 4, 0xd0, 1, 0, 0, 0, 0, 28]
    );
    assert_eq!(&reply[question_end + 11..], expected_option(&SERVER));
    // Only to a query with a cookie: here an OPT record without options.
    let mut plain = query(&CLIENT);
    plain.truncate(plain.len() - 14);
    plain.extend_from_slice(&[0, 0]);
    let answered = answer(&catalog(), &plain, from_a_1(), 0).unwrap();
    assert_eq!(answered.cookie, CookieState::None);
    assert_eq!(answered.reply[answered.reply.len() - 2..], [0, 0]);
    assert_eq!(badcookie(&catalog(), &plain, from_a_1()), None);
}
