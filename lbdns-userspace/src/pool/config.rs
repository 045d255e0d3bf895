//! The `[[pool]]` entries of the configuration file, as written, and their validation into
//! the `model` types. Every value keeps its span, so an error names the line of the field.
//!
//! ```toml
//! [[pool]]
//! name = "www.example.com."    # owner, inside a served zone; its A/AAAA come from the pool
//! ttl = 30                     # default 30
//! policy = "weighted"          # round-robin (default) | weighted | failover | geo
//! default_location = "eu-west" # geo: where clients in no location go; default: anywhere
//! ecs = true                   # geo: whether EDNS Client Subnet steers the pool; default true
//! answers = 2                  # addresses per response; default all eligible (at most 16)
//! on_all_down = "all"          # all (default: answer as if all were up) | none (NODATA)
//!
//! [pool.check]                 # no [pool.check]: no checking, every endpoint is up
//! type = "http"                # none | tcp | http | https
//! port = 8080                  # tcp: required; http: default 80; https: default 443
//! path = "/healthz"            # http(s): default "/"
//! status = [200, 204]          # http(s): healthy statuses, default [200]
//! body = "ok"                  # http(s): optional substring of the first 64 KiB of the body
//! host = "www.example.com"     # http(s): Host header and TLS name; default the address
//! verify_tls = true            # https: check the certificate against the system roots
//! interval = "5s"              # default 5s; durations are "<integer>ms|s|m"
//! timeout = "2s"               # default 2s, or the interval if shorter; at most interval
//! rise = 2                     # consecutive successes to come up, default 2
//! fall = 3                     # consecutive failures to go down, default 3
//!
//! [[pool.endpoint]]
//! address = "192.0.2.10"       # IPv4 or IPv6; answered in A or AAAA
//! weight = 3                   # default 1; 0 = drained
//! tier = 1                     # failover pools only; default 1, lower is preferred
//! check_address = "10.0.0.10:8081"  # optional: probe this instead (port optional)
//! location = "eu-west"         # geo pools only, required there: a [[geo.location]]
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::{LowerName, Name};
use serde::Deserialize;
use toml::Spanned;

use super::geo;
use super::model::{Check, Endpoint, HttpProbe, OnAllDown, Policy, Pool, Probe, Target};
use super::select::MAX_ADDRESSES;
use crate::geo::Locations;

/// Default TTL of pool answers: short, so that a failover reaches resolvers quickly.
pub const DEFAULT_TTL: u32 = 30;
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Used unless the interval is shorter, in which case the timeout is the interval.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Two successes in a row before a recovered endpoint gets traffic again: one lucky probe of
/// a flapping server is not enough.
pub const DEFAULT_RISE: u32 = 2;
/// Three failures in a row before an endpoint is dropped: one lost SYN is not an outage.
pub const DEFAULT_FALL: u32 = 3;
pub const DEFAULT_WEIGHT: u32 = 1;
pub const DEFAULT_TIER: u32 = 1;
pub const DEFAULT_STATUS: u16 = 200;
/// The largest TTL RFC 2181 §8 allows.
const MAX_TTL: u32 = (1 << 31) - 1;

/// One `[[pool]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolEntry {
    pub name: Spanned<String>,
    pub ttl: Option<Spanned<u32>>,
    pub policy: Option<Spanned<Policy>>,
    pub answers: Option<Spanned<u8>>,
    pub on_all_down: Option<Spanned<OnAllDown>>,
    pub check: Option<CheckEntry>,
    /// Geo pools: where clients in no location go (see `pool::geo`).
    pub default_location: Option<Spanned<String>>,
    /// Geo pools: whether EDNS Client Subnet steers them (default true).
    pub ecs: Option<Spanned<bool>>,
    #[serde(default)]
    pub endpoint: Vec<EndpointEntry>,
}

/// A `[pool.check]` table. Flat rather than an enum tagged by `type`, because serde buffers
/// tagged enums and the spans would be lost; which keys a type allows is checked in `validate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckEntry {
    #[serde(rename = "type")]
    pub kind: Spanned<CheckKind>,
    pub port: Option<Spanned<u16>>,
    pub path: Option<Spanned<String>>,
    pub status: Option<Spanned<Vec<u16>>>,
    pub body: Option<Spanned<String>>,
    pub host: Option<Spanned<String>>,
    pub verify_tls: Option<Spanned<bool>>,
    pub interval: Option<Spanned<ConfigDuration>>,
    pub timeout: Option<Spanned<ConfigDuration>>,
    pub rise: Option<Spanned<u32>>,
    pub fall: Option<Spanned<u32>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    None,
    Tcp,
    Http,
    Https,
}

/// One `[[pool.endpoint]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointEntry {
    pub address: Spanned<IpAddr>,
    pub weight: Option<Spanned<u32>>,
    pub tier: Option<Spanned<u32>>,
    pub check_address: Option<Spanned<CheckAddress>>,
    /// Geo pools: the `[[geo.location]]` the endpoint serves.
    pub location: Option<Spanned<String>>,
}

/// A duration written as an integer with a unit: `"500ms"`, `"2s"`, `"1m"`. A bare number is
/// refused rather than guessed at, since seconds and milliseconds are both common.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ConfigDuration(pub Duration);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a duration like \"500ms\", \"2s\" or \"1m\", got {0:?}")]
pub struct BadDuration(String);

impl TryFrom<String> for ConfigDuration {
    type Error = BadDuration;

    fn try_from(text: String) -> Result<Self, BadDuration> {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = text.split_at(digits);
        let number: u64 = number.parse().map_err(|_| BadDuration(text.clone()))?;
        let duration = match unit {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            _ => return Err(BadDuration(text)),
        };
        Ok(Self(duration))
    }
}

/// Where to probe instead of the answered address: an address, with or without a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct CheckAddress {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected an address like \"10.0.0.1\", \"10.0.0.1:8080\" or \"[2001:db8::1]:8080\", got {0:?}"
)]
pub struct BadCheckAddress(String);

impl TryFrom<String> for CheckAddress {
    type Error = BadCheckAddress;

    fn try_from(text: String) -> Result<Self, BadCheckAddress> {
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Self { ip, port: None });
        }
        match text.parse::<SocketAddr>() {
            Ok(addr) => Ok(Self {
                ip: addr.ip(),
                port: Some(addr.port()),
            }),
            Err(_) => Err(BadCheckAddress(text)),
        }
    }
}

/// Where a pool owner sits among the served zones; the caller answers from its catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Inside a served zone, authoritative, no CNAME at it: a valid pool owner.
    Authoritative,
    /// In no served zone: nobody would ask us.
    Outside,
    /// A CNAME owns the name; it cannot also have addresses (RFC 1034 §3.6.2).
    Cname,
    /// At or below a delegation: the answer would not be ours to give.
    Delegated { cut: Name },
    /// Below a DNAME owner: every query for the name is redirected (RFC 6672 §3.3), so the
    /// pool would never be asked.
    Redirected { dname: Name },
    /// In a zone with a DNSKEY at its apex: lbdns serves signed zones as signed, with no
    /// online signing, so a pool's synthesised answers would carry no valid signature.
    Signed { zone: Name },
}

impl Placement {
    /// Why a pool may not own `owner` placed here; `None` if it may.
    pub fn refusal(&self, owner: &Name) -> Option<String> {
        Some(match self {
            Self::Authoritative => return None,
            Self::Outside => format!("{owner} is not inside any served zone"),
            Self::Cname => {
                format!("{owner} has a CNAME, which cannot coexist with the pool's addresses")
            }
            Self::Delegated { cut } => {
                format!(
                    "{owner} is at or below the delegation at {cut}, so its answers are not ours"
                )
            }
            Self::Redirected { dname } => format!(
                "{owner} is below the DNAME at {dname}, which redirects every name under it \
                 (RFC 6672 §3.3), so the pool would never be asked"
            ),
            Self::Signed { zone } => format!(
                "{owner} is in the signed zone {zone}: lbdns does not sign online, so the \
                 pool's answers would carry no valid RRSIG and validating resolvers would \
                 reject them; serve the pool from an unsigned zone (delegated from the \
                 signed one without DS)"
            ),
        })
    }
}

/// The served zones as validation needs them.
pub trait Zones {
    fn placement(&self, owner: &Name) -> Placement;
}

/// The file the entries came from: its path for messages and its text to turn spans into lines.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    pub(super) fn error(
        &self,
        span: Range<usize>,
        field: &'static str,
        message: impl fmt::Display,
    ) -> PoolConfigError {
        let end = span.start.min(self.text.len());
        PoolConfigError {
            file: self.path.to_path_buf(),
            line: 1 + self.text.as_bytes()[..end]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            field,
            message: message.to_string(),
        }
    }
}

/// A pool that cannot be served as written. Displayed as `file:line: field: message`, the
/// field as a TOML key path (`pool.check.interval`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {field}: {message}", file.display())]
pub struct PoolConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub field: &'static str,
    pub message: String,
}

/// Checks every pool against the rules and the served zones, and builds the model. Stops at
/// the first error, in file order, like the rest of the configuration.
pub fn validate(
    entries: &[PoolEntry],
    source: Source<'_>,
    zones: &dyn Zones,
    locations: &Arc<Locations>,
) -> Result<Vec<Pool>, PoolConfigError> {
    let mut pools: Vec<Pool> = Vec::with_capacity(entries.len());
    for entry in entries {
        let pool = validate_pool(entry, source, zones, locations)?;
        if pools
            .iter()
            .any(|p| LowerName::new(&p.owner) == LowerName::new(&pool.owner))
        {
            return Err(source.error(
                entry.name.span(),
                "pool.name",
                format!("a second pool for {}", pool.owner),
            ));
        }
        pools.push(pool);
    }
    Ok(pools)
}

fn validate_pool(
    entry: &PoolEntry,
    source: Source<'_>,
    zones: &dyn Zones,
    locations: &Arc<Locations>,
) -> Result<Pool, PoolConfigError> {
    let name_span = entry.name.span();
    let owner = parse_owner(entry.name.get_ref())
        .map_err(|m| source.error(name_span.clone(), "pool.name", m))?;
    if let Some(refusal) = zones.placement(&owner).refusal(&owner) {
        return Err(source.error(name_span, "pool.name", refusal));
    }
    let ttl = match &entry.ttl {
        Some(ttl) if *ttl.get_ref() > MAX_TTL => {
            return Err(source.error(
                ttl.span(),
                "pool.ttl",
                format!("at most {MAX_TTL} (RFC 2181 §8)"),
            ))
        }
        Some(ttl) => *ttl.get_ref(),
        None => DEFAULT_TTL,
    };
    let policy = entry
        .policy
        .as_ref()
        .map_or(Policy::default(), |p| *p.get_ref());
    let answers = match &entry.answers {
        Some(a) if *a.get_ref() == 0 || usize::from(*a.get_ref()) > MAX_ADDRESSES => {
            return Err(source.error(
                a.span(),
                "pool.answers",
                format!("between 1 and {MAX_ADDRESSES}"),
            ))
        }
        a => a.as_ref().map(|a| *a.get_ref()),
    };
    let on_all_down = entry
        .on_all_down
        .as_ref()
        .map_or(OnAllDown::default(), |o| *o.get_ref());
    let check = match &entry.check {
        Some(check) => validate_check(check, source)?,
        None => None,
    };
    let geo = geo::validate_pool(entry, policy, source, locations)?;
    let Some(first) = entry.endpoint.first() else {
        return Err(source.error(
            name_span,
            "pool.endpoint",
            format!("pool {owner} has no [[pool.endpoint]]"),
        ));
    };
    let mut endpoints: Vec<Endpoint> = Vec::with_capacity(entry.endpoint.len());
    for e in &entry.endpoint {
        let address = *e.address.get_ref();
        if endpoints.iter().any(|other| other.address == address) {
            return Err(source.error(
                e.address.span(),
                "pool.endpoint.address",
                format!("{address} is listed twice in pool {owner}"),
            ));
        }
        let weight = e.weight.as_ref().map_or(DEFAULT_WEIGHT, |w| *w.get_ref());
        if let Some(w) = e
            .weight
            .as_ref()
            .filter(|w| *w.get_ref() > 1 && !policy.uses_weights())
        {
            return Err(source.error(w.span(), "pool.endpoint.weight", "a round-robin pool's weights are 0 (drained) or 1; use policy = \"weighted\" to weigh endpoints"));
        }
        if let Some(tier) = e.tier.as_ref().filter(|_| policy != Policy::Failover) {
            return Err(source.error(
                tier.span(),
                "pool.endpoint.tier",
                "only failover pools have tiers; use policy = \"failover\"",
            ));
        }
        let target = match (&check, &e.check_address) {
            (None, Some(c)) => {
                return Err(source.error(
                    c.span(),
                    "pool.endpoint.check_address",
                    "the pool has no check; add a [pool.check]",
                ))
            }
            (None, None) => None,
            (Some((check, port)), c) => {
                let c = c.as_ref().map(|c| *c.get_ref());
                Some(Target {
                    address: SocketAddr::new(
                        c.map_or(address, |c| c.ip),
                        c.and_then(|c| c.port).unwrap_or(*port),
                    ),
                    check: check.clone(),
                })
            }
        };
        endpoints.push(Endpoint {
            address,
            weight,
            tier: e.tier.as_ref().map_or(DEFAULT_TIER, |t| *t.get_ref()),
            target,
            location: geo::validate_endpoint(e, geo.as_ref(), source)?,
        });
    }
    if endpoints.iter().all(|e| e.weight == 0) {
        let span = first
            .weight
            .as_ref()
            .map_or(first.address.span(), |w| w.span());
        return Err(source.error(
            span,
            "pool.endpoint.weight",
            format!("every endpoint of pool {owner} has weight 0"),
        ));
    }
    Ok(Pool {
        owner,
        ttl,
        policy,
        answers,
        on_all_down,
        endpoints,
        geo,
    })
}

/// Names are absolute whether or not they end in a dot: there is no origin to append.
fn parse_owner(text: &str) -> Result<Name, String> {
    let mut name =
        Name::from_ascii(text).map_err(|e| format!("{text:?} is not a domain name: {e}"))?;
    name.set_fqdn(true);
    if name.is_root() {
        return Err("the root cannot be a pool".to_owned());
    }
    if name.is_wildcard() {
        return Err(format!(
            "{name} is a wildcard; a pool needs a single owner name"
        ));
    }
    Ok(name)
}

/// The check and its default port, or `None` for `type = "none"`.
fn validate_check(
    entry: &CheckEntry,
    source: Source<'_>,
) -> Result<Option<(Check, u16)>, PoolConfigError> {
    let kind = *entry.kind.get_ref();
    let http_only = [
        ("pool.check.path", entry.path.as_ref().map(Spanned::span)),
        (
            "pool.check.status",
            entry.status.as_ref().map(Spanned::span),
        ),
        ("pool.check.body", entry.body.as_ref().map(Spanned::span)),
        ("pool.check.host", entry.host.as_ref().map(Spanned::span)),
    ];
    let probing = [
        ("pool.check.port", entry.port.as_ref().map(Spanned::span)),
        (
            "pool.check.interval",
            entry.interval.as_ref().map(Spanned::span),
        ),
        (
            "pool.check.timeout",
            entry.timeout.as_ref().map(Spanned::span),
        ),
        ("pool.check.rise", entry.rise.as_ref().map(Spanned::span)),
        ("pool.check.fall", entry.fall.as_ref().map(Spanned::span)),
    ];
    let not_for = |fields: &[(&'static str, Option<Range<usize>>)], what: &str| {
        fields.iter().find_map(|(field, span)| {
            span.clone()
                .map(|span| source.error(span, field, format!("does not apply to {what} checks")))
        })
    };
    if kind == CheckKind::None {
        if let Some(e) = not_for(&http_only, "none").or_else(|| not_for(&probing, "none")) {
            return Err(e);
        }
    }
    if kind != CheckKind::Http && kind != CheckKind::Https {
        if let Some(e) = not_for(&http_only, "tcp") {
            return Err(e);
        }
    }
    if let Some(v) = entry
        .verify_tls
        .as_ref()
        .filter(|_| kind != CheckKind::Https)
    {
        return Err(source.error(
            v.span(),
            "pool.check.verify_tls",
            "applies to https checks only",
        ));
    }
    let port = match (kind, &entry.port) {
        (CheckKind::None, _) => return Ok(None),
        (_, Some(p)) if *p.get_ref() == 0 => {
            return Err(source.error(p.span(), "pool.check.port", "port 0 cannot be connected to"))
        }
        (_, Some(p)) => *p.get_ref(),
        (CheckKind::Tcp, None) => {
            return Err(source.error(
                entry.kind.span(),
                "pool.check.port",
                "a tcp check needs a port",
            ))
        }
        (CheckKind::Http, None) => 80,
        (CheckKind::Https, None) => 443,
    };
    let probe = match kind {
        CheckKind::Tcp => Probe::Tcp,
        _ => Probe::Http(validate_http(entry, kind == CheckKind::Https, source)?),
    };
    let interval = duration(
        &entry.interval,
        "pool.check.interval",
        DEFAULT_INTERVAL,
        source,
    )?;
    let timeout = duration(
        &entry.timeout,
        "pool.check.timeout",
        DEFAULT_TIMEOUT.min(interval),
        source,
    )?;
    if interval < timeout {
        let span = entry
            .interval
            .as_ref()
            .or(entry.timeout.as_ref())
            .map_or(entry.kind.span(), Spanned::span);
        return Err(source.error(span, "pool.check.interval", format!("interval {interval:?} is shorter than the timeout {timeout:?}; a probe would still be running when the next starts")));
    }
    let count = |value: &Option<Spanned<u32>>, field, default| match value {
        Some(v) if *v.get_ref() == 0 => Err(source.error(v.span(), field, "at least 1")),
        Some(v) => Ok(*v.get_ref()),
        None => Ok(default),
    };
    let check = Check {
        probe,
        interval,
        timeout,
        rise: count(&entry.rise, "pool.check.rise", DEFAULT_RISE)?,
        fall: count(&entry.fall, "pool.check.fall", DEFAULT_FALL)?,
    };
    Ok(Some((check, port)))
}

fn validate_http(
    entry: &CheckEntry,
    tls: bool,
    source: Source<'_>,
) -> Result<HttpProbe, PoolConfigError> {
    // Visible ASCII only: these go into the request line and a header verbatim.
    let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    let path = match &entry.path {
        Some(p) if !p.get_ref().starts_with('/') || !visible(p.get_ref()) => {
            return Err(source.error(
                p.span(),
                "pool.check.path",
                "a path starts with / and has no spaces or control characters",
            ))
        }
        Some(p) => p.get_ref().clone(),
        None => "/".to_owned(),
    };
    let status = match &entry.status {
        Some(s) if s.get_ref().is_empty() => {
            return Err(source.error(s.span(), "pool.check.status", "at least one status"))
        }
        Some(s) => match s.get_ref().iter().find(|code| !(100..=599).contains(*code)) {
            Some(code) => {
                return Err(source.error(
                    s.span(),
                    "pool.check.status",
                    format!("{code} is not an HTTP status"),
                ))
            }
            None => s.get_ref().clone(),
        },
        None => vec![DEFAULT_STATUS],
    };
    let body = match &entry.body {
        Some(b) if b.get_ref().is_empty() => {
            return Err(source.error(
                b.span(),
                "pool.check.body",
                "an empty body substring matches anything; leave it out",
            ))
        }
        b => b.as_ref().map(|b| b.get_ref().clone()),
    };
    let host = match &entry.host {
        Some(h) if !visible(h.get_ref()) || h.get_ref().contains('/') => {
            return Err(source.error(
                h.span(),
                "pool.check.host",
                "a host name, optionally with :port",
            ))
        }
        h => h.as_ref().map(|h| h.get_ref().clone()),
    };
    Ok(HttpProbe {
        tls,
        verify_tls: entry.verify_tls.as_ref().is_none_or(|v| *v.get_ref()),
        path,
        status,
        body,
        host,
    })
}

fn duration(
    value: &Option<Spanned<ConfigDuration>>,
    field: &'static str,
    default: Duration,
    source: Source<'_>,
) -> Result<Duration, PoolConfigError> {
    match value {
        Some(d) if d.get_ref().0.is_zero() => {
            Err(source.error(d.span(), field, "must be longer than 0"))
        }
        Some(d) => Ok(d.get_ref().0),
        None => Ok(default),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
