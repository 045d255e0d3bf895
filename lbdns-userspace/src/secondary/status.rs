//! What `lbdns status` says about each secondary zone.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::state::unix_secs;

/// One secondary zone's refresh state, updated by its task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneStatus {
    pub zone: String,
    pub primaries: Vec<SocketAddr>,
    /// The serial of the copy held (served, or expired).
    pub serial: Option<u32>,
    /// Whether the copy is being served; false before the first transfer and after expiry.
    pub serving: bool,
    /// The last time a primary confirmed or replaced the copy.
    pub last_refresh: Option<SystemTime>,
    pub next_refresh: SystemTime,
    /// When the copy stops being served unless refreshed.
    pub expires: Option<SystemTime>,
    /// Why the last refresh failed, one `primary: reason` per primary tried; cleared by a
    /// refresh that succeeds.
    pub last_error: Option<String>,
    /// Failed refreshes in a row (each tries every primary); the retry backs off with them.
    pub failures: u32,
    /// Transfers applied since the daemon started: AXFR (or AXFR-style) and IXFR.
    pub full_transfers: u64,
    pub incremental_transfers: u64,
}

impl ZoneStatus {
    /// `ok`, `no copy yet` or `expired`.
    pub fn state(&self) -> &'static str {
        match (self.serving, self.serial) {
            (true, _) => "ok",
            (false, None) => "no copy yet (SERVFAIL)",
            (false, Some(_)) => "expired (SERVFAIL)",
        }
    }
}

/// The text form: a block per zone.
pub fn text(zones: &[ZoneStatus], now: SystemTime) -> String {
    let mut out = String::new();
    for zone in zones {
        let primaries: Vec<String> = zone.primaries.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "secondary {}: {}", zone.zone, zone.state());
        let _ = writeln!(
            out,
            "  serial {}, primaries {}",
            zone.serial.map_or("none".to_owned(), |s| s.to_string()),
            primaries.join(" ")
        );
        let _ = writeln!(
            out,
            "  last refresh {}, next refresh {}, expiry {}",
            when(zone.last_refresh, now),
            when(Some(zone.next_refresh), now),
            when(zone.expires, now)
        );
        let _ = writeln!(
            out,
            "  transfers: {} full, {} incremental",
            zone.full_transfers, zone.incremental_transfers
        );
        if let Some(error) = &zone.last_error {
            let _ = writeln!(out, "  last error ({} failures): {error}", zone.failures);
        }
    }
    out
}

/// A time relative to `now`, in whole seconds.
fn when(time: Option<SystemTime>, now: SystemTime) -> String {
    match time {
        None => "never".to_owned(),
        Some(time) => match time.duration_since(now) {
            Ok(ahead) => format!("in {}s", ahead.as_secs()),
            Err(past) => format!("{}s ago", past.duration().as_secs()),
        },
    }
}

/// The JSON form: times as Unix seconds.
pub fn json(zones: &[ZoneStatus]) -> Value {
    zones
        .iter()
        .map(|zone| {
            json!({
                "zone": zone.zone,
                "state": if zone.serving { "ok" } else if zone.serial.is_some() { "expired" } else { "no-copy" },
                "serial": zone.serial,
                "primaries": zone.primaries.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "last_refresh": zone.last_refresh.map(unix_secs),
                "next_refresh": unix_secs(zone.next_refresh),
                "expires": zone.expires.map(unix_secs),
                "last_error": zone.last_error,
                "failures": zone.failures,
                "transfers": { "full": zone.full_transfers, "incremental": zone.incremental_transfers },
            })
        })
        .collect()
}
