//! The daemon's heartbeat to the XDP program (`lbdns_common::life`): a thread that stores the
//! time into the `LIFE` map of the maps in service, so that the program stops answering when
//! the daemon dies or hangs (SIGSTOP, a deadlock, a crash that leaves the program pinned).
//! The same thread logs the program's rate limiting as it starts and stops (`maps::RrlLog`),
//! at most once a beat.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::maps::{Heartbeat, RrlLog};

/// The heartbeat of the maps in service, beaten every [`Heart::interval`] on a thread of its
/// own: map writes and grace periods hold the XDP lock for seconds, and must not delay it.
#[derive(Debug)]
pub struct Heart {
    current: ArcSwapOption<Heartbeat>,
    /// The rate limiting log of the program in service.
    rrl: ArcSwapOption<Mutex<RrlLog>>,
    limit: Duration,
}

impl Heart {
    /// Starts beating, every [`Self::interval`], whatever [`Self::set`] hands over.
    pub fn start(limit: Duration) -> std::io::Result<Arc<Self>> {
        let heart = Arc::new(Self {
            current: ArcSwapOption::empty(),
            rrl: ArcSwapOption::empty(),
            limit,
        });
        let beating = Arc::downgrade(&heart);
        let interval = Self::interval(limit);
        std::thread::Builder::new()
            .name("xdp heartbeat".to_owned())
            .spawn(move || {
                // Ends with the daemon's `Heart`.
                while let Some(heart) = beating.upgrade() {
                    heart.beat();
                    heart.report_rate_limiting();
                    drop(heart);
                    std::thread::sleep(interval);
                }
            })?;
        Ok(heart)
    }

    /// A beat a quarter of the limit (at most a second) apart: a few missed beats (a busy
    /// host) are not a dead daemon.
    pub fn interval(limit: Duration) -> Duration {
        (limit / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }

    /// Beats `heartbeat` from now on (at once, too), or nothing.
    pub fn set(&self, heartbeat: Option<Arc<Heartbeat>>) {
        self.current.store(heartbeat);
        self.beat();
    }

    /// Logs the rate limiting of `log`'s program from now on, or of none.
    pub fn set_rrl_log(&self, log: Option<Arc<Mutex<RrlLog>>>) {
        self.rrl.store(log);
    }

    fn report_rate_limiting(&self) {
        if let Some(log) = &*self.rrl.load() {
            log.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .report(crate::maps::coarse_now_ns());
        }
    }

    fn beat(&self) {
        if let Some(heartbeat) = &*self.current.load() {
            heartbeat.beat(self.limit);
        }
    }
}
