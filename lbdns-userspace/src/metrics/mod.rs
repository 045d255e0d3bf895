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
use crate::rrl::Limiter;
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
    /// The socket path's rate limiter, with its tallies.
    pub rrl: Arc<Limiter>,
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

    /// A reload put `zones` into service now; the secondary zones `carried` keep their data,
    /// and their gauges with it.
    pub fn zones_reloaded(&self, zones: &[Zone], carried: &[hickory_proto::rr::Name]) {
        let carried: Vec<String> = carried.iter().map(|name| name.to_ascii()).collect();
        let mut served = lock(&self.zones);
        served.retain(|z| carried.contains(&z.zone));
        served.extend(zones::loaded(zones, SystemTime::now()));
    }

    /// One zone was patched (an IXFR): its serial and size now.
    pub fn zone_patched(&self, zone: &crate::authority::ZoneData) {
        let fresh = zones::indexed(zone, SystemTime::now());
        let mut served = lock(&self.zones);
        served.retain(|z| z.zone != fresh.zone);
        served.push(fresh);
    }

    /// One zone went into service now (a transfer), in place of any it replaced.
    pub fn zone_replaced(&self, zone: &Zone) {
        let mut served = lock(&self.zones);
        let fresh = zones::loaded(std::slice::from_ref(zone), SystemTime::now());
        served.retain(|z| z.zone != fresh[0].zone);
        served.extend(fresh);
    }

    /// The zone at `origin` is served without data (an expired secondary): no gauges for it.
    pub fn zone_withdrawn(&self, origin: &hickory_proto::rr::Name) {
        let apex = origin.to_ascii();
        lock(&self.zones).retain(|z| z.zone != apex);
    }

    /// A reload failed: the zones served stay as they were.
    pub fn zones_failed(&self) {
        zones::failed(&mut lock(&self.zones));
    }

    /// The XDP fast path answers from here on, with its maps `fill` full.
    pub fn xdp_started(&self, counters: Arc<CounterMap>, fill: Fill) {
        *lock(&self.xdp) = Some(XdpView { counters, fill });
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
            if path == Path::Udp {
                for (tally, count) in self.rrl.tallies() {
                    let _ = writeln!(out, "udp_{} {count}", tally.name());
                }
            }
            for (index, &count) in totals.responses.iter().enumerate() {
                if count > 0 {
                    let rcode = labels::rcode_label(index).to_ascii_lowercase();
                    let _ = writeln!(out, "{name}_rcode_{rcode} {count}");
                }
            }
        }
        out
    }

    /// The same counters for `lbdns stats --json`: per path (`udp`, `tcp`) its queries,
    /// responses, and responses by lower-case RCODE name.
    pub fn socket_stats_json(&self) -> serde_json::Value {
        let mut paths = serde_json::Map::new();
        for path in Path::ALL {
            let totals = self.socket.totals(path);
            let rcodes: serde_json::Map<String, serde_json::Value> = totals
                .responses
                .iter()
                .enumerate()
                .filter(|(_, &count)| count > 0)
                .map(|(index, &count)| {
                    (
                        labels::rcode_label(index).to_ascii_lowercase(),
                        count.into(),
                    )
                })
                .collect();
            let mut entry = serde_json::json!({
                "queries": totals.query_count(),
                "responses": totals.response_count(),
                "rcodes": rcodes,
            });
            if path == Path::Udp {
                let rrl: serde_json::Map<String, serde_json::Value> = self
                    .rrl
                    .tallies()
                    .map(|(tally, count)| (tally.name().to_owned(), count.into()))
                    .collect();
                entry["rrl"] = rrl.into();
            }
            paths.insert(path.label().to_owned(), entry);
        }
        paths.into()
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

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    const QUERY_A: &[u8] =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x00\x00\x01\x00\x01";

    fn counted() -> Arc<Metrics> {
        let metrics = Arc::new(Metrics::default());
        let peer: SocketAddr = "[2001:db8::2]:5353".parse().unwrap();
        let udp = metrics.socket.udp_thread();
        udp.query(&peer, QUERY_A);
        let mut reply = QUERY_A.to_vec();
        reply[2] = 0x84;
        reply[3] = 0x03;
        udp.response(&reply);
        udp.latency(std::time::Duration::from_micros(7), 1);
        udp.remembered(2);
        metrics
    }

    #[test]
    fn the_page_has_each_family_once_with_help_and_type() {
        let page = counted().encode();
        for line in [
            "# TYPE lbdns_dns_requests_total counter",
            "lbdns_dns_requests_total{path=\"udp\",family=\"2\",type=\"A\"} 1",
            "lbdns_dns_requests_total{path=\"tcp\",family=\"1\",type=\"other\"} 0",
            "lbdns_dns_responses_total{path=\"udp\",rcode=\"NXDOMAIN\"} 1",
            "lbdns_dns_request_duration_seconds_bucket{path=\"udp\",le=\"5e-06\"} 0",
            "lbdns_dns_request_duration_seconds_bucket{path=\"udp\",le=\"1e-05\"} 1",
            "lbdns_dns_request_duration_seconds_count{path=\"udp\"} 1",
            "lbdns_dns_cached_responses_total 2",
            "lbdns_xdp_enabled 0",
            "lbdns_build_info{version=\"0.1.0\"} 1",
        ] {
            assert!(page.lines().any(|l| l == line), "{line:?} missing:\n{page}");
        }
        assert!(
            !page.contains("lbdns_xdp_packets"),
            "no XDP counters without XDP"
        );
        let mut types: Vec<&str> = page
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .collect();
        let count = types.len();
        types.dedup();
        assert_eq!(types.len(), count, "a family appears once");
        let helps = page.lines().filter(|l| l.starts_with("# HELP ")).count();
        assert_eq!(helps, count, "every family has its help");
    }

    #[test]
    fn stats_lines_sum_the_socket_path() {
        let stats = counted().socket_stats();
        let rrl: String = lbdns_common::rrl::Tally::ALL
            .iter()
            .map(|tally| format!("udp_{} 0\n", tally.name()))
            .collect();
        assert_eq!(
            stats,
            format!(
                "udp_queries 1\nudp_responses 1\n{rrl}udp_rcode_nxdomain 1\ntcp_queries 0\n\
                 tcp_responses 0\n"
            )
        );
    }

    #[test]
    fn stats_json_carries_the_same_counters() {
        let stats = counted().socket_stats_json();
        assert_eq!(
            stats,
            serde_json::json!({
                "udp": {
                    "queries": 1, "responses": 1, "rcodes": { "nxdomain": 1 },
                    "rrl": {
                        "rrl_answered_v4": 0, "rrl_answered_v6": 0,
                        "rrl_slipped_v4": 0, "rrl_slipped_v6": 0,
                        "rrl_dropped_v4": 0, "rrl_dropped_v6": 0,
                        "rrl_allowed_v4": 0, "rrl_allowed_v6": 0,
                    },
                },
                "tcp": { "queries": 0, "responses": 0, "rcodes": {} },
            })
        );
    }
}
