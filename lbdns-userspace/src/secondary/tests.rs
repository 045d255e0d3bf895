//! The secondary zone scheduler against a scripted primary: start-up without a copy, refresh,
//! primaries in order, retries with backoff, expiry, recovery, NOTIFY and refused transfers.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{LowerName, Name, RData, RecordType};

use super::kept::Kept;
use super::notify;
use super::state::SavedState;
use super::{Context, Fetched, Held, Secondaries, Transfer};
use crate::authority::ZoneData;
use crate::config::Overrides;
use crate::served::testing::{self, ask};
use crate::served::{load, settings, Served};
use crate::xfr::Patch;
use crate::zone::Zone;

const PRIMARY_1: &str = "198.18.0.1:53";
const PRIMARY_2: &str = "198.18.0.2:5353";

/// The zone as a primary serves it: refresh 3600 s so only retries and NOTIFY drive these
/// tests; retry 1 s and expire 3 s so backoff and expiry happen within a test.
fn zone_text(serial: u32, address: &str) -> String {
    format!(
        "$ORIGIN sec.test.\n$TTL 60\n@ SOA ns h {serial} 3600 1 3 60\n@ NS ns\n\
         ns A 198.18.0.53\nwww A {address}\n"
    )
}

fn zone(serial: u32, address: &str) -> Zone {
    Zone::parse(&zone_text(serial, address), Path::new("primary"), None).unwrap()
}

/// What an IXFR to `zone(serial, address)` carries: the new records of www and the apex.
fn patch(serial: u32, address: &str) -> Patch {
    let new = zone(serial, address);
    let owners = ["sec.test.", "www.sec.test."]
        .into_iter()
        .map(|owner| {
            let name = Name::from_ascii(owner).unwrap();
            let records = new
                .records
                .iter()
                .filter(|r| r.record.name == name)
                .cloned()
                .collect();
            (name, records)
        })
        .collect();
    Patch {
        owners,
        warnings: Vec::new(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct FakeError(String);

/// A primary that answers from a script, one answer per fetch, and records what it was asked.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<(SocketAddr, Result<Fetched, FakeError>)>>,
    /// After the script: every fetch fails (a primary that is down).
    asked: Mutex<Vec<(SocketAddr, Option<u32>)>>,
    kept: Mutex<Vec<u32>>,
}

impl Scripted {
    fn then(&self, primary: &str, answer: Result<Fetched, FakeError>) {
        self.answers
            .lock()
            .unwrap()
            .push_back((primary.parse().unwrap(), answer));
    }

    fn asked(&self) -> Vec<(SocketAddr, Option<u32>)> {
        self.asked.lock().unwrap().clone()
    }
}

impl Transfer for Scripted {
    type Error = FakeError;

    async fn fetch(
        &self,
        primary: SocketAddr,
        _key: Option<Arc<crate::tsig::Key>>,
        _spec: &super::config::SecondarySpec,
        current: Option<Held<'_>>,
    ) -> Result<Fetched, FakeError> {
        let serial = current
            .and_then(super::timers::SoaTimers::of_index)
            .map(|t| t.serial);
        self.asked.lock().unwrap().push((primary, serial));
        let mut answers = self.answers.lock().unwrap();
        match answers.front() {
            Some((expected, _)) if *expected == primary => answers.pop_front().unwrap().1,
            _ => Err(FakeError(format!("{primary}: connection refused"))),
        }
    }

    fn keep(&self, zone: &ZoneData, _spec: &super::config::SecondarySpec) -> Result<(), FakeError> {
        let serial = super::timers::SoaTimers::of_index(zone).unwrap().serial;
        self.kept.lock().unwrap().push(serial);
        Ok(())
    }
}

struct Fixture {
    dir: PathBuf,
    served: Arc<Served>,
    secondaries: Secondaries,
    transfer: Arc<Scripted>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The daemon's served state with one secondary zone, sec.test., from two primaries, and a
/// pool at pool.sec.test.; its task started against a scripted primary.
fn start(test: &str, transfer: Scripted, kept: Option<(&str, SavedState)>) -> Fixture {
    let dir = std::env::temp_dir().join(format!("lbdns-secondary-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if let Some((text, state)) = kept {
        std::fs::write(dir.join("sec.test.zone"), text).unwrap();
        state.write(&dir.join("sec.test.zone.state")).unwrap();
    }
    let config = dir.join("lbdns.toml");
    std::fs::write(
        &config,
        format!(
            "[[zone]]\norigin = \"sec.test.\"\nprimaries = [\"{PRIMARY_1}\", \"{PRIMARY_2}\"]\n\
             file = \"sec.test.zone\"\n\n[secondary]\nmax_retry = 2\n\n\
             [[pool]]\nname = \"pool.sec.test.\"\n[[pool.endpoint]]\naddress = \"198.18.60.1\"\n"
        ),
    )
    .unwrap();
    let settings = settings(Some(&config), Overrides::default()).unwrap();
    let loaded = load(&settings).unwrap();
    let served = Arc::new(testing::served(loaded.catalog, loaded.pools, config));
    let transfer = Arc::new(transfer);
    let context = Context {
        transfer: transfer.clone(),
        served: served.clone(),
        bounds: Arc::default(),
        keys: Arc::default(),
    };
    let secondaries = Secondaries::default();
    let configured = super::Configured {
        specs: settings.secondaries,
        kept: loaded.secondaries,
        bounds: settings.secondary_timers,
        keys: settings.keys,
    };
    secondaries.update(configured, &context);
    Fixture {
        dir,
        served,
        secondaries,
        transfer,
    }
}

fn apex() -> LowerName {
    LowerName::new(&Name::from_ascii("sec.test.").unwrap())
}

fn www(served: &Served) -> Result<String, ResponseCode> {
    let reply = ask(served, "www.sec.test.");
    match reply.answers.first().map(|r| &r.data) {
        Some(RData::A(a)) => Ok(a.to_string()),
        _ => Err(reply.metadata.response_code),
    }
}

/// Waits (10 s at most) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn rfc5936_without_a_copy_the_zone_answers_servfail_until_the_first_transfer() {
    let transfer = Scripted::default();
    transfer.then(
        PRIMARY_1,
        Ok(Fetched::Full {
            zone: zone(1, "198.18.1.1"),
        }),
    );
    let fixture = start("first", transfer, None);
    // The task has not run yet (this runtime has one thread): SERVFAIL, pool owner included.
    let served = &fixture.served;
    assert_eq!(www(served), Err(ResponseCode::ServFail));
    let pool = ask(served, "pool.sec.test.");
    assert_eq!(pool.metadata.response_code, ResponseCode::ServFail);
    eventually("the first transfer is served", || www(served).is_ok()).await;
    assert_eq!(www(served), Ok("198.18.1.1".into()));
    let status = fixture.secondaries.status();
    assert_eq!(status[0].serial, Some(1));
    assert_eq!(status[0].full_transfers, 1);
    assert_eq!(*fixture.transfer.kept.lock().unwrap(), [1]);
    let state = SavedState::read(&fixture.dir.join("sec.test.zone.state"))
        .unwrap()
        .unwrap();
    assert_eq!(state.serial, 1);
    assert_eq!(
        fixture.transfer.asked()[0],
        (PRIMARY_1.parse().unwrap(), None)
    );
    let pool = ask(served, "pool.sec.test.");
    assert_eq!(pool.metadata.response_code, ResponseCode::NoError);
}

#[tokio::test]
async fn rfc1035_4_3_5_primaries_are_tried_in_order_and_failures_back_off_then_expire() {
    let transfer = Scripted::default();
    // The first primary is down; the second serves the zone, then goes down too.
    transfer.then(
        PRIMARY_2,
        Ok(Fetched::Full {
            zone: zone(5, "198.18.1.5"),
        }),
    );
    let fixture = start("backoff", transfer, None);
    let served = &fixture.served;
    eventually("served from the second primary", || www(served).is_ok()).await;
    let asked = fixture.transfer.asked();
    assert_eq!(asked[0].0, PRIMARY_1.parse().unwrap());
    assert_eq!(asked[1].0, PRIMARY_2.parse().unwrap());
    // NOTIFY from the second primary: a refresh now, which fails at both primaries.
    let handle = fixture.secondaries.get(&apex()).unwrap();
    handle.wake.notify_one();
    eventually("a failed refresh", || handle.status().failures >= 1).await;
    let error = handle.status().last_error.clone().unwrap();
    assert!(
        error.contains("198.18.0.1:53: connection refused"),
        "{error}"
    );
    assert!(
        error.contains("198.18.0.2:5353: connection refused"),
        "{error}"
    );
    // The old data is served while retrying; retry 1 s doubles to the 2 s maximum.
    assert_eq!(www(served), Ok("198.18.1.5".into()));
    eventually("expired after 3 s", || {
        www(served) == Err(ResponseCode::ServFail)
    })
    .await;
    assert!(handle.status().failures >= 2);
    assert!(!handle.status().serving);
    // The primary returns, with the same serial: the copy is current again and served.
    fixture
        .transfer
        .then(PRIMARY_1, Ok(Fetched::UpToDate { serial: 5 }));
    // The zone is served again before its status is written: wait for both.
    eventually("recovered", || {
        www(served).is_ok() && handle.status().failures == 0
    })
    .await;
    assert_eq!(www(served), Ok("198.18.1.5".into()));
    assert!(fixture
        .transfer
        .asked()
        .iter()
        .any(|(_, serial)| *serial == Some(5)));
}

#[tokio::test]
async fn rfc1996_a_notify_from_a_primary_refreshes_and_others_are_refused() {
    let transfer = Scripted::default();
    let fixture = start(
        "notify",
        transfer,
        Some((
            &zone_text(7, "198.18.1.7"),
            SavedState {
                origin: Name::from_ascii("sec.test.").unwrap(),
                serial: 7,
                refreshed: std::time::SystemTime::now(),
                expires: std::time::SystemTime::now() + Duration::from_secs(600),
            },
        )),
    );
    let served = &fixture.served;
    // The kept copy is served at once, before any refresh succeeds.
    assert_eq!(www(served), Ok("198.18.1.7".into()));
    let handle = fixture.secondaries.get(&apex()).unwrap();
    eventually("the start-up refresh failed", || {
        handle.status().failures >= 1
    })
    .await;
    fixture.transfer.then(
        PRIMARY_2,
        Ok(Fetched::Incremental {
            patch: patch(8, "198.18.1.8"),
        }),
    );
    // Fail at the first primary, then IXFR from the second.
    fixture.transfer.answers.lock().unwrap().push_front((
        PRIMARY_1.parse().unwrap(),
        Err(FakeError(format!("{PRIMARY_1}: timed out"))),
    ));
    let notify_from = |peer: &str, zone: &str| {
        let mut request = Message::new(99, MessageType::Query, OpCode::Notify);
        request.metadata.authoritative = true;
        request.add_query(Query::query(
            Name::from_ascii(zone).unwrap(),
            RecordType::SOA,
        ));
        let peer: IpAddr = peer.parse().unwrap();
        let wire = request.to_vec().unwrap();
        assert!(notify::is_notify(&wire));
        let catalog = fixture.served.catalog().load();
        let reply = notify::answer(&fixture.secondaries, &catalog, &wire, peer).unwrap();
        Message::from_vec(&reply).unwrap()
    };
    let refused = notify_from("198.18.9.9", "sec.test.");
    assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
    let elsewhere = notify_from("198.18.0.1", "other.test.");
    assert_eq!(elsewhere.metadata.response_code, ResponseCode::NotAuth);
    let reply = notify_from("198.18.0.2", "sec.test.");
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.metadata.op_code, OpCode::Notify);
    assert!(reply.metadata.authoritative);
    assert_eq!(reply.metadata.message_type, MessageType::Response);
    assert_eq!(reply.metadata.id, 99);
    assert_eq!(reply.queries[0].name().to_ascii(), "sec.test.");
    eventually("the IXFR is served", || {
        www(served) == Ok("198.18.1.8".into())
    })
    .await;
    assert_eq!(handle.status().incremental_transfers, 1);
    assert!(fixture
        .transfer
        .asked()
        .contains(&(PRIMARY_2.parse().unwrap(), Some(7))));
}

#[tokio::test]
async fn a_transfer_that_breaks_a_pool_owner_is_refused_and_the_old_zone_kept() {
    let transfer = Scripted::default();
    transfer.then(
        PRIMARY_1,
        Ok(Fetched::Full {
            zone: zone(1, "198.18.1.1"),
        }),
    );
    let broken = format!("{}pool CNAME www\n", zone_text(2, "198.18.1.2"));
    let broken = Zone::parse(&broken, Path::new("primary"), None).unwrap();
    transfer.then(PRIMARY_1, Ok(Fetched::Full { zone: broken }));
    let fixture = start("pool", transfer, None);
    let served = &fixture.served;
    eventually("the first transfer is served", || www(served).is_ok()).await;
    let handle = fixture.secondaries.get(&apex()).unwrap();
    handle.wake.notify_one();
    eventually("the broken transfer is refused", || {
        handle
            .status()
            .last_error
            .as_ref()
            .is_some_and(|e| e.contains("pool.sec.test. has a CNAME"))
    })
    .await;
    assert_eq!(www(served), Ok("198.18.1.1".into()));
    assert_eq!(*fixture.transfer.kept.lock().unwrap(), [1]);
    assert_eq!(handle.status().serial, Some(1));
}

#[test]
fn an_expired_kept_copy_is_not_served() {
    let dir = std::env::temp_dir().join(format!("lbdns-secondary-expired-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sec.test.zone");
    std::fs::write(&file, zone_text(3, "198.18.1.3")).unwrap();
    let spec =
        super::config::SecondarySpec::new(Some("sec.test."), &[PRIMARY_1.to_owned()], None, file)
            .unwrap();
    let now = std::time::SystemTime::now();
    let mut state = SavedState {
        origin: spec.origin.clone(),
        serial: 3,
        refreshed: now - Duration::from_secs(100),
        expires: now - Duration::from_secs(1),
    };
    state.write(&spec.state_file()).unwrap();
    let bounds = super::config::TimerBounds::default();
    assert!(Kept::read(&spec, &bounds, now).copy.is_none());
    state.expires = now + Duration::from_secs(60);
    state.write(&spec.state_file()).unwrap();
    assert!(Kept::read(&spec, &bounds, now).copy.is_some());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_reload_keeps_the_data_of_an_unchanged_secondary_zone() {
    let transfer = Scripted::default();
    transfer.then(
        PRIMARY_1,
        Ok(Fetched::Full {
            zone: zone(1, "198.18.1.1"),
        }),
    );
    let fixture = start("reload", transfer, None);
    let served = &fixture.served;
    eventually("the first transfer is served", || www(served).is_ok()).await;
    // The scripted primary keeps no copy on disk: reading it again would find none.
    let reloaded = served.replace(&fixture.secondaries.specs()).unwrap();
    assert!(reloaded.secondaries.kept.is_empty());
    assert_eq!(reloaded.secondaries.specs.len(), 1);
    assert_eq!(www(served), Ok("198.18.1.1".into()));
    // Configured differently (one primary fewer), the zone starts again from its kept copy:
    // there is none, so it answers SERVFAIL until a transfer.
    let config = fixture.dir.join("lbdns.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace(&format!(", \"{PRIMARY_2}\""), "")).unwrap();
    let old = fixture.secondaries.get(&apex()).unwrap();
    let mut reloaded = served.replace(&fixture.secondaries.specs()).unwrap();
    assert_eq!(reloaded.secondaries.kept.len(), 1);
    assert_eq!(www(served), Err(ResponseCode::ServFail));
    let context = Context {
        transfer: fixture.transfer.clone(),
        served: served.clone(),
        bounds: Arc::default(),
        keys: Arc::default(),
    };
    fixture
        .secondaries
        .update(std::mem::take(&mut reloaded.secondaries), &context);
    // The old zone's task stops and lets go of its handle.
    eventually("the old task ended", || Arc::strong_count(&old) == 1).await;
    let new = fixture.secondaries.get(&apex()).unwrap();
    assert_eq!(
        new.spec.primaries,
        [PRIMARY_1.parse::<SocketAddr>().unwrap()]
    );
}
