//! The SOA timers of a secondary zone (RFC 1035 §3.3.13, §4.3.5), bounded as configured: when
//! to refresh, how long to wait after a failure (doubling per failure in a row, as NSD and
//! Knot back off), and when the copy expires.

use std::time::Duration;

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::RData;

use super::config::TimerBounds;
use crate::zone::Zone;

/// The three timers a secondary reads from its zone's SOA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoaTimers {
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
}

impl SoaTimers {
    pub fn of(soa: &SOA) -> Self {
        // RFC 1035 §3.3.13 makes these unsigned 32-bit; hickory reads them as i32.
        let unsigned = |value: i32| u32::try_from(value).unwrap_or(0);
        Self {
            serial: soa.serial,
            refresh: unsigned(soa.refresh),
            retry: unsigned(soa.retry),
            expire: unsigned(soa.expire),
        }
    }

    /// The timers of `zone`'s SOA at its apex (a loaded zone always has one).
    /// The timers of the SOA an index holds (a secondary keeps only the index).
    pub fn of_index(zone: &crate::authority::ZoneData) -> Option<Self> {
        match zone.soa().rdatas.first()?.other()? {
            RData::SOA(soa) => Some(Self::of(soa)),
            _ => None,
        }
    }

    pub fn of_zone(zone: &Zone) -> Option<Self> {
        zone.records.iter().find_map(|r| match &r.record.data {
            RData::SOA(soa) if r.record.name == zone.origin => Some(Self::of(soa)),
            _ => None,
        })
    }

    /// How long after a successful refresh the next one is due.
    pub fn refresh(&self, bounds: &TimerBounds) -> Duration {
        secs(self.refresh).clamp(bounds.min_refresh, bounds.max_refresh)
    }

    /// How long to wait after `failures` failed attempts in a row (1 for the first): RETRY,
    /// doubled for each further failure, within the bounds.
    pub fn retry(&self, bounds: &TimerBounds, failures: u32) -> Duration {
        let doubling = failures.saturating_sub(1).min(16);
        secs(self.retry)
            .saturating_mul(1 << doubling)
            .clamp(bounds.min_retry, bounds.max_retry)
    }

    /// How long after the last successful refresh the copy may still be served.
    pub fn expire(&self, bounds: &TimerBounds) -> Duration {
        secs(self.expire).max(bounds.min_expire)
    }
}

fn secs(value: u32) -> Duration {
    Duration::from_secs(u64::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOA: SoaTimers = SoaTimers {
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86_400,
    };

    #[test]
    fn rfc1035_4_3_5_retry_backs_off_and_stays_within_its_bounds() {
        let bounds = TimerBounds {
            max_retry: Duration::from_secs(3000),
            ..TimerBounds::default()
        };
        let waits: Vec<u64> = (1..=5).map(|n| SOA.retry(&bounds, n).as_secs()).collect();
        assert_eq!(waits, [600, 1200, 2400, 3000, 3000]);
        assert_eq!(SOA.retry(&bounds, 1000).as_secs(), 3000);
    }

    #[test]
    fn rfc1035_4_3_5_refresh_and_expire_follow_the_soa_within_the_bounds() {
        let bounds = TimerBounds {
            min_refresh: Duration::from_secs(7200),
            min_expire: Duration::from_secs(100_000),
            ..TimerBounds::default()
        };
        assert_eq!(SOA.refresh(&bounds).as_secs(), 7200);
        assert_eq!(SOA.expire(&bounds).as_secs(), 100_000);
        let open = TimerBounds::default();
        assert_eq!(SOA.refresh(&open).as_secs(), 3600);
        assert_eq!(SOA.expire(&open).as_secs(), 86_400);
    }
}
