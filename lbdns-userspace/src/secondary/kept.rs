//! A secondary zone as found on disk at start-up (or when its configuration changed): the
//! kept copy and its state, and whether the copy may still be served.

use std::time::SystemTime;

use super::config::{SecondarySpec, TimerBounds};
use super::state::SavedState;
use super::timers::SoaTimers;
use crate::zone::Zone;

/// One secondary zone's kept copy, when it may be served, with the state that says so.
#[derive(Debug)]
pub struct Kept {
    pub spec: SecondarySpec,
    pub copy: Option<(Zone, SavedState)>,
}

impl Kept {
    /// Reads the copy and its state. A copy that is missing, unreadable, broken or expired is
    /// not served (the zone answers SERVFAIL until a transfer); each reason is logged.
    pub fn read(spec: &SecondarySpec, bounds: &TimerBounds, now: SystemTime) -> Self {
        let copy = Self::copy(spec, bounds, now);
        Self {
            spec: spec.clone(),
            copy,
        }
    }

    fn copy(
        spec: &SecondarySpec,
        bounds: &TimerBounds,
        now: SystemTime,
    ) -> Option<(Zone, SavedState)> {
        let origin = &spec.origin;
        if !spec.file.exists() {
            tracing::info!(zone = %origin, file = %spec.file.display(), "no kept copy: SERVFAIL until the first transfer");
            return None;
        }
        let zone = match Zone::load(&spec.file, Some(origin.clone())) {
            Ok(zone) => zone,
            Err(errors) => {
                for message in errors.messages() {
                    tracing::warn!(zone = %origin, "kept copy unusable: {message}");
                }
                return None;
            }
        };
        let timers = SoaTimers::of_zone(&zone)?;
        let state = match SavedState::read(&spec.state_file()) {
            Ok(Some(state)) if state.origin == *origin => Some(state),
            Ok(Some(state)) => {
                tracing::warn!(zone = %origin, "state file is for {}; ignored", state.origin);
                None
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(zone = %origin, "state file ignored: {error}");
                None
            }
        };
        // Without a state, the copy counts as refreshed when it was written.
        let state = state.unwrap_or_else(|| {
            let refreshed = std::fs::metadata(&spec.file)
                .and_then(|m| m.modified())
                .unwrap_or(now);
            SavedState {
                origin: origin.clone(),
                serial: timers.serial,
                refreshed,
                expires: refreshed + timers.expire(bounds),
            }
        });
        if state.expired(now) {
            tracing::error!(zone = %origin, serial = timers.serial, "kept copy expired: SERVFAIL until a transfer");
            return None;
        }
        tracing::info!(zone = %origin, serial = timers.serial, "serving the kept copy until refreshed");
        Some((zone, state))
    }
}
