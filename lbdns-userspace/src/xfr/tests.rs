//! The transfer client against `test_primary`, which serves crafted streams: AXFR and IXFR as
//! RFC 5936 and RFC 1995 shape them, and each way a hostile or broken primary can deviate.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::test_primary::{answers, framed, message, raw, rcode, Reply, Script, Seen, TestPrimary};
use super::{fetch, soa_serial, Fetched, Limits, Patch, Primary, XfrError, XfrErrorKind};
use crate::authority::ZoneData;
use crate::tsig::{Algorithm, Key, KeyRing, TsigError};
use crate::zone::Zone;

fn origin() -> Name {
    Name::from_ascii("x.test.").unwrap()
}

/// The test zone at `serial`, with `www`'s address and any extra lines.
fn zone(serial: u32, www: &str, extra: &str) -> Zone {
    let text = format!(
        "$ORIGIN x.test.\n$TTL 300\n\
         @ SOA ns hostmaster {serial} 3600 600 86400 60\n\
         @ NS ns\n\
         ns A 192.0.2.1\n\
         www A {www}\n\
         www AAAA 2001:db8::10\n\
         txt TXT \"hello\" \"world\"\n\
         mail MX 10 ns\n\
         _sip._tcp SRV 1 2 5060 ns\n\
         alias CNAME www\n\
         caa CAA 0 issue \"ca.example\"\n\
         dname DNAME elsewhere.example.\n\
         key DNSKEY 256 3 13 AQID\n\
         {extra}"
    );
    Zone::parse(&text, Path::new("x.zone"), None).unwrap()
}

fn records(zone: &Zone) -> Vec<Record> {
    zone.records.iter().map(|r| r.record.clone()).collect()
}

fn soa(zone: &Zone) -> Record {
    records(zone)
        .into_iter()
        .find(|r| r.record_type() == RecordType::SOA)
        .unwrap()
}

/// RFC 5936 §2.2: the SOA, every other record, the SOA again.
fn axfr(zone: &Zone) -> Vec<Record> {
    let mut all = records(zone);
    all.push(soa(zone));
    all
}

fn a(name: &str, address: [u8; 4]) -> Record {
    Record::from_rdata(
        Name::from_ascii(name).unwrap(),
        300,
        RData::A(A::new(address[0], address[1], address[2], address[3])),
    )
}

/// Owner, TTL, class and RDATA of every record, sorted: what must match between two zones.
fn contents(zone: &Zone) -> Vec<String> {
    let mut all: Vec<_> = zone
        .records
        .iter()
        .map(|r| {
            let r = &r.record;
            format!("{} {} {} {:?}", r.name, r.ttl, r.dns_class, r.data)
        })
        .collect();
    all.sort();
    all
}

fn limits() -> Limits {
    Limits {
        idle: Duration::from_secs(5),
        transfer_time: Duration::from_secs(20),
        ..Limits::default()
    }
}

async fn run(
    scripts: Vec<Script>,
    current: Option<&Zone>,
) -> (Result<Fetched, XfrError>, Vec<Seen>) {
    run_signed(scripts, current, None, None).await
}

/// [`run`] with TSIG: `server` is the primary's key ring, `client` the key we sign with.
async fn run_signed(
    scripts: Vec<Script>,
    current: Option<&Zone>,
    server: Option<KeyRing>,
    client: Option<Key>,
) -> (Result<Fetched, XfrError>, Vec<Seen>) {
    let primary = TestPrimary::start(scripts, None, server).await;
    let index = current.map(ZoneData::new);
    let result = fetch(
        &Primary {
            address: primary.address,
            key: client.map(Arc::new),
        },
        &origin(),
        index.as_ref(),
        &limits(),
    )
    .await;
    (result, primary.seen())
}

/// `held` with `patch` applied.
fn applied(patch: &Patch, held: &Zone) -> Zone {
    let mut zone = held.clone();
    patch.apply_to(&mut zone);
    zone
}

fn full(result: Result<Fetched, XfrError>) -> Zone {
    match result {
        Ok(Fetched::Full { zone }) => zone,
        other => panic!("expected a full zone, got {other:?}"),
    }
}

fn failure(result: Result<Fetched, XfrError>) -> XfrErrorKind {
    match result {
        Err(e) => e.kind,
        Ok(other) => panic!("expected an error, got {other:?}"),
    }
}

const AXFR: Seen = Seen {
    qtype: RecordType::AXFR,
    serial: None,
};

fn ixfr(serial: u32) -> Seen {
    Seen {
        qtype: RecordType::IXFR,
        serial: Some(serial),
    }
}

#[tokio::test]
async fn rfc5936_section2_2_axfr_in_one_message() {
    let v1 = zone(1, "192.0.2.10", "");
    let (result, seen) = run(vec![answers(vec![axfr(&v1)])], None).await;
    let got = full(result);
    assert_eq!(contents(&got), contents(&v1));
    assert_eq!(got.origin, origin());
    assert_eq!(seen, [AXFR]);
}

#[tokio::test]
async fn rfc5936_section2_2_axfr_over_several_messages() {
    let v1 = zone(1, "192.0.2.10", "");
    let all = axfr(&v1);
    // The SOA alone, then the rest split unevenly, the final SOA alone.
    let chunks = vec![
        all[..1].to_vec(),
        all[1..4].to_vec(),
        vec![],
        all[4..all.len() - 1].to_vec(),
        all[all.len() - 1..].to_vec(),
    ];
    let (result, _) = run(vec![answers(chunks)], None).await;
    assert_eq!(contents(&full(result)), contents(&v1));
}

#[tokio::test]
async fn rfc1995_section4_axfr_style_ixfr_answer_is_a_full_zone() {
    let v1 = zone(1, "192.0.2.10", "");
    let v2 = zone(2, "192.0.2.11", "");
    let (result, seen) = run(vec![answers(vec![axfr(&v2)])], Some(&v1)).await;
    assert_eq!(contents(&full(result)), contents(&v2));
    assert_eq!(seen, [ixfr(1)], "no second transfer");
}

/// v1 → v2: www's address changes and `new` appears; v2 → v3: `new` goes again.
fn diffs_1_to_3() -> Vec<Record> {
    let (v1, v2, v3) = (
        zone(1, "192.0.2.10", ""),
        zone(2, "192.0.2.11", ""),
        zone(3, "192.0.2.11", ""),
    );
    vec![
        soa(&v3),
        soa(&v1),
        a("www.x.test.", [192, 0, 2, 10]),
        soa(&v2),
        a("www.x.test.", [192, 0, 2, 11]),
        a("new.x.test.", [192, 0, 2, 20]),
        soa(&v2),
        a("new.x.test.", [192, 0, 2, 20]),
        soa(&v3),
        soa(&v3),
    ]
}

#[tokio::test]
async fn rfc1995_section4_difference_sequences_are_applied() {
    let v1 = zone(1, "192.0.2.10", "");
    let v2 = zone(2, "192.0.2.11", "new A 192.0.2.20\n");
    let diff = diffs_1_to_3()[..7].to_vec();
    let mut one = diff.clone();
    one[0] = soa(&v2);
    let (result, seen) = run(vec![answers(vec![one])], Some(&v1)).await;
    let Ok(Fetched::Incremental { patch }) = result else {
        panic!("expected an incremental transfer, got {result:?}");
    };
    assert_eq!(contents(&applied(&patch, &v1)), contents(&v2));
    assert_eq!(
        patch.changed_names(),
        [
            Name::from_ascii("www.x.test.").unwrap(),
            Name::from_ascii("new.x.test.").unwrap(),
            origin(),
        ]
    );
    assert_eq!(seen, [ixfr(1)]);
    // The zone held is untouched.
    assert_eq!(contents(&v1), contents(&zone(1, "192.0.2.10", "")));
}

#[tokio::test]
async fn rfc1995_section4_chained_sequences_over_several_messages() {
    let v1 = zone(1, "192.0.2.10", "");
    let v3 = zone(3, "192.0.2.11", "");
    let all = diffs_1_to_3();
    let chunks = all.chunks(3).map(<[Record]>::to_vec).collect();
    let (result, _) = run(vec![answers(chunks)], Some(&v1)).await;
    let Ok(Fetched::Incremental { patch }) = result else {
        panic!("expected an incremental transfer, got {result:?}");
    };
    assert_eq!(contents(&applied(&patch, &v1)), contents(&v3));
}

/// The owners a difference touches are read from the index held (no pass over the zone); the
/// patch lays over that index as the changed zone indexed whole, and the index's records are
/// the zone's.
#[tokio::test]
async fn rfc1995_section4_diffs_read_the_touched_owners_from_the_index() {
    let v1 = zone(1, "192.0.2.10", "");
    let v3 = zone(3, "192.0.2.11", "");
    let index = ZoneData::new(&v1);
    let source: Arc<Path> = Arc::from(Path::new("index"));
    assert_eq!(contents(&super::unindexed(&index, &source)), contents(&v1));
    let Ok(Fetched::Incremental { patch }) =
        run(vec![answers(vec![diffs_1_to_3()])], Some(&v1)).await.0
    else {
        panic!("expected an incremental transfer");
    };
    let patched = index.patched(&patch.owners).unwrap();
    let whole = ZoneData::new(&v3);
    let described = |data: &ZoneData| {
        let mut lines: Vec<String> = data
            .rrsets()
            .map(|(name, _, rrset)| {
                format!("{name} {} {} {:?}", rrset.rtype, rrset.ttl, rrset.rdatas)
            })
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(described(&patched), described(&whole));
}

#[tokio::test]
async fn rfc1995_section4_a_lone_soa_of_our_serial_means_up_to_date() {
    let v1 = zone(1, "192.0.2.10", "");
    let (result, _) = run(vec![answers(vec![vec![soa(&v1)]])], Some(&v1)).await;
    assert!(
        matches!(result, Ok(Fetched::UpToDate { serial: 1 })),
        "{result:?}"
    );
}

#[tokio::test]
async fn rfc1995_section4_a_diff_that_does_not_fit_falls_back_to_axfr() {
    let v1 = zone(1, "192.0.2.10", "");
    let v2 = zone(2, "192.0.2.11", "");
    // Deletes an address www never had.
    let bad = vec![
        soa(&v2),
        soa(&v1),
        a("www.x.test.", [192, 0, 2, 99]),
        soa(&v2),
        a("www.x.test.", [192, 0, 2, 11]),
        soa(&v2),
    ];
    let (result, seen) = run(
        vec![answers(vec![bad]), answers(vec![axfr(&v2)])],
        Some(&v1),
    )
    .await;
    assert_eq!(contents(&full(result)), contents(&v2));
    assert_eq!(seen, [ixfr(1), AXFR]);
}

#[tokio::test]
async fn rfc1995_section4_diffs_that_break_the_zone_fall_back_to_axfr() {
    let v1 = zone(1, "192.0.2.10", "");
    let v2 = zone(2, "192.0.2.11", "");
    // Adds a CNAME beside www's addresses (RFC 1034 §3.6.2).
    let cname = Record::from_rdata(
        Name::from_ascii("www.x.test.").unwrap(),
        300,
        RData::CNAME(hickory_proto::rr::rdata::CNAME(
            Name::from_ascii("ns.x.test.").unwrap(),
        )),
    );
    let bad = vec![soa(&v2), soa(&v1), soa(&v2), cname, soa(&v2)];
    let (result, seen) = run(
        vec![answers(vec![bad]), answers(vec![axfr(&v2)])],
        Some(&v1),
    )
    .await;
    assert_eq!(contents(&full(result)), contents(&v2));
    assert_eq!(seen, [ixfr(1), AXFR]);
}

#[tokio::test]
async fn rfc1995_section4_unchained_serials_fall_back_to_axfr() {
    let v1 = zone(1, "192.0.2.10", "");
    let v2 = zone(2, "192.0.2.11", "");
    let v7 = zone(7, "192.0.2.10", "");
    // The diff starts from serial 7, which we do not hold.
    let bad = vec![soa(&v2), soa(&v7), soa(&v2), soa(&v2)];
    let (result, seen) = run(
        vec![answers(vec![bad]), answers(vec![axfr(&v2)])],
        Some(&v1),
    )
    .await;
    assert_eq!(contents(&full(result)), contents(&v2));
    assert_eq!(seen, [ixfr(1), AXFR]);
}

#[tokio::test]
async fn rfc1995_ixfr_refused_as_not_implemented_falls_back_to_axfr() {
    let v1 = zone(1, "192.0.2.10", "");
    let v2 = zone(2, "192.0.2.11", "");
    let notimp = rcode(ResponseCode::NotImp);
    let (result, seen) = run(vec![notimp, answers(vec![axfr(&v2)])], Some(&v1)).await;
    assert_eq!(contents(&full(result)), contents(&v2));
    assert_eq!(seen, [ixfr(1), AXFR]);
}

#[tokio::test]
async fn hostile_truncated_stream_is_rejected() {
    let v1 = zone(1, "192.0.2.10", "");
    let all = axfr(&v1);
    let (result, _) = run(vec![answers(vec![all[..5].to_vec()])], None).await;
    assert!(
        matches!(failure(result), XfrErrorKind::Truncated { records: 5 }),
        "closed before the final SOA"
    );
    // Cut inside a message: the length promises more than comes.
    let cut: Script = Box::new(move |request: &Message| {
        let mut octets = framed(&message(request, ResponseCode::NoError, &all));
        octets.truncate(octets.len() / 2);
        Reply::Raw(octets)
    });
    let (result, _) = run(vec![cut], None).await;
    let kind = failure(result);
    assert!(
        matches!(kind, XfrErrorKind::Malformed { message: 1, .. }),
        "{kind}"
    );
}

#[tokio::test]
async fn hostile_wrong_first_or_last_soa_is_rejected() {
    let v1 = zone(1, "192.0.2.10", "");
    let mut no_soa_first = axfr(&v1);
    no_soa_first.remove(0);
    let (result, _) = run(vec![answers(vec![no_soa_first])], None).await;
    let kind = failure(result);
    assert!(
        matches!(kind, XfrErrorKind::WrongSoa { position: 1, .. }),
        "{kind}"
    );

    let mut other_last = axfr(&v1);
    let last = other_last.len() - 1;
    other_last[last] = soa(&zone(9, "192.0.2.10", ""));
    let (result, _) = run(vec![answers(vec![other_last])], None).await;
    let kind = failure(result);
    assert!(matches!(kind, XfrErrorKind::WrongSoa { .. }), "{kind}");
    assert!(kind.to_string().contains("serial 9"), "{kind}");
}

#[tokio::test]
async fn hostile_lower_serial_is_rejected_rfc1982() {
    let v5 = zone(5, "192.0.2.10", "");
    let v3 = zone(3, "192.0.2.10", "");
    let (result, seen) = run(vec![answers(vec![axfr(&v3)])], Some(&v5)).await;
    let kind = failure(result);
    assert!(
        matches!(
            kind,
            XfrErrorKind::LowerSerial {
                current: 5,
                offered: 3
            }
        ),
        "{kind}"
    );
    assert_eq!(seen, [ixfr(5)], "a lower serial is no reason to try AXFR");
}

#[tokio::test]
async fn hostile_garbage_is_rejected() {
    // Not even the request's ID.
    let (result, _) = run(vec![raw(framed(&[0xde; 40]))], None).await;
    let kind = failure(result);
    assert!(
        matches!(kind, XfrErrorKind::Malformed { message: 1, .. }),
        "{kind}"
    );
    // The right ID and a header promising records that are noise.
    let noise: Script = Box::new(|request: &Message| {
        let mut octets = request.metadata.id.to_be_bytes().to_vec();
        octets.extend_from_slice(&[0x84, 0, 0, 0, 0, 3, 0, 0, 0, 0]);
        octets.extend_from_slice(&[0xc0, 0xff, 0x3f, 0x01, 0x02, 0x03, 0x04, 0x05]);
        Reply::Raw(framed(&octets))
    });
    let (result, _) = run(vec![noise], None).await;
    let kind = failure(result);
    assert!(
        matches!(kind, XfrErrorKind::Malformed { message: 1, .. }),
        "{kind}"
    );
}

#[tokio::test]
async fn hostile_record_out_of_zone_is_rejected() {
    let v1 = zone(1, "192.0.2.10", "");
    let mut all = axfr(&v1);
    all.insert(3, a("www.other.test.", [192, 0, 2, 66]));
    let (result, _) = run(vec![answers(vec![all])], None).await;
    let kind = failure(result);
    assert!(
        matches!(kind, XfrErrorKind::OutOfZone { position: 4, .. }),
        "{kind}"
    );
}

#[tokio::test]
async fn hostile_record_of_another_class_is_rejected() {
    let v1 = zone(1, "192.0.2.10", "");
    let mut all = axfr(&v1);
    let mut chaos = a("ch.x.test.", [192, 0, 2, 67]);
    chaos.dns_class = DNSClass::CH;
    all.insert(2, chaos);
    let (result, _) = run(vec![answers(vec![all])], None).await;
    let kind = failure(result);
    assert!(
        matches!(
            kind,
            XfrErrorKind::WrongClass {
                position: 3,
                class: DNSClass::CH,
                ..
            }
        ),
        "{kind}"
    );
}

#[tokio::test]
async fn hostile_refused_and_other_rcodes_are_errors() {
    let (result, _) = run(vec![rcode(ResponseCode::Refused)], None).await;
    assert!(matches!(failure(result), XfrErrorKind::Refused));
    let (result, _) = run(vec![rcode(ResponseCode::NotAuth)], None).await;
    assert!(matches!(failure(result), XfrErrorKind::NotAuth));
    let (result, _) = run(vec![rcode(ResponseCode::ServFail)], None).await;
    assert!(matches!(
        failure(result),
        XfrErrorKind::Rcode(ResponseCode::ServFail)
    ));
}

#[tokio::test]
async fn hostile_records_after_the_final_soa_are_rejected() {
    let v1 = zone(1, "192.0.2.10", "");
    let mut all = axfr(&v1);
    all.push(a("late.x.test.", [192, 0, 2, 68]));
    let (result, _) = run(vec![answers(vec![all])], None).await;
    let kind = failure(result);
    assert!(matches!(kind, XfrErrorKind::Malformed { .. }), "{kind}");
}

#[tokio::test]
async fn a_transferred_zone_is_validated_like_a_file() {
    // A CNAME beside other data (RFC 1034 §3.6.2), at stream position 4.
    let v1 = zone(1, "192.0.2.10", "");
    let mut all = axfr(&v1);
    let cname = Record::from_rdata(
        Name::from_ascii("www.x.test.").unwrap(),
        300,
        RData::CNAME(hickory_proto::rr::rdata::CNAME(
            Name::from_ascii("ns.x.test.").unwrap(),
        )),
    );
    all.insert(3, cname);
    let (result, _) = run(vec![answers(vec![all])], None).await;
    let error = result.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error.kind, XfrErrorKind::Invalid(_)), "{text}");
    assert!(
        text.contains("record 5: www.x.test. has a CNAME and other data"),
        "names the place in the stream: {text}"
    );
    assert!(text.contains("127.0.0.1:"), "names the primary: {text}");
}

#[tokio::test]
async fn a_silent_primary_times_out() {
    let silent: Script = Box::new(|_| Reply::Hang);
    let primary = TestPrimary::start(vec![silent], None, None).await;
    let short = Limits {
        idle: Duration::from_millis(200),
        ..limits()
    };
    let result = fetch(
        &Primary {
            address: primary.address,
            key: None,
        },
        &origin(),
        None,
        &short,
    )
    .await;
    assert!(matches!(failure(result), XfrErrorKind::Timeout(_)));
}

#[tokio::test]
async fn a_stream_past_its_limits_is_cut_off() {
    let v1 = zone(1, "192.0.2.10", "");
    let all = axfr(&v1);
    let one_each = all.chunks(1).map(<[Record]>::to_vec).collect::<Vec<_>>();
    for (limits, what) in [
        (
            Limits {
                max_records: 5,
                ..limits()
            },
            "5 records",
        ),
        (
            Limits {
                max_messages: 3,
                ..limits()
            },
            "3 messages",
        ),
        (
            Limits {
                max_octets: 100,
                ..limits()
            },
            "100 octets",
        ),
    ] {
        let primary = TestPrimary::start(vec![answers(one_each.clone())], None, None).await;
        let address = primary.address;
        let result = fetch(&Primary { address, key: None }, &origin(), None, &limits).await;
        match failure(result) {
            XfrErrorKind::Limit(limit) => assert_eq!(limit, what),
            other => panic!("{what}: {other}"),
        }
    }
}

#[tokio::test]
async fn soa_serial_over_udp_then_tcp_when_truncated() {
    let v7 = zone(7, "192.0.2.10", "");
    let soa7 = soa(&v7);
    let truncated: Script = Box::new(|request: &Message| {
        let mut reply = Message::response(request.metadata.id, hickory_proto::op::OpCode::Query);
        reply.metadata.truncation = true;
        reply.add_query(request.queries[0].clone());
        Reply::Messages(vec![reply.to_vec().unwrap()])
    });
    let over_tcp = answers(vec![vec![soa7]]);
    let primary = TestPrimary::start(vec![over_tcp], Some(truncated), None).await;
    let address = primary.address;
    let serial = soa_serial(
        &Primary { address, key: None },
        &origin(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(serial, 7);
    let seen = primary.seen();
    assert_eq!(seen.len(), 2, "one query over UDP, one over TCP");
    assert!(seen.iter().all(|s| s.qtype == RecordType::SOA));
}

fn key(secret: &[u8]) -> Key {
    Key::new(
        Name::from_ascii("xfr-key.").unwrap(),
        Algorithm::HmacSha256,
        secret.to_vec(),
    )
}

fn ring(secret: &[u8]) -> KeyRing {
    let mut ring = KeyRing::default();
    ring.insert(key(secret));
    ring
}

#[tokio::test]
async fn rfc8945_section5_3_1_every_message_of_a_signed_axfr_verifies() {
    let v1 = zone(1, "192.0.2.10", "");
    let all = axfr(&v1);
    let chunks = all.chunks(4).map(<[Record]>::to_vec).collect();
    let (result, _) = run_signed(
        vec![answers(chunks)],
        None,
        Some(ring(b"secret")),
        Some(key(b"secret")),
    )
    .await;
    assert_eq!(contents(&full(result)), contents(&v1));
}

#[tokio::test]
async fn rfc8945_section5_3_1_a_signed_ixfr_verifies() {
    let v1 = zone(1, "192.0.2.10", "");
    let v3 = zone(3, "192.0.2.11", "");
    let chunks = diffs_1_to_3().chunks(2).map(<[Record]>::to_vec).collect();
    let (result, _) = run_signed(
        vec![answers(chunks)],
        Some(&v1),
        Some(ring(b"secret")),
        Some(key(b"secret")),
    )
    .await;
    let Ok(Fetched::Incremental { patch }) = result else {
        panic!("expected an incremental transfer, got {result:?}");
    };
    assert_eq!(contents(&applied(&patch, &v1)), contents(&v3));
}

#[tokio::test]
async fn rfc8945_a_tampered_message_fails_its_mac() {
    let v1 = zone(1, "192.0.2.10", "");
    let all = axfr(&v1);
    let tampered: Script = Box::new(move |request: &Message| {
        Reply::Tampered(vec![message(request, ResponseCode::NoError, &all)])
    });
    let (result, _) = run_signed(
        vec![tampered],
        None,
        Some(ring(b"secret")),
        Some(key(b"secret")),
    )
    .await;
    let kind = failure(result);
    assert!(
        matches!(kind, XfrErrorKind::Tsig(TsigError::BadSig(_))),
        "{kind}"
    );
}

#[tokio::test]
async fn rfc8945_an_unsigned_answer_to_a_signed_request_is_rejected() {
    let v1 = zone(1, "192.0.2.10", "");
    let (result, _) = run_signed(
        vec![answers(vec![axfr(&v1)])],
        None,
        None,
        Some(key(b"secret")),
    )
    .await;
    let kind = failure(result);
    assert!(
        matches!(kind, XfrErrorKind::Tsig(TsigError::Unsigned)),
        "{kind}"
    );
}

#[tokio::test]
async fn rfc8945_section5_2_2_a_primary_with_another_secret_answers_badsig() {
    let v1 = zone(1, "192.0.2.10", "");
    let (result, seen) = run_signed(
        vec![answers(vec![axfr(&v1)])],
        None,
        Some(ring(b"theirs")),
        Some(key(b"ours")),
    )
    .await;
    let kind = failure(result);
    assert!(
        matches!(kind, XfrErrorKind::Tsig(TsigError::Peer(16))),
        "BADSIG: {kind}"
    );
    assert!(seen.is_empty(), "the script never ran");
}

#[tokio::test]
async fn rfc8945_soa_serial_query_is_signed_and_verified() {
    let v7 = zone(7, "192.0.2.10", "");
    let soa7 = soa(&v7);
    let over_udp: Script = Box::new(move |request: &Message| {
        Reply::Messages(vec![message(
            request,
            ResponseCode::NoError,
            std::slice::from_ref(&soa7),
        )])
    });
    let primary = TestPrimary::start(vec![], Some(over_udp), Some(ring(b"secret"))).await;
    let signed = |secret: &[u8]| Primary {
        address: primary.address,
        key: Some(Arc::new(key(secret))),
    };
    let serial = soa_serial(&signed(b"secret"), &origin(), Duration::from_secs(5)).await;
    assert_eq!(serial.unwrap(), 7);
    let wrong = soa_serial(&signed(b"wrong"), &origin(), Duration::from_secs(5)).await;
    assert!(
        matches!(
            wrong,
            Err(XfrError {
                kind: XfrErrorKind::Tsig(_),
                ..
            })
        ),
        "{wrong:?}"
    );
}

/// RFC 3597 §4: names in an RP record are decompressed on receipt, so the stored octets are
/// those a zone file would give.
#[test]
fn rfc3597_section4_names_in_rp_are_decompressed() {
    let mut m = vec![0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0];
    m.extend_from_slice(b"\x01x\x04test\x00\x00\x06\x00\x01");
    // Owner: a pointer to the question's name (offset 12); type RP, class IN, TTL 60.
    m.extend_from_slice(&[0xc0, 12, 0, 17, 0, 1, 0, 0, 0, 60]);
    let rdata = [b"\x04mbox".as_slice(), &[0xc0, 12], &[0xc0, 12]].concat();
    m.extend_from_slice(&u16::try_from(rdata.len()).unwrap().to_be_bytes());
    m.extend_from_slice(&rdata);
    let response = super::wire::response(&m, 0x1234).unwrap();
    let RData::Unknown { code, rdata } = &response.answers[0].data else {
        panic!("RP is kept opaque: {:?}", response.answers[0]);
    };
    assert_eq!(u16::from(*code), 17);
    assert_eq!(
        rdata.anything,
        b"\x04mbox\x01x\x04test\x00\x01x\x04test\x00".to_vec()
    );
}
