//! `cargo xtask bench-change`: what a change costs lbdns with the 1,000,000-RRset zone of the
//! benchmark and a pool, against NSD's memory for the same zone.
//!
//! lbdns runs in the server namespace with XDP (generic mode: no peer program is needed for
//! the sanity queries) and a pool of two endpoints, one of them checked against a TCP listener
//! the benchmark opens and closes. Each round makes one change of each kind and reads its cost
//! from lbdns's log (info level):
//! - a health flip: from the `health: down`/`up` line to `pool change published to both
//!   paths`, by their timestamps, and that line's own `seconds`;
//! - a drain and an undrain (`lbdns drain`): the same line's `seconds`, and the command's round
//!   trip;
//! - a SIGHUP reload of the zone with one name's address changed: `reload published to both
//!   paths` (after the parse: diff, XDP maps, socket path), SIGHUP to `reloaded`, the peak
//!   memory during the reload (VmHWM, reset through `/proc/PID/clear_refs` first) and a query
//!   that must get the new address.
//!
//! Every publish's `written`/`removed`/`unchanged` counts come from its `XDP maps published`
//! line. Then NSD loads the same zone and reloads it with the same change; its VmHWM (the
//! largest of its processes) is measured likewise. Each figure is printed as the range over
//! the rounds: the machine is shared, single figures are noisy.

use std::{
    fs,
    io::ErrorKind,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use lbdns_tests::{client, run_bounded, wire::Builder};

use super::{
    interrupt, mixes,
    netns::{Net, Side},
    progress::Progress,
    targets::{Context, Server, Target, ZoneFile},
};
use crate::build::{self, Profile};

mod ixfr;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rounds of each change; each figure is printed as its range over the rounds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Where the zone, configuration and logs go. Default: <target dir>/bench-change.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// A million RRsets load in seconds; this bounds a server that never gets there.
const TIMEOUT: Duration = Duration::from_secs(300);
/// The health-checked port of the pool's first endpoint, opened and closed by the benchmark.
const CHECK_PORT: u16 = 8053;
/// The pool's owner, inside the large zone.
const POOL: &str = "pool.large.example.";
/// The pool's endpoints: the first checked against [`CHECK_PORT`], the second against lbdns's
/// own TCP port (always up), drained and undrained.
const ENDPOINTS: [&str; 2] = ["198.18.200.1", "198.18.200.2"];

pub fn run(args: Args) -> Result<()> {
    super::require_root()?;
    interrupt::install();
    let lbdns = build::lbdns(Profile::Release)?;
    let out = super::output_dir(args.out, "bench-change")?;
    let mut progress = Progress::new();
    progress.subject("inputs");
    progress.phase("generating the zone", Duration::from_secs(60));
    let zone = ZoneFile {
        origin: mixes::LARGE_ORIGIN,
        path: out.join("large.example.zone"),
        many_rrsets: Some(mixes::LARGE_RRSETS + 1),
        config: None,
    };
    mixes::write_large_zone(&zone.path)
        .with_context(|| format!("cannot write {}", zone.path.display()))?;
    let original = fs::read_to_string(&zone.path)?;
    let net = Net::new()?;

    let mut figures = Figures::default();
    let setup = Setup {
        net: &net,
        lbdns: &lbdns,
        zone: &zone,
        original: &original,
        out: &out,
        rounds: args.rounds,
    };
    progress.subject("lbdns");
    let measured = lbdns_rounds(&setup, &mut figures, &mut progress);
    fs::write(&zone.path, &original)?;
    measured?;
    progress.subject("lbdns, secondary of Knot");
    let measured = ixfr::rounds(&setup, &mut figures, &mut progress);
    fs::write(&zone.path, &original)?;
    measured?;
    progress.subject("nsd");
    let measured = nsd_rounds(&setup, &mut figures, &mut progress);
    fs::write(&zone.path, &original)?;
    measured?;
    drop(net);
    progress.finish();
    let report = figures.render(args.rounds);
    print!("{report}");
    let path = out.join("bench-change.txt");
    fs::write(&path, &report).with_context(|| format!("cannot write {}", path.display()))?;
    println!("\nReport: {}", path.display());
    Ok(())
}

/// What both servers' rounds share.
struct Setup<'a> {
    net: &'a Net,
    lbdns: &'a Path,
    zone: &'a ZoneFile,
    /// The zone's text as generated; each round changes one name of it.
    original: &'a str,
    out: &'a Path,
    rounds: u32,
}

/// What the rounds measured; each list has one entry per round (or per change).
#[derive(Debug, Default)]
struct Figures {
    flip_ms: Vec<f64>,
    flip_daemon_ms: Vec<f64>,
    flip_counts: Vec<Counts>,
    drain_ms: Vec<f64>,
    drain_command_ms: Vec<f64>,
    drain_counts: Vec<Counts>,
    reload_publish_ms: Vec<f64>,
    reload_total_ms: Vec<f64>,
    reload_counts: Vec<Counts>,
    /// The BPF maps lbdns maps into its memory to write them: kernel memory, counted in its
    /// VmRSS and VmHWM, which NSD does not have. Given apart so the heaps compare.
    lbdns_bpf_kib: Option<u64>,
    lbdns_start_hwm_kib: Option<u64>,
    lbdns_reload_hwm_kib: Vec<u64>,
    lbdns_steady_rss_kib: Option<u64>,
    ixfr_notify_ms: Vec<f64>,
    ixfr_received_ms: Vec<f64>,
    ixfr_publish_ms: Vec<f64>,
    ixfr_both_ms: Vec<f64>,
    ixfr_counts: Vec<Counts>,
    lbdns_ixfr_hwm_kib: Vec<u64>,
    nsd_ixfr_hwm_kib: Vec<u64>,
    nsd_start_hwm_kib: Option<u64>,
    nsd_reload_hwm_kib: Vec<u64>,
    nsd_steady_rss_kib: Option<u64>,
}

/// An `XDP maps published` line's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    written: u64,
    removed: u64,
    unchanged: u64,
}

fn lbdns_rounds(setup: &Setup<'_>, figures: &mut Figures, progress: &mut Progress) -> Result<()> {
    let Setup {
        net,
        lbdns,
        zone,
        original,
        out,
        rounds,
    } = *setup;
    let server = net.server_v4();
    let mut listener = Some(Listener::open(net, SocketAddr::from((server, CHECK_PORT)))?);
    let config = out.join("lbdns.toml");
    fs::write(&config, pool_config(server))?;
    let log = out.join("lbdns.log");
    let mut daemon = Daemon::start(net, lbdns, zone, &config, out, &log)?;
    progress.phase("starting lbdns (1M names, XDP)", TIMEOUT);
    daemon.wait_for(XDP_READY, 0, progress)?;
    figures.lbdns_start_hwm_kib = status_kib(daemon.pid(), "VmHWM:");
    figures.lbdns_bpf_kib = bpf_map_kib(daemon.pid());
    let control = out.join("control.sock");

    for round in 0..rounds {
        progress.phase(format!("health flips, round {}", round + 1), TIMEOUT);
        for up in [false, true] {
            let from = daemon.log_len();
            listener = if up {
                Some(Listener::open(net, SocketAddr::from((server, CHECK_PORT)))?)
            } else {
                drop(listener.take());
                None
            };
            let verdict = if up { "health: up" } else { "health: down" };
            let at = daemon.wait_for(verdict, from, progress)?;
            let published = daemon.wait_for(POOL_PUBLISHED, at, progress)?;
            let text = daemon.log()[at..].to_owned();
            let verdict_line = line_at(&text, 0);
            let published_line = line_at(&text, published - at);
            figures
                .flip_ms
                .push(timestamp_s(published_line)? * 1e3 - timestamp_s(verdict_line)? * 1e3);
            figures
                .flip_daemon_ms
                .push(field(published_line, "seconds")? * 1e3);
            figures
                .flip_counts
                .push(last_counts(&text[..published - at])?);
        }

        progress.phase(format!("drains, round {}", round + 1), TIMEOUT);
        for verb in ["drain", "undrain"] {
            let from = daemon.log_len();
            let started = Instant::now();
            let mut command = Command::new(lbdns);
            command
                .arg(verb)
                .arg(ENDPOINTS[1])
                .arg("--control")
                .arg(&control);
            let output = run_bounded(&mut command, Duration::from_secs(30))?;
            if !output.status.success() {
                bail!("lbdns {verb} failed: {}", output.combined());
            }
            figures
                .drain_command_ms
                .push(started.elapsed().as_secs_f64() * 1e3);
            let published = daemon.wait_for(POOL_PUBLISHED, from, progress)?;
            let text = daemon.log()[from..].to_owned();
            figures
                .drain_ms
                .push(field(line_at(&text, published - from), "seconds")? * 1e3);
            figures
                .drain_counts
                .push(last_counts(&text[..published - from])?);
        }

        progress.phase(format!("reload, round {}", round + 1), TIMEOUT);
        let (changed, address) = changed_zone(original, round);
        fs::write(&zone.path, changed)?;
        clear_peak(daemon.pid())?;
        let from = daemon.log_len();
        let started = Instant::now();
        signal(daemon.pid(), libc::SIGHUP)?;
        let done = daemon.wait_for(RELOADED, from, progress)?;
        figures
            .reload_total_ms
            .push(started.elapsed().as_secs_f64() * 1e3);
        figures
            .lbdns_reload_hwm_kib
            .extend(status_kib(daemon.pid(), "VmHWM:"));
        let text = daemon.log()[from..].to_owned();
        let both = text[..done - from]
            .lines()
            .find(|line| line.contains(RELOAD_PUBLISHED))
            .context("no `reload published to both paths` line")?;
        figures
            .reload_publish_ms
            .push(field(both, "seconds")? * 1e3);
        figures
            .reload_counts
            .push(last_counts(&text[..done - from])?);
        expect_address(net, &address)?;
    }
    figures.lbdns_steady_rss_kib = status_kib(daemon.pid(), "VmRSS:");
    progress.phase("stopping lbdns", Duration::from_secs(10));
    daemon.stop()?;
    drop(listener);
    Ok(())
}

fn nsd_rounds(setup: &Setup<'_>, figures: &mut Figures, progress: &mut Progress) -> Result<()> {
    let Setup {
        net,
        lbdns,
        zone,
        original,
        out,
        rounds,
    } = *setup;
    let cx = Context {
        net,
        lbdns,
        ceiling: lbdns,
        socket_ceiling: None,
        zone,
        dir: out.join("nsd"),
    };
    let server = Server::start(Target::Nsd, &cx, progress)?;
    figures.nsd_start_hwm_kib = peak_of(&net.server().pids());
    for round in 0..rounds {
        progress.phase(format!("NSD reload, round {}", round + 1), TIMEOUT);
        let (changed, address) = changed_zone(original, round);
        fs::write(&zone.path, changed)?;
        let pids = net.server().pids();
        for &pid in &pids {
            clear_peak(pid)?;
        }
        // The process the benchmark started is NSD's main process: SIGHUP reloads the zones.
        let main = pids
            .iter()
            .copied()
            .find(|&pid| !pids.contains(&parent(pid).unwrap_or(0)))
            .context("no NSD main process")?;
        signal(main, libc::SIGHUP)?;
        let deadline = Instant::now() + TIMEOUT;
        while expect_address(net, &address).is_err() {
            interrupt::check()?;
            if Instant::now() > deadline {
                bail!("NSD did not serve the changed name within {TIMEOUT:?}");
            }
            progress.tick();
            thread::sleep(Duration::from_millis(20));
        }
        figures
            .nsd_reload_hwm_kib
            .extend(peak_of(&net.server().pids()));
    }
    figures.nsd_steady_rss_kib = Some(
        net.server()
            .pids()
            .iter()
            .filter_map(|&pid| status_kib(pid, "VmRSS:"))
            .max()
            .unwrap_or(0),
    );
    server.stop(net)
}

/// What lbdns logs when its XDP program serves, after the first fill of its maps.
const XDP_READY: &str = "XDP fast path ready";
/// Logged once a pool change reached both paths.
const POOL_PUBLISHED: &str = "pool change published to both paths";
/// Logged once a reload's new zones reached both paths.
const RELOAD_PUBLISHED: &str = "reload published to both paths";
/// The end of the message of a finished reload.
const RELOADED: &str = "zones and pools reloaded";
/// Each publish's counts.
const MAPS_PUBLISHED: &str = "XDP maps published";

/// The `[[pool]]` of the benchmark: two endpoints, the first checked on [`CHECK_PORT`], the
/// second on lbdns's TCP port; checks every 100 ms, one result turns an endpoint.
fn pool_config(server: std::net::Ipv4Addr) -> String {
    format!(
        "[[pool]]\nname = \"{POOL}\"\nttl = 30\n\n[pool.check]\ntype = \"tcp\"\nport = 53\n\
         interval = \"100ms\"\ntimeout = \"100ms\"\nrise = 1\nfall = 1\n\n\
         [[pool.endpoint]]\naddress = \"{}\"\ncheck_address = \"{server}:{CHECK_PORT}\"\n\n\
         [[pool.endpoint]]\naddress = \"{}\"\ncheck_address = \"{server}:53\"\n",
        ENDPOINTS[0], ENDPOINTS[1]
    )
}

/// The zone with the first RRset's address changed for `round`, and the new address.
fn changed_zone(original: &str, round: u32) -> (String, [u8; 4]) {
    let name = mixes::large_name(0);
    let address = [198, 19, 250, round as u8 + 1];
    let mut changed = String::with_capacity(original.len());
    let mut done = false;
    for line in original.lines() {
        if !done && line.starts_with(&format!("{name} ")) {
            let [a, b, c, d] = address;
            changed.push_str(&format!("{name} IN A {a}.{b}.{c}.{d}\n"));
            done = true;
        } else if !line.starts_with(&format!("{name} ")) {
            changed.push_str(line);
            changed.push('\n');
        }
    }
    (changed, address)
}

/// Asks the server for the changed name; fails unless the reply carries `address`.
fn expect_address(net: &Net, address: &[u8; 4]) -> Result<()> {
    let server = SocketAddr::from((net.server_v4(), 53));
    let socket = client::udp_socket(net.client(), server)?;
    let query = Builder::query(0x0c4a, &mixes::large_name(0), 1).build();
    socket.send(&query)?;
    let reply = client::udp_recv(&socket, Duration::from_secs(1))?.context("no reply")?;
    if !reply.windows(4).any(|window| window == address) {
        bail!("the reply does not carry the new address");
    }
    Ok(())
}

/// lbdns serving the zone and the pool, its log in a file.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(
        net: &Net,
        lbdns: &Path,
        zone: &ZoneFile,
        config: &Path,
        out: &Path,
        log: &Path,
    ) -> Result<Self> {
        let zone_arg = format!("{}={}", zone.origin, zone.path.display());
        Self::spawn(net, lbdns, &["--zone", &zone_arg], config, out, log)
    }

    /// lbdns with `zones` (arguments naming its zones, if not only its configuration), the
    /// maps sized for the large zone.
    fn spawn(
        net: &Net,
        lbdns: &Path,
        zones: &[&str],
        config: &Path,
        out: &Path,
        log: &Path,
    ) -> Result<Self> {
        let file = fs::File::create(log)?;
        let rrsets = mixes::LARGE_RRSETS + 1;
        let entries = (rrsets + rrsets / 16).to_string();
        let name_bytes = (40 * (rrsets + rrsets / 16)).to_string();
        let child = net
            .server()
            .command(lbdns)
            .arg("serve")
            .args(zones)
            .arg("--listen")
            .arg(format!("{}:53", net.server_v4()))
            .arg("--config")
            .arg(config)
            .arg("--control")
            .arg(out.join("control.sock"))
            .args(["--xdp", Side::Server.interface(), "--xdp-mode", "generic"])
            .args(["--xdp-rrset-entries", &entries])
            .args(["--xdp-name-bytes", &name_bytes])
            .args(["--xdp-a-slots", &entries])
            .args(["--xdp-aaaa-slots", "1024"])
            .args(["--xdp-signature-entries", "256"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .context("cannot start lbdns")?;
        Ok(Self {
            child,
            log: log.to_owned(),
        })
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_len(&self) -> usize {
        self.log().len()
    }

    /// Waits until a line containing `what` appears after byte `from` of the log; returns
    /// where that line starts.
    fn wait_for(&mut self, what: &str, from: usize, progress: &mut Progress) -> Result<usize> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            interrupt::check()?;
            let log = self.log();
            if let Some(at) = log.get(from..).and_then(|text| text.find(what)) {
                let start = log[..from + at].rfind('\n').map_or(0, |nl| nl + 1);
                return Ok(start.max(from));
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "lbdns exited ({status}) waiting for `{what}`: see {}",
                    self.log.display()
                );
            }
            if Instant::now() > deadline {
                bail!("no `{what}` within {TIMEOUT:?}: see {}", self.log.display());
            }
            progress.tick();
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn stop(mut self) -> Result<()> {
        signal(self.pid(), libc::SIGTERM)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                bail!("lbdns did not stop within 10 s of SIGTERM; killed");
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A TCP listener in the server namespace that accepts and closes connections until dropped:
/// the health check of the pool's first endpoint succeeds while it is open.
struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Listener {
    fn open(net: &Net, address: SocketAddr) -> Result<Self> {
        let listener = net
            .server()
            .enter(move || TcpListener::bind(address))?
            .with_context(|| format!("cannot listen on {address}"))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok(_) => {}
                    Err(error) if error.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => break,
                }
            }
        });
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The line that starts at byte `at` of `text`.
fn line_at(text: &str, at: usize) -> &str {
    text[at..].lines().next().unwrap_or_default()
}

/// The seconds since midnight of a log line's RFC 3339 timestamp (`2026-12-05T03:11:10.488148Z`).
fn timestamp_s(line: &str) -> Result<f64> {
    let stamp = line.split_whitespace().next().unwrap_or_default();
    let time = stamp
        .split_once('T')
        .map(|(_, time)| time.trim_end_matches('Z'))
        .with_context(|| format!("no timestamp in {line:?}"))?;
    let mut parts = time.split(':');
    let mut next = || -> Result<f64> {
        parts
            .next()
            .and_then(|part| part.parse::<f64>().ok())
            .with_context(|| format!("bad timestamp in {line:?}"))
    };
    Ok(next()? * 3600.0 + next()? * 60.0 + next()?)
}

/// The value of `name=value` in a log line.
fn field(line: &str, name: &str) -> Result<f64> {
    let prefix = format!("{name}=");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(prefix.as_str()))
        .and_then(|value| value.parse().ok())
        .with_context(|| format!("no {name}= in {line:?}"))
}

/// The counts of the last `XDP maps published` line of `text`.
fn last_counts(text: &str) -> Result<Counts> {
    let line = text
        .lines()
        .rev()
        .find(|line| line.contains(MAPS_PUBLISHED))
        .context("no `XDP maps published` line")?;
    Ok(Counts {
        written: field(line, "written")? as u64,
        removed: field(line, "removed")? as u64,
        unchanged: field(line, "unchanged")? as u64,
    })
}

/// A `kB` field of `/proc/PID/status`.
fn status_kib(pid: i32, key: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Resident kibibytes of the BPF maps mapped into `pid` (`anon_inode:bpf-map` in smaps).
fn bpf_map_kib(pid: i32) -> Option<u64> {
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let mut total = 0;
    let mut bpf = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.contains('-') && first.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) {
            bpf = line.ends_with("anon_inode:bpf-map");
        } else if bpf {
            if let Some(kib) = line.strip_prefix("Rss:") {
                total += kib
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .unwrap_or(0);
            }
        }
    }
    Some(total)
}

/// The largest VmHWM of `pids`: the process that holds the zone.
fn peak_of(pids: &[i32]) -> Option<u64> {
    pids.iter()
        .filter_map(|&pid| status_kib(pid, "VmHWM:"))
        .max()
}

/// Resets the process's peak resident size (VmHWM) to its current size (proc(5), clear_refs 5).
fn clear_peak(pid: i32) -> Result<()> {
    fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .with_context(|| format!("cannot reset the peak memory of {pid}"))
}

fn parent(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn signal(pid: i32, signal: libc::c_int) -> Result<()> {
    // SAFETY: kill(2) on a process the benchmark started.
    if unsafe { libc::kill(pid, signal) } != 0 {
        return Err(std::io::Error::last_os_error()).context("kill(2)");
    }
    Ok(())
}

impl Figures {
    fn render(&self, rounds: u32) -> String {
        let ms = |values: &[f64]| range(values, |v| format!("{v:.1}"), "ms");
        let mib = |values: &[u64]| {
            let values: Vec<f64> = values.iter().map(|&kib| kib as f64 / 1024.0).collect();
            range(&values, |v| format!("{v:.0}"), "MiB")
        };
        let one = |value: Option<u64>| mib(&value.into_iter().collect::<Vec<_>>());
        let mut out = format!(
            "Changes to a {}-RRset zone with a pool, {rounds} round(s); min – max\n\n",
            mixes::LARGE_RRSETS + 1
        );
        let mut row = |what: &str, figure: String, counts: Option<&[Counts]>| {
            out.push_str(&format!("{what:<44} {figure:>22}"));
            if let Some(counts) = counts {
                out.push_str(&format!("   {}", counted(counts)));
            }
            out.push('\n');
        };
        row(
            "health verdict → both paths (log times)",
            ms(&self.flip_ms),
            Some(&self.flip_counts),
        );
        row(
            "  of which in Served (apply + publish)",
            ms(&self.flip_daemon_ms),
            None,
        );
        row(
            "drain/undrain in Served",
            ms(&self.drain_ms),
            Some(&self.drain_counts),
        );
        row(
            "  `lbdns drain` round trip",
            ms(&self.drain_command_ms),
            None,
        );
        row(
            "reload, one name: publish to both paths",
            ms(&self.reload_publish_ms),
            Some(&self.reload_counts),
        );
        row(
            "reload, one name: SIGHUP → reloaded",
            ms(&self.reload_total_ms),
            None,
        );
        row(
            "IXFR, one name: transfer end → both paths",
            ms(&self.ixfr_received_ms),
            Some(&self.ixfr_counts),
        );
        row(
            "  of which patch + publish + swap",
            ms(&self.ixfr_publish_ms),
            None,
        );
        row(
            "IXFR, one name: NOTIFY → both paths (log)",
            ms(&self.ixfr_notify_ms),
            None,
        );
        row(
            "  NOTIFY → UDP and TCP answer it (asked)",
            ms(&self.ixfr_both_ms),
            None,
        );
        let bpf = self.lbdns_bpf_kib.unwrap_or(0);
        let heap = |values: &[u64]| -> Vec<u64> {
            values.iter().map(|kib| kib.saturating_sub(bpf)).collect()
        };
        let start: Vec<u64> = self.lbdns_start_hwm_kib.into_iter().collect();
        let steady: Vec<u64> = self.lbdns_steady_rss_kib.into_iter().collect();
        row("lbdns VmHWM, start-up", mib(&start), None);
        row("  without the mapped BPF maps", mib(&heap(&start)), None);
        row(
            "lbdns VmHWM during a reload",
            mib(&self.lbdns_reload_hwm_kib),
            None,
        );
        row(
            "  without the mapped BPF maps",
            mib(&heap(&self.lbdns_reload_hwm_kib)),
            None,
        );
        row(
            "lbdns VmHWM during an IXFR (save included)",
            mib(&self.lbdns_ixfr_hwm_kib),
            None,
        );
        row(
            "  without the mapped BPF maps",
            mib(&heap(&self.lbdns_ixfr_hwm_kib)),
            None,
        );
        row("lbdns VmRSS, steady", mib(&steady), None);
        row("  without the mapped BPF maps", mib(&heap(&steady)), None);
        row("lbdns mapped BPF maps (Rss)", one(self.lbdns_bpf_kib), None);
        row(
            "NSD VmHWM, start-up (largest process)",
            one(self.nsd_start_hwm_kib),
            None,
        );
        row(
            "NSD VmHWM during a reload (largest)",
            mib(&self.nsd_reload_hwm_kib),
            None,
        );
        row(
            "NSD VmHWM during the same IXFR (largest)",
            mib(&self.nsd_ixfr_hwm_kib),
            None,
        );
        row(
            "NSD VmRSS, steady (largest process)",
            one(self.nsd_steady_rss_kib),
            None,
        );
        out
    }
}

fn range(values: &[f64], show: impl Fn(f64) -> String, unit: &str) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match values.len() {
        0 => "-".to_owned(),
        1 => format!("{} {unit}", show(min)),
        _ => format!("{} – {} {unit}", show(min), show(max)),
    }
}

/// The distinct counts of a change's publishes.
fn counted(counts: &[Counts]) -> String {
    let mut distinct: Vec<Counts> = counts.to_vec();
    distinct.dedup();
    distinct
        .iter()
        .map(|c| {
            format!(
                "written={} removed={} unchanged={}",
                c.written, c.removed, c.unchanged
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_timestamps_of_log_lines() {
        let line = "2026-12-05T03:11:10.488148Z  INFO lbdns::served::publish: XDP maps published \
                    scope=\"part\" written=1 removed=0 unchanged=0 grace_period=false seconds=0.0004";
        assert_eq!(field(line, "written").unwrap(), 1.0);
        assert_eq!(field(line, "seconds").unwrap(), 0.0004);
        let seconds = timestamp_s(line).unwrap();
        assert!((seconds - (3.0 * 3600.0 + 11.0 * 60.0 + 10.488148)).abs() < 1e-6);
        assert_eq!(
            last_counts(line).unwrap(),
            Counts {
                written: 1,
                removed: 0,
                unchanged: 0
            }
        );
    }

    #[test]
    fn the_changed_zone_differs_in_one_line() {
        let name = mixes::large_name(0);
        let original = format!(
            "@ IN NS ns1\n{name} IN A 198.18.0.1\n{name} IN A 198.18.0.2\nx IN A 1.2.3.4\n"
        );
        let (changed, address) = changed_zone(&original, 0);
        assert_eq!(address, [198, 19, 250, 1]);
        assert_eq!(
            changed,
            format!("@ IN NS ns1\n{name} IN A 198.19.250.1\nx IN A 1.2.3.4\n")
        );
    }
}
