//! The `LIFE` map (`lbdns_common::life`): the layout stamp the maps carry across restarts, and
//! the daemon's heartbeat, which the program checks before answering; and beside it the
//! `WALL_CLOCK` the program stamps DNS Cookies with, stored with every beat.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aya::maps::{Map, MapData};
use lbdns_common::{
    life::{Life, LAYOUT_VERSION},
    maps,
};

use super::mapped::MappedArray;
use super::MapError;
use crate::cookies::{Clock, SystemClock};

/// The mapped `LIFE` value: stamped once when the maps are made, beaten by the daemon; and
/// the mapped `WALL_CLOCK`, when the maps have one.
pub struct Heartbeat {
    life: MappedArray<Life>,
    clock: Option<MappedArray<u64>>,
}

// SAFETY: every write after `stamp` (which takes `&mut self`) is an atomic 8-byte store into
// the mapping, so threads sharing a `Heartbeat` never race on plain memory.
unsafe impl Sync for Heartbeat {}

impl std::fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heartbeat")
            .field("life", &self.life.read(0))
            .finish()
    }
}

impl Heartbeat {
    pub(super) fn new(life: MappedArray<Life>, clock: Option<MappedArray<u64>>) -> Self {
        Self { life, clock }
    }

    /// The `LIFE` map pinned at `path`, to beat it before its maps are adopted: the program an
    /// earlier process left attached keeps answering while this one loads its zones. Only for
    /// maps `xdp::Pins::adoptable` accepted, whose `LIFE` has this build's layout.
    pub fn from_pin(path: &std::path::Path) -> Result<Self, MapError> {
        let map = MapData::from_pin(path)
            .map_err(MapError::during("opening the pinned map", maps::LIFE))?;
        // Maps of an older layout may have no clock; theirs is not this build's to keep.
        let clock = path
            .parent()
            .map(|dir| dir.join(maps::WALL_CLOCK))
            .and_then(|clock| MapData::from_pin(clock).ok())
            .and_then(|map| MappedArray::new(Map::Array(map), maps::WALL_CLOCK).ok());
        Ok(Self::new(
            MappedArray::new(Map::Array(map), maps::LIFE)?,
            clock,
        ))
    }

    /// What the maps were made with.
    pub fn life(&self) -> Life {
        self.life.read(0)
    }

    /// Marks new maps as made by this build, for a name table of `rrset_entries` RRsets hashed
    /// with `name_seed`. No program runs with them yet, so a plain write is safe.
    pub(super) fn stamp(&mut self, rrset_entries: u32, name_seed: u64) {
        self.life.write(
            0,
            &Life {
                layout: LAYOUT_VERSION,
                rrset_entries,
                name_seed,
                ..Life::default()
            },
        );
    }

    /// Tells the program the daemon is alive now, and that it must stop answering once this
    /// is older than `stale_after` (zero: never).
    pub fn beat(&self, stale_after: Duration) {
        let value = self.life.value(0);
        let limit = u64::try_from(stale_after.as_nanos()).unwrap_or(u64::MAX);
        // SAFETY: aligned `u64` fields of the mapped value, which the program only reads with
        // 8-byte loads. The beat first: a new limit never applies to an old beat.
        unsafe {
            AtomicU64::from_ptr(&raw mut (*value).beat_ns).store(now_ns(), Ordering::Release);
            AtomicU64::from_ptr(&raw mut (*value).stale_after_ns).store(limit, Ordering::Release);
        }
        self.set_wall_clock(SystemClock.unix_seconds());
    }

    /// Makes the program stamp and check DNS Cookies at `unix_seconds` (`lbdns_common::maps::
    /// WALL_CLOCK`): [`Self::beat`] stores the system's time; a test stores the fixed time of
    /// its socket path's `cookies::FixedClock`, so both paths stamp alike.
    pub fn set_wall_clock(&self, unix_seconds: u32) {
        if let Some(clock) = &self.clock {
            clock.store(0, u64::from(unix_seconds));
        }
    }
}

/// `CLOCK_MONOTONIC_COARSE`, the clock of the program's `bpf_ktime_get_coarse_ns`.
pub fn now_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec we own; this clock cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut now) };
    (now.tv_sec as u64) * 1_000_000_000 + now.tv_nsec as u64
}
