//! Geo pools and EDNS Client Subnet end to end, on loopback: `lbdns serve` on 127.0.0.1 and a
//! free port, its `[geo]` map placing 127.0.2.0/24, 127.0.3.0/24 and 127.0.3.128/25 in three
//! locations, so that clients sending from different 127.0.x.y addresses are different
//! clients. kdig's `+subnet=` steers by ECS and the reply's scope is checked; TCP backends on
//! 127.0.4.x are the health checks' targets, stopped to move a location's clients to its
//! fallback. `mmdb` reads real and generated MaxMind-format databases.
//!
//! Endpoint addresses are 198.18.0.0/15 and 2001:db8::/32 and are never contacted; only
//! loopback carries traffic. Needs the `lbdns` binary (`cargo xtask test` builds it) and
//! kdig; without them the tests fail and say so.

mod mmdb;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::env::{free_loopback_port, run_ok};
use lbdns_tests::wire::{rtype, Builder, Message};
use lbdns_tests::{lbdns_bin, TempDir};

/// The zone the pools live in; `ns` is plain zone data, the same for every client.
const ZONE: &str = "$ORIGIN geo.example.\n$TTL 60\n\
    @ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\n";

/// Check timing: short, so that a location goes down in about a second.
const INTERVAL: Duration = Duration::from_millis(200);
const FALL: u32 = 3;
const RISE: u32 = 2;

/// Bound on start-up, and on one control command.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on one UDP exchange on loopback.
const QUERY_TIMEOUT: Duration = Duration::from_millis(500);
const POLL: Duration = Duration::from_millis(50);

/// `lbdns serve` with a zone and a configuration, on 127.0.0.1; stopped on drop.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    pub port: u16,
    control: PathBuf,
    config: PathBuf,
    dir: TempDir,
}

impl Daemon {
    /// Starts the daemon with `config` (the file's text) and waits until it answers.
    pub fn start(config: &str) -> Result<Self> {
        let bin = lbdns_bin()?;
        let dir = TempDir::new("geo")?;
        let zone = dir.write("geo.example.zone", ZONE)?;
        let config_path = dir.write("lbdns.toml", config)?;
        let control = dir.path().join("control.sock");
        let port = free_loopback_port()?;
        let stderr = std::fs::File::create(dir.path().join("stderr.log"))?;
        let child = Command::new(&bin)
            .arg("serve")
            .arg("--zone")
            .arg(&zone)
            .arg("--config")
            .arg(&config_path)
            .arg("--control")
            .arg(&control)
            .args(["--xdp-pin-dir", "none", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let mut daemon = Self {
            child,
            port,
            control,
            config: config_path,
            dir,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = daemon.child.try_wait()? {
                bail!("lbdns exited with {status}: {}", daemon.stderr());
            }
            let probe = Builder::query(1, "geo.example", rtype::SOA).build();
            if exchange(Ipv4Addr::LOCALHOST, port, &probe).is_ok() {
                return Ok(daemon);
            }
            ensure!(
                Instant::now() < deadline,
                "lbdns did not answer within {READY_TIMEOUT:?}: {}",
                daemon.stderr()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Runs `lbdns ARGS --control <socket>` and returns its output.
    pub fn control(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(lbdns_bin()?);
        cmd.args(args).arg("--control").arg(&self.control);
        Ok(run_ok(&mut cmd, COMMAND_TIMEOUT)?.stdout)
    }

    /// Replaces the configuration file and reloads it.
    pub fn reload(&self, config: &str) -> Result<String> {
        std::fs::write(&self.config, config)?;
        self.control(&["reload"])
    }

    /// The reply to `qname`/`qtype` sent from `from` with the OPT `options`.
    pub fn ask(&self, from: Ipv4Addr, qname: &str, qtype: u16, options: &[u8]) -> Result<Message> {
        static ID: AtomicU16 = AtomicU16::new(0x4000);
        let id = ID.fetch_add(1, Ordering::Relaxed);
        let query = Builder::query(id, qname, qtype)
            .opt(&[0], 1232, 0, 0, options)
            .build();
        let reply = exchange(from, self.port, &query)?;
        let message = Message::parse(&reply)?;
        ensure!(message.header.id == id, "a reply to another query");
        Ok(message)
    }

    /// The set of addresses `from` is answered with for `qname`/`qtype`.
    pub fn answer(&self, from: Ipv4Addr, qname: &str, qtype: u16) -> Result<BTreeSet<IpAddr>> {
        Ok(self
            .ask(from, qname, qtype, &[])?
            .answer_ips()
            .into_iter()
            .collect())
    }

    /// Polls until `from` is answered with `expected`; fails after `within`, saying what it
    /// saw last.
    pub fn wait_for(
        &self,
        from: Ipv4Addr,
        qname: &str,
        expected: &BTreeSet<IpAddr>,
        within: Duration,
        event: &str,
    ) -> Result<Duration> {
        let start = Instant::now();
        loop {
            let seen = self.answer(from, qname, rtype::A)?;
            if &seen == expected {
                return Ok(start.elapsed());
            }
            ensure!(
                start.elapsed() < within,
                "{event}: {from} still answered {seen:?} after {within:?}, expected {expected:?}"
            );
            thread::sleep(POLL);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One UDP exchange on loopback from `from`, retried twice.
fn exchange(from: Ipv4Addr, port: u16, query: &[u8]) -> Result<Vec<u8>> {
    let socket = UdpSocket::bind((from, 0)).with_context(|| format!("binding {from}"))?;
    socket.set_read_timeout(Some(QUERY_TIMEOUT))?;
    let mut buf = [0u8; 4096];
    for _ in 0..3 {
        socket.send_to(query, (Ipv4Addr::LOCALHOST, port))?;
        if let Ok((len, _)) = socket.recv_from(&mut buf) {
            return Ok(buf[..len].to_vec());
        }
    }
    bail!("no reply from 127.0.0.1:{port} to {from}")
}

/// A TCP listener that accepts and closes connections, for `type = "tcp"` checks; closed by
/// `stop` (probes are refused) and opened again by `restart`.
#[derive(Debug)]
pub struct Backend {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    pub fn start(address: SocketAddr) -> Result<Self> {
        let mut backend = Self {
            address,
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        backend.open()?;
        Ok(backend)
    }

    fn open(&mut self) -> Result<()> {
        let listener = TcpListener::bind(self.address)
            .with_context(|| format!("binding backend {}", self.address))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        self.stop = stop.clone();
        self.thread = Some(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => drop(stream),
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
        Ok(())
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.open()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("a literal address")
}

pub fn addrs(list: &[&str]) -> BTreeSet<IpAddr> {
    list.iter().map(|a| ip(a)).collect()
}

/// Clients in each location: eu, us, ap (inside us's /24), and one in none.
const EU_CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 2, 9);
const US_CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 3, 9);
const AP_CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 3, 200);
const UNMAPPED: Ipv4Addr = Ipv4Addr::LOCALHOST;

const WWW: &str = "www.geo.example";

/// Three locations (eu falls back to us, ap to eu), the subnets that place the loopback
/// clients and ECS addresses, and a geo pool whose endpoints are checked through backends on
/// 127.0.4.1-4 at `check_port`.
fn config(check_port: u16, us_subnet: &str) -> String {
    format!(
        r#"[geo]
[[geo.location]]
name = "eu"
fallback = ["us"]
[[geo.location]]
name = "us"
[[geo.location]]
name = "ap"
fallback = ["eu"]
[[geo.subnet]]
prefix = "127.0.2.0/24"
location = "eu"
[[geo.subnet]]
prefix = "{us_subnet}"
location = "us"
[[geo.subnet]]
prefix = "127.0.3.128/25"
location = "ap"
[[geo.subnet]]
prefix = "198.18.0.0/16"
location = "eu"
[[geo.subnet]]
prefix = "198.18.7.0/24"
location = "us"
[[geo.subnet]]
prefix = "2001:db8:ab::/48"
location = "ap"

[[pool]]
name = "www.geo.example."
ttl = 5
policy = "geo"
[pool.check]
type = "tcp"
port = {check_port}
interval = "200ms"
timeout = "100ms"
rise = {RISE}
fall = {FALL}
[[pool.endpoint]]
address = "198.18.70.1"
location = "eu"
check_address = "127.0.4.1"
[[pool.endpoint]]
address = "198.18.70.2"
location = "eu"
check_address = "127.0.4.2"
[[pool.endpoint]]
address = "2001:db8:70::1"
location = "eu"
check_address = "127.0.4.1"
[[pool.endpoint]]
address = "198.18.71.1"
location = "us"
check_address = "127.0.4.3"
[[pool.endpoint]]
address = "198.18.72.1"
location = "ap"
check_address = "127.0.4.4"
"#
    )
}

/// The backends of the four checked endpoints, all up.
fn backends(port: u16) -> Result<Vec<Backend>> {
    (1..=4)
        .map(|n| Backend::start(SocketAddr::new(ip(&format!("127.0.4.{n}")), port)))
        .collect()
}

#[test]
fn clients_in_mapped_subnets_get_their_own_locations_endpoints() -> Result<()> {
    let port = free_loopback_port()?;
    let _backends = backends(port)?;
    let lbdns = Daemon::start(&config(port, "127.0.3.0/24"))?;
    let eu = addrs(&["198.18.70.1", "198.18.70.2"]);
    assert_eq!(lbdns.answer(EU_CLIENT, WWW, rtype::A)?, eu);
    assert_eq!(
        lbdns.answer(US_CLIENT, WWW, rtype::A)?,
        addrs(&["198.18.71.1"])
    );
    assert_eq!(
        lbdns.answer(AP_CLIENT, WWW, rtype::A)?,
        addrs(&["198.18.72.1"])
    );
    assert_eq!(
        lbdns.answer(EU_CLIENT, WWW, rtype::AAAA)?,
        addrs(&["2001:db8:70::1"])
    );
    // us has no AAAA endpoint and no fallback: any healthy one, eu's.
    assert_eq!(
        lbdns.answer(US_CLIENT, WWW, rtype::AAAA)?,
        addrs(&["2001:db8:70::1"])
    );
    // No default location: every healthy endpoint.
    let all = addrs(&["198.18.70.1", "198.18.70.2", "198.18.71.1", "198.18.72.1"]);
    assert_eq!(lbdns.answer(UNMAPPED, WWW, rtype::A)?, all);
    // RFC 7871 §7.2.1: no ECS in the query, none in the reply, though the answer is tailored.
    let reply = lbdns.ask(EU_CLIENT, WWW, rtype::A, &[])?;
    ensure!(reply
        .additional
        .iter()
        .all(|r| r.rtype != rtype::OPT || r.rdata.is_empty()));

    let status = lbdns.control(&["status"])?;
    for line in [
        "location eu",
        "answers A 198.18.70.1 198.18.70.2 AAAA 2001:db8:70::1",
        "location=ap",
        "unmapped",
    ] {
        ensure!(status.contains(line), "status lacks {line:?}:\n{status}");
    }

    // SIGHUP's reload (here the control socket's) applies a changed map.
    lbdns.reload(&config(port, "127.0.5.0/24"))?;
    // 127.0.3.9 is now in no subnet: every healthy endpoint; 127.0.3.200 still ap.
    assert_eq!(lbdns.answer(US_CLIENT, WWW, rtype::A)?, all);
    assert_eq!(
        lbdns.answer(AP_CLIENT, WWW, rtype::A)?,
        addrs(&["198.18.72.1"])
    );
    Ok(())
}

#[test]
fn a_locations_backends_stopping_moves_its_clients_to_the_fallback() -> Result<()> {
    let port = free_loopback_port()?;
    let mut backends = backends(port)?;
    let lbdns = Daemon::start(&config(port, "127.0.3.0/24"))?;
    let eu = addrs(&["198.18.70.1", "198.18.70.2"]);
    let us = addrs(&["198.18.71.1"]);
    let ap = addrs(&["198.18.72.1"]);
    lbdns.wait_for(EU_CLIENT, WWW, &eu, READY_TIMEOUT, "start")?;
    let down_within = INTERVAL * FALL + Duration::from_secs(1);
    let up_within = INTERVAL * RISE + Duration::from_secs(1);

    backends[0].stop();
    backends[1].stop();
    lbdns.wait_for(EU_CLIENT, WWW, &us, down_within, "eu's backends stopped")?;
    // ap is unaffected; its fallback (eu) is not needed.
    assert_eq!(lbdns.answer(AP_CLIENT, WWW, rtype::A)?, ap);

    backends[3].stop();
    // ap falls to eu, which has nothing, then to eu's fallback us.
    lbdns.wait_for(AP_CLIENT, WWW, &us, down_within, "ap's backend stopped too")?;

    backends[0].restart()?;
    backends[1].restart()?;
    lbdns.wait_for(EU_CLIENT, WWW, &eu, up_within, "eu's backends back")?;
    lbdns.wait_for(AP_CLIENT, WWW, &eu, up_within, "eu back, ap still down")?;
    Ok(())
}

/// kdig's view of a reply: the addresses answered and the CLIENT-SUBNET line, if any.
fn kdig(
    port: u16,
    qname: &str,
    qtype: &str,
    subnet: &str,
) -> Result<(BTreeSet<IpAddr>, Option<String>)> {
    let mut cmd = Command::new("kdig");
    cmd.args([
        "@127.0.0.1",
        "-p",
        &port.to_string(),
        "+timeout=1",
        "+retry=1",
    ])
    .arg(format!("+subnet={subnet}"))
    .args([qname, qtype]);
    let out =
        run_ok(&mut cmd, COMMAND_TIMEOUT).context("kdig (knot-dnsutils) must be installed")?;
    let ips = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with(';'))
        .filter_map(|l| l.split_whitespace().last()?.parse().ok())
        .collect();
    let ecs = out.stdout.lines().find_map(|l| {
        l.split_once("CLIENT-SUBNET: ")
            .map(|(_, s)| s.trim().to_owned())
    });
    Ok((ips, ecs))
}

#[test]
fn rfc7871_kdig_subnet_steers_and_the_scope_is_the_maps_piece() -> Result<()> {
    let port = free_loopback_port()?;
    let _backends = backends(port)?;
    let lbdns = Daemon::start(&config(port, "127.0.3.0/24"))?;
    let check = |subnet: &str, qtype: &str, expected: &[&str], scope: &str| -> Result<()> {
        let (ips, ecs) = kdig(lbdns.port, WWW, qtype, subnet)?;
        ensure!(ips == addrs(expected), "+subnet={subnet}: answered {ips:?}");
        ensure!(
            ecs.as_deref() == Some(scope),
            "+subnet={subnet}: CLIENT-SUBNET {ecs:?}, expected {scope}"
        );
        Ok(())
    };
    // The /24 override inside eu's /16: us at scope 24.
    check("198.18.7.0/24", "A", &["198.18.71.1"], "198.18.7.0/24/24")?;
    // Next to it, eu's /16 holds only at /24 (deaggregated) ...
    check(
        "198.18.6.0/24",
        "A",
        &["198.18.70.1", "198.18.70.2"],
        "198.18.6.0/24/24",
    )?;
    // ... and at /17 far from it: shorter than the source.
    check(
        "198.18.200.0/24",
        "A",
        &["198.18.70.1", "198.18.70.2"],
        "198.18.200.0/24/17",
    )?;
    // A /16 source inside eu: a scope longer than the source, asking for more bits.
    check(
        "198.18.0.0/16",
        "A",
        &["198.18.70.1", "198.18.70.2"],
        "198.18.0.0/16/22",
    )?;
    // IPv6 within the /56 cap.
    check(
        "2001:db8:ab::/48",
        "A",
        &["198.18.72.1"],
        "2001:db8:ab::/48/48",
    )?;
    // Source prefix 0: the resolver's own address (unmapped 127.0.0.1) and scope 0.
    let all = ["198.18.70.1", "198.18.70.2", "198.18.71.1", "198.18.72.1"];
    check("0.0.0.0/0", "A", &all, "0.0.0.0/0/0")?;
    // A name that does not vary by location: scope 0.
    let (ips, ecs) = kdig(lbdns.port, "ns.geo.example", "A", "198.18.7.0/24")?;
    ensure!(
        ips == addrs(&["198.18.0.53"]) && ecs.as_deref() == Some("198.18.7.0/24/0"),
        "{ecs:?}"
    );
    // Malformed (family 3): FORMERR.
    let reply = lbdns.ask(UNMAPPED, WWW, rtype::A, &[0, 8, 0, 4, 0, 3, 0, 0])?;
    ensure!(reply.rcode() == 1 && reply.answers.is_empty(), "{reply}");
    Ok(())
}

#[test]
fn lbdns_check_names_the_line_of_geo_errors() -> Result<()> {
    let dir = TempDir::new("geo-check")?;
    let zone = dir.write("geo.example.zone", ZONE)?;
    let bad = config(9, "127.0.3.0/24").replace(
        "location = \"ap\"\ncheck_address",
        "location = \"mars\"\ncheck_address",
    );
    let path = dir.write("lbdns.toml", &bad)?;
    let out = lbdns_tests::run_bounded(
        Command::new(lbdns_bin()?)
            .arg("check")
            .arg("--zone")
            .arg(&zone)
            .arg("--config")
            .arg(&path),
        COMMAND_TIMEOUT,
    )?;
    let line = 1 + bad[..bad.find("\"mars\"").unwrap()].matches('\n').count();
    let expected = format!(
        "{}:{line}: pool.endpoint.location: no [[geo.location]] is named \"mars\"",
        path.display()
    );
    ensure!(
        !out.status.success() && out.combined().contains(&expected),
        "{}",
        out.combined()
    );
    let good = dir.write("good.toml", &config(9, "127.0.3.0/24"))?;
    let out = lbdns_tests::run_bounded(
        Command::new(lbdns_bin()?)
            .arg("check")
            .arg("--zone")
            .arg(&zone)
            .arg("--config")
            .arg(&good),
        COMMAND_TIMEOUT,
    )?;
    ensure!(
        out.status.success() && out.stdout.contains("geo: 3 locations"),
        "{}",
        out.combined()
    );
    Ok(())
}

/// Where downloaded and generated test data is kept between runs: `target/geo-data`.
pub fn cache_dir() -> Result<PathBuf> {
    let dir = lbdns_tests::workspace_root()
        .join("target")
        .join("geo-data");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The path as UTF-8, for a configuration file.
pub fn utf8(path: &Path) -> Result<&str> {
    path.to_str().context("a UTF-8 path")
}
