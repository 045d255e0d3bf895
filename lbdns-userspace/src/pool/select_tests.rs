use std::net::Ipv4Addr;

use super::*;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, last)
}

/// A healthy, undrained endpoint 192.0.2.`last`.
fn up(last: u8, weight: u32, tier: u32) -> Candidate<Ipv4Addr> {
    Candidate {
        address: ip(last),
        weight,
        tier,
        healthy: true,
        drained: false,
    }
}

fn down(last: u8, weight: u32, tier: u32) -> Candidate<Ipv4Addr> {
    Candidate {
        healthy: false,
        ..up(last, weight, tier)
    }
}

fn rule(policy: Policy) -> Rule {
    Rule {
        policy,
        answers: None,
        on_all_down: OnAllDown::All,
    }
}

fn answer(selection: &Selection<Ipv4Addr>, k: u64) -> Vec<u8> {
    selection.answer(k).map(|a| a.octets()[3]).collect()
}

/// How often each address leads over `queries` successive queries.
fn leads(selection: &Selection<Ipv4Addr>, queries: u64) -> Vec<(u8, u64)> {
    let mut counts: Vec<(u8, u64)> = Vec::new();
    for k in 0..queries {
        let lead = selection.answer(k).next().unwrap().octets()[3];
        match counts.iter_mut().find(|(a, _)| *a == lead) {
            Some((_, n)) => *n += 1,
            None => counts.push((lead, 1)),
        }
    }
    counts.sort_unstable();
    counts
}

#[test]
fn weighted_3_to_1_leads_exactly_75_percent_over_4000_queries() {
    let s = Selection::compile(&[up(1, 3, 1), up(2, 1, 1)], rule(Policy::Weighted));
    assert_eq!(s.schedule, [0, 0, 1, 0]);
    assert_eq!(leads(&s, 4000), [(1, 3000), (2, 1000)]);
}

#[test]
fn weighted_schedule_is_smooth_like_nginx_documents() {
    // 5:1:1 spreads the light ones out: a a b a c a a, not a a a a a b c.
    let s = Selection::compile(
        &[up(1, 5, 1), up(2, 1, 1), up(3, 1, 1)],
        rule(Policy::Weighted),
    );
    assert_eq!(s.schedule, [0, 0, 1, 0, 2, 0, 0]);
}

#[test]
fn weighted_rest_follow_in_rotation_after_the_leading_address() {
    let s = Selection::compile(
        &[up(1, 1, 1), up(2, 2, 1), up(3, 1, 1)],
        rule(Policy::Weighted),
    );
    for k in 0..8 {
        let got = answer(&s, k);
        let lead = usize::from(s.schedule[(k % s.schedule.len() as u64) as usize]);
        let want: Vec<u8> = (0..3).map(|i| [1, 2, 3][(lead + i) % 3]).collect();
        assert_eq!(got, want, "query {k}");
    }
}

#[test]
fn weights_reduce_by_their_gcd() {
    let s = Selection::compile(&[up(1, 300, 1), up(2, 100, 1)], rule(Policy::Weighted));
    assert_eq!(s.schedule, [0, 0, 1, 0]);
}

#[test]
fn round_robin_rotates_exactly_as_a_plain_rrset() {
    // A plain RRset answers query k starting at record k mod n, the rest in order.
    let candidates = [up(1, 1, 1), up(2, 1, 1), up(3, 1, 1), up(4, 1, 1)];
    let s = Selection::compile(&candidates, rule(Policy::RoundRobin));
    for k in 0..12u64 {
        let start = (k % 4) as usize;
        let plain: Vec<u8> = (0..4).map(|i| [1, 2, 3, 4][(start + i) % 4]).collect();
        assert_eq!(answer(&s, k), plain, "query {k}");
    }
}

#[test]
fn round_robin_ignores_weights_and_equal_weights_are_round_robin() {
    let rr = Selection::compile(
        &[up(1, 1, 1), up(2, 1, 1), up(3, 1, 1)],
        rule(Policy::RoundRobin),
    );
    let weighted = Selection::compile(
        &[up(1, 4, 1), up(2, 4, 1), up(3, 4, 1)],
        rule(Policy::Weighted),
    );
    assert_eq!(rr.schedule, [0, 1, 2]);
    assert_eq!(rr, weighted);
}

#[test]
fn unhealthy_endpoints_are_never_answered() {
    let s = Selection::compile(
        &[up(1, 1, 1), down(2, 1, 1), up(3, 1, 1)],
        rule(Policy::RoundRobin),
    );
    assert_eq!(s.addresses, [ip(1), ip(3)]);
    for k in 0..10 {
        assert!(!answer(&s, k).contains(&2));
    }
}

#[test]
fn failover_moves_to_tier_2_only_when_tier_1_is_entirely_down() {
    let policy = rule(Policy::Failover);
    let both = Selection::compile(&[up(1, 1, 1), up(2, 1, 1), up(3, 1, 2)], policy);
    assert_eq!(both.addresses, [ip(1), ip(2)]);
    let one_left = Selection::compile(&[down(1, 1, 1), up(2, 1, 1), up(3, 1, 2)], policy);
    assert_eq!(one_left.addresses, [ip(2)]);
    let tier_down = Selection::compile(
        &[down(1, 1, 1), down(2, 1, 1), up(3, 1, 2), up(4, 1, 3)],
        policy,
    );
    assert_eq!(tier_down.addresses, [ip(3)]);
    // Tiers are ranked by number, not by where they appear in the file.
    let reordered = Selection::compile(&[up(3, 1, 2), up(1, 1, 1)], policy);
    assert_eq!(reordered.addresses, [ip(1)]);
}

#[test]
fn failover_weights_apply_inside_the_tier() {
    let s = Selection::compile(
        &[up(1, 3, 1), up(2, 1, 1), up(3, 9, 2)],
        rule(Policy::Failover),
    );
    assert_eq!(leads(&s, 400), [(1, 300), (2, 100)]);
}

#[test]
fn drained_endpoints_are_not_answered_while_an_undrained_one_is_up() {
    let admin_drained = Candidate {
        drained: true,
        ..up(2, 1, 1)
    };
    for policy in [Policy::RoundRobin, Policy::Weighted, Policy::Failover] {
        let weight_zero = Selection::compile(&[up(1, 1, 1), up(2, 0, 1)], rule(policy));
        assert_eq!(weight_zero.addresses, [ip(1)], "{policy:?}");
        let drained = Selection::compile(&[up(1, 1, 1), admin_drained], rule(policy));
        assert_eq!(drained.addresses, [ip(1)], "{policy:?}");
    }
    // Nor while another tier has an undrained endpoint up: a drain moves traffic away, and
    // failover is where it goes.
    let s = Selection::compile(
        &[down(1, 1, 1), admin_drained, up(3, 1, 2)],
        rule(Policy::Failover),
    );
    assert_eq!(s.addresses, [ip(3)]);
}

#[test]
fn drained_endpoints_are_answered_when_nothing_undrained_is_healthy() {
    let drained = |last| Candidate {
        drained: true,
        ..up(last, 5, 1)
    };
    // Healthy drained beats dead undrained, even with on_all_down = none; equal weights.
    let closed = Rule {
        on_all_down: OnAllDown::None,
        ..rule(Policy::Weighted)
    };
    let s = Selection::compile(&[down(1, 1, 1), drained(2), up(3, 0, 1)], closed);
    assert_eq!(s.addresses, [ip(2), ip(3)]);
    assert_eq!(s.schedule, [0, 1]);
}

#[test]
fn on_all_down_all_answers_as_if_everything_were_healthy() {
    let candidates = [down(1, 1, 1), down(2, 1, 1), down(3, 1, 2), down(4, 0, 1)];
    let s = Selection::compile(&candidates, rule(Policy::Failover));
    assert_eq!(s.addresses, [ip(1), ip(2)]);
    assert!(!s.is_nodata());
}

#[test]
fn on_all_down_none_is_nodata() {
    let closed = Rule {
        on_all_down: OnAllDown::None,
        ..rule(Policy::RoundRobin)
    };
    let s = Selection::compile(&[down(1, 1, 1), down(2, 1, 1)], closed);
    assert!(s.is_nodata());
    assert!(s.schedule.is_empty());
    assert_eq!(s.answers, 0);
    assert_eq!(s.answer(7).count(), 0);
    // No endpoints of the family at all is NODATA whatever on_all_down says.
    assert!(Selection::<Ipv4Addr>::compile(&[], rule(Policy::RoundRobin)).is_nodata());
}

#[test]
fn answers_caps_the_reply_to_the_leading_address_and_the_next_ones() {
    let capped = Rule {
        answers: Some(2),
        ..rule(Policy::RoundRobin)
    };
    let s = Selection::compile(&[up(1, 1, 1), up(2, 1, 1), up(3, 1, 1)], capped);
    assert_eq!(answer(&s, 0), [1, 2]);
    assert_eq!(answer(&s, 2), [3, 1]);
    let more_than_there_are = Rule {
        answers: Some(9),
        ..rule(Policy::RoundRobin)
    };
    assert_eq!(
        Selection::compile(&[up(1, 1, 1)], more_than_there_are).answers,
        1
    );
}

#[test]
fn more_than_16_eligible_keeps_the_first_16_in_configuration_order() {
    let candidates: Vec<_> = (1..=20).map(|i| up(i, 1, 1)).collect();
    let s = Selection::compile(&candidates, rule(Policy::Weighted));
    assert_eq!(s.addresses, (1..=16).map(ip).collect::<Vec<_>>());
    assert_eq!(s.answers, 16);
    // The cut applies after health: a dead one early on lets the 17th in.
    let mut candidates = candidates;
    candidates[0].healthy = false;
    let s = Selection::compile(&candidates, rule(Policy::Weighted));
    assert_eq!(s.addresses, (2..=17).map(ip).collect::<Vec<_>>());
}

#[test]
fn large_weights_are_apportioned_onto_the_schedule_within_one_slot() {
    // A deterministic spread of weight sets, small and huge, 1 to 16 endpoints.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..500 {
        let n = 1 + (next() % 16) as u8;
        let scale = [10, 1000, 1 << 20, u64::from(u32::MAX)][round % 4];
        let candidates: Vec<_> = (0..n)
            .map(|i| up(i, 1 + (next() % scale) as u32, 1))
            .collect();
        let s = Selection::compile(&candidates, rule(Policy::Weighted));
        let len = s.schedule.len();
        assert!(len <= MAX_SCHEDULE, "round {round}: {len}");
        let total: f64 = candidates.iter().map(|c| f64::from(c.weight)).sum();
        for (i, c) in candidates.iter().enumerate() {
            let slots = s.schedule.iter().filter(|&&e| usize::from(e) == i).count();
            assert!(slots >= 1, "round {round}: endpoint {i} never leads");
            let exact = f64::from(c.weight) / total;
            let got = slots as f64 / len as f64;
            // Within one slot, or raised to the one-slot minimum and the others' shares shrunk
            // by at most the slots so raised.
            let slot = 1.0 / MAX_SCHEDULE as f64;
            let raised = candidates
                .iter()
                .filter(|o| f64::from(o.weight) / total < slot)
                .count() as f64;
            assert!(
                (got - exact).abs() <= (1.0 + raised) * slot + 1e-9,
                "round {round}: endpoint {i} weight {} leads {got:.5}, configured {exact:.5}",
                c.weight
            );
        }
    }
}

#[test]
fn one_huge_and_fifteen_tiny_weights_keep_every_endpoint_at_least_one_slot() {
    let mut candidates = vec![up(0, u32::MAX, 1)];
    candidates.extend((1..16).map(|i| up(i, 1, 1)));
    let s = Selection::compile(&candidates, rule(Policy::Weighted));
    assert_eq!(s.schedule.len(), MAX_SCHEDULE);
    assert_eq!(
        s.schedule.iter().filter(|&&e| e == 0).count(),
        MAX_SCHEDULE - 15
    );
}
