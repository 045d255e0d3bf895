//! Everything one run measured, the machine it ran on, and the figures derived from them:
//! ratios to the ceiling and to NSD from the same run, and the zone-scale goals.
//!
//! Absolute figures depend on the machine; the ratios, taken within one run, are what compares
//! across machines. Every figure is kept, including those of targets that failed or lost
//! queries, with the reason next to it.

use std::{collections::BTreeMap, fs, path::Path, process::Command};

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::{
    compare, generator,
    load::{Dnsperf, Kxdpgun, Latency, DNSPERF_LOOP, KXDPGUN_QPS, LATENCY_QPS},
    memory::MemoryReads,
    mixes::{self, Mix, ZoneSet},
    targets::Target,
    usage::Memory,
};

/// Loss above this fraction makes a figure suspect, and the report says so.
pub const MAX_LOSS: f64 = 0.01;
/// Share of the machine's CPU time that processes other than the benchmark's may use during a
/// load before the load is flagged as disturbed.
const MAX_OTHER_CPU: f64 = 0.05;
/// Goal: lbdns answers within this long after starting with the large zone.
const START_GOAL_S: f64 = 10.0;

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub settings: Settings,
    /// Wall-clock time of the run, builds included; with `--rounds`, of this round (the first
    /// with the builds).
    pub duration_s: f64,
    pub sessions: Vec<Session>,
    /// The ns per packet that the run-time accounting reports for a program that returns at
    /// once: the part of every `xdp_ns_per_packet` that is the measurement's own.
    pub xdp_accounting_floor_ns: Outcome<f64>,
    /// With the `large` mix: one read that misses, from userspace, over as much memory as the
    /// lookup floor's arrays, with small and with huge pages.
    pub memory_reads: Option<Outcome<MemoryReads>>,
    /// Per target and mix, each figure divided by the same figure of the ceiling and of NSD.
    pub ratios: Vec<Ratios>,
    pub zone_scale: Vec<ZoneScale>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub memory_kib: Option<u64>,
    /// `version` lines of the load generators and servers, by program.
    pub tools: BTreeMap<&'static str, String>,
    /// The lbdns commit, with `-dirty` if the work tree had changes.
    pub lbdns_commit: String,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub secs: u64,
    pub mixes: Vec<Mix>,
    pub targets: Vec<Target>,
    pub kxdpgun: String,
    /// What replaces kxdpgun where it cannot run (`generator`).
    pub generator: String,
    pub dnsperf: String,
    pub latency_qps: u32,
    pub seed: u64,
    pub large_zone_rrsets: u32,
    /// Prefixes in each geo zone set's subnet map, by zone set.
    pub geo_map_prefixes: BTreeMap<&'static str, usize>,
}

/// One start of one target with one zone set, and the loads run against it.
#[derive(Debug, Serialize)]
pub struct Session {
    pub target: Target,
    pub zones: ZoneSet,
    /// `None` if the target ran; else why it could not (not installed, failed to start, died).
    pub failure: Option<String>,
    /// Seconds from start to the first answer.
    pub start_s: Option<f64>,
    /// lbdns-xdp: seconds from start until the fast path serves (its maps filled).
    pub xdp_ready_s: Option<f64>,
    /// The XDP program on the server's veth while it ran, and its maps' kernel memory.
    pub xdp_program: Option<String>,
    pub bpf_map_bytes: Option<u64>,
    pub memory_ready: Option<Memory>,
    pub memory_after_loads: Option<Memory>,
    /// lbdns: seconds from SIGHUP to "zones reloaded", or why that failed.
    pub reload: Option<Outcome<f64>>,
    pub memory_after_reload: Option<Memory>,
    /// Anything that went wrong on the way out: a forced kill, programs left attached.
    pub notes: Vec<String>,
    pub loads: Vec<MixRun>,
}

impl Session {
    pub fn new(target: Target, zones: ZoneSet) -> Self {
        Self {
            target,
            zones,
            failure: None,
            start_s: None,
            xdp_ready_s: None,
            xdp_program: None,
            bpf_map_bytes: None,
            memory_ready: None,
            memory_after_loads: None,
            reload: None,
            memory_after_reload: None,
            notes: Vec::new(),
            loads: Vec::new(),
        }
    }
}

/// A figure, or why it is missing.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome<T> {
    Ok(T),
    Failed(String),
}

impl<T> Outcome<T> {
    pub fn from_result(result: Result<T>) -> Self {
        match result {
            Ok(value) => Outcome::Ok(value),
            Err(error) => Outcome::Failed(format!("{error:#}")),
        }
    }

    pub fn ok(&self) -> Option<&T> {
        match self {
            Outcome::Ok(value) => Some(value),
            Outcome::Failed(_) => None,
        }
    }
}

/// The three loads of one mix against one target.
#[derive(Debug, Serialize)]
pub struct MixRun {
    pub mix: Mix,
    pub kxdpgun: Outcome<Kxdpgun>,
    pub dnsperf: Outcome<Dnsperf>,
    pub latency: Outcome<Latency>,
    /// CPU seconds of the server's processes during the kxdpgun and the dnsperf run.
    pub cpu_s_kxdpgun: f64,
    pub cpu_s_dnsperf: f64,
    /// Average run time of the server-side XDP program during the kxdpgun run.
    pub xdp_ns_per_packet: Option<f64>,
    /// Share of all CPUs' time that other processes on the machine used during the three loads.
    pub other_cpu_share: f64,
    /// Failed loads and loss above 1%: these figures are not to be trusted as they stand.
    pub problems: Vec<String>,
    /// A mix that compares pools (`geo`, `pools`): every load, the plain pool's beside the
    /// others'. The fields above hold the loads marked `main` ([`compare::Load::main`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compared: Vec<ComparedLoad>,
}

/// One load of a mix that compares pools ([`crate::bench::mixes::Mix::compared_loads`]).
#[derive(Debug, Serialize)]
pub struct ComparedLoad {
    pub name: &'static str,
    /// The name of the plain load this one is compared with ([`compare::Load::baseline`]).
    pub baseline: Option<&'static str>,
    pub pool: compare::Pool,
    pub generator: compare::Generator,
    /// kxdpgun's replies per second at saturation, dnsperf's closed-loop queries per second.
    pub replies_per_s: Outcome<f64>,
    /// Average run time of the server-side XDP program during this load.
    pub xdp_ns_per_packet: Option<f64>,
}

impl MixRun {
    pub fn new(
        mix: Mix,
        kxdpgun: Outcome<Kxdpgun>,
        dnsperf: Outcome<Dnsperf>,
        latency: Outcome<Latency>,
    ) -> Self {
        let mut problems = Vec::new();
        for (what, failed) in [
            ("kxdpgun", failure(&kxdpgun)),
            ("dnsperf", failure(&dnsperf)),
            ("latency run", failure(&latency)),
        ] {
            if let Some(error) = failed {
                problems.push(format!("{what} failed: {error}"));
            }
        }
        if let Some(d) = dnsperf.ok().filter(|d| d.loss() > MAX_LOSS) {
            problems.push(format!("dnsperf lost {:.1}% (> 1%)", d.loss() * 100.0));
        }
        if let Some(l) = latency.ok().filter(|l| l.loss() > MAX_LOSS) {
            problems.push(format!("latency run lost {:.1}% (> 1%)", l.loss() * 100.0));
        }
        Self {
            mix,
            kxdpgun,
            dnsperf,
            latency,
            cpu_s_kxdpgun: 0.0,
            cpu_s_dnsperf: 0.0,
            xdp_ns_per_packet: None,
            other_cpu_share: 0.0,
            problems,
            compared: Vec::new(),
        }
    }

    /// Adds a load of a mix that compares pools, flagging it as the loads above are flagged.
    pub fn add_compared(&mut self, load: ComparedLoad, loss: Option<f64>) {
        let what = format!("{} {}", load.generator.name(), load.name);
        if let Outcome::Failed(error) = &load.replies_per_s {
            self.problems.push(format!("{what} failed: {error}"));
        }
        if let Some(loss) = loss.filter(|l| *l > MAX_LOSS) {
            self.problems
                .push(format!("{what} lost {:.1}% (> 1%)", loss * 100.0));
        }
        self.compared.push(load);
    }

    /// Records how much of the machine other processes took during the loads, and flags the
    /// figures as disturbed above [`MAX_OTHER_CPU`].
    pub fn set_other_cpu_share(&mut self, share: f64) {
        self.other_cpu_share = share;
        if share > MAX_OTHER_CPU {
            self.problems.push(format!(
                "machine busy: other processes used {:.0}% of the CPUs",
                share * 100.0
            ));
        }
    }

    /// The figures that get ratios, by name.
    fn figures(&self) -> Vec<(&'static str, f64)> {
        let mut figures = Vec::new();
        if let Some(k) = self.kxdpgun.ok() {
            figures.push(("replies_per_s", k.replies_per_s as f64));
        }
        if let Some(d) = self.dnsperf.ok() {
            figures.push(("qps", d.qps));
            figures.push(("avg_latency_ms", d.avg_latency_ms));
            figures.push(("cpu_s_dnsperf", self.cpu_s_dnsperf));
        }
        if let Some(l) = self.latency.ok() {
            figures.push(("p99_ms", l.p99_ms));
        }
        if let Some(ns) = self.xdp_ns_per_packet {
            figures.push(("xdp_ns_per_packet", ns));
        }
        figures
    }
}

fn failure<T>(outcome: &Outcome<T>) -> Option<&str> {
    match outcome {
        Outcome::Ok(_) => None,
        Outcome::Failed(error) => Some(error),
    }
}

#[derive(Debug, Serialize)]
pub struct Ratios {
    pub target: Target,
    pub mix: Mix,
    /// Figure ÷ the ceiling's (throughput below 1 means slower; latency above 1 means slower).
    pub vs_ceiling: BTreeMap<&'static str, f64>,
    pub vs_nsd: BTreeMap<&'static str, f64>,
}

/// lbdns against the goals with the large zone: answering within 10 s of starting, and using
/// less memory than NSD (PSS, after loads and a reload).
#[derive(Debug, Serialize)]
pub struct ZoneScale {
    pub target: Target,
    pub start_s: Option<f64>,
    pub start_goal_s: f64,
    /// lbdns-xdp: when the fast path took over from the sockets.
    pub xdp_ready_s: Option<f64>,
    pub reload_s: Option<f64>,
    /// After the loads, before the reload.
    pub pss_before_reload_kib: Option<u64>,
    /// After the reload if there was one: what it keeps using, the figure the goal is about.
    pub pss_kib: Option<u64>,
    /// Kernel memory of the XDP maps (lbdns-xdp), on top of the process's own.
    pub bpf_map_kib: Option<u64>,
    /// `pss_kib` plus `bpf_map_kib`: all the memory lbdns uses, the figure compared with NSD's.
    pub memory_kib: Option<u64>,
    pub nsd_start_s: Option<f64>,
    pub nsd_pss_kib: Option<u64>,
    /// lbdns's memory ÷ NSD's PSS: below 1 meets the goal.
    pub memory_vs_nsd: Option<f64>,
}

impl Report {
    pub fn new(
        machine: Machine,
        settings: Settings,
        sessions: Vec<Session>,
        xdp_accounting_floor_ns: Outcome<f64>,
        memory_reads: Option<Outcome<MemoryReads>>,
        duration_s: f64,
    ) -> Self {
        let ratios = ratios(&sessions);
        let zone_scale = zone_scale(&sessions);
        Self {
            machine,
            settings,
            duration_s,
            sessions,
            xdp_accounting_floor_ns,
            memory_reads,
            ratios,
            zone_scale,
        }
    }

    /// Every (target, mix) load, in run order.
    pub fn loads(&self) -> impl Iterator<Item = (&Session, &MixRun)> {
        self.sessions
            .iter()
            .flat_map(|s| s.loads.iter().map(move |run| (s, run)))
    }

    pub fn ratio(&self, target: Target, mix: Mix) -> Option<&Ratios> {
        self.ratios
            .iter()
            .find(|r| r.target == target && r.mix == mix)
    }

    pub fn write_json(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).context("cannot serialise the report")?;
        fs::write(path, json + "\n").with_context(|| format!("cannot write {}", path.display()))
    }
}

fn ratios(sessions: &[Session]) -> Vec<Ratios> {
    let runs: Vec<(Target, &MixRun)> = sessions
        .iter()
        .flat_map(|s| s.loads.iter().map(move |run| (s.target, run)))
        .collect();
    let figures_of = |target: Target, mix: Mix| -> BTreeMap<&'static str, f64> {
        runs.iter()
            .find(|(t, run)| *t == target && run.mix == mix)
            .map(|(_, run)| run.figures().into_iter().collect())
            .unwrap_or_default()
    };
    let divide = |figures: &[(&'static str, f64)], by: &BTreeMap<&'static str, f64>| {
        figures
            .iter()
            .filter_map(|(name, value)| {
                let reference = by.get(name).filter(|r| **r > 0.0)?;
                Some((*name, value / reference))
            })
            .collect()
    };
    runs.iter()
        .map(|(target, run)| {
            let figures = run.figures();
            Ratios {
                target: *target,
                mix: run.mix,
                vs_ceiling: divide(&figures, &figures_of(Target::Ceiling, run.mix)),
                vs_nsd: divide(&figures, &figures_of(Target::Nsd, run.mix)),
            }
        })
        .collect()
}

fn zone_scale(sessions: &[Session]) -> Vec<ZoneScale> {
    let large = |target: Target| {
        sessions
            .iter()
            .find(|s| s.target == target && s.zones == ZoneSet::Large)
    };
    let nsd = large(Target::Nsd);
    let nsd_pss = nsd.and_then(|s| s.memory_after_loads).map(|m| m.pss_kib);
    [Target::LbdnsSocket, Target::LbdnsXdp]
        .into_iter()
        .filter_map(large)
        .map(|s| {
            let pss = s
                .memory_after_reload
                .or(s.memory_after_loads)
                .map(|m| m.pss_kib);
            let bpf_map_kib = s.bpf_map_bytes.map(|b| b / 1024);
            let memory = pss.map(|pss| pss + bpf_map_kib.unwrap_or(0));
            ZoneScale {
                target: s.target,
                start_s: s.start_s,
                start_goal_s: START_GOAL_S,
                xdp_ready_s: s.xdp_ready_s,
                reload_s: s.reload.as_ref().and_then(Outcome::ok).copied(),
                pss_before_reload_kib: s.memory_after_loads.map(|m| m.pss_kib),
                pss_kib: pss,
                bpf_map_kib,
                memory_kib: memory,
                nsd_start_s: nsd.and_then(|n| n.start_s),
                nsd_pss_kib: nsd_pss,
                memory_vs_nsd: memory
                    .zip(nsd_pss)
                    .filter(|(_, n)| *n > 0)
                    .map(|(l, n)| l as f64 / n as f64),
            }
        })
        .collect()
}

impl Machine {
    pub fn describe() -> Self {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let tools = [
            ("dnsperf", "-h"),
            ("kxdpgun", "-V"),
            ("nsd", "-v"),
            ("knotd", "-V"),
            ("gdnsd", "-V"),
        ]
        .into_iter()
        .filter_map(|(tool, flag)| Some((tool, version(tool, flag)?)))
        .collect();
        Self {
            cpu: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map_or_else(|| "unknown".into(), |(_, model)| model.trim().to_owned()),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |k| k.trim().to_owned()),
            memory_kib: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok()),
            tools,
            lbdns_commit: commit(),
        }
    }
}

/// The first line mentioning "version" that `tool flag` prints, if the tool runs at all.
fn version(tool: &str, flag: &str) -> Option<String> {
    let output = Command::new(tool).arg(flag).output().ok()?;
    let text = [output.stdout, output.stderr].concat();
    String::from_utf8_lossy(&text)
        .lines()
        .find(|l| l.to_ascii_lowercase().contains("version"))
        .map(|l| l.trim().to_owned())
}

fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(crate::workspace::root())
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown".into();
    };
    match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(changes) if changes.is_empty() => head,
        _ => format!("{head}-dirty"),
    }
}

impl Settings {
    pub fn new(
        secs: u64,
        mixes: Vec<Mix>,
        targets: Vec<Target>,
        geo_map_prefixes: BTreeMap<&'static str, usize>,
    ) -> Self {
        Self {
            secs,
            mixes,
            targets,
            kxdpgun: format!("kxdpgun -t SECS -Q {KXDPGUN_QPS} -i QUERIES -I veth-cli"),
            generator: generator::DESCRIPTION.to_owned(),
            dnsperf: format!("dnsperf -l SECS -t 2 {}", DNSPERF_LOOP.join(" ")),
            latency_qps: LATENCY_QPS,
            seed: mixes::SEED,
            large_zone_rrsets: mixes::LARGE_RRSETS,
            geo_map_prefixes,
        }
    }
}
