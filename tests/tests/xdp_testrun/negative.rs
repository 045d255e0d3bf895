//! NXDOMAIN from the program (`lbdns_common::negative`): a name right below a zone's apex that
//! does not exist gets the socket path's reply, byte for byte; every name that exists in any
//! form, and every query the program cannot answer exactly, passes.

use std::sync::OnceLock;

use hickory_proto::rr::{LowerName, Name, RData};
use lbdns::authority::Catalog;
use lbdns_common::counters::Counter;
use lbdns_tests::wire::{flag, rtype, Builder};

use super::{
    corpus::{framed, query_with_options, with_edns, Case, Edns, Expect, Rng, ECS_OPTION},
    fixture,
    frame::{Layout, Vlan},
};

/// The fixture's catalog, built once: the reference for which names exist.
fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(fixture::catalog)
}

/// The verdict on an A or AAAA query for `name`, which has no hot answer set: NXDOMAIN when
/// the name is one label below the apex of a fixture zone, spells the apex in lowercase, and
/// neither it nor any name below it exists, nor is it where the zone's SOA names start;
/// otherwise the query passes. Decided from the zones' data, not from the program's maps.
pub fn miss(name: &str, layout: Layout) -> Expect {
    let passed = Expect::Pass(Counter::PassMiss);
    let Some((_, apex)) = name.split_once('.') else {
        return passed;
    };
    let fqdn = |name: &str| {
        let name = if name.ends_with('.') {
            name.to_owned()
        } else {
            format!("{name}.")
        };
        Name::from_ascii(name).expect("a name")
    };
    let lower = fqdn(&name.to_ascii_lowercase());
    let Some(zone) = catalog().zone_for(&lower) else {
        return passed;
    };
    if zone.apex != LowerName::from(fqdn(apex)) || apex != apex.to_ascii_lowercase() {
        return passed;
    }
    let exists = zone
        .nodes()
        .any(|(owner, _)| lower.zone_of(&Name::from(owner)));
    let soa_names = match zone.soa().rdatas[0].other() {
        Some(RData::SOA(soa)) => [soa.mname.clone(), soa.rname.clone()],
        _ => panic!("the fixture's SOA"),
    };
    let soa_starts_there = soa_names
        .iter()
        .any(|soa_name| lower.zone_of(&soa_name.to_lowercase()));
    if exists || soa_starts_there {
        passed
    } else {
        Expect::Nxdomain(layout)
    }
}

/// An empty NSID option (RFC 5001): the reply carries the server's.
const NSID_OPTION: [u8; 4] = [0, 3, 0, 0];

/// Names that do not exist right below each fixture apex, with first labels of 1 to 63
/// octets (every position of the name's last word), in every layout and EDNS variant; names
/// that exist in some form there; and the queries the program leaves to the socket path.
pub fn cases(rng: &mut Rng, cases: &mut Vec<Case>) {
    let apexes = [
        "example.com",
        "example.net",
        "t",
        "signed.test",
        "secure.test",
    ];
    let labels = (1..=17).chain([31, 32, 62, 63]);
    for (i, len) in labels.enumerate() {
        let apex = apexes[i % apexes.len()];
        let label: String = (0..len)
            .map(|_| char::from(b'a' + rng.below(26) as u8))
            .collect();
        for qtype in [rtype::A, rtype::AAAA] {
            for (v6, vlan) in [
                (false, Vlan::None),
                (true, Vlan::Dot1q),
                (false, Vlan::Dot1ad),
            ] {
                for edns in [Edns::None, Edns::Plain, Edns::DnssecOk, Edns::WithOptions] {
                    // The first label's case does not matter; the apex's does (below).
                    let first = if rng.below(2) == 0 {
                        label.to_ascii_uppercase()
                    } else {
                        label.clone()
                    };
                    let name = format!("{first}.{apex}");
                    let layout = Layout::new(vlan, v6);
                    let expect = match edns {
                        Edns::DnssecOk if apex == "secure.test" => {
                            Expect::Pass(Counter::PassSigned)
                        }
                        _ => miss(&name, layout),
                    };
                    assert!(
                        !matches!(expect, Expect::Pass(Counter::PassMiss)),
                        "{name}: the fixture lacks it"
                    );
                    // RD and CD are copied, AD is not (as for an answer).
                    let flags = [0, flag::RD, flag::AD, flag::CD, flag::RD | flag::CD]
                        [rng.below(5) as usize];
                    let builder = Builder::new(rng.next() as u16, flags).question(&name, qtype);
                    cases.push(Case {
                        what: format!(
                            "nonexistent {name} type {qtype} v6={v6} {vlan:?} {edns:?} \
                             flags={flags:#06x}"
                        ),
                        frame: framed(v6, vlan, &with_edns(builder, edns).build(), rng),
                        expect,
                    });
                }
            }
        }
    }
    // Names that exist without A or AAAA records, or whose A and AAAA the socket path answers:
    // an empty non-terminal of a wildcard and of a longer name, a delegation, a CNAME, the
    // start of the SOA's RNAME, a name with A records only, and one with too many.
    for (name, qtype) in [
        ("apps.example.com", rtype::A),
        ("_udp.example.com", rtype::A),
        ("in-addr.example.com", rtype::AAAA),
        ("sub.example.com", rtype::A),
        ("web.example.com", rtype::A),
        ("hostmaster.example.com", rtype::A),
        ("mail.example.com", rtype::AAAA),
        (fixture::HUGE, rtype::A),
    ] {
        let dns = Builder::query(rng.next() as u16, name, qtype).build();
        cases.push(Case {
            what: format!("{name} type {qtype} exists"),
            frame: framed(false, Vlan::None, &dns, rng),
            expect: Expect::Pass(Counter::PassMiss),
        });
    }
    let passed = [
        // Two labels below the apex, below a delegation, below a wildcard.
        ("none.here.example.com", &[][..], Counter::PassMiss),
        ("none.sub.example.com", &[], Counter::PassMiss),
        ("none.apps.example.com", &[], Counter::PassMiss),
        // The apex spelled otherwise: the socket path's encoder compresses otherwise.
        ("none.Example.com", &[], Counter::PassMiss),
        // Client Subnet: the socket path decides what it means for a negative answer.
        ("none.example.com", &ECS_OPTION[..], Counter::PassEdns),
    ];
    for (name, options, counter) in passed {
        cases.push(Case {
            what: format!("{name} with options {options:?}: passed"),
            frame: query_with_options(name, rtype::A, options, rng),
            expect: Expect::Pass(counter),
        });
    }
    // The server's NSID in a negative answer, and a reply too large for the requester: a
    // small UDP size counts as 512, which a negative answer always fits.
    for (options, size) in [(&NSID_OPTION[..], 1232), (&[][..], 100)] {
        let dns = Builder::query(rng.next() as u16, "none.example.com", rtype::A)
            .opt(&[0], size, 0, 0, options)
            .build();
        cases.push(Case {
            what: format!("none.example.com with options {options:?}, size {size}"),
            frame: framed(true, Vlan::None, &dns, rng),
            expect: Expect::Nxdomain(Layout::new(Vlan::None, true)),
        });
    }
}
