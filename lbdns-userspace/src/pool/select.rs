//! THE answer selection, shared by both paths: the socket path calls `Selection::answer` per
//! query; the XDP compiler copies a `Selection` into a map and the XDP program repeats the same
//! arithmetic (`schedule[k % len]`, then rotation). Whatever a pool answers is decided here.
//!
//! Semantics, for one address family of one pool:
//!
//! 1. *Active* endpoints are healthy, not drained by the administrator, and of weight > 0.
//!    The best (lowest) tier that has an active endpoint is answered: its active endpoints.
//! 2. If nothing is active but some drained endpoint (weight 0 or administratively drained)
//!    is healthy, the best tier of those is answered, with equal weights. So a drained endpoint
//!    is never answered while any undrained endpoint is up — in its tier or any other — but a
//!    drain never turns a pool dark while something healthy is left.
//! 3. If nothing is healthy, `on_all_down = all` answers steps 1–2 as if every endpoint were
//!    healthy; `none` answers NODATA.
//!
//! The eligible endpoints keep configuration order, and only the first `MAX_ADDRESSES` of them
//! are used (the XDP answer-set limit). Query `k` leads with `schedule[k % schedule.len()]`;
//! the other addresses follow in rotation, and `answers` cuts the list.

use super::model::{OnAllDown, Policy};
use crate::authority::Order;

/// The most addresses one family of a pool answers from: the XDP answer-set limit.
pub const MAX_ADDRESSES: usize = 16;
/// The longest weighted schedule: what one XDP answer set holds, so both paths share it.
/// Weights that do not fit are apportioned onto this many slots (within 1/32 of exact).
pub const MAX_SCHEDULE: usize = lbdns_common::limits::MAX_SCHEDULE;

/// One endpoint of one family as the selection sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<A> {
    pub address: A,
    pub weight: u32,
    pub tier: u32,
    pub healthy: bool,
    /// Administratively drained (`lbdns drain`); weight 0 drains too.
    pub drained: bool,
}

/// The per-pool rules the selection applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub policy: Policy,
    pub answers: Option<u8>,
    pub on_all_down: OnAllDown,
}

/// The compiled answer set of one family of one pool: everything a query needs besides its
/// counter. Empty `addresses` is NODATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection<A> {
    /// The eligible addresses in configuration order, at most `MAX_ADDRESSES`.
    pub addresses: Vec<A>,
    /// Indices into `addresses`: query `k` leads with `schedule[k % schedule.len()]`. At most
    /// `MAX_SCHEDULE` entries; empty only when `addresses` is.
    pub schedule: Vec<u8>,
    /// How many addresses a reply carries: between 1 and `addresses.len()`, 0 for NODATA.
    pub answers: u8,
}

impl<A: Copy> Selection<A> {
    /// Applies the module's semantics to one family's endpoints, in configuration order.
    pub fn compile(candidates: &[Candidate<A>], rule: Rule) -> Self {
        let mut chosen = eligible(candidates, false, rule.policy);
        if chosen.is_empty() && rule.on_all_down == OnAllDown::All {
            chosen = eligible(candidates, true, rule.policy);
        }
        chosen.truncate(MAX_ADDRESSES);
        let weights: Vec<u32> = chosen.iter().map(|&(_, weight)| weight).collect();
        let schedule = smooth_schedule(&reduce(&weights));
        // A cap of 0 would answer nothing while claiming data: it means 1.
        let answers = rule
            .answers
            .map_or(chosen.len(), |cap| usize::from(cap).max(1))
            .min(chosen.len());
        Self {
            addresses: chosen
                .iter()
                .map(|&(index, _)| candidates[index].address)
                .collect(),
            schedule,
            answers: u8::try_from(answers).expect("at most MAX_ADDRESSES"),
        }
    }

    pub fn is_nodata(&self) -> bool {
        self.addresses.is_empty()
    }

    /// The ordering rule both paths apply to `addresses`: this schedule and this cap.
    pub fn order(&self) -> Order {
        Order {
            schedule: self.schedule.clone(),
            cap: Some(u32::from(self.answers)),
        }
    }

    /// The addresses query number `k` is answered with, leading address first; what the
    /// socket path's `Order::span` and the XDP program compute, spelled out for the tests.
    #[cfg(test)]
    pub(crate) fn answer(&self, k: u64) -> impl Iterator<Item = A> + '_ {
        let span = self.order().span(k as usize, self.addresses.len());
        (0..span.count).map(move |i| self.addresses[(span.start + i) % self.addresses.len()])
    }
}

/// Steps 1 and 2, or with `assume_up` step 3's "as if healthy": (candidate index, weight) of
/// the eligible endpoints, in order.
fn eligible<A>(candidates: &[Candidate<A>], assume_up: bool, policy: Policy) -> Vec<(usize, u32)> {
    let up = |c: &Candidate<A>| assume_up || c.healthy;
    let active = |c: &Candidate<A>| up(c) && !c.drained && c.weight > 0;
    let weight = |c: &Candidate<A>| if policy.uses_weights() { c.weight } else { 1 };
    if let Some(tier) = candidates
        .iter()
        .filter(|c| active(c))
        .map(|c| c.tier)
        .min()
    {
        return candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| active(c) && c.tier == tier)
            .map(|(i, c)| (i, weight(c)))
            .collect();
    }
    match candidates.iter().filter(|c| up(c)).map(|c| c.tier).min() {
        Some(tier) => candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| up(c) && c.tier == tier)
            .map(|(i, _)| (i, 1))
            .collect(),
        None => Vec::new(),
    }
}

/// Weights divided by their gcd, and apportioned onto `MAX_SCHEDULE` slots if they still
/// sum to more. Every weight here is at least 1.
///
/// Precision: while the reduced weights sum to at most `MAX_SCHEDULE` (32) the schedule is
/// exact (3:1, 1:2:7, 5:1:1 all are). Above that, each endpoint's leading share is rounded to a
/// multiple of 1/32 (within 1/32 of exact), except that an endpoint whose share is below 1/32
/// still gets one slot, the others giving up those slots in proportion to their weights.
fn reduce(weights: &[u32]) -> Vec<u64> {
    let reduced = divide_by_gcd(weights.iter().map(|&w| u64::from(w)).collect());
    if reduced.iter().sum::<u64>() <= MAX_SCHEDULE as u64 {
        return reduced;
    }
    divide_by_gcd(apportion(&reduced, MAX_SCHEDULE as u64))
}

fn divide_by_gcd(weights: Vec<u64>) -> Vec<u64> {
    let divisor = weights.iter().fold(0, |g, &w| gcd(g, w)).max(1);
    weights.into_iter().map(|w| w / divisor).collect()
}

/// Largest-remainder (Hamilton) apportionment of `slots` in proportion to `weights`, where a
/// weight whose quota is under one slot is given exactly one and the rest share what is left.
/// Needs `weights.len() <= slots`.
fn apportion(weights: &[u64], slots: u64) -> Vec<u64> {
    let mut raised = vec![false; weights.len()];
    let (free, total) = loop {
        let free = slots - raised.iter().filter(|&&r| r).count() as u64;
        let total: u64 = (0..weights.len())
            .filter(|&i| !raised[i])
            .map(|i| weights[i])
            .sum();
        // quota = w * free / total < 1
        let small: Vec<usize> = (0..weights.len())
            .filter(|&i| {
                !raised[i] && u128::from(weights[i]) * u128::from(free) < u128::from(total)
            })
            .collect();
        if small.is_empty() {
            break (free, total);
        }
        for i in small {
            raised[i] = true;
        }
    };
    // Exact quota = floor + remainder / total, kept in integers to stay deterministic.
    let quota = |w: u64| {
        let scaled = u128::from(w) * u128::from(free);
        let total = u128::from(total);
        ((scaled / total) as u64, (scaled % total) as u64)
    };
    let mut result: Vec<u64> = (0..weights.len())
        .map(|i| if raised[i] { 1 } else { quota(weights[i]).0 })
        .collect();
    let mut order: Vec<usize> = (0..weights.len()).filter(|&i| !raised[i]).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(quota(weights[i]).1), i));
    let left = slots - result.iter().sum::<u64>();
    for &i in order.iter().take(left as usize) {
        result[i] += 1;
    }
    result
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Smooth weighted round-robin: every step each endpoint gains its weight, the one with the
/// most (first on ties) is picked and pays the total. Over `sum(weights)` steps each index
/// appears exactly `weight` times, spread out rather than bunched, and equal weights give
/// `0, 1, …, n-1`: plain rotation.
fn smooth_schedule(weights: &[u64]) -> Vec<u8> {
    let total: u64 = weights.iter().sum();
    let total = i64::try_from(total).expect("at most MAX_SCHEDULE");
    let mut current = vec![0i64; weights.len()];
    (0..total)
        .map(|_| {
            for (c, &w) in current.iter_mut().zip(weights) {
                *c += w as i64;
            }
            let best = (0..current.len())
                .max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
                .expect("non-empty when total > 0");
            current[best] -= total;
            u8::try_from(best).expect("at most MAX_ADDRESSES")
        })
        .collect()
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
