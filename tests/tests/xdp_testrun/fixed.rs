//! Fixed replies from the program (`lbdns_common::fixed`): queries of other types than A and
//! AAAA, and A or AAAA at names without them, get the socket path's reply byte for byte; the
//! queries whose reply is not the same for everyone, or that the copy cannot answer, pass.

use lbdns_common::counters::Counter;
use lbdns_tests::wire::{flag, rtype, Builder};

use super::{
    corpus::{framed, query_with_options, with_edns, Case, Edns, Expect, Rng, ECS_OPTION},
    fixture,
    frame::{Layout, Vlan},
};

/// Queries that must get their fixed reply, in every layout and EDNS variant with random RD,
/// AD and CD; and the queries that must pass.
pub fn cases(rng: &mut Rng, cases: &mut Vec<Case>) {
    let answered = [
        ("example.com", rtype::SOA),
        ("example.com", rtype::NS),
        ("example.com", rtype::MX),
        ("example.com", rtype::TXT),
        ("example.com", rtype::CAA),
        ("_sip._udp.example.com", rtype::SRV),
        ("1.1.18.198.in-addr.example.com", rtype::PTR),
        ("web.example.com", rtype::CNAME),
        // NODATA, at a name with other addresses, at an empty non-terminal; right below the
        // apex, from the zone's negative record, whose child is found in any case.
        ("api.example.com", rtype::AAAA),
        ("apps.example.com", rtype::A),
        ("API.example.com", rtype::AAAA),
        // A referral (AA clear), with the delegation's glue.
        ("sub.example.com", rtype::A),
        // Not answered with DO=1: the zone is signed.
        ("secure.test", rtype::SOA),
    ];
    for (name, qtype) in answered {
        for (v6, vlan) in [
            (false, Vlan::None),
            (true, Vlan::Dot1q),
            (false, Vlan::Dot1ad),
        ] {
            for edns in [Edns::None, Edns::Plain, Edns::DnssecOk, Edns::WithOptions] {
                let expect = match edns {
                    Edns::DnssecOk if name.ends_with("secure.test") => {
                        Expect::PassNotFixed(Counter::PassSigned)
                    }
                    _ => Expect::Fixed(Layout::new(vlan, v6)),
                };
                let flags =
                    [0, flag::RD, flag::AD, flag::CD, flag::RD | flag::CD][rng.below(5) as usize];
                let builder = Builder::new(rng.next() as u16, flags).question(name, qtype);
                cases.push(Case {
                    what: format!(
                        "fixed {name} type {qtype} v6={v6} {vlan:?} {edns:?} flags={flags:#06x}"
                    ),
                    frame: framed(v6, vlan, &with_edns(builder, edns).build(), rng),
                    expect,
                });
            }
        }
    }
    // A reply longer than 512 octets: a query without EDNS gets the socket path's truncated
    // one; a query that takes 1232 octets, the fixed one.
    for (size, expect) in [
        (None, Expect::PassNotFixed(Counter::PassSize)),
        (Some(1232), Expect::Fixed(Layout::new(Vlan::None, false))),
    ] {
        let builder = Builder::query(rng.next() as u16, fixture::BIG_TXT, rtype::TXT);
        let builder = match size {
            Some(size) => builder.edns(size),
            None => builder,
        };
        cases.push(Case {
            what: format!("{} TXT, EDNS size {size:?}", fixture::BIG_TXT),
            frame: framed(false, Vlan::None, &builder.build(), rng),
            expect,
        });
    }
    let passed = [
        // Spelled otherwise: the socket path's encoder compresses against the question.
        ("example.COM", rtype::MX, &[][..], Counter::PassType),
        // A type the name lacks, and A through a CNAME to a rotating set.
        ("www.example.com", rtype::MX, &[], Counter::PassType),
        ("web.example.com", rtype::A, &[], Counter::PassMiss),
        // Client Subnet: the socket path decides what it means.
        ("example.com", rtype::MX, &ECS_OPTION, Counter::PassEdns),
    ];
    for (name, qtype, options, counter) in passed {
        cases.push(Case {
            what: format!("{name} type {qtype} with options {options:?}: passed"),
            frame: query_with_options(name, qtype, options, rng),
            expect: Expect::PassNotFixed(counter),
        });
    }
}
