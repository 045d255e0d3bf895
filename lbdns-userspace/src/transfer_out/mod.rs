//! Serving zone transfers (RFC 5936 AXFR, RFC 1995 IXFR) to the hosts and keys each zone's
//! `provide_xfr` list names, and the per-zone `notify` list that `notify_out` announces serial
//! changes to.
//!
//! ```toml
//! [[zone]]
//! file = "example.com.zone"
//! provide_xfr = ["198.18.0.0/15 xfr-key", "127.0.0.1 NOKEY"]   # see `acl`
//! notify = ["198.18.0.2 xfr-key"]
//! ```
//!
//! The rules travel with the catalog ([`Catalog::transfers`](crate::authority::Catalog)), so a
//! reload swaps zones, keys and lists together and a request sees one version of them.

mod acl;
mod axfr;
mod history;
mod serve;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::ops::Range;
use std::path::PathBuf;

use foldhash::HashMap;
use hickory_proto::rr::{LowerName, Name};
use toml::Spanned;

pub use acl::{Allow, NotifyTarget};
pub use history::{record as record_differences, Histories};
pub use serve::{answer, is_transfer, soa_serial, Transfer};

use crate::config::ConfigError;
use crate::tsig::KeyRing;

/// One `[[zone]]`'s `provide_xfr` and `notify`, as configured; its origin is known once the
/// zone is loaded unless the table gives it.
#[derive(Debug, Clone)]
pub struct ZoneRules {
    /// The zone file, to find the zone when `origin` is not given.
    pub file: PathBuf,
    pub origin: Option<Name>,
    pub provide_xfr: Vec<Allow>,
    pub notify: Vec<NotifyTarget>,
}

impl ZoneRules {
    /// Parses a `[[zone]]`'s lists; every key they name must be one of `keys`. `error` turns a
    /// span of the file into a `file:line` error. `None` when both lists are empty.
    pub fn parse(
        file: PathBuf,
        origin: Option<Name>,
        provide_xfr: &[Spanned<String>],
        notify: &[Spanned<String>],
        keys: &KeyRing,
        error: impl Fn(Range<usize>, String) -> ConfigError,
    ) -> Result<Option<Self>, ConfigError> {
        if provide_xfr.is_empty() && notify.is_empty() {
            return Ok(None);
        }
        let known = |key: &Option<Name>, span: Range<usize>, field: &str| match key {
            Some(key) if keys.get(key).is_none() => Err(error(
                span,
                format!("zone.{field}: key {key} is not defined in a [[key]] table"),
            )),
            _ => Ok(()),
        };
        let mut rules = Self {
            file,
            origin,
            provide_xfr: Vec::new(),
            notify: Vec::new(),
        };
        for entry in provide_xfr {
            let allow = Allow::parse(entry.get_ref())
                .map_err(|e| error(entry.span(), format!("zone.provide_xfr: {e}")))?;
            known(&allow.key, entry.span(), "provide_xfr")?;
            rules.provide_xfr.push(allow);
        }
        for entry in notify {
            let target = NotifyTarget::parse(entry.get_ref())
                .map_err(|e| error(entry.span(), format!("zone.notify: {e}")))?;
            known(&target.key, entry.span(), "notify")?;
            rules.notify.push(target);
        }
        Ok(Some(rules))
    }
}

/// The transfer rules of one served zone.
#[derive(Debug, Clone, Default)]
pub struct ZoneTransfers {
    pub provide_xfr: Vec<Allow>,
    pub notify: Vec<NotifyTarget>,
}

impl ZoneTransfers {
    /// Whether a request from `peer`, signed with `key` (verified) or unsigned, may transfer.
    pub fn permits(&self, peer: IpAddr, key: Option<&Name>) -> bool {
        self.provide_xfr
            .iter()
            .any(|allow| allow.permits(peer, key))
    }
}

/// Every zone's transfer rules and the keys they name, and the differences kept for IXFR:
/// what the catalog carries.
#[derive(Debug, Default)]
pub struct Transfers {
    pub keys: KeyRing,
    zones: HashMap<LowerName, ZoneTransfers>,
    histories: Histories,
}

impl Transfers {
    /// The rules of `rules` placed at their zones' apexes: a rule without an origin belongs to
    /// the zone loaded from its file (`files` pairs each zone file with the origin it was
    /// loaded with).
    pub fn new(keys: KeyRing, rules: &[ZoneRules], files: &[(PathBuf, Name)]) -> Self {
        let mut placed = HashMap::default();
        for rule in rules {
            let origin = rule.origin.clone().or_else(|| {
                files
                    .iter()
                    .find(|(file, _)| *file == rule.file)
                    .map(|(_, origin)| origin.clone())
            });
            if let Some(origin) = origin {
                placed.insert(
                    LowerName::new(&origin),
                    ZoneTransfers {
                        provide_xfr: rule.provide_xfr.clone(),
                        notify: rule.notify.clone(),
                    },
                );
            }
        }
        Self {
            keys,
            zones: placed,
            histories: Histories::default(),
        }
    }

    /// The differences kept for IXFR, carried from catalog to catalog by
    /// [`record_differences`].
    pub fn histories(&self) -> &Histories {
        &self.histories
    }

    /// Every zone with rules, by origin.
    pub fn zones(&self) -> impl Iterator<Item = (Name, &ZoneTransfers)> {
        self.zones
            .iter()
            .map(|(origin, rules)| (origin.into(), rules))
    }

    /// The rules of the zone whose apex is `origin`.
    pub fn zone(&self, origin: &Name) -> Option<&ZoneTransfers> {
        self.zones.get(&LowerName::new(origin))
    }
}
