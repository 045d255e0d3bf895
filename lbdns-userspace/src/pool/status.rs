//! `lbdns status`: the pools, their endpoints' health and drains, as text and as JSON.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::{PoolSet, Selections};
use crate::health::TargetStatus;

/// `lbdns status`: every pool, its endpoints, their health and last check, and the checker's
/// counters, as a plain-text table.
pub fn status(pools: &PoolSet, health: &[TargetStatus]) -> String {
    let mut out = String::new();
    for (id, pool) in pools.pools().iter().enumerate() {
        let _ = writeln!(
            out,
            "pool {} policy={} ttl={} answers={} on_all_down={}",
            pool.owner,
            pool.policy.name(),
            pool.ttl,
            pool.answers.map_or("all".to_owned(), |n| n.to_string()),
            pool.on_all_down.name(),
        );
        for (endpoint, state) in pool.endpoints.iter().zip(pools.states(id)) {
            let health_line = match endpoint.target.as_ref() {
                None => "no check".to_owned(),
                Some(target) => match health.iter().find(|s| &s.target == target) {
                    None => format!("check {}: not started", target.address),
                    Some(status) => describe(status),
                },
            };
            let location = endpoint
                .location
                .zip(pool.geo.as_ref())
                .map(|(l, geo)| format!("location={} ", geo.locations.name(l)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<39} {location}weight={:<3} tier={:<2} {} {} {}",
                endpoint.address,
                endpoint.weight,
                endpoint.tier,
                if state.healthy { "up  " } else { "down" },
                if state.drained { "drained" } else { "active " },
                health_line,
            );
        }
        if let (Some(geo), Some(settings)) = (pools.geo_selections(id), &pool.geo) {
            for (location, selections) in settings.locations.ids().zip(&geo.by_location) {
                let name = format!("location {}", settings.locations.name(location));
                let _ = writeln!(out, "  {name:<39} answers {}", answered(selections));
            }
            let unmapped = match settings.default_location {
                Some(l) => format!("unmapped (as {})", settings.locations.name(l)),
                None => "unmapped".to_owned(),
            };
            let _ = writeln!(out, "  {unmapped:<39} answers {}", answered(&geo.unmapped));
        }
    }
    if out.is_empty() {
        out.push_str("no pools configured\n");
    }
    out
}

/// `lbdns status --json`: what [`status`] shows, as one object with a `pools` array. Values use
/// the configuration's spellings; `answers` is a number or `"all"`, as in the configuration.
pub fn status_json(pools: &PoolSet, health: &[TargetStatus]) -> Value {
    let pools_json: Vec<Value> = pools
        .pools()
        .iter()
        .enumerate()
        .map(|(id, pool)| {
            let endpoints: Vec<Value> = pool
                .endpoints
                .iter()
                .zip(pools.states(id))
                .map(|(endpoint, state)| {
                    let check = endpoint.target.as_ref().map(|target| {
                        match health.iter().find(|s| &s.target == target) {
                            None => {
                                json!({ "target": target.address.to_string(), "started": false })
                            }
                            Some(status) => check_json(status),
                        }
                    });
                    json!({
                        "address": endpoint.address.to_string(),
                        "location": endpoint.location.zip(pool.geo.as_ref()).map(|(l, geo)| geo.locations.name(l)),
                        "weight": endpoint.weight,
                        "tier": endpoint.tier,
                        "healthy": state.healthy,
                        "drained": state.drained,
                        "check": check,
                    })
                })
                .collect();
            json!({
                "owner": pool.owner.to_string(),
                "policy": pool.policy.name(),
                "ttl": pool.ttl,
                "answers": pool.answers.map_or(json!("all"), |n| json!(n)),
                "on_all_down": pool.on_all_down.name(),
                "endpoints": endpoints,
                "locations": locations_json(pools, id),
            })
        })
        .collect();
    json!({ "pools": pools_json })
}

/// A geo pool's answer per location and for unmapped clients; `null` for other pools.
fn locations_json(pools: &PoolSet, id: usize) -> Value {
    let (Some(geo), Some(settings)) = (pools.geo_selections(id), &pools.pools()[id].geo) else {
        return Value::Null;
    };
    let answer = |s: &Selections| {
        json!({
            "a": s.v4.addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "aaaa": s.v6.addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    };
    let mut by_name = serde_json::Map::new();
    for (location, selections) in settings.locations.ids().zip(&geo.by_location) {
        by_name.insert(
            settings.locations.name(location).to_owned(),
            answer(selections),
        );
    }
    json!({
        "by_location": by_name,
        "unmapped": answer(&geo.unmapped),
        "default_location": settings.default_location.map(|l| settings.locations.name(l)),
    })
}

/// What one pair of selections answers: `A a b AAAA c`, `-` for NODATA.
fn answered(selections: &Selections) -> String {
    let list = |addresses: Vec<String>| match addresses.is_empty() {
        true => "-".to_owned(),
        false => addresses.join(" "),
    };
    format!(
        "A {} AAAA {}",
        list(
            selections
                .v4
                .addresses
                .iter()
                .map(ToString::to_string)
                .collect()
        ),
        list(
            selections
                .v6
                .addresses
                .iter()
                .map(ToString::to_string)
                .collect()
        ),
    )
}

fn check_json(status: &TargetStatus) -> Value {
    let last = status.last.as_ref().map(|last| {
        json!({
            "ok": last.result.is_ok(),
            "error": last.result.as_ref().err().map(ToString::to_string),
            "age_seconds": last.at.elapsed().as_secs_f64(),
        })
    });
    json!({
        "target": status.target.address.to_string(),
        "started": true,
        "last": last,
        "checks": status.checks,
        "failures": status.failures,
        "transitions": status.transitions,
    })
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
