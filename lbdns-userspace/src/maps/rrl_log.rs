//! The log of the program's rate limiting: what it reports in `RRL_EVENTS` (a key starting or
//! stopping being limited, one record per change), read a few times a second by the heartbeat
//! thread, and the keys gone quiet while limited: a key that stops sending never has a reply
//! let through again, so its stop is found by its bucket being full again in `RRL_BUCKETS`
//! (or taken over by another key).
//! At most [`LOG_LINES`] lines per read; the rest are counted in one line.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use aya::{
    maps::{Array, MapData, RingBuf},
    Ebpf,
};
use lbdns_common::{
    maps,
    rrl::{slot_of, Event, Key, Slot},
};

use super::MapError;

/// Lines logged per read.
const LOG_LINES: usize = 10;
/// Limited keys followed for their stop; more are logged when they start, not when they stop.
const FOLLOWED: usize = 1024;

/// `RRL_EVENTS` and `RRL_BUCKETS`, and the keys being limited.
pub struct RrlLog {
    events: RingBuf<MapData>,
    buckets: Array<MapData, Slot>,
    limited: HashSet<Key>,
}

impl std::fmt::Debug for RrlLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RrlLog")
            .field("limited", &self.limited.len())
            .finish_non_exhaustive()
    }
}

impl RrlLog {
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let events = ebpf
            .take_map(maps::RRL_EVENTS)
            .ok_or(MapError::Missing(maps::RRL_EVENTS))?;
        let buckets = ebpf
            .take_map(maps::RRL_BUCKETS)
            .ok_or(MapError::Missing(maps::RRL_BUCKETS))?;
        Ok(Self {
            events: RingBuf::try_from(events)
                .map_err(MapError::during("opening", maps::RRL_EVENTS))?,
            buckets: Array::try_from(buckets)
                .map_err(MapError::during("opening", maps::RRL_BUCKETS))?,
            limited: HashSet::new(),
        })
    }

    /// Logs what the program reported since the last call, and the followed keys whose
    /// buckets are full again at `now_ns` (`CLOCK_MONOTONIC_COARSE`).
    pub fn report(&mut self, now_ns: u64) {
        let mut lines = 0;
        let mut unlogged = 0;
        let mut log = |key: &Key, what: &str| {
            if lines < LOG_LINES {
                lines += 1;
                let (network, v6, class) = describe(key);
                tracing::info!(path = "xdp", %network, v6, response = class, "{what}");
            } else {
                unlogged += 1;
            }
        };
        // Bounded by the ring's size.
        while let Some(item) = self.events.next() {
            let Some(event) = read_event(&item) else {
                continue;
            };
            if event.started != 0 {
                if self.limited.len() < FOLLOWED {
                    self.limited.insert(event.key);
                }
                log(&event.key, "rate limiting started");
            } else {
                self.limited.remove(&event.key);
                log(&event.key, "rate limiting stopped");
            }
        }
        let quiet: Vec<Key> = self
            .limited
            .iter()
            .filter(|key| match self.buckets.get(&slot_of(key), 0) {
                Ok(slot) if slot.key == **key => slot.bucket.tat_ns <= now_ns,
                // Its entry taken over by another key: nothing limits it any more.
                _ => true,
            })
            .copied()
            .collect();
        for key in quiet {
            self.limited.remove(&key);
            log(&key, "rate limiting stopped: the client went quiet");
        }
        if unlogged > 0 {
            tracing::info!(
                path = "xdp",
                lines = unlogged,
                "rate limiting: more keys started or stopped than logged"
            );
        }
    }
}

fn read_event(bytes: &[u8]) -> Option<Event> {
    if bytes.len() < size_of::<Event>() {
        return None;
    }
    // SAFETY: `Event` is plain integers (`aya::Pod`), and the length was checked.
    Some(unsafe { bytes.as_ptr().cast::<Event>().read_unaligned() })
}

/// The network, whether IPv6, and the response class of a key (`lbdns_common::rrl::Key`).
fn describe(key: &Key) -> (String, bool, &'static str) {
    let v6 = key.response & 0x10 != 0;
    let network = if v6 {
        Ipv6Addr::from(u128::from(key.prefix) << 64).to_string()
    } else {
        Ipv4Addr::from(key.prefix as u32).to_string()
    };
    let class = match key.response & 0x0f {
        1 => "answer",
        2 => "nxdomain/nodata",
        3 => "referral",
        4 => "error",
        _ => "passed",
    };
    (network, v6, class)
}
