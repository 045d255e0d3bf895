//! The daemon's heartbeat to the XDP program (`lbdns_common::life`): a thread that stores the
//! time into the `LIFE` map of the maps in service, so that the program stops answering when
//! the daemon dies or hangs (SIGSTOP, a deadlock, a crash that leaves the program pinned).

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::maps::Heartbeat;

/// The heartbeat of the maps in service, beaten every [`Heart::interval`] on a thread of its
/// own: map writes and grace periods hold the XDP lock for seconds, and must not delay it.
#[derive(Debug)]
pub struct Heart {
    current: ArcSwapOption<Heartbeat>,
    limit: Duration,
}

impl Heart {
    /// Starts beating, every [`Self::interval`], whatever [`Self::set`] hands over.
    pub fn start(limit: Duration) -> std::io::Result<Arc<Self>> {
        let heart = Arc::new(Self {
            current: ArcSwapOption::empty(),
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

    fn beat(&self) {
        if let Some(heartbeat) = &*self.current.load() {
            heartbeat.beat(self.limit);
        }
    }
}
