//! A negative answer's SOA written once per zone is, octet for octet, what the encoder writes
//! after each question: NXDOMAIN and NODATA, with and without EDNS, over UDP and TCP; the apex
//! spelled as the zone spells it or not; questions sharing a label with the SOA's names;
//! questions too long for the encoder to record the SOA's names; truncation.

use std::path::Path;
use std::sync::Arc;

use hickory_proto::op::Edns;
use hickory_proto::rr::{Name, RecordType};

use super::zone_data::ZoneData;
use super::Catalog;
use crate::authority::respond;
use crate::authority::tests::{query, TCP, UDP};
use crate::zone::Zone;

/// Zones whose SOA names compress differently: into the apex, into the SOA's own names,
/// into a name above the apex, not at all; spelled with capitals; below a shared label; long
/// enough to truncate a reply without EDNS; the root zone, whose apex has no labels.
const ZONES: &[&str] = &[
    "$ORIGIN p.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 60\n@ NS ns1\n\
     ns1 A 198.18.0.53\nwww A 198.18.0.1\n*.w TXT \"wild\"\n",
    "$ORIGIN Caps.Test.\n$TTL 300\n@ SOA NS1.Caps.Test. Host.Master.caps.test. 1 2 3 4 60\n\
     @ NS ns1\nns1 A 198.18.0.53\nwww A 198.18.0.1\n",
    "$ORIGIN o.test.\n$TTL 300\n@ SOA ns.other.net. admin.other.net. 1 2 3 4 60\n\
     @ NS ns.other.net.\nwww A 198.18.0.2\n",
    "$ORIGIN q.test.\n$TTL 300\n@ SOA q.test. h.test. 1 2 3 4 600\n@ NS ns\nns A 198.18.0.3\n",
    "$ORIGIN d.test.\n$TTL 300\n@ SOA a.b.d.test. x.b.d.test. 1 2 3 4 60\n@ NS ns\n\
     ns A 198.18.0.4\nb TXT \"b\"\n",
    LONG,
    "$ORIGIN .\n$TTL 300\n@ SOA a.root-servers.net. nstld.verisign-grs.com. 1 2 3 4 60\n\
     @ NS a.root-servers.net.\na.root-servers.net. A 198.18.0.5\n",
];

/// SOA names of three 60-octet labels each: with a question as long, a reply without EDNS
/// outgrows 512 octets.
const LONG: &str = "$ORIGIN l.test.\n$TTL 300\n\
    @ SOA aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.\
bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.\
cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc \
dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.\
eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.\
ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff 1 2 3 4 60\n\
    @ NS ns\nns A 198.18.0.6\n";

/// Names relative to each zone's apex ("@" is the apex): absent ones one and three labels
/// down, the apex and a name with data (NODATA for other types), an empty non-terminal and a
/// name a wildcard answers, the SOA names' first labels in their case and another, and names
/// of long labels.
fn questions(apex: &Name) -> Vec<Name> {
    let long_label = "x".repeat(60);
    let relative = [
        "nx-abc",
        "a.b.nx",
        "@",
        "www",
        "ns1",
        "NS1",
        "hostmaster",
        "HOSTMASTER",
        "b",
        "z.b",
        "w",
        "x.w",
        "ns",
        "Nx-AbC",
        &format!("{long_label}.{long_label}.{long_label}"),
    ];
    let mut names: Vec<Name> = relative
        .iter()
        .map(|relative| match *relative {
            "@" => apex.clone(),
            _ => Name::from_ascii(relative)
                .unwrap()
                .append_domain(apex)
                .unwrap(),
        })
        .collect();
    // The apex spelled otherwise, and around the encoder's 64 compression targets.
    let upper = Name::from_ascii(apex.to_ascii().to_uppercase()).unwrap();
    names.push(
        Name::from_ascii("nx")
            .unwrap()
            .append_domain(&upper)
            .unwrap(),
    );
    for labels in [50, 55, 58, 60, 62, 64, 70, 100] {
        let many = vec!["a"; labels].join(".");
        if let Ok(name) = Name::from_ascii(&many).and_then(|name| name.append_domain(apex)) {
            names.push(name);
        }
    }
    names
}

fn edns(dnssec_ok: bool) -> Option<Edns> {
    let mut edns = Edns::new();
    edns.set_max_payload(1232).set_dnssec_ok(dnssec_ok);
    Some(edns)
}

fn catalog(data: ZoneData) -> Catalog {
    let origin = data.origin.clone();
    Catalog::default()
        .with_zones([(origin, Some(Arc::new(data)))])
        .unwrap()
}

#[test]
fn rfc2308_3_the_soa_written_once_is_the_encoder_s_after_every_question() {
    let (mut applied, mut declined) = (0, 0);
    for text in ZONES {
        let zone = Zone::parse(text, Path::new("negative"), None).unwrap();
        let written = ZoneData::new(&zone);
        let soa = written.negative_soa.clone().expect("a zone's negative SOA");
        let mut encoded = ZoneData::new(&zone);
        encoded.negative_soa = None;
        let questions = questions(&zone.origin);
        let (written, encoded) = (catalog(written), catalog(encoded));
        for name in &questions {
            if soa.applies(name) {
                applied += 1;
            } else {
                declined += 1;
            }
            for rtype in [RecordType::A, RecordType::TXT, RecordType::MX] {
                for edns in [None, edns(false), edns(true)] {
                    let asked = query(&name.to_ascii(), rtype, edns);
                    for client in [UDP, TCP] {
                        assert_eq!(
                            respond(&written, &asked, client),
                            respond(&encoded, &asked, client),
                            "{name} {rtype} in {}",
                            zone.origin
                        );
                    }
                }
            }
        }
    }
    // Both ways are taken, so the comparison covers the written record.
    assert!(applied > 60 && declined > 20, "{applied} {declined}");
}

#[test]
fn a_question_the_encoder_compresses_against_otherwise_is_left_to_it() {
    let zone = Zone::parse(ZONES[0], Path::new("p"), None).unwrap();
    let soa = ZoneData::new(&zone).negative_soa.unwrap();
    let name = |name: &str| Name::from_ascii(name).unwrap();
    assert!(soa.applies(&name("nx.p.test.")));
    assert!(soa.applies(&name("p.test.")));
    assert!(soa.applies(&name("a.b.nx.p.test.")));
    // Compression compares octets: another spelling is another name to it.
    assert!(soa.applies(&name("HOSTMASTER.p.test.")));
    assert!(!soa.applies(&name("hostmaster.p.test.")));
    assert!(!soa.applies(&name("x.ns1.p.test.")));
    assert!(!soa.applies(&name("nx.P.test.")));
    assert!(!soa.applies(&name("nx.other.test.")));
    let many = |labels: usize| name(&format!("{}.p.test.", vec!["a"; labels].join(".")));
    // 64 targets: the question's labels, then MNAME's and RNAME's (three each).
    assert!(soa.applies(&many(56)));
    assert!(!soa.applies(&many(57)));
}
