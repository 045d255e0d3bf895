//! Secondary zones: zones whose data a primary sends us by zone transfer (RFC 5936 AXFR,
//! RFC 1995 IXFR), refreshed on the SOA's timers (RFC 1035 §4.3.5) and on NOTIFY (RFC 1996),
//! kept on disk so a restart serves at once.
//!
//! Start-up reads each kept copy and its state (`kept`): an unexpired copy is served at once,
//! otherwise the zone answers SERVFAIL. `Secondaries::update` then starts a task per zone
//! (`task`), which refreshes at once and then on the SOA's timers (`timers`, bounded by
//! `[secondary]`), primaries in order; a transfer goes into service through
//! `Served::replace_zone` (AXFR) or `Served::patch_zone` (IXFR), then the copy and its state
//! (`state`) are written, the copy from the index served: a task holds the zone's index, not
//! its records. A copy past its
//! expiry is withdrawn (`Served::withdraw_zone`: SERVFAIL). A reload keeps the zones whose
//! configuration did not change as they are.

pub mod config;
pub mod kept;
pub mod notify;
pub mod primaries;
pub mod registry;
pub mod state;
pub mod status;
pub mod task;
pub mod timers;
pub mod transfer;

pub use registry::{Configured, Handle, Secondaries};
pub use task::Context;
pub use transfer::{Fetched, Held, Transfer};

#[cfg(test)]
mod tests;
