//! Pools at run time: checking them against the served zones, and turning their endpoints'
//! state into the answers both paths give. Pure; `serve` decides when to apply them.

use std::fmt::Write as _;

use hickory_proto::rr::{LowerName, Name, RecordType};

use crate::authority::{Catalog, Order, PoolAnswers, Rdata, Rrset};
use crate::health::TargetStatus;
use crate::pool::{Placement, PoolSet, Selection, Zones};

/// The served zones, as pool validation asks about them.
#[derive(Debug)]
pub struct CatalogZones<'a>(pub &'a Catalog);

impl Zones for CatalogZones<'_> {
    fn placement(&self, owner: &Name) -> Placement {
        let Some(zone) = self.0.zone_for(owner) else {
            return Placement::Outside;
        };
        if let Some((cut, _)) = zone.cut_above(owner, true) {
            return Placement::Delegated {
                cut: Name::from(&cut),
            };
        }
        let node = zone.node(&LowerName::new(owner));
        if node.is_some_and(|node| node.get(RecordType::CNAME).is_some()) {
            return Placement::Cname;
        }
        if zone.has_dnskey() {
            return Placement::Signed {
                zone: zone.origin.clone(),
            };
        }
        Placement::Authoritative
    }
}

/// What every pool answers in the state `pools` describes.
pub fn answers(pools: &PoolSet) -> PoolAnswers {
    let mut answers = PoolAnswers::default();
    for (id, pool) in pools.pools().iter().enumerate() {
        let selections = pools.selections(id);
        let mut set = |rtype, selection: Option<(Vec<Rdata>, Order)>| {
            if let Some((rdatas, order)) = selection {
                answers.set(Rrset::new(
                    pool.owner.clone(),
                    rtype,
                    pool.ttl,
                    rdatas,
                    order,
                ));
            }
        };
        set(RecordType::A, rdatas(&selections.v4, Rdata::A));
        set(RecordType::AAAA, rdatas(&selections.v6, Rdata::Aaaa));
    }
    answers
}

/// The records and order of one family's selection; `None` (NODATA) when it has no addresses.
fn rdatas<T: Copy>(
    selection: &Selection<T>,
    rdata: impl Fn(T) -> Rdata,
) -> Option<(Vec<Rdata>, Order)> {
    (!selection.is_nodata()).then(|| {
        (
            selection.addresses.iter().map(|&a| rdata(a)).collect(),
            selection.order(),
        )
    })
}

/// `lbdns status`: every pool, its endpoints, their health and last check, and the checker's
/// counters, as a plain-text table.
pub fn status(pools: &PoolSet, health: &[TargetStatus]) -> String {
    let mut out = String::new();
    for (id, pool) in pools.pools().iter().enumerate() {
        let _ = writeln!(
            out,
            "pool {} policy={:?} ttl={} answers={} on_all_down={:?}",
            pool.owner,
            pool.policy,
            pool.ttl,
            pool.answers.map_or("all".to_owned(), |n| n.to_string()),
            pool.on_all_down,
        );
        for (endpoint, state) in pool.endpoints.iter().zip(pools.states(id)) {
            let health_line = match endpoint.target.as_ref() {
                None => "no check".to_owned(),
                Some(target) => match health.iter().find(|s| &s.target == target) {
                    None => format!("check {}: not started", target.address),
                    Some(status) => describe(status),
                },
            };
            let _ = writeln!(
                out,
                "  {:<39} weight={:<3} tier={:<2} {} {} {}",
                endpoint.address,
                endpoint.weight,
                endpoint.tier,
                if state.healthy { "up  " } else { "down" },
                if state.drained { "drained" } else { "active " },
                health_line,
            );
        }
    }
    if out.is_empty() {
        out.push_str("no pools configured\n");
    }
    out
}

fn describe(status: &TargetStatus) -> String {
    let last = match &status.last {
        None => "no check yet".to_owned(),
        Some(last) => {
            let age = format!("{:.1}s ago", last.at.elapsed().as_secs_f64());
            let result = match &last.result {
                Ok(()) => "ok".to_owned(),
                Err(failure) => failure.to_string(),
            };
            format!("{result} {age}")
        }
    };
    format!(
        "check {}: {last}; checks={} failures={} transitions={}",
        status.target.address, status.checks, status.failures, status.transitions
    )
}
