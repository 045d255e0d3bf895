//! Restarts and upgrades that lose nothing: the XDP program, its link and maps pinned in a
//! BPF file system of the test's own, a new daemon that takes the running one's sockets and
//! pinned maps over and swaps its program in on the link, the heartbeat that silences the fast
//! path of a stopped daemon, a stop that detaches and unpins at once, and the geo direct
//! tables' chunks taken over as the earlier daemon left them.
//!
//! The daemon runs with native XDP on the server's veth end; the client's end has the
//! pass-through program native XDP_TX needs ([`PeerProgram`]). Load comes from dnsperf at a
//! fixed rate. Needs root, dnsperf, dig and a built `lbdns` binary; without them the tests fail
//! and say so.

use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aya::maps::{Array, Map, MapData};
use lbdns::server::udp::{BACKLOG_RECEIVE_BUFFER, STEADY_RECEIVE_BUFFER};
use lbdns_common::life::{Life, LAYOUT_VERSION};
use lbdns_tests::client::udp_exchange;
use lbdns_tests::env::BpfFs;
use lbdns_tests::wire::{rtype, Builder};
use lbdns_tests::{
    apex_only_zone, example_zone, preflight, Query, Server, TempDir, Tool, Topology,
};

#[path = "support/peer.rs"]
mod peer;
use peer::PeerProgram;

/// The rate of every load run, in queries per second.
const RATE: u32 = 20_000;
/// How long each dnsperf run lasts: long enough for ten restarts of the example zone.
const RUN_SECONDS: u32 = 30;
/// Restarts within one run.
const RESTARTS: usize = 10;
/// Bound on one query's wait for a reply in the single-query checks.
const QUERY_TIMEOUT: Duration = Duration::from_millis(500);
/// Bound on waiting for the fast path to change its mind (heartbeat, detach).
const CHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Namespaces, the peer program, a bpffs of the test's own, and the daemon's control socket,
/// which each new daemon takes over.
struct Setup {
    // Drop order: the server before the pins, the pins before the namespaces.
    server: Option<Server>,
    pins: BpfFs,
    _peer: PeerProgram,
    topo: Topology,
    control: PathBuf,
    _dir: TempDir,
}

impl Setup {
    fn new(extra: &[&str]) -> Self {
        Self::with(&[&example_zone()], extra)
    }

    fn with(zones: &[&Path], extra: &[&str]) -> Self {
        preflight(&["dnsperf", "dig"]).unwrap_or_else(|error| panic!("{error:#}"));
        let topo = Topology::new().expect("namespaces");
        let peer = PeerProgram::attach(&topo.client).unwrap_or_else(|error| panic!("{error:#}"));
        let pins = BpfFs::mount().unwrap_or_else(|error| panic!("{error:#}"));
        let dir = TempDir::new("restart").expect("temp dir");
        let mut setup = Self {
            server: None,
            pins,
            _peer: peer,
            topo,
            control: dir.path().join("control.sock"),
            _dir: dir,
        };
        setup.server = Some(setup.spawn_with(zones, extra));
        setup
    }

    /// A daemon on the example zone with XDP pinned in the test's bpffs. While one runs, the
    /// new one takes its sockets and XDP over; `Server` returns once the new one's fast path
    /// serves.
    fn spawn(&self, extra: &[&str]) -> Server {
        self.spawn_with(&[&example_zone()], extra)
    }

    fn spawn_with(&self, zones: &[&Path], extra: &[&str]) -> Server {
        let pin_dir = self.pins.path().to_str().expect("UTF-8 path").to_owned();
        let control = self.control.to_str().expect("UTF-8 path").to_owned();
        let mut args = vec![
            "--xdp",
            Topology::SERVER_IF,
            "--xdp-mode",
            "native",
            "--xdp-pin-dir",
            &pin_dir,
            "--control",
            &control,
        ];
        args.extend_from_slice(extra);
        Server::lbdns_with(&self.topo, zones, &self.topo.server_addrs(53), &args)
            .unwrap_or_else(|error| panic!("{error:#}"))
    }

    fn server(&mut self) -> &mut Server {
        self.server.as_mut().expect("a server")
    }

    /// Starts a new daemon beside the running one, which hands over and exits.
    fn restart(&mut self, extra: &[&str]) {
        self.restart_with(&[&example_zone()], extra);
    }

    fn restart_with(&mut self, zones: &[&Path], extra: &[&str]) {
        let new = self.spawn_with(zones, extra);
        let mut old = self.server.replace(new).expect("a server");
        old.wait_exit().unwrap_or_else(|error| panic!("{error:#}"));
    }

    /// Sends SIGUSR2 (the unit's `RestartKillSignal=`) and waits for the daemon to exit,
    /// leaving its program attached and pinned.
    fn exit_for_restart(&mut self) {
        self.server().signal(libc::SIGUSR2).expect("SIGUSR2");
        self.server()
            .wait_exit()
            .unwrap_or_else(|error| panic!("{error:#}"));
    }

    /// With no daemon running, asserts that the NIC answers what the program answers: `hot`'s
    /// A, `absent`'s NXDOMAIN and `apex`'s MX (a fixed reply through the pinned
    /// `FIXED_PROGRAM`), and not what it passes: the MX spelled with capitals.
    fn assert_nic_answers_alone(&self, hot: &str, absent: &str, apex: &str) {
        assert!(self.answered(hot, rtype::A), "hot A");
        assert!(self.answered(absent, rtype::A), "NXDOMAIN");
        assert!(self.answered(apex, rtype::MX), "fixed MX");
        assert!(
            !self.answered(&apex.to_uppercase(), rtype::MX),
            "no daemon, yet a query the program passes was answered"
        );
    }

    /// The instance's pin directory.
    fn instance(&self) -> PathBuf {
        self.pins.path().join(Topology::SERVER_IF)
    }

    fn v4(&self) -> SocketAddr {
        self.topo.server_v4_addr(53)
    }

    /// Whether one UDP query for `name`/`qtype` gets a reply within [`QUERY_TIMEOUT`].
    fn answered(&self, name: &str, qtype: u16) -> bool {
        let query = Builder::query(0x5a5a, name, qtype).build();
        udp_exchange(&self.topo.client, self.v4(), &query, QUERY_TIMEOUT)
            .unwrap_or_else(|error| panic!("{error:#}"))
            .is_some()
    }

    /// dnsperf at [`RATE`] for [`RUN_SECONDS`] over hot and non-hot queries, started.
    fn load(&self, queries: &Path) -> Child {
        self.topo
            .client
            .command("dnsperf")
            .args(["-s", &self.v4().ip().to_string(), "-p", "53", "-d"])
            .arg(queries)
            .args(["-Q", &RATE.to_string(), "-l", &RUN_SECONDS.to_string()])
            .args(["-c", "4", "-t", "5"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dnsperf starts")
    }
}

/// What dnsperf reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    sent: u64,
    lost: u64,
}

/// Waits for dnsperf (bounded by its own run length and timeout) and reads its summary.
fn finish(child: Child) -> Run {
    let output = child.wait_with_output().expect("dnsperf runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name:?} in dnsperf's output:\n{text}"))
    };
    Run {
        sent: field("Queries sent:"),
        lost: field("Queries lost:"),
    }
}

/// A dnsperf query file: hot names (answered by XDP) and names the socket path answers.
fn queries(dir: &TempDir, hot_only: bool) -> PathBuf {
    let mut lines = vec![
        "www.example.com A",
        "www.example.com AAAA",
        "ns1.example.com A",
    ];
    if !hot_only {
        lines.extend(["example.com MX", "example.com TXT", "nope.example.com A"]);
    }
    dir.write("queries.txt", &(lines.join("\n") + "\n"))
        .expect("query file")
}

/// The goal of issue 16: ten restarts at 20,000 qps, hot and non-hot names, lose no query, as a
/// control run of the same length without restarts loses none.
#[test]
fn ten_restarts_at_20000_qps_lose_no_query() {
    let mut setup = Setup::new(&[]);
    let dir = TempDir::new("restart-load").expect("temp dir");
    let queries = queries(&dir, false);

    let control = finish(setup.load(&queries));
    let load = setup.load(&queries);
    let started = Instant::now();
    for restart in 0..RESTARTS {
        setup.restart(&[]);
        assert!(
            started.elapsed() < Duration::from_secs(RUN_SECONDS.into()),
            "restart {restart} ended after the load run: lengthen RUN_SECONDS"
        );
    }
    let restarted = finish(load);
    println!(
        "control: {control:?}; {RESTARTS} restarts: {restarted:?} ({RATE} qps, {RUN_SECONDS} s)"
    );
    assert_eq!(control.lost, 0, "the control run lost queries: {control:?}");
    assert_eq!(
        restarted.lost, 0,
        "queries lost over {RESTARTS} restarts: {restarted:?}"
    );
    let log = setup.server().stderr();
    assert!(log.contains("taking over from the running lbdns"), "{log}");
    assert!(
        log.contains("XDP program swapped in on the pinned link"),
        "{log}"
    );
}

/// SIGUSR2 (the unit's RestartKillSignal=) exits leaving the program attached and pinned: what
/// the program answers is answered at the NIC with no daemon at all (hot names, NXDOMAIN, and
/// fixed replies through the pinned `FIXED_PROGRAM`), what it passes is not; the next daemon
/// adopts the maps and swaps its program in.
#[test]
fn an_exit_for_a_restart_leaves_the_nic_answering() {
    let mut setup = Setup::new(&[]);
    setup.exit_for_restart();
    assert!(setup.instance().join("maps").join("LIFE").exists());
    setup.assert_nic_answers_alone("www.example.com", "absent.example.com", "example.com");

    setup.server = Some(setup.spawn(&[]));
    let log = setup.server().stderr();
    assert!(log.contains("adopting the pinned XDP maps"), "{log}");
    assert!(
        log.contains("XDP program swapped in on the pinned link"),
        "{log}"
    );
    assert!(
        setup.answered("EXAMPLE.COM", rtype::MX),
        "MX from the new daemon"
    );
}

/// A reload that outgrows the pinned maps swaps in a larger program whose maps, the fixed
/// replies' program array among them, replace the pinned set: after an exit for a restart the
/// NIC answers hot names, NXDOMAIN and fixed replies from the grown maps alone.
#[test]
fn maps_a_reload_grows_are_pinned_whole() {
    let dir = TempDir::new("restart-grow").expect("temp dir");
    let zone = |names: u32| {
        let mut text = apex_only_zone("big.test") + "@ 300 MX 10 ns1\n";
        for i in 0..names {
            text.push_str(&format!(
                "h{i} 60 A 198.18.{}.{}\n",
                100 + i / 250,
                1 + i % 250
            ));
        }
        text
    };
    let path = dir.write("big.test.zone", &zone(10)).expect("zone");
    let mut setup = Setup::with(&[&path], &[]);
    dir.write("big.test.zone", &zone(1500)).expect("zone");
    setup
        .server()
        .control(&["reload"])
        .unwrap_or_else(|error| panic!("{error:#}"));
    let log = setup.server().stderr();
    assert!(log.contains("swapped them in with the program"), "{log}");

    setup.exit_for_restart();
    // A name the grown maps alone hold.
    setup.assert_nic_answers_alone("h1499.big.test", "absent.big.test", "big.test");
}

/// SIGTERM (`systemctl stop`) detaches the program and removes every pin at once.
#[test]
fn a_stop_detaches_and_unpins_at_once() {
    let mut setup = Setup::new(&[]);
    assert!(setup.instance().join("link_veth-srv").exists());
    setup
        .server()
        .stop()
        .unwrap_or_else(|error| panic!("{error:#}"));
    assert!(!setup.instance().exists(), "pins left after a stop");
    assert!(
        !setup.answered("www.example.com", rtype::A),
        "answered after a stop"
    );
}

/// A stopped (SIGSTOP) daemon's heartbeat ages: past the limit the program passes every query,
/// so the host stops answering rather than answer with health nobody checks; SIGCONT and it
/// answers at the NIC again.
#[test]
fn a_stopped_daemon_stops_answering_at_the_nic() {
    let mut setup = Setup::new(&["--xdp-heartbeat-limit", "1"]);
    assert!(setup.answered("www.example.com", rtype::A));
    setup.server().signal(libc::SIGSTOP).expect("SIGSTOP");
    let deadline = Instant::now() + CHANGE_TIMEOUT;
    // Each round waits up to QUERY_TIMEOUT for a reply; bounded by the deadline.
    while setup.answered("www.example.com", rtype::A) {
        assert!(
            Instant::now() < deadline,
            "still answered with the daemon stopped"
        );
    }
    setup.server().signal(libc::SIGCONT).expect("SIGCONT");
    let deadline = Instant::now() + CHANGE_TIMEOUT;
    while !setup.answered("www.example.com", rtype::A) {
        assert!(Instant::now() < deadline, "not answered after SIGCONT");
    }
}

/// Pinned maps of another layout version (a binary from before or after a layout change) are
/// never trusted: the new daemon builds its own, fills them and swaps them in with its
/// program, and no hot query is lost meanwhile.
#[test]
fn an_upgrade_across_a_layout_change_loses_no_hot_query() {
    let mut setup = Setup::new(&[]);
    let life_path = setup.instance().join("maps").join("LIFE");
    let map = MapData::from_pin(&life_path).expect("pinned LIFE");
    let mut life: Array<MapData, Life> = Array::try_from(Map::Array(map)).expect("an array");
    let stamped = life.get(&0, 0).expect("LIFE value");
    assert_eq!(stamped.layout, LAYOUT_VERSION);
    life.set(
        0,
        Life {
            layout: LAYOUT_VERSION + 1,
            ..stamped
        },
        0,
    )
    .expect("restamp LIFE");

    let dir = TempDir::new("restart-upgrade").expect("temp dir");
    let load = setup.load(&queries(&dir, true));
    setup.restart(&[]);
    let run = finish(load);
    println!("upgrade across a layout change: {run:?} ({RATE} qps, {RUN_SECONDS} s)");
    assert_eq!(run.lost, 0, "hot queries lost: {run:?}");
    let log = setup.server().stderr();
    let expected = format!(
        "their layout version is {}, this build's is {LAYOUT_VERSION}",
        LAYOUT_VERSION + 1
    );
    assert!(log.contains(&expected), "{log}");
    // The old program is kept answering, its heartbeat beaten, while the new one loads.
    assert!(log.contains("replacing the pinned XDP maps"), "{log}");
    assert!(
        log.contains("XDP program swapped in on the pinned link"),
        "{log}"
    );
    let fresh = Array::<MapData, Life>::try_from(Map::Array(
        MapData::from_pin(&life_path).expect("pinned LIFE"),
    ))
    .expect("an array")
    .get(&0, 0)
    .expect("LIFE value");
    assert_eq!(
        fresh.layout, LAYOUT_VERSION,
        "the new maps replaced the old pins"
    );
}

/// The addresses a query for `name` A gets, sorted.
fn addresses(setup: &Setup, name: &str) -> Vec<String> {
    let reply = lbdns_tests::dig::query(
        Tool::Dig,
        &setup.topo.client,
        setup.v4(),
        &Query::new(name, "A"),
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    let mut addresses: Vec<String> = reply.answer_rdata("A").into_iter().collect();
    addresses.sort();
    addresses
}

/// A drain, and the health its checks last found, carry over a restart through the state
/// file: the new daemon's first answers are the old one's, not "every endpoint up".
#[test]
fn drains_and_health_carry_over_a_restart() {
    let dir = TempDir::new("restart-state").expect("temp dir");
    let zone = dir
        .write(
            "lb.example.zone",
            "$ORIGIN lb.example.\n$TTL 60\n@ SOA ns hostmaster 1 3600 600 86400 60\n\
             @ NS ns\nns A 198.18.0.53\n",
        )
        .expect("zone");
    // .1 and .3 are checked against the daemon's own TCP port, which answers; .2 against a
    // closed one. Checks are slow (5 s), so the new daemon answers long before its own
    // first probe could have found .2 down again.
    let server = "198.19.53.1";
    let config = dir
        .write(
            "lbdns.toml",
            &format!(
                "state_file = \"{state}\"\n\
                 [[pool]]\nname = \"www.lb.example.\"\nttl = 5\n\
                 [pool.check]\ntype = \"tcp\"\nport = 53\ninterval = \"5s\"\ntimeout = \"1s\"\n\
                 rise = 1\nfall = 1\n\
                 [[pool.endpoint]]\naddress = \"198.18.60.1\"\ncheck_address = \"{server}:53\"\n\
                 [[pool.endpoint]]\naddress = \"198.18.60.2\"\ncheck_address = \"{server}:9\"\n\
                 [[pool.endpoint]]\naddress = \"198.18.60.3\"\ncheck_address = \"{server}:53\"\n",
                state = dir.path().join("state.json").display()
            ),
        )
        .expect("config");
    let config = config.to_str().expect("UTF-8 path");
    let mut setup = Setup::with(&[&zone], &["--config", config]);
    let deadline = Instant::now() + CHANGE_TIMEOUT;
    // Each round is one dig; bounded by the deadline.
    while addresses(&setup, "www.lb.example") != ["198.18.60.1", "198.18.60.3"] {
        assert!(Instant::now() < deadline, "198.18.60.2 never found down");
        std::thread::sleep(Duration::from_millis(100));
    }
    let bin = lbdns_tests::lbdns_bin().unwrap_or_else(|error| panic!("{error:#}"));
    let control = setup.control.clone();
    lbdns_tests::env::run_ok(
        Command::new(bin)
            .args(["drain", "198.18.60.3", "--control"])
            .arg(&control),
        CHANGE_TIMEOUT,
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    assert_eq!(addresses(&setup, "www.lb.example"), ["198.18.60.1"]);

    setup.restart_with(&[&zone], &["--config", config]);
    assert_eq!(
        addresses(&setup, "www.lb.example"),
        ["198.18.60.1"],
        "the new daemon's first answer"
    );
    let log = setup.server().stderr();
    let restored = log
        .lines()
        .find(|line| line.contains("drains and health carried over"))
        .unwrap_or_else(|| panic!("nothing carried over:\n{log}"));
    assert!(
        restored.contains("drained=1") && restored.contains("down=1"),
        "{restored}"
    );
}

/// A restart under systemd, with systemd's part played by the test: the daemon puts its
/// sockets in the "fd store" (`FDSTORE=1` on `$NOTIFY_SOCKET`, here a socket of the test),
/// exits on SIGUSR2 (`RestartKillSignal=`), and the next process gets them back as
/// `$LISTEN_FDS`. Queries sent while no process runs wait in the sockets and are answered,
/// hot ones by the program left pinned: nothing is lost.
#[test]
fn a_restart_through_the_fd_store_loses_no_query() {
    let setup = Setup::bare();
    let dir = TempDir::new("restart-fdstore").expect("temp dir");
    let manager_path = dir.path().join("notify.sock");
    let manager = UnixDatagram::bind(&manager_path).expect("manager socket");
    manager
        .set_read_timeout(Some(CHANGE_TIMEOUT))
        .expect("timeout");

    let mut first = setup.systemd_daemon(&manager_path, &[], &dir, "first");
    // Bounded: each message waits at most CHANGE_TIMEOUT, and the daemon sends a few.
    let stored = (0..20)
        .find_map(|_| {
            let mut buffer = [0u8; 256];
            let (len, fds) = lbdns::server::recv_fds(manager.as_fd(), &mut buffer)
                .unwrap_or_else(|error| panic!("no FDSTORE=1 from the daemon: {error}"));
            buffer[..len].starts_with(b"FDSTORE=1").then_some(fds)
        })
        .expect("FDSTORE=1 with the sockets");
    assert!(!stored.is_empty());

    let queries = queries(&dir, false);
    let load = setup.load(&queries);
    std::thread::sleep(Duration::from_secs(2));
    // A reading worker keeps its socket's queue short; one that stops reading leaves room for
    // what arrives until the next process reads (`lbdns::server::udp::Depth`).
    assert_receive_buffers(
        &stored,
        STEADY_RECEIVE_BUFFER,
        "while the first process reads",
    );
    first.signal(libc::SIGUSR2);
    first.wait_exit();
    assert_receive_buffers(&stored, BACKLOG_RECEIVE_BUFFER, "between the processes");
    std::thread::sleep(Duration::from_millis(500));
    let mut second = setup.systemd_daemon(&manager_path, &stored, &dir, "second");
    let deadline = Instant::now() + CHANGE_TIMEOUT;
    // 50 ms a round, bounded by the deadline: the second process's workers shrink the queues
    // once they have read the backlog.
    while udp_receive_buffers(&stored)
        .iter()
        .any(|&size| size != STEADY_RECEIVE_BUFFER)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_receive_buffers(
        &stored,
        STEADY_RECEIVE_BUFFER,
        "once the second process reads",
    );
    let run = finish(load);
    println!("a restart through the fd store: {run:?} ({RATE} qps, {RUN_SECONDS} s)");
    assert_eq!(run.lost, 0, "queries lost: {run:?}");
    let log = second.log();
    assert!(log.contains("inherited=true"), "{log}");
    assert!(
        log.contains("XDP program swapped in on the pinned link"),
        "{log}"
    );
    second.signal(libc::SIGTERM);
    second.wait_exit();
}

/// The kernel receive buffer of each UDP socket among `fds` (SO_RCVBUF).
fn udp_receive_buffers(fds: &[OwnedFd]) -> Vec<usize> {
    const READ: &str = "getsockopt on a stored socket";
    fds.iter()
        .map(socket2::SockRef::from)
        .filter(|socket| socket.r#type().expect(READ) == socket2::Type::DGRAM)
        .map(|socket| socket.recv_buffer_size().expect(READ))
        .collect()
}

fn assert_receive_buffers(fds: &[OwnedFd], size: usize, when: &str) {
    let sizes = udp_receive_buffers(fds);
    assert!(!sizes.is_empty(), "no UDP socket among the stored ones");
    assert!(
        sizes.iter().all(|&each| each == size),
        "UDP receive buffers {when}: {sizes:?}, expected {size} each"
    );
}

/// An lbdns process started as systemd starts it, by [`Setup::systemd_daemon`].
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
    }

    /// Waits (bounded) for the exit.
    fn wait_exit(&mut self) {
        let deadline = Instant::now() + CHANGE_TIMEOUT;
        // 10 ms a round, bounded by the deadline.
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "no exit:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Setup {
    /// Namespaces, peer program and bpffs, no daemon yet.
    fn bare() -> Self {
        preflight(&["dnsperf", "dig"]).unwrap_or_else(|error| panic!("{error:#}"));
        let topo = Topology::new().expect("namespaces");
        let peer = PeerProgram::attach(&topo.client).unwrap_or_else(|error| panic!("{error:#}"));
        let pins = BpfFs::mount().unwrap_or_else(|error| panic!("{error:#}"));
        let dir = TempDir::new("restart").expect("temp dir");
        Self {
            server: None,
            pins,
            _peer: peer,
            topo,
            control: dir.path().join("control.sock"),
            _dir: dir,
        }
    }

    /// lbdns as systemd starts it: `$NOTIFY_SOCKET` set, and `fds` passed as descriptors 3 and
    /// on with `$LISTEN_FDS` and `$LISTEN_PID`. Returns once its fast path serves.
    fn systemd_daemon(&self, notify: &Path, fds: &[OwnedFd], dir: &TempDir, name: &str) -> Daemon {
        let log = dir.path().join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let bin = lbdns_tests::lbdns_bin().unwrap_or_else(|error| panic!("{error:#}"));
        // `sh` learns its own pid, which `ip netns exec` and then lbdns keep (each execs).
        let mut script = format!(
            "LISTEN_PID=$$ LISTEN_FDS={} exec ip netns exec {} \"$0\" \"$@\"",
            fds.len(),
            self.topo.server.name()
        );
        if fds.is_empty() {
            script = format!(
                "exec ip netns exec {} \"$0\" \"$@\"",
                self.topo.server.name()
            );
        }
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .arg(&bin)
            .args(["serve", "--zone"])
            .arg(example_zone())
            .args(["--listen", &self.v4().to_string()])
            .args(["--xdp", Topology::SERVER_IF, "--xdp-mode", "native"])
            .arg("--xdp-pin-dir")
            .arg(self.pins.path())
            .arg("--control")
            .arg(&self.control)
            .env("NOTIFY_SOCKET", notify)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        // The copies are kept on the stack: nothing may allocate between fork and exec.
        const MOST_FDS: usize = 16;
        let raw: Vec<i32> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        assert!(raw.len() <= MOST_FDS, "{} descriptors", raw.len());
        let first_free = 3 + raw.len() as i32;
        // SAFETY: only fcntl and dup2, which are async-signal-safe, between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // First out of the way of 3.. (to whatever is free past them: the test's other
                // threads hold descriptors of their own; closed at exec), then into place
                // (dup2 clears CLOEXEC).
                let mut moved = [0; MOST_FDS];
                for (copy, &fd) in moved.iter_mut().zip(&raw) {
                    *copy = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, first_free);
                    if *copy < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                for (i, &copy) in moved[..raw.len()].iter().enumerate() {
                    if libc::dup2(copy, 3 + i as i32) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("lbdns starts");
        let daemon = Daemon { child, log };
        let deadline = Instant::now() + CHANGE_TIMEOUT;
        // 20 ms a round, bounded by the deadline.
        while !daemon.log().contains("XDP fast path ready") {
            assert!(
                Instant::now() < deadline,
                "{name} not ready:\n{}",
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }
}

/// A geo configuration of two locations, eu and us, with `subnets` (prefix, location) and the
/// privacy cap at 32 bits, so that a /32 Client Subnet places a query at one address.
fn geo_config(subnets: &[(&str, &str)]) -> String {
    let subnets: String = subnets
        .iter()
        .map(|(prefix, location)| {
            format!("[[geo.subnet]]\nprefix = \"{prefix}\"\nlocation = \"{location}\"\n")
        })
        .collect();
    format!(
        r#"[geo]
ecs_max_v4 = 32
[[geo.location]]
name = "eu"
[[geo.location]]
name = "us"
{subnets}
[[pool]]
name = "www.geo.test."
ttl = 20
policy = "geo"
[[pool.endpoint]]
address = "198.18.60.1"
location = "eu"
[[pool.endpoint]]
address = "198.18.60.2"
location = "us"
"#
    )
}

/// A daemon that adopts pinned maps takes over the geo direct tables' chunks as the earlier
/// one left them, those its /24s name as well as those its /16s name: a reload that splits
/// another /24 then takes a free chunk, not one in use, and with no daemon left the program
/// places each client as the reloaded map says.
#[test]
fn an_adopted_geo_map_keeps_its_chunks_through_a_reload() {
    let dir = TempDir::new("restart-geo").expect("temp dir");
    let zone = dir
        .write("geo.test.zone", &apex_only_zone("geo.test"))
        .expect("zone");
    // 198.18/16 takes a chunk, 198.18.100/24 another.
    let first = [("198.18.100.0/24", "eu"), ("198.18.100.128/26", "us")];
    let config = dir
        .write("lbdns.toml", &geo_config(&first))
        .expect("config");
    let config_arg = config.display().to_string();
    let extra = ["--config", config_arg.as_str()];
    let mut setup = Setup::with(&[&zone], &extra);
    setup.exit_for_restart();
    setup.server = Some(setup.spawn_with(&[&zone], &extra));
    let log = setup.server().stderr();
    assert!(log.contains("adopting the pinned XDP maps"), "{log}");

    // 198.18.100/24 split otherwise, and 198.18.101/24 split: a third chunk.
    let second = [
        ("198.18.100.0/24", "eu"),
        ("198.18.100.64/26", "us"),
        ("198.18.101.0/24", "eu"),
        ("198.18.101.0/25", "us"),
    ];
    dir.write("lbdns.toml", &geo_config(&second))
        .expect("config");
    setup
        .server()
        .control(&["reload"])
        .unwrap_or_else(|error| panic!("{error:#}"));
    setup.exit_for_restart();

    // No daemon: only the program answers.
    for (client, want) in [
        ([198, 18, 100, 10], [198, 18, 60, 1]),
        ([198, 18, 100, 70], [198, 18, 60, 2]),
        ([198, 18, 100, 130], [198, 18, 60, 1]),
        ([198, 18, 101, 5], [198, 18, 60, 2]),
        ([198, 18, 101, 200], [198, 18, 60, 1]),
    ] {
        let mut option = vec![0, 8, 0, 8, 0, 1, 32, 0];
        option.extend_from_slice(&client);
        let query = Builder::query(0x5a5a, "www.geo.test", rtype::A)
            .opt(&[0], 1232, 0, 0, &option)
            .build();
        let reply = udp_exchange(&setup.topo.client, setup.v4(), &query, QUERY_TIMEOUT)
            .unwrap_or_else(|error| panic!("{error:#}"))
            .unwrap_or_else(|| panic!("{client:?}: no reply from the program"));
        let message = lbdns_tests::wire::Message::parse(&reply).expect("reply parses");
        let addresses: Vec<&[u8]> = message
            .answers
            .iter()
            .map(|record| record.rdata.as_slice())
            .collect();
        assert_eq!(addresses, [&want[..]], "ECS {client:?}/32");
    }
}
