//! The runtime state of every pool: which endpoints are healthy (as the health checker last
//! said) and which the administrator drained, and the selections that follow from them.
//! Pure: the caller feeds in health changes and drain commands and pushes the selections of
//! the pools that changed to the XDP maps and the socket path.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::geo::{self, GeoSelections};
use super::model::{Endpoint, Pool, Target};
use super::select::{Candidate, Rule, Selection};
use crate::geo::LocationId;

/// Index of a pool in the `PoolSet`, in configuration order.
pub type PoolId = usize;

/// What is known about one endpoint now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointState {
    /// Endpoints start up until a check proves otherwise, so a (re)start answers at once.
    pub healthy: bool,
    /// `lbdns drain ADDR`: answered as if its weight were 0.
    pub drained: bool,
}

/// One pool's answer sets, one per family, chosen independently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selections {
    pub v4: Selection<Ipv4Addr>,
    pub v6: Selection<Ipv6Addr>,
}

/// The drain command named an address no pool has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no pool has an endpoint {0}")]
pub struct UnknownEndpoint(pub IpAddr);

/// Every pool with its endpoints' state, indexed like the configuration.
#[derive(Debug, Clone)]
pub struct PoolSet {
    pools: Vec<Pool>,
    /// `states[pool][endpoint]`, parallel to `pools[pool].endpoints`.
    states: Vec<Vec<EndpointState>>,
}

impl PoolSet {
    /// Everything starts healthy and undrained.
    pub fn new(pools: Vec<Pool>) -> Self {
        let states = pools
            .iter()
            .map(|p| {
                vec![
                    EndpointState {
                        healthy: true,
                        drained: false
                    };
                    p.endpoints.len()
                ]
            })
            .collect();
        Self { pools, states }
    }

    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// The state of each endpoint of pool `id`, parallel to its `endpoints`.
    pub fn states(&self, id: PoolId) -> &[EndpointState] {
        &self.states[id]
    }

    /// Every distinct target, for the health checker. Endpoints of different pools that check
    /// the same address the same way appear once.
    pub fn targets(&self) -> BTreeSet<Target> {
        self.pools
            .iter()
            .flat_map(|p| &p.endpoints)
            .filter_map(|e| e.target.clone())
            .collect()
    }

    /// Applies a health verdict to every endpoint checked through `target`; returns the pools
    /// whose state changed (none if it was already so), whose selections need republishing.
    pub fn set_health(&mut self, target: &Target, healthy: bool) -> Vec<PoolId> {
        self.update(
            |endpoint| endpoint.target.as_ref() == Some(target),
            |state| state.healthy = healthy,
        )
    }

    /// Drains or undrains every endpoint with `address`, in every pool; returns the pools
    /// whose state changed.
    pub fn set_drained(
        &mut self,
        address: IpAddr,
        drained: bool,
    ) -> Result<Vec<PoolId>, UnknownEndpoint> {
        let known = self
            .pools
            .iter()
            .any(|p| p.endpoints.iter().any(|e| e.address == address));
        if !known {
            return Err(UnknownEndpoint(address));
        }
        Ok(self.update(|e| e.address == address, |state| state.drained = drained))
    }

    /// The drained addresses, so that a reload can carry the drains over to the new set.
    pub fn drained(&self) -> BTreeSet<IpAddr> {
        self.pools
            .iter()
            .zip(&self.states)
            .flat_map(|(p, s)| p.endpoints.iter().zip(s))
            .filter(|(_, s)| s.drained)
            .map(|(e, _)| e.address)
            .collect()
    }

    /// What pool `id` answers now, for A and for AAAA; for a geo pool, what a client in no
    /// location gets.
    pub fn selections(&self, id: PoolId) -> Selections {
        match self.geo_selections(id) {
            Some(geo) => geo.unmapped,
            None => {
                let (v4, _) = self.candidates(id, v4_of);
                let (v6, _) = self.candidates(id, v6_of);
                let rule = self.rule(id);
                Selections {
                    v4: Selection::compile(&v4, rule),
                    v6: Selection::compile(&v6, rule),
                }
            }
        }
    }

    /// What geo pool `id` answers now in each location; `None` if it is no geo pool.
    pub fn geo_selections(&self, id: PoolId) -> Option<GeoSelections> {
        let geo_pool = self.pools[id].geo.as_ref()?;
        let rule = self.rule(id);
        let (v4, v4_at) = self.candidates(id, v4_of);
        let (v6, v6_at) = self.candidates(id, v6_of);
        let at = |location: Option<LocationId>| {
            let order = geo::order(geo_pool, location);
            Selections {
                v4: geo::select(&v4, &v4_at, &order, rule),
                v6: geo::select(&v6, &v6_at, &order, rule),
            }
        };
        Some(GeoSelections {
            by_location: geo_pool.locations.ids().map(|l| at(Some(l))).collect(),
            unmapped: at(None),
        })
    }

    fn rule(&self, id: PoolId) -> Rule {
        let pool = &self.pools[id];
        Rule {
            policy: pool.policy,
            answers: pool.answers,
            on_all_down: pool.on_all_down,
        }
    }

    /// One family's endpoints of pool `id` with their state, in configuration order, and
    /// each one's location.
    fn candidates<A>(
        &self,
        id: PoolId,
        family: impl Fn(IpAddr) -> Option<A>,
    ) -> (Vec<Candidate<A>>, Vec<Option<LocationId>>) {
        self.pools[id]
            .endpoints
            .iter()
            .zip(&self.states[id])
            .filter_map(|(e, s)| {
                let candidate = Candidate {
                    address: family(e.address)?,
                    weight: e.weight,
                    tier: e.tier,
                    healthy: s.healthy,
                    drained: s.drained,
                };
                Some((candidate, e.location))
            })
            .unzip()
    }

    fn update(
        &mut self,
        matches: impl Fn(&Endpoint) -> bool,
        apply: impl Fn(&mut EndpointState),
    ) -> Vec<PoolId> {
        let mut changed = Vec::new();
        for (id, (pool, states)) in self.pools.iter().zip(&mut self.states).enumerate() {
            let mut touched = false;
            for (endpoint, state) in pool.endpoints.iter().zip(states.iter_mut()) {
                if matches(endpoint) {
                    let before = *state;
                    apply(state);
                    touched |= *state != before;
                }
            }
            if touched {
                changed.push(id);
            }
        }
        changed
    }
}

fn v4_of(address: IpAddr) -> Option<Ipv4Addr> {
    match address {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn v6_of(address: IpAddr) -> Option<Ipv6Addr> {
    match address {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
