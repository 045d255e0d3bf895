//! Least privilege: lbdns runs as an unprivileged user with only the four capabilities of
//! `dist/lbdns.service` (granted by `setpriv`, as systemd's `User=` and `AmbientCapabilities=`
//! would), attaches XDP natively to a veth and answers from it; started as root it drops every
//! other capability; and a missing one stops start-up with an error that names it.
//!
//! No CAP_SYS_RESOURCE, and RLIMIT_MEMLOCK 0: the kernel charges BPF maps to the memory
//! cgroup. No `kernel.unprivileged_bpf_disabled` change either (it is 2 on the test hosts): it
//! does not apply to a process with CAP_BPF.
//!
//! Needs root (to create the user and the namespaces), setpriv, prlimit, useradd, kdig and a
//! built `lbdns` that the test user can run; without them the tests fail and say so.

use std::{collections::BTreeMap, path::Path, process::Command, time::Duration};

use lbdns_tests::{
    env::{pin_to_cpu0, run_bounded, run_ok, EXAMPLE_WWW_A},
    example_zone, lbdns_bin, preflight,
    unprivileged::{User, UNIT_CAPS},
    Query, Server, Topology,
};

#[path = "support/peer.rs"]
mod peer;
use peer::PeerProgram;

/// The user the daemon runs as here; the package's is `lbdns`, which this leaves alone.
const USER: &str = "lbdns-test";
/// Bound on `lbdns stats` and on a start-up that is expected to fail.
const TIMEOUT: Duration = Duration::from_secs(30);

/// CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_PERFMON (38), CAP_BPF (39).
const UNIT_CAP_MASK: u64 = 1 << 10 | 1 << 12 | 1 << 38 | 1 << 39;

fn setup() -> (Topology, PeerProgram, User) {
    preflight(&["kdig", "setpriv", "prlimit", "useradd"])
        .unwrap_or_else(|error| panic!("{error:#}"));
    let user = User::system(USER).unwrap_or_else(|error| panic!("{error:#}"));
    let topo = Topology::new().expect("namespaces");
    let peer = PeerProgram::attach(&topo.client).unwrap_or_else(|error| panic!("{error:#}"));
    (topo, peer, user)
}

/// The capability sets and the real user id of process `pid`, from /proc.
fn status(pid: u32) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.starts_with("Cap") || *key == "Uid")
        .map(|(key, value)| (key.to_owned(), value.trim().to_owned()))
        .collect()
}

fn mask(status: &BTreeMap<String, String>, set: &str) -> u64 {
    u64::from_str_radix(&status[set], 16).expect("a hex capability mask")
}

/// The daemon's `answered_a` counter, from `lbdns stats`.
fn answered_a(server: &Server) -> u64 {
    let control = server.control_socket().expect("an lbdns server");
    let out = run_ok(
        Command::new(lbdns_bin().expect("lbdns"))
            .arg("stats")
            .arg("--control")
            .arg(control),
        TIMEOUT,
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    out.stdout
        .lines()
        .find_map(|line| line.strip_prefix("answered_a "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no answered_a in:\n{}", out.stdout))
}

/// Asks for www.example.com A and checks that the program answered it, with the whole RRset.
fn assert_answered_by_xdp(topo: &Topology, server: &Server) {
    let before = answered_a(server);
    let reply = topo
        .kdig(topo.server_v4_addr(53), &Query::new("www.example.com", "A"))
        .unwrap_or_else(|error| panic!("{error:#}"));
    assert_eq!(reply.rcode, "NOERROR", "{reply}");
    let mut got = reply.answer_rdata("A");
    got.sort();
    assert_eq!(got, EXAMPLE_WWW_A, "{reply}");
    assert_eq!(answered_a(server), before + 1, "answered by XDP:\n{reply}");
}

/// As the unit runs it: not root, four capabilities, XDP native on a veth, port 53.
#[test]
fn an_unprivileged_user_with_the_unit_capabilities_serves_from_xdp() {
    pin_to_cpu0().expect("pin to CPU 0");
    let (topo, _peer, user) = setup();
    let server = Server::lbdns_as(
        &topo,
        (&user, &UNIT_CAPS),
        &[&example_zone()],
        &topo.server_addrs(53),
        &["--xdp", Topology::SERVER_IF, "--xdp-mode", "native"],
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    let status = status(server.pid());
    let uid = user.uid().to_string();
    assert!(
        status["Uid"].split_whitespace().all(|id| id == uid),
        "runs as {}: {status:?}",
        user.name()
    );
    assert_eq!(mask(&status, "CapEff"), UNIT_CAP_MASK, "{status:?}");
    assert_eq!(mask(&status, "CapPrm"), UNIT_CAP_MASK, "{status:?}");
    assert_eq!(mask(&status, "CapAmb"), 0, "ambient cleared: {status:?}");
    assert!(
        server
            .stderr()
            .contains("kept=CAP_BPF,CAP_PERFMON,CAP_NET_ADMIN,CAP_NET_BIND_SERVICE"),
        "logs what it kept:\n{}",
        server.stderr()
    );
    assert_answered_by_xdp(&topo, &server);
}

/// Started as root with every capability, lbdns keeps the unit's four and drops the rest,
/// from the bounding set too, and still serves from XDP.
#[test]
fn root_drops_every_capability_but_the_four() {
    pin_to_cpu0().expect("pin to CPU 0");
    let (topo, _peer, _user) = setup();
    let server = Server::lbdns_with(
        &topo,
        &[&example_zone()],
        &topo.server_addrs(53),
        &["--xdp", Topology::SERVER_IF, "--xdp-mode", "native"],
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    let status = status(server.pid());
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(mask(&status, set), UNIT_CAP_MASK, "{set}: {status:?}");
    }
    assert_eq!(mask(&status, "CapInh"), 0, "{status:?}");
    assert_answered_by_xdp(&topo, &server);
}

/// Without any one of the unit's capabilities the daemon does not start, and says which one it
/// lacks and what for. (Without CAP_PERFMON the kernel itself rejects the program: it does
/// pointer arithmetic the verifier allows only to programs loaded with it.)
#[test]
fn a_missing_capability_is_named_at_start() {
    let (topo, _peer, user) = setup();
    let v4 = topo.server_v4_addr(53);
    let xdp = format!("to load and attach XDP on {}", Topology::SERVER_IF);
    let bind = format!("to listen on {v4}");
    for (missing, purpose) in [
        ("bpf", &xdp),
        ("perfmon", &xdp),
        ("net_admin", &xdp),
        ("net_bind_service", &bind),
    ] {
        let caps: Vec<&str> = UNIT_CAPS
            .into_iter()
            .filter(|cap| *cap != missing)
            .collect();
        let mut cmd = user.command(&topo.server, &caps, &lbdns_bin().expect("lbdns"));
        cmd.arg("serve")
            .arg("--zone")
            .arg(example_zone())
            .args(["--listen", &v4.to_string()])
            .args(["--xdp", Topology::SERVER_IF])
            .args(["--control", "/nonexistent/control.sock"])
            .env("NO_COLOR", "1");
        let out = run_bounded(&mut cmd, TIMEOUT).unwrap_or_else(|error| panic!("{error:#}"));
        assert!(
            !out.status.success(),
            "started without {missing}:\n{}",
            out.combined()
        );
        let expected = format!("missing CAP_{} {purpose}", missing.to_uppercase());
        assert!(
            out.stderr.contains(&expected),
            "{expected:?} in:\n{}",
            out.stderr
        );
    }
    assert!(!Path::new("/nonexistent/control.sock").exists());
}
