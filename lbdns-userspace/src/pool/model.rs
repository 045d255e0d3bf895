//! The validated pool model: what `config::validate` produces and everything downstream (the
//! selection, the runtime state, the health checker) works from. Plain data, no I/O.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::{Name, RecordType};
use serde::Deserialize;

use crate::geo::{LocationId, Locations};

/// How a pool spreads its answers over the eligible endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Every eligible endpoint leads equally often, in turn, exactly as a plain RRset rotates.
    /// Weights only drain (0) or not (1).
    #[default]
    RoundRobin,
    /// Each eligible endpoint leads in proportion to its weight.
    Weighted,
    /// Priority tiers: only the best tier that has a healthy endpoint is answered, and inside
    /// it endpoints lead in proportion to their weights (equal weights: round-robin).
    Failover,
    /// By client location: the endpoints of the client's location (see `pool::geo`), leading
    /// in proportion to their weights (equal weights: round-robin).
    Geo,
}

impl Policy {
    /// The configuration's spelling, for `lbdns status`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::RoundRobin => "round-robin",
            Policy::Weighted => "weighted",
            Policy::Failover => "failover",
            Policy::Geo => "geo",
        }
    }

    /// Whether weights other than 0 and 1 mean anything under this policy.
    pub fn uses_weights(self) -> bool {
        !matches!(self, Policy::RoundRobin)
    }
}

/// What a pool answers when no endpoint is healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnAllDown {
    /// Fail open: answer as if every endpoint were healthy. A health checker that cannot reach
    /// anything is more often broken itself than every backend at once.
    #[default]
    All,
    /// Fail closed: NODATA.
    None,
}

impl OnAllDown {
    /// The configuration's spelling, for `lbdns status`.
    pub fn name(self) -> &'static str {
        match self {
            OnAllDown::All => "all",
            OnAllDown::None => "none",
        }
    }
}

/// One load-balanced name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// The owner whose A and AAAA answers come from the pool instead of the zone's records.
    pub owner: Name,
    pub ttl: u32,
    pub policy: Policy,
    /// The most addresses one response carries; `None` is every eligible one.
    pub answers: Option<u8>,
    pub on_all_down: OnAllDown,
    /// In configuration order, which is the order answers are drawn from.
    pub endpoints: Vec<Endpoint>,
    /// `policy = "geo"`: how clients are placed; `None` for every other policy.
    pub geo: Option<GeoPool>,
}

impl Pool {
    /// The address types (A, AAAA) none of the pool's endpoints has: their answer is NODATA
    /// whatever health, drains and `on_all_down` say.
    pub fn absent_types(&self) -> impl Iterator<Item = RecordType> + '_ {
        [(RecordType::A, false), (RecordType::AAAA, true)]
            .into_iter()
            .filter(|&(_, v6)| {
                !self
                    .endpoints
                    .iter()
                    .any(|endpoint| endpoint.address.is_ipv6() == v6)
            })
            .map(|(rtype, _)| rtype)
    }
}

/// What a geo pool needs besides its endpoints' locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoPool {
    /// The configured locations, for their fallback orders.
    pub locations: Arc<Locations>,
    /// Where unmapped clients are placed; `None`: they get every healthy endpoint.
    pub default_location: Option<LocationId>,
    /// Whether an ECS option steers this pool (when ECS is on globally); off, the query's
    /// source address does and the reply's ECS scope is 0.
    pub ecs: bool,
}

/// One answerable address of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: IpAddr,
    /// 0 is drained: answered only when nothing undrained is healthy (see `select`).
    pub weight: u32,
    /// Lower is preferred. Always 1 outside `failover` pools.
    pub tier: u32,
    /// What is checked to decide whether `address` is healthy; `None`: always healthy.
    pub target: Option<Target>,
    /// Geo pools only: the location the endpoint serves.
    pub location: Option<LocationId>,
}

/// One thing the health checker probes. Pools that check the same address the same way share
/// one target, and so one probe schedule and one health state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub address: SocketAddr,
    pub check: Check,
}

/// How and how often a target is probed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Check {
    pub probe: Probe,
    /// From the start of one probe to the start of the next, before jitter.
    pub interval: Duration,
    /// The whole probe (connect, TLS, request, body) must finish within this.
    pub timeout: Duration,
    /// Consecutive successes that bring a down target up.
    pub rise: u32,
    /// Consecutive failures that take an up target down.
    pub fall: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    /// Healthy when a TCP connection is accepted.
    Tcp,
    /// Healthy when a GET answers with an expected status (and body).
    Http(HttpProbe),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpProbe {
    /// HTTPS rather than plain HTTP.
    pub tls: bool,
    /// Whether the server's certificate must chain to a trusted root and match the name.
    pub verify_tls: bool,
    /// Origin-form request target, starting with `/`.
    pub path: String,
    /// Statuses that count as healthy.
    pub status: Vec<u16>,
    /// A substring the first `MAX_BODY` octets of the body must contain.
    pub body: Option<String>,
    /// The Host header and TLS server name; `None`: the target's address.
    pub host: Option<String>,
}

/// How much of a response body a body check reads. Health pages are small; a bound keeps a
/// misbehaving backend from making the checker read forever.
pub const MAX_BODY: usize = 64 * 1024;

impl fmt::Display for Target {
    /// The form used in logs and `lbdns status`: `tcp 192.0.2.1:80`, `http://host[addr]/path`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.check.probe {
            Probe::Tcp => write!(f, "tcp {}", self.address),
            Probe::Http(http) => {
                let scheme = if http.tls { "https" } else { "http" };
                match &http.host {
                    Some(host) => write!(f, "{scheme}://{host}[{}]{}", self.address, http.path),
                    None => write!(f, "{scheme}://{}{}", self.address, http.path),
                }
            }
        }
    }
}
