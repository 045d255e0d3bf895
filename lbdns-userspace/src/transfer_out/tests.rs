//! Serving transfers, named by the RFC section they come from.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;
use crate::authority::Catalog;
use crate::tsig::{self, Algorithm, Key, KeyRing, ResponseVerifier, TsigError};
use crate::zone::{Zone, ZoneSpec};

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 86400 120\n\
@ NS ns1\nns1 A 198.18.0.53\nwww A 198.18.1.1\nwww A 198.18.1.2\nmail MX 10 www\n";

const NOW: u64 = 1_700_000_000;

fn key() -> Key {
    Key::new(
        Name::from_ascii("xfr-key.").unwrap(),
        Algorithm::HmacSha256,
        b"transfer secret".to_vec(),
    )
}

/// A catalog serving `text` with `provide_xfr` rules.
fn catalog(text: &str, provide: &[&str]) -> Catalog {
    let zone = Zone::parse(text, Path::new("test.zone"), None).unwrap();
    let mut keys = KeyRing::default();
    keys.insert(key());
    let rules = ZoneRules {
        file: PathBuf::from("test.zone"),
        origin: None,
        provide_xfr: provide.iter().map(|a| Allow::parse(a).unwrap()).collect(),
        notify: Vec::new(),
    };
    let spec = ZoneSpec {
        file: PathBuf::from("test.zone"),
        origin: None,
    };
    let transfers = Transfers::new(keys, &[rules], &[(spec.file.clone(), zone.origin.clone())]);
    Catalog::new(&[zone]).unwrap().with_transfers(transfers)
}

/// A transfer request for `example.test.`; IXFR carries `serial` in its authority section.
fn request(qtype: u16, serial: Option<u32>) -> Vec<u8> {
    let mut q = vec![
        0x42,
        0x42,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        u8::from(serial.is_some()),
        0,
        0,
    ];
    q.extend_from_slice(b"\x07example\x04test\x00");
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    if let Some(serial) = serial {
        q.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0]);
        q.extend_from_slice(&serial.to_be_bytes());
        q.extend_from_slice(&[0; 16]);
    }
    q
}

fn peer(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Every message of a transfer, decoded.
fn run(catalog: &Catalog, query: &[u8], from: &str) -> Vec<Message> {
    let mut transfer = answer(catalog, query, peer(from), NOW).expect("a reply");
    std::iter::from_fn(|| transfer.next_message(NOW))
        .map(|m| Message::from_vec(&m).unwrap())
        .collect()
}

fn records(messages: &[Message]) -> Vec<Record> {
    messages.iter().flat_map(|m| m.answers.clone()).collect()
}

#[test]
fn transfer_requests_are_recognised_by_their_question() {
    assert!(is_transfer(&request(252, None)));
    assert!(is_transfer(&request(251, Some(1))));
    assert!(!is_transfer(&request(1, None)));
    let mut response = request(252, None);
    response[2] |= 0x80;
    assert!(!is_transfer(&response));
    assert!(!is_transfer(&[0; 5]));
}

#[test]
fn rfc5936_2_2_axfr_carries_every_record_between_two_soas() {
    let catalog = catalog(ZONE, &["127.0.0.1 NOKEY"]);
    let messages = run(&catalog, &request(252, None), "127.0.0.1");
    let header = &messages[0];
    assert_eq!(header.id, 0x4242);
    assert!(header.authoritative);
    assert_eq!(header.response_code, ResponseCode::NoError);
    let all = records(&messages);
    assert_eq!(all.len(), 7, "SOA, NS, A, 2 A, MX, SOA: {all:?}");
    assert_eq!(all[0].record_type(), RecordType::SOA);
    assert_eq!(all[6].record_type(), RecordType::SOA);
    assert_eq!(
        all.iter()
            .filter(|r| r.record_type() == RecordType::SOA)
            .count(),
        2
    );
    assert!(all.iter().any(
        |r| matches!(&r.data, RData::MX(mx) if mx.exchange.to_ascii() == "www.example.test.")
    ));
}

#[test]
fn rfc5936_2_2_a_large_zone_goes_in_several_messages_question_first_only() {
    let mut text = ZONE.to_string();
    for i in 0..3000 {
        text.push_str(&format!("host{i} TXT \"{}\"\n", "t".repeat(40)));
    }
    let catalog = catalog(&text, &["127.0.0.0/8"]);
    let messages = run(&catalog, &request(252, None), "127.0.0.9");
    assert!(messages.len() > 5, "{} messages", messages.len());
    assert_eq!(messages[0].queries.len(), 1);
    assert!(messages[1..].iter().all(|m| m.queries.is_empty()));
    assert_eq!(records(&messages).len(), 3007);
}

#[test]
fn rfc5936_6_others_are_refused() {
    let catalog = catalog(ZONE, &["127.0.0.1 xfr-key"]);
    // Another address; the right address unsigned when the rule wants a key.
    for from in ["127.0.0.2", "127.0.0.1"] {
        let messages = run(&catalog, &request(252, None), from);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].response_code, ResponseCode::Refused, "{from}");
        assert!(messages[0].answers.is_empty());
    }
    // A zone that is not served; a zone without rules.
    let mut other = request(252, None);
    other[13] = b'E';
    other[14] = b'Y';
    let messages = run(&catalog, &other, "127.0.0.1");
    assert_eq!(messages[0].response_code, ResponseCode::Refused);
    let closed = self::catalog(ZONE, &[]);
    let messages = run(&closed, &request(252, None), "127.0.0.1");
    assert_eq!(messages[0].response_code, ResponseCode::Refused);
}

#[test]
fn rfc8945_5_3_1_a_signed_request_gets_every_message_signed() {
    let mut text = ZONE.to_string();
    for i in 0..2000 {
        text.push_str(&format!("host{i} TXT \"{}\"\n", "t".repeat(40)));
    }
    let catalog = catalog(&text, &["127.0.0.1 xfr-key"]);
    let mut query = request(252, None);
    let mac = tsig::sign_request(&mut query, &key(), NOW);
    let mut transfer = answer(&catalog, &query, peer("127.0.0.1"), NOW).unwrap();
    let mut verifier = ResponseVerifier::new(&key(), mac);
    let mut count = 0;
    while let Some(message) = transfer.next_message(NOW) {
        assert!(tsig::is_signed(&message), "message {count} unsigned");
        let plain = verifier.verify(&message, NOW).unwrap();
        count += Message::from_vec(&plain).unwrap().answers.len();
    }
    verifier.finish().unwrap();
    assert_eq!(count, 2007);
}

#[test]
fn rfc8945_5_2_a_bad_tsig_on_a_transfer_gets_notauth() {
    let catalog = catalog(ZONE, &["127.0.0.1 xfr-key"]);
    let mut query = request(252, None);
    let wrong = Key::new(key().name, Algorithm::HmacSha256, b"wrong".to_vec());
    let mac = tsig::sign_request(&mut query, &wrong, NOW);
    let mut transfer = answer(&catalog, &query, peer("127.0.0.1"), NOW).unwrap();
    let reply = transfer.next_message(NOW).unwrap();
    assert!(transfer.next_message(NOW).is_none());
    assert_eq!(reply[3] & 0xf, 9, "NOTAUTH");
    let result = ResponseVerifier::new(&wrong, mac).verify(&reply, NOW);
    assert!(
        matches!(result, Err(TsigError::Peer(tsig::rcode::BADSIG))),
        "{result:?}"
    );
}

#[test]
fn rfc1995_4_ixfr_gets_the_soa_when_current_and_the_zone_otherwise() {
    let catalog = catalog(ZONE, &["127.0.0.1"]);
    for current in [7, 8] {
        let messages = run(&catalog, &request(251, Some(current)), "127.0.0.1");
        let all = records(&messages);
        assert_eq!(all.len(), 1, "serial {current}: {all:?}");
        assert!(matches!(&all[0].data, RData::SOA(soa) if soa.serial == 7));
    }
    let messages = run(&catalog, &request(251, Some(6)), "127.0.0.1");
    assert_eq!(records(&messages).len(), 7);
    assert_eq!(messages[0].queries[0].query_type(), RecordType::IXFR);
}

#[test]
fn zone_lists_name_the_line_of_a_bad_entry_or_an_unknown_key() {
    use crate::config::{Overrides, Settings};
    let dir = std::env::temp_dir().join(format!("lbdns-xfr-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = "[[key]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0\"\n";
    for (zone, line, message) in [
        (
            "[[zone]]\nfile = \"a.zone\"\nprovide_xfr = [\"10.0.0.0/40\"]\n",
            3,
            "zone.provide_xfr: /40",
        ),
        (
            "[[zone]]\nfile = \"a.zone\"\nprovide_xfr = [\n  \"10.0.0.1 xfr-key\",\n  \"10.0.0.2 other\",\n]\n",
            5,
            "key other. is not defined",
        ),
        (
            "[[zone]]\nfile = \"a.zone\"\nnotify = [\"nowhere\"]\n",
            3,
            "zone.notify:",
        ),
    ] {
        let path = dir.join("lists.toml");
        std::fs::write(&path, format!("{zone}{key}")).unwrap();
        let error = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(error.line, line, "{zone}: {error}");
        assert!(error.to_string().contains(message), "{zone}: {error}");
    }
    let path = dir.join("good.toml");
    std::fs::write(
        &path,
        format!("[[zone]]\nfile = \"a.zone\"\nprovide_xfr = [\"10.0.0.1 xfr-key\"]\nnotify = [\"10.0.0.2\"]\n{key}"),
    )
    .unwrap();
    let settings = Settings::new(Some(&path), Overrides::default()).unwrap();
    assert_eq!(settings.transfer_rules.len(), 1);
    assert_eq!(settings.transfer_rules[0].notify[0].address.port(), 53);
}

#[test]
fn rfc1995_4_ixfr_sends_the_kept_differences_oldest_first() {
    let v7 = catalog(ZONE, &["127.0.0.1"]);
    let v8_text = ZONE.replace(" 7 3600", " 8 3600").replace(
        "www A 198.18.1.2\n",
        "www A 198.18.1.3\nnew TXT \"added\"\n",
    );
    let v8 = catalog(&v8_text, &["127.0.0.1"]);
    record_differences(&v7, &v8);
    let v9 = catalog(
        &v8_text
            .replace(" 8 3600", " 9 3600")
            .replace("mail MX 10 www\n", ""),
        &["127.0.0.1"],
    );
    record_differences(&v8, &v9);
    let soa_serial = |r: &Record| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    };
    let summary = |all: &[Record]| -> Vec<String> {
        all.iter()
            .map(|r| match soa_serial(r) {
                Some(serial) => format!("SOA {serial}"),
                None => format!("{} {} {}", r.name, r.record_type(), r.data),
            })
            .collect()
    };
    let all = records(&run(&v9, &request(251, Some(7)), "127.0.0.1"));
    assert_eq!(
        summary(&all),
        [
            "SOA 9",
            "SOA 7",
            "www.example.test. A 198.18.1.2",
            "SOA 8",
            "www.example.test. A 198.18.1.3",
            "new.example.test. TXT added",
            "SOA 8",
            "mail.example.test. MX 10 www.example.test.",
            "SOA 9",
            "SOA 9",
        ]
    );
    let all = records(&run(&v9, &request(251, Some(8)), "127.0.0.1"));
    assert_eq!(all.len(), 5, "{:?}", summary(&all));
    // Older than the history: the whole zone.
    let all = records(&run(&v9, &request(251, Some(6)), "127.0.0.1"));
    assert_eq!(all.len(), 7, "{:?}", summary(&all));
}

#[test]
fn rfc1995_differences_find_changed_moved_added_and_removed_names() {
    use crate::authority::ZoneData;
    let head = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 h SERIAL 3600 600 86400 120\n@ NS ns1\n";
    let data = |serial: u32, body: &str| {
        let text = format!("{}{body}", head.replace("SERIAL", &serial.to_string()));
        ZoneData::new(&Zone::parse(&text, Path::new("d.zone"), None).unwrap())
    };
    let old = data(
        1,
        "a A 198.18.0.1\nb A 198.18.0.2\nc TXT \"c\"\nttl 60 A 198.18.0.9\n",
    );
    // Reordered, one address changed, a name gone, a name new, a TTL changed.
    let new = data(
        2,
        "d AAAA 2001:db8::4\nb A 198.18.0.3\na A 198.18.0.1\nttl 90 A 198.18.0.9\n",
    );
    let difference = super::history::difference(&old, &new).unwrap();
    let show = |records: &[super::history::DiffRecord]| {
        let mut lines: Vec<String> = records
            .iter()
            .map(|r| format!("{} {} {}", r.name, r.ttl, r.rtype))
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        show(&difference.removed),
        [
            "b.example.test. 300 A",
            "c.example.test. 300 TXT",
            "ttl.example.test. 60 A"
        ]
    );
    assert_eq!(
        show(&difference.added),
        [
            "b.example.test. 300 A",
            "d.example.test. 300 AAAA",
            "ttl.example.test. 90 A"
        ]
    );
    assert_eq!((difference.old_serial(), difference.new_serial()), (1, 2));
    // A patched zone's difference, found by the names patched, is the same.
    let zone = |serial: u32, body: &str| {
        let text = format!("{}{body}", head.replace("SERIAL", &serial.to_string()));
        Zone::parse(&text, Path::new("d.zone"), None).unwrap()
    };
    let owners = |zone: &Zone, names: &[&str]| -> Vec<_> {
        names
            .iter()
            .map(|owner| {
                let name = hickory_proto::rr::Name::from_ascii(owner).unwrap();
                let records = zone
                    .records
                    .iter()
                    .filter(|r| r.record.name == name)
                    .cloned()
                    .collect();
                (name, records)
            })
            .collect()
    };
    let v1 = zone(1, "a A 198.18.0.1\nb A 198.18.0.2\n");
    let v2 = zone(2, "a A 198.18.0.1\nb A 198.18.0.3\nn.e AAAA 2001:db8::4\n");
    let touched = ["example.test.", "b.example.test.", "n.e.example.test."];
    let patched = ZoneData::new(&v1).patched(&owners(&v2, &touched)).unwrap();
    let base = ZoneData::new(&v1);
    let patched_from_base = base.patched(&owners(&v2, &touched)).unwrap();
    let by_patch = super::history::difference(&base, &patched_from_base).unwrap();
    let whole = super::history::difference(&base, &ZoneData::new(&v2)).unwrap();
    assert!(patched.patched_names(&base).is_none(), "another base");
    assert_eq!(show(&by_patch.removed), show(&whole.removed));
    assert_eq!(show(&by_patch.added), show(&whole.added));
    assert_eq!(
        show(&by_patch.added),
        ["b.example.test. 300 A", "n.e.example.test. 300 AAAA"]
    );
    assert!(super::history::difference(&old, &old)
        .unwrap()
        .added
        .is_empty());
}
