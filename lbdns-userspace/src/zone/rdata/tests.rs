//! Each parser's output and, above all, its errors: which field, what was expected.

use hickory_proto::rr::rdata::{A, MX};
use hickory_proto::rr::{Name, RData, RecordType};

use super::parse;
use crate::zone::lexer::entries;
use crate::zone::ZoneErrorKind;

fn rdata(rtype: RecordType, text: &str) -> Result<RData, ZoneErrorKind> {
    let tokens = entries(text)
        .0
        .into_iter()
        .next()
        .map_or_else(Vec::new, |entry| entry.tokens);
    parse(
        rtype,
        &tokens,
        Some(&Name::from_ascii("example.com.").unwrap()),
    )
}

#[test]
fn typed_records_parse_with_relative_names() {
    let mx = rdata(RecordType::MX, "10 mail").unwrap();
    assert_eq!(
        mx,
        RData::MX(MX::new(10, Name::from_ascii("mail.example.com.").unwrap()))
    );
    let soa = rdata(RecordType::SOA, "ns1 host 1 1h 10m 1w 60").unwrap();
    let RData::SOA(soa) = soa else {
        panic!("not an SOA")
    };
    assert_eq!(
        (soa.refresh, soa.retry, soa.expire, soa.minimum),
        (3600, 600, 604_800, 60)
    );
}

#[test]
fn txt_decodes_escapes_and_keeps_every_string() {
    let RData::TXT(txt) = rdata(RecordType::TXT, r#""a\"b" c "\065""#).unwrap() else {
        panic!("not TXT")
    };
    let strings: Vec<&[u8]> = txt.txt_data.iter().map(|s| &s[..]).collect();
    assert_eq!(strings, [&b"a\"b"[..], b"c", b"A"]);
    assert!(rdata(RecordType::TXT, &format!("\"{}\"", "x".repeat(256))).is_err());
}

#[test]
fn caa_is_kept_as_wire_octets() {
    let RData::Unknown { rdata: wire, .. } =
        rdata(RecordType::CAA, r#"0 issue "ca.example""#).unwrap()
    else {
        panic!("CAA should be opaque")
    };
    assert_eq!(wire.anything, b"\x00\x05issueca.example");
    assert!(rdata(RecordType::CAA, "0 is-sue x").is_err());
}

#[test]
fn rfc3597_generic_form_for_known_and_unknown_types() {
    assert_eq!(
        rdata(RecordType::A, r"\# 4 C6120001").unwrap(),
        RData::A(A::new(198, 18, 0, 1))
    );
    let unknown = rdata(RecordType::Unknown(65280), r"\# 3 ab CD ef").unwrap();
    assert_eq!(unknown.record_type(), RecordType::Unknown(65280));
    assert!(rdata(RecordType::Unknown(65280), r"\# 4 abcdef").is_err());
    assert!(rdata(RecordType::A, r"\# 5 C612000101").is_err());
    let empty = rdata(RecordType::Unknown(65281), r"\# 0").unwrap();
    assert!(matches!(empty, RData::Unknown { rdata, .. } if rdata.anything.is_empty()));
}

#[test]
fn wrong_field_counts_and_values_are_errors() {
    assert!(rdata(RecordType::A, "198.18.0.1 extra").is_err());
    assert!(rdata(RecordType::A, "198.18.0.256").is_err());
    assert!(rdata(RecordType::MX, "mail").is_err());
    assert!(matches!(
        rdata(RecordType::from(11), "198.18.0.1 TCP"),
        Err(ZoneErrorKind::UnsupportedText(_))
    ));
}

/// The wire octets of an opaque record, or its error message.
pub(super) fn wire(rtype: u16, text: &str) -> Result<Vec<u8>, String> {
    match rdata(RecordType::from(rtype), text) {
        Ok(RData::Unknown { rdata, .. }) => Ok(rdata.anything),
        Ok(other) => panic!("{rtype} parsed as typed {other:?}"),
        Err(e) => Err(e.to_string()),
    }
}

pub(super) fn hex(text: &str) -> Vec<u8> {
    super::encoding::hex(text).unwrap()
}

/// Asserts that `text` is rejected with a message containing `needle`.
#[track_caller]
pub(super) fn rejects(rtype: u16, text: &str, needle: &str) {
    match wire(rtype, text) {
        Ok(octets) => panic!("accepted {text:?} as {octets:02x?}"),
        Err(message) => assert!(message.contains(needle), "{message:?} lacks {needle:?}"),
    }
}

const DS: u16 = 43;
const DNSKEY: u16 = 48;
const RRSIG: u16 = 46;
const NSEC: u16 = 47;
const NSEC3: u16 = 50;
const NSEC3PARAM: u16 = 51;
const ZONEMD: u16 = 63;

#[test]
fn rfc_4034_section_5_3_ds_fields() {
    assert_eq!(
        wire(
            DS,
            "60485 RSASHA1 1 2BB183AF5F22588179A5 3B0A98631FAD1A292118"
        )
        .unwrap(),
        hex("ec4505012bb183af5f22588179a53b0a98631fad1a292118")
    );
    rejects(DS, "60485 5 1", "missing digest");
    rejects(
        DS,
        "70000 5 1 00",
        "key tag: expected a number from 0 to 65535, found '70000'",
    );
    rejects(
        DS,
        "1 RSASHA3 1 00",
        "algorithm: expected a number from 0 to 255 or a mnemonic",
    );
    rejects(
        DS,
        "1 5 1 0g",
        "digest: expected an even number of hex digits",
    );
    rejects(DS, "1 5 1 abc", "hex digits");
    rejects(
        DS,
        "1 5 2 2BB183AF",
        "digest: SHA-256 digests are 32 octets, found 4",
    );
    rejects(DS, "1 5 4 00", "SHA-384 digests are 48 octets, found 1");
    assert_eq!(
        wire(DS, "0 0 0 00").unwrap(),
        hex("0000000000"),
        "RFC 8078 §4 delete"
    );
}

#[test]
fn rdata_longer_than_rfc_1035_allows_is_an_error() {
    let key = "A".repeat(87_384);
    rejects(
        DNSKEY,
        &format!("257 3 15 {key}"),
        "65542 octets of RDATA; at most 65535",
    );
}

#[test]
fn rfc_4034_section_2_2_dnskey_fields() {
    assert_eq!(
        wire(DNSKEY, "257 3 ED25519 AQID BA==").unwrap(),
        hex("0101030f01020304")
    );
    rejects(DNSKEY, "257 3 15", "missing public key");
    rejects(DNSKEY, "257 3 15 AQI", "public key: expected base64");
    rejects(
        DNSKEY,
        "257 300 15 AQID",
        "protocol: expected a number from 0 to 255",
    );
    rejects(DNSKEY, "-1 3 15 AQID", "flags");
}

#[test]
fn rfc_4034_section_3_2_rrsig_fields() {
    let text = "A 13 2 300 20270103232116 1764547200 26325 Signer.example. AQID";
    let octets = wire(RRSIG, text).unwrap();
    assert_eq!(&octets[..4], [0, 1, 13, 2]);
    assert_eq!(&octets[8..16], hex("6b3ad7ec692cda80"));
    assert_eq!(&octets[18..34], b"\x06Signer\x07example\x00");
    rejects(
        RRSIG,
        "BOGUS 13 2 300 1 0 1 a. AQID",
        "type covered: expected a type mnemonic",
    );
    rejects(
        RRSIG,
        "A 13 2 300 20271303232116 0 1 a. AQID",
        "signature expiration: expected YYYYMMDDHHmmSS",
    );
    rejects(
        RRSIG,
        "A 13 2 300 1 4294967296 1 a. AQID",
        "signature inception",
    );
    rejects(
        RRSIG,
        "A 13 2 300 1 0 1 a..b. AQID",
        "signer's name: bad domain name",
    );
    rejects(RRSIG, "A 13 2 300 1 0 1 a.", "missing signature");
    rejects(RRSIG, "A 13 2 1h 1 0 1 a. AQID", "original TTL");
}

#[test]
fn rfc_4034_section_4_2_nsec_fields() {
    assert_eq!(
        wire(NSEC, "Next. A TYPE1234").unwrap(),
        hex("044e65787400000140041b000000000000000000000000000000000000000000000000000020")
    );
    assert_eq!(wire(NSEC, "next.").unwrap(), b"\x04next\x00");
    rejects(
        NSEC,
        "next. A BOGUS",
        "type bitmap: expected type mnemonics or TYPEnnn, found 'BOGUS'",
    );
    rejects(NSEC, "next. TYPE65536", "type bitmap");
    rejects(NSEC, "", "missing next domain name");
}

#[test]
fn rfc_5155_section_3_3_nsec3_fields() {
    let next = "2T7B4G4VSA5SMI47K61MV5BV1A22BOJR";
    assert_eq!(
        wire(NSEC3, &format!("1 1 0 - {next}")).unwrap(),
        hex("010100000014174eb2409fe28bcb4887a1836f957f0a8425e27b")
    );
    assert_eq!(
        wire(NSEC3, &format!("1 0 5 AbCd {next} A")).unwrap()[..8],
        hex("0100000502abcd14")
    );
    rejects(
        NSEC3,
        &format!("2 0 0 - {next}"),
        "unknown NSEC3 hash algorithm 2",
    );
    rejects(
        NSEC3,
        &format!("1 0 0 abc {next}"),
        "salt: expected '-' or 1 to 255 octets in hex",
    );
    rejects(NSEC3, &format!("1 0 0 zz {next}"), "salt");
    rejects(NSEC3, &format!("1 0 0 {} {next}", "00".repeat(256)), "salt");
    rejects(
        NSEC3,
        "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJ",
        "next hashed owner name: expected base32hex",
    );
    rejects(
        NSEC3,
        "1 0 0 - 2T7B4G4V",
        "a SHA-1 hash is 20 octets, found 5",
    );
    rejects(NSEC3, "1 0 70000 - 2T7B4G4V", "iterations");
    rejects(NSEC3, "1 0 0 -", "missing next hashed owner name");
}

#[test]
fn rfc_5155_section_4_3_nsec3param_fields() {
    assert_eq!(
        wire(NSEC3PARAM, "1 0 12 aabbccdd").unwrap(),
        hex("0100000c04aabbccdd")
    );
    assert_eq!(wire(NSEC3PARAM, "1 0 0 -").unwrap(), hex("0100000000"));
    rejects(NSEC3PARAM, "0 0 0 -", "unknown NSEC3 hash algorithm 0");
    rejects(NSEC3PARAM, "1 0 0", "missing salt");
    rejects(
        NSEC3PARAM,
        "1 0 0 - extra",
        "unexpected extra field 'extra'",
    );
}

#[test]
fn rfc_8976_section_2_2_zonemd_fields() {
    assert_eq!(
        wire(ZONEMD, "1 1 240 000102030405060708090a0b").unwrap(),
        hex("0000000101f0000102030405060708090a0b")
    );
    rejects(
        ZONEMD,
        "1 1 240 0001",
        "digest: at least 12 octets, found 2",
    );
    rejects(
        ZONEMD,
        "1 1 2 000102030405060708090a0b",
        "SHA-512 digests are 64 octets, found 12",
    );
    rejects(ZONEMD, "4294967296 1 1 000102030405060708090a0b", "serial");
}
