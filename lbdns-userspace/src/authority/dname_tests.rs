//! RFC 6672 DNAME redirection, answered as NSD answers it.

use std::path::Path;

use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::tests::TCP;
use super::{respond, Catalog};
use crate::zone::Zone;

const ZONE: &str = r#"
$ORIGIN example.test.
$TTL 300
@        SOA ns1 hostmaster 1 3600 600 86400 120
@        NS  ns1
ns1      A   198.18.0.53
host     A   198.18.1.1
mail     MX  10 host
d   600  DNAME target.example.test.
d        TXT "owner"
target   TXT "t"
self     DNAME deeper.self.example.test.
out      DNAME elsewhere.test.
kid      DNAME child.example.test.
sub      NS  ns.sub
ns.sub   A   198.18.5.53
cut      NS  ns1
cut      DNAME host.example.test.
x.target A   198.18.2.2
*.target A   198.18.2.3
"#;

const CHILD: &str = "$ORIGIN child.example.test.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 198.18.6.1\nhost A 198.18.6.2\n";

/// The same zone with a DNSKEY and placeholder signatures on the DNAME and the address.
fn signed() -> String {
    let sig = "13 3 300 20300101000000 20200101000000 7 example.test. AQID";
    format!(
        "{ZONE}@ DNSKEY 257 3 13 AQIDBA==\n@ RRSIG DNSKEY 13 2 300 20300101000000 20200101000000 7 example.test. AQID\nd RRSIG DNAME {sig}\nx.target RRSIG A 13 4 300 20300101000000 20200101000000 7 example.test. AQID\n"
    )
}

fn catalog(zone: &str) -> Catalog {
    let zones = [
        Zone::parse(zone, Path::new("parent"), None).unwrap(),
        Zone::parse(CHILD, Path::new("child"), None).unwrap(),
    ];
    Catalog::new(&zones).unwrap()
}

fn ask(catalog: &Catalog, name: &str, rtype: RecordType, dnssec_ok: bool) -> Message {
    let mut message = Message::query();
    message.add_query(hickory_proto::op::Query::query(
        Name::from_ascii(name).unwrap(),
        rtype,
    ));
    if dnssec_ok {
        let mut edns = Edns::new();
        edns.set_dnssec_ok(true);
        message.edns = Some(edns);
    }
    let reply = respond(catalog, &message.to_vec().unwrap(), TCP).expect("a reply");
    Message::from_vec(&reply).unwrap()
}

/// Each answer record as `owner type target-or-address`, for comparing whole answers.
fn answer(reply: &Message) -> Vec<String> {
    reply.answers.iter().map(describe).collect()
}

fn describe(record: &Record) -> String {
    let data = match &record.data {
        RData::CNAME(target) => target.0.to_string(),
        RData::A(a) => a.0.to_string(),
        RData::Unknown { rdata, .. } => format!("{:?}", rdata.anything.len()),
        other => other.record_type().to_string(),
    };
    format!("{} {} {data}", record.name, record.record_type())
}

#[test]
fn rfc_6672_section_3_3_a_name_below_the_owner_gets_the_dname_and_a_synthesised_cname() {
    let catalog = catalog(ZONE);
    let reply = ask(&catalog, "x.d.example.test.", RecordType::A, false);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.metadata.authoritative);
    assert_eq!(
        answer(&reply),
        [
            "d.example.test. DNAME 21",
            "x.d.example.test. CNAME x.target.example.test.",
            "x.target.example.test. A 198.18.2.2",
        ]
    );
    // The synthesised CNAME takes the DNAME's TTL, as NSD gives it.
    assert_eq!(reply.answers[0].ttl, 600);
    assert_eq!(reply.answers[1].ttl, 600);
    // Deeper names keep every label in front of the owner; wildcards at the target answer.
    let deep = ask(&catalog, "a.b.d.example.test.", RecordType::A, false);
    assert_eq!(
        answer(&deep)[1..],
        [
            "a.b.d.example.test. CNAME a.b.target.example.test.",
            "a.b.target.example.test. A 198.18.2.3",
        ]
    );
}

#[test]
fn rfc_6672_section_3_3_the_owner_itself_answers_normally() {
    let catalog = catalog(ZONE);
    let dname = ask(&catalog, "d.example.test.", RecordType::DNAME, false);
    assert_eq!(answer(&dname), ["d.example.test. DNAME 21"]);
    let txt = ask(&catalog, "d.example.test.", RecordType::TXT, false);
    assert_eq!(types(&txt), [RecordType::TXT]);
    // RFC 8482 §4.1, NSD's choice: another type than the DNAME answers ANY at the owner.
    let any = ask(&catalog, "d.example.test.", RecordType::ANY, false);
    assert_eq!(types(&any), [RecordType::TXT]);
    let nodata = ask(&catalog, "d.example.test.", RecordType::A, false);
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
}

fn types(reply: &Message) -> Vec<RecordType> {
    reply.answers.iter().map(Record::record_type).collect()
}

#[test]
fn rfc_6672_section_3_3_a_cname_query_is_answered_by_the_synthesised_cname() {
    let catalog = catalog(ZONE);
    let reply = ask(&catalog, "x.d.example.test.", RecordType::CNAME, false);
    assert_eq!(types(&reply), [RecordType::DNAME, RecordType::CNAME]);
}

#[test]
fn rfc_6672_section_2_2_a_synthesised_name_over_255_octets_is_yxdomain() {
    let catalog = catalog(ZONE);
    // 255 octets asked; "target." makes the synthesised name 7 octets longer than that.
    let label = "a".repeat(63);
    let long = format!("{label}.{label}.{label}.{}.d.example.test.", "b".repeat(46));
    let reply = ask(&catalog, &long, RecordType::A, false);
    assert_eq!(reply.metadata.response_code, ResponseCode::YXDomain);
    assert_eq!(types(&reply), [RecordType::DNAME]);
}

#[test]
fn rfc_6672_section_3_3_redirection_leaves_the_zone_like_a_cname() {
    let catalog = catalog(ZONE);
    // Outside every zone: the resolver carries on from the synthesised CNAME.
    let out = ask(&catalog, "www.out.example.test.", RecordType::A, false);
    assert_eq!(out.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        answer(&out)[1..],
        ["www.out.example.test. CNAME www.elsewhere.test."]
    );
    // Into a nested zone we serve: answered from it.
    let kid = ask(&catalog, "host.kid.example.test.", RecordType::A, false);
    assert_eq!(
        answer(&kid)[1..],
        [
            "host.kid.example.test. CNAME host.child.example.test.",
            "host.child.example.test. A 198.18.6.2",
        ]
    );
    // A target that does not exist: NXDOMAIN from its zone, the redirection in the answer.
    let gone = ask(&catalog, "nope.kid.example.test.", RecordType::A, false);
    assert_eq!(gone.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(types(&gone), [RecordType::DNAME, RecordType::CNAME]);
    assert_eq!(gone.authorities[0].name.to_string(), "child.example.test.");
}

#[test]
fn rfc_6672_section_3_3_a_dname_into_its_own_subtree_stops_at_the_second_visit() {
    let catalog = catalog(ZONE);
    let reply = ask(&catalog, "x.self.example.test.", RecordType::A, false);
    assert_eq!(
        answer(&reply),
        [
            "self.example.test. DNAME 26",
            "x.self.example.test. CNAME x.deeper.self.example.test.",
        ]
    );
}

#[test]
fn rfc_6672_section_5_3_2_a_dname_at_a_delegation_is_the_childs() {
    let catalog = catalog(ZONE);
    let reply = ask(&catalog, "x.cut.example.test.", RecordType::A, false);
    assert!(reply.answers.is_empty());
    assert!(!reply.metadata.authoritative);
    assert_eq!(reply.authorities[0].record_type(), RecordType::NS);
}

#[test]
fn rfc_6672_section_5_3_1_the_dname_is_signed_and_the_synthesised_cname_is_not() {
    let catalog = catalog(&signed());
    let reply = ask(&catalog, "x.d.example.test.", RecordType::A, true);
    assert_eq!(
        types(&reply),
        [
            RecordType::DNAME,
            RecordType::RRSIG,
            RecordType::CNAME,
            RecordType::A,
            RecordType::RRSIG,
        ]
    );
    let plain = ask(&catalog, "x.d.example.test.", RecordType::A, false);
    assert_eq!(
        types(&plain),
        [RecordType::DNAME, RecordType::CNAME, RecordType::A]
    );
}
