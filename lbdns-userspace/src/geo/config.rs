//! The `[geo]` section: locations, the subnet maps and the database that place clients in
//! them, and the EDNS Client Subnet settings. Validated into `GeoSettings`; every error names
//! `file:line`.
//!
//! ```toml
//! [geo]
//! ecs = true                   # answer EDNS Client Subnet (RFC 7871); default true
//! ecs_max_v4 = 24              # the most of an ECS IPv4 address used (RFC 7871 §11.1); default 24
//! ecs_max_v6 = 56              # the same for IPv6; default 56
//! subnet_file = "subnets.txt"  # optional: "prefix location" lines, '#' comments
//!
//! [[geo.location]]
//! name = "eu-west"
//! fallback = ["eu-central", "us-east"]   # tried in order when eu-west has nothing healthy
//!
//! [[geo.subnet]]
//! prefix = "198.51.100.0/24"
//! location = "eu-west"
//!
//! [geo.mmdb]
//! files = ["country-ipv4.mmdb", "country-ipv6.mmdb"]  # MaxMind format; relative to this file
//! countries = { DE = "eu-west", US = "us-east" }
//! continents = { EU = "eu-west" }
//! ```
//!
//! Subnet entries (from the table and the file) win over the database, and the most specific
//! prefix wins. A location's fallbacks are followed transitively: when eu-central has nothing
//! either, its own fallbacks come next; a loop is an error.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::map::{GeoMap, Prefix};
use super::mmdb::{read_database, MmdbMapping};
use super::{LocationId, Locations};
use crate::config::ConfigError;

/// RFC 7871 §11.1: resolvers SHOULD send at most /24 of IPv4 and /56 of IPv6; an authority
/// that uses no more keeps to the same privacy bound whatever it is sent.
pub const DEFAULT_ECS_MAX_V4: u8 = 24;
pub const DEFAULT_ECS_MAX_V6: u8 = 56;

/// The `[geo]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoEntry {
    pub ecs: Option<Spanned<bool>>,
    pub ecs_max_v4: Option<Spanned<u8>>,
    pub ecs_max_v6: Option<Spanned<u8>>,
    pub subnet_file: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub location: Vec<LocationEntry>,
    #[serde(default)]
    pub subnet: Vec<SubnetEntry>,
    pub mmdb: Option<MmdbEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationEntry {
    pub name: Spanned<String>,
    #[serde(default)]
    pub fallback: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetEntry {
    pub prefix: Spanned<String>,
    pub location: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MmdbEntry {
    pub file: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub files: Vec<Spanned<PathBuf>>,
    #[serde(default)]
    pub countries: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub continents: BTreeMap<String, Spanned<String>>,
}

/// The validated `[geo]` section, shared by both paths and swapped whole on reload.
#[derive(Debug, Clone, Default)]
pub struct GeoSettings {
    pub locations: Arc<Locations>,
    pub map: Arc<GeoMap>,
    pub ecs: EcsSettings,
}

/// How EDNS Client Subnet is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcsSettings {
    /// Off: the option is ignored as an unknown one (RFC 7871 §7.1.3: no ECS in the reply).
    pub enabled: bool,
    /// The most leading bits of an ECS address used to locate the client, per family.
    pub max_v4: u8,
    pub max_v6: u8,
}

impl Default for EcsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_v4: DEFAULT_ECS_MAX_V4,
            max_v6: DEFAULT_ECS_MAX_V6,
        }
    }
}

impl EcsSettings {
    /// The most leading bits of an ECS address of this family (IPv6 when `v6`) that are used.
    pub fn cap(&self, v6: bool) -> u8 {
        if v6 {
            self.max_v6
        } else {
            self.max_v4
        }
    }
}

impl GeoSettings {
    /// Validates `entry`, read from `file` (text `text`); files it names are relative to
    /// `base`. Reads the subnet file and the databases.
    pub fn from_entry(
        entry: GeoEntry,
        file: &Path,
        text: &str,
        base: &Path,
    ) -> Result<Self, ConfigError> {
        let error =
            |span: Range<usize>, message: String| ConfigError::at(file, text, span.start, message);
        let locations = Arc::new(locations(&entry.location, &error)?);
        let find = |name: &Spanned<String>, field: &str| {
            locations.id(name.get_ref()).ok_or_else(|| {
                error(
                    name.span(),
                    format!("{field}: no [[geo.location]] is named {:?}", name.get_ref()),
                )
            })
        };
        let mut subnets: Vec<(Prefix, LocationId)> = Vec::new();
        let mut seen: HashSet<Prefix> = HashSet::new();
        for subnet in &entry.subnet {
            let prefix = parse_prefix(subnet.prefix.get_ref())
                .map_err(|m| error(subnet.prefix.span(), format!("geo.subnet.prefix: {m}")))?;
            if !seen.insert(prefix) {
                let message = format!("geo.subnet.prefix: {prefix} is mapped twice");
                return Err(error(subnet.prefix.span(), message));
            }
            subnets.push((prefix, find(&subnet.location, "geo.subnet.location")?));
        }
        if let Some(list) = &entry.subnet_file {
            let path = base.join(list.get_ref());
            let content = std::fs::read_to_string(&path).map_err(|e| {
                let message = format!("geo.subnet_file: cannot read {}: {e}", path.display());
                error(list.span(), message)
            })?;
            for (line, prefix, location) in subnet_lines(&path, &content, &locations)? {
                if !seen.insert(prefix) {
                    return Err(ConfigError {
                        file: path.clone(),
                        line,
                        message: format!("{prefix} is mapped twice"),
                    });
                }
                subnets.push((prefix, location));
            }
        }
        let mut networks = Vec::new();
        if let Some(mmdb) = &entry.mmdb {
            let mut mapping = MmdbMapping::default();
            for (code, name) in &mmdb.countries {
                mapping
                    .countries
                    .insert(code.clone(), find(name, "geo.mmdb.countries")?);
            }
            for (code, name) in &mmdb.continents {
                mapping
                    .continents
                    .insert(code.clone(), find(name, "geo.mmdb.continents")?);
            }
            let files: Vec<&Spanned<PathBuf>> = mmdb.file.iter().chain(&mmdb.files).collect();
            if files.is_empty() {
                let span = mmdb
                    .countries
                    .values()
                    .chain(mmdb.continents.values())
                    .next()
                    .map_or(0..0, Spanned::span);
                let message = "geo.mmdb: name the database with file or files".to_owned();
                return Err(error(span, message));
            }
            for database in files {
                let path = base.join(database.get_ref());
                let read = read_database(&path, &mapping).map_err(|e| {
                    error(
                        database.span(),
                        format!("geo.mmdb: unreadable database {e}"),
                    )
                })?;
                networks.extend(read);
            }
        }
        let cap = |value: &Option<Spanned<u8>>, field: &str, default: u8, width: u8| match value {
            Some(v) if *v.get_ref() > width => {
                Err(error(v.span(), format!("{field}: at most {width} bits")))
            }
            Some(v) => Ok(*v.get_ref()),
            None => Ok(default),
        };
        let ecs = EcsSettings {
            enabled: entry.ecs.as_ref().is_none_or(|e| *e.get_ref()),
            max_v4: cap(&entry.ecs_max_v4, "geo.ecs_max_v4", DEFAULT_ECS_MAX_V4, 32)?,
            max_v6: cap(&entry.ecs_max_v6, "geo.ecs_max_v6", DEFAULT_ECS_MAX_V6, 128)?,
        };
        Ok(Self {
            locations,
            map: Arc::new(GeoMap::new(&subnets, &networks)),
            ecs,
        })
    }
}

/// The `[[geo.location]]` tables → `Locations`, fallbacks expanded transitively.
fn locations(
    entries: &[LocationEntry],
    error: &impl Fn(Range<usize>, String) -> ConfigError,
) -> Result<Locations, ConfigError> {
    let mut names: Vec<&str> = Vec::new();
    for entry in entries {
        let name = entry.name.get_ref();
        if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_graphic()) {
            let message =
                format!("geo.location.name: {name:?} is not a name (1 to 64 visible characters)");
            return Err(error(entry.name.span(), message));
        }
        if names.contains(&name.as_str()) {
            let message = format!("geo.location.name: {name} is defined twice");
            return Err(error(entry.name.span(), message));
        }
        names.push(name);
    }
    if names.len() > usize::from(u16::MAX) {
        let span = entries.last().map_or(0..0, |e| e.name.span());
        return Err(error(span, "geo.location: too many locations".to_owned()));
    }
    let id = |name: &str| names.iter().position(|n| *n == name);
    let mut direct: Vec<Vec<usize>> = Vec::with_capacity(entries.len());
    for (own, entry) in entries.iter().enumerate() {
        let mut list = Vec::new();
        for fallback in &entry.fallback {
            let Some(target) = id(fallback.get_ref()) else {
                let message = format!(
                    "geo.location.fallback: no [[geo.location]] is named {:?}",
                    fallback.get_ref()
                );
                return Err(error(fallback.span(), message));
            };
            if target == own || list.contains(&target) {
                let message = format!(
                    "geo.location.fallback: {} is listed twice in the fallback order of {}",
                    fallback.get_ref(),
                    names[own]
                );
                return Err(error(fallback.span(), message));
            }
            list.push(target);
        }
        direct.push(list);
    }
    let mut expanded = Vec::with_capacity(entries.len());
    for (own, entry) in entries.iter().enumerate() {
        let mut order = Vec::new();
        let mut path = vec![own];
        expand(own, &direct, &mut order, &mut path).map_err(|cycle| {
            let route: Vec<&str> = cycle.iter().map(|&i| names[i]).collect();
            let span = entry
                .fallback
                .first()
                .map_or(entry.name.span(), Spanned::span);
            error(
                span,
                format!(
                    "geo.location.fallback: the fallback order loops: {}",
                    route.join(" → ")
                ),
            )
        })?;
        expanded.push((
            names[own].to_owned(),
            order
                .into_iter()
                .filter(|&i| i != own)
                .map(|i| LocationId(i as u16))
                .collect(),
        ));
    }
    Ok(Locations::new(expanded))
}

/// Depth-first: each fallback, then its own fallbacks, skipping locations already ordered.
/// `Err` carries the loop found.
fn expand(
    at: usize,
    direct: &[Vec<usize>],
    order: &mut Vec<usize>,
    path: &mut Vec<usize>,
) -> Result<(), Vec<usize>> {
    for &next in &direct[at] {
        if path.contains(&next) {
            let mut cycle = path.clone();
            cycle.push(next);
            return Err(cycle);
        }
        if !order.contains(&next) {
            order.push(next);
        }
        path.push(next);
        expand(next, direct, order, path)?;
        path.pop();
    }
    Ok(())
}

/// `198.51.100.0/24` or `2001:db8::/32`: bits past the length must be zero. A bare address
/// is a host prefix.
pub fn parse_prefix(text: &str) -> Result<Prefix, String> {
    let (addr, len) = crate::config::parse_prefix(text)?;
    if !Prefix::is_exact(addr, len) {
        let exact = Prefix::new(addr, len);
        return Err(format!(
            "{text:?} has bits set past its length; did you mean {exact}?"
        ));
    }
    Ok(Prefix::new(addr, len))
}

/// The lines of a subnet file: `prefix location`, blank lines and `#` comments skipped;
/// each with its line number.
fn subnet_lines(
    path: &Path,
    content: &str,
    locations: &Locations,
) -> Result<Vec<(usize, Prefix, LocationId)>, ConfigError> {
    let mut out = Vec::new();
    for (index, line) in content.lines().enumerate() {
        let error = |message: String| ConfigError {
            file: path.to_path_buf(),
            line: index + 1,
            message,
        };
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(prefix) = words.next() else {
            continue;
        };
        let (Some(name), None) = (words.next(), words.next()) else {
            return Err(error("expected \"prefix location\"".to_owned()));
        };
        let prefix = parse_prefix(prefix).map_err(error)?;
        let location = locations
            .id(name)
            .ok_or_else(|| error(format!("no [[geo.location]] is named {name:?}")))?;
        out.push((index + 1, prefix, location));
    }
    Ok(out)
}
