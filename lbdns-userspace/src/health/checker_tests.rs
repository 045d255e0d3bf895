use std::time::Duration;

use super::*;
use crate::pool::{Check, Probe};

fn status(rise: u32, fall: u32) -> TargetStatus {
    TargetStatus::new(Target {
        address: "192.0.2.1:80".parse().unwrap(),
        check: Check {
            probe: Probe::Tcp,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise,
            fall,
        },
    })
}

/// Feeds results (`true` = success) and returns the `up` value after each.
fn feed(status: &mut TargetStatus, results: &[bool]) -> Vec<(bool, Option<Reason>)> {
    results
        .iter()
        .map(|&ok| {
            let result = if ok { Ok(()) } else { Err(Failure::Refused) };
            let change = status.record(LastCheck {
                at: Instant::now(),
                took: Duration::ZERO,
                result,
            });
            (status.up, change.map(|c| c.reason))
        })
        .collect()
}

#[test]
fn goes_down_on_the_fall_th_consecutive_failure_and_up_on_the_rise_th_success() {
    let mut s = status(2, 3);
    let failed = |n| {
        Some(Reason::Failed {
            failure: Failure::Refused,
            consecutive: n,
        })
    };
    let passed = |n| Some(Reason::Passed { consecutive: n });
    let steps = feed(
        &mut s,
        &[
            false, false, true, false, false, false, false, true, false, true, true,
        ],
    );
    assert_eq!(
        steps,
        [
            (true, None),
            (true, None),
            (true, None), // a success resets the failure count
            (true, None),
            (true, None),
            (false, failed(3)),
            (false, None), // already down: no second transition
            (false, None),
            (false, None), // a failure resets the success count
            (false, None),
            (true, passed(2)),
        ]
    );
    assert_eq!(
        (s.checks, s.failures, s.transitions, s.streak),
        (11, 7, 2, 2)
    );
}

#[test]
fn rise_and_fall_of_one_flip_on_every_change() {
    let mut s = status(1, 1);
    let ups: Vec<bool> = feed(&mut s, &[true, false, true, true, false])
        .into_iter()
        .map(|(up, _)| up)
        .collect();
    assert_eq!(ups, [true, false, true, true, false]);
    assert_eq!(s.transitions, 3);
}

#[test]
fn jitter_is_a_fraction_in_range_and_varies() {
    let draws: Vec<f64> = (0..1000).map(|_| random_unit()).collect();
    assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
    let low = draws.iter().filter(|&&d| d < 0.5).count();
    assert!((300..700).contains(&low), "{low} of 1000 below 0.5");
}
