//! Client locations: which named location a client address belongs to, for geo pools
//! (`policy = "geo"`) and EDNS Client Subnet (RFC 7871).
//!
//! Pure but for reading the files the configuration names: `config` validates the `[geo]`
//! section into `Locations` (the names and their fallback orders) and a `GeoMap`; `map` is the
//! classifier, built once per load from the subnet entries and the database, deaggregated into
//! disjoint prefixes so that the prefix an address falls in is also the ECS scope of the
//! answer; `mmdb` reads a MaxMind-format database into prefixes. Both paths use the same
//! `GeoMap`: the socket path calls `locate`, the XDP compiler copies `entries` into LPM maps.

mod config;
mod map;
mod mmdb;

pub use config::{
    parse_prefix, EcsSettings, GeoEntry, GeoSettings, LocationEntry, MmdbEntry, SubnetEntry,
    DEFAULT_ECS_MAX_V4, DEFAULT_ECS_MAX_V6,
};
pub use map::{GeoMap, GeoPrefix, Located, Prefix};
pub use mmdb::{read_database, MmdbError, MmdbMapping};

/// A location's index in `Locations`, in configuration order. 16 bits: what the XDP maps
/// store per prefix and per answer set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationId(pub u16);

/// The configured locations: names ↔ ids, and each location's fallback order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations {
    names: Vec<String>,
    /// `fallback[id]`: the locations tried, in order, when none of `id`'s endpoints is healthy.
    fallback: Vec<Vec<LocationId>>,
}

impl Locations {
    /// Locations from `(name, fallback order)` pairs; ids are positions. The caller (config)
    /// has checked that names are unique, fallbacks known and free of loops.
    pub fn new(entries: Vec<(String, Vec<LocationId>)>) -> Self {
        let (names, fallback) = entries.into_iter().unzip();
        Self { names, fallback }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The id of the location called `name`.
    pub fn id(&self, name: &str) -> Option<LocationId> {
        let index = self.names.iter().position(|n| n == name)?;
        Some(LocationId(u16::try_from(index).ok()?))
    }

    pub fn name(&self, id: LocationId) -> &str {
        &self.names[usize::from(id.0)]
    }

    /// Every id, in configuration order.
    pub fn ids(&self) -> impl Iterator<Item = LocationId> {
        (0..self.names.len()).map(|i| LocationId(i as u16))
    }

    /// `id`'s fallback locations, in the order they are tried (never `id` itself).
    pub fn fallback(&self, id: LocationId) -> &[LocationId] {
        &self.fallback[usize::from(id.0)]
    }

    /// `id` followed by its fallbacks: the order a geo pool tries locations for a client
    /// located at `id`.
    pub fn order(&self, id: LocationId) -> impl Iterator<Item = LocationId> + '_ {
        std::iter::once(id).chain(self.fallback(id).iter().copied())
    }
}

#[cfg(test)]
mod tests;
