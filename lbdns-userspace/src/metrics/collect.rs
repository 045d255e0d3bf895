//! Encodes every metric at scrape time, from the sources `Metrics` holds.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use lbdns_common::counters::Counter;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::histogram::Histogram;
use super::labels::{qtype_label, rcode_index, rcode_label, FAMILY_LABELS};
use super::socket::{Path, PathTotals};
use super::zones::ZoneLoad;
use super::{lock, Metrics};
use crate::maps::Usage;

/// The whole page, as one collector: every source is read once per scrape.
#[derive(Debug)]
pub(super) struct Exposition(pub(super) Arc<Metrics>);

type Labels<'a> = Vec<(&'static str, &'a str)>;

fn counter(metric: &mut MetricEncoder, labels: &Labels, value: u64) -> Result<(), std::fmt::Error> {
    metric
        .encode_family(labels)?
        .encode_counter::<NoLabelSet, _, u64>(&value, None)
}

fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    metric: &mut MetricEncoder,
    labels: &Labels,
    value: V,
) -> Result<(), std::fmt::Error> {
    metric.encode_family(labels)?.encode_gauge(&value)
}

fn histogram(
    metric: &mut MetricEncoder,
    labels: &Labels,
    value: &Histogram,
) -> Result<(), std::fmt::Error> {
    metric
        .encode_family(labels)?
        .encode_histogram::<NoLabelSet>(
            value.sum_seconds(),
            value.count(),
            &value.per_bucket(),
            None,
        )
}

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let metrics = &self.0;
        let xdp = lock(&metrics.xdp)
            .as_ref()
            .map(|view| (view.counters.read().ok(), view.fill));
        let socket: Vec<(Path, PathTotals)> = Path::ALL
            .into_iter()
            .map(|path| (path, metrics.socket.totals(path)))
            .collect();
        let xdp_counters = xdp.as_ref().and_then(|(counters, _)| *counters);

        let mut metric = encoder.encode_descriptor(
            "lbdns_build_info",
            "Always 1; the version label says which lbdns is running.",
            None,
            MetricType::Gauge,
        )?;
        gauge(
            &mut metric,
            &vec![("version", env!("CARGO_PKG_VERSION"))],
            1u64,
        )?;

        let mut metric = encoder.encode_descriptor(
            "lbdns_dns_requests",
            "Queries received, by path (xdp, udp, tcp), address family (1 IPv4, 2 IPv6; not \
             told apart on the xdp path) and query type (on the xdp path, replies prepared \
             whole are counted together as type fixed).",
            None,
            MetricType::Counter,
        )?;
        for (path, totals) in &socket {
            for (family, types) in FAMILY_LABELS.iter().zip(&totals.queries) {
                for (index, &count) in types.iter().enumerate() {
                    let labels = vec![
                        ("path", path.label()),
                        ("family", *family),
                        ("type", qtype_label(index)),
                    ];
                    counter(&mut metric, &labels, count)?;
                }
            }
        }
        if let Some(counters) = xdp_counters {
            for (rtype, answered, nxdomain) in [
                ("A", Counter::AnsweredA, Counter::NxdomainA),
                ("AAAA", Counter::AnsweredAaaa, Counter::NxdomainAaaa),
            ] {
                let labels = vec![("path", "xdp"), ("type", rtype)];
                let queries = counters.get(answered) + counters.get(nxdomain);
                counter(&mut metric, &labels, queries)?;
            }
            // Fixed replies are counted together, whatever their type (NODATA to A and AAAA
            // among them).
            let labels = vec![("path", "xdp"), ("type", "fixed")];
            counter(&mut metric, &labels, counters.get(Counter::AnsweredFixed))?;
        }

        let mut metric = encoder.encode_descriptor(
            "lbdns_dns_responses",
            "Replies sent, by path and RCODE.",
            None,
            MetricType::Counter,
        )?;
        for (path, totals) in &socket {
            for (index, &count) in totals.responses.iter().enumerate() {
                let labels = vec![("path", path.label()), ("rcode", rcode_label(index))];
                counter(&mut metric, &labels, count)?;
            }
        }
        if let Some(counters) = xdp_counters {
            for (rcode, replies) in [
                (
                    0,
                    &[
                        Counter::AnsweredA,
                        Counter::AnsweredAaaa,
                        Counter::AnsweredFixed,
                    ][..],
                ),
                (3, &[Counter::NxdomainA, Counter::NxdomainAaaa][..]),
            ] {
                let sent = replies.iter().map(|&which| counters.get(which)).sum();
                let labels = vec![("path", "xdp"), ("rcode", rcode_label(rcode_index(rcode)))];
                counter(&mut metric, &labels, sent)?;
            }
        }

        let mut metric = encoder.encode_descriptor(
            "lbdns_dns_cached_responses",
            "Socket path, UDP: replies a worker's reply cache gave (a query seen before, answered \
             without parsing, lookup or encoding), before response rate limiting.",
            None,
            MetricType::Counter,
        )?;
        let udp = socket.iter().filter(|(path, _)| *path == Path::Udp);
        for (_, totals) in udp {
            counter(&mut metric, &vec![], totals.remembered)?;
        }

        let mut metric = encoder.encode_descriptor(
            "lbdns_dns_request_duration_seconds",
            "Socket path: from receiving a query (the return of the receive call) to handing \
             its reply to the kernel.",
            None,
            MetricType::Histogram,
        )?;
        for (path, totals) in &socket {
            histogram(&mut metric, &vec![("path", path.label())], &totals.latency)?;
        }

        let mut metric = encoder.encode_descriptor(
            "lbdns_xdp_enabled",
            "1 while the XDP fast path is attached and answering.",
            None,
            MetricType::Gauge,
        )?;
        metric.encode_gauge(&u64::from(xdp.is_some()))?;

        if let Some(counters) = xdp_counters {
            let mut metric = encoder.encode_descriptor(
                "lbdns_xdp_packets",
                "Packets the XDP program saw, by what it did: answered_a and answered_aaaa were \
                 answered (XDP_TX), answered_nxdomain_a and answered_nxdomain_aaaa answered NXDOMAIN, pass_* went \
                 on to the socket path for that reason, dropped failed a check mid-rewrite.",
                None,
                MetricType::Counter,
            )?;
            for (which, value) in counters.iter() {
                counter(&mut metric, &vec![("outcome", which.name())], value)?;
            }
        }

        let mut metric = encoder.encode_descriptor(
            "lbdns_rrl_responses",
            "Responses under rate limiting, by path (xdp, udp), outcome (answered within the \
             rate, slipped as a truncated reply, dropped, allowed over the rate by the allow \
             list) and address family (1 IPv4, 2 IPv6).",
            None,
            MetricType::Counter,
        )?;
        let udp = metrics.rrl.tallies().map(|tally| ("udp", tally));
        let in_xdp = xdp_counters
            .into_iter()
            .flat_map(|counters| counters.tallies().collect::<Vec<_>>())
            .map(|tally| ("xdp", tally));
        for (path, (tally, value)) in udp.chain(in_xdp) {
            let (outcome, family) = rrl_labels(tally.name());
            let labels = vec![("path", path), ("outcome", outcome), ("family", family)];
            counter(&mut metric, &labels, value)?;
        }

        if let Some((_, fill)) = &xdp {
            let maps: [(&str, Usage, u32); 5] = [
                ("answer_slots_a", fill.a_slots, 1),
                ("answer_slots_aaaa", fill.aaaa_slots, 1),
                ("name_entries", fill.names, 1),
                ("name_bytes", fill.name_words, 8),
                ("signature_entries", fill.signatures, 1),
            ];
            let mut metric = encoder.encode_descriptor(
                "lbdns_xdp_map_used",
                "What the XDP maps hold (live, or retired until the next grace period), by map.",
                None,
                MetricType::Gauge,
            )?;
            for (map, usage, scale) in maps {
                gauge(
                    &mut metric,
                    &vec![("map", map)],
                    u64::from(usage.used) * u64::from(scale),
                )?;
            }
            let mut metric = encoder.encode_descriptor(
                "lbdns_xdp_map_capacity",
                "What the XDP maps have room for, by map (as lbdns_xdp_map_used).",
                None,
                MetricType::Gauge,
            )?;
            for (map, usage, scale) in maps {
                let capacity = u64::from(usage.capacity) * u64::from(scale);
                gauge(&mut metric, &vec![("map", map)], capacity)?;
            }
        }

        encode_zones(metrics, &mut encoder)?;
        encode_endpoints(metrics, &mut encoder)
    }
}

fn encode_zones(metrics: &Metrics, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let zones = lock(&metrics.zones).clone();
    zone_gauge(
        encoder,
        &zones,
        "lbdns_zone_serial",
        "The SOA serial of the zone being served.",
        |zone| zone.serial,
    )?;
    zone_gauge(
        encoder,
        &zones,
        "lbdns_zone_records",
        "Records in the zone being served, as its files hold them.",
        |zone| zone.records,
    )?;
    zone_gauge(
        encoder,
        &zones,
        "lbdns_zone_last_load_success",
        "1 if the last load or reload put the zone's files into service, 0 if it failed and \
         the previous data is still served.",
        |zone| u64::from(zone.success),
    )?;
    zone_gauge(
        encoder,
        &zones,
        "lbdns_zone_last_load_timestamp_seconds",
        "When the zone data being served was loaded, in seconds since the Unix epoch.",
        |zone| {
            zone.loaded_at
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64())
        },
    )
}

/// One gauge family with a sample per zone, labelled by the zone's name.
fn zone_gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    zones: &[ZoneLoad],
    name: &str,
    help: &str,
    value: impl Fn(&ZoneLoad) -> V,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for zone in zones {
        gauge(
            &mut metric,
            &vec![("zone", zone.zone.as_str())],
            value(zone),
        )?;
    }
    Ok(())
}

fn encode_endpoints(
    metrics: &Metrics,
    encoder: &mut DescriptorEncoder,
) -> Result<(), std::fmt::Error> {
    let endpoints = metrics.endpoints();
    let addresses: Vec<String> = endpoints.iter().map(|e| e.endpoint.to_string()).collect();
    let labels = |i: usize| -> Labels<'_> {
        vec![
            ("pool", endpoints[i].pool.as_str()),
            ("endpoint", addresses[i].as_str()),
        ]
    };
    let mut metric = encoder.encode_descriptor(
        "lbdns_pool_endpoint_up",
        "1 if the endpoint is healthy as its pool uses it (no check: always 1).",
        None,
        MetricType::Gauge,
    )?;
    for (i, endpoint) in endpoints.iter().enumerate() {
        gauge(&mut metric, &labels(i), u64::from(endpoint.healthy))?;
    }
    let mut metric = encoder.encode_descriptor(
        "lbdns_pool_endpoint_drained",
        "1 if the endpoint is drained (lbdns drain).",
        None,
        MetricType::Gauge,
    )?;
    for (i, endpoint) in endpoints.iter().enumerate() {
        gauge(&mut metric, &labels(i), u64::from(endpoint.drained))?;
    }
    let mut metric = encoder.encode_descriptor(
        "lbdns_health_check_duration_seconds",
        "How long the endpoint's health checks took, failed ones included.",
        None,
        MetricType::Histogram,
    )?;
    for (i, endpoint) in endpoints.iter().enumerate() {
        if let Some(check) = &endpoint.check {
            histogram(&mut metric, &labels(i), &check.latency)?;
        }
    }
    let mut metric = encoder.encode_descriptor(
        "lbdns_health_transitions",
        "Times the endpoint's health check turned it down or up.",
        None,
        MetricType::Counter,
    )?;
    for (i, endpoint) in endpoints.iter().enumerate() {
        if let Some(check) = &endpoint.check {
            counter(&mut metric, &labels(i), check.transitions)?;
        }
    }
    Ok(())
}

/// The outcome and family labels of a tally named `rrl_<outcome>_v4` or `_v6`.
fn rrl_labels(name: &'static str) -> (&'static str, &'static str) {
    let rest = name.strip_prefix("rrl_").unwrap_or(name);
    match rest.strip_suffix("_v6") {
        Some(outcome) => (outcome, "2"),
        None => (rest.strip_suffix("_v4").unwrap_or(rest), "1"),
    }
}
