use std::net::IpAddr;

use super::*;

fn p(text: &str) -> Prefix {
    crate::geo::parse_prefix(text).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

const EU: LocationId = LocationId(0);
const US: LocationId = LocationId(1);

fn located(map: &GeoMap, addr: &str) -> (Option<LocationId>, u8) {
    let l = map.locate(ip(addr));
    (l.location, l.scope)
}

#[test]
fn an_empty_map_places_nobody_over_the_whole_family() {
    let map = GeoMap::default();
    assert_eq!(located(&map, "192.0.2.1"), (None, 0));
    assert_eq!(located(&map, "2001:db8::1"), (None, 0));
    assert_eq!(
        map.entries(false),
        vec![GeoPrefix {
            addr: ip("0.0.0.0"),
            len: 0,
            location: None
        }]
    );
}

#[test]
fn rfc7871_7_2_1_a_more_specific_entry_is_deaggregated_out_of_the_shorter_one() {
    // A /24 override inside a /16: the /16's answer holds only over the pieces around it.
    let map = GeoMap::new(&[(p("10.1.0.0/16"), EU), (p("10.1.2.0/24"), US)], &[]);
    assert_eq!(located(&map, "10.1.2.77"), (Some(US), 24));
    assert_eq!(located(&map, "10.1.3.1"), (Some(EU), 24));
    assert_eq!(located(&map, "10.1.0.1"), (Some(EU), 23));
    assert_eq!(located(&map, "10.1.128.1"), (Some(EU), 17));
    assert_eq!(located(&map, "10.1.64.1"), (Some(EU), 18));
    assert_eq!(located(&map, "10.2.0.0"), (None, 15));
    assert_eq!(located(&map, "11.0.0.0"), (None, 8));
    assert_eq!(located(&map, "200.0.0.1"), (None, 1));
    let v4 = map.entries(false);
    // Disjoint, in order, covering everything.
    let mut next = 0u64;
    for piece in &v4 {
        let IpAddr::V4(a) = piece.addr else { panic!() };
        assert_eq!(u64::from(u32::from(a)), next, "{piece:?}");
        next += 1u64 << (32 - piece.len);
    }
    assert_eq!(next, 1u64 << 32);
    // Every entry's location is what `locate` says at its first address.
    for piece in &v4 {
        assert_eq!(
            map.locate(piece.addr),
            Located {
                location: piece.location,
                scope: piece.len
            }
        );
    }
}

#[test]
fn neighbours_of_one_location_merge_into_the_largest_prefixes() {
    let map = GeoMap::new(&[(p("10.0.0.0/9"), EU), (p("10.128.0.0/9"), EU)], &[]);
    assert_eq!(located(&map, "10.200.0.1"), (Some(EU), 8));
    // The same location inside: nothing to deaggregate.
    let map = GeoMap::new(&[(p("10.0.0.0/8"), EU), (p("10.1.0.0/16"), EU)], &[]);
    assert_eq!(located(&map, "10.1.0.1"), (Some(EU), 8));
}

#[test]
fn subnet_entries_win_over_the_database_wherever_they_reach() {
    let database = [
        (p("10.1.2.0/24"), US),
        (p("10.2.0.0/16"), US),
        (p("2001:db8::/32"), US),
    ];
    let map = GeoMap::new(&[(p("10.1.0.0/16"), EU), (p("10.2.3.0/24"), EU)], &database);
    // The database's /24 is inside a subnet entry: dropped.
    assert_eq!(located(&map, "10.1.2.1"), (Some(EU), 16));
    // A subnet entry inside a database network: the entry wins where it is.
    assert_eq!(located(&map, "10.2.3.1"), (Some(EU), 24));
    assert_eq!(located(&map, "10.2.4.1"), (Some(US), 22));
    assert_eq!(located(&map, "2001:db8:ffff::1"), (Some(US), 32));
    assert_eq!(located(&map, "2001:db9::1"), (None, 32));
}

#[test]
fn ipv6_and_ipv4_mapped_addresses() {
    let map = GeoMap::new(
        &[(p("2001:db8:1::/48"), EU), (p("198.51.100.0/24"), US)],
        &[],
    );
    assert_eq!(located(&map, "2001:db8:1:2::3"), (Some(EU), 48));
    assert_eq!(located(&map, "::ffff:198.51.100.9"), (Some(US), 24));
    // The whole IPv6 family is covered, including its last address.
    assert_eq!(
        located(&map, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        (None, 1)
    );
    let hosts = GeoMap::new(&[(p("255.255.255.255/32"), EU), (p("::/128"), US)], &[]);
    assert_eq!(located(&hosts, "255.255.255.255"), (Some(EU), 32));
    assert_eq!(located(&hosts, "255.255.255.254"), (None, 32));
    assert_eq!(located(&hosts, "::"), (Some(US), 128));
    assert_eq!(located(&hosts, "::1"), (None, 128));
    assert_eq!(hosts.entries(true).len(), 128 + 1);
}

#[test]
fn a_prefix_must_have_no_bits_past_its_length() {
    assert!(crate::geo::parse_prefix("198.51.100.1/24").is_err());
    assert!(crate::geo::parse_prefix("198.51.100.0/33").is_err());
    assert!(crate::geo::parse_prefix("2001:db8::/129").is_err());
    assert!(crate::geo::parse_prefix("nonsense/8").is_err());
    assert_eq!(p("198.51.100.7"), Prefix::new(ip("198.51.100.7"), 32));
    assert_eq!(p("2001:db8::/32").to_string(), "2001:db8::/32");
}
