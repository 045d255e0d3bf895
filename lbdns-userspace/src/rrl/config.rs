//! The `[rrl]` table of the configuration file: response rate limiting (see `crate::rrl`).
//!
//! ```toml
//! [rrl]                         # present: on; absent: off
//! responses_per_second = 200    # per prefix and response (NSD's default)
//! burst = 200                   # responses at once; default: one second's worth
//! slip = 2                      # every 2nd limited response truncated (TC=1); 0: none
//! ipv4_prefix = 24              # clients grouped by /24
//! ipv6_prefix = 56              # and /56 (at most 64)
//! passed_per_second = 2000      # per-prefix ceiling on queries XDP passes to the sockets
//! allow = ["198.18.0.0/24", "2001:db8::/48"]   # never limited
//! log_only = false              # count and log, but send every response
//! enabled = true                # false keeps the table but turns limiting off
//! ```

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{AllowPrefix, RateLimits};
use crate::config::ConfigError;

/// The `[rrl]` table as written; spans kept so errors name the line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RrlSection {
    pub enabled: Option<bool>,
    pub responses_per_second: Option<Spanned<u32>>,
    pub burst: Option<Spanned<u32>>,
    pub slip: Option<Spanned<u32>>,
    pub ipv4_prefix: Option<Spanned<u8>>,
    pub ipv6_prefix: Option<Spanned<u8>>,
    pub passed_per_second: Option<Spanned<u32>>,
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    pub log_only: Option<bool>,
}

/// NSD's default rate: generous for a resolver, small for an amplifier.
pub const DEFAULT_RESPONSES_PER_SECOND: u32 = 200;
/// NSD's default: every second limited response truncated.
pub const DEFAULT_SLIP: u32 = 2;
/// BIND's and NSD's IPv4 grouping.
pub const DEFAULT_IPV4_PREFIX: u8 = 24;
/// BIND's IPv6 grouping: a customer's allocation.
pub const DEFAULT_IPV6_PREFIX: u8 = 56;
/// The passed-query ceiling is this many times the response rate: a resolver asks for many
/// names, each with its own response bucket, but a prefix sending more than ten times one
/// bucket's rate of queries the fast path cannot answer is a random-name flood.
pub const PASSED_FACTOR: u32 = 10;
/// The longest IPv6 prefix: the buckets key on an address's first 64 bits.
pub const MAX_IPV6_PREFIX: u8 = 64;
/// No rate may exceed this: the bucket's interval (1e9 / rate ns) would lose its precision.
const MAX_RATE: u32 = 1_000_000;

impl RateLimits {
    /// Validates `[rrl]` of `file` (whose text is `text`); `None` (no table) is off. Errors
    /// name the file and the line of the offending key.
    pub fn from_section(
        section: Option<RrlSection>,
        file: &Path,
        text: &str,
    ) -> Result<Self, ConfigError> {
        let Some(section) = section else {
            return Ok(Self::default());
        };
        let error =
            |span: Range<usize>, message: String| ConfigError::at(file, text, span.start, message);
        let rate = |value: &Option<Spanned<u32>>, key: &str, default: u32| match value {
            None => Ok(default),
            Some(value) if (1..=MAX_RATE).contains(value.get_ref()) => Ok(*value.get_ref()),
            Some(value) => Err(error(
                value.span(),
                format!(
                    "rrl.{key}: {} is not between 1 and {MAX_RATE}",
                    value.get_ref()
                ),
            )),
        };
        let responses_per_second = rate(
            &section.responses_per_second,
            "responses_per_second",
            DEFAULT_RESPONSES_PER_SECOND,
        )?;
        let burst = rate(&section.burst, "burst", responses_per_second)?;
        let passed_per_second = rate(
            &section.passed_per_second,
            "passed_per_second",
            responses_per_second
                .saturating_mul(PASSED_FACTOR)
                .min(MAX_RATE),
        )?;
        let slip = section.slip.map_or(DEFAULT_SLIP, |slip| *slip.get_ref());
        let prefix = |value: Option<Spanned<u8>>, key: &str, default: u8, max: u8| match value {
            None => Ok(default),
            Some(value) if *value.get_ref() <= max => Ok(*value.get_ref()),
            Some(value) => Err(error(
                value.span(),
                format!("rrl.{key}: /{} is longer than /{max}", value.get_ref()),
            )),
        };
        let ipv4_prefix = prefix(section.ipv4_prefix, "ipv4_prefix", DEFAULT_IPV4_PREFIX, 32)?;
        let ipv6_prefix = prefix(
            section.ipv6_prefix,
            "ipv6_prefix",
            DEFAULT_IPV6_PREFIX,
            MAX_IPV6_PREFIX,
        )?;
        let allow = section
            .allow
            .iter()
            .map(|entry| {
                AllowPrefix::parse(entry.get_ref())
                    .map_err(|message| error(entry.span(), format!("rrl.allow: {message}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            enabled: section.enabled.unwrap_or(true),
            log_only: section.log_only.unwrap_or(false),
            responses_per_second,
            burst,
            passed_per_second,
            slip,
            ipv4_prefix,
            ipv6_prefix,
            allow,
        })
    }
}

impl AllowPrefix {
    /// Parses `address[/length]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, length) = crate::config::parse_prefix(text)?;
        Ok(Self::new(address, length))
    }
}
