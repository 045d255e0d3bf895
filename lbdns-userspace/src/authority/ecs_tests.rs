//! RFC 7871 on the socket path: the option's rules (§6), which address steers, and the
//! reply's echo and scope (§7.2.1), through `respond` with a geo pool.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name, RecordType};

use super::*;
use crate::authority::{
    answer_cycle, respond, Catalog, Client, GeoAnswers, Order, PoolAnswers, PoolOwnerAnswers,
    Pooled, Rdata, Replies, Rrset, Transport,
};
use crate::geo::{parse_prefix, GeoSettings, Locations};
use crate::zone::Zone;

#[test]
fn rfc7871_6_a_well_formed_option_is_read() {
    assert_eq!(
        read(&[0, 1, 24, 0, 198, 51, 100]),
        Ok(ClientSubnet {
            family: FAMILY_IPV4,
            source: 24,
            scope: 0,
            address: Some("198.51.100.0".parse().unwrap()),
        })
    );
    let v6 = read(&[0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0]).unwrap();
    assert_eq!(v6.address, Some("2001:db8:1::".parse().unwrap()));
    // Source 0: no address octets; family 0 only with it (§7.1.2).
    assert_eq!(
        read(&[0, 1, 0, 0]).unwrap().address,
        Some("0.0.0.0".parse().unwrap())
    );
    assert_eq!(read(&[0, 0, 0, 0]).unwrap().address, None);
}

#[test]
fn rfc7871_6_malformed_options_are_refused() {
    for (what, data) in [
        ("too short", &[0, 1, 24][..]),
        ("unknown family", &[0, 3, 0, 0]),
        ("family 0 with a source", &[0, 0, 8, 0, 10]),
        (
            "prefix longer than the address",
            &[0, 1, 33, 0, 1, 2, 3, 4, 5],
        ),
        (
            "prefix longer than IPv6",
            &[
                0, 2, 129, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        ),
        ("an extra octet", &[0, 1, 24, 0, 198, 51, 100, 0]),
        ("an octet missing", &[0, 1, 24, 0, 198, 51]),
        ("bits past the prefix", &[0, 1, 23, 0, 198, 51, 101]),
    ] {
        assert_eq!(read(data), Err(Malformed), "{what}");
    }
    // A second option in one query.
    assert_eq!(
        read_once(Some(read(&[0, 0, 0, 0])), &[0, 0, 0, 0]),
        Err(Malformed)
    );
}

#[test]
fn rfc7871_7_2_1_the_reply_echoes_family_source_and_address() {
    let subnet = read(&[0, 1, 20, 0, 198, 51, 96]).unwrap();
    let (data, len) = reply_data(&subnet, 24);
    assert_eq!(&data[..len], [0, 1, 20, 24, 198, 51, 96]);
    let (data, len) = reply_data(&read(&[0, 0, 0, 0]).unwrap(), 0);
    assert_eq!(&data[..len], [0, 0, 0, 0]);
}

const ZONE: &str =
    "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 198.18.0.53\n";

/// www is a geo pool: eu (198.18.1.1) for 10.1.0.0/16, us (198.18.2.1) for 10.1.2.0/24 and
/// 2001:db8::/32, and 198.18.9.9 for clients in neither.
pub(in crate::authority) fn geo_catalog(ecs: crate::geo::EcsSettings, pool_ecs: bool) -> Catalog {
    let zone = Zone::parse(ZONE, Path::new("zone"), None).unwrap();
    let www = Name::from_ascii("www.example.test.").unwrap();
    let locations = Locations::new(vec![("eu".into(), vec![]), ("us".into(), vec![])]);
    let [eu, us] = ["eu", "us"].map(|n| locations.id(n).unwrap());
    let subnets = [
        (parse_prefix("10.1.0.0/16").unwrap(), eu),
        (parse_prefix("10.1.2.0/24").unwrap(), us),
        (parse_prefix("2001:db8::/32").unwrap(), us),
    ];
    let geo = GeoSettings {
        locations: Arc::new(locations),
        map: Arc::new(crate::geo::GeoMap::new(&subnets, &[])),
        ecs,
    };
    let owner = |last: u8| PoolOwnerAnswers {
        a: Some(Pooled {
            rrset: Rrset::new(
                RecordType::A,
                30,
                vec![Rdata::A(Ipv4Addr::new(198, 18, last, 1))],
            ),
            order: Order::default(),
        }),
        aaaa: None,
    };
    let catalog = Catalog::new(&[zone])
        .unwrap()
        .with_pool_owners([www.clone()])
        .with_geo(geo);
    let mut pools = PoolAnswers::default();
    pools.set_geo(
        LowerName::new(&www),
        GeoAnswers {
            by_location: vec![owner(1), owner(2)],
            unmapped: owner(9),
            ecs: pool_ecs,
        },
    );
    catalog.set_pools(pools);
    catalog
}

/// A query for `name` A with an OPT record holding `options`.
pub(in crate::authority) fn query(name: &str, options: &[u8]) -> Vec<u8> {
    let mut out = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.extend_from_slice(&[0, 0, 1, 0, 1]);
    out.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    out.extend_from_slice(&(options.len() as u16).to_be_bytes());
    out.extend_from_slice(options);
    out
}

fn ecs_option(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 8];
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// (RCODE, the third octet of the first A, the reply's ECS option data).
fn ask(
    catalog: &Catalog,
    from: &str,
    name: &str,
    options: &[u8],
) -> (u8, Option<u8>, Option<Vec<u8>>) {
    let client = Client::new(from.parse::<IpAddr>().unwrap(), Transport::Udp);
    let asked = query(name, options);
    let reply = respond(catalog, &asked, client).unwrap();
    let rcode = reply[3] & 0x0f;
    // Hickory refuses an ECS option of family 0, so the first answer is read by hand: it
    // follows the question (as long as the query's), its owner a two-octet pointer.
    let question_end = asked.len() - 11 - options.len();
    let answers = u16::from_be_bytes([reply[6], reply[7]]);
    let first = &reply[question_end..];
    let leader = (answers > 0 && first[2..4] == [0, 1]).then(|| first[12 + 2]);
    (rcode, leader, ecs_in(&reply))
}

/// The reply's ECS option data. These replies carry no other option, so the OPT record (last
/// in the message) ends with the ECS option, whose length says where it starts.
fn ecs_in(reply: &[u8]) -> Option<Vec<u8>> {
    (4..reply.len()).rev().find_map(|start| {
        let len = usize::from(u16::from_be_bytes([reply[start - 2], reply[start - 1]]));
        (reply[start - 4..start - 2] == [0, 8] && start + len == reply.len())
            .then(|| reply[start..].to_vec())
    })
}

/// A geo pool's family that no location answers (www has no AAAA anywhere) is NODATA wherever
/// the client is: not chosen by location, so one reply for every client, which the fast path
/// may prepare. Its A is chosen by location.
#[test]
fn a_geo_pools_family_answered_nowhere_is_not_located() {
    let catalog = geo_catalog(Default::default(), true);
    let pools = catalog.pools();
    let client = Client::new("10.1.7.7".parse::<IpAddr>().unwrap(), Transport::Udp);
    let a = query("www.example.test", &[]);
    // QTYPE ends 2 octets before QCLASS, which the 11-octet OPT record follows.
    let mut aaaa = a.clone();
    let qtype = aaaa.len() - 11 - 4;
    aaaa[qtype..qtype + 2].copy_from_slice(&u16::from(RecordType::AAAA).to_be_bytes());
    assert!(matches!(
        answer_cycle(&catalog, &pools, &a, client),
        Some(Replies::Single(_))
    ));
    assert!(matches!(
        answer_cycle(&catalog, &pools, &aaaa, client),
        Some(Replies::Cycle { replies, counter: None }) if replies.len() == 1
    ));
}

#[test]
fn rfc7871_7_2_1_without_ecs_the_source_address_steers_and_no_ecs_goes_back() {
    let catalog = geo_catalog(Default::default(), true);
    assert_eq!(
        ask(&catalog, "10.1.7.7", "www.example.test", &[]),
        (0, Some(1), None)
    );
    assert_eq!(
        ask(&catalog, "10.1.2.7", "www.example.test", &[]),
        (0, Some(2), None)
    );
    assert_eq!(
        ask(&catalog, "192.0.2.1", "www.example.test", &[]),
        (0, Some(9), None)
    );
}

#[test]
fn rfc7871_7_2_1_the_ecs_address_steers_and_the_scope_is_the_maps_piece() {
    let catalog = geo_catalog(Default::default(), true);
    // From an unmapped resolver, for a client in the /24 override: us, scope 24.
    let (rcode, leader, ecs) = ask(
        &catalog,
        "192.0.2.1",
        "www.example.test",
        &ecs_option(&[0, 1, 24, 0, 10, 1, 2]),
    );
    assert_eq!((rcode, leader), (0, Some(2)));
    assert_eq!(ecs.unwrap(), [0, 1, 24, 24, 10, 1, 2]);
    // The /16 around it holds eu only at /24 for 10.1.3.0 (deaggregated).
    let (_, leader, ecs) = ask(
        &catalog,
        "192.0.2.1",
        "www.example.test",
        &ecs_option(&[0, 1, 24, 0, 10, 1, 3]),
    );
    assert_eq!(
        (leader, ecs.unwrap()),
        (Some(1), vec![0, 1, 24, 24, 10, 1, 3])
    );
    // A /16 source: the scope may be longer than the source (here 23 for 10.1.0.0).
    let (_, leader, ecs) = ask(
        &catalog,
        "192.0.2.1",
        "www.example.test",
        &ecs_option(&[0, 1, 16, 0, 10, 1]),
    );
    assert_eq!((leader, ecs.unwrap()), (Some(1), vec![0, 1, 16, 23, 10, 1]));
    // IPv6 at /56.
    let data = [0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0];
    let (_, leader, ecs) = ask(&catalog, "10.1.7.7", "www.example.test", &ecs_option(&data));
    assert_eq!(leader, Some(2));
    assert_eq!(ecs.unwrap()[3], 32);
}

#[test]
fn rfc7871_11_1_the_privacy_cap_limits_the_bits_used_and_the_scope_claimed() {
    let catalog = geo_catalog(Default::default(), true);
    // A /32 source is used only to /24: 10.1.2.200 is located as 10.1.2.0.
    let data = [0, 1, 32, 0, 10, 1, 2, 200];
    let (_, leader, ecs) = ask(
        &catalog,
        "192.0.2.1",
        "www.example.test",
        &ecs_option(&data),
    );
    assert_eq!(
        (leader, ecs.unwrap()),
        (Some(2), vec![0, 1, 32, 24, 10, 1, 2, 200])
    );
    let capped = crate::geo::EcsSettings {
        max_v4: 16,
        ..Default::default()
    };
    let catalog = geo_catalog(capped, true);
    let (_, leader, ecs) = ask(
        &catalog,
        "192.0.2.1",
        "www.example.test",
        &ecs_option(&[0, 1, 24, 0, 10, 1, 2]),
    );
    // Cut to 10.1.0.0/16: eu, claimed no further than the 16 bits used.
    assert_eq!(
        (leader, ecs.unwrap()),
        (Some(1), vec![0, 1, 24, 16, 10, 1, 2])
    );
}

#[test]
fn rfc7871_7_1_2_source_prefix_zero_steers_by_the_resolver_with_scope_zero() {
    let catalog = geo_catalog(Default::default(), true);
    let (_, leader, ecs) = ask(
        &catalog,
        "10.1.2.9",
        "www.example.test",
        &ecs_option(&[0, 1, 0, 0]),
    );
    assert_eq!((leader, ecs.unwrap()), (Some(2), vec![0, 1, 0, 0]));
    let (_, leader, ecs) = ask(
        &catalog,
        "10.1.2.9",
        "www.example.test",
        &ecs_option(&[0, 0, 0, 0]),
    );
    assert_eq!((leader, ecs.unwrap()), (Some(2), vec![0, 0, 0, 0]));
}

#[test]
fn rfc7871_7_2_1_names_that_do_not_vary_by_location_get_scope_zero() {
    let catalog = geo_catalog(Default::default(), true);
    let (rcode, leader, ecs) = ask(
        &catalog,
        "192.0.2.1",
        "ns1.example.test",
        &ecs_option(&[0, 1, 24, 0, 10, 1, 2]),
    );
    assert_eq!((rcode, leader), (0, Some(0)));
    assert_eq!(ecs.unwrap(), [0, 1, 24, 0, 10, 1, 2]);
    // NXDOMAIN and REFUSED echo with scope 0 too.
    let (rcode, _, ecs) = ask(
        &catalog,
        "192.0.2.1",
        "nope.example.test",
        &ecs_option(&[0, 1, 24, 0, 10, 1, 2]),
    );
    assert_eq!((rcode, ecs.unwrap()[3]), (3, 0));
    let (rcode, _, ecs) = ask(
        &catalog,
        "192.0.2.1",
        "elsewhere.test",
        &ecs_option(&[0, 1, 24, 0, 10, 1, 2]),
    );
    assert_eq!((rcode, ecs.unwrap()[3]), (5, 0));
}

#[test]
fn rfc7871_7_2_1_a_malformed_option_is_formerr() {
    let catalog = geo_catalog(Default::default(), true);
    for data in [
        &[0, 3, 0, 0][..],
        &[0, 1, 33, 0, 1, 2, 3, 4, 5],
        &[0, 1, 23, 0, 10, 1, 3],
        &[0, 1, 24, 0, 10, 1, 2, 0],
    ] {
        let (rcode, leader, ecs) =
            ask(&catalog, "192.0.2.1", "www.example.test", &ecs_option(data));
        assert_eq!((rcode, leader, ecs), (1, None, None), "{data:?}");
    }
}

#[test]
fn ecs_switched_off_globally_is_ignored_and_per_pool_steers_by_the_source() {
    let off = crate::geo::EcsSettings {
        enabled: false,
        ..Default::default()
    };
    let catalog = geo_catalog(off, true);
    // Off: ignored like an unknown option, malformed or not; the source address steers.
    assert_eq!(
        ask(
            &catalog,
            "10.1.2.9",
            "www.example.test",
            &ecs_option(&[0, 1, 24, 0, 10, 1, 3])
        ),
        (0, Some(2), None)
    );
    assert_eq!(
        ask(
            &catalog,
            "10.1.2.9",
            "www.example.test",
            &ecs_option(&[0, 3, 0, 0])
        ),
        (0, Some(2), None)
    );
    // Off for the pool: the source steers, the echo says scope 0.
    let catalog = geo_catalog(Default::default(), false);
    let (_, leader, ecs) = ask(
        &catalog,
        "10.1.2.9",
        "www.example.test",
        &ecs_option(&[0, 1, 24, 0, 10, 1, 3]),
    );
    assert_eq!(
        (leader, ecs.unwrap()),
        (Some(2), vec![0, 1, 24, 0, 10, 1, 3])
    );
}

#[test]
fn geo_pool_names_reach_the_xdp_maps_with_one_rrset_per_location_and_a_row() {
    let catalog = geo_catalog(Default::default(), true);
    let www = b"\x03www\x07example\x04test\x00".to_vec();
    // Plain hot RRsets leave geo owners out; the whole image has them.
    let hot = crate::compile::hot_rrsets(&catalog);
    assert!(hot
        .iter()
        .any(|h| h.name == b"\x03ns1\x07example\x04test\x00"));
    assert!(hot.iter().all(|h| h.name != www));
    let image = crate::compile::compile_catalog(&catalog).unwrap().image;
    let [row] = &image.geo[..] else {
        panic!("one row (A; no AAAA answer): {:?}", image.geo);
    };
    assert_eq!(row.owner.name, www);
    let located: Vec<_> = (0..2)
        .map(|l| crate::compile::geo::location_name(&www, l).unwrap())
        .collect();
    assert_eq!(
        row.entries,
        located
            .iter()
            .map(
                |name| crate::compile::RowEntry::Location(crate::compile::RrsetId {
                    qtype: crate::compile::AddrType::A,
                    name: name.clone(),
                })
            )
            .collect::<Vec<_>>()
    );
    for name in located.iter().chain([&www]) {
        assert!(image.rrsets.iter().any(|(id, _)| &id.name == name));
    }
    // A change at the owner publishes the same sets, and lists every location RRset the
    // owner may have, so a publish removes those it no longer has.
    let owner = LowerName::new(&Name::from_ascii("www.example.test.").unwrap());
    let part = crate::compile::hot_rrsets_at(&catalog, [&owner]);
    assert_eq!(part.rrsets.len(), 3);
    assert_eq!(part.geo.len(), 1);
    assert!(
        part.ids.len() > 2
            && located
                .iter()
                .all(|name| part.ids.iter().any(|id| &id.name == name))
    );
}

#[test]
fn rfc7871_6_an_ipv4_mapped_ipv6_address_is_placed_as_ipv4_with_an_ipv6_scope() {
    let all_bits = crate::geo::EcsSettings {
        max_v6: 128,
        ..Default::default()
    };
    let catalog = geo_catalog(all_bits, true);
    let mut data = vec![0, 2, 128, 0];
    data.extend(
        "::ffff:10.1.2.9"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    let (_, leader, ecs) = ask(
        &catalog,
        "192.0.2.1",
        "www.example.test",
        &ecs_option(&data),
    );
    assert_eq!(leader, Some(2));
    assert_eq!(ecs.unwrap()[3], 96 + 24);
}
