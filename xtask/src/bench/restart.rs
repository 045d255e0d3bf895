//! `cargo xtask bench-restart`: how many hot queries a restart of lbdns loses with the
//! 1,000,000-name zone, as systemd restarts it (`RestartKillSignal=SIGUSR2`, then a new
//! process): dnsperf sends hot names at a fixed rate while the daemon is restarted a few times;
//! each new process reads the whole zone again (seconds), during which the program the last
//! one left pinned must answer.
//!
//! Everything it starts is stopped and removed when it ends or fails (namespaces, processes,
//! the bpffs it pins in). A measuring tool, never part of `cargo xtask test`.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use lbdns_tests::env::BpfFs;

use super::{
    mixes::{large_name, write_large_zone, LARGE_ORIGIN, LARGE_RRSETS},
    netns::{Net, Side},
    xdp::{self, Attached, Program},
};
use crate::build::{self, Profile};

/// Bound on one process's start: reading a million names and filling the maps takes seconds.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// Bound on an exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// What lbdns logs once the fast path serves.
const XDP_READY: &str = "XDP fast path ready";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Restarts within the load run.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    restarts: u32,
    /// Queries per second.
    #[arg(long, default_value_t = 20_000)]
    rate: u32,
    /// Where the zone, queries and logs go. Default: <target dir>/bench-restart.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Runs the restarts under load and prints the figure.
pub fn run(args: Args) -> Result<()> {
    super::require_root()?;
    let lbdns = build::lbdns(Profile::Release)?;
    let ceiling = xdp::build_ceiling()?;
    let out = super::output_dir(args.out, "bench-restart")?;
    let zone = out.join("large.zone");
    println!("writing the {LARGE_RRSETS}-name zone");
    write_large_zone(&zone).context("cannot write the large zone")?;
    let queries = out.join("hot.txt");
    write_hot_queries(&queries)?;

    let net = Net::new()?;
    let _peer = Attached::new(&net, Side::Client, &ceiling, Program::Pass)?;
    let pins = BpfFs::mount()?;
    let daemon = Daemon {
        net: &net,
        lbdns: &lbdns,
        zone: &zone,
        pins: pins.path(),
        control: out.join("control.sock"),
        out: &out,
    };
    let mut running = daemon.start(0)?;
    // Long enough for every restart: each reads the zone again, 6 to 20 s on two busy cores.
    let started = Instant::now();
    let load_secs = 40 * u64::from(args.restarts) + 10;
    let load = dnsperf(&net, &queries, args.rate, load_secs)?;
    let mut gaps = Vec::new();
    for restart in 1..=args.restarts {
        std::thread::sleep(Duration::from_secs(2));
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(running.id() as libc::pid_t, libc::SIGUSR2) };
        wait_exit(&mut running)?;
        let gap = Instant::now();
        running = daemon.start(restart)?;
        gaps.push(gap.elapsed());
    }
    if started.elapsed() > Duration::from_secs(load_secs) {
        bail!("the restarts outlasted the load run");
    }
    let output = load.wait_with_output().context("dnsperf")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .with_context(|| format!("no {name:?} in dnsperf's output:\n{text}"))
    };
    let (sent, lost) = (field("Queries sent:")?, field("Queries lost:")?);
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(running.id() as libc::pid_t, libc::SIGTERM) };
    wait_exit(&mut running)?;
    let left = pins.path().join(Side::Server.interface());
    let gaps: Vec<String> = gaps
        .iter()
        .map(|gap| format!("{:.1}", gap.as_secs_f64()))
        .collect();
    println!(
        "{LARGE_RRSETS}-name zone, {} restarts (SIGUSR2, then a new process; each new fast \
         path ready after {} s), {} qps of hot A queries for {load_secs} s: {sent} sent, {lost} \
         lost",
        args.restarts,
        gaps.join(", "),
        args.rate
    );
    if left.exists() {
        bail!("the stop left pins in {}", left.display());
    }
    Ok(())
}

/// A thousand hot names of the large zone, A queries.
fn write_hot_queries(path: &Path) -> Result<()> {
    let mut out =
        fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    for index in (0..LARGE_RRSETS).step_by((LARGE_RRSETS / 1000) as usize) {
        let name = large_name(index);
        writeln!(out, "{name} A")?;
    }
    Ok(())
}

fn dnsperf(net: &Net, queries: &Path, rate: u32, secs: u64) -> Result<Child> {
    net.client()
        .command("dnsperf")
        .args(["-s", &net.server_v4().to_string(), "-p", "53", "-d"])
        .arg(queries)
        .args([
            "-Q",
            &rate.to_string(),
            "-l",
            &secs.to_string(),
            "-c",
            "4",
            "-t",
            "5",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start dnsperf")
}

/// How each lbdns process of the run is started.
struct Daemon<'a> {
    net: &'a Net,
    lbdns: &'a Path,
    zone: &'a Path,
    pins: &'a Path,
    control: PathBuf,
    out: &'a Path,
}

impl Daemon<'_> {
    /// Starts process `n` and waits until its fast path serves.
    fn start(&self, n: u32) -> Result<Child> {
        let log = self.out.join(format!("lbdns-{n}.log"));
        let stderr = fs::File::create(&log)?;
        let mut child = self
            .net
            .server()
            .command(self.lbdns)
            .arg("serve")
            .arg("--zone")
            .arg(format!("{LARGE_ORIGIN}={}", self.zone.display()))
            .args(["--listen", &format!("{}:53", self.net.server_v4())])
            .args(["--xdp", Side::Server.interface(), "--xdp-mode", "native"])
            .arg("--xdp-pin-dir")
            .arg(self.pins)
            .arg("--control")
            .arg(&self.control)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("cannot start lbdns")?;
        let deadline = Instant::now() + START_TIMEOUT;
        // Bounded by the deadline; 50 ms a round.
        loop {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if text.contains(XDP_READY) {
                return Ok(child);
            }
            if child.try_wait()?.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                bail!("lbdns {n} did not serve; its log:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn wait_exit(child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + EXIT_TIMEOUT;
    // Bounded by the deadline; 10 ms a round.
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("lbdns did not exit within {EXIT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
