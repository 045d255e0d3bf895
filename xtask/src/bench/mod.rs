//! `cargo xtask bench`: lbdns and its peers measured side by side, in one run, by the tools
//! operators use to check DNS servers (dnsperf, kxdpgun).
//!
//! The run builds lbdns (release) and the ceiling program, generates the query mixes and the
//! large zone from a fixed seed, and creates a namespace pair joined by a veth. Then, for each
//! target and each zone set its mixes need: start the server in the server namespace, wait
//! until it answers, run kxdpgun, dnsperf and a fixed-rate dnsperf per mix from the client
//! namespace, measure its memory, reload it (lbdns), stop it and check that no XDP program was
//! left attached. It ends with a table on stdout, `bench.json` and `bench.svg`.
//!
//! Everything it starts is stopped and removed when it ends, fails or is interrupted. With the
//! defaults (10 s per load) it takes about 22 minutes on two cores, builds included. It is a
//! measuring tool, never part of `cargo xtask test`.

pub mod change;
mod compare;
mod generator;
mod geo;
mod interrupt;
mod load;
mod memory;
mod mixes;
mod netns;
mod pools;
mod profile;
mod progress;
mod report;
pub mod restart;
mod rounds;
pub mod rrl;
mod spoof;
mod svg;
mod table;
mod targets;
mod usage;
mod xdp;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use lbdns_tests::run_bounded;

use self::{
    load::{Dnsperf, Kxdpgun},
    mixes::{Mix, ZoneSet},
    netns::{Net, Side},
    progress::Progress,
    report::{ComparedLoad, Machine, MixRun, Outcome, Report, Session, Settings},
    targets::{Server, StartError, Target, ZoneFile},
    xdp::{Attached, LookupSizes, Program, RunStats},
};
use crate::{
    build::{self, Profile},
    workspace,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds of each load (kxdpgun, then dnsperf; the fixed-rate latency run takes half) per
    /// target and mix.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    secs: u64,
    /// Query mix to run: hot, mixed, large, flood, geo or pools. Repeatable. Default: all six.
    #[arg(long = "mix", value_enum, value_name = "NAME")]
    mixes: Vec<Mix>,
    /// Target to measure. Repeatable. Default: all of them.
    #[arg(long = "only", value_enum, value_name = "TARGET")]
    only: Vec<Target>,
    /// Where the queries, zone, logs and report go. Default: <target dir>/bench.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Sample where each XDP target's program spends its time during its dnsperf loads (perf),
    /// by source line: `logs/<target>-<mix>.profile.txt`. The sampling costs the load some
    /// speed, so the run's figures are not comparable with others.
    #[arg(long)]
    profile: bool,
    /// Run everything this many times, each round's report in `round-K.json`, then print each
    /// figure's median over the rounds, each ratio taken within its round (`rounds.json`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=20))]
    rounds: u16,
}

/// Runs the benchmark and prints the report.
pub fn run(args: Args) -> Result<()> {
    require_root()?;
    let started = Instant::now();
    interrupt::install();
    // Before building: the commit and tools measured are those of this moment.
    let machine = Machine::describe();
    let lbdns = build::lbdns(Profile::Release)?;
    let ceiling = xdp::build_ceiling()?;
    let mixes = chosen(args.mixes, &Mix::ALL);
    let targets = chosen(args.only, &Target::ALL);
    // Built only when measured: it costs a link, and most runs leave it out.
    let socket_ceiling = targets
        .contains(&Target::SocketCeiling)
        .then(|| build::lbdns_example("socket_ceiling"))
        .transpose()?;
    let out = output_dir(args.out, "bench")?;
    fs::create_dir_all(out.join("logs"))
        .with_context(|| format!("cannot create {}", out.display()))?;

    let mut progress = Progress::new();
    progress.subject("inputs");
    progress.phase("generating queries and zones", Duration::from_secs(60));
    let geo_map_prefixes = write_inputs(&out, &mixes)?;

    let _run_time_stats = xdp::count_run_time()?;
    let mut memory_reads = mixes.contains(&Mix::Large).then(|| {
        progress.phase("measuring memory reads", Duration::from_secs(30));
        let sizes = LookupSizes::for_zone(&zone_file(&out, ZoneSet::Large));
        Outcome::from_result(memory::measure(sizes.bytes()))
    });
    let net = Net::new()?;
    if mixes.contains(&Mix::Geo) {
        net.route_to_client(geo::SPOOFED)?;
    }
    let mut bench = Bench {
        net: &net,
        lbdns: &lbdns,
        out: &out,
        secs: args.secs,
        client: ClientPeer::new(&net, &ceiling)?,
        ceiling: &ceiling,
        socket_ceiling: socket_ceiling.as_deref(),
        profile: args.profile,
    };
    let rounds = usize::from(args.rounds);
    let mut reports = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        if rounds > 1 {
            progress.subject(format!("round {round} of {rounds}"));
        }
        // The first round's time includes the builds and inputs, as a single run's always did.
        let round_started = if round == 1 { started } else { Instant::now() };
        // Each round its own: the floor moves with the machine's state as the loads do.
        progress.phase("measuring the run-time accounting", Duration::from_secs(10));
        let accounting_floor = Outcome::from_result(xdp::accounting_floor(&ceiling));
        let sessions = bench.round(&targets, &mixes, &mut progress)?;
        reports.push(Report::new(
            machine.clone(),
            Settings::new(
                args.secs,
                mixes.clone(),
                targets.clone(),
                geo_map_prefixes.clone(),
            ),
            sessions,
            accounting_floor,
            // Measured once, reported with the first round: it is the machine's, not a round's.
            memory_reads.take(),
            round_started.elapsed().as_secs_f64(),
        ));
    }
    drop(bench);
    drop(net);

    progress.finish();
    for (round, report) in reports.iter().enumerate() {
        if rounds > 1 {
            println!("\nRound {} of {rounds}:", round + 1);
            report.write_json(&out.join(format!("round-{}.json", round + 1)))?;
        }
        print!("{}", table::render(report));
    }
    let last = reports.last().context("no round ran")?;
    let json = out.join("bench.json");
    last.write_json(&json)?;
    let chart = out.join("bench.svg");
    fs::write(&chart, svg::render(last))
        .with_context(|| format!("cannot write {}", chart.display()))?;
    if rounds > 1 {
        let summary = rounds::summarize(&reports);
        print!("{}", rounds::render(&summary, rounds));
        let path = out.join("rounds.json");
        let text = serde_json::to_string_pretty(&summary).context("cannot serialise the rounds")?;
        fs::write(&path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("\nRounds: {}", path.display());
    }
    let which = if rounds > 1 { " (the last round)" } else { "" };
    println!(
        "\nReport: {}{which}\nChart:  {}\nTook {:.0} s",
        json.display(),
        chart.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The values given, in their canonical order without repeats, or all of them.
fn chosen<T: Copy + Ord>(given: Vec<T>, all: &[T]) -> Vec<T> {
    let mut given = if given.is_empty() {
        all.to_vec()
    } else {
        given
    };
    given.sort();
    given.dedup();
    given
}

fn zone_sets(mixes: &[Mix]) -> Vec<ZoneSet> {
    let mut sets: Vec<ZoneSet> = mixes
        .iter()
        .flat_map(|m| m.zone_sets().iter().copied())
        .collect();
    sets.dedup();
    sets
}

/// Writes each mix's query files, and the large zone, the geo mix's zone, configurations and
/// maps, and the pools mix's zone and configuration if a mix needs them. Returns the prefixes
/// in each geo map, by zone set.
fn write_inputs(out: &Path, mixes: &[Mix]) -> Result<BTreeMap<&'static str, usize>> {
    for &mix in mixes {
        let path = queries(out, mix);
        mix.write_queries(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        // The other pools' queries, once each; the main pool's are the mix's file.
        let mut written = mix.main_pool().into_iter().collect::<Vec<_>>();
        for load in mix.compared_loads() {
            if written.contains(&load.pool) {
                continue;
            }
            written.push(load.pool);
            let path = pool_queries(out, mix, load.pool);
            let name = mix
                .pool_name(load.pool)
                .context("a compared pool without a name")?;
            mixes::write_pool_queries(&path, name)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    if mixes.contains(&Mix::Large) {
        let large = zone_file(out, ZoneSet::Large).path;
        mixes::write_large_zone(&large)
            .with_context(|| format!("cannot write {}", large.display()))?;
    }
    let mut prefixes = BTreeMap::new();
    if mixes.contains(&Mix::Geo) {
        let context = || format!("cannot write the geo inputs into {}", out.display());
        compare::write_zone(&zone_file(out, ZoneSet::GeoFew).path, geo::GEO_ORIGIN)
            .with_context(context)?;
        for &zone_set in Mix::Geo.zone_sets() {
            let map = zone_set.geo_map().context("a geo zone set without a map")?;
            prefixes.insert(
                zone_set.name(),
                geo::write_config(out, map).with_context(context)?,
            );
        }
    }
    if mixes.contains(&Mix::Pools) {
        let context = || format!("cannot write the pools inputs into {}", out.display());
        compare::write_zone(&zone_file(out, ZoneSet::Pools).path, pools::ORIGIN)
            .with_context(context)?;
        pools::write_config(out).with_context(context)?;
    }
    Ok(prefixes)
}

/// The example zone is the repository's; the others are generated into `out`.
fn zone_file(out: &Path, zone_set: ZoneSet) -> ZoneFile {
    let (path, many_rrsets) = match zone_set {
        ZoneSet::GeoFew | ZoneSet::GeoFull => (out.join("geo.example.zone"), None),
        ZoneSet::Pools => (out.join("pools.example.zone"), None),
        ZoneSet::Example => (workspace::root().join("zones/example.com.zone"), None),
        // The generated RRsets and the name server's address.
        ZoneSet::Large => (
            out.join("large.example.zone"),
            Some(mixes::LARGE_RRSETS + 1),
        ),
    };
    ZoneFile {
        origin: zone_set.origin(),
        path,
        many_rrsets,
        config: zone_set.config_name().map(|name| out.join(name)),
    }
}

fn queries(out: &Path, mix: Mix) -> PathBuf {
    out.join(format!("queries-{}.txt", mix.name()))
}

/// The queries for `pool` of a mix that compares pools: the mix's own file for its main pool,
/// else one beside it.
fn pool_queries(out: &Path, mix: Mix, pool: compare::Pool) -> PathBuf {
    if mix.main_pool() == Some(pool) {
        queries(out, mix)
    } else {
        out.join(format!("queries-{}-{}.txt", mix.name(), pool.name()))
    }
}

/// How a mix's loads are named in logs: the mix, or for `geo`, its zone set (its map).
fn load_label(mix: Mix, zone_set: ZoneSet) -> &'static str {
    if zone_set.geo_map().is_some() {
        zone_set.name()
    } else {
        mix.name()
    }
}

/// What every session shares.
#[derive(Debug)]
struct Bench<'a> {
    net: &'a Net,
    lbdns: &'a Path,
    ceiling: &'a Path,
    socket_ceiling: Option<&'a Path>,
    out: &'a Path,
    secs: u64,
    client: ClientPeer<'a>,
    /// Whether to sample XDP programs during dnsperf loads (`--profile`).
    profile: bool,
}

impl Bench<'_> {
    /// Every target, one session per zone set its mixes need: one round of the run.
    fn round(
        &mut self,
        targets: &[Target],
        mixes: &[Mix],
        progress: &mut Progress,
    ) -> Result<Vec<Session>> {
        let mut sessions = Vec::new();
        for &target in targets {
            for zone_set in zone_sets(mixes) {
                if !target.serves(zone_set) {
                    let mut session = Session::new(target, zone_set);
                    session.failure = Some("not applicable: serves no pools".into());
                    sessions.push(session);
                    continue;
                }
                let zone = zone_file(self.out, zone_set);
                let mix_list: Vec<Mix> = mixes
                    .iter()
                    .copied()
                    .filter(|m| m.zone_sets().contains(&zone_set))
                    .collect();
                let session = self.session(target, zone_set, &zone, &mix_list, progress)?;
                if let Some(failure) = &session.failure {
                    progress.note(format!(
                        "{} ({}): {failure}",
                        target.name(),
                        zone_set.name()
                    ));
                }
                sessions.push(session);
            }
        }
        Ok(sessions)
    }

    /// Starts `target` with `zone`, runs `mixes` against it, and stops it. Only an interrupt or
    /// a broken benchmark network is an error; a target's failure is recorded in the session.
    fn session(
        &mut self,
        target: Target,
        zone_set: ZoneSet,
        zone: &ZoneFile,
        mixes: &[Mix],
        progress: &mut Progress,
    ) -> Result<Session> {
        let mut session = Session::new(target, zone_set);
        progress.subject(format!("{}/{}", target.name(), zone_set.name()));
        let cx = targets::Context {
            net: self.net,
            lbdns: self.lbdns,
            ceiling: self.ceiling,
            socket_ceiling: self.socket_ceiling,
            zone,
            dir: self
                .out
                .join("run")
                .join(format!("{}-{}", target.name(), zone_set.name())),
        };
        let started = Server::start(target, &cx, progress);
        interrupt::check()?;
        let mut server = match started {
            Ok(server) => server,
            Err(error) => {
                session.failure = Some(error.to_string());
                if !matches!(error, StartError::NotInstalled(_)) {
                    self.clear_server_side(&mut session)?;
                }
                return Ok(session);
            }
        };
        session.start_s = Some(server.ready_after.as_secs_f64());
        session.xdp_ready_s = server.xdp_ready_after.map(|d| d.as_secs_f64());
        let program = targets::server_program(self.net)?;
        session.bpf_map_bytes = targets::server_map_bytes(self.net)?;
        session.xdp_program = program
            .as_ref()
            .map(|(id, name)| format!("{name} (id {id})"));
        session.memory_ready = server.memory(self.net);

        for &mix in mixes {
            let label = load_label(mix, zone_set);
            progress.subject(format!("{}/{label}", target.name()));
            let program_id = program.as_ref().map(|p| p.0);
            let run = self.measure(target, mix, zone_set, &server, program_id, progress)?;
            session.loads.push(run);
            if target == Target::LbdnsXdp {
                if let Err(error) = self.save_lbdns_stats(&cx.dir, label) {
                    session.notes.push(format!("{error:#}"));
                }
            }
            if let Some(status) = server.exited()? {
                session.failure =
                    Some(format!("exited during the {} loads ({status})", mix.name()));
                break;
            }
        }
        progress.subject(format!("{}/{}", target.name(), zone_set.name()));
        if session.failure.is_none() {
            session.memory_after_loads = server.memory(self.net);
            if target.reloads() {
                let reload = server.reload(progress);
                interrupt::check()?;
                session.reload = Some(Outcome::from_result(reload.map(|d| d.as_secs_f64())));
                session.memory_after_reload = server.memory(self.net);
            }
        }
        progress.phase("stopping", Duration::from_secs(10));
        if let Err(error) = server.stop(self.net) {
            session.notes.push(format!("{error:#}"));
        }
        self.clear_server_side(&mut session)?;
        Ok(session)
    }

    /// Keeps `lbdns stats` (the XDP program's counters: answered, passed and why) after each
    /// mix, so a low figure can be traced to what the fast path left to the socket path. The
    /// counters are cumulative over the session.
    fn save_lbdns_stats(&self, dir: &Path, label: &str) -> Result<()> {
        let path = self
            .out
            .join("logs")
            .join(format!("{}-{label}.stats.txt", Target::LbdnsXdp.name(),));
        let mut stats = Command::new(self.lbdns);
        stats
            .arg("stats")
            .arg("--control")
            .arg(dir.join("control.sock"));
        let output = run_bounded(&mut stats, Duration::from_secs(10))?;
        fs::write(&path, output.combined())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Checks that nothing the target attached outlived it, and removes what did, so the next
    /// target starts from a bare veth.
    fn clear_server_side(&self, session: &mut Session) -> Result<()> {
        let left = self.net.xdp_programs(Side::Server)?;
        if !left.is_empty() {
            let names: Vec<String> = left.iter().map(|p| p.name.clone()).collect();
            session.notes.push(format!(
                "XDP program left attached after exit: {}; detached",
                names.join(", ")
            ));
            self.net.xdp_off(Side::Server)?;
        }
        Ok(())
    }

    /// Runs `mix`'s loads against `server`: kxdpgun, dnsperf and the fixed-rate latency run,
    /// or for a mix that compares pools each of its loads ([`Mix::compared_loads`]) and the
    /// latency run, each with the XDP program's ns/packet.
    fn measure(
        &mut self,
        target: Target,
        mix: Mix,
        zone_set: ZoneSet,
        server: &Server,
        program: Option<u32>,
        progress: &mut Progress,
    ) -> Result<MixRun> {
        let label = load_label(mix, zone_set);
        let (out, net, secs) = (self.out, self.net, self.secs);
        let stem = |suffix: &str| {
            out.join("logs")
                .join(format!("{}-{label}{suffix}", target.name()))
        };
        let main_stem = stem("");
        let main_queries = queries(out, mix);
        let machine_before = usage::Machine::sample();
        let window = Instant::now();
        let mut compared = Vec::new();
        let loads = mix.compared_loads();
        let (kxdpgun, dnsperf, latency_run) = if loads.is_empty() {
            let main = load::Run::new(net, &main_queries, &main_stem, secs);
            let kxdpgun = self.kxdpgun(&main, server, program, progress)?;
            let dnsperf = self.dnsperf(&main, server, program, progress)?;
            (kxdpgun, dnsperf, main)
        } else {
            let (mut kxdpgun, mut dnsperf) = (None, None);
            for load in loads {
                let queries = pool_queries(out, mix, load.pool);
                let log_stem = stem(&load.log_suffix());
                let run = load::Run {
                    sources: load.sources,
                    edns_option: load.ecs,
                    ..load::Run::new(net, &queries, &log_stem, secs)
                };
                let (replies_per_s, xdp_ns_per_packet, loss) = match load.generator {
                    compare::Generator::Kxdpgun => {
                        let measured = self.kxdpgun(&run, server, program, progress)?;
                        let figure = replies(&measured.result);
                        let ns = measured.xdp_ns_per_packet;
                        if let (Some(note), false) = (&measured.note, load.main) {
                            progress.note(format!("{}/{label}: {note}", target.name()));
                        }
                        if load.main {
                            kxdpgun = Some(measured);
                        }
                        (figure, ns, None)
                    }
                    compare::Generator::Dnsperf => {
                        let measured = self.dnsperf(&run, server, program, progress)?;
                        let (figure, ns) = (qps(&measured.0), measured.1);
                        let loss = measured.0.as_ref().ok().map(Dnsperf::loss);
                        if load.main {
                            dnsperf = Some(measured);
                        }
                        (figure, ns, loss)
                    }
                };
                let figures = ComparedLoad {
                    name: load.name,
                    baseline: load.baseline(loads).map(|b| b.name),
                    pool: load.pool,
                    generator: load.generator,
                    replies_per_s,
                    xdp_ns_per_packet,
                };
                compared.push((figures, loss));
            }
            let main_ecs = loads
                .iter()
                .find(|l| l.main && l.generator == compare::Generator::Dnsperf)
                .and_then(|l| l.ecs);
            (
                kxdpgun.context("no main kxdpgun load")?,
                dnsperf.context("no main dnsperf load")?,
                load::Run {
                    edns_option: main_ecs,
                    ..load::Run::new(net, &main_queries, &main_stem, secs)
                },
            )
        };
        let Saturated {
            result: kxdpgun,
            xdp_ns_per_packet,
            cpu_s: cpu_s_kxdpgun,
            note: generator_note,
        } = kxdpgun;
        let (dnsperf, dnsperf_ns_per_packet, cpu_s_dnsperf) = dnsperf;

        let latency = latency_run.latency(progress);
        interrupt::check()?;
        let mut ours = server.pids(self.net);
        ours.push(std::process::id() as i32);
        let others = machine_before.others_until(&usage::Machine::sample(), &ours);
        let capacity = window.elapsed().as_secs_f64() * cores() as f64;

        let mut result = MixRun::new(
            mix,
            Outcome::from_result(kxdpgun),
            Outcome::from_result(dnsperf),
            Outcome::from_result(latency),
        );
        result.cpu_s_kxdpgun = cpu_s_kxdpgun;
        result.problems.extend(generator_note);
        result.cpu_s_dnsperf = cpu_s_dnsperf;
        // Where neither kxdpgun nor the bench's own generator ran (a load from spoofed sources,
        // which only kxdpgun sends), the program's run time under dnsperf is the figure left.
        result.xdp_ns_per_packet = xdp_ns_per_packet.or_else(|| {
            if dnsperf_ns_per_packet.is_some() {
                result.problems.push(
                    "ns/pkt measured under dnsperf, as no saturating generator ran".to_owned(),
                );
            }
            dnsperf_ns_per_packet
        });
        for (load, loss) in compared {
            result.add_compared(load, loss);
        }
        result.set_other_cpu_share(others.as_secs_f64() / capacity);
        for problem in &result.problems {
            progress.note(format!("{}/{label}: {problem}", target.name()));
        }
        Ok(result)
    }

    /// kxdpgun with the client's veth free, or where it cannot run and the load comes from the
    /// client's own address, the bench's own generator (`generator`).
    fn kxdpgun(
        &mut self,
        run: &load::Run<'_>,
        server: &Server,
        program: Option<u32>,
        progress: &mut Progress,
    ) -> Result<Saturated> {
        let sample = |net: &Net| Sample::take(server, net, program);
        let mut before = sample(self.net);
        let mut kxdpgun = self.client.without(|| run.kxdpgun(progress))?;
        let mut note = None;
        if let (Err(refused), None) = (&kxdpgun, run.sources) {
            let refused = format!("{refused:#}");
            let (net, object) = (self.net, self.client.object);
            before = sample(net);
            let generated = self
                .client
                .without(|| generator::run(net, object, run.queries, run.secs))?;
            let log = run.log_stem.with_extension("generator.txt");
            let text = match &generated {
                Ok(k) => format!("{k:?}\n"),
                Err(error) => format!("{error:#}\n"),
            };
            fs::write(&log, text).with_context(|| format!("cannot write {}", log.display()))?;
            // A failed generator's own error becomes the load's outcome; kxdpgun's stays here.
            note = Some(match generated {
                Ok(_) => format!(
                    "replies/s from the bench's own generator, as kxdpgun did not run: {refused}"
                ),
                Err(_) => format!("kxdpgun did not run: {refused}"),
            });
            kxdpgun = generated;
        }
        let after = sample(self.net);
        interrupt::check()?;
        let ns = before
            .program
            .zip(after.program)
            .filter(|_| kxdpgun.is_ok())
            .and_then(|(b, a)| b.ns_per_run_until(a));
        Ok(Saturated {
            result: kxdpgun,
            xdp_ns_per_packet: ns,
            cpu_s: after.cpu_s_since(&before),
            note,
        })
    }

    /// Closed-loop dnsperf; its result, the XDP program's ns/packet over the run (if it
    /// completed) and the server's CPU seconds.
    fn dnsperf(
        &self,
        run: &load::Run<'_>,
        server: &Server,
        program: Option<u32>,
        progress: &mut Progress,
    ) -> Result<(Result<Dnsperf>, Option<f64>, f64)> {
        let sample = |net: &Net| Sample::take(server, net, program);
        let recording = match program {
            Some(id) if self.profile => {
                Some((id, profile::Recording::start(run.log_stem, run.secs)?))
            }
            _ => None,
        };
        let before = sample(self.net);
        let dnsperf = run.dnsperf(progress);
        let after = sample(self.net);
        if let Some((id, recording)) = recording {
            match recording.finish(id) {
                Ok(report) => progress.note(format!("profile: {}", report.display())),
                Err(error) => progress.note(format!("no profile: {error:#}")),
            }
        }
        interrupt::check()?;
        let ns = before
            .program
            .zip(after.program)
            .filter(|_| dnsperf.is_ok())
            .and_then(|(b, a)| b.ns_per_run_until(a));
        Ok((dnsperf, ns, after.cpu_s_since(&before)))
    }
}

/// A saturating load (kxdpgun, or the bench's own generator where kxdpgun cannot run).
struct Saturated {
    result: Result<Kxdpgun>,
    /// The XDP program's ns/packet over the load, if it completed.
    xdp_ns_per_packet: Option<f64>,
    /// The server's CPU seconds during the load.
    cpu_s: f64,
    /// Which generator gave the figures, when not kxdpgun, and why.
    note: Option<String>,
}

/// kxdpgun's replies per second, as a figure or why it is missing.
fn replies(kxdpgun: &Result<Kxdpgun>) -> Outcome<f64> {
    match kxdpgun {
        Ok(k) => Outcome::Ok(k.replies_per_s as f64),
        Err(error) => Outcome::Failed(format!("{error:#}")),
    }
}

/// dnsperf's queries per second, as a figure or why it is missing.
fn qps(dnsperf: &Result<Dnsperf>) -> Outcome<f64> {
    match dnsperf {
        Ok(d) => Outcome::Ok(d.qps),
        Err(error) => Outcome::Failed(format!("{error:#}")),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Counters read before and after a load.
#[derive(Debug)]
struct Sample {
    cpu: Duration,
    program: Option<RunStats>,
}

impl Sample {
    fn take(server: &Server, net: &Net, program: Option<u32>) -> Self {
        Self {
            cpu: usage::cpu_time(&server.pids(net)),
            program: program.and_then(|id| xdp::run_stats(id).ok()),
        }
    }

    fn cpu_s_since(&self, before: &Sample) -> f64 {
        self.cpu.saturating_sub(before.cpu).as_secs_f64()
    }
}

/// The pass-through program on the client's veth end. Native XDP_TX from the server reaches
/// the client only through a peer program, so it stays attached for probes and dnsperf, for
/// every target alike; kxdpgun brings its own and must find the interface free.
#[derive(Debug)]
struct ClientPeer<'a> {
    net: &'a Net,
    object: &'a Path,
    attached: Option<Attached>,
}

impl<'a> ClientPeer<'a> {
    fn new(net: &'a Net, object: &'a Path) -> Result<Self> {
        Ok(Self {
            net,
            object,
            attached: Some(Attached::new(net, Side::Client, object, Program::Pass)?),
        })
    }

    /// Runs `f` with the client's veth end free of XDP programs, then removes whatever `f`
    /// left there (kxdpgun's program stays after it exits) and puts the pass program back.
    fn without<T>(&mut self, f: impl FnOnce() -> T) -> Result<T> {
        self.attached = None;
        let result = f();
        if !self.net.xdp_programs(Side::Client)?.is_empty() {
            self.net.xdp_off(Side::Client)?;
        }
        self.attached = Some(Attached::new(
            self.net,
            Side::Client,
            self.object,
            Program::Pass,
        )?);
        Ok(result)
    }
}

/// Fails unless run as root: every benchmark creates network namespaces and attaches XDP
/// programs.
fn require_root() -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the benchmark needs root: it creates network namespaces and attaches XDP programs");
    }
    Ok(())
}

/// A benchmark's output directory, created: `out`, or `<target dir>/<default>`, absolute.
fn output_dir(out: Option<PathBuf>, default: &str) -> Result<PathBuf> {
    let out = out.unwrap_or_else(|| workspace::target_dir().join(default));
    let out = std::path::absolute(&out).unwrap_or(out);
    fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    Ok(out)
}
