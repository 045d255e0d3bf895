//! Geo pools (`policy = "geo"`): each endpoint serves a location, and a client gets the
//! endpoints of its own.
//!
//! For a client placed at location L, one family's answer is the first non-empty of:
//! 1. L's active endpoints, then those of each location in L's fallback order;
//! 2. any active endpoint of the pool;
//! 3. the same two steps with drained but healthy endpoints (a drain never turns a pool
//!    dark while something healthy is left, as in `select`);
//! 4. `on_all_down`: every endpoint as if healthy (`all`), or NODATA (`none`).
//!
//! Within a step `select` applies (weights, `answers`, the address limit). Clients in no
//! location take the pool's `default_location` as L, or without one skip to step 2: every
//! healthy endpoint. The answers are computed per location when health or drains change,
//! never per query.

use std::ops::Range;
use std::sync::Arc;

use toml::Spanned;

use super::config::{EndpointEntry, PoolConfigError, PoolEntry, Source};
use super::model::{GeoPool, OnAllDown, Policy};
use super::select::{Candidate, Rule, Selection};
use super::state::Selections;
use crate::geo::{LocationId, Locations};

/// A geo pool's answers: one pair of selections per location, and one for clients in none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoSelections {
    /// Indexed by `LocationId`.
    pub by_location: Vec<Selections>,
    pub unmapped: Selections,
}

/// One family's answer for a client whose locations to try are `order` (empty: a client in no
/// location, without a default); `locations` is parallel to `candidates`.
pub fn select<A: Copy>(
    candidates: &[Candidate<A>],
    locations: &[Option<LocationId>],
    order: &[LocationId],
    rule: Rule,
) -> Selection<A> {
    let strict = Rule {
        on_all_down: OnAllDown::None,
        ..rule
    };
    for active_only in [true, false] {
        let usable = |c: &Candidate<A>| c.healthy && (!active_only || (!c.drained && c.weight > 0));
        for &location in order {
            let here: Vec<Candidate<A>> = candidates
                .iter()
                .zip(locations)
                .filter(|(_, &l)| l == Some(location))
                .map(|(c, _)| *c)
                .collect();
            if here.iter().any(usable) {
                let selection = Selection::compile(&here, strict);
                if !selection.is_nodata() {
                    return selection;
                }
            }
        }
        if candidates.iter().any(usable) {
            let selection = Selection::compile(candidates, strict);
            if !selection.is_nodata() {
                return selection;
            }
        }
    }
    Selection::compile(candidates, rule)
}

/// The locations a client at `at` tries, in order: `at` (or the pool's default location)
/// and its fallbacks; nothing for a client in no location without a default.
pub fn order(pool: &GeoPool, at: Option<LocationId>) -> Vec<LocationId> {
    at.or(pool.default_location)
        .map(|l| pool.locations.order(l).collect())
        .unwrap_or_default()
}

/// Checks the geo fields of a `[[pool]]`: `default_location` and `ecs` only with `policy =
/// "geo"`, which needs `[[geo.location]]`s.
pub fn validate_pool(
    entry: &PoolEntry,
    policy: Policy,
    source: Source<'_>,
    locations: &Arc<Locations>,
) -> Result<Option<GeoPool>, PoolConfigError> {
    if policy != Policy::Geo {
        let stray = [
            (
                "pool.default_location",
                entry.default_location.as_ref().map(Spanned::span),
            ),
            ("pool.ecs", entry.ecs.as_ref().map(Spanned::span)),
        ];
        if let Some((field, span)) = stray.into_iter().find_map(|(f, s)| Some((f, s?))) {
            return Err(source.error(span, field, "only geo pools have it; use policy = \"geo\""));
        }
        return Ok(None);
    }
    if locations.is_empty() {
        let span = entry
            .policy
            .as_ref()
            .map_or(entry.name.span(), Spanned::span);
        return Err(source.error(
            span,
            "pool.policy",
            "a geo pool needs locations: define them with [[geo.location]]",
        ));
    }
    let default_location = match &entry.default_location {
        Some(name) => Some(location(name, "pool.default_location", source, locations)?),
        None => None,
    };
    Ok(Some(GeoPool {
        locations: locations.clone(),
        default_location,
        ecs: entry.ecs.as_ref().is_none_or(|e| *e.get_ref()),
    }))
}

/// An endpoint's `location`: required in geo pools, refused elsewhere.
pub fn validate_endpoint(
    entry: &EndpointEntry,
    geo: Option<&GeoPool>,
    source: Source<'_>,
) -> Result<Option<LocationId>, PoolConfigError> {
    match (geo, &entry.location) {
        (None, None) => Ok(None),
        (None, Some(name)) => Err(source.error(
            name.span(),
            "pool.endpoint.location",
            "only geo pools' endpoints have a location; use policy = \"geo\"",
        )),
        (Some(_), None) => Err(source.error(
            entry.address.span(),
            "pool.endpoint.location",
            format!("{} needs a location in a geo pool", entry.address.get_ref()),
        )),
        (Some(geo), Some(name)) => {
            location(name, "pool.endpoint.location", source, &geo.locations).map(Some)
        }
    }
}

fn location(
    name: &Spanned<String>,
    field: &'static str,
    source: Source<'_>,
    locations: &Locations,
) -> Result<LocationId, PoolConfigError> {
    let span: Range<usize> = name.span();
    locations.id(name.get_ref()).ok_or_else(|| {
        source.error(
            span,
            field,
            format!("no [[geo.location]] is named {:?}", name.get_ref()),
        )
    })
}

#[cfg(test)]
#[path = "geo_tests.rs"]
mod tests;
