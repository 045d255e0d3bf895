//! The authoritative semantics, query by query, named by the RFC section they come from.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::{respond, Catalog, Client, Transport};
use crate::zone::Zone;

/// A query from the loopback address over UDP.
pub(super) const UDP: Client = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), Transport::Udp);
/// A query from the loopback address over TCP.
pub(super) const TCP: Client = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), Transport::Tcp);

const PARENT: &str = r#"
$ORIGIN example.test.
$TTL 300
@        SOA ns1 hostmaster 1 3600 600 86400 120
@        NS  ns1
ns1      A   198.18.0.53
www   60 A   198.18.1.1
www   60 A   198.18.1.2
www   60 A   198.18.1.3
web      CNAME www
alias    CNAME web
gone     CNAME missing
away     CNAME www.elsewhere.test.
loop1    CNAME loop2
loop2    CNAME loop1
mx       MX  10 mail
mail     A   198.18.3.25
a.b.c    A   198.18.9.9
*.wild   A   198.18.4.1
*.wild   TXT "w"
exists.wild AAAA 2001:db8::4
sub      NS  ns.sub
ns.sub   A   198.18.5.53
child    NS  ns1.child
into-child CNAME host.child
big      TXT "0123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT "1123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT "2123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT "3123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT "4123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT "5123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT "6123456789012345678901234567890123456789012345678901234567890123456789"
"#;

const CHILD: &str = "$ORIGIN child.example.test.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 198.18.6.1\nhost A 198.18.6.2\n";

pub(super) fn catalog() -> Catalog {
    let zones = [
        Zone::parse(PARENT, Path::new("parent"), None).unwrap(),
        Zone::parse(CHILD, Path::new("child"), None).unwrap(),
    ];
    Catalog::new(&zones).unwrap()
}

pub(super) fn query(name: &str, rtype: RecordType, edns: Option<Edns>) -> Vec<u8> {
    let mut message = Message::new(0x1234, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    message.edns = edns;
    message.to_vec().unwrap()
}

fn ask_with(catalog: &Catalog, wire: &[u8], client: Client) -> Message {
    let reply = respond(catalog, wire, client).expect("a reply");
    Message::from_vec(&reply).expect("a well-formed reply")
}

fn ask(catalog: &Catalog, name: &str, rtype: RecordType) -> Message {
    ask_with(catalog, &query(name, rtype, None), UDP)
}

fn types(records: &[hickory_proto::rr::Record]) -> Vec<RecordType> {
    records.iter().map(|r| r.record_type()).collect()
}

#[test]
fn rfc1034_4_3_2_exact_match_is_authoritative_and_copies_rd() {
    let reply = ask(&catalog(), "www.example.test.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.metadata.authoritative && reply.metadata.recursion_desired);
    assert!(!reply.metadata.recursion_available);
    assert_eq!(reply.metadata.id, 0x1234);
    assert_eq!(reply.answers.len(), 3);
    assert!(reply.answers.iter().all(|r| r.ttl == 60));
}

#[test]
fn round_robin_rotates_address_rrsets_by_one_per_query() {
    let catalog = catalog();
    let first = |m: Message| match m.answers[0].data {
        RData::A(a) => a.0.octets()[3],
        _ => panic!("not A"),
    };
    let starts: Vec<u8> = (0..4)
        .map(|_| first(ask(&catalog, "www.example.test.", RecordType::A)))
        .collect();
    assert_eq!(starts, [1, 2, 3, 1]);
}

#[test]
fn rfc2308_negative_answers_carry_the_soa_with_the_negative_ttl() {
    let catalog = catalog();
    let nx = ask(&catalog, "nope.example.test.", RecordType::A);
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert!(nx.metadata.authoritative && nx.answers.is_empty());
    assert_eq!(types(&nx.authorities), [RecordType::SOA]);
    assert_eq!(nx.authorities[0].ttl, 120, "min(SOA TTL 300, MINIMUM 120)");
    let nodata = ask(&catalog, "www.example.test.", RecordType::MX);
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(types(&nodata.authorities), [RecordType::SOA]);
}

#[test]
fn rfc8020_empty_non_terminals_exist() {
    let reply = ask(&catalog(), "b.c.example.test.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());
}

#[test]
fn rfc1034_3_6_2_cname_chains_are_followed_inside_the_zone() {
    let catalog = catalog();
    let reply = ask(&catalog, "alias.example.test.", RecordType::A);
    assert_eq!(
        types(&reply.answers),
        [
            RecordType::CNAME,
            RecordType::CNAME,
            RecordType::A,
            RecordType::A,
            RecordType::A
        ]
    );
    let cname = ask(&catalog, "alias.example.test.", RecordType::CNAME);
    assert_eq!(types(&cname.answers), [RecordType::CNAME]);
    let away = ask(&catalog, "away.example.test.", RecordType::A);
    assert_eq!(types(&away.answers), [RecordType::CNAME]);
    assert_eq!(away.metadata.response_code, ResponseCode::NoError);
    // RFC 6604: the rcode describes the last name in the chain.
    let gone = ask(&catalog, "gone.example.test.", RecordType::A);
    assert_eq!(gone.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(types(&gone.answers), [RecordType::CNAME]);
    let looped = ask(&catalog, "loop1.example.test.", RecordType::A);
    assert_eq!(
        types(&looped.answers),
        [RecordType::CNAME, RecordType::CNAME],
        "each CNAME once"
    );
}

#[test]
fn rfc4592_wildcards_synthesise_only_for_names_that_do_not_exist() {
    let catalog = catalog();
    let hit = ask(&catalog, "X.wild.example.test.", RecordType::A);
    assert_eq!(hit.answers[0].name.to_ascii(), "X.wild.example.test.");
    assert!(hit.metadata.authoritative);
    let nodata = ask(&catalog, "x.wild.example.test.", RecordType::MX);
    assert!(nodata.answers.is_empty() && nodata.metadata.response_code == ResponseCode::NoError);
    // exists.wild exists, so the wildcard does not apply to it or below it.
    let existing = ask(&catalog, "exists.wild.example.test.", RecordType::A);
    assert!(
        existing.answers.is_empty() && existing.metadata.response_code == ResponseCode::NoError
    );
    let below = ask(&catalog, "y.exists.wild.example.test.", RecordType::A);
    assert_eq!(below.metadata.response_code, ResponseCode::NXDomain);
    let deeper = ask(&catalog, "a.b.wild.example.test.", RecordType::A);
    assert_eq!(
        types(&deeper.answers),
        [RecordType::A],
        "§3.3.1: closest encloser is wild"
    );
}

#[test]
fn rfc1034_4_3_2_delegations_get_referrals_with_glue() {
    let catalog = catalog();
    for name in ["host.sub.example.test.", "sub.example.test."] {
        let reply = ask(&catalog, name, RecordType::A);
        assert!(!reply.metadata.authoritative, "{name}");
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert!(reply.answers.is_empty());
        assert_eq!(types(&reply.authorities), [RecordType::NS]);
        assert_eq!(types(&reply.additionals), [RecordType::A]);
    }
    // RFC 4035 §3.1.4.1: DS belongs to the parent side of the cut.
    let ds = ask(&catalog, "sub.example.test.", RecordType::DS);
    assert!(ds.metadata.authoritative);
    assert_eq!(types(&ds.authorities), [RecordType::SOA]);
}

#[test]
fn the_most_specific_zone_answers_nested_names() {
    let reply = ask(&catalog(), "host.child.example.test.", RecordType::A);
    assert!(reply.metadata.authoritative);
    assert_eq!(types(&reply.answers), [RecordType::A]);
}

#[test]
fn rfc1034_4_3_2_step_3b_a_cname_into_a_nested_zone_is_answered_from_it() {
    let reply = ask(&catalog(), "into-child.example.test.", RecordType::A);
    assert_eq!(types(&reply.answers), [RecordType::CNAME, RecordType::A]);
    assert!(
        reply.authorities.is_empty(),
        "no referral: we serve the child"
    );
}

#[test]
fn names_outside_every_zone_are_refused() {
    let reply = ask(&catalog(), "www.example.org.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert!(!reply.metadata.authoritative && reply.answers.is_empty());
}

#[test]
fn additional_section_holds_addresses_of_mx_targets() {
    let reply = ask(&catalog(), "mx.example.test.", RecordType::MX);
    assert_eq!(types(&reply.additionals), [RecordType::A]);
}

/// Owners go out as the zone spells them, as NSD's do, though the index holds them in lower
/// case: here the glue and the SOA of a negative answer.
#[test]
fn owners_keep_the_zone_s_spelling() {
    const SPELLED: &str = "$ORIGIN Spelled.TEST.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n\
                           NS1 A 198.18.6.1\nmx MX 10 Mail\nMail A 198.18.6.2\n";
    let zone = Zone::parse(SPELLED, Path::new("spelled"), None).unwrap();
    let catalog = Catalog::new(&[zone]).unwrap();
    let reply = ask(&catalog, "mx.spelled.test.", RecordType::MX);
    let owners = |records: &[hickory_proto::rr::Record]| -> Vec<String> {
        records.iter().map(|r| r.name.to_ascii()).collect()
    };
    assert_eq!(owners(&reply.additionals), ["Mail.Spelled.TEST."]);
    let reply = ask(&catalog, "mx.spelled.test.", RecordType::TXT);
    assert_eq!(owners(&reply.authorities), ["Spelled.TEST."]);
    let zone = catalog
        .zone_for(&Name::from_ascii("spelled.test.").unwrap())
        .unwrap();
    let mut spelled = owners(&zone.records().collect::<Vec<_>>());
    spelled.dedup();
    assert_eq!(
        spelled,
        [
            "Spelled.TEST.",
            "NS1.Spelled.TEST.",
            "mx.Spelled.TEST.",
            "Mail.Spelled.TEST."
        ]
    );
}

#[test]
fn the_question_is_echoed_byte_for_byte() {
    let wire = query("wWw.ExAmPlE.tEsT.", RecordType::A, None);
    let reply = respond(&catalog(), &wire, UDP).unwrap();
    let question_end = wire.len();
    assert_eq!(reply[12..question_end], wire[12..question_end]);
}

#[test]
fn the_longest_question_name_is_echoed_byte_for_byte() {
    // 63 + 63 + 63 + 61 octets of labels, four length octets and the root: 255 in all.
    let labels = [63, 63, 63, 61].map(|len| "a".repeat(len)).join(".");
    let wire = query(&format!("{labels}."), RecordType::A, None);
    let reply = respond(&catalog(), &wire, UDP).unwrap();
    assert_eq!(reply[3] & 0x0f, 5, "REFUSED: in no zone of ours");
    assert_eq!(reply[12..], wire[12..]);
}

/// The owner of each record in `reply`'s answer section as its first two octets on the wire,
/// with the answer section starting at `start`.
fn answer_owner_octets(reply: &[u8], start: usize) -> Vec<[u8; 2]> {
    let count = u16::from_be_bytes([reply[6], reply[7]]);
    let mut at = start;
    (0..count)
        .map(|_| {
            let owner = [reply[at], reply[at + 1]];
            assert_eq!(
                owner[0] & 0xc0,
                0xc0,
                "every answer owner here is compressed"
            );
            let rdlength = usize::from(u16::from_be_bytes([reply[at + 10], reply[at + 11]]));
            at += 12 + rdlength;
            owner
        })
        .collect()
}

#[test]
fn rfc1035_4_1_4_names_in_record_data_compress_against_the_question() {
    let wire = query("mx.example.test.", RecordType::MX, None);
    let reply = respond(&catalog(), &wire, UDP).unwrap();
    let rdata = wire.len() + 12;
    // Preference 10, then `mail` and a pointer to `example.test.` in the question (offset 15).
    assert_eq!(
        reply[rdata..rdata + 9],
        [0, 10, 4, b'm', b'a', b'i', b'l', 0xc0, 15]
    );
}

#[test]
fn rfc1035_4_1_4_owners_spelled_as_the_question_point_at_it() {
    let catalog = catalog();
    let wire = query("wWw.ExAmPlE.tEsT.", RecordType::A, None);
    let reply = respond(&catalog, &wire, UDP).unwrap();
    assert_eq!(answer_owner_octets(&reply, wire.len()), [[0xc0, 12]; 3]);

    // The chain's next owner is the CNAME target, spelled as the zone has it: a pointer into
    // the first record's RDATA, not to the question.
    let wire = query("alias.example.test.", RecordType::A, None);
    let reply = respond(&catalog, &wire, UDP).unwrap();
    let owners = answer_owner_octets(&reply, wire.len());
    assert_eq!(owners.len(), 5, "alias → web → www and its three addresses");
    assert_eq!(owners[0], [0xc0, 12]);
    assert!(owners[1..].iter().all(|owner| *owner != [0xc0, 12]));
    let parsed = hickory_proto::op::Message::from_vec(&reply).unwrap();
    let names: Vec<String> = parsed.answers.iter().map(|r| r.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "alias.example.test.",
            "web.example.test.",
            "www.example.test.",
            "www.example.test.",
            "www.example.test."
        ]
    );
}
#[test]
fn rfc8482_any_gets_one_rrset() {
    let reply = ask(&catalog(), "example.test.", RecordType::ANY);
    assert_eq!(reply.answers.len(), 1);
}

#[test]
fn rfc1035_4_1_1_bad_queries_get_formerr_notimp_or_silence() {
    let catalog = catalog();
    let good = query("www.example.test.", RecordType::A, None);
    assert!(
        respond(&catalog, &good[..11], UDP).is_none(),
        "no header, no reply"
    );
    let mut response = good.clone();
    response[2] |= 0x80;
    assert!(
        respond(&catalog, &response, UDP).is_none(),
        "QR=1 is dropped"
    );
    let mut notify = good.clone();
    notify[2] = (notify[2] & 0x87) | (4 << 3);
    assert_eq!(
        ask_with(&catalog, &notify, UDP).metadata.response_code,
        ResponseCode::NotImp
    );
    let cut = ask_with(&catalog, &good[..good.len() - 3], UDP);
    assert_eq!(cut.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(cut.metadata.id, 0x1234);
    let mut two = good.clone();
    two[5] = 2;
    assert_eq!(
        ask_with(&catalog, &two, UDP).metadata.response_code,
        ResponseCode::FormErr
    );
}

#[test]
fn rfc6891_opt_is_echoed_with_our_size_and_the_do_bit() {
    let mut edns = Edns::new();
    edns.set_max_payload(4096).set_dnssec_ok(true);
    let reply = ask_with(
        &catalog(),
        &query("www.example.test.", RecordType::A, Some(edns)),
        UDP,
    );
    let opt = reply.edns.expect("OPT in reply");
    assert_eq!(opt.max_payload(), 1232);
    assert!(opt.flags().dnssec_ok);
    let plain = ask(&catalog(), "www.example.test.", RecordType::A);
    assert!(plain.edns.is_none(), "no OPT in, no OPT out");
}

#[test]
fn rfc6891_6_1_3_unknown_edns_versions_get_badvers() {
    let mut edns = Edns::new();
    edns.set_version(1);
    let reply = ask_with(
        &catalog(),
        &query("www.example.test.", RecordType::A, Some(edns)),
        UDP,
    );
    // 16 is both BADVERS and BADSIG (RFC 6891 §9); hickory decodes it under the latter name.
    assert_eq!(u16::from(reply.metadata.response_code), 16);
    assert_eq!(
        reply
            .edns
            .expect("OPT carries the extended rcode")
            .version(),
        0
    );
    assert!(reply.answers.is_empty());
}

#[test]
fn rfc2181_9_oversized_answers_truncate_whole_rrsets() {
    let catalog = catalog();
    let udp = ask(&catalog, "big.example.test.", RecordType::TXT);
    assert!(udp.metadata.truncation);
    assert!(udp.answers.is_empty(), "no partial RRset");
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    let large = ask_with(
        &catalog,
        &query("big.example.test.", RecordType::TXT, Some(edns)),
        UDP,
    );
    assert!(!large.metadata.truncation);
    assert_eq!(large.answers.len(), 7);
    let tcp = ask_with(
        &catalog,
        &query("big.example.test.", RecordType::TXT, None),
        TCP,
    );
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 7);
}

#[test]
fn direct_address_rrsets_exclude_glue_wildcards_and_shadowed_names() {
    let catalog = catalog();
    let mut names: Vec<String> = catalog
        .direct_address_rrsets()
        .map(|r| format!("{} {}", r.name.to_ascii(), r.rrset.rtype))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "a.b.c.example.test. A",
            "exists.wild.example.test. AAAA",
            "host.child.example.test. A",
            "mail.example.test. A",
            "ns1.child.example.test. A",
            "ns1.example.test. A",
            "www.example.test. A",
        ]
    );
}

/// A parent that holds data inside a child zone it does not delegate (an operator's
/// leftover): the child we also serve answers for that name, so the fast path takes the
/// child's RRset and never the parent's, while a parent with no zone below it keeps its own.
#[test]
fn direct_address_rrsets_take_a_served_child_over_its_undelegated_parent() {
    const PARENT: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n\
                          ns1 A 198.18.0.53\nhost.child A 198.18.7.7\n";
    const OTHER: &str = "$ORIGIN other.test.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n\
                         ns1 A 198.18.0.54\n";
    let zones = [
        Zone::parse(PARENT, Path::new("parent"), None).unwrap(),
        Zone::parse(CHILD, Path::new("child"), None).unwrap(),
        Zone::parse(OTHER, Path::new("other"), None).unwrap(),
    ];
    let catalog = Catalog::new(&zones).unwrap();
    let mut answers: Vec<String> = catalog
        .direct_address_rrsets()
        .map(|r| format!("{} {:?}", r.name.to_ascii(), r.rrset.rdatas))
        .collect();
    answers.sort();
    assert_eq!(
        answers,
        [
            "host.child.example.test. [A(198.18.6.2)]",
            "ns1.child.example.test. [A(198.18.6.1)]",
            "ns1.example.test. [A(198.18.0.53)]",
            "ns1.other.test. [A(198.18.0.54)]",
        ]
    );
}

#[test]
fn rfc6891_6_1_2_options_we_do_not_implement_are_ignored_even_if_malformed() {
    let mut wire = query("www.example.test.", RecordType::A, None);
    wire[11] = 1; // ARCOUNT
                  // OPT: root owner, payload 1232, DO, one option of an experimental code (RFC 6891
                  // §9) whose data would be a Client Subnet of an impossible family.
    wire.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 8]);
    wire.extend_from_slice(&[0xfd, 0xe9, 0, 4, 0, 3, 40, 0]);
    let reply = ask_with(&catalog(), &wire, UDP);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.answers.len(), 3);
    assert!(reply.edns.expect("OPT echoed").flags().dnssec_ok);
}

#[test]
fn rfc6891_6_1_1_broken_opt_framing_two_opts_or_opt_outside_additional_are_formerr() {
    let base = query("www.example.test.", RecordType::A, None);
    let opt = |rdata: &[u8]| {
        let mut record = vec![0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0];
        record.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        record.extend_from_slice(rdata);
        record
    };
    let mut overrun = base.clone();
    overrun[11] = 1;
    overrun.extend(opt(&[0, 10, 0, 9, 1, 2]));
    let mut two = base.clone();
    two[11] = 2;
    two.extend(opt(&[]));
    two.extend(opt(&[]));
    let mut in_answer = base.clone();
    in_answer[7] = 1; // ANCOUNT
    in_answer.extend(opt(&[]));
    for bad in [overrun, two, in_answer] {
        let reply = ask_with(&catalog(), &bad, UDP);
        assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
    }
}

#[test]
fn rfc1035_4_1_4_a_name_pointing_into_the_header_is_formerr_whatever_the_id() {
    let base = query("www.example.test.", RecordType::A, None);
    // The question `c0 01` (the ID's second octet, a root label when it is 0), type A.
    let mut question = base[..12].to_vec();
    question.extend_from_slice(&[0xc0, 0x01, 0, 1, 0, 1]);
    // An OPT record whose owner points at the ID's second octet.
    let mut opt = base.clone();
    opt[11] = 1;
    opt.extend_from_slice(&[0xc0, 0x01, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    // An additional record whose owner points at the question's type, which in turn points at
    // the ID's first octet: the chain is followed.
    let mut chain = base[..12].to_vec();
    chain[11] = 1;
    chain.extend_from_slice(&[3, b'w', b'w', b'w', 0, 0xc0, 0x00, 0, 1]);
    chain.extend_from_slice(&[0xc0, 17, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0]);
    for bad in [question, opt, chain] {
        for id in [0x0000u16, 0x1111] {
            let mut asked = bad.clone();
            asked[..2].copy_from_slice(&id.to_be_bytes());
            let reply = respond(&catalog(), &asked, UDP).expect("a reply");
            assert_eq!(reply.len(), 12, "a bare header: {reply:02x?}");
            let reply = Message::from_vec(&reply).unwrap();
            assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
            assert_eq!(reply.metadata.id, id);
        }
    }
    // A pointer to an earlier name is still read: an additional record owned by the question.
    let mut owned = base.clone();
    owned[11] = 1;
    owned.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0]);
    let reply = ask_with(&catalog(), &owned, UDP);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.answers.len(), 3);
}

pub(super) fn pool_rrset(
    rtype: RecordType,
    last_octets: &[u8],
    order: super::Order,
) -> super::Pooled {
    let rdatas = last_octets
        .iter()
        .map(|&o| match rtype {
            RecordType::A => super::Rdata::A(std::net::Ipv4Addr::new(198, 18, 20, o)),
            _ => super::Rdata::Aaaa(std::net::Ipv6Addr::new(
                0x2001,
                0xdb8,
                20,
                0,
                0,
                0,
                0,
                o.into(),
            )),
        })
        .collect();
    let rrset = super::Rrset::new(rtype, 20, rdatas);
    super::Pooled { rrset, order }
}

pub(super) fn pooled_catalog() -> Catalog {
    let owners =
        ["www.example.test.", "pool-only.example.test."].map(|n| Name::from_ascii(n).unwrap());
    let catalog = catalog().with_pool_owners(owners.clone());
    let mut pools = super::PoolAnswers::default();
    let weighted = super::Order {
        schedule: [0, 0, 0, 1].into(),
        cap: Some(1),
    };
    let [www, pool_only] = owners.map(|owner| hickory_proto::rr::LowerName::new(&owner));
    pools.set(www, pool_rrset(RecordType::A, &[1, 2], weighted));
    let unweighted = super::Order::default();
    pools.set(
        pool_only,
        pool_rrset(RecordType::AAAA, &[7, 8, 9], unweighted),
    );
    catalog.set_pools(pools);
    catalog
}

fn first_a(reply: &Message) -> Vec<u8> {
    reply
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::A(a) => a.0.octets()[3],
            RData::AAAA(a) => a.0.octets()[15],
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn pools_replace_the_zones_addresses_with_their_order_and_cap() {
    let catalog = pooled_catalog();
    let leaders: Vec<Vec<u8>> = (0..4)
        .map(|_| first_a(&ask(&catalog, "www.example.test.", RecordType::A)))
        .collect();
    assert_eq!(
        leaders,
        [vec![1], vec![1], vec![1], vec![2]],
        "schedule 0,0,0,1 with one answer"
    );
    let reply = ask(&catalog, "www.example.test.", RecordType::A);
    assert_eq!(reply.answers[0].ttl, 20, "the pool's TTL");
    // No AAAA endpoints: NODATA, not the zone's (absent) AAAA and not NXDOMAIN.
    let nodata = ask(&catalog, "www.example.test.", RecordType::AAAA);
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(types(&nodata.authorities), [RecordType::SOA]);
}

#[test]
fn a_pool_owner_exists_even_without_zone_records() {
    let catalog = pooled_catalog();
    let v6 = ask(&catalog, "pool-only.example.test.", RecordType::AAAA);
    assert_eq!(first_a(&v6), [7, 8, 9]);
    let mx = ask(&catalog, "pool-only.example.test.", RecordType::MX);
    assert_eq!(
        mx.metadata.response_code,
        ResponseCode::NoError,
        "exists: NODATA, not NXDOMAIN"
    );
}

#[test]
fn pool_owners_leave_the_direct_zone_rrsets_for_xdp() {
    let catalog = pooled_catalog();
    assert!(catalog
        .direct_address_rrsets()
        .all(|r| r.name.to_ascii() != "www.example.test."));
    let pools = catalog.pools();
    let mut pooled: Vec<String> = pools
        .rrsets()
        .map(|(name, pooled)| format!("{name} {}", pooled.rrset.rtype))
        .collect();
    pooled.sort();
    assert_eq!(
        pooled,
        ["pool-only.example.test. AAAA", "www.example.test. A"]
    );
}

#[test]
fn rfc1035_4_1_1_a_zone_served_without_data_fails_and_hides_its_parent() {
    let catalog = Catalog::new(&[Zone::parse(PARENT, Path::new("parent"), None).unwrap()])
        .unwrap()
        .with_zones([(Name::from_ascii("child.example.test.").unwrap(), None)])
        .unwrap();
    for name in ["child.example.test.", "host.child.example.test."] {
        let reply = ask(&catalog, name, RecordType::A);
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::ServFail,
            "{name}"
        );
    }
    let reply = ask(&catalog, "www.example.test.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    let reply = ask(&catalog, "www.elsewhere.test.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
}
