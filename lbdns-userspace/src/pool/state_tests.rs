use std::time::Duration;

use hickory_proto::rr::Name;

use super::*;
use crate::pool::model::{Check, Endpoint, OnAllDown, Policy, Probe};

fn tcp(address: &str) -> Option<Target> {
    Some(Target {
        address: address.parse().unwrap(),
        check: Check {
            probe: Probe::Tcp,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            rise: 2,
            fall: 3,
        },
    })
}

fn endpoint(address: &str, target: Option<Target>) -> Endpoint {
    Endpoint {
        address: address.parse().unwrap(),
        weight: 1,
        tier: 1,
        target,
        location: None,
    }
}

fn pool(owner: &str, endpoints: Vec<Endpoint>) -> Pool {
    Pool {
        owner: Name::from_ascii(owner).unwrap(),
        ttl: 30,
        policy: Policy::RoundRobin,
        answers: None,
        on_all_down: OnAllDown::None,
        endpoints,
        geo: None,
    }
}

/// Two pools sharing the target 192.0.2.1:80; www has both families.
fn set() -> PoolSet {
    PoolSet::new(vec![
        pool(
            "www.example.com.",
            vec![
                endpoint("192.0.2.1", tcp("192.0.2.1:80")),
                endpoint("2001:db8::1", tcp("[2001:db8::1]:80")),
                endpoint("192.0.2.2", None),
            ],
        ),
        pool(
            "api.example.com.",
            vec![endpoint("192.0.2.1", tcp("192.0.2.1:80"))],
        ),
    ])
}

#[test]
fn everything_starts_healthy_and_undrained() {
    let set = set();
    assert!(set.states(0).iter().all(|s| s.healthy && !s.drained));
    let s = set.selections(0);
    assert_eq!(s.v4.addresses.len(), 2);
    assert_eq!(s.v6.addresses.len(), 1);
}

#[test]
fn targets_are_shared_across_pools() {
    let targets = set().targets();
    assert_eq!(targets.len(), 2, "{targets:?}");
}

#[test]
fn a_health_change_reaches_every_pool_checking_that_target_once() {
    let mut set = set();
    let target = tcp("192.0.2.1:80").unwrap();
    assert_eq!(set.set_health(&target, false), [0, 1]);
    assert_eq!(
        set.set_health(&target, false),
        Vec::<PoolId>::new(),
        "already down"
    );
    assert_eq!(
        set.selections(0).v4.addresses,
        ["192.0.2.2".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    assert!(set.selections(1).v4.is_nodata(), "on_all_down = none");
    assert_eq!(set.set_health(&target, true), [0, 1]);
    assert_eq!(set.selections(1).v4.addresses.len(), 1);
}

#[test]
fn a_and_aaaa_are_chosen_independently() {
    let mut set = set();
    set.set_health(&tcp("[2001:db8::1]:80").unwrap(), false);
    let s = set.selections(0);
    // The v6 side is down and fails closed; the v4 side is untouched.
    assert!(s.v6.is_nodata());
    assert_eq!(s.v4.addresses.len(), 2);
    // A pool without v6 endpoints has NODATA for AAAA whatever their health, which the fast
    // path may then prepare (`Pool::absent_types`).
    assert!(set.selections(1).v6.is_nodata());
    let types = |owner: &str, endpoints| pool(owner, endpoints).absent_types().collect::<Vec<_>>();
    assert_eq!(
        types("api.example.com.", vec![endpoint("192.0.2.1", None)]),
        [hickory_proto::rr::RecordType::AAAA]
    );
    assert_eq!(
        types("v6.example.com.", vec![endpoint("2001:db8::1", None)]),
        [hickory_proto::rr::RecordType::A]
    );
    assert!(types(
        "www.example.com.",
        vec![endpoint("192.0.2.1", None), endpoint("2001:db8::1", None)]
    )
    .is_empty());
}

#[test]
fn drain_applies_to_every_pool_with_the_address_and_can_be_undone() {
    let mut set = set();
    let address = "192.0.2.1".parse().unwrap();
    assert_eq!(set.set_drained(address, true), Ok(vec![0, 1]));
    assert_eq!(set.drained().into_iter().collect::<Vec<_>>(), [address]);
    assert!(!set
        .selections(0)
        .v4
        .addresses
        .contains(&"192.0.2.1".parse().unwrap()));
    // The only endpoint of api: drained but healthy beats NODATA.
    assert_eq!(set.selections(1).v4.addresses.len(), 1);
    assert_eq!(set.set_drained(address, false), Ok(vec![0, 1]));
    assert!(set.drained().is_empty());
    let unknown = "198.51.100.1".parse().unwrap();
    assert_eq!(
        set.set_drained(unknown, true),
        Err(UnknownEndpoint(unknown))
    );
}
