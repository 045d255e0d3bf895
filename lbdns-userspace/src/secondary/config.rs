//! Secondary zones as configured: a `[[zone]]` with `primaries`, and the `[secondary]` bounds
//! on the timers its SOA asks for.
//!
//! ```toml
//! [[zone]]
//! origin = "example.com."              # required for a secondary
//! primaries = ["192.0.2.1", "[2001:db8::1]:5353"]   # tried in order; port 53 by default
//! tsig = "xfr-key"                     # optional: names a [[key]]
//! file = "example.com.zone"            # the kept copy (and example.com.zone.state beside it)
//!
//! [secondary]                          # seconds; NSD's defaults
//! min_refresh = 0
//! max_refresh = 2419200
//! min_retry = 0
//! max_retry = 1209600
//! min_expire = 0
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::rr::Name;
use serde::Deserialize;

use crate::zone::name;

/// The `[secondary]` section as written: bounds in seconds, each optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondarySection {
    pub min_refresh: Option<u64>,
    pub max_refresh: Option<u64>,
    pub min_retry: Option<u64>,
    pub max_retry: Option<u64>,
    pub min_expire: Option<u64>,
}

/// Bounds on the SOA's REFRESH, RETRY and EXPIRE, as NSD's `min-refresh-time` and kin: a
/// primary's SOA cannot make a secondary poll in a tight loop or hold stale data forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerBounds {
    pub min_refresh: Duration,
    pub max_refresh: Duration,
    pub min_retry: Duration,
    pub max_retry: Duration,
    pub min_expire: Duration,
}

/// NSD's defaults: refresh at most every four weeks, retry at most every two; no minimums.
impl Default for TimerBounds {
    fn default() -> Self {
        Self {
            min_refresh: Duration::ZERO,
            max_refresh: Duration::from_secs(2_419_200),
            min_retry: Duration::ZERO,
            max_retry: Duration::from_secs(1_209_600),
            min_expire: Duration::ZERO,
        }
    }
}

impl TimerBounds {
    /// The section's bounds over the defaults; a minimum above its maximum is an error.
    pub fn new(section: &SecondarySection) -> Result<Self, String> {
        let default = Self::default();
        let secs =
            |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_secs);
        let bounds = Self {
            min_refresh: secs(section.min_refresh, default.min_refresh),
            max_refresh: secs(section.max_refresh, default.max_refresh),
            min_retry: secs(section.min_retry, default.min_retry),
            max_retry: secs(section.max_retry, default.max_retry),
            min_expire: secs(section.min_expire, default.min_expire),
        };
        for (what, min, max) in [
            ("refresh", bounds.min_refresh, bounds.max_refresh),
            ("retry", bounds.min_retry, bounds.max_retry),
        ] {
            if min > max {
                return Err(format!(
                    "secondary.min_{what} ({}) is above secondary.max_{what} ({})",
                    min.as_secs(),
                    max.as_secs()
                ));
            }
        }
        Ok(bounds)
    }
}

/// One secondary zone: where its data comes from and where the copy is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondarySpec {
    pub origin: Name,
    /// Tried in this order at each refresh.
    pub primaries: Vec<SocketAddr>,
    /// The TSIG key that signs its transfers and NOTIFYs, by name.
    pub tsig: Option<Name>,
    /// The kept copy, a master file.
    pub file: PathBuf,
}

impl SecondarySpec {
    /// A `[[zone]]` entry with `primaries`: it needs an origin and at least one primary.
    pub fn new(
        origin: Option<&str>,
        primaries: &[String],
        tsig: Option<&str>,
        file: PathBuf,
    ) -> Result<Self, String> {
        let origin =
            origin.ok_or("zone.origin: a secondary zone (one with primaries) needs its origin")?;
        let origin = name::parse(origin, None)
            .map_err(|e| format!("zone.origin: bad origin '{origin}': {e}"))?;
        if primaries.is_empty() {
            return Err(format!("zone.primaries: {origin} lists no primary"));
        }
        let primaries = primaries
            .iter()
            .map(|text| parse_primary(text))
            .collect::<Result<_, _>>()?;
        let tsig = tsig
            .map(|key| {
                name::parse(key, Some(&Name::root()))
                    .map_err(|e| format!("zone.tsig: bad key name '{key}': {e}"))
            })
            .transpose()?;
        Ok(Self {
            origin,
            primaries,
            tsig,
            file,
        })
    }

    /// Where the refresh state is kept: beside the copy, as NSD keeps xfrd.state.
    pub fn state_file(&self) -> PathBuf {
        let mut path = self.file.clone().into_os_string();
        path.push(".state");
        PathBuf::from(path)
    }
}

/// `address` or `address:port` (IPv6 with a port in brackets); port 53 when absent.
fn parse_primary(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("zone.primaries: '{text}' is not an address or address:port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(origin: Option<&str>, primaries: &[&str]) -> Result<SecondarySpec, String> {
        let primaries: Vec<String> = primaries.iter().map(|p| (*p).to_owned()).collect();
        SecondarySpec::new(origin, &primaries, Some("xfr-key"), "kept.zone".into())
    }

    #[test]
    fn primaries_take_port_53_unless_given() {
        let spec = spec(
            Some("example.test."),
            &["198.18.0.1", "[2001:db8::1]:5353", "2001:db8::2"],
        )
        .unwrap();
        let want: Vec<SocketAddr> = ["198.18.0.1:53", "[2001:db8::1]:5353", "[2001:db8::2]:53"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(spec.primaries, want);
        assert_eq!(spec.tsig.as_ref().unwrap().to_ascii(), "xfr-key.");
        assert_eq!(spec.state_file(), PathBuf::from("kept.zone.state"));
    }

    #[test]
    fn a_secondary_needs_an_origin_and_a_primary() {
        let error = spec(None, &["198.18.0.1"]).unwrap_err();
        assert!(error.contains("needs its origin"), "{error}");
        let error = spec(Some("example.test."), &[]).unwrap_err();
        assert!(error.contains("lists no primary"), "{error}");
        let error = spec(Some("example.test."), &["primary.example."]).unwrap_err();
        assert!(
            error.contains("'primary.example.' is not an address"),
            "{error}"
        );
    }

    #[test]
    fn bounds_default_to_nsds_and_a_minimum_above_its_maximum_is_refused() {
        assert_eq!(
            TimerBounds::new(&SecondarySection::default()).unwrap(),
            TimerBounds::default()
        );
        let section = SecondarySection {
            min_retry: Some(60),
            max_retry: Some(30),
            ..SecondarySection::default()
        };
        let error = TimerBounds::new(&section).unwrap_err();
        assert_eq!(
            error,
            "secondary.min_retry (60) is above secondary.max_retry (30)"
        );
    }
}
