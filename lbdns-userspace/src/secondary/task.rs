//! One secondary zone's life: a tokio task that sleeps until the next refresh, the copy's
//! expiry or a NOTIFY, refreshes from the primaries in order, and puts what it gets into
//! service through `Served::replace_zone` (AXFR) or `Served::patch_zone` (IXFR), then keeps it
//! on disk.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::config::TimerBounds;
use super::registry::Handle;
use super::state::SavedState;
use super::timers::SoaTimers;
use super::transfer::{Fetched, Transfer};
use crate::authority::ZoneData;
use crate::blocking;
use crate::served::{release_freed_memory, Served, ZoneRefused};
use crate::tsig::KeyRing;
use crate::xfr::{self, Patch};
use crate::zone::Zone;

/// Until a first copy gives an SOA, a failed refresh is retried after this (doubling, within
/// the bounds).
const NO_COPY: SoaTimers = SoaTimers {
    serial: 0,
    refresh: 0,
    retry: 5,
    expire: 0,
};

/// What every zone task shares.
pub struct Context<T> {
    pub transfer: Arc<T>,
    pub served: Arc<Served>,
    pub bounds: Arc<std::sync::Mutex<TimerBounds>>,
    /// The TSIG keys configured now: a reload may change a key's secret.
    pub keys: Arc<std::sync::Mutex<Arc<KeyRing>>>,
}

impl<T> std::fmt::Debug for Context<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

impl<T> Clone for Context<T> {
    fn clone(&self) -> Self {
        Self {
            transfer: self.transfer.clone(),
            served: self.served.clone(),
            bounds: self.bounds.clone(),
            keys: self.keys.clone(),
        }
    }
}

/// Runs the zone of `handle` for as long as the task lives; `current` is the copy held: the
/// index served from it (the records themselves are not kept in memory).
pub async fn run<T: Transfer>(
    handle: Arc<Handle>,
    mut current: Option<Arc<ZoneData>>,
    context: Context<T>,
) {
    let origin = handle.spec.origin.clone();
    loop {
        let now = SystemTime::now();
        let (next, expires, serving) = {
            let status = handle.status();
            (status.next_refresh, status.expires, status.serving)
        };
        if serving && expires.is_some_and(|at| at <= now) {
            expire(&handle, &context);
            continue;
        }
        let deadline = match expires.filter(|_| serving) {
            Some(expires) => next.min(expires),
            None => next,
        };
        let wait = deadline.duration_since(now).unwrap_or(Duration::ZERO);
        let notified = tokio::select! {
            () = tokio::time::sleep(wait) => false,
            () = handle.wake.notified() => true,
        };
        if notified {
            tracing::debug!(zone = %origin, "refreshing on NOTIFY");
        }
        if notified || SystemTime::now() >= next {
            refresh(&handle, &mut current, &context).await;
        }
    }
}

/// The copy is past its expiry: the zone is served without data (SERVFAIL) until a refresh.
fn expire<T>(handle: &Handle, context: &Context<T>) {
    let origin = &handle.spec.origin;
    match context.served.withdraw_zone(origin) {
        Ok(()) => {
            tracing::error!(zone = %origin, "zone expired: answering SERVFAIL until a primary is reached")
        }
        Err(error) => {
            tracing::error!(zone = %origin, "zone expired but cannot be withdrawn: {error}")
        }
    }
    handle.status().serving = false;
}

/// Tries each primary in order until one gives an answer that is applied.
async fn refresh<T: Transfer>(
    handle: &Handle,
    current: &mut Option<Arc<ZoneData>>,
    context: &Context<T>,
) {
    let spec = &handle.spec;
    let keys = super::registry::lock(&context.keys).clone();
    let key = spec.tsig.as_ref().and_then(|name| keys.get(name)).cloned();
    let mut errors = Vec::new();
    for &primary in &spec.primaries {
        let fetching = context
            .transfer
            .fetch(primary, key.clone(), spec, current.as_deref());
        let fetched = match fetching.await {
            Ok(fetched) => fetched,
            Err(error) => {
                // The error names the primary.
                tracing::warn!(zone = %spec.origin, "refresh failed: {error}");
                errors.push(error.to_string());
                continue;
            }
        };
        match &fetched {
            Fetched::Full { .. } => {
                tracing::info!(zone = %spec.origin, %primary, kind = "AXFR", "transfer received")
            }
            Fetched::Incremental { patch } => tracing::info!(
                zone = %spec.origin,
                %primary,
                kind = "IXFR",
                changed_names = patch.owners.len(),
                "transfer received"
            ),
            Fetched::UpToDate { .. } => {}
        }
        // Applied to both paths, or refused with the zone in force untouched.
        let (served, kind, changed) = match fetched {
            Fetched::UpToDate { serial } => match current.clone() {
                Some(index) => {
                    if !handle.status().serving {
                        // Expired, now confirmed current again: serve it again.
                        let served = context.served.clone();
                        let again = index.clone();
                        let refused = blocking::run(move || served.serve_index(again).err()).await;
                        if let Some(error) = refused {
                            errors.push(format!("{primary}: {error}"));
                            continue;
                        }
                    }
                    tracing::debug!(zone = %spec.origin, %primary, serial, "up to date");
                    confirmed(handle, &index, context, None);
                    return;
                }
                None => {
                    errors.push(format!(
                        "{primary}: claims we are up to date without a copy"
                    ));
                    continue;
                }
            },
            Fetched::Full { zone } => (serve(zone, context).await, "AXFR", None),
            Fetched::Incremental { patch } => {
                let Some(held) = current.clone() else {
                    errors.push(format!("{primary}: sent an IXFR without a copy"));
                    continue;
                };
                let changed = patch.owners.len();
                (
                    serve_patch(held, patch, context).await,
                    "IXFR",
                    Some(changed),
                )
            }
        };
        let index = match served {
            Ok(index) => index,
            Err(error) => {
                tracing::warn!(zone = %spec.origin, %primary, "transfer refused: {error}");
                errors.push(format!("{primary}: transfer refused: {error}"));
                continue;
            }
        };
        let serial = SoaTimers::of_index(&index).map_or(0, |t| t.serial);
        tracing::info!(
            zone = %spec.origin,
            %primary,
            serial,
            kind,
            changed_names = changed.map_or(-1, |n| n as i64),
            "zone transferred and served"
        );
        // The copy is written from the index served, after serving.
        let (transfer, kept_spec, kept_index) =
            (context.transfer.clone(), spec.clone(), index.clone());
        let kept = blocking::run(move || transfer.keep(&kept_index, &kept_spec).err()).await;
        if let Some(error) = &kept {
            tracing::error!(zone = %spec.origin, "serving the transfer, but cannot keep a copy: {error}");
        }
        confirmed(handle, &index, context, Some(changed.is_some()));
        if let Some(error) = kept {
            handle.status().last_error = Some(format!("cannot keep the copy: {error}"));
        }
        *current = Some(index);
        return;
    }
    failed(handle, current.as_deref(), context, errors);
}

/// Puts `zone` in service on both paths (`Served::replace_zone`), off the runtime's workers:
/// indexing and publishing a large zone takes seconds. The zone's records are dropped once
/// indexed, and their pages handed back: the index served is what the zone keeps.
async fn serve<T>(zone: Zone, context: &Context<T>) -> Result<Arc<ZoneData>, ZoneRefused> {
    let served = context.served.clone();
    blocking::run(move || {
        let index = served.replace_zone(&zone);
        drop(zone);
        release_freed_memory();
        index
    })
    .await
}

/// Puts an IXFR's `patch` in service on both paths (`Served::patch_zone`): the cost is the
/// names it touches. A patch the index cannot take is applied to the zone's records, read
/// from `held` (the index in force), checked whole and indexed whole
/// (`Served::replace_zone`).
async fn serve_patch<T>(
    held: Arc<ZoneData>,
    patch: Patch,
    context: &Context<T>,
) -> Result<Arc<ZoneData>, ZoneRefused> {
    let served = context.served.clone();
    blocking::run(move || match served.patch_zone(&held.origin, &patch) {
        Err(why @ (ZoneRefused::Unpatchable(_) | ZoneRefused::Unindexed)) => {
            tracing::info!(zone = %held.origin, "IXFR applied to the whole zone: {why}");
            let source = match patch.owners.iter().flat_map(|(_, r)| r).next() {
                Some(record) => record.file.clone(),
                None => Arc::from(std::path::Path::new("IXFR")),
            };
            let mut whole = xfr::unindexed(&held, &source);
            drop(held);
            patch.apply_to(&mut whole);
            let whole = Zone::from_records(whole.records, &source, &whole.origin)
                .map_err(ZoneRefused::Invalid)?;
            let index = served.replace_zone(&whole);
            drop(whole);
            release_freed_memory();
            index
        }
        other => other,
    })
    .await
}

/// A primary confirmed `zone` as current, or sent it (`transferred`: incremental or not):
/// the timers restart from its SOA and the state is kept beside the copy.
fn confirmed<T>(handle: &Handle, zone: &ZoneData, context: &Context<T>, transferred: Option<bool>) {
    let now = SystemTime::now();
    let bounds = *super::registry::lock(&context.bounds);
    let timers = SoaTimers::of_index(zone).unwrap_or(NO_COPY);
    let state = SavedState {
        origin: handle.spec.origin.clone(),
        serial: timers.serial,
        refreshed: now,
        expires: now + timers.expire(&bounds),
    };
    if let Err(error) = state.write(&handle.spec.state_file()) {
        tracing::error!(zone = %handle.spec.origin, "cannot keep the refresh state: {error}");
    }
    let mut status = handle.status();
    status.serial = Some(timers.serial);
    status.serving = true;
    status.last_refresh = Some(now);
    status.next_refresh = now + timers.refresh(&bounds);
    status.expires = Some(state.expires);
    status.last_error = None;
    status.failures = 0;
    match transferred {
        Some(true) => status.incremental_transfers += 1,
        Some(false) => status.full_transfers += 1,
        None => {}
    }
}

/// Every primary failed: retry after RETRY, backing off with each failure in a row.
fn failed<T>(
    handle: &Handle,
    current: Option<&ZoneData>,
    context: &Context<T>,
    errors: Vec<String>,
) {
    let bounds = *super::registry::lock(&context.bounds);
    let timers = current.and_then(SoaTimers::of_index).unwrap_or(NO_COPY);
    let mut status = handle.status();
    status.failures += 1;
    let retry = timers.retry(&bounds, status.failures);
    status.next_refresh = SystemTime::now() + retry;
    status.last_error = Some(errors.join("; "));
    tracing::warn!(
        zone = %handle.spec.origin,
        failures = status.failures,
        retry_secs = retry.as_secs(),
        "no primary could refresh the zone"
    );
}
