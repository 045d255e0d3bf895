//! The `/metrics` page (Prometheus text format) and the socket-path counters behind it and
//! `lbdns stats`.
//!
//! Everything is read when it is asked for: the socket path's per-thread counters are summed,
//! the XDP program's per-CPU `COUNTERS` map is read (so the XDP path does nothing per packet for
//! metrics), and the zones, pools, health checks and map fill are the daemon's own state. Only
//! the socket path counts as it goes (`socket`), without locks. Names follow CoreDNS's and
//! Knot's exporters, prefixed `lbdns_`; README.md lists them.

mod collect;
pub mod histogram;
mod http;
pub mod labels;
pub mod pools;
pub mod socket;
pub mod zones;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

pub use http::{bind, serve};

use crate::maps::Fill;
use crate::xdp::CounterMap;
use crate::zone::Zone;
use pools::EndpointSample;
use socket::{Path, SocketMetrics};
use zones::ZoneLoad;

/// Reads every pool endpoint's state when a scrape asks; the daemon supplies it.
type Endpoints = Box<dyn Fn() -> Vec<EndpointSample> + Send + Sync>;

/// What the metrics page and `lbdns stats` report, shared by the daemon's parts.
#[derive(Default)]
pub struct Metrics {
    /// Counted by the socket path as it answers.
    pub socket: SocketMetrics,
    zones: Mutex<Vec<ZoneLoad>>,
    /// Present while the XDP fast path answers.
    xdp: Mutex<Option<XdpView>>,
    endpoints: OnceLock<Endpoints>,
}

/// The XDP fast path as the metrics see it: its counters and how full its maps are.
#[derive(Debug)]
struct XdpView {
    counters: Arc<CounterMap>,
    fill: Fill,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("socket", &self.socket)
            .field("zones", &self.zones)
            .field("xdp", &self.xdp)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// `zones` went into service now (start-up, or a reload that succeeded).
    pub fn zones_loaded(&self, zones: &[Zone]) {
        *lock(&self.zones) = zones::loaded(zones, SystemTime::now());
    }

    /// A reload failed: the zones served stay as they were.
    pub fn zones_failed(&self) {
        zones::failed(&mut lock(&self.zones));
    }

    /// The XDP fast path answers from here on, with its maps `fill` full.
    pub fn xdp_started(&self, counters: Arc<CounterMap>, fill: Fill) {
        *lock(&self.xdp) = Some(XdpView { counters, fill });
    }

    /// The XDP maps were written and are now `fill` full.
    pub fn xdp_published(&self, fill: Fill) {
        if let Some(view) = lock(&self.xdp).as_mut() {
            view.fill = fill;
        }
    }

    /// The XDP fast path was detached: the socket path answers everything.
    pub fn xdp_stopped(&self) {
        *lock(&self.xdp) = None;
    }

    /// Sets where the pool endpoints' state comes from. Once: the daemon has one pool set.
    pub fn set_endpoints(
        &self,
        endpoints: impl Fn() -> Vec<EndpointSample> + Send + Sync + 'static,
    ) {
        // A second call would be a bug in the daemon; the first source stays.
        let _ = self.endpoints.set(Box::new(endpoints));
    }

    /// The metrics page, in the Prometheus text format (0.0.4).
    pub fn encode(self: &Arc<Self>) -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(collect::Exposition(self.clone())));
        let mut page = String::new();
        // Writing to a String cannot fail; a collector returns an error only if it does.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut page, &registry);
        page
    }

    /// The socket path's counters as `name value` lines, for `lbdns stats`.
    pub fn socket_stats(&self) -> String {
        let mut out = String::new();
        for path in Path::ALL {
            let totals = self.socket.totals(path);
            let name = path.label();
            let _ = writeln!(out, "{name}_queries {}", totals.query_count());
            let _ = writeln!(out, "{name}_responses {}", totals.response_count());
            for (index, &count) in totals.responses.iter().enumerate() {
                if count > 0 {
                    let rcode = labels::rcode_label(index).to_ascii_lowercase();
                    let _ = writeln!(out, "{name}_rcode_{rcode} {count}");
                }
            }
        }
        out
    }

    fn endpoints(&self) -> Vec<EndpointSample> {
        self.endpoints.get().map(|read| read()).unwrap_or_default()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each of these is replaced whole under its lock; a panic elsewhere leaves it consistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
