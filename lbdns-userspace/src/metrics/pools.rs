//! What the pool metrics say about each endpoint of each pool: whether answers include it
//! (health and drain, as the pools use them) and what its health checks measured.

use std::net::IpAddr;

use super::histogram::Histogram;
use crate::health::TargetStatus;
use crate::pool::PoolSet;

/// One endpoint of one pool. An endpoint in several pools appears once per pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSample {
    /// The pool's owner name, as `www.example.com.`.
    pub pool: String,
    pub endpoint: IpAddr,
    /// As the pool uses it: the checker's last verdict, or always up without a check.
    pub healthy: bool,
    pub drained: bool,
    /// The endpoint's health check, once the checker runs it.
    pub check: Option<CheckSample>,
}

/// What the checker measured of one endpoint's target. Endpoints that check the same address
/// the same way share one target, so they show the same figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSample {
    pub latency: Histogram,
    pub transitions: u64,
}

/// Every endpoint of every pool in `pools`, with the figures of its target in `health`.
pub fn endpoints(pools: &PoolSet, health: &[TargetStatus]) -> Vec<EndpointSample> {
    let mut samples = Vec::new();
    for (id, pool) in pools.pools().iter().enumerate() {
        for (endpoint, state) in pool.endpoints.iter().zip(pools.states(id)) {
            let check = endpoint.target.as_ref().and_then(|target| {
                health
                    .iter()
                    .find(|status| &status.target == target)
                    .map(|status| CheckSample {
                        latency: status.latency.clone(),
                        transitions: status.transitions,
                    })
            });
            samples.push(EndpointSample {
                pool: pool.owner.to_ascii(),
                endpoint: endpoint.address,
                healthy: state.healthy,
                drained: state.drained,
                check,
            });
        }
    }
    samples
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hickory_proto::rr::Name;

    use super::*;
    use crate::metrics::histogram::CHECK_BOUNDS;
    use crate::pool::{Check, Endpoint, OnAllDown, Policy, Pool, Probe, Target};

    fn target(address: &str) -> Target {
        Target {
            address: address.parse().unwrap(),
            check: Check {
                probe: Probe::Tcp,
                interval: Duration::from_secs(5),
                timeout: Duration::from_secs(2),
                rise: 2,
                fall: 3,
            },
        }
    }

    fn pool(owner: &str, endpoints: &[(&str, Option<Target>)]) -> Pool {
        Pool {
            owner: Name::from_ascii(owner).unwrap(),
            ttl: 30,
            policy: Policy::RoundRobin,
            answers: None,
            on_all_down: OnAllDown::All,
            geo: None,
            endpoints: endpoints
                .iter()
                .map(|(address, target)| Endpoint {
                    address: address.parse().unwrap(),
                    weight: 1,
                    tier: 1,
                    target: target.clone(),
                    location: None,
                })
                .collect(),
        }
    }

    #[test]
    fn every_pool_endpoint_with_its_targets_figures() {
        let shared = target("198.18.0.1:80");
        let mut pools = PoolSet::new(vec![
            pool(
                "www.example.com.",
                &[
                    ("198.18.0.1", Some(shared.clone())),
                    ("198.18.0.2", None),
                    ("198.18.0.3", Some(target("198.18.0.3:80"))),
                ],
            ),
            pool("api.example.com.", &[("198.18.0.1", Some(shared.clone()))]),
        ]);
        pools.set_health(&shared, false);
        pools
            .set_drained("198.18.0.2".parse().unwrap(), true)
            .unwrap();
        let mut latency = Histogram::new(CHECK_BOUNDS);
        latency.observe(Duration::from_millis(3));
        let health = [TargetStatus {
            target: shared,
            up: false,
            last: None,
            streak: 3,
            checks: 1,
            failures: 3,
            transitions: 1,
            latency: latency.clone(),
        }];
        let samples = endpoints(&pools, &health);
        let checked = Some(CheckSample {
            latency,
            transitions: 1,
        });
        let sample = |pool: &str, endpoint: &str, healthy, drained, check| EndpointSample {
            pool: pool.to_owned(),
            endpoint: endpoint.parse().unwrap(),
            healthy,
            drained,
            check,
        };
        assert_eq!(
            samples,
            [
                sample(
                    "www.example.com.",
                    "198.18.0.1",
                    false,
                    false,
                    checked.clone()
                ),
                sample("www.example.com.", "198.18.0.2", true, true, None),
                // Its check has not started: no figures yet.
                sample("www.example.com.", "198.18.0.3", true, false, None),
                sample("api.example.com.", "198.18.0.1", false, false, checked),
            ]
        );
    }
}
