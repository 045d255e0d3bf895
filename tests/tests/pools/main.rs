//! Pools with real backends, end to end: `lbdns serve --config` with `[[pool]]` entries whose
//! endpoints are TCP and HTTP servers running in the server namespace, checked by the daemon.
//! Backends are stopped, made to answer 503 or the wrong body, and brought back, and the
//! answers seen from the client namespace must follow within the bound.
//!
//! Every scenario runs twice ([`on_both_paths!`]): `sockets`, a daemon without XDP answering UDP
//! and TCP from its sockets, and `xdp`, a daemon with its program attached natively to the
//! server's veth, where every UDP answer that carries addresses must come from the program
//! (its counters, read with `lbdns stats`, say so) while TCP still reaches the sockets. Both
//! transports are asked on every observation, so the two paths are held to the same answers.
//!
//! Endpoint addresses (198.18.60.1..8, 2001:db8:60::1..8) live on the server namespace's `lo`;
//! nothing is sent anywhere else. `lbdns check --config` errors are in `check`.
//!
//! Needs root and a built `lbdns` binary; without them the tests fail and say so.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::client::{tcp_query, udp_query};
use lbdns_tests::env::{run_bounded, run_ok, Output};
use lbdns_tests::wire::{rtype, Builder, Message};
use lbdns_tests::{lbdns_bin, preflight, Namespace, Server, TempDir, Topology};

/// Runs each named scenario `fn(Mode) -> Result<()>` as two tests, `<scenario>::sockets` and
/// `<scenario>::xdp`, so that a filter (`cargo test --test pools sockets`) picks one path.
macro_rules! on_both_paths {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn sockets() -> anyhow::Result<()> {
                super::$scenario(crate::Mode::Sockets)
            }
            #[test]
            fn xdp() -> anyhow::Result<()> {
                super::$scenario(crate::Mode::Xdp)
            }
        }
    )*};
}

mod answer;
mod backend;
mod check;
mod drain;
mod health;
mod order;
#[path = "../support/peer.rs"]
mod peer;
mod tiers;
mod xdp;

pub use answer::{addrs, at, ip, read_answer, Answer};
pub use lbdns_tests::env::pin_to_cpu0;
use peer::PeerProgram;
pub use xdp::moved;
use xdp::{answered_counter, by_xdp};

/// The zone every pool lives in. `alias` is a CNAME, for the owner-clash check.
pub const ZONE: &str = "$ORIGIN lb.example.\n$TTL 60\n\
    @ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\nalias CNAME www\n";
/// The apex of [`ZONE`], owner of the SOA a NODATA carries.
pub const APEX: &str = "lb.example.";
/// The TTL every test pool sets, so that answers can be told from zone data.
pub const POOL_TTL: u32 = 5;

/// Check timing of every checked pool: short, so that a transition takes about a second.
pub const INTERVAL: Duration = Duration::from_millis(200);
pub const RISE: u32 = 2;
pub const FALL: u32 = 3;
/// The `[pool.check]` timing lines for the constants above.
pub const CHECK_TIMING: &str = "interval = \"200ms\"\ntimeout = \"100ms\"\nrise = 2\nfall = 3\n";

/// The bound: an endpoint that stops passing its checks leaves the answers within
/// `interval * fall + 1 s`.
pub fn down_within() -> Duration {
    INTERVAL * FALL + Duration::from_secs(1)
}

/// The same bound for coming back: `interval * rise + 1 s` after the backend recovers.
pub fn up_within() -> Duration {
    INTERVAL * RISE + Duration::from_secs(1)
}

/// Which path answers UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No XDP: UDP and TCP both reach the daemon's sockets.
    Sockets,
    /// Native XDP on the server's veth: UDP answers with addresses must come from the program.
    Xdp,
}

/// The server and client namespaces, the endpoint addresses on the server's `lo`, the zone
/// file, and in XDP mode the client's pass-through program.
#[derive(Debug)]
pub struct Net {
    pub mode: Mode,
    // Drop order: the program before the interface it is attached to.
    _peer: Option<PeerProgram>,
    pub topo: Topology,
    zone: PathBuf,
    _dir: TempDir,
}

impl Net {
    /// Fails (never skips) without root.
    pub fn new(mode: Mode) -> Result<Self> {
        preflight(&[])?;
        let topo = Topology::new()?;
        for n in 1..=8 {
            let v4 = format!("198.18.60.{n}/32");
            let v6 = format!("2001:db8:60::{n}/128");
            topo.server.ip(&["addr", "add", &v4, "dev", "lo"])?;
            topo.server
                .ip(&["addr", "add", &v6, "dev", "lo", "nodad"])?;
        }
        let peer = match mode {
            Mode::Xdp => Some(PeerProgram::attach(&topo.client)?),
            Mode::Sockets => None,
        };
        let dir = TempDir::new("pools")?;
        let zone = dir.write("lb.example.zone", ZONE)?;
        Ok(Self {
            mode,
            _peer: peer,
            topo,
            zone,
            _dir: dir,
        })
    }

    /// Where the backends run.
    pub fn server_ns(&self) -> &Namespace {
        &self.topo.server
    }

    /// Starts lbdns with the zone and `pools` (the `[[pool]]` tables of a configuration file)
    /// on port 53 of both server addresses, with XDP in [`Mode::Xdp`].
    pub fn serve(&self, pools: &str) -> Result<Lbdns<'_>> {
        let dir = TempDir::new("pools-config")?;
        let config = dir.write("lbdns.toml", pools)?;
        let config = config.to_str().context("UTF-8 temp path")?;
        let mut extra = vec!["--config", config];
        if self.mode == Mode::Xdp {
            extra.extend(["--xdp", Topology::SERVER_IF, "--xdp-mode", "native"]);
        }
        let server = Server::lbdns_with(
            &self.topo,
            &[&self.zone],
            &self.topo.server_addrs(53),
            &extra,
        )?;
        Ok(Lbdns {
            server,
            net: self,
            _config: dir,
        })
    }
}

/// A running daemon and the ways to ask it.
#[derive(Debug)]
pub struct Lbdns<'n> {
    server: Server,
    net: &'n Net,
    _config: TempDir,
}

/// Bound on one UDP or TCP exchange inside the namespaces; replies take microseconds.
const QUERY_TIMEOUT: Duration = Duration::from_secs(1);
/// Bound on one `lbdns stats|status|drain` call.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between observations while waiting for a change.
const POLL: Duration = Duration::from_millis(50);

fn next_id() -> u16 {
    static ID: AtomicU16 = AtomicU16::new(0x6000);
    ID.fetch_add(1, Ordering::Relaxed)
}

impl Lbdns<'_> {
    pub fn mode(&self) -> Mode {
        self.net.mode
    }

    pub fn net(&self) -> &Net {
        self.net
    }

    /// The server address a query of `qtype` goes to: IPv4 for A, IPv6 for AAAA, so that both
    /// transports are used.
    pub fn server_for(&self, qtype: u16) -> SocketAddr {
        match qtype {
            rtype::AAAA => self.net.topo.server_v6_addr(53),
            _ => self.net.topo.server_v4_addr(53),
        }
    }

    /// One query over UDP through the veth and, in [`Mode::Xdp`], how the program's counters
    /// moved meanwhile.
    fn udp_observed(
        &self,
        name: &str,
        qtype: u16,
    ) -> Result<(Message, Option<BTreeMap<String, u64>>)> {
        let query = Builder::query(next_id(), name, qtype).build();
        let before = match self.mode() {
            Mode::Xdp => Some(self.counters()?),
            Mode::Sockets => None,
        };
        let reply = udp_query(
            &self.net.topo.client,
            self.server_for(qtype),
            &query,
            QUERY_TIMEOUT,
            3,
        )?;
        let moved = match before {
            Some(before) => Some(moved(&before, &self.counters()?)),
            None => None,
        };
        Ok((reply, moved))
    }

    /// One query over UDP through the veth. In [`Mode::Xdp`] a reply with addresses must have
    /// been sent by the program.
    pub fn udp(&self, name: &str, qtype: u16) -> Result<Message> {
        let (reply, moved) = self.udp_observed(name, qtype)?;
        if let Some(moved) = moved.filter(|m| !reply.answers.is_empty() && !by_xdp(m, qtype)) {
            bail!(
                "UDP {name} type {qtype}: the reply carries addresses but the XDP program did not \
                 answer it (counters moved: {moved:?}; want only {})\n{reply}",
                answered_counter(qtype)
            );
        }
        Ok(reply)
    }

    /// One query over TCP: always the socket path.
    pub fn tcp(&self, name: &str, qtype: u16) -> Result<Message> {
        let query = Builder::query(next_id(), name, qtype).build();
        tcp_query(
            &self.net.topo.client,
            self.server_for(qtype),
            &query,
            QUERY_TIMEOUT,
        )
    }

    /// What UDP and TCP answer now, in that order; in [`Mode::Xdp`] the UDP reply, if it
    /// carries addresses, must come from the program.
    pub fn ask(&self, name: &str, qtype: u16) -> Result<[Answer; 2]> {
        let seen = self.observe(name, qtype)?;
        if let Some(moved) = seen.passed {
            bail!(
                "UDP {name} type {qtype} answered {} but the XDP program did not send it \
                 (counters moved: {moved:?}; want only {})",
                seen.udp,
                answered_counter(qtype)
            );
        }
        Ok([seen.udp, seen.tcp])
    }

    /// [`Lbdns::ask`], except that a UDP reply with addresses sent by the socket path is
    /// returned, with the counters that moved, rather than refused.
    fn observe(&self, name: &str, qtype: u16) -> Result<Observation> {
        let (udp, moved) = self.udp_observed(name, qtype)?;
        let passed = moved.filter(|m| !udp.answers.is_empty() && !by_xdp(m, qtype));
        let udp = read_answer(&udp, name, qtype).context("UDP")?;
        let tcp = self.tcp(name, qtype)?;
        let tcp = read_answer(&tcp, name, qtype).context("TCP")?;
        Ok(Observation { udp, tcp, passed })
    }

    /// Both transports answer `want`, three times over.
    pub fn expect(&self, name: &str, qtype: u16, want: &Answer) -> Result<()> {
        for _ in 0..3 {
            let seen = self.ask(name, qtype)?;
            ensure!(
                seen.iter().all(|a| a == want),
                "{name} type {qtype}: UDP answered {}, TCP {}; want {want}\n{}",
                seen[0],
                seen[1],
                self.diagnostics()
            );
        }
        Ok(())
    }

    /// Polls until both transports answer `to`, failing if that takes longer than `within`
    /// (counted from the call, made right after `event`) or if anything but `from` or `to` is
    /// ever answered: a change replaces the answer set whole.
    ///
    /// In [`Mode::Xdp`] the change is complete only once the program itself answers `to` (when
    /// `to` has addresses). Until then the socket path may answer UDP: the daemon updates it
    /// first and the maps next, and a name that was NODATA has no answer set in the maps, so
    /// the program passes its queries until the publish.
    pub fn wait_change(
        &self,
        name: &str,
        qtype: u16,
        (from, to): (&Answer, &Answer),
        within: Duration,
        event: &str,
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            let seen = self.observe(name, qtype)?;
            for (transport, answer) in [("UDP", &seen.udp), ("TCP", &seen.tcp)] {
                ensure!(
                    answer == from || answer == to,
                    "after {event}: {transport} {name} type {qtype} answered {answer}, which is \
                     neither the old answer {from} nor the new {to}\n{}",
                    self.diagnostics()
                );
            }
            let changed = seen.udp == *to && seen.tcp == *to;
            if changed && seen.passed.is_none() {
                return Ok(());
            }
            if start.elapsed() > within {
                let udp_sender = match &seen.passed {
                    Some(moved) => format!(" (sent by the socket path: counters moved {moved:?})"),
                    None => String::new(),
                };
                bail!(
                    "after {event}: {name} type {qtype} answered UDP {}{udp_sender} / TCP {} \
                     after {:?}; want {to}{} within {within:?}\n{}",
                    seen.udp,
                    seen.tcp,
                    start.elapsed(),
                    if self.mode() == Mode::Xdp {
                        ", over UDP from the XDP program,"
                    } else {
                        ""
                    },
                    self.diagnostics()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// `lbdns ARGS --control <this daemon's socket>`, whatever its exit status.
    pub fn lbdns(&self, args: &[&str]) -> Result<Output> {
        let control = self.server.control_socket().context("an lbdns server")?;
        run_bounded(
            Command::new(lbdns_bin()?)
                .args(args)
                .arg("--control")
                .arg(control),
            CONTROL_TIMEOUT,
        )
    }

    /// The XDP counters, by name.
    pub fn counters(&self) -> Result<BTreeMap<String, u64>> {
        let control = self.server.control_socket().context("an lbdns server")?;
        let out = run_ok(
            Command::new(lbdns_bin()?)
                .arg("stats")
                .arg("--control")
                .arg(control),
            CONTROL_TIMEOUT,
        )?;
        Ok(out
            .stdout
            .lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(' ')?;
                Some((name.to_owned(), value.trim().parse().ok()?))
            })
            .filter(|(name, _)| name.starts_with("answered_") || name.starts_with("pass_"))
            .collect())
    }

    /// Endpoint address → (up, drained), as `lbdns status` shows them.
    pub fn endpoints(&self) -> Result<BTreeMap<IpAddr, (bool, bool)>> {
        let out = self.lbdns(&["status"])?;
        ensure!(out.status.success(), "lbdns status: {}", out.combined());
        Ok(out
            .stdout
            .lines()
            .filter_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                let address = words.first()?.parse().ok()?;
                Some((
                    address,
                    (words.get(3)? == &"up", words.get(4)? == &"drained"),
                ))
            })
            .collect())
    }

    /// Polls `lbdns status` until every address in `down` is down, bounded like an answer.
    pub fn wait_down(&self, down: &[&str], event: &str) -> Result<()> {
        let start = Instant::now();
        loop {
            let states = self.endpoints()?;
            if down
                .iter()
                .all(|a| states.get(&ip(a)).is_some_and(|s| !s.0))
            {
                return Ok(());
            }
            if start.elapsed() > down_within() {
                bail!(
                    "after {event}: {down:?} not all down in `lbdns status` after {:?}\n{}",
                    start.elapsed(),
                    self.diagnostics()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// `lbdns status` and the end of the daemon's log, for failure messages.
    pub fn diagnostics(&self) -> String {
        let status = self
            .lbdns(&["status"])
            .map_or_else(|e| format!("{e:#}"), |o| o.combined());
        let log = self.server.stderr();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- lbdns status ---\n{status}--- end of the lbdns log ---\n{tail}")
    }
}

/// One observation of [`Lbdns::observe`].
#[derive(Debug)]
struct Observation {
    udp: Answer,
    tcp: Answer,
    /// In [`Mode::Xdp`]: the counters that moved when the UDP reply carried addresses but the
    /// program did not send it.
    passed: Option<BTreeMap<String, u64>>,
}
