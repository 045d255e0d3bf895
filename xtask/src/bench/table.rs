//! The report as plain-text tables for stdout: loads, then servers, then the zone-scale goals.

use std::fmt::Write as _;

use super::report::{Generator, GeoLoad, GeoQuery, Outcome, Report, Session};

/// Renders the whole report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let m = &report.machine;
    let _ = writeln!(
        out,
        "{} ({} cores), Linux {}, lbdns {}; {} s per load; run took {:.0} s",
        m.cpu, m.cores, m.kernel, m.lbdns_commit, report.settings.secs, report.duration_s
    );
    loads(report, &mut out);
    geo(report, &mut out);
    servers(report, &mut out);
    zone_scale(report, &mut out);
    failures(report, &mut out);
    out
}

fn loads(report: &Report, out: &mut String) {
    let _ = writeln!(
        out,
        "\n{:<13} {:<8} {:>10} {:>6} {:>6} {:>10} {:>6} {:>6} {:>7} {:>7} {:>6} {:>6} {:>7}  status",
        "target",
        "mix",
        "kxdpgun/s",
        "×ceil",
        "×nsd",
        "dnsperf/s",
        "×ceil",
        "×nsd",
        "avg ms",
        "p99 ms",
        "lost%",
        "cpu s",
        "ns/pkt"
    );
    for session in &report.sessions {
        if let Some(failure) = &session.failure {
            if session.loads.is_empty() {
                let _ = writeln!(
                    out,
                    "{:<13} {:<8} {}",
                    session.target.name(),
                    session.zones.name(),
                    failure
                );
                continue;
            }
        }
        for run in &session.loads {
            let ratio = report.ratio(session.target, run.mix);
            let ratio_of = |name: &str, vs_nsd: bool| {
                ratio
                    .and_then(|r| if vs_nsd { &r.vs_nsd } else { &r.vs_ceiling }.get(name))
                    .map_or_else(|| "-".into(), |v| format!("{v:.2}"))
            };
            let kxdpgun = run.kxdpgun.ok().map(|k| k.replies_per_s.to_string());
            let dnsperf = run.dnsperf.ok();
            let latency = run.latency.ok();
            let mut status = run.problems.join("; ");
            if status.is_empty() {
                status = match &session.failure {
                    Some(failure) => failure.clone(),
                    None => "ok".into(),
                };
            }
            let _ = writeln!(
                out,
                "{:<13} {:<8} {:>10} {:>6} {:>6} {:>10} {:>6} {:>6} {:>7} {:>7} {:>6} {:>6} {:>7}  {}",
                session.target.name(),
                // The geo mix runs once per map: name the map.
                if session.zones.geo_map().is_some() {
                    session.zones.name()
                } else {
                    run.mix.name()
                },
                or_dash(kxdpgun),
                ratio_of("replies_per_s", false),
                ratio_of("replies_per_s", true),
                or_dash(dnsperf.map(|d| format!("{:.0}", d.qps))),
                ratio_of("qps", false),
                ratio_of("qps", true),
                or_dash(dnsperf.map(|d| format!("{:.3}", d.avg_latency_ms))),
                or_dash(latency.map(|l| format!("{:.3}", l.p99_ms))),
                or_dash(dnsperf.map(|d| format!("{:.2}", d.loss() * 100.0))),
                format!("{:.1}", run.cpu_s_dnsperf),
                or_dash(run.xdp_ns_per_packet.map(|ns| format!("{ns:.0}"))),
                status
            );
        }
    }
    let _ = writeln!(
        out,
        "kxdpgun/s: replies per second at saturation. dnsperf/s, avg ms, lost%: closed-loop dnsperf. \
         p99 ms: dnsperf at {} qps. cpu s: server processes during dnsperf. \
         ns/pkt: server XDP program, average run time. geo-few, geo-full: the geo mix (geo pool \
         from many sources; dnsperf with Client Subnet), by subnet map.",
        report.settings.latency_qps
    );
    let floor = match &report.xdp_accounting_floor_ns {
        Outcome::Ok(ns) => format!("{ns:.0}"),
        Outcome::Failed(error) => format!("not measured ({error})"),
    };
    let _ = writeln!(
        out,
        "ns/pkt of a program that returns at once, under the same accounting: {floor}."
    );
}

/// The `geo` mix: per target, map and load generator, the plain pool's figures beside the geo
/// pool's, and what the geo answer costs against issue 18's goal.
fn geo(report: &Report, out: &mut String) {
    let runs: Vec<(&Session, &[GeoLoad])> = report
        .loads()
        .filter(|(_, run)| !run.geo.is_empty())
        .map(|(session, run)| (session, run.geo.as_slice()))
        .collect();
    if runs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nGeo answers: {} sources for kxdpgun, Client Subnet {} for dnsperf ECS:\n\
         {:<13} {:<8} {:>8} {:<8} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6} {:>6} {:>6}  goal",
        report.settings.geo_sources,
        report.settings.geo_ecs_option,
        "target",
        "map",
        "prefixes",
        "load",
        "plain/s",
        "geo/s",
        "ECS/s",
        "plain",
        "geo",
        "ECS",
        "Δgeo",
        "ΔECS",
    );
    for (session, loads) in runs {
        let goal = session.zones.geo_map().map(|m| m.goal_ns());
        for generator in [Generator::Kxdpgun, Generator::Dnsperf] {
            let find = |query| {
                loads
                    .iter()
                    .find(|l| l.generator == generator && l.query == query)
            };
            let (plain, geo, ecs) = (
                find(GeoQuery::Plain),
                find(GeoQuery::Geo),
                find(GeoQuery::GeoEcs),
            );
            let rate = |load: Option<&GeoLoad>| {
                or_dash(
                    load.and_then(|l| l.replies_per_s.ok())
                        .map(|r| format!("{r:.0}")),
                )
            };
            let ns = |load: Option<&GeoLoad>| load.and_then(|l| l.xdp_ns_per_packet);
            let delta = |load| ns(load).zip(ns(plain)).map(|(n, p)| n - p);
            let deltas = [delta(geo), delta(ecs)];
            let verdict = match goal {
                _ if deltas.iter().all(Option::is_none) => "-".to_owned(),
                Some(goal) if deltas.iter().flatten().all(|d| *d <= goal) => {
                    format!("≤ {goal:.0} ns: met")
                }
                Some(goal) => format!("≤ {goal:.0} ns: missed"),
                None => "-".to_owned(),
            };
            let _ = writeln!(
                out,
                "{:<13} {:<8} {:>8} {:<8} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6} {:>6} {:>6}  {verdict}",
                session.target.name(),
                session.zones.name(),
                or_dash(
                    report
                        .settings
                        .geo_map_prefixes
                        .get(session.zones.name())
                        .map(ToString::to_string)
                ),
                format!("{generator:?}").to_lowercase(),
                rate(plain),
                rate(geo),
                rate(ecs),
                or_dash(ns(plain).map(|n| format!("{n:.0}"))),
                or_dash(ns(geo).map(|n| format!("{n:.0}"))),
                or_dash(ns(ecs).map(|n| format!("{n:.0}"))),
                or_dash(deltas[0].map(|d| format!("{d:+.1}"))),
                or_dash(deltas[1].map(|d| format!("{d:+.1}"))),
            );
        }
    }
    let _ = writeln!(
        out,
        "plain, geo: A and AAAA of the plain pool and of the geo pool, same endpoints per family \
         and answer size; ECS: the geo pool with Client Subnet. /s: kxdpgun replies or closed-loop \
         dnsperf queries per second. plain, geo, ECS (columns 9-11): ns/packet of the XDP program; \
         Δ: against the plain pool under the same generator."
    );
}

fn servers(report: &Report, out: &mut String) {
    let _ = writeln!(
        out,
        "\n{:<13} {:<8} {:>8} {:>9} {:>9} {:>9} {:>9}  xdp program / notes",
        "target", "zones", "start s", "PSS MiB", "RSS MiB", "maps KiB", "reload s"
    );
    for session in report.sessions.iter().filter(|s| s.start_s.is_some()) {
        let memory = session.memory_after_loads;
        let reload = match &session.reload {
            Some(Outcome::Ok(secs)) => format!("{secs:.2}"),
            Some(Outcome::Failed(_)) => "failed".into(),
            None => "-".into(),
        };
        let mut notes: Vec<String> = session.xdp_program.iter().cloned().collect();
        if let Some(Outcome::Failed(error)) = &session.reload {
            notes.push(format!("reload: {error}"));
        }
        notes.extend(session.notes.iter().cloned());
        let _ = writeln!(
            out,
            "{:<13} {:<8} {:>8} {:>9} {:>9} {:>9} {:>9}  {}",
            session.target.name(),
            session.zones.name(),
            or_dash(session.start_s.map(|s| format!("{s:.2}"))),
            or_dash(memory.map(|m| mib(m.pss_kib))),
            or_dash(memory.map(|m| mib(m.rss_kib))),
            or_dash(session.bpf_map_bytes.map(|b| (b / 1024).to_string())),
            reload,
            notes.join("; ")
        );
    }
    let _ = writeln!(
        out,
        "start s: to the first answer. PSS, RSS: the server's processes after the loads. \
         maps: kernel memory of the server-side XDP program's maps. reload s: SIGHUP to lbdns's \"... reloaded\" log line."
    );
}

fn zone_scale(report: &Report, out: &mut String) {
    if report.zone_scale.is_empty() {
        let _ = writeln!(
            out,
            "\nZone scale: not measured (needs --mix large and an lbdns target)."
        );
        return;
    }
    let _ = writeln!(
        out,
        "\nZone scale ({} A RRsets):",
        report.settings.large_zone_rrsets
    );
    for scale in &report.zone_scale {
        let start = match scale.start_s {
            Some(s) if s < scale.start_goal_s => {
                format!("{s:.1} s (goal < {} s: met)", scale.start_goal_s)
            }
            Some(s) => format!(
                "{s:.1} s (goal < {} s: missed by {:.1} s)",
                scale.start_goal_s,
                s - scale.start_goal_s
            ),
            None => "did not start".into(),
        };
        let start = match scale.xdp_ready_s {
            Some(s) => format!("{start}, XDP serving at {s:.1} s"),
            None => start,
        };
        let memory = match (scale.memory_kib, scale.nsd_pss_kib, scale.memory_vs_nsd) {
            (Some(l), Some(n), Some(ratio)) if ratio < 1.0 => {
                format!("{} MiB vs NSD {} MiB ({ratio:.2}×: met)", mib(l), mib(n))
            }
            (Some(l), Some(n), Some(ratio)) => format!(
                "{} MiB vs NSD {} MiB ({ratio:.2}×: missed, {} MiB over)",
                mib(l),
                mib(n),
                mib(l.saturating_sub(n))
            ),
            (Some(l), _, _) => format!("{} MiB (no NSD figure to compare)", mib(l)),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "  {:<13} first answer {start}; NSD's {}\n  {:<13} reload {}; memory {memory}{}; \
             PSS before the reload {} MiB",
            scale.target.name(),
            or_dash(scale.nsd_start_s.map(|s| format!("{s:.1} s"))),
            "",
            or_dash(scale.reload_s.map(|s| format!("{s:.1} s"))),
            match (scale.pss_kib, scale.bpf_map_kib) {
                (Some(pss), Some(maps)) => {
                    format!(" (PSS {} MiB + BPF maps {} MiB)", mib(pss), mib(maps))
                }
                _ => " (PSS)".to_owned(),
            },
            or_dash(scale.pss_before_reload_kib.map(mib)),
        );
    }
}

/// Targets that could not be measured, listed again so that they cannot be overlooked.
fn failures(report: &Report, out: &mut String) {
    let failed: Vec<&Session> = report
        .sessions
        .iter()
        .filter(|s| s.failure.is_some())
        .collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nNot measured, or not to the end:");
    for s in failed {
        let _ = writeln!(
            out,
            "  {} ({}): {}",
            s.target.name(),
            s.zones.name(),
            s.failure.as_deref().unwrap_or_default()
        );
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0}", kib as f64 / 1024.0)
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".into())
}
