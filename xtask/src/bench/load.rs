//! The load generators, run from the client namespace, and readers for what they print.
//!
//! - kxdpgun (Knot's AF_XDP generator) sends as fast as one core can and counts replies: the
//!   replies per second at saturation. It attaches its own XDP program to the client's veth end,
//!   which also lets native XDP_TX replies reach it, and leaves it there when it exits. Where
//!   the kernel refuses that program, the bench's own generator takes its place
//!   (`super::generator`).
//! - dnsperf, closed-loop (`-c 4 -T 2 -q 200`, as the measured figures in the notes): queries
//!   per second, average latency and lost queries at the highest rate the pair sustains.
//! - dnsperf at a fixed, moderate rate with `-v`: per-query latencies, from which the average
//!   and the 99th percentile are computed. dnsperf 2.10 prints no percentiles and has no
//!   histogram option, and `-v` costs the client about a fifth of its throughput, so the
//!   latency run is separate from the throughput run. At saturation the closed loop's latency is
//!   mostly dnsperf's own queue (Little's law: outstanding / rate), which says little about the
//!   server; at a rate every target sustains, the percentile is the server's.
//!
//! Every run's full output is kept in the output directory, to be re-read by anyone.

use std::{
    fs::{self, File},
    path::Path,
    process::{Child, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use serde::Serialize;

use super::{interrupt, netns::Net, progress::Progress};

/// How long a generator may run past its own time limit (start-up, draining) before it is
/// killed as hung.
const GRACE: Duration = Duration::from_secs(30);
/// kxdpgun's send rate: more than one core can send, so it sends flat out.
pub const KXDPGUN_QPS: &str = "10000000";
/// dnsperf's closed loop: clients, threads, outstanding queries.
pub const DNSPERF_LOOP: [&str; 6] = ["-c", "4", "-T", "2", "-q", "200"];
/// dnsperf's query timeout in seconds: an answer later than this is a lost query.
const DNSPERF_TIMEOUT: &str = "2";
/// The latency run's rate: a small fraction of what the slowest server sustains here.
pub const LATENCY_QPS: u32 = 10_000;

/// What kxdpgun counted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Kxdpgun {
    pub sent: u64,
    pub replies: u64,
    pub sent_per_s: u64,
    pub replies_per_s: u64,
}

/// What a dnsperf run's statistics say.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Dnsperf {
    pub sent: u64,
    pub completed: u64,
    pub lost: u64,
    pub qps: f64,
    pub avg_latency_ms: f64,
}

impl Dnsperf {
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.lost as f64 / self.sent as f64
        }
    }
}

/// Latencies of the fixed-rate run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// The rate asked of dnsperf.
    pub rate_qps: u32,
    /// Queries answered (each with its latency).
    pub answered: u64,
    /// Queries that timed out.
    pub timed_out: u64,
    pub avg_ms: f64,
    /// Nearest-rank 99th percentile of the answered queries.
    pub p99_ms: f64,
}

impl Latency {
    pub fn loss(&self) -> f64 {
        let total = self.answered + self.timed_out;
        if total == 0 {
            0.0
        } else {
            self.timed_out as f64 / total as f64
        }
    }
}

/// Output that does not have the shape a reader expects.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("no `{0}` line")]
    Missing(&'static str),
    #[error("cannot read a number in `{0}`")]
    Number(String),
    #[error("no answered query")]
    NoAnswers,
}

/// Paths and knobs shared by every run against one target and mix.
#[derive(Debug)]
pub struct Run<'a> {
    pub net: &'a Net,
    pub queries: &'a Path,
    /// Where the output goes, without extension: `<out>/logs/<target>-<mix>`.
    pub log_stem: &'a Path,
    pub secs: u64,
    /// kxdpgun's source addresses (`-l`), a prefix, instead of the client's own address.
    pub sources: Option<&'a str>,
    /// An EDNS option on every dnsperf query (`-E code:hex`).
    pub edns_option: Option<&'a str>,
}

impl<'a> Run<'a> {
    /// A run from the client's own address, with no EDNS option.
    pub fn new(net: &'a Net, queries: &'a Path, log_stem: &'a Path, secs: u64) -> Self {
        Self {
            net,
            queries,
            log_stem,
            secs,
            sources: None,
            edns_option: None,
        }
    }

    pub fn kxdpgun(&self, progress: &mut Progress) -> Result<Kxdpgun> {
        // IPv6 sources need an IPv6 target: kxdpgun sends one family.
        let server = match self.sources {
            Some(sources) if sources.contains(':') => self.net.server_v6().to_string(),
            _ => self.net.server_v4().to_string(),
        };
        let mut command = self.net.client().command("kxdpgun");
        command
            .args(["-t", &self.secs.to_string(), "-Q", KXDPGUN_QPS, "-i"])
            .arg(self.queries)
            .args(["-I", super::netns::Side::Client.interface()])
            .args(self.sources.iter().flat_map(|s| ["-l", s]))
            .arg(server);
        let output = self.log_stem.with_extension("kxdpgun.txt");
        run(&mut command, &output, self.secs, "kxdpgun", progress)?;
        let text = read(&output)?;
        // Where it could not start, its last line says why (its XDP program refused, say).
        let said = text.lines().rev().find(|line| line.starts_with("error:"));
        parse_kxdpgun(&text).with_context(|| match said {
            Some(line) => format!("kxdpgun: `{line}` ({})", output.display()),
            None => format!("cannot read {}", output.display()),
        })
    }

    pub fn dnsperf(&self, progress: &mut Progress) -> Result<Dnsperf> {
        let mut command = self.dnsperf_command(self.secs);
        command.args(DNSPERF_LOOP);
        let output = self.log_stem.with_extension("dnsperf.txt");
        run(&mut command, &output, self.secs, "dnsperf", progress)?;
        let text = read(&output)?;
        parse_dnsperf(&text).with_context(|| format!("cannot read {}", output.display()))
    }

    /// The fixed-rate run lasts half as long as the others: at [`LATENCY_QPS`] that still
    /// gives 50,000 samples for the default 10 s.
    pub fn latency(&self, progress: &mut Progress) -> Result<Latency> {
        let secs = self.secs.div_ceil(2);
        let mut command = self.dnsperf_command(secs);
        command.args(["-Q", &LATENCY_QPS.to_string(), "-v"]);
        let output = self.log_stem.with_extension("latency.txt");
        run(
            &mut command,
            &output,
            secs,
            "dnsperf -v (latency)",
            progress,
        )?;
        let text = read(&output)?;
        parse_latencies(&text, LATENCY_QPS)
            .with_context(|| format!("cannot read {}", output.display()))
    }

    fn dnsperf_command(&self, secs: u64) -> std::process::Command {
        let mut command = self.net.client().command("dnsperf");
        command
            .args(["-s", &self.net.server_v4().to_string(), "-d"])
            .arg(self.queries)
            .args(["-l", &secs.to_string(), "-t", DNSPERF_TIMEOUT])
            .args(self.edns_option.iter().flat_map(|o| ["-E", o]));
        command
    }
}

/// Runs a generator for about `secs`, its output (stdout and stderr) going to `output`; fails
/// unless it exits successfully.
fn run(
    command: &mut std::process::Command,
    output: &Path,
    secs: u64,
    what: &str,
    progress: &mut Progress,
) -> Result<()> {
    let file =
        File::create(output).with_context(|| format!("cannot create {}", output.display()))?;
    let child = command
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let limit = Duration::from_secs(secs);
    progress.phase(what, limit);
    let status = wait(child, limit + GRACE, progress).with_context(|| format!("{what} hung"))?;
    if !status.success() {
        bail!(
            "{status}: {}",
            tail(&fs::read_to_string(output).unwrap_or_default())
        );
    }
    Ok(())
}

/// Waits for `child`, killing it after `limit` or on Ctrl-C.
pub fn wait(
    mut child: Child,
    limit: Duration,
    progress: &mut Progress,
) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if let Err(interrupted) = interrupt::check() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(interrupted.into());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("still running after {} s; killed", limit.as_secs());
        }
        progress.tick();
        thread::sleep(Duration::from_millis(100));
    }
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The last lines of a tool's output, for an error message.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" / ")
}

/// Reads kxdpgun's summary:
///
/// ```text
/// total queries:     625780 (208593 pps)
/// total replies:     338617 (112872 pps) (54%)
/// ```
pub fn parse_kxdpgun(text: &str) -> Result<Kxdpgun, ParseError> {
    let counts = |key: &'static str| -> Result<(u64, u64), ParseError> {
        let rest = find_value(text, key)?;
        let number = |s: Option<&str>| {
            s.and_then(|s| s.trim_matches(|c| c == '(' || c == ')').parse().ok())
                .ok_or_else(|| ParseError::Number(rest.to_owned()))
        };
        let mut words = rest.split_whitespace();
        Ok((number(words.next())?, number(words.next())?))
    };
    let (sent, sent_per_s) = counts("total queries:")?;
    let (replies, replies_per_s) = counts("total replies:")?;
    Ok(Kxdpgun {
        sent,
        replies,
        sent_per_s,
        replies_per_s,
    })
}

/// Reads the `Statistics:` block that dnsperf prints at the end.
pub fn parse_dnsperf(text: &str) -> Result<Dnsperf, ParseError> {
    Ok(Dnsperf {
        sent: first_number(text, "Queries sent:")?,
        completed: first_number(text, "Queries completed:")?,
        lost: first_number(text, "Queries lost:")?,
        qps: first_number(text, "Queries per second:")?,
        avg_latency_ms: first_number::<f64>(text, "Average Latency (s):")? * 1e3,
    })
}

/// Reads `-v` lines: `> NOERROR www.example.com A 0.000380` for an answer (any RCODE), and
/// `> T www.example.com A` for a query that timed out.
pub fn parse_latencies(text: &str, rate_qps: u32) -> Result<Latency, ParseError> {
    let mut latencies = Vec::new();
    let mut timed_out = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("> ") else {
            continue;
        };
        if rest.starts_with("T ") {
            timed_out += 1;
            continue;
        }
        let seconds = rest.rsplit(' ').next().and_then(|s| s.parse::<f64>().ok());
        match seconds {
            Some(seconds) => latencies.push(seconds * 1e3),
            None => return Err(ParseError::Number(line.to_owned())),
        }
    }
    if latencies.is_empty() {
        return Err(ParseError::NoAnswers);
    }
    latencies.sort_by(f64::total_cmp);
    // Nearest rank: the smallest latency that at least 99% of the answers do not exceed.
    let rank = (latencies.len() * 99).div_ceil(100);
    Ok(Latency {
        rate_qps,
        answered: latencies.len() as u64,
        timed_out,
        avg_ms: latencies.iter().sum::<f64>() / latencies.len() as f64,
        p99_ms: latencies[rank - 1],
    })
}

/// What follows `key` on the first line that has it (after leading spaces).
fn find_value<'t>(text: &'t str, key: &'static str) -> Result<&'t str, ParseError> {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(key))
        .map(str::trim)
        .ok_or(ParseError::Missing(key))
}

/// The first word after `key`, as a number.
fn first_number<T: std::str::FromStr>(text: &str, key: &'static str) -> Result<T, ParseError> {
    let value = find_value(text, key)?;
    value
        .split_whitespace()
        .next()
        .and_then(|word| word.parse().ok())
        .ok_or_else(|| ParseError::Number(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kxdpgun_summary() {
        let result = parse_kxdpgun(include_str!("testdata/kxdpgun.txt")).unwrap();
        assert_eq!(
            result,
            Kxdpgun {
                sent: 171_450,
                replies: 100_974,
                sent_per_s: 85_725,
                replies_per_s: 50_487
            }
        );
    }

    #[test]
    fn reads_dnsperf_statistics() {
        let result = parse_dnsperf(include_str!("testdata/dnsperf.txt")).unwrap();
        assert_eq!(result.sent, result.completed + result.lost);
        assert!(result.qps > 1_000.0, "{result:?}");
        assert!(result.avg_latency_ms > 0.0 && result.avg_latency_ms < 100.0);
    }

    #[test]
    fn reads_dnsperf_latencies_and_timeouts() {
        let latency = parse_latencies(include_str!("testdata/dnsperf-verbose.txt"), 20).unwrap();
        assert_eq!(latency.answered, 21);
        assert_eq!(latency.timed_out, 1);
        // The two slowest of 21 answers are 3.763 and 3.804 ms; rank ceil(21 * 0.99) = 21.
        assert!((latency.p99_ms - 3.804).abs() < 1e-9, "{latency:?}");
        assert!(latency.avg_ms > 0.1 && latency.avg_ms < latency.p99_ms);
    }

    #[test]
    fn p99_is_nearest_rank() {
        let text: String = (1..=1000)
            .map(|ms| format!("> NOERROR a. A {}\n", f64::from(ms) / 1e3))
            .collect();
        let latency = parse_latencies(&text, 1).unwrap();
        assert!((latency.p99_ms - 990.0).abs() < 1e-9);
        assert!((latency.avg_ms - 500.5).abs() < 1e-9);
    }

    #[test]
    fn missing_figures_are_errors() {
        assert!(matches!(
            parse_dnsperf("[Status] Testing complete"),
            Err(ParseError::Missing("Queries sent:"))
        ));
        assert!(matches!(
            parse_latencies("> T a. A\n", 1),
            Err(ParseError::NoAnswers)
        ));
        assert!(matches!(
            parse_kxdpgun("total queries:     x (1 pps)\n"),
            Err(ParseError::Number(_))
        ));
    }
}
