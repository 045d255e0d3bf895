//! Load-balanced pools: names whose A and AAAA answers come from a set of endpoints, chosen
//! by policy, weight, tier, health and administrative drain, instead of from the zone.
//!
//! Pure, no I/O: `config` validates the `[[pool]]` entries into the `model`; `select` is the
//! one definition of what a pool answers, shared by the socket and XDP paths (`geo` adds
//! the per-location answers of `policy = "geo"` pools); `state` keeps
//! the endpoints' health and drain flags and recompiles selections when they change; `status`
//! shows them for `lbdns status`. The probing lives in `crate::health`.

mod config;
mod geo;
mod model;
mod select;
mod state;
mod status;

pub use config::{
    validate, BadCheckAddress, BadDuration, CheckAddress, CheckEntry, CheckKind, ConfigDuration,
    EndpointEntry, Placement, PoolConfigError, PoolEntry, Source, Zones, DEFAULT_FALL,
    DEFAULT_INTERVAL, DEFAULT_RISE, DEFAULT_STATUS, DEFAULT_TIER, DEFAULT_TIMEOUT, DEFAULT_TTL,
    DEFAULT_WEIGHT,
};
pub use geo::GeoSelections;
pub use model::{
    Check, Endpoint, GeoPool, HttpProbe, OnAllDown, Policy, Pool, Probe, Target, MAX_BODY,
};
pub use select::{Candidate, Rule, Selection, MAX_ADDRESSES, MAX_SCHEDULE};
pub use state::{EndpointState, PoolId, PoolSet, Selections, UnknownEndpoint};
pub use status::{status, status_json};
