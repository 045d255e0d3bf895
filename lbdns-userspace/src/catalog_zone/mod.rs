//! Catalog zones (RFC 9432), as a consumer: a secondary zone whose records list other zones,
//! which lbdns then serves as secondaries of the catalog's primaries.
//!
//! The member set is a function of the catalog's kept copy on disk: the configuration
//! (`config`) reads it with `members::read` and adds one secondary zone per member, so
//! start-up serves the members' kept copies at once, with no member list of our own to keep
//! in step. A catalog transfer goes through the secondary machinery like any zone;
//! `consumer::Consumer` sits in front of its `keep` step: a catalog we refuse (wrong schema
//! version) is not kept, so the member set in force stays; one whose member set changed asks
//! the daemon for a reload, which starts the new members, stops and withdraws the removed
//! ones, and then `prune` removes their copies.

pub mod config;
pub mod consumer;
pub mod members;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hickory_proto::rr::{LowerName, Name};
use serde_json::{json, Value};

pub use config::{CatalogEntry, Consumed};
pub use consumer::Consumer;
pub use members::{Member, Members};

#[cfg(test)]
mod tests;

/// The catalogs configured now and the members each lists: set at start-up and by every
/// reload, read by `Consumer` and `lbdns status`.
#[derive(Debug, Default)]
pub struct Catalogs {
    consumed: Mutex<Arc<Vec<Consumed>>>,
}

impl Catalogs {
    pub fn set(&self, consumed: Vec<Consumed>) {
        *lock(&self.consumed) = Arc::new(consumed);
    }

    pub fn get(&self) -> Arc<Vec<Consumed>> {
        lock(&self.consumed).clone()
    }

    /// The catalog with apex `origin`, if we consume one.
    pub fn find(&self, origin: &Name) -> Option<Consumed> {
        let origin = LowerName::new(origin);
        self.get()
            .iter()
            .find(|c| LowerName::new(&c.spec.origin) == origin)
            .cloned()
    }

    /// Notes why the latest transfer of catalog `origin` was not applied, for `lbdns status`;
    /// its members in force stay listed.
    pub fn refused(&self, origin: &Name, reason: String) {
        let origin = LowerName::new(origin);
        let mut consumed = lock(&self.consumed);
        let mut now = Vec::clone(&consumed);
        for catalog in now
            .iter_mut()
            .filter(|c| LowerName::new(&c.spec.origin) == origin)
        {
            catalog.unread = Some(reason.clone());
        }
        *consumed = Arc::new(now);
    }

    /// Removes from each catalog's `members/` directory the copies and state files of zones
    /// it no longer lists (or lists under another unique id). Files of other names are left,
    /// and so is everything of a catalog whose kept copy is missing or was not read: no copy
    /// is removed on the word of a catalog we do not hold.
    pub fn prune(&self) {
        for catalog in self.get().iter() {
            if catalog.unread.is_some() || !catalog.spec.file.exists() {
                continue;
            }
            let keep: BTreeSet<PathBuf> = catalog
                .member_specs()
                .iter()
                .flat_map(|spec| [spec.file.clone(), spec.state_file()])
                .collect();
            prune_dir(&catalog.members_dir(), &keep);
        }
    }

    /// `lbdns status`: each catalog, its members and what was set aside.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for catalog in self.get().iter() {
            let _ = writeln!(
                out,
                "catalog {}: {} member(s), kept in {}",
                catalog.spec.origin,
                catalog.members.members.len(),
                catalog.directory.display()
            );
            if let Some(reason) = &catalog.unread {
                let _ = writeln!(out, "  not applied: {reason}");
            }
            for member in &catalog.members.members {
                let _ = write!(out, "  member {} (id {})", member.zone, member.unique);
                if !member.groups.is_empty() {
                    let _ = write!(out, " group {}", member.groups.join(","));
                }
                if let Some(coo) = &member.coo {
                    let _ = write!(out, " coo {coo} (not acted on)");
                }
                out.push('\n');
            }
            for skipped in &catalog.members.skipped {
                let _ = writeln!(out, "  skipped {}: {}", skipped.what, skipped.reason);
            }
        }
        out
    }

    pub fn json(&self) -> Value {
        self.get()
            .iter()
            .map(|catalog| {
                json!({
                    "catalog": catalog.spec.origin.to_ascii(),
                    "directory": catalog.directory,
                    "not_applied": catalog.unread,
                    "members": catalog.members.members.iter().map(|m| json!({
                        "zone": m.zone.to_ascii(),
                        "unique_id": m.unique,
                        "groups": m.groups,
                        "coo": m.coo.as_ref().map(Name::to_ascii),
                    })).collect::<Vec<_>>(),
                    "skipped": catalog.members.skipped.iter().map(|s| json!({
                        "what": s.what,
                        "reason": s.reason.to_string(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect()
    }
}

/// Logs, once per load or reload, each catalog that gives no members and each entry set aside.
pub fn log(consumed: &[Consumed]) {
    for catalog in consumed {
        let origin = &catalog.spec.origin;
        if let Some(reason) = &catalog.unread {
            tracing::warn!(catalog = %origin, "catalog not applied: {reason}");
        }
        for skipped in &catalog.members.skipped {
            tracing::warn!(catalog = %origin, member = %skipped.what, "member skipped: {}", skipped.reason);
        }
        for member in catalog.members.members.iter().filter(|m| m.coo.is_some()) {
            tracing::info!(
                catalog = %origin,
                member = %member.zone,
                coo = %member.coo.as_ref().map(Name::to_ascii).unwrap_or_default(),
                "change of ownership announced; lbdns keeps the member with this catalog until it leaves it"
            );
        }
    }
}

fn prune_dir(directory: &Path, keep: &BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            n.contains('@') && (n.ends_with(".zone") || n.ends_with(".zone.state"))
        });
        if !ours || keep.contains(&path) {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(file = %path.display(), "removed the copy of a zone no longer in its catalog")
            }
            Err(error) => {
                tracing::warn!(file = %path.display(), "cannot remove a former member's copy: {error}")
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this is a bug already reported; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
