use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::*;
use crate::pool::{Check, Endpoint, Pool, PoolSet, Probe, Target};

const EU: LocationId = LocationId(0);
const DE: LocationId = LocationId(1);
const US: LocationId = LocationId(2);

/// eu falls back to de, de to us (so eu to de then us), us to nothing.
fn locations() -> Arc<Locations> {
    Arc::new(Locations::new(vec![
        ("eu".into(), vec![DE, US]),
        ("de".into(), vec![US]),
        ("us".into(), vec![]),
    ]))
}

fn endpoint(last: u8, location: LocationId) -> Endpoint {
    Endpoint {
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
        weight: 1,
        tier: 1,
        target: Some(target(last)),
        location: Some(location),
    }
}

fn pool(default_location: Option<LocationId>, on_all_down: OnAllDown) -> Pool {
    Pool {
        owner: Name::from_ascii("www.example.com.").unwrap(),
        ttl: 30,
        policy: Policy::Geo,
        answers: None,
        on_all_down,
        endpoints: vec![
            endpoint(1, EU),
            endpoint(2, EU),
            endpoint(3, DE),
            endpoint(4, US),
        ],
        geo: Some(GeoPool {
            locations: locations(),
            default_location,
            ecs: true,
        }),
    }
}

/// The last octets a client at `at` is answered with.
fn answer(set: &PoolSet, at: Option<LocationId>) -> Vec<u8> {
    let geo = set.geo_selections(0).unwrap();
    let selections = match at {
        Some(l) => &geo.by_location[usize::from(l.0)],
        None => &geo.unmapped,
    };
    selections
        .v4
        .addresses
        .iter()
        .map(|a| a.octets()[3])
        .collect()
}

fn target(last: u8) -> Target {
    Target {
        address: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)), 80),
        check: Check {
            probe: Probe::Tcp,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise: 1,
            fall: 1,
        },
    }
}

fn down(set: &mut PoolSet, last: u8) {
    set.set_health(&target(last), false);
}

#[test]
fn each_location_gets_its_own_endpoints() {
    let set = PoolSet::new(vec![pool(None, OnAllDown::All)]);
    assert_eq!(answer(&set, Some(EU)), [1, 2]);
    assert_eq!(answer(&set, Some(DE)), [3]);
    assert_eq!(answer(&set, Some(US)), [4]);
    // Unmapped, no default location: every healthy endpoint.
    assert_eq!(answer(&set, None), [1, 2, 3, 4]);
    let with_default = PoolSet::new(vec![pool(Some(US), OnAllDown::All)]);
    assert_eq!(answer(&with_default, None), [4]);
    // `selections` of a geo pool is the unmapped answer.
    assert_eq!(
        with_default.selections(0),
        with_default.geo_selections(0).unwrap().unmapped
    );
}

#[test]
fn a_location_with_nothing_healthy_falls_back_in_order_then_to_anything() {
    let mut set = PoolSet::new(vec![pool(None, OnAllDown::None)]);
    down(&mut set, 1);
    assert_eq!(answer(&set, Some(EU)), [2]);
    down(&mut set, 2);
    assert_eq!(answer(&set, Some(EU)), [3]);
    down(&mut set, 3);
    assert_eq!(answer(&set, Some(EU)), [4]);
    assert_eq!(answer(&set, Some(DE)), [4]);
    // us has no fallback: anything healthy, here eu's 2 again.
    set.set_health(&target(2), true);
    down(&mut set, 4);
    assert_eq!(answer(&set, Some(US)), [2]);
    // Nothing healthy: on_all_down = none is NODATA.
    down(&mut set, 2);
    assert_eq!(answer(&set, Some(US)), Vec::<u8>::new());
}

#[test]
fn nothing_healthy_and_on_all_down_all_answers_every_endpoint() {
    let mut set = PoolSet::new(vec![pool(Some(EU), OnAllDown::All)]);
    for last in 1..=4 {
        down(&mut set, last);
    }
    assert_eq!(answer(&set, Some(DE)), [1, 2, 3, 4]);
    assert_eq!(answer(&set, None), [1, 2, 3, 4]);
}

#[test]
fn a_drained_location_falls_back_before_its_drained_endpoints_are_answered() {
    let mut set = PoolSet::new(vec![pool(None, OnAllDown::None)]);
    set.set_drained(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)), true)
        .unwrap();
    assert_eq!(answer(&set, Some(DE)), [4]);
    down(&mut set, 4);
    // Nothing undrained left in de's order: anything undrained (eu's) before the drained one.
    assert_eq!(answer(&set, Some(DE)), [1, 2]);
    down(&mut set, 1);
    down(&mut set, 2);
    assert_eq!(answer(&set, Some(DE)), [3]);
}

#[test]
fn within_a_location_weights_lead_and_answers_caps_as_in_other_pools() {
    let mut weighted = pool(None, OnAllDown::All);
    weighted.endpoints[1].weight = 3;
    weighted.answers = Some(1);
    let set = PoolSet::new(vec![weighted]);
    let eu = &set.geo_selections(0).unwrap().by_location[usize::from(EU.0)];
    assert_eq!(eu.v4.answers, 1);
    let leaders: Vec<u8> = (0..4)
        .map(|k| eu.v4.answer(k).next().unwrap().octets()[3])
        .collect();
    // 1:3 between .1 and .2, spread out.
    assert_eq!(leaders.iter().filter(|&&l| l == 2).count(), 3);
    assert_eq!(leaders.iter().filter(|&&l| l == 1).count(), 1);
}
