//! The health checker: one task per distinct target, probing on a jittered interval, turning
//! results into up/down with rise/fall, and pushing every transition at once down a channel
//! (the caller republishes the affected pools, so a verdict reaches the XDP maps without
//! waiting for any poll).

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::probe::{probe, Failure};
use crate::metrics::histogram::{Histogram, CHECK_BOUNDS};
use crate::pool::Target;

/// A target went down or came back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    pub target: Target,
    pub up: bool,
    pub reason: Reason,
}

/// Why a transition happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// `consecutive` failures in a row (the check's `fall`), the last for this reason.
    Failed { failure: Failure, consecutive: u32 },
    /// `consecutive` successes in a row (the check's `rise`).
    Passed { consecutive: u32 },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Failed {
                failure,
                consecutive,
            } => write!(f, "{failure} ({consecutive} failed in a row)"),
            Reason::Passed { consecutive } => write!(f, "{consecutive} passed in a row"),
        }
    }
}

/// The outcome of the most recent probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCheck {
    /// When it started; `at.elapsed()` is its age.
    pub at: Instant,
    pub took: Duration,
    pub result: Result<(), Failure>,
}

/// What `lbdns status` shows for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetStatus {
    pub target: Target,
    /// Starts up: a target is healthy until checks prove otherwise.
    pub up: bool,
    /// `None` until the first probe, which the start-up jitter delays by up to an interval.
    pub last: Option<LastCheck>,
    /// How many probes in a row had the last probe's outcome (success or failure).
    pub streak: u32,
    pub checks: u64,
    pub failures: u64,
    pub transitions: u64,
    /// How long every probe took, for the metrics page.
    pub latency: Histogram,
}

impl TargetStatus {
    fn new(target: Target) -> Self {
        Self {
            target,
            up: true,
            last: None,
            streak: 0,
            checks: 0,
            failures: 0,
            transitions: 0,
            latency: Histogram::new(CHECK_BOUNDS),
        }
    }

    /// Counts one probe; returns the transition it causes, if any.
    fn record(&mut self, check: LastCheck) -> Option<HealthChange> {
        let ok = check.result.is_ok();
        let same = self.last.as_ref().is_some_and(|l| l.result.is_ok() == ok);
        self.streak = if same { self.streak + 1 } else { 1 };
        self.checks += 1;
        self.failures += u64::from(!ok);
        self.latency.observe(check.took);
        let reason = match &check.result {
            Err(failure) if self.up && self.streak >= self.target.check.fall => Reason::Failed {
                failure: failure.clone(),
                consecutive: self.streak,
            },
            Ok(()) if !self.up && self.streak >= self.target.check.rise => Reason::Passed {
                consecutive: self.streak,
            },
            _ => {
                self.last = Some(check);
                return None;
            }
        };
        self.last = Some(check);
        self.up = ok;
        self.transitions += 1;
        Some(HealthChange {
            target: self.target.clone(),
            up: ok,
            reason,
        })
    }
}

/// The running checks. Dropping it stops them.
#[derive(Debug)]
pub struct Checker {
    running: BTreeMap<Target, Running>,
    changes: UnboundedSender<HealthChange>,
}

#[derive(Debug)]
struct Running {
    task: JoinHandle<()>,
    status: Arc<Mutex<TargetStatus>>,
}

impl Checker {
    /// Starts checking every distinct target (duplicates share one task). Transitions are
    /// sent on `changes` as they happen. Must be called inside a tokio runtime.
    pub fn start(
        targets: impl IntoIterator<Item = Target>,
        changes: UnboundedSender<HealthChange>,
    ) -> Self {
        let mut checker = Self {
            running: BTreeMap::new(),
            changes,
        };
        checker.set_targets(targets);
        checker
    }

    /// Makes the checked set `targets` (after a reload): targets still wanted keep their task
    /// and state, new ones start up, the rest stop.
    pub fn set_targets(&mut self, targets: impl IntoIterator<Item = Target>) {
        let wanted: BTreeSet<Target> = targets.into_iter().collect();
        self.running.retain(|target, running| {
            let keep = wanted.contains(target);
            if !keep {
                running.task.abort();
            }
            keep
        });
        for target in wanted {
            if self.running.contains_key(&target) {
                continue;
            }
            let status = Arc::new(Mutex::new(TargetStatus::new(target.clone())));
            let task = tokio::spawn(run(target.clone(), status.clone(), self.changes.clone()));
            self.running.insert(target, Running { task, status });
        }
    }

    /// Takes `up` as the last verdict for `target` (the last process's, after a restart), so
    /// that checks move it on from there with their rise and fall counts.
    pub fn assume(&mut self, target: &Target, up: bool) {
        if let Some(running) = self.running.get(target) {
            lock(&running.status).up = up;
        }
    }

    /// The state of every target, in target order.
    pub fn snapshot(&self) -> Vec<TargetStatus> {
        self.running
            .values()
            .map(|running| lock(&running.status).clone())
            .collect()
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        for running in self.running.values() {
            running.task.abort();
        }
    }
}

/// A poisoned lock only means a task panicked mid-update of plain counters: still readable.
fn lock(status: &Mutex<TargetStatus>) -> MutexGuard<'_, TargetStatus> {
    status
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Probes `target` forever. The first probe comes at a random point of the first interval and
/// each later one 90–110% of an interval after the previous started, so that targets added
/// together (every endpoint at start-up) do not probe in lockstep.
async fn run(
    target: Target,
    status: Arc<Mutex<TargetStatus>>,
    changes: UnboundedSender<HealthChange>,
) {
    let interval = target.check.interval;
    let mut next = Instant::now() + interval.mul_f64(random_unit());
    loop {
        tokio::time::sleep_until(next).await;
        let at = Instant::now();
        let result = probe(&target).await;
        let took = at.elapsed();
        if let Err(failure) = &result {
            tracing::debug!(%target, %failure, "health check failed");
        }
        let change = lock(&status).record(LastCheck { at, took, result });
        if let Some(change) = change {
            if change.up {
                tracing::info!(%target, reason = %change.reason, "health: up");
            } else {
                tracing::warn!(%target, reason = %change.reason, "health: down");
            }
            // A closed channel means the daemon is shutting down; the task is aborted next.
            let _ = changes.send(change);
        }
        next = at + interval.mul_f64(0.9 + 0.2 * random_unit());
    }
}

/// A uniform number in [0, 1) for jitter. `RandomState` is randomly keyed per thread and
/// re-keyed on every call, which is plenty for spreading probes and needs no extra crate.
fn random_unit() -> f64 {
    let bits = RandomState::new().hash_one(0u8) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
#[path = "checker_tests.rs"]
mod tests;
