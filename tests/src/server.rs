//! A DNS server process (lbdns, or NSD as a reference) running inside a namespace.
//!
//! [`Server::spawn`] returns only once the server answers a probe query over UDP and accepts
//! TCP connections on every listen address, probed from the *client* namespace so that the
//! whole path (veth, neighbour discovery, any XDP program) is ready; lbdns with `--xdp` also
//! only once it logs that the fast path serves. The process's stderr goes
//! to a file so it can be quoted in failure messages, and the process is terminated on drop.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::client::{udp_exchange, TcpConn};
use crate::env::{example_zone, lbdns_bin, run_ok, TempDir};
use crate::netns::{Namespace, Topology};
use crate::unprivileged::User;
use crate::wire::{rtype, Builder, Header};

/// Bound on one `lbdns` control command; they answer in milliseconds, a reload in seconds.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// Generous bound on start-up; only exceeded when the server is broken or wedged.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// What lbdns logs once the XDP fast path serves.
const XDP_READY: &str = "XDP fast path ready";
/// Bound on a graceful stop before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server process, killed on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    label: String,
    stderr_path: PathBuf,
    exited: Option<ExitStatus>,
    /// Holds the logs (and configs) until the server is gone.
    keep: Vec<TempDir>,
    /// lbdns's control socket, for `lbdns stats --control`.
    control: Option<PathBuf>,
}

impl Server {
    /// Spawns `cmd` (already wrapped to run in the server namespace, e.g. via
    /// [`Namespace::command`]) and waits until every address in `probes` answers a UDP query
    /// for `probe_qname`/SOA (any response with the probe's ID counts, even REFUSED) and
    /// accepts a TCP connection, probing from `probe_from`.
    pub fn spawn(
        label: &str,
        mut cmd: Command,
        probe_from: &Namespace,
        probes: &[SocketAddr],
        probe_qname: &str,
    ) -> Result<Self> {
        let dir = TempDir::new(label)?;
        let stderr_path = dir.path().join("stderr.log");
        let stdout = File::create(dir.path().join("stdout.log"))?;
        let stderr = File::create(&stderr_path)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .spawn()
            .with_context(|| format!("spawning {label}: {cmd:?}"))?;
        let mut server = Self {
            child,
            label: label.to_string(),
            stderr_path,
            exited: None,
            keep: vec![dir],
            control: None,
        };
        server
            .wait_ready(probe_from, probes, probe_qname)
            .with_context(|| format!("{label} ({cmd:?}) did not become ready"))?;
        Ok(server)
    }

    fn wait_ready(&mut self, from: &Namespace, probes: &[SocketAddr], qname: &str) -> Result<()> {
        static PROBE_ID: AtomicU16 = AtomicU16::new(0x5000);
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut pending: Vec<SocketAddr> = probes.to_vec();
        let mut last_err = String::from("no probe sent yet");
        // Bounded by the deadline; each round sleeps or waits at least 100 ms.
        while !pending.is_empty() {
            self.fail_if_exited("answering")?;
            if Instant::now() >= deadline {
                bail!(
                    "{} did not answer on {pending:?} within {READY_TIMEOUT:?} (last: {last_err}); stderr:\n{}",
                    self.label,
                    self.stderr()
                );
            }
            let addr = pending[0];
            let id = PROBE_ID.fetch_add(1, Ordering::Relaxed);
            let q = Builder::query(id, qname, rtype::SOA).build();
            match udp_exchange(from, addr, &q, Duration::from_millis(200)) {
                Ok(Some(r)) if Header::parse(&r).is_some_and(|h| h.id == id && h.qr()) => {
                    match TcpConn::connect(from, addr, Duration::from_millis(500)) {
                        Ok(_) => {
                            pending.remove(0);
                            continue;
                        }
                        Err(e) => last_err = format!("TCP {addr}: {e:#}"),
                    }
                }
                Ok(Some(r)) => last_err = format!("UDP {addr}: unexpected reply {r:02x?}"),
                Ok(None) => last_err = format!("UDP {addr}: no reply"),
                Err(e) => last_err = format!("UDP {addr}: {e:#}"),
            }
            thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Starts `lbdns serve` in the topology's server namespace with `zones`, listening on
    /// `listen`, and waits for it from the client namespace.
    pub fn lbdns(topo: &Topology, zones: &[&Path], listen: &[SocketAddr]) -> Result<Self> {
        Self::lbdns_with(topo, zones, listen, &[])
    }

    /// [`Server::lbdns`] with extra `serve` arguments (e.g. an XDP interface option, for
    /// which [`Topology::SERVER_IF`] names the server's veth end).
    pub fn lbdns_with(
        topo: &Topology,
        zones: &[&Path],
        listen: &[SocketAddr],
        extra: &[&str],
    ) -> Result<Self> {
        Self::lbdns_probed(topo, zones, listen, listen, extra)
    }

    /// [`Server::lbdns_with`], waiting for `probes` rather than the listen addresses: for a
    /// wildcard listen, or none (`serve`'s default), which the client cannot address.
    pub fn lbdns_probed(
        topo: &Topology,
        zones: &[&Path],
        listen: &[SocketAddr],
        probes: &[SocketAddr],
        extra: &[&str],
    ) -> Result<Self> {
        Self::lbdns_launched(topo, None, zones, listen, probes, extra)
    }

    /// [`Server::lbdns_with`] as `user`, whose only capabilities are `caps` (setpriv's
    /// names).
    pub fn lbdns_as(
        topo: &Topology,
        user: (&User, &[&str]),
        zones: &[&Path],
        listen: &[SocketAddr],
        extra: &[&str],
    ) -> Result<Self> {
        Self::lbdns_launched(topo, Some(user), zones, listen, listen, extra)
    }

    fn lbdns_launched(
        topo: &Topology,
        user: Option<(&User, &[&str])>,
        zones: &[&Path],
        listen: &[SocketAddr],
        probes: &[SocketAddr],
        extra: &[&str],
    ) -> Result<Self> {
        let mut cmd = match user {
            None => topo.server.command(lbdns_bin()?),
            Some((user, caps)) => user.command(&topo.server, caps, &lbdns_bin()?),
        };
        cmd.arg("serve").args(extra);
        // Every suite names its server's veth end alike: pinned under the default directory,
        // concurrent daemons would adopt each other's maps. The restart suite pins in a bpffs
        // of its own.
        if extra.contains(&"--xdp") && !extra.contains(&"--xdp-pin-dir") {
            cmd.args(["--xdp-pin-dir", "none"]);
        }
        for z in zones {
            cmd.arg("--zone").arg(z);
        }
        for l in listen {
            cmd.arg("--listen").arg(l.to_string());
        }
        // Namespaces do not separate the file system: each daemon needs its own control
        // socket, or concurrent tests would find "another lbdns is running". A caller that
        // names one (a restart: the new daemon takes over from the one using it) keeps it.
        let control_dir = TempDir::new("lbdns-control")?;
        if let Some((user, _)) = user {
            user.give(control_dir.path())?;
        }
        let control = match extra.iter().position(|arg| *arg == "--control") {
            Some(at) => PathBuf::from(extra.get(at + 1).context("--control without a path")?),
            None => {
                let control = control_dir.path().join("control.sock");
                cmd.arg("--control").arg(&control);
                control
            }
        };
        // Debug logs make failure messages useful; the caller's RUST_LOG wins.
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "debug");
        }
        // The log goes to a file that is quoted in failure messages: no ANSI colour codes.
        cmd.env("NO_COLOR", "1");
        let probe = zones
            .first()
            .map_or_else(|| ".".to_string(), |z| zone_origin(z));
        let mut server = Self::spawn("lbdns", cmd, &topo.client, probes, &probe)?;
        server.keep.push(control_dir);
        server.control = Some(control);
        // The sockets answer while the XDP maps fill; tests of the fast path must meet it.
        if extra.contains(&"--xdp") {
            server.wait_for_log(XDP_READY)?;
        }
        Ok(server)
    }

    /// Fails, quoting the server's stderr, if it has exited before `what`.
    fn fail_if_exited(&mut self, what: &str) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            self.exited = Some(status);
            bail!(
                "{} exited with {status} before {what}; stderr:\n{}",
                self.label,
                self.stderr()
            );
        }
        Ok(())
    }

    /// Waits until the server's log has a line containing `text`.
    fn wait_for_log(&mut self, text: &str) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        // Bounded by the deadline; each round sleeps 20 ms.
        while !self.stderr().contains(text) {
            self.fail_if_exited(&format!("logging {text:?}"))?;
            if Instant::now() >= deadline {
                bail!(
                    "{} did not log {text:?} within {READY_TIMEOUT:?}; stderr:\n{}",
                    self.label,
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// The control socket of an lbdns server (None for other servers).
    pub fn control_socket(&self) -> Option<&Path> {
        self.control.as_deref()
    }

    /// Runs `lbdns <args> --control <this server's socket>` (`status`, `reload`, `stats`, …)
    /// and returns its standard output; an error if this is no lbdns server or it fails.
    pub fn control(&self, args: &[&str]) -> Result<String> {
        let control = self
            .control_socket()
            .context("only an lbdns server has a control socket")?;
        let out = run_ok(
            Command::new(lbdns_bin()?)
                .args(args)
                .arg("--control")
                .arg(control),
            CONTROL_TIMEOUT,
        )?;
        Ok(out.stdout)
    }

    /// `lbdns stats` of this server: every counter by its name.
    pub fn stats(&self) -> Result<BTreeMap<String, u64>> {
        Ok(self
            .control(&["stats"])?
            .lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(' ')?;
                Some((name.to_owned(), value.trim().parse().ok()?))
            })
            .collect())
    }

    /// lbdns serving `zones/example.com.zone` on port 53 of both server addresses.
    pub fn lbdns_example(topo: &Topology) -> Result<Self> {
        Self::lbdns(topo, &[&example_zone()], &topo.server_addrs(53))
    }

    /// Starts NSD (the reference implementation) in the topology's server namespace serving
    /// `zones` (origin, file) on `listen`, with round-robin rotation enabled.
    pub fn nsd(topo: &Topology, zones: &[(&str, &Path)], listen: &[SocketAddr]) -> Result<Self> {
        let dir = TempDir::new("nsd-conf")?;
        let d = dir.path().display();
        let mut conf = format!(
            "server:\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  \
             username: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  \
             rrl-ratelimit: 0\n  round-robin: yes\n  server-count: 1\n  verbosity: 1\n"
        );
        for l in listen {
            conf.push_str(&format!("  ip-address: {}@{}\n", l.ip(), l.port()));
        }
        conf.push_str("remote-control:\n  control-enable: no\n");
        for (origin, file) in zones {
            let abs = std::fs::canonicalize(file)
                .with_context(|| format!("zone file {}", file.display()))?;
            conf.push_str(&format!(
                "zone:\n  name: \"{origin}\"\n  zonefile: \"{}\"\n",
                abs.display()
            ));
        }
        let conf_path = dir.write("nsd.conf", &conf)?;
        let mut cmd = topo.server.command("nsd");
        cmd.arg("-d").arg("-c").arg(&conf_path);
        let probe = zones.first().map_or(".", |z| z.0);
        let mut server = Self::spawn("nsd", cmd, &topo.client, listen, probe)?;
        // The config directory must outlive the server.
        server.keep.push(dir);
        Ok(server)
    }

    /// NSD serving the example zone on port 53 of both server addresses.
    pub fn nsd_example(topo: &Topology) -> Result<Self> {
        Self::nsd(
            topo,
            &[("example.com.", &example_zone())],
            &topo.server_addrs(53),
        )
    }

    /// The server the suites assert against, serving the example zone on port 53 of both
    /// server addresses: lbdns, or NSD when `LBDNS_TEST_SERVER=nsd`. The override exists only
    /// to validate the suites' expectations against a reference implementation; CI never sets
    /// it.
    pub fn example_under_test(topo: &Topology) -> Result<Self> {
        match std::env::var("LBDNS_TEST_SERVER").as_deref() {
            Ok("nsd") => Self::nsd_example(topo),
            Ok("lbdns") | Err(_) => Self::lbdns_example(topo),
            Ok(other) => bail!("LBDNS_TEST_SERVER={other}: expected `lbdns` or `nsd`"),
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        if self.exited.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.exited = Some(status);
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// Fails with the exit status and stderr if the process has exited.
    pub fn ensure_alive(&mut self) -> Result<()> {
        if self.is_alive() {
            return Ok(());
        }
        bail!(
            "{} is no longer running ({:?}); stderr:\n{}",
            self.label,
            self.exited,
            self.stderr()
        )
    }

    /// Sends `signal` (SIGUSR2: exit for a restart; SIGSTOP, SIGCONT) without waiting.
    pub fn signal(&mut self, signal: libc::c_int) -> Result<()> {
        self.ensure_alive()?;
        // SAFETY: plain kill(2) on our own child, which has not been reaped yet.
        if unsafe { libc::kill(self.child.id() as libc::pid_t, signal) } != 0 {
            bail!("kill {signal}: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits, at most [`STOP_TIMEOUT`], for the process to exit on its own (after SIGUSR2, or
    /// once a new daemon took over); SIGKILL and an error after that.
    pub fn wait_exit(&mut self) -> Result<ExitStatus> {
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.exited.or(self.child.try_wait()?) {
                self.exited = Some(status);
                return Ok(status);
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        self.exited = Some(self.child.wait()?);
        bail!(
            "{} did not exit within {STOP_TIMEOUT:?}; stderr:\n{}",
            self.label,
            self.stderr()
        )
    }

    /// Sends SIGTERM and waits (bounded) for exit; SIGKILL after [`STOP_TIMEOUT`].
    /// Returns the exit status, or an error if it had to be killed.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        if let Some(s) = self.exited {
            return Ok(s);
        }
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child, which has not been reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait()? {
                self.exited = Some(s);
                return Ok(s);
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let s = self.child.wait()?;
        self.exited = Some(s);
        bail!(
            "{} ignored SIGTERM for {STOP_TIMEOUT:?} and was killed",
            self.label
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.stop();
        }
        if thread::panicking() {
            eprintln!("--- {} stderr ---\n{}", self.label, self.stderr());
        }
    }
}

/// The `$ORIGIN` of a zone file (used as the probe name), or `.` when it has none.
fn zone_origin(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let mut it = l.split_whitespace();
                (it.next() == Some("$ORIGIN")).then(|| it.next().map(str::to_string))?
            })
        })
        .unwrap_or_else(|| ".".to_string())
}
