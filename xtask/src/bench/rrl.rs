//! `cargo xtask bench-rrl`: what response rate limiting costs and what it buys, on the veth
//! pair in native mode with kxdpgun and dnsperf:
//! - the XDP program's ns/packet for a hot answer with RRL off and on with nobody limited
//!   (the kernel's run-time accounting, alternating the two twice);
//! - the replies a well-behaved client (100 qps from its own prefix) still gets while a flood
//!   spoofed from 1,024 prefixes runs (`spoof`: raw frames, as kxdpgun cannot spread its
//!   sources), against the same client without the flood;
//! - the amplification factor (bytes out / bytes in, whole frames) under a flood from one
//!   source with the default settings.
//!
//! Everything it starts is stopped and removed when it ends or fails. A measuring tool, never
//! part of `cargo xtask test`.

use std::{
    fs,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use lbdns_tests::{
    client,
    link::{self, FloodLink},
    wire::Builder,
};

use super::{
    load::{self, Dnsperf, Kxdpgun},
    netns::{Net, Side},
    spoof,
    targets::server_program,
    xdp::{self, Attached, Program},
};
use crate::{
    build::{self, Profile},
    workspace,
};

const START_TIMEOUT: Duration = Duration::from_secs(60);
const XDP_READY: &str = "XDP fast path ready";
/// The hot name every query asks for.
const HOT: &str = "www.example.com";
/// Ethernet, IPv4 and UDP headers of every frame.
const FRAME_OVERHEAD: usize = 14 + 20 + 8;
/// The first of the flood's spoofed prefixes: 1,024 of them at `ipv4_prefix = 26`, all of
/// 198.18.0.0/16.
const SPOOFED: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 0);
/// How many prefixes the flood comes from, and their length.
const SPOOFED_PREFIXES: u32 = 1024;
const SPOOFED_PREFIX_LEN: u32 = 26;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds of each load.
    #[arg(long, default_value_t = 5)]
    secs: u64,
    /// Queries per second of the cost runs (nobody limited) and of the floods.
    #[arg(long, default_value_t = 200_000)]
    rate: u32,
    /// Where the configurations, queries and logs go. Default: <target dir>/bench-rrl.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    super::require_root()?;
    let lbdns = build::lbdns(Profile::Release)?;
    let ceiling = xdp::build_ceiling()?;
    let out = super::output_dir(args.out.clone(), "bench-rrl")?;
    let queries = out.join("hot.txt");
    fs::write(&queries, format!("{HOT} A\n"))?;
    let net = Net::new()?;
    let flood_link = FloodLink::new(net.server())?;
    let _stats = xdp::count_run_time()?;
    let bench = Bench {
        net: &net,
        flood_link: &flood_link,
        lbdns: &lbdns,
        ceiling: &ceiling,
        queries: &queries,
        out: &out,
        args: &args,
    };
    println!("(one run on a shared machine: other work moves these figures)");
    bench.cost()?;
    bench.well_behaved()?;
    bench.amplification()?;
    Ok(())
}

struct Bench<'a> {
    net: &'a Net,
    /// The spoofed flood's own link: kxdpgun takes every reply on its interface, the
    /// well-behaved client's too if they shared one.
    flood_link: &'a FloodLink,
    lbdns: &'a Path,
    ceiling: &'a Path,
    queries: &'a Path,
    out: &'a Path,
    args: &'a Args,
}

impl Bench<'_> {
    /// ns/packet of hot answers, RRL off against on with a rate nobody reaches.
    fn cost(&self) -> Result<()> {
        let mut figures = Vec::new();
        for round in 0..2 {
            for (label, rrl) in [
                ("off", ""),
                (
                    "on",
                    "[rrl]\nresponses_per_second = 1000000\nburst = 1000000\n",
                ),
            ] {
                let daemon = self.start(&format!("cost-{label}-{round}"), rrl)?;
                let (id, _) = server_program(self.net)?.context("no XDP program on the veth")?;
                let before = xdp::run_stats(id)?;
                let gun = self.kxdpgun(&format!("cost-{label}-{round}"), self.args.rate)?;
                let ns = before
                    .ns_per_run_until(xdp::run_stats(id)?)
                    .context("the program did not run")?;
                let counters = daemon.stats()?;
                daemon.stop()?;
                if counters.get("rate_limited") != 0 {
                    bail!(
                        "RRL {label}: {} responses were limited",
                        counters.get("rate_limited")
                    );
                }
                println!(
                    "cost, RRL {label} (round {round}): {ns:.1} ns/packet over {} replies/s",
                    gun.replies_per_s
                );
                figures.push((label, ns));
            }
        }
        let mean = |label| {
            let runs: Vec<f64> = figures
                .iter()
                .filter(|f| f.0 == label)
                .map(|f| f.1)
                .collect();
            runs.iter().sum::<f64>() / runs.len() as f64
        };
        println!(
            "XDP ns/packet, hot A answer: RRL off {:.1}, on (nobody limited) {:.1}: {:+.1} ns",
            mean("off"),
            mean("on"),
            mean("on") - mean("off")
        );
        Ok(())
    }

    /// A client at 100 qps from its own prefix, with and without a flood from 1,024 others.
    fn well_behaved(&self) -> Result<()> {
        let rrl = format!("[rrl]\nipv4_prefix = {SPOOFED_PREFIX_LEN}\n");
        let query = Builder::query(7, HOT, 1).build();
        let frames: Vec<Vec<u8>> = spoof::sources(SPOOFED, SPOOFED_PREFIX_LEN, SPOOFED_PREFIXES)
            .into_iter()
            .enumerate()
            .map(|(i, source)| spoof::frame(source, 1024 + i as u16, &query))
            .collect();
        for flood in [false, true] {
            let name = if flood { "flood" } else { "control" };
            let daemon = self.start(&format!("well-behaved-{name}"), &rrl)?;
            // Native XDP_TX reaches the flooder's end of the link only through a program there.
            let flood_peer = Attached::on(
                &self.flood_link.ns,
                link::CLIENT_IF,
                self.ceiling,
                Program::Pass,
            )?;
            let before = daemon.stats()?;
            let (quiet, sent) = std::thread::scope(|scope| -> Result<_> {
                let gun = flood.then(|| {
                    scope.spawn(|| {
                        let secs = self.args.secs + 2;
                        let ns = &self.flood_link.ns;
                        spoof::flood(ns, link::CLIENT_IF, &frames, self.args.rate, secs)
                    })
                });
                if flood {
                    std::thread::sleep(Duration::from_millis(500));
                }
                let peer = Attached::new(self.net, Side::Client, self.ceiling, Program::Pass)?;
                let quiet = self.dnsperf(&format!("well-behaved-{name}"));
                drop(peer);
                let sent = gun
                    .map(|gun| gun.join().expect("the flood's thread"))
                    .transpose()?;
                Ok((quiet?, sent))
            })?;
            drop(flood_peer);
            self.net.xdp_off(Side::Client).ok();
            let after = daemon.stats()?;
            daemon.stop()?;
            let moved = |name: &str| after.get(name) - before.get(name);
            println!(
                "well-behaved client, 100 qps, {name}: {} of {} answered ({:.1} replies/s, \
                 {:.2}% lost){}",
                quiet.completed,
                quiet.sent,
                quiet.completed as f64 / self.args.secs as f64,
                100.0 * quiet.loss(),
                sent.map_or(String::new(), |sent| format!(
                    "; the flood sent {:.0} queries/s from {SPOOFED_PREFIXES} /{SPOOFED_PREFIX_LEN} \
                     prefixes ({:.0} a prefix): {} answered, {} slipped, {} dropped",
                    sent.per_second(),
                    sent.per_second() / f64::from(SPOOFED_PREFIXES),
                    moved("rrl_answered_v4"),
                    moved("rrl_slipped_v4"),
                    moved("rrl_dropped_v4"),
                )),
            );
        }
        Ok(())
    }

    /// Bytes out over bytes in under a flood from one source, default settings.
    fn amplification(&self) -> Result<()> {
        let daemon = self.start("amplification", "[rrl]\n")?;
        let (query, answer) = self.sizes()?;
        let before = daemon.stats()?;
        let gun = self.kxdpgun("amplification", self.args.rate)?;
        let after = daemon.stats()?;
        daemon.stop()?;
        let moved = |name: &str| after.get(name) - before.get(name);
        let answered = moved("answered_a");
        let slipped = moved("rrl_slipped_v4");
        let dropped = moved("rrl_dropped_v4");
        let received = answered + slipped + dropped;
        // A slip is the question alone: the query's length, as kxdpgun sends no EDNS.
        let bytes_in = received as f64 * (query + FRAME_OVERHEAD) as f64;
        let bytes_out = (answered as f64 * (answer + FRAME_OVERHEAD) as f64)
            + (slipped as f64 * (query + FRAME_OVERHEAD) as f64);
        println!(
            "amplification under a flood from one source at {} queries/s, defaults (200/s, \
             slip 2): {answered} answered, {slipped} slipped, {dropped} dropped; bytes out / \
             bytes in = {:.3} (without RRL: {:.2})",
            gun.sent_per_s,
            bytes_out / bytes_in,
            (answer + FRAME_OVERHEAD) as f64 / (query + FRAME_OVERHEAD) as f64,
        );
        Ok(())
    }

    /// The lengths of the query kxdpgun sends and of its answer, from one exchange.
    fn sizes(&self) -> Result<(usize, usize)> {
        let server = SocketAddr::from((self.net.server_v4(), 53));
        let peer = Attached::new(self.net, Side::Client, self.ceiling, Program::Pass)?;
        let socket = client::udp_socket(self.net.client(), server)?;
        let query = Builder::query(7, HOT, 1).build();
        socket.send(&query)?;
        let reply = client::udp_recv(&socket, Duration::from_secs(2))?
            .context("no answer to size the reply")?;
        drop(peer);
        self.net.xdp_off(Side::Client).ok();
        Ok((query.len(), reply.len()))
    }

    fn start(&self, name: &str, rrl: &str) -> Result<Daemon> {
        let zone = workspace::root().join("zones/example.com.zone");
        let config = self.out.join(format!("{name}.toml"));
        fs::write(&config, rrl)?;
        let log = self.out.join(format!("{name}.log"));
        let control = self.out.join("control.sock");
        let mut child = self
            .net
            .server()
            .command(self.lbdns)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--zone")
            .arg(format!("example.com.={}", zone.display()))
            .args(["--listen", &format!("{}:53", self.net.server_v4())])
            .args(["--xdp", Side::Server.interface(), "--xdp", link::SERVER_IF])
            .args(["--xdp-mode", "native"])
            .arg("--control")
            .arg(&control)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?)
            .spawn()
            .context("cannot start lbdns")?;
        let deadline = Instant::now() + START_TIMEOUT;
        // Bounded by the deadline; 50 ms a round.
        loop {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if text.contains(XDP_READY) {
                return Ok(Daemon {
                    child,
                    lbdns: self.lbdns.to_owned(),
                    control,
                });
            }
            if child.try_wait()?.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("lbdns did not serve; its log:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// kxdpgun from the client's address, on the client's link.
    fn spawn_kxdpgun(&self, rate: u32, secs: u64) -> Result<Child> {
        self.net
            .client()
            .command("kxdpgun")
            .args(["-t", &secs.to_string(), "-Q", &rate.to_string(), "-i"])
            .arg(self.queries)
            .args(["-I", Side::Client.interface()])
            .arg(self.net.server_v4().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start kxdpgun")
    }

    fn kxdpgun(&self, name: &str, rate: u32) -> Result<Kxdpgun> {
        let gun = self.spawn_kxdpgun(rate, self.args.secs)?;
        let counts = finish_kxdpgun(gun, self.out, name);
        self.net.xdp_off(Side::Client).ok();
        counts
    }

    fn dnsperf(&self, name: &str) -> Result<Dnsperf> {
        let output = self
            .net
            .client()
            .command("dnsperf")
            .args(["-s", &self.net.server_v4().to_string(), "-d"])
            .arg(self.queries)
            .args(["-l", &self.args.secs.to_string(), "-Q", "100", "-t", "2"])
            .stdin(Stdio::null())
            .output()
            .context("cannot run dnsperf")?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        fs::write(self.out.join(format!("{name}.dnsperf.txt")), &text)?;
        load::parse_dnsperf(&text).with_context(|| format!("dnsperf: {}", load::tail(&text)))
    }
}

fn finish_kxdpgun(gun: Child, out: &Path, name: &str) -> Result<Kxdpgun> {
    let output = gun.wait_with_output().context("kxdpgun")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    fs::write(out.join(format!("{name}.kxdpgun.txt")), &text)?;
    if !output.status.success() {
        bail!("kxdpgun: {}: {}", output.status, load::tail(&text));
    }
    load::parse_kxdpgun(&text).with_context(|| format!("kxdpgun: {}", load::tail(&text)))
}

struct Daemon {
    child: Child,
    lbdns: PathBuf,
    control: PathBuf,
}

/// `lbdns stats` lines.
struct Stats(Vec<(String, u64)>);

impl Stats {
    fn get(&self, name: &str) -> u64 {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, v)| *v)
    }
}

impl Daemon {
    fn stats(&self) -> Result<Stats> {
        let output = Command::new(&self.lbdns)
            .arg("stats")
            .arg("--control")
            .arg(&self.control)
            .output()
            .context("lbdns stats")?;
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(Stats(
            text.lines()
                .filter_map(|line| {
                    let (name, value) = line.split_once(' ')?;
                    Some((name.to_owned(), value.trim().parse().ok()?))
                })
                .collect(),
        ))
    }

    fn stop(mut self) -> Result<()> {
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        // Bounded by the deadline; 10 ms a round.
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("lbdns did not exit");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
