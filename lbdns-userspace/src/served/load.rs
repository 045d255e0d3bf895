//! Loading what the daemon serves from its settings: the configuration file and flags, every
//! zone, the catalog with its pool owners and identity, and the pools checked against it.

use std::path::Path;
use std::sync::Arc;

use hickory_proto::rr::Name;

use crate::authority::{Catalog, DuplicateZone, ZoneData};
use crate::config::{ConfigError, Overrides, Settings};
use crate::pool::{self, PoolConfigError, PoolSet};
use crate::secondary::kept::Kept;
use crate::transfer_out::Transfers;
use crate::zone::{self, Zone, ZoneErrors};

use super::answers::answers;
use super::owners::CatalogZones;
use super::reread;

/// Why nothing was loaded. Every variant names its `file:line` or its cause; [`messages`]
/// gives one line each, so start-up and `check` print them plainly and a reload logs them.
///
/// [`messages`]: LoadError::messages
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("no zones to serve: give --zone FILE or [[zone]] in --config")]
    NoZones,
    /// Every zone file's errors, not only the first file's: one pass finds them all.
    #[error("{} zone file(s) with errors", .0.len())]
    Zones(Vec<ZoneErrors>),
    #[error(transparent)]
    Catalog(#[from] DuplicateZone),
    #[error(transparent)]
    Pools(#[from] PoolConfigError),
}

impl LoadError {
    /// One `file:line: message` line per error.
    pub fn messages(&self) -> Vec<String> {
        match self {
            Self::Zones(errors) => errors.iter().flat_map(ZoneErrors::messages).collect(),
            other => vec![other.to_string()],
        }
    }
}

/// What one load produced: the catalog both paths answer from, the zones read whole to build
/// it (for the metrics and `check`, then dropped) and those a reload patched over the catalog
/// in force instead, the pools in their configured state, and the secondary zones read from
/// their kept copies (not those carried over).
#[derive(Debug)]
pub struct Loaded {
    pub catalog: Catalog,
    pub zones: Vec<Zone>,
    pub patched: Vec<Arc<ZoneData>>,
    pub pools: PoolSet,
    pub secondaries: Vec<Kept>,
}

/// Secondary zones whose data is carried over from the catalog in force (a reload where
/// their configuration did not change), rather than read again from the kept copy.
pub type Carried = Vec<(Name, Option<Arc<ZoneData>>)>;

/// Combines the configuration file and the flags (whose zones come on top of the file's).
pub fn settings(config: Option<&Path>, overrides: Overrides) -> Result<Settings, LoadError> {
    let settings = Settings::new(config, overrides)?;
    if settings.zones.is_empty() && settings.secondaries.is_empty() {
        return Err(LoadError::NoZones);
    }
    Ok(settings)
}

/// Signatures named one by one in the expiry warnings of a zone.
const MAX_EXPIRY_WARNINGS: usize = 10;

/// Loads every zone, builds the catalog, and checks the pools against it; logs zone warnings.
/// The pool answers are set in the catalog, so it answers as soon as it is put in service.
/// Secondary zones come from their kept copies, served unless missing or expired.
pub fn load(settings: &Settings) -> Result<Loaded, LoadError> {
    load_carrying(settings, Carried::new(), None)
}

/// [`load`], with the secondary zones in `carried` taken as they are instead of read again,
/// and each zone file that `in_force` (the catalog a reload replaces) serves read as a patch
/// over its index where it can be (`served::reread`).
pub fn load_carrying(
    settings: &Settings,
    carried: Carried,
    in_force: Option<&Catalog>,
) -> Result<Loaded, LoadError> {
    let mut patched = Vec::new();
    // The origin each zone file was loaded with, for the transfer rules named by file.
    let mut files = Vec::new();
    let mut whole = Vec::new();
    for spec in &settings.zones {
        let Some(in_force) = in_force else {
            whole.push(spec.clone());
            continue;
        };
        match reread::over_index(spec, in_force) {
            Ok((data, warnings)) => {
                for warning in &warnings {
                    tracing::warn!("{warning}");
                }
                let changed = in_force
                    .zone_at(&data.origin)
                    .flatten()
                    .and_then(|old| data.patched_names(old))
                    .map_or(0, <[_]>::len);
                tracing::info!(
                    file = %spec.file.display(),
                    names = changed,
                    "zone file read again as a patch over the zone in force"
                );
                files.push((spec.file.clone(), data.origin.clone()));
                patched.push(Arc::new(data));
            }
            Err(why) => {
                tracing::info!(file = %spec.file.display(), "zone file read whole: {why}");
                whole.push(spec.clone());
            }
        }
    }
    let zones = zone::load_all(&whole).map_err(LoadError::Zones)?;
    files.extend(
        whole
            .iter()
            .zip(&zones)
            .map(|(spec, zone)| (spec.file.clone(), zone.origin.clone())),
    );
    let started = std::time::SystemTime::now();
    let secondaries: Vec<Kept> = settings
        .secondaries
        .iter()
        .filter(|spec| !carried.iter().any(|(origin, _)| *origin == spec.origin))
        .map(|spec| Kept::read(spec, &settings.secondary_timers, started))
        .collect();
    let kept = secondaries
        .iter()
        .filter_map(|kept| kept.copy.as_ref().map(|(zone, _)| zone));
    for warning in zones.iter().chain(kept.clone()).flat_map(|z| &z.warnings) {
        tracing::warn!("{warning}");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let window = settings.expiry_warning.as_secs();
    // A zone near expiry has a signature on every RRset: name a few, count the rest.
    for zone in zones.iter().chain(kept) {
        let expiring = zone::dnssec::expiring(zone, now, window);
        for warning in expiring.iter().take(MAX_EXPIRY_WARNINGS) {
            tracing::warn!("{warning}");
        }
        if let Some(more) = expiring.len().checked_sub(MAX_EXPIRY_WARNINGS + 1) {
            tracing::warn!(
                "zone {}: {} more signatures expire within the warning window",
                zone.origin,
                more + 1
            );
        }
    }
    let catalog = Catalog::new(&zones)?
        .with_zones(
            patched
                .iter()
                .map(|data| (data.origin.clone(), Some(data.clone()))),
        )?
        .with_zones(secondaries.iter().map(|kept| {
            let data = kept
                .copy
                .as_ref()
                .map(|(zone, _)| Arc::new(ZoneData::new(zone)));
            (kept.spec.origin.clone(), data)
        }))?
        .with_zones(carried)?;
    let pools = match &settings.source {
        Some(text) => pool::validate(
            &settings.pools,
            text.source(),
            &CatalogZones(&catalog),
            &settings.geo.locations,
        )?,
        None => Vec::new(),
    };
    let catalog = catalog
        .with_pool_owners(pools.iter().map(|p| p.owner.clone()))
        .with_pool_nodata(
            pools
                .iter()
                .flat_map(|pool| pool.absent_types().map(|rtype| (pool.owner.clone(), rtype))),
        )
        .with_identity(settings.identity.clone())
        .with_rate_limits(settings.rate_limits.clone())
        .with_cookies(settings.cookies.clone())
        .with_geo(settings.geo.clone())
        .with_transfers(Transfers::new(
            settings.keys.clone(),
            &settings.transfer_rules,
            &files,
        ));
    let pools = PoolSet::new(pools);
    catalog.set_pools(answers(&pools));
    Ok(Loaded {
        catalog,
        zones,
        patched,
        pools,
        secondaries,
    })
}
