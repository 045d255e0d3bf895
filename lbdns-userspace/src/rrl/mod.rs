//! Response rate limiting (RRL) on the socket path, and its configuration for both paths.
//!
//! The rule is `lbdns_common::rrl`, one definition for the XDP program and for [`Limiter`]:
//! the prefix masking, the response's key, the bucket arithmetic and the slip. How the two
//! paths share the work, so that a response is counted once: the program counts the replies
//! it sends (by owner name and type) and, against a higher per-prefix ceiling, the queries it
//! passes; [`Limiter`] counts what the socket path answers over UDP, classified from the
//! reply ([`classify`]). TCP is never limited: a client that gets a truncated reply asks
//! there. Without XDP the socket path alone applies the same rule to every response.

pub mod classify;
pub mod config;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lbdns_common::cookie::CookieState;
use lbdns_common::rrl::{
    self, admit, prefix_v4, prefix_v6, Bucket, Key, Rate, Response, Settings, Tally, Verdict,
};

use crate::authority::Catalog;

/// The validated `[rrl]` table: what both paths apply. Carried by the `Catalog`, so a reload
/// swaps it with the zones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Off unless the configuration has an `[rrl]` table.
    pub enabled: bool,
    /// Count and log what would be limited, but send every response.
    pub log_only: bool,
    pub responses_per_second: u32,
    pub burst: u32,
    /// The XDP program's per-prefix ceiling on queries it passes to the socket path.
    pub passed_per_second: u32,
    pub slip: u32,
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
    /// Prefixes never limited.
    pub allow: Vec<AllowPrefix>,
}

impl Default for RateLimits {
    /// Off, with the values an `[rrl]` table without keys would have.
    fn default() -> Self {
        Self {
            enabled: false,
            log_only: false,
            responses_per_second: config::DEFAULT_RESPONSES_PER_SECOND,
            burst: config::DEFAULT_RESPONSES_PER_SECOND,
            passed_per_second: config::DEFAULT_RESPONSES_PER_SECOND * config::PASSED_FACTOR,
            slip: config::DEFAULT_SLIP,
            ipv4_prefix: config::DEFAULT_IPV4_PREFIX,
            ipv6_prefix: config::DEFAULT_IPV6_PREFIX,
            allow: Vec::new(),
        }
    }
}

/// One allow-list entry: a network and its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowPrefix {
    /// The address with its host bits cleared.
    pub network: IpAddr,
    pub length: u8,
}

impl AllowPrefix {
    /// `address/length`, host bits cleared.
    pub fn new(address: IpAddr, length: u8) -> Self {
        let network = match address {
            IpAddr::V4(v4) => {
                let kept = u32::MAX.checked_shl(32 - u32::from(length)).unwrap_or(0);
                IpAddr::V4((u32::from(v4) & kept).into())
            }
            IpAddr::V6(v6) => {
                let kept = u128::MAX.checked_shl(128 - u32::from(length)).unwrap_or(0);
                IpAddr::V6((u128::from(v6) & kept).into())
            }
        };
        Self { network, length }
    }

    /// Whether `address` is inside.
    pub fn contains(&self, address: IpAddr) -> bool {
        address.is_ipv4() == self.network.is_ipv4()
            && Self::new(address, self.length).network == self.network
    }
}

impl RateLimits {
    /// What the XDP program is told (`RRL_SETTINGS`).
    pub fn settings(&self) -> Settings {
        let flags = match (self.enabled, self.log_only) {
            (false, _) => 0,
            (true, false) => rrl::ENABLED,
            (true, true) => rrl::ENABLED | rrl::LOG_ONLY,
        };
        Settings {
            flags,
            slip: self.slip,
            v4_prefix: u32::from(self.ipv4_prefix),
            v6_prefix: u32::from(self.ipv6_prefix),
            responses: Rate::new(self.responses_per_second, self.burst),
            passed: Rate::new(self.passed_per_second, self.passed_per_second),
        }
    }

    /// The prefix `address` is counted in, as `lbdns_common::rrl` masks it, and whether it is
    /// IPv6. An IPv4-mapped IPv6 address (a dual-stack socket's peer) counts as IPv4.
    pub fn prefix(&self, address: IpAddr) -> (u64, bool) {
        match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => (prefix_v4(v4.octets(), u32::from(self.ipv4_prefix)), false),
                None => {
                    let octets = v6.octets();
                    let mut high = [0; 8];
                    high.copy_from_slice(&octets[..8]);
                    (prefix_v6(high, u32::from(self.ipv6_prefix)), true)
                }
            },
            IpAddr::V4(v4) => (prefix_v4(v4.octets(), u32::from(self.ipv4_prefix)), false),
        }
    }

    /// Whether `address` is on the allow list.
    pub fn allows(&self, address: IpAddr) -> bool {
        self.allow.iter().any(|entry| entry.contains(address))
    }
}

/// What to do with a UDP reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Send it.
    Send,
    /// Send the truncated reply instead ([`classify::truncated`]).
    Slip,
    /// The query carries a client cookie: send BADCOOKIE with a fresh server cookie instead
    /// (RFC 7873 §5.2.3–5.2.4, `authority::badcookie`), the slip for clients that use cookies.
    BadCookie,
    /// Send nothing.
    Drop,
}

/// Buckets kept before the idle ones are swept out: at 32 bytes each plus the table's
/// overhead, a few MiB.
const MAX_BUCKETS: usize = 100_000;
/// How often idle buckets are swept out, and the stops of limiting logged.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Lines about limiting starting and stopping logged per [`SWEEP_EVERY`]; the rest are
/// counted in one line.
const LOG_LINES: u32 = 10;

/// The socket path's rate limiter: the buckets of every key it counted, and its tallies.
/// Shared by the UDP threads; one lock, held for a hash lookup.
#[derive(Debug)]
pub struct Limiter {
    state: Mutex<State>,
    tallies: [AtomicU64; Tally::COUNT as usize],
    epoch: Instant,
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<Key, Bucket>,
    swept_ns: u64,
    /// Lines logged since the last sweep, and lines left out.
    logged: u32,
    unlogged: u32,
}

impl Default for Limiter {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            tallies: Default::default(),
            epoch: Instant::now(),
        }
    }
}

impl Limiter {
    /// Decides whether the socket path sends `reply` (to `query`, from `peer`, over UDP) under
    /// `catalog`'s limits. A reply to anything but a query (NOTIFY) is not limited, nor one to
    /// a query with a valid server cookie (RFC 7873 §5.2.5: the client is who it says).
    pub fn admit(
        &self,
        catalog: &Catalog,
        query: &[u8],
        reply: &[u8],
        peer: IpAddr,
        cookie: CookieState,
    ) -> Admit {
        let limits = catalog.rate_limits();
        if !limits.enabled || cookie == CookieState::Valid || !classify::is_query_reply(reply) {
            return Admit::Send;
        }
        let response = classify::response(catalog, reply);
        let now = self.epoch.elapsed().as_nanos() as u64;
        match self.decide(limits, peer, response, now, query) {
            // A client cookie alone, or a server cookie that does not check out: BADCOOKIE
            // gives the client a server cookie that will exempt it.
            Admit::Slip if matches!(cookie, CookieState::ClientOnly | CookieState::Invalid) => {
                Admit::BadCookie
            }
            admit => admit,
        }
    }

    /// [`Limiter::admit`] for a `response` at `now_ns`.
    fn decide(
        &self,
        limits: &RateLimits,
        peer: IpAddr,
        response: Response,
        now_ns: u64,
        query: &[u8],
    ) -> Admit {
        let (prefix, v6) = limits.prefix(peer);
        let key = Key::new(prefix, v6, response);
        let rate = Rate::new(limits.responses_per_second, limits.burst);
        let verdict = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.sweep(now_ns);
            let bucket = state.buckets.entry(key).or_default();
            let verdict = admit(bucket, now_ns, &rate, limits.slip);
            if verdict.started() {
                state.log(|| {
                    tracing::info!(
                        prefix = %prefix_text(peer, limits),
                        response = class_name(response),
                        "rate limiting started"
                    );
                });
            } else if verdict == (Verdict::Within { ended: true }) {
                state.log(|| {
                    tracing::info!(
                        prefix = %prefix_text(peer, limits),
                        response = class_name(response),
                        "rate limiting stopped"
                    );
                });
            }
            verdict
        };
        let (over, admit) = match verdict {
            Verdict::Within { .. } => {
                self.tally(Tally::AnsweredV4.family(v6));
                return Admit::Send;
            }
            Verdict::Slip { .. } if classify::truncated(query).is_some() => {
                (Tally::SlippedV4, Admit::Slip)
            }
            Verdict::Slip { .. } | Verdict::Drop { .. } => (Tally::DroppedV4, Admit::Drop),
        };
        if limits.allows(peer) {
            self.tally(Tally::AllowedV4.family(v6));
            return Admit::Send;
        }
        self.tally(over.family(v6));
        if limits.log_only {
            return Admit::Send;
        }
        admit
    }

    fn tally(&self, tally: Tally) {
        self.tallies[tally as usize].fetch_add(1, Relaxed);
    }

    /// Every tally with its total.
    pub fn tallies(&self) -> impl Iterator<Item = (Tally, u64)> + '_ {
        Tally::ALL
            .into_iter()
            .map(|tally| (tally, self.tallies[tally as usize].load(Relaxed)))
    }
}

impl State {
    /// Once a second, or when the table is full: drops the buckets that are full again (as
    /// a new one would be), logging the keys that stop being limited with them.
    fn sweep(&mut self, now_ns: u64) {
        let due = now_ns.saturating_sub(self.swept_ns) >= SWEEP_EVERY.as_nanos() as u64;
        if !due && self.buckets.len() < MAX_BUCKETS {
            return;
        }
        self.swept_ns = now_ns;
        let mut stopped = 0;
        self.buckets.retain(|_, bucket| {
            let idle = bucket.tat_ns <= now_ns;
            stopped += u32::from(idle && bucket.over != 0);
            !idle
        });
        if self.buckets.len() >= MAX_BUCKETS {
            // Every bucket busy: start afresh rather than grow without bound.
            self.buckets.clear();
        }
        if stopped > 0 {
            tracing::info!(keys = stopped, "rate limiting stopped: clients went quiet");
        }
        if self.unlogged > 0 {
            tracing::info!(
                lines = self.unlogged,
                "rate limiting: more prefixes started or stopped than logged"
            );
        }
        self.logged = 0;
        self.unlogged = 0;
    }

    fn log(&mut self, line: impl FnOnce()) {
        if self.logged < LOG_LINES {
            self.logged += 1;
            line();
        } else {
            self.unlogged += 1;
        }
    }
}

/// `peer`'s prefix as text, for the log.
fn prefix_text(peer: IpAddr, limits: &RateLimits) -> String {
    let length = if limits.prefix(peer).1 {
        limits.ipv6_prefix
    } else {
        limits.ipv4_prefix
    };
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    let network = AllowPrefix::new(peer, length).network;
    format!("{network}/{length}")
}

fn class_name(response: Response) -> &'static str {
    match response {
        Response::Positive(_) => "answer",
        Response::Negative(_) => "nxdomain/nodata",
        Response::Referral => "referral",
        Response::Error => "error",
        Response::Passed => "passed",
    }
}

#[cfg(test)]
mod tests;
