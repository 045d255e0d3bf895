//! Geo pools and EDNS Client Subnet (RFC 7871) in the program: a catalog with a geo pool, its
//! maps filled by the daemon's own publish (`served::Xdp`: hot RRsets, the locations' RRsets
//! and rows, the client tries, the ECS settings), and every query from clients in each subnet,
//! with and without ECS, answered exactly as the socket path answers it from the same catalog
//! (the oracle gets each frame's source address), or passed when the socket path must decide.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name, RecordType};
use lbdns::{
    authority::{Catalog, GeoAnswers, Order, PoolAnswers, PoolOwnerAnswers, Pooled, Rdata, Rrset},
    geo::{parse_prefix, EcsSettings, GeoMap, GeoSettings, Locations},
    served::Xdp,
    xdp::XdpConfig,
};
use lbdns_common::counters::Counter;
use lbdns_tests::{
    env::pin_to_cpu0,
    wire::{rtype, Builder},
};

use super::{
    corpus::{Case, Expect},
    frame::{udp_frame, Endpoints, Layout, Vlan},
    oracle::SocketOracle,
};
use crate::{check, load, Loaded};

const ZONE: &str =
    "$ORIGIN geo.test.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 198.18.0.53\nplain A 198.18.7.1\n";

/// The pool's owner.
const WWW: &str = "www.geo.test.";
/// A geo pool whose ECS is off.
const NOECS: &str = "noecs.geo.test.";
/// A plain pool.
const POOL: &str = "pool.geo.test.";

/// The client map: eu for 198.18.64.0/18, us for the /24 inside it at 198.18.66.0 and for
/// 2001:db8:1::/48, asia for 198.18.66.64/28 inside that /24 and for 2001:db8:1:2::/64, eu
/// again for 198.18.66.128/25 and for 2001:db8:1:3::80/121; every other address unmapped.
/// Clients are found in the root tables (198.18.200.1), in a chunk one octet down (198.18.64.9)
/// and, in a /24 split further, in a chunk of addresses (198.18.66.77); IPv6 ones five and six
/// octets down (2001:db8:1::9, 2001:db8:1:2::9), and in the trie inside the /64 the /121 splits
/// (2001:db8:1:3::1, 2001:db8:1:3::81).
fn map(locations: &Locations) -> GeoMap {
    let [eu, us, asia] = ["eu", "us", "asia"].map(|name| locations.id(name).unwrap());
    GeoMap::new(
        &[
            (parse_prefix("198.18.64.0/18").unwrap(), eu),
            (parse_prefix("198.18.66.0/24").unwrap(), us),
            (parse_prefix("198.18.66.64/28").unwrap(), asia),
            (parse_prefix("198.18.66.128/25").unwrap(), eu),
            (parse_prefix("2001:db8:1::/48").unwrap(), us),
            (parse_prefix("2001:db8:1:2::/64").unwrap(), asia),
            (parse_prefix("2001:db8:1:3::80/121").unwrap(), eu),
        ],
        &[],
    )
}

/// Another client map, over the same addresses: 198.18.66.0/24 split otherwise (asia for its
/// first /26, us for 198.18.66.77 alone), 198.18.67.128/25 us, and 198.19.5.0/25 us in a /16
/// that `map` leaves unmapped.
fn other_map(locations: &Locations) -> GeoMap {
    let [eu, us, asia] = ["eu", "us", "asia"].map(|name| locations.id(name).unwrap());
    GeoMap::new(
        &[
            (parse_prefix("198.18.64.0/18").unwrap(), eu),
            (parse_prefix("198.18.66.0/26").unwrap(), asia),
            (parse_prefix("198.18.66.77/32").unwrap(), us),
            (parse_prefix("198.18.67.128/25").unwrap(), us),
            (parse_prefix("198.19.5.0/25").unwrap(), us),
            (parse_prefix("2001:db8:1::/48").unwrap(), us),
        ],
        &[],
    )
}

/// A pool owner's answers for one place: `count` A and AAAA addresses ending in `last`.
fn answers(last: u8, count: u8) -> PoolOwnerAnswers {
    let a = (0..count)
        .map(|i| Rdata::A(Ipv4Addr::new(198, 18, 20 + i, last)))
        .collect();
    let aaaa = (0..count)
        .map(|i| {
            Rdata::Aaaa(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0x20,
                i.into(),
                0,
                0,
                0,
                last.into(),
            ))
        })
        .collect();
    let pooled = |rtype, rdatas| Pooled {
        rrset: Rrset::new(rtype, 30, rdatas),
        order: Order::default(),
    };
    PoolOwnerAnswers {
        a: Some(pooled(RecordType::A, a)),
        aaaa: Some(pooled(RecordType::AAAA, aaaa)),
    }
}

/// The pool answers: eu (two addresses), us (three, ending in `us_last`), asia the same as the
/// unmapped clients' (one address: shared with the owner's own set), and at `NOECS` the same
/// without ECS, us ending in 2.
fn pools(us_last: u8) -> PoolAnswers {
    pools_with(us_last, 1)
}

/// [`pools`], with `unmapped` addresses for the clients of no location (asia's one stays).
fn pools_with(us_last: u8, unmapped: u8) -> PoolAnswers {
    let mut pools = PoolAnswers::default();
    let plain = answers(1, 2);
    let pool = LowerName::new(&Name::from_ascii(POOL).unwrap());
    pools.set(pool.clone(), plain.a.unwrap());
    pools.set(pool, plain.aaaa.unwrap());
    for (owner, ecs, us_last) in [(WWW, true, us_last), (NOECS, false, 2)] {
        let name = Name::from_ascii(owner).unwrap();
        pools.set_geo(
            LowerName::new(&name),
            GeoAnswers {
                by_location: vec![answers(1, 2), answers(us_last, 3), answers(9, 1)],
                unmapped: answers(9, unmapped),
                ecs,
            },
        );
    }
    pools
}

/// The catalog with the geo pools at `WWW` and `NOECS`.
pub fn geo_catalog(ecs: EcsSettings) -> Catalog {
    let locations = locations();
    let map = map(&locations);
    catalog_with(locations, map, ecs)
}

fn locations() -> Locations {
    Locations::new(vec![
        ("eu".into(), vec![]),
        ("us".into(), vec![]),
        ("asia".into(), vec![]),
    ])
}

/// The catalog with the geo pools at `WWW` and `NOECS` placing clients by `map`, and a plain
/// pool at `POOL` with the addresses of the eu location.
fn catalog_with(locations: Locations, map: GeoMap, ecs: EcsSettings) -> Catalog {
    let zone = lbdns::zone::Zone::parse(ZONE, Path::new("geo.test"), None).unwrap();
    let geo = GeoSettings {
        map: Arc::new(map),
        locations: Arc::new(locations),
        ecs,
    };
    let owners = [WWW, NOECS, POOL].map(|owner| Name::from_ascii(owner).unwrap());
    let catalog = Catalog::new(&[zone])
        .unwrap()
        .with_pool_owners(owners)
        .with_geo(geo);
    catalog.set_pools(pools(2));
    catalog
}

/// An ECS option: family, source prefix, scope, address octets.
fn ecs(family: u16, source: u8, scope: u8, address: &[u8]) -> Vec<u8> {
    let mut data = vec![0, 8];
    data.extend_from_slice(&(4 + address.len() as u16).to_be_bytes());
    data.extend_from_slice(&family.to_be_bytes());
    data.extend_from_slice(&[source, scope]);
    data.extend_from_slice(address);
    data
}

/// A query frame from `client` for `name` of `qtype`, with `options` in an OPT record (none
/// without).
fn frame(client: &str, name: &str, qtype: u16, options: Option<&[u8]>) -> Vec<u8> {
    let client: IpAddr = client.parse().unwrap();
    let server: IpAddr = if client.is_ipv6() {
        "2001:db8::53".parse().unwrap()
    } else {
        "198.18.0.53".parse().unwrap()
    };
    let mut builder = Builder::query(0x4242, name, qtype);
    if let Some(options) = options {
        builder = builder.opt(&[0], 1232, 0, 0, options);
    }
    let ends = Endpoints {
        client,
        server,
        client_port: 40001,
        server_port: 53,
    };
    udp_frame(Vlan::None, ends, &builder.build(), 0)
}

/// The corpus: clients of every location and of none, over IPv4 and IPv6, without ECS and with
/// ECS of every source length (the cap included and past it), for the geo pools and a plain
/// name; and malformed options, which the program passes.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let clients = [
        "198.18.64.9",
        "198.18.66.77",
        "198.18.66.70",
        // Both sides of the /28 and of the /25 inside 198.18.66.0/24.
        "198.18.66.63",
        "198.18.66.64",
        "198.18.66.79",
        "198.18.66.80",
        "198.18.66.127",
        "198.18.66.128",
        "198.18.66.255",
        "198.18.127.1",
        "198.18.200.1",
        // Unmapped in `map`, split below /24 in `other_map`.
        "198.19.5.1",
        "198.19.5.200",
        "2001:db8:1::9",
        "2001:db8:1:2::9",
        "2001:db8:1:3::1",
        "2001:db8:1:3::81",
        "2001:db8:2::9",
    ];
    let mut subnets: Vec<(String, Vec<u8>)> = vec![
        ("none", vec![]),
        ("v4 /0", ecs(1, 0, 0, &[])),
        ("v4 /8", ecs(1, 8, 0, &[198])),
        ("v4 /18 eu", ecs(1, 18, 0, &[198, 18, 64])),
        ("v4 /24 us", ecs(1, 24, 0, &[198, 18, 66])),
        ("v4 /24 eu", ecs(1, 24, 0, &[198, 18, 67])),
        ("v4 /28 asia", ecs(1, 28, 0, &[198, 18, 66, 64])),
        ("v4 /32 past the cap", ecs(1, 32, 0, &[198, 18, 66, 5])),
        ("v6 /0", ecs(2, 0, 0, &[])),
        ("v6 /32", ecs(2, 32, 0, &[0x20, 0x01, 0x0d, 0xb8])),
        ("v6 /48 us", ecs(2, 48, 0, &[0x20, 0x01, 0x0d, 0xb8, 0, 1])),
        (
            "v6 /56 us",
            ecs(2, 56, 0, &[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0]),
        ),
        // Its slot of `GEO_V6_48` holds 2001:db8:1::/48 (lbdns_common::geo::v6_48_slot): the tag
        // differs, so it is found from the root (an address no packet is sent to).
        (
            "v6 /48 sharing 2001:db8:1::/48's slot",
            ecs(2, 48, 0, &[0x20, 0x01, 0x0d, 0xbd, 0x6d, 0xb7]),
        ),
        (
            "v6 /64 asia, past the cap",
            ecs(2, 64, 0, &[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2]),
        ),
        (
            "v6 /128 past the cap",
            ecs(
                2,
                128,
                0,
                &[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1],
            ),
        ),
        (
            "after an NSID option",
            [vec![0, 3, 0, 0], ecs(1, 24, 0, &[198, 18, 66])].concat(),
        ),
    ]
    .into_iter()
    .map(|(what, option)| (what.to_string(), option))
    .collect();
    // Every source length from /24 to /32 of addresses in 198.18.66.0/24 on each side of the
    // /28 and the /25 there: under the cap when it is 32, past it when it is 24.
    for source in 24..=32u8 {
        for last in [63, 77, 80, 200] {
            let kept = u8::MAX.checked_shl(u32::from(32 - source)).unwrap_or(0);
            let octets = [198, 18, 66, last & kept];
            let octets = &octets[..usize::from(source.div_ceil(8))];
            subnets.push((
                format!("v4 /{source} {octets:?}"),
                ecs(1, source, 0, octets),
            ));
        }
    }
    for client in clients {
        for (what, option) in &subnets {
            for (name, qtype) in [
                (WWW, rtype::A),
                (WWW, rtype::AAAA),
                (NOECS, rtype::A),
                (POOL, rtype::AAAA),
                ("plain.geo.test.", rtype::A),
            ] {
                // Without ECS: without EDNS and with it.
                let variants: Vec<Option<&[u8]>> = if option.is_empty() {
                    vec![None, Some(&[])]
                } else {
                    vec![Some(option)]
                };
                for edns in variants {
                    let v6 = client.contains(':');
                    cases.push(Case {
                        what: format!("{name} {qtype} from {client}, ECS {what}, {edns:?}"),
                        frame: frame(client, name, qtype, edns),
                        expect: Expect::Answer(Layout::new(Vlan::None, v6)),
                    });
                }
            }
        }
    }
    // RFC 7871 §6: malformed options get FORMERR from the socket path; the program passes them,
    // as it does what it leaves to the socket path (a non-zero scope, family 0).
    for (what, option) in [
        ("family 3", ecs(3, 0, 0, &[])),
        (
            "a v4 source prefix longer than the address",
            ecs(1, 33, 0, &[1, 2, 3, 4, 5]),
        ),
        (
            "a v6 source prefix longer than the address",
            ecs(2, 129, 0, &[0; 17]),
        ),
        ("bits set past the prefix", ecs(1, 23, 0, &[198, 18, 67])),
        ("an extra address octet", ecs(1, 16, 0, &[198, 18, 0])),
        ("an address octet missing", ecs(1, 24, 0, &[198, 18])),
        (
            "a length shorter than the fixed part",
            vec![0, 8, 0, 3, 0, 1, 0],
        ),
        (
            "two options",
            [ecs(1, 8, 0, &[198]), ecs(1, 8, 0, &[198])].concat(),
        ),
        ("a non-zero scope", ecs(1, 24, 24, &[198, 18, 66])),
        ("family 0", ecs(0, 0, 0, &[])),
    ] {
        for client in ["198.18.64.9", "2001:db8:1::9"] {
            cases.push(Case {
                what: format!("ECS with {what} from {client}"),
                frame: frame(client, WWW, rtype::A, Some(&option)),
                expect: Expect::Pass(Counter::PassEdns),
            });
        }
    }
    cases
}

/// RFC 7871 §7.2.1 and §11.1 with a geo pool: the program answers each client from its
/// location's set, steered by the ECS address cut to the privacy cap or by the source address,
/// and echoes ECS with the socket path's scope; byte for byte the socket path's reply, apart
/// from rotation.
#[test]
fn rfc7871_7_2_1_geo_answers_and_scopes_equal_the_socket_paths() {
    pin_to_cpu0().expect("pin to CPU 0");
    for settings in [
        EcsSettings::default(),
        EcsSettings {
            max_v4: 16,
            max_v6: 40,
            ..EcsSettings::default()
        },
        EcsSettings {
            max_v4: 32,
            ..EcsSettings::default()
        },
        EcsSettings {
            enabled: false,
            ..EcsSettings::default()
        },
    ] {
        let catalog = geo_catalog(settings);
        let loaded = Loaded::publishing(&catalog);
        let mut oracle = SocketOracle::new(geo_catalog(settings));
        let mut answered = 0;
        for case in cases() {
            let case = match case.expect {
                // With ECS off the option is ignored, malformed or not, as any unknown one:
                // both paths answer without an echo. Two options are passed before the
                // program knows (`parse::ecs::seen`), which is never wrong.
                Expect::Pass(_) if !settings.enabled && !case.what.contains("two options") => {
                    let v6 = case.frame[12..14] == [0x86, 0xdd];
                    Case {
                        expect: Expect::Answer(Layout::new(Vlan::None, v6)),
                        ..case
                    }
                }
                _ => case,
            };
            let counter = check(&loaded, &mut oracle, &case);
            answered += u32::from(matches!(
                counter,
                Counter::AnsweredA | Counter::AnsweredAaaa
            ));
        }
        assert!(answered > 300, "{settings:?}: {answered} answered");
    }
}

/// A geo pool owner whose own answer is extended (more than four addresses: a block of slots)
/// takes its RRset id from the top of the ids. In maps of more ids than the default, its row is
/// found by that id, and every client gets the socket path's answer.
#[test]
fn an_extended_owner_with_a_high_id_is_steered_by_its_row() {
    pin_to_cpu0().expect("pin to CPU 0");
    let catalog = || {
        let catalog = geo_catalog(EcsSettings::default());
        catalog.set_pools(pools_with(2, 5));
        catalog
    };
    let config = XdpConfig {
        a_slots: 20_000,
        aaaa_slots: 20_000,
        ..XdpConfig::default()
    };
    assert!(config.a_slots > XdpConfig::default().a_slots);
    let mut xdp = Xdp::new(load(&config)).expect("map writer");
    xdp.publish(&catalog())
        .unwrap_or_else(|error| panic!("{error:#}"));
    let (fast, writer) = xdp.into_parts();
    assert_eq!(
        writer.fill().a_slots.capacity,
        config.a_slots,
        "every id has a row entry"
    );
    let loaded = Loaded { fast, writer };
    let mut oracle = SocketOracle::new(catalog());
    for case in cases() {
        check(&loaded, &mut oracle, &case);
    }
}

/// A health change of one location (its answer replaced) writes that location's RRset alone;
/// clients there get the new answer, everyone else what they had.
#[test]
fn a_location_change_writes_only_its_own_set() {
    pin_to_cpu0().expect("pin to CPU 0");
    let catalog = geo_catalog(EcsSettings::default());
    let mut xdp = Xdp::new(load(&XdpConfig::default())).expect("map writer");
    xdp.publish(&catalog)
        .unwrap_or_else(|error| panic!("{error:#}"));
    catalog.set_pools(pools(5));
    let www = LowerName::new(&Name::from_ascii(WWW).unwrap());
    let report = xdp
        .publish_names(&catalog, [&www])
        .unwrap_or_else(|error| panic!("{error:#}"));
    assert_eq!(
        (report.written, report.removed),
        (2, 0),
        "the us location's A and AAAA sets: {report:?}"
    );
    let (fast, writer) = xdp.into_parts();
    let loaded = Loaded { fast, writer };
    let changed = geo_catalog(EcsSettings::default());
    changed.set_pools(pools(5));
    let mut oracle = SocketOracle::new(changed);
    for case in cases() {
        check(&loaded, &mut oracle, &case);
    }
}

/// A changed client map is written over the old one by difference (a prefix that stops being
/// split frees its chunks, one that starts takes some, after a grace period if need be), and
/// with too few chunks the trie answers for what the direct tables cannot hold, even partway
/// down a path: every client, IPv4 and IPv6, steered by its address or by ECS with no cap,
/// gets the socket path's answer and scope, after each change and with 1, 3, 9 (all IPv4
/// needs and part of IPv6's) or plenty of chunks; with 9, the IPv6 /48 table has one slot, as
/// when the daemon sizes it for a map that splits no IPv6 /40, and the other /48s are found
/// from the root.
#[test]
fn a_changed_map_and_too_few_chunks_keep_the_socket_paths_answers() {
    pin_to_cpu0().expect("pin to CPU 0");
    let settings = EcsSettings {
        max_v4: 32,
        max_v6: 128,
        ..EcsSettings::default()
    };
    let maps: [fn(&Locations) -> GeoMap; 3] = [other_map, map, other_map];
    for chunks in [1, 3, 9, 4096] {
        let config = XdpConfig {
            geo_chunks: chunks,
            geo_v6_slots: if chunks == 9 {
                1
            } else {
                XdpConfig::default().geo_v6_slots
            },
            ..XdpConfig::default()
        };
        let mut xdp = Xdp::new(load(&config)).expect("map writer");
        xdp.publish(&catalog_with(locations(), map(&locations()), settings))
            .unwrap_or_else(|error| panic!("{error:#}"));
        let (fast, writer) = xdp.into_parts();
        let mut loaded = Loaded { fast, writer };
        for next in maps {
            loaded
                .writer
                .publish_geo_map(&Arc::new(next(&locations())))
                .unwrap_or_else(|error| panic!("{error:#}"));
            let mut oracle =
                SocketOracle::new(catalog_with(locations(), next(&locations()), settings));
            for case in cases() {
                let case = Case {
                    what: format!("{chunks} chunks: {}", case.what),
                    ..case
                };
                check(&loaded, &mut oracle, &case);
            }
        }
    }
}

/// A map of `2^bits` IPv4 blocks of equal size, each in eu or us at random (both answered
/// from a set of their own): after neighbours of one location merge, about half of `2^bits`
/// prefixes, the size of a country database's IPv4 part at `bits = 18`. IPv6 has us at
/// 2001:db8:1::/48 and eu at the /56 2001:db8:1:ff00::/56 inside it.
fn partition(locations: &Locations, bits: u32) -> GeoMap {
    let mut rng = super::corpus::Rng::new(0x9e0);
    let [eu, us] = ["eu", "us"].map(|name| locations.id(name).unwrap());
    let mut blocks: Vec<_> = (0..1u32 << bits)
        .map(|block| {
            let id = [eu, us][rng.below(2) as usize];
            let addr = IpAddr::V4(Ipv4Addr::from(block.checked_shl(32 - bits).unwrap_or(0)));
            (lbdns::geo::Prefix::new(addr, bits as u8), id)
        })
        .collect();
    blocks.push((parse_prefix("2001:db8:1::/48").unwrap(), us));
    blocks.push((parse_prefix("2001:db8:1:ff00::/56").unwrap(), eu));
    GeoMap::new(&blocks, &[])
}

/// Prints (no assertion on timings) the program's mean run time, with
/// `kernel.bpf_stats_enabled` at 1, for a plain pool's answer and a geo pool's, without and with
/// ECS (IPv4, and IPv6 through the deepest chunks), over a client map of a few hundred prefixes
/// and of about 10^5; and the verified instruction count.
#[test]
fn report_geo_cost() {
    const RUNS: u64 = 200_000;
    pin_to_cpu0().expect("pin to CPU 0");
    for bits in [0, 9, 18] {
        let locations = locations();
        let map = partition(&locations, bits);
        let prefixes = map.entries(false).len();
        let catalog = catalog_with(locations, map, EcsSettings::default());
        // Sized as the daemon sizes its maps: a chunk per /16 and per /24 the map splits.
        let config = lbdns::xdp::sizing::for_catalog(&catalog, &Default::default(), 53)
            .expect("the catalog compiles");
        let mut xdp = Xdp::new(load(&config)).expect("map writer");
        xdp.publish(&catalog)
            .unwrap_or_else(|error| panic!("{error:#}"));
        let (fast, writer) = xdp.into_parts();
        let loaded = Loaded { fast, writer };
        println!("{} GEO_CHUNKS chunks", config.geo_chunks);
        println!("{:?}", loaded.fast.stats().expect("stats"));
        let client = "198.18.66.77";
        let subnet = ecs(1, 24, 0, &[100, 64, 1]);
        let subnet_v6 = ecs(2, 56, 0, &[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0xff]);
        for (what, name, options) in [
            ("plain pool, no EDNS", POOL, None),
            ("geo pool, no EDNS", WWW, None),
            ("plain pool, ECS /24", POOL, Some(&subnet[..])),
            ("geo pool, ECS /24", WWW, Some(&subnet[..])),
            ("plain pool, IPv6 ECS /56", POOL, Some(&subnet_v6[..])),
            ("geo pool, IPv6 ECS /56", WWW, Some(&subnet_v6[..])),
        ] {
            let query = frame(client, name, rtype::A, options);
            let before = loaded.fast.stats().expect("stats");
            for _ in 0..RUNS {
                assert_eq!(loaded.run(&query).0, crate::XDP_TX, "{what}");
            }
            let after = loaded.fast.stats().expect("stats");
            let runs = after.run_count - before.run_count;
            match (after.run_time - before.run_time)
                .as_nanos()
                .checked_div(u128::from(runs))
            {
                Some(ns) => println!(
                    "{prefixes} IPv4 prefixes, {what}: {ns} ns per answered query over {runs}"
                ),
                None => println!("kernel.bpf_stats_enabled is 0: no run time measured"),
            }
        }
    }
}
