//! The servers under test: how each is configured for the same zone, started in the server
//! namespace, probed until it answers, reloaded and stopped.
//!
//! Every server listens on the server's veth address, port 53, and uses as many workers as the
//! machine has cores. Configuration files go into the session's own directory, so a run can
//! be repeated by hand from what it left behind.

use std::{
    ffi::OsStr,
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use lbdns_tests::{client, wire::Builder};
use serde::Serialize;

use super::{
    interrupt,
    load::tail,
    mixes::ZoneSet,
    netns::{Net, Side},
    progress::Progress,
    usage::{self, Memory},
    xdp::{self, Attached, LookupSizes, Program},
};

/// Loading a million RRsets may take a while; this only bounds a server that never answers.
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// Reloading is bounded the same way.
const RELOAD_TIMEOUT: Duration = START_TIMEOUT;
/// After SIGTERM, how long before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// The last word of lbdns's message for a finished reload ("zones reloaded", "zones and pools
/// reloaded"), which structured fields (`zones=1 pools=0`) may follow.
const RELOADED: &str = "reloaded";
/// What lbdns logs once its XDP maps are full and the program is attached.
const XDP_READY: &str = "XDP fast path ready";
/// What lbdns logs when a reload failed and the old zones stay.
const RELOAD_FAILED: &str = "reload failed";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// lbdns with its XDP program attached in native mode.
    LbdnsXdp,
    /// lbdns answering from its sockets only.
    LbdnsSocket,
    /// bench/ceiling: reflects queries with QR set; no XDP responder can be faster.
    Ceiling,
    /// bench/ceiling's `lookup_floor`: reflects like the ceiling after two dependent reads in
    /// arrays as large as lbdns's name table and answer sets for the zone; no XDP responder that
    /// looks a name up, then its answer, can be faster.
    LookupFloor,
    /// lbdns's `socket_ceiling` example: the socket path's UDP I/O, reflecting queries with QR
    /// set; no server with that I/O can be faster.
    SocketCeiling,
    /// NSD with response rate limiting off.
    Nsd,
    /// Knot DNS over UDP sockets.
    Knot,
    /// Knot DNS in XDP mode (AF_XDP).
    KnotXdp,
    Gdnsd,
}

impl Target {
    pub const ALL: [Target; 9] = [
        Target::LbdnsXdp,
        Target::LbdnsSocket,
        Target::Ceiling,
        Target::LookupFloor,
        Target::SocketCeiling,
        Target::Nsd,
        Target::Knot,
        Target::KnotXdp,
        Target::Gdnsd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::LbdnsXdp => "lbdns-xdp",
            Target::LbdnsSocket => "lbdns-socket",
            Target::Ceiling => "ceiling",
            Target::LookupFloor => "lookup-floor",
            Target::SocketCeiling => "socket-ceiling",
            Target::Nsd => "nsd",
            Target::Knot => "knot",
            Target::KnotXdp => "knot-xdp",
            Target::Gdnsd => "gdnsd",
        }
    }

    /// Whether the target can serve `zones`: only lbdns serves pools, which zone sets with a
    /// configuration have.
    pub fn serves(self, zones: ZoneSet) -> bool {
        zones.config_name().is_none() || matches!(self, Target::LbdnsXdp | Target::LbdnsSocket)
    }

    /// Whether the target reloads on SIGHUP and logs when it is done (lbdns).
    pub fn reloads(self) -> bool {
        matches!(self, Target::LbdnsXdp | Target::LbdnsSocket)
    }

    /// The executable that must be installed; `None` for those the benchmark builds itself.
    fn program(self) -> Option<&'static str> {
        match self {
            Target::LbdnsXdp
            | Target::LbdnsSocket
            | Target::Ceiling
            | Target::LookupFloor
            | Target::SocketCeiling => None,
            Target::Nsd => Some("nsd"),
            Target::Knot | Target::KnotXdp => Some("knotd"),
            Target::Gdnsd => Some("gdnsd"),
        }
    }
}

/// One zone file and its origin (with the trailing dot).
#[derive(Clone, Debug)]
pub struct ZoneFile {
    pub origin: &'static str,
    pub path: PathBuf,
    /// How many A and AAAA RRsets the zone has, when more than lbdns's default XDP maps hold:
    /// the maps are then sized for it, as an operator serving such a zone would.
    pub many_rrsets: Option<u32>,
    /// lbdns's configuration file (pools, geo), for zone sets that need one.
    pub config: Option<PathBuf>,
}

impl ZoneFile {
    /// For a zone of [`ZoneFile::many_rrsets`]: the entries an operator would give lbdns's
    /// name table and A answer sets for it, a name and a slot per RRset with 1/16 spare for
    /// changes (`lbdns serve --help`).
    pub fn xdp_entries(&self) -> Option<u32> {
        self.many_rrsets.map(|rrsets| rrsets + rrsets / 16)
    }
}

/// What starting a target needs.
#[derive(Debug)]
pub struct Context<'a> {
    pub net: &'a Net,
    pub lbdns: &'a Path,
    pub ceiling: &'a Path,
    /// The socket ceiling's executable, when the run measures it.
    pub socket_ceiling: Option<&'a Path>,
    pub zone: &'a ZoneFile,
    /// The session's directory: configuration, state, the server's log.
    pub dir: PathBuf,
}

/// Why a target could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("not installed: no `{0}` on PATH (`cargo xtask setup` installs it)")]
    NotInstalled(&'static str),
    #[error("exited during start-up: {0}")]
    Exited(String),
    #[error("did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A started target: a process in the server namespace, or the ceiling program.
#[derive(Debug)]
pub struct Server {
    process: Option<Child>,
    _program: Option<Attached>,
    log: PathBuf,
    /// From spawning the server (or attaching the program) to its first answer.
    pub ready_after: Duration,
    /// lbdns-xdp: from spawning to the log line saying the fast path serves. lbdns answers
    /// from its sockets while it fills the XDP maps, which for a large zone takes seconds.
    pub xdp_ready_after: Option<Duration>,
}

impl Server {
    /// Starts `target` and waits until it answers an SOA query for the zone from the client.
    pub fn start(
        target: Target,
        cx: &Context<'_>,
        progress: &mut Progress,
    ) -> Result<Self, StartError> {
        if let Some(program) = target.program() {
            if which::which(program).is_err() {
                return Err(StartError::NotInstalled(program));
            }
        }
        fs::create_dir_all(&cx.dir)
            .with_context(|| format!("cannot create {}", cx.dir.display()))?;
        let log = cx.dir.join("server.log");
        progress.phase("starting", START_TIMEOUT);
        let started = Instant::now();
        let program = match target {
            Target::Ceiling => Some(Program::Ceiling),
            Target::LookupFloor => Some(Program::LookupFloor(LookupSizes::for_zone(cx.zone))),
            _ => None,
        };
        let mut server = match program {
            Some(program) => Self {
                process: None,
                _program: Some(Attached::new(cx.net, Side::Server, cx.ceiling, program)?),
                log,
                ready_after: Duration::ZERO,
                xdp_ready_after: None,
            },
            _ => {
                let command = command(target, cx)?;
                Self::spawn(command, log)?
            }
        };
        let ready = server.wait_ready(cx, started, progress).and_then(|()| {
            // Loads must meet the fast path, not the sockets that answer while it fills.
            if target == Target::LbdnsXdp {
                server.xdp_ready_after = Some(server.wait_xdp_ready(started, progress)?);
            }
            Ok(())
        });
        if let Err(error) = ready {
            // A server that never answered may still be running, and holding port 53.
            let _ = server.stop(cx.net);
            return Err(error);
        }
        Ok(server)
    }

    fn spawn(mut command: Command, log: PathBuf) -> Result<Self, StartError> {
        let file =
            fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let process = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().context("cannot share the log file")?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {command:?}"))?;
        Ok(Self {
            process: Some(process),
            _program: None,
            log,
            ready_after: Duration::ZERO,
            xdp_ready_after: None,
        })
    }

    fn wait_ready(
        &mut self,
        cx: &Context<'_>,
        started: Instant,
        progress: &mut Progress,
    ) -> Result<(), StartError> {
        let server = std::net::SocketAddr::from((cx.net.server_v4(), 53));
        let socket = client::udp_socket(cx.net.client(), server)?;
        let query = Builder::query(0x1d05, cx.zone.origin, 6).build();
        loop {
            interrupt::check().map_err(anyhow::Error::from)?;
            if let Some(status) = self.exited()? {
                return Err(StartError::Exited(format!("{status}: {}", self.log_tail())));
            }
            // A send may fail while the neighbour or route settles; the next round retries.
            let _ = socket.send(&query);
            let reply = client::udp_recv(&socket, Duration::from_millis(20))?;
            if reply.is_some_and(|r| r.len() >= 12 && r[..2] == query[..2] && r[2] & 0x80 != 0) {
                self.ready_after = started.elapsed();
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(StartError::Timeout(START_TIMEOUT));
            }
            progress.tick();
        }
    }

    /// Waits for lbdns's log line saying the XDP fast path serves; returns the time since
    /// `started`.
    fn wait_xdp_ready(
        &mut self,
        started: Instant,
        progress: &mut Progress,
    ) -> Result<Duration, StartError> {
        loop {
            interrupt::check().map_err(anyhow::Error::from)?;
            if self.read_log().contains(XDP_READY) {
                return Ok(started.elapsed());
            }
            if let Some(status) = self.exited()? {
                return Err(StartError::Exited(format!("{status}: {}", self.log_tail())));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(StartError::Timeout(START_TIMEOUT));
            }
            progress.tick();
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The server's process and its children: everything in the server namespace.
    pub fn pids(&self, net: &Net) -> Vec<i32> {
        if self.process.is_some() {
            net.server().pids()
        } else {
            Vec::new()
        }
    }

    /// The memory of the server's processes; `None` for the ceiling, which has none.
    pub fn memory(&self, net: &Net) -> Option<Memory> {
        self.process
            .as_ref()
            .map(|_| usage::memory(&self.pids(net)))
    }

    /// `Some(status)` once the server process has exited.
    pub fn exited(&mut self) -> Result<Option<std::process::ExitStatus>> {
        match &mut self.process {
            Some(process) => Ok(process.try_wait()?),
            None => Ok(None),
        }
    }

    /// Sends SIGHUP and returns how long until the log says the zones were reloaded.
    pub fn reload(&mut self, progress: &mut Progress) -> Result<Duration> {
        let Some(process) = &self.process else {
            anyhow::bail!("nothing to reload");
        };
        let before = Reloads::count(&self.read_log());
        progress.phase("reloading (SIGHUP)", RELOAD_TIMEOUT);
        let started = Instant::now();
        signal(process.id(), libc::SIGHUP)?;
        loop {
            interrupt::check()?;
            let log = self.read_log();
            let now = Reloads::count(&log);
            if now.done > before.done {
                return Ok(started.elapsed());
            }
            if now.failed > before.failed {
                anyhow::bail!("reload failed: {}", tail(&log));
            }
            if let Some(status) = self.exited()? {
                anyhow::bail!("exited during the reload ({status}): {}", self.log_tail());
            }
            if started.elapsed() > RELOAD_TIMEOUT {
                anyhow::bail!(
                    "no log line ending in `{RELOADED}` within {} s",
                    RELOAD_TIMEOUT.as_secs()
                );
            }
            progress.tick();
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then SIGKILL for whatever is left in the server namespace after
    /// [`STOP_TIMEOUT`]. Returns an error if the server had to be killed.
    pub fn stop(mut self, net: &Net) -> Result<()> {
        let Some(mut process) = self.process.take() else {
            return Ok(());
        };
        let _ = signal(process.id(), libc::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if process.try_wait()?.is_some() && net.server().pids().is_empty() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
        for pid in net.server().pids() {
            // SAFETY: kill(2) on a pid that `ip netns pids` reported for the server namespace,
            // which holds nothing but the server under test.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = process.wait();
        anyhow::bail!(
            "did not stop within {} s of SIGTERM; killed",
            STOP_TIMEOUT.as_secs()
        )
    }

    fn read_log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        tail(&self.read_log())
    }
}

/// Reloads that lbdns's log reports, finished and failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reloads {
    done: usize,
    failed: usize,
}

impl Reloads {
    fn count(log: &str) -> Self {
        Self {
            done: log
                .lines()
                .filter(|l| {
                    let message = l.split(": ").nth(1).unwrap_or_default();
                    message.split(' ').take_while(|w| !w.contains('=')).last() == Some(RELOADED)
                })
                .count(),
            failed: log.lines().filter(|l| l.contains(RELOAD_FAILED)).count(),
        }
    }
}

fn signal(pid: u32, signal: libc::c_int) -> Result<()> {
    let pid = libc::pid_t::try_from(pid).context("pid out of range")?;
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    if unsafe { libc::kill(pid, signal) } != 0 {
        return Err(std::io::Error::last_os_error()).context("kill(2)");
    }
    Ok(())
}

/// The command line, and the configuration files it reads, for a target that is a process.
fn command(target: Target, cx: &Context<'_>) -> Result<Command, StartError> {
    let listen = format!("{}", cx.net.server_v4());
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let zone = cx.zone.path.to_str().context("zone path is not UTF-8")?;
    let origin = cx.zone.origin;
    let write = |name: &str, text: String| -> Result<PathBuf> {
        let path = cx.dir.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    };
    let dir = cx.dir.to_str().context("output path is not UTF-8")?;
    let ns = cx.net.server();
    let command = match target {
        Target::LbdnsXdp | Target::LbdnsSocket => {
            let mut command = ns.command(cx.lbdns);
            command
                .args(["serve", "--zone", &format!("{origin}={zone}")])
                .args(["--listen", &format!("{listen}:53")])
                .arg("--control")
                .arg(cx.dir.join("control.sock"))
                .args(
                    cx.zone
                        .config
                        .iter()
                        .flat_map(|c| [OsStr::new("--config"), c.as_os_str()]),
                )
                // Info level: the reload measurement waits for the "zones reloaded" line.
                .env("RUST_LOG", "info");
            if target == Target::LbdnsXdp {
                command.args(["--xdp", Side::Server.interface(), "--xdp-mode", "native"]);
                if let Some(entries) = cx.zone.xdp_entries() {
                    // The AAAA and signature maps at their floors. The names are 20 to 31
                    // bytes: records of 32 or 40. Every size given, the program loads while the
                    // zone is read, as an operator of a zone this large would run it; with any
                    // size left to lbdns, it loads after the zone, sized from it.
                    command
                        .args(["--xdp-rrset-entries", &entries.to_string()])
                        .args(["--xdp-name-bytes", &(40 * entries).to_string()])
                        .args(["--xdp-a-slots", &entries.to_string()])
                        .args(["--xdp-aaaa-slots", "1024"])
                        .args(["--xdp-signature-entries", "256"]);
                }
            }
            command
        }
        Target::Nsd => {
            let config = write(
                "nsd.conf",
                format!(
                    "server:\n  ip-address: {listen}@53\n  server-count: {workers}\n  \
                     reuseport: yes\n  zonesdir: \"\"\n  database: \"\"\n  username: \"\"\n  \
                     chroot: \"\"\n  pidfile: \"{dir}/nsd.pid\"\n  xfrdfile: \"{dir}/xfrd.state\"\n  \
                     zonelistfile: \"{dir}/zone.list\"\n  \
                     # Response rate limiting would drop most of a benchmark's queries.\n  \
                     rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n  verbosity: 0\n\
                     remote-control:\n  control-enable: no\n\
                     zone:\n  name: \"{origin}\"\n  zonefile: \"{zone}\"\n"
                ),
            )?;
            let mut command = ns.command("nsd");
            command.arg("-d").arg("-c").arg(config);
            command
        }
        Target::Knot | Target::KnotXdp => {
            // Knot answers over XDP in addition to its sockets when the section is present.
            let xdp = if target == Target::KnotXdp {
                format!(
                    "xdp:\n    listen: {}@53\n    route-check: off\n",
                    Side::Server.interface()
                )
            } else {
                String::new()
            };
            let config = write(
                "knot.conf",
                format!(
                    "server:\n    listen: {listen}@53\n    rundir: {dir}\n    user: root:root\n    \
                     udp-workers: {workers}\n    tcp-workers: 1\n    background-workers: 1\n\
                     {xdp}\
                     database:\n    storage: {dir}/db\n\
                     log:\n  - target: stderr\n    any: warning\n\
                     template:\n  - id: default\n    zonefile-sync: -1\n    \
                     zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\n\
                     zone:\n  - domain: {origin}\n    file: {zone}\n"
                ),
            )?;
            let mut command = ns.command("knotd");
            command.arg("-c").arg(config);
            command
        }
        Target::Gdnsd => {
            // gdnsd reads every file in <config dir>/zones, named after its zone.
            let zones = cx.dir.join("zones");
            fs::create_dir_all(&zones)
                .with_context(|| format!("cannot create {}", zones.display()))?;
            let link = zones.join(origin.trim_end_matches('.'));
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(&cx.zone.path, &link)
                .with_context(|| format!("cannot link {}", link.display()))?;
            write(
                "config",
                format!(
                    "options => {{\n  listen => [ {listen} ]\n  dns_port => 53\n  \
                     udp_threads => {workers}\n  tcp_threads => 1\n  \
                     run_dir => {dir}/run\n  state_dir => {dir}/state\n}}\n"
                ),
            )?;
            let mut command = ns.command("gdnsd");
            command.arg("-c").arg(&cx.dir).arg("start");
            command
        }
        Target::SocketCeiling => {
            let program = cx
                .socket_ceiling
                .context("the socket ceiling was not built for this run")?;
            let mut command = ns.command(program);
            command.arg(format!("{listen}:53"));
            command
        }
        Target::Ceiling | Target::LookupFloor => {
            unreachable!("the ceilings are programs, not processes")
        }
    };
    Ok(command)
}

/// The id and name of the XDP program on the server's veth, if any: the one whose run time and
/// maps the benchmark reports.
pub fn server_program(net: &Net) -> Result<Option<(u32, String)>> {
    Ok(net
        .xdp_programs(Side::Server)?
        .into_iter()
        .next()
        .map(|p| (p.id, p.name)))
}

/// The BPF map memory of the program on the server's veth, in bytes.
pub fn server_map_bytes(net: &Net) -> Result<Option<u64>> {
    server_program(net)?
        .map(|(id, _)| xdp::map_bytes(id))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reloads_in_lbdns_logs() {
        let log = "2026-11-21T13:53:36.613486Z  INFO lbdns::serve: lbdns serving zones=1\n\
                   2026-11-21T13:54:34.305991Z  INFO lbdns::serve: zones and pools reloaded\n\
                   2026-11-21T13:55:00.000000Z  INFO lbdns::serve: zones reloaded\n\
                   2026-11-21T13:55:30.000000Z  INFO lbdns::serve: zones and pools reloaded \
                   zones=1 pools=0\n\
                   2026-11-21T13:56:00.000000Z ERROR lbdns::serve: zone.db:3: bad TTL\n\
                   2026-11-21T13:56:00.000001Z ERROR lbdns::serve: reload failed, still serving \
                   the previous zones\n";
        assert_eq!(Reloads::count(log), Reloads { done: 3, failed: 1 });
    }
}
