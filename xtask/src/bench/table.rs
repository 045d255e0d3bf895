//! The report as plain-text tables for stdout: loads, then servers, then the zone-scale goals.

use std::fmt::Write as _;

use super::{
    compare::Pool,
    mixes::Mix,
    pools,
    report::{ComparedLoad, Outcome, Report, Session},
};

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
    pools(report, &mut out);
    servers(report, &mut out);
    zone_scale(report, &mut out);
    failures(report, &mut out);
    out
}

fn loads(report: &Report, out: &mut String) {
    let _ = writeln!(
        out,
        "\n{:<14} {:<8} {:>10} {:>6} {:>6} {:>10} {:>6} {:>6} {:>7} {:>7} {:>6} {:>6} {:>7}  status",
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
                    "{:<14} {:<8} {}",
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
                "{:<14} {:<8} {:>10} {:>6} {:>6} {:>10} {:>6} {:>6} {:>7} {:>7} {:>6} {:>6} {:>7}  {}",
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
        "kxdpgun/s: replies per second at saturation (from the bench's own generator where a status \
         says kxdpgun did not run). dnsperf/s, avg ms, lost%: closed-loop dnsperf. \
         p99 ms: dnsperf at {} qps. cpu s: server processes during dnsperf. \
         ns/pkt: server XDP program, average run time. geo-few, geo-full: the geo mix by subnet \
         map, the geo pool through the /24 table (kxdpgun -l; dnsperf with Client Subnet). \
         pools: the weighted pool.",
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
    match &report.memory_reads {
        None => {}
        Some(Outcome::Ok(reads)) => {
            let _ = writeln!(
                out,
                "One read that misses, over {} MiB from userspace: {:.0} ns with 4 KiB pages \
                 (as large BPF arrays have), {:.0} ns with 2 MiB pages ({} MiB of them).",
                reads.mib, reads.small_pages_ns, reads.huge_pages_ns, reads.huge_mib
            );
        }
        Some(Outcome::Failed(error)) => {
            let _ = writeln!(out, "Memory reads not measured ({error}).");
        }
    }
}

/// The `geo` mix: per target and map, every load with the XDP program's ns/packet and what a
/// geo answer costs over the plain pool's under the same generator, against issue 18's goal.
fn geo(report: &Report, out: &mut String) {
    let runs = compared(report, Mix::Geo);
    if runs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nGeo answers (XDP ns/packet over a plain pool's; goal: issue 18):\n{:<14} {:<8} {:>8} {:<8} {:<18} {:>9} {:>7} {:>7}  goal",
        "target", "map", "prefixes", "load", "pool, lookup", "replies/s", "ns/pkt", "Δ ns"
    );
    for (session, loads) in runs {
        let goal = session.zones.geo_map().map(|m| m.goal_ns());
        let prefixes = report.settings.geo_map_prefixes.get(session.zones.name());
        for load in loads {
            let baseline = loads
                .iter()
                .filter(|l| Some(l.name) == load.baseline && l.name != load.name)
                .find(|l| l.generator == load.generator)
                .and_then(|l| l.xdp_ns_per_packet);
            let delta = load.xdp_ns_per_packet.zip(baseline).map(|(n, b)| n - b);
            let goal = goal.filter(|_| load.pool == Pool::Geo);
            let verdict = match (delta, goal) {
                (Some(d), Some(goal)) if d <= goal => format!("≤ {goal:.0} ns: met"),
                (Some(d), Some(goal)) => format!("≤ {goal:.0} ns: missed by {:.0} ns", d - goal),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<14} {:<8} {:>8} {:<8} {:<18} {:>9} {:>7} {:>7}  {verdict}",
                session.target.name(),
                session.zones.name(),
                or_dash(prefixes.map(ToString::to_string)),
                load.generator.name(),
                load.name,
                or_dash(load.replies_per_s.ok().map(|r| format!("{r:.0}"))),
                or_dash(load.xdp_ns_per_packet.map(|n| format!("{n:.0}"))),
                or_dash(delta.map(|d| format!("{d:+.1}"))),
            );
        }
    }
    let _ = writeln!(
        out,
        "plain, geo: A and AAAA of a round-robin pool and of a geo pool, same endpoints per family \
         and answer size. /16 table: the client's own address, in a whole /16 of the map; /24 \
         table: kxdpgun -l 198.18.66.0/24, or Client Subnet 198.18.66.0/24, whole /24s of a split \
         /16; address table: 198.18.64.0/24, split by a /25; IPv6 /56 table: kxdpgun -l \
         2001:db8:0:ff00::/64, or Client Subnet 2001:db8:0:ff00::/56, inside a /48 of another \
         location, its /48 slot and one chunk; plain IPv6: kxdpgun -l 2001:db8:53::/64. \
         replies/s: kxdpgun at saturation, or closed-loop dnsperf. ns/pkt: the server's XDP program. Δ ns: against the plain pool \
         under the same generator, with Client Subnet of its family for a geo load with it; for plain ECS, \
         against plain without."
    );
}

/// The `pools` mix: per target, every load with its replies per second and the XDP program's
/// ns/packet, and each against the round-robin pool's under the same generator, against issue
/// 17's goal.
fn pools(report: &Report, out: &mut String) {
    let runs = compared(report, Mix::Pools);
    if runs.is_empty() {
        return;
    }
    let goal = pools::GOAL_RATIO;
    let _ = writeln!(
        out,
        "\nPools (against the round-robin pool; goal: issue 17, within {:.0}%):\n{:<14} {:<8} {:<9} {:>9} {:>7} {:>8} {:>8}  goal",
        (goal - 1.0) * 100.0,
        "target", "load", "pool", "replies/s", "ns/pkt", "×plain/s", "×plain ns"
    );
    for (session, loads) in runs {
        for load in loads {
            let baseline = loads
                .iter()
                .filter(|l| Some(l.name) == load.baseline && l.name != load.name)
                .find(|l| l.generator == load.generator);
            let replies = load.replies_per_s.ok().copied();
            let replies_ratio = replies
                .zip(baseline.and_then(|b| b.replies_per_s.ok().copied()))
                .filter(|(_, b)| *b > 0.0)
                .map(|(r, b)| r / b);
            let ns_ratio = load
                .xdp_ns_per_packet
                .zip(baseline.and_then(|b| b.xdp_ns_per_packet))
                .filter(|(_, b)| *b > 0.0)
                .map(|(n, b)| n / b);
            // The program's cost where there is one; the socket path's throughput otherwise.
            let verdict = match (baseline, ns_ratio, replies_ratio) {
                (None, _, _) => String::new(),
                (Some(_), Some(r), _) if r <= goal => format!("ns ≤ {goal:.2}×: met"),
                (Some(_), Some(r), _) => format!("ns ≤ {goal:.2}×: missed ({r:.2}×)"),
                (Some(_), None, Some(r)) if r * goal >= 1.0 => {
                    format!("replies ≥ 1/{goal:.2}×: met")
                }
                (Some(_), None, Some(r)) => format!("replies ≥ 1/{goal:.2}×: missed ({r:.2}×)"),
                (Some(_), None, None) => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<14} {:<8} {:<9} {:>9} {:>7} {:>8} {:>8}  {verdict}",
                session.target.name(),
                load.generator.name(),
                load.name,
                or_dash(replies.map(|r| format!("{r:.0}"))),
                or_dash(load.xdp_ns_per_packet.map(|n| format!("{n:.0}"))),
                or_dash(replies_ratio.map(|r| format!("{r:.3}"))),
                or_dash(ns_ratio.map(|r| format!("{r:.3}"))),
            );
        }
    }
    let _ = writeln!(
        out,
        "plain, weighted, failover: A and AAAA of a round-robin pool, a weighted pool (a schedule of 32 \
         steps) and a failover pool (4 of its 8 endpoints in the first tier), 8 IPv4 and 8 IPv6 \
         endpoints each, 2 addresses per answer. replies/s: kxdpgun at saturation, or closed-loop \
         dnsperf. ns/pkt: the server's XDP program. ×plain: against the round-robin pool under \
         the same generator. The goal is met when the program's ns/pkt is at most {goal:.2}× \
         plain's, or without a program, when replies/s are at least plain's divided by {goal:.2}."
    );
}

/// Every load of `mix` by session, for the mixes that compare pools.
fn compared(report: &Report, mix: Mix) -> Vec<(&Session, &[ComparedLoad])> {
    report
        .loads()
        .filter(|(_, run)| run.mix == mix && !run.compared.is_empty())
        .map(|(session, run)| (session, run.compared.as_slice()))
        .collect()
}

fn servers(report: &Report, out: &mut String) {
    let _ = writeln!(
        out,
        "\n{:<14} {:<8} {:>8} {:>9} {:>9} {:>9} {:>9}  xdp program / notes",
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
            "{:<14} {:<8} {:>8} {:>9} {:>9} {:>9} {:>9}  {}",
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

pub(super) fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".into())
}
