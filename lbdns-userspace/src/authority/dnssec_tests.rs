//! Answers from pre-signed zones, named by the RFC section they come from. The signatures are
//! placeholders (nothing here verifies them); the NSEC3 chain is hashed for real.

use std::path::Path;

use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};

use super::tests::{TCP, UDP};
use super::{respond, Catalog};
use crate::dnssec::{Nsec3Params, SHA1};
use crate::zone::Zone;

/// What every signed test zone holds; `{sig}` marks where each RRset's signature goes.
/// Canonical order: s < a < b.c (c is an empty non-terminal) < d (secure delegation) < i
/// (insecure) < ns < *.w.
const NAMES: &[(&str, &[&str])] = &[
    (
        "@",
        &["SOA ns h 1 2 3 4 60", "NS ns", "DNSKEY 257 3 13 AQIDBA=="],
    ),
    ("a", &["A 198.18.0.1", "A 198.18.0.2", "MX 10 ns"]),
    ("b.c", &["A 198.18.0.3"]),
    (
        "d",
        &[
            "NS ns.d",
            "DS 1 13 2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ],
    ),
    ("i", &["NS ns.i"]),
    ("ns", &["A 198.18.0.53"]),
    ("*.w", &["TXT \"wild\""]),
];

/// Glue, never signed and in no chain.
const GLUE: &str = "ns.d A 198.18.1.1\nns.i A 198.18.1.2\n";

fn rrsig(rtype: &str, owner: &str, origin: &str) -> String {
    let full = match owner {
        "@" => origin.to_owned(),
        _ => format!("{}.{origin}", owner.trim_start_matches("*.")),
    };
    let labels = Name::from_ascii(full).unwrap().num_labels();
    // 201 octets of signature, about an RSA-1600 one: big enough to exercise truncation.
    let signature = "A".repeat(268);
    format!("{owner} RRSIG {rtype} 13 {labels} 300 20300101000000 20200101000000 7 {origin} {signature}")
}

/// The zone signed with NSEC: every name but glue and empty non-terminals in one chain.
pub(super) fn nsec_zone() -> String {
    let origin = "s.test.";
    let mut text = format!("$ORIGIN {origin}\n$TTL 300\n{GLUE}");
    let owners: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
    for (i, (owner, records)) in NAMES.iter().enumerate() {
        let mut types: Vec<&str> = records
            .iter()
            .map(|r| r.split(' ').next().unwrap())
            .collect();
        types.dedup();
        let next = owners[(i + 1) % owners.len()];
        let signed: Vec<&str> = types
            .iter()
            .copied()
            .filter(|t| *t != "NS" || *owner == "@")
            .collect();
        let bitmap = format!("{} RRSIG NSEC", types.join(" "));
        text += &format!("{owner} NSEC {next} {bitmap}\n");
        for record in *records {
            text += &format!("{owner} {record}\n");
        }
        for rtype in signed.iter().chain(&["NSEC"]) {
            text += &format!("{}\n", rrsig(rtype, owner, origin));
        }
    }
    text
}

/// Base32 with the extended hex alphabet (RFC 4648 §7), lowercase, for NSEC3 owners.
fn base32hex(bytes: &[u8]) -> String {
    data_encoding::BASE32HEX_NOPAD
        .encode(bytes)
        .to_ascii_lowercase()
}

/// The zone signed with NSEC3 opt-out (salt AB, 1 iteration): the insecure delegation `i` has
/// no NSEC3; the empty non-terminal `c` has one.
pub(super) fn nsec3_zone() -> String {
    let origin = "s3.test.";
    let params = Nsec3Params {
        algorithm: SHA1,
        iterations: 1,
        salt: [0xab].into(),
    };
    let mut text = format!("$ORIGIN {origin}\n$TTL 300\n{GLUE}@ NSEC3PARAM 1 0 1 AB\n");
    text += &rrsig("NSEC3PARAM", "@", origin);
    text += "\n";
    let mut chain: Vec<([u8; 20], String)> = Vec::new();
    for (owner, records) in NAMES.iter().chain(&[("c", &[][..])]) {
        let mut types: Vec<&str> = records
            .iter()
            .map(|r| r.split(' ').next().unwrap())
            .collect();
        types.dedup();
        for record in *records {
            text += &format!("{owner} {record}\n");
        }
        for rtype in types.iter().filter(|t| **t != "NS" || *owner == "@") {
            text += &format!("{}\n", rrsig(rtype, owner, origin));
        }
        if *owner == "i" {
            continue;
        }
        let full = if *owner == "@" {
            origin.to_owned()
        } else {
            format!("{owner}.{origin}")
        };
        let mut bitmap = types.join(" ");
        if !types.is_empty() {
            bitmap += " RRSIG";
        }
        if *owner == "@" {
            bitmap += " NSEC3PARAM";
        }
        chain.push((params.hash(&Name::from_ascii(full).unwrap()), bitmap));
    }
    chain.sort();
    for (i, (hash, bitmap)) in chain.iter().enumerate() {
        let owner = base32hex(hash);
        let next = base32hex(&chain[(i + 1) % chain.len()].0);
        text += &format!("{owner} NSEC3 1 1 1 AB {next} {bitmap}\n");
        text += &format!("{}\n", rrsig("NSEC3", &owner, origin));
    }
    text
}

fn catalog() -> Catalog {
    let zones = [
        Zone::parse(&nsec_zone(), Path::new("s"), None).unwrap(),
        Zone::parse(&nsec3_zone(), Path::new("s3"), None).unwrap(),
        Zone::parse(
            "$ORIGIN plain.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 198.18.2.1\n",
            Path::new("plain"),
            None,
        )
        .unwrap(),
    ];
    Catalog::new(&zones).unwrap()
}

fn ask(catalog: &Catalog, name: &str, rtype: RecordType, dnssec_ok: bool, payload: u16) -> Message {
    let mut message = Message::query();
    message.add_query(hickory_proto::op::Query::query(
        Name::from_ascii(name).unwrap(),
        rtype,
    ));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(dnssec_ok).set_max_payload(payload);
    message.edns = Some(edns);
    // Above what lbdns sends over UDP, ask over TCP: no truncation.
    let transport = if payload > 1232 { TCP } else { UDP };
    let reply = respond(catalog, &message.to_vec().unwrap(), transport).unwrap();
    Message::from_vec(&reply).unwrap()
}

fn signed(catalog: &Catalog, name: &str, rtype: RecordType) -> Message {
    ask(catalog, name, rtype, true, 4096)
}

/// Each record as `owner TYPE` (`owner RRSIG(TYPE)` for signatures), sorted.
fn shape(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = records
        .iter()
        .map(|r| {
            let owner = r.name.to_lowercase().to_ascii();
            match (r.record_type(), crate::dnssec::type_covered(&r.data)) {
                (RecordType::RRSIG, Some(covered)) => format!("{owner} RRSIG({covered})"),
                (rtype, _) => format!("{owner} {rtype}"),
            }
        })
        .collect();
    out.sort();
    out
}

/// The owners of the NSEC3 records in `records`, by the name each matches or covers.
fn nsec3_owner(name: &str) -> String {
    let params = Nsec3Params {
        algorithm: SHA1,
        iterations: 1,
        salt: [0xab].into(),
    };
    format!(
        "{}.s3.test.",
        base32hex(&params.hash(&Name::from_ascii(name).unwrap()))
    )
}

#[test]
fn rfc4035_3_1_1_do_brings_signatures_and_do0_none() {
    let catalog = catalog();
    let with = signed(&catalog, "a.s.test.", RecordType::A);
    assert_eq!(
        shape(&with.answers),
        ["a.s.test. A", "a.s.test. A", "a.s.test. RRSIG(A)"]
    );
    let without = ask(&catalog, "a.s.test.", RecordType::A, false, 4096);
    assert_eq!(shape(&without.answers), ["a.s.test. A", "a.s.test. A"]);
    // Additional addresses in the zone are signed too; DO=0 asks for RRSIG by type.
    let mx = signed(&catalog, "a.s.test.", RecordType::MX);
    assert_eq!(
        shape(&mx.additionals),
        ["ns.s.test. A", "ns.s.test. RRSIG(A)"]
    );
    let by_type = ask(&catalog, "a.s.test.", RecordType::RRSIG, false, 4096);
    assert_eq!(
        shape(&by_type.answers),
        [
            "a.s.test. RRSIG(A)",
            "a.s.test. RRSIG(MX)",
            "a.s.test. RRSIG(NSEC)"
        ]
    );
    let dnskey = ask(&catalog, "s.test.", RecordType::DNSKEY, false, 4096);
    assert_eq!(shape(&dnskey.answers), ["s.test. DNSKEY"]);
}

#[test]
fn rfc4035_3_1_1_an_unsigned_zone_answers_do1_as_usual() {
    let reply = signed(&catalog(), "nope.plain.test.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(shape(&reply.authorities), ["plain.test. SOA"]);
}

#[test]
fn rfc4035_3_1_3_2_nxdomain_proves_the_name_and_the_wildcard_absent() {
    let reply = signed(&catalog(), "b.s.test.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    // a < b < b.c covers b; the apex's NSEC covers *.s.test.
    assert_eq!(
        shape(&reply.authorities),
        [
            "a.s.test. NSEC",
            "a.s.test. RRSIG(NSEC)",
            "s.test. NSEC",
            "s.test. RRSIG(NSEC)",
            "s.test. RRSIG(SOA)",
            "s.test. SOA",
        ]
    );
    let soa_sig = reply
        .authorities
        .iter()
        .find(|r| {
            r.record_type() == RecordType::RRSIG
                && crate::dnssec::type_covered(&r.data) == Some(RecordType::SOA)
        })
        .unwrap();
    assert_eq!(
        soa_sig.ttl, 60,
        "the SOA's signature follows the negative TTL"
    );
}

#[test]
fn rfc4035_3_1_3_1_nodata_carries_the_names_nsec_or_the_one_covering_an_ent() {
    let catalog = catalog();
    let nodata = signed(&catalog, "a.s.test.", RecordType::TXT);
    assert!(shape(&nodata.authorities).contains(&"a.s.test. NSEC".to_owned()));
    let ent = signed(&catalog, "c.s.test.", RecordType::A);
    assert_eq!(ent.metadata.response_code, ResponseCode::NoError);
    assert!(shape(&ent.authorities).contains(&"a.s.test. NSEC".to_owned()));
}

#[test]
fn rfc4035_3_1_3_3_wildcard_answers_prove_the_name_absent() {
    let catalog = catalog();
    let reply = signed(&catalog, "x.w.s.test.", RecordType::TXT);
    assert_eq!(
        shape(&reply.answers),
        ["x.w.s.test. RRSIG(TXT)", "x.w.s.test. TXT"]
    );
    let sig = reply
        .answers
        .iter()
        .find_map(|r| crate::dnssec::octets(&r.data))
        .map(|wire| crate::dnssec::Rrsig::decode(wire).unwrap())
        .unwrap();
    assert_eq!(
        sig.labels, 3,
        "fewer labels than the owner's four: a wildcard expansion"
    );
    assert_eq!(
        shape(&reply.authorities),
        ["*.w.s.test. NSEC", "*.w.s.test. RRSIG(NSEC)"]
    );
    // §3.1.3.4: wildcard NODATA adds the wildcard's own NSEC (here the same record).
    let nodata = signed(&catalog, "x.w.s.test.", RecordType::A);
    assert!(shape(&nodata.authorities).contains(&"*.w.s.test. NSEC".to_owned()));
}

#[test]
fn rfc4035_3_1_4_1_referrals_carry_ds_or_the_nsec_proving_none() {
    let catalog = catalog();
    let secure = signed(&catalog, "host.d.s.test.", RecordType::A);
    assert!(!secure.metadata.authoritative);
    assert_eq!(
        shape(&secure.authorities),
        ["d.s.test. DS", "d.s.test. NS", "d.s.test. RRSIG(DS)"]
    );
    assert_eq!(
        shape(&secure.additionals),
        ["ns.d.s.test. A"],
        "glue is never signed"
    );
    let insecure = signed(&catalog, "i.s.test.", RecordType::A);
    assert_eq!(
        shape(&insecure.authorities),
        ["i.s.test. NS", "i.s.test. NSEC", "i.s.test. RRSIG(NSEC)"]
    );
    // DS is answered from the parent side of the cut.
    let ds = signed(&catalog, "d.s.test.", RecordType::DS);
    assert!(ds.metadata.authoritative);
    assert_eq!(shape(&ds.answers), ["d.s.test. DS", "d.s.test. RRSIG(DS)"]);
}

#[test]
fn rfc5155_7_2_2_nxdomain_gives_the_closest_encloser_proof() {
    let reply = signed(&catalog(), "x.a.s3.test.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    let owners: Vec<String> = reply
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC3)
        .map(|r| r.name.to_lowercase().to_ascii())
        .collect();
    // The closest encloser a.s3.test. matches; x.a and *.a are covered by records around them.
    assert!(owners.contains(&nsec3_owner("a.s3.test.")), "{owners:?}");
    assert!((2..=3).contains(&owners.len()), "{owners:?}");
    assert_eq!(
        reply
            .authorities
            .iter()
            .filter(|r| r.record_type() == RecordType::RRSIG)
            .count(),
        owners.len() + 1
    );
}

#[test]
fn rfc5155_7_2_3_nodata_and_7_2_5_wildcard_nodata() {
    let catalog = catalog();
    let nodata = signed(&catalog, "a.s3.test.", RecordType::TXT);
    let nsec3: Vec<String> = nodata
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC3)
        .map(|r| r.name.to_lowercase().to_ascii())
        .collect();
    assert_eq!(nsec3, [nsec3_owner("a.s3.test.")]);
    let wild = signed(&catalog, "x.w.s3.test.", RecordType::A);
    let mut nsec3: Vec<String> = wild
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC3)
        .map(|r| r.name.to_lowercase().to_ascii())
        .collect();
    nsec3.sort();
    assert!(nsec3.contains(&nsec3_owner("*.w.s3.test.")), "{nsec3:?}");
    assert_eq!(
        nsec3.len(),
        2,
        "the wildcard's and the next closer's cover: {nsec3:?}"
    );
    // NSEC3 is never answered by type (RFC 5155 §7.2.8 via NSD).
    let by_type = signed(&catalog, "a.s3.test.", RecordType::NSEC3);
    assert!(by_type.answers.is_empty());
}

#[test]
fn rfc5155_7_2_7_an_opt_out_referral_proves_the_provable_encloser_and_next_closer() {
    let reply = signed(&catalog(), "host.i.s3.test.", RecordType::A);
    assert!(!reply.metadata.authoritative);
    let nsec3: Vec<String> = reply
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC3)
        .map(|r| r.name.to_lowercase().to_ascii())
        .collect();
    assert!(
        nsec3.contains(&nsec3_owner("s3.test.")),
        "the apex: {nsec3:?}"
    );
    assert_eq!(nsec3.len(), 2, "{nsec3:?}");
    assert!(
        !nsec3.contains(&nsec3_owner("i.s3.test.")),
        "opt-out: i has none"
    );
}

#[test]
fn rfc4035_3_1_1_signatures_stay_with_their_rrset_but_may_leave_the_additional_section() {
    let catalog = catalog();
    let nx = ask(&catalog, "b.s.test.", RecordType::A, true, 512);
    assert!(nx.metadata.truncation);
    let owners = |rtype: RecordType| -> Vec<String> {
        let mut owners: Vec<String> = nx
            .authorities
            .iter()
            .filter(|r| r.record_type() == rtype)
            .map(|r| r.name.to_ascii())
            .collect();
        owners.sort();
        owners
    };
    assert_eq!(
        owners(RecordType::NSEC).len() + usize::from(!owners(RecordType::SOA).is_empty()),
        owners(RecordType::RRSIG).len()
    );
    let mx = ask(&catalog, "a.s.test.", RecordType::MX, true, 512);
    assert!(
        !mx.metadata.truncation,
        "additional signatures are optional"
    );
    assert_eq!(shape(&mx.answers), ["a.s.test. MX", "a.s.test. RRSIG(MX)"]);
    assert_eq!(shape(&mx.additionals), ["ns.s.test. A"]);
}

/// The fast path takes a signed zone's addresses too; what marks them is `is_signed`, which must
/// see each type's signatures even where a name has several RRSIG RRsets (one per type covered).
#[test]
fn rfc4035_3_1_1_every_signed_type_at_a_name_is_known_to_need_its_rrsig() {
    let catalog = catalog();
    let mut names: Vec<String> = catalog
        .direct_address_rrsets()
        .map(|r| r.name.to_ascii())
        .collect();
    names.sort();
    assert!(names.contains(&"a.s.test.".to_owned()), "{names:?}");
    assert!(names.contains(&"b.c.s.test.".to_owned()), "{names:?}");
    let name = |text: &str| Name::from_ascii(text).unwrap();
    for rtype in [RecordType::A, RecordType::MX] {
        assert!(catalog.is_signed(&name("a.s.test."), rtype), "{rtype}");
    }
    assert!(!catalog.is_signed(&name("a.s.test."), RecordType::AAAA));
    assert!(!catalog.is_signed(&name("ns.plain.test."), RecordType::A));
    let a = catalog
        .direct_address_rrsets()
        .find(|r| r.name.to_ascii() == "a.s.test." && r.rrset.rtype == RecordType::A)
        .unwrap();
    assert_eq!(a.signatures.and_then(|s| s.covered()), Some(RecordType::A));
}
