//! The secondary zones running: one handle each (its configuration, its status, the bell a
//! NOTIFY rings, its task), shared by the daemon, `lbdns status` and the NOTIFY handler.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use hickory_proto::rr::LowerName;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::config::{SecondarySpec, TimerBounds};
use super::kept::Kept;
use super::status::ZoneStatus;
use super::task::{self, Context};
use super::transfer::Transfer;
use crate::tsig::KeyRing;

/// One running secondary zone.
#[derive(Debug)]
pub struct Handle {
    pub spec: SecondarySpec,
    status: Mutex<ZoneStatus>,
    /// Rung by a NOTIFY from a primary: the task refreshes at once (a ring while it is
    /// refreshing is kept, so a change announced meanwhile is fetched next).
    pub wake: Notify,
    task: Mutex<Option<AbortHandle>>,
}

impl Handle {
    pub fn status(&self) -> MutexGuard<'_, ZoneStatus> {
        lock(&self.status)
    }
}

/// The secondary zones as a load or reload configured them.
#[derive(Debug, Default)]
pub struct Configured {
    /// Every secondary zone configured.
    pub specs: Vec<SecondarySpec>,
    /// Those read from their kept copies, which need a task started afresh; the others keep
    /// theirs.
    pub kept: Vec<Kept>,
    pub bounds: TimerBounds,
    pub keys: KeyRing,
}

/// Every secondary zone, by apex, and the TSIG keys their NOTIFYs are checked with.
#[derive(Debug, Default)]
pub struct Secondaries {
    zones: Mutex<BTreeMap<LowerName, Arc<Handle>>>,
    keys: Mutex<Arc<KeyRing>>,
}

impl Secondaries {
    /// The configurations running now, which a reload may keep as they are.
    pub fn specs(&self) -> Vec<SecondarySpec> {
        lock(&self.zones)
            .values()
            .map(|handle| handle.spec.clone())
            .collect()
    }

    /// The zone with apex `origin`, if we are its secondary.
    pub fn get(&self, origin: &LowerName) -> Option<Arc<Handle>> {
        lock(&self.zones).get(origin).cloned()
    }

    /// The TSIG keys now configured.
    pub fn keys(&self) -> Arc<KeyRing> {
        lock(&self.keys).clone()
    }

    /// Makes the running zones those of `wanted`: a zone no longer configured stops, and
    /// each of `fresh` (new, or configured differently) starts from its kept copy with a
    /// refresh at once. A zone in `wanted` but not in `fresh` keeps its task, data and state.
    /// Must be called inside the tokio runtime.
    pub fn update<T: Transfer>(&self, configured: Configured, context: &Context<T>) {
        let Configured {
            specs: wanted,
            kept: fresh,
            bounds,
            keys,
        } = configured;
        *lock(&context.bounds) = bounds;
        let keys = Arc::new(keys);
        *lock(&context.keys) = keys.clone();
        *lock(&self.keys) = keys;
        let mut zones = lock(&self.zones);
        zones.retain(|origin, handle| {
            let keep = wanted.contains(&handle.spec)
                && !fresh
                    .iter()
                    .any(|k| LowerName::new(&k.spec.origin) == *origin);
            // The task holds its handle too: it must be stopped, not just forgotten.
            if !keep {
                if let Some(task) = lock(&handle.task).take() {
                    task.abort();
                }
            }
            keep
        });
        let now = SystemTime::now();
        for kept in fresh {
            // The copy is served already: its index is what the task keeps, not its records.
            let (current, state) = match kept.copy {
                Some((_, state)) => (context.served.zone_data(&kept.spec.origin), Some(state)),
                None => (None, None),
            };
            let handle = Arc::new(Handle {
                status: Mutex::new(ZoneStatus {
                    zone: kept.spec.origin.to_ascii(),
                    primaries: kept.spec.primaries.clone(),
                    serial: state.as_ref().map(|s| s.serial),
                    serving: current.is_some(),
                    last_refresh: state.as_ref().map(|s| s.refreshed),
                    next_refresh: now,
                    expires: state.as_ref().map(|s| s.expires),
                    last_error: None,
                    failures: 0,
                    full_transfers: 0,
                    incremental_transfers: 0,
                }),
                spec: kept.spec,
                wake: Notify::new(),
                task: Mutex::new(None),
            });
            let task = tokio::spawn(task::run(handle.clone(), current, context.clone()));
            *lock(&handle.task) = Some(task.abort_handle());
            zones.insert(LowerName::new(&handle.spec.origin), handle);
        }
        // The kept copies' records, read to be indexed, are dropped by now.
        crate::served::release_freed_memory();
    }

    /// Every zone's status, in apex order.
    pub fn status(&self) -> Vec<ZoneStatus> {
        lock(&self.zones)
            .values()
            .map(|handle| handle.status().clone())
            .collect()
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these is a bug already reported; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
