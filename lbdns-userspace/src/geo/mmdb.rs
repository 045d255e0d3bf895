//! A MaxMind-format database (`.mmdb`) → prefixes with locations, through the configured
//! country and continent mappings.
//!
//! Two record schemas are read: MaxMind's GeoIP2/GeoLite2 (`country.iso_code`,
//! `continent.code`) and the flat one of the ip-location-db packages (`country_code`, no
//! continent). A network whose country is mapped takes that location; otherwise its
//! continent's; otherwise it stays unmapped and is left out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{MaxMindDbError, Reader, WithinOptions};
use serde::Deserialize;

use super::{LocationId, Prefix};

/// Which countries (ISO 3166-1 alpha-2) and continents (two-letter codes: EU, NA, AS, …) go
/// to which location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MmdbMapping {
    pub countries: HashMap<String, LocationId>,
    pub continents: HashMap<String, LocationId>,
}

/// The database cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", file.display())]
pub struct MmdbError {
    pub file: PathBuf,
    #[source]
    pub source: MaxMindDbError,
}

/// One record in either schema; every field optional, so a record of another kind of
/// database (ASN, say) simply maps nowhere.
#[derive(Debug, Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<Code<'a>>,
    #[serde(borrow)]
    continent: Option<Code<'a>>,
    country_code: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
struct Code<'a> {
    iso_code: Option<&'a str>,
    code: Option<&'a str>,
}

/// Every network of the database at `file` that the mapping gives a location, in the
/// database's order (disjoint, as a database's networks are). IPv4 networks of an IPv6
/// database come back as IPv4 prefixes.
pub fn read_database(
    file: &Path,
    mapping: &MmdbMapping,
) -> Result<Vec<(Prefix, LocationId)>, MmdbError> {
    let error = |source| MmdbError {
        file: file.to_path_buf(),
        source,
    };
    let reader = Reader::open_readfile(file).map_err(error)?;
    let mut prefixes = Vec::new();
    // Networks share records; decode each record once.
    let mut by_offset: HashMap<usize, Option<LocationId>> = HashMap::new();
    for network in reader.networks(WithinOptions::default()).map_err(error)? {
        let network = network.map_err(error)?;
        let Some(offset) = network.offset() else {
            continue;
        };
        let location = match by_offset.get(&offset) {
            Some(&location) => location,
            None => {
                let record: Option<Record<'_>> = network.decode().map_err(error)?;
                let location = record.and_then(|r| locate(&r, mapping));
                by_offset.insert(offset, location);
                location
            }
        };
        let Some(location) = location else {
            continue;
        };
        let net = network.network().map_err(error)?;
        prefixes.push((prefix(net.ip(), net.prefix()), location));
    }
    Ok(prefixes)
}

/// The location of one record: its country's, else its continent's.
fn locate(record: &Record<'_>, mapping: &MmdbMapping) -> Option<LocationId> {
    let country = record
        .country_code
        .or_else(|| record.country.as_ref().and_then(|c| c.iso_code));
    let continent = record.continent.as_ref().and_then(|c| c.code);
    country
        .and_then(|c| mapping.countries.get(c))
        .or_else(|| continent.and_then(|c| mapping.continents.get(c)))
        .copied()
}

/// A network as a `Prefix`, IPv4-mapped IPv6 networks as the IPv4 ones they are.
fn prefix(addr: IpAddr, len: u8) -> Prefix {
    match addr {
        IpAddr::V6(v6) if len >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => Prefix::new(IpAddr::V4(v4), len - 96),
            None => Prefix::new(addr, len),
        },
        _ => Prefix::new(addr, len),
    }
}
