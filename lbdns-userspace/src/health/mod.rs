//! Health checking: probes (`probe`) on a schedule per distinct target, with rise/fall
//! (`checker`). Async on tokio; everything it decides leaves as a `HealthChange` on a channel,
//! which the caller applies to `pool::PoolSet` and publishes.

mod checker;
mod probe;

pub use checker::{Checker, HealthChange, LastCheck, Reason, TargetStatus};
pub use probe::Failure;

#[cfg(test)]
mod tests;
