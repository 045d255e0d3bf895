//! What the zone metrics say about each served zone: its serial and size, and whether the
//! last attempt to load it succeeded, and when the data being served was loaded.

use std::time::SystemTime;

use hickory_proto::rr::RData;

use crate::zone::Zone;

/// One served zone, as last loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneLoad {
    /// The apex, as `example.com.`.
    pub zone: String,
    pub serial: u32,
    pub records: usize,
    /// When the data being served was loaded.
    pub loaded_at: SystemTime,
    /// Whether the last load or reload put this zone's files into service. A failed reload
    /// keeps every zone as it was, so every served zone's last attempt failed.
    pub success: bool,
}

/// The zones just put into service at `now`.
pub fn loaded(zones: &[Zone], now: SystemTime) -> Vec<ZoneLoad> {
    zones
        .iter()
        .map(|zone| ZoneLoad {
            zone: zone.origin.to_ascii(),
            serial: zone
                .records
                .iter()
                .find_map(|r| match &r.record.data {
                    RData::SOA(soa) => Some(soa.serial),
                    _ => None,
                })
                .unwrap_or(0),
            records: zone.records.len(),
            loaded_at: now,
            success: true,
        })
        .collect()
}

/// The gauges of a zone known only by its index (a patched secondary zone).
pub fn indexed(zone: &crate::authority::ZoneData, now: SystemTime) -> ZoneLoad {
    let soa = zone.soa();
    ZoneLoad {
        zone: zone.origin.to_ascii(),
        serial: match soa.rdatas.first().and_then(|rdata| rdata.other()) {
            Some(RData::SOA(soa)) => soa.serial,
            _ => 0,
        },
        records: zone.rrsets().map(|(_, _, rrset)| rrset.rdatas.len()).sum(),
        loaded_at: now,
        success: true,
    }
}

/// The served zones after a reload that failed: the same data, marked as not reloaded.
pub fn failed(served: &mut [ZoneLoad]) {
    for zone in served {
        zone.success = false;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    #[test]
    fn serial_and_records_come_from_the_zone() {
        let dir = std::env::temp_dir().join(format!("lbdns-metrics-zones-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file: PathBuf = dir.join("db.test");
        std::fs::write(
            &file,
            "$ORIGIN metrics.test.\n$TTL 60\n@ SOA ns hostmaster 2024070101 3600 600 86400 60\n\
             @ NS ns\nns A 198.18.0.53\n",
        )
        .unwrap();
        let zone = Zone::load(&file, None).unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut served = loaded(&[zone], at);
        assert_eq!(
            served,
            [ZoneLoad {
                zone: "metrics.test.".to_owned(),
                serial: 2024070101,
                records: 3,
                loaded_at: at,
                success: true,
            }]
        );
        failed(&mut served);
        assert!(!served[0].success);
        assert_eq!(
            served[0].loaded_at, at,
            "the served data is as old as it was"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
