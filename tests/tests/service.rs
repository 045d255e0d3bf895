//! lbdns under a service manager: sd_notify readiness (READY=1 only once the sockets answer),
//! the status line when the XDP fast path joins, RELOADING=1/READY=1 around `lbdns reload`,
//! and the `--json` forms of `stats` and `status` that scripts read.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::client::{udp_exchange, TcpConn};
use lbdns_tests::env::run_ok;
use lbdns_tests::wire::{rtype, Header};
use lbdns_tests::{lbdns_bin, preflight, Builder, Query, Server, TempDir, Topology};
use serde_json::Value;

const ZONE: &str = "$ORIGIN service.test.\n$TTL 60\n@ SOA ns h 1 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\nwww A 198.18.9.1\n";
/// Bound on waiting for one notification; start-up takes well under a second here.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on one `lbdns` control command.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// The notification socket a test binds, as systemd would, and what arrived on it.
struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
}

impl NotifySocket {
    fn bind(dir: &TempDir) -> Result<Self> {
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).context("binding the notify socket")?;
        socket.set_read_timeout(Some(NOTIFY_TIMEOUT))?;
        Ok(Self { socket, path })
    }

    /// The next message; an error after [`NOTIFY_TIMEOUT`] without one.
    fn next(&self) -> Result<String> {
        let mut buf = [0u8; 4096];
        let n = self
            .socket
            .recv(&mut buf)
            .context("no sd_notify message arrived")?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

/// `lbdns serve` for `zone` in the server namespace, notifying `notify`, with `extra` flags.
fn serve_command(
    topo: &Topology,
    zone: &Path,
    control: &Path,
    notify: &Path,
    extra: &[&str],
) -> Result<Command> {
    let mut cmd = topo.server.command(lbdns_bin()?);
    cmd.arg("serve").arg("--zone").arg(zone);
    for address in topo.server_addrs(53) {
        cmd.arg("--listen").arg(address.to_string());
    }
    cmd.arg("--control").arg(control).args(extra);
    cmd.env("NOTIFY_SOCKET", notify).env("NO_COLOR", "1");
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "debug");
    }
    Ok(cmd)
}

/// Reads notifications until READY=1, then at once checks that the server answers a UDP query
/// and accepts a TCP connection, with no retry: readiness must mean it already does. Returns
/// the messages up to READY=1.
fn ready_means_answering(topo: &Topology, notify: &NotifySocket) -> Result<Vec<String>> {
    let mut messages = Vec::new();
    // Bounded: each message takes at most NOTIFY_TIMEOUT, and start-up sends a handful.
    for _ in 0..16 {
        let message = notify.next()?;
        let ready = message.lines().any(|l| l == "READY=1");
        messages.push(message);
        if ready {
            let address = topo.server_v4_addr(53);
            let query = Builder::query(0x7001, "www.service.test", rtype::A).build();
            let reply = udp_exchange(&topo.client, address, &query, Duration::from_secs(2))?
                .context("READY=1 was sent, but a UDP query got no reply")?;
            ensure!(
                Header::parse(&reply).is_some_and(|h| h.id == 0x7001 && h.qr()),
                "READY=1 was sent, but the UDP reply is {reply:02x?}"
            );
            TcpConn::connect(&topo.client, address, Duration::from_secs(2))
                .context("READY=1 was sent, but TCP is refused")?;
            return Ok(messages);
        }
    }
    bail!("no READY=1 among {messages:?}")
}

/// `lbdns ARGS --control CONTROL`, which must succeed; its stdout.
fn lbdns(args: &[&str], control: &Path) -> Result<String> {
    let out = run_ok(
        Command::new(lbdns_bin()?)
            .args(args)
            .arg("--control")
            .arg(control),
        CONTROL_TIMEOUT,
    )?;
    Ok(out.stdout)
}

/// Starts the daemon while another thread reads its notifications until READY=1 and then
/// checks that the sockets answer at once; returns the server and the messages up to READY.
fn start_watching_ready(
    topo: &Topology,
    cmd: Command,
    notify: &NotifySocket,
) -> Result<(Server, Vec<String>)> {
    let (messages, server) = thread::scope(|scope| {
        let watching = scope.spawn(|| ready_means_answering(topo, notify));
        let server = Server::spawn(
            "lbdns",
            cmd,
            &topo.client,
            &topo.server_addrs(53),
            "service.test.",
        );
        let messages = watching
            .join()
            .map_err(|_| anyhow::anyhow!("the notify reader panicked"))?;
        anyhow::Ok((messages, server))
    })?;
    Ok((server?, messages?))
}

#[test]
fn sd_notify_ready_once_the_sockets_answer_and_around_a_reload() -> Result<()> {
    preflight(&["kdig"])?;
    let topo = Topology::new()?;
    let dir = TempDir::new("service-notify")?;
    let zone = dir.write("service.test.zone", ZONE)?;
    let control = dir.path().join("control.sock");
    let notify = NotifySocket::bind(&dir)?;
    let cmd = serve_command(&topo, &zone, &control, &notify.path, &[])?;
    let (mut server, messages) = start_watching_ready(&topo, cmd, &notify)?;
    let ready = messages.last().context("a READY message")?;
    ensure!(
        ready.contains("STATUS=serving 1 zone(s)"),
        "READY=1 carries the status: {messages:?}"
    );

    // A reload: RELOADING=1 with the monotonic time systemd matches it by, then READY=1.
    let out = lbdns(&["reload"], &control)?;
    ensure!(out.starts_with("reloaded 1 zone(s)"), "lbdns reload: {out}");
    let reloading = notify.next()?;
    let mut lines = reloading.lines();
    ensure!(
        lines.next() == Some("RELOADING=1")
            && lines
                .next()
                .and_then(|l| l.strip_prefix("MONOTONIC_USEC="))
                .is_some_and(|usec| usec.parse::<u64>().is_ok_and(|usec| usec > 0)),
        "the reload starts with RELOADING=1 and MONOTONIC_USEC: {reloading:?}"
    );
    let reloaded = notify.next()?;
    ensure!(
        reloaded.lines().next() == Some("READY=1") && reloaded.contains("reloaded"),
        "the reload ends with READY=1: {reloaded:?}"
    );

    let status = server.stop()?;
    ensure!(status.success(), "lbdns did not exit cleanly: {status}");
    let stopping = notify.next()?;
    ensure!(
        stopping.lines().next() == Some("STOPPING=1"),
        "a stop says STOPPING=1: {stopping:?}"
    );
    Ok(())
}

#[test]
fn sd_notify_status_when_the_xdp_fast_path_joins() -> Result<()> {
    preflight(&["kdig"])?;
    let topo = Topology::new()?;
    let dir = TempDir::new("service-xdp")?;
    let zone = dir.write("service.test.zone", ZONE)?;
    let control = dir.path().join("control.sock");
    let notify = NotifySocket::bind(&dir)?;
    let extra = ["--xdp", Topology::SERVER_IF, "--xdp-mode", "generic"];
    let cmd = serve_command(&topo, &zone, &control, &notify.path, &extra)?;
    let (mut server, messages) = start_watching_ready(&topo, cmd, &notify)?;
    ensure!(
        messages
            .last()
            .is_some_and(|m| m.contains("XDP fast path filling its maps")),
        "READY=1 says the fast path is on its way: {messages:?}"
    );
    let joined = notify.next()?;
    ensure!(
        joined == format!("STATUS=XDP fast path ready on {}", Topology::SERVER_IF),
        "the status line when XDP joins: {joined:?}"
    );

    // The fast path answers, and `stats --json` carries its counters.
    let reply = topo.kdig(
        topo.server_v4_addr(53),
        &Query::new("www.service.test", "A"),
    )?;
    ensure!(
        reply.answer_rdata("A") == ["198.18.9.1"],
        "www A: {reply:?}"
    );
    let stats: Value = serde_json::from_str(&lbdns(&["stats", "--json"], &control)?)?;
    ensure!(
        stats["xdp"]["state"] == "running"
            && stats["xdp"]["counters"]["answered_a"].as_u64() >= Some(1),
        "stats --json with XDP: {stats}"
    );
    let status = server.stop()?;
    ensure!(status.success(), "lbdns did not exit cleanly: {status}");
    Ok(())
}

#[test]
fn stats_and_status_json_parse_and_carry_the_counters() -> Result<()> {
    preflight(&["kdig"])?;
    let topo = Topology::new()?;
    let dir = TempDir::new("service-json")?;
    let zone = dir.write("service.test.zone", ZONE)?;
    let config = dir.write(
        "lbdns.toml",
        "[[pool]]\nname = \"www.service.test.\"\nttl = 30\npolicy = \"weighted\"\n\
         [[pool.endpoint]]\naddress = \"198.18.9.1\"\nweight = 2\n\
         [[pool.endpoint]]\naddress = \"198.18.9.2\"\n",
    )?;
    let config = config.to_str().context("a UTF-8 path")?;
    let server = Server::lbdns_with(
        &topo,
        &[&zone],
        &topo.server_addrs(53),
        &["--config", config],
    )?;
    let control = server
        .control_socket()
        .context("lbdns has a control socket")?;
    const SENT: u64 = 5;
    for _ in 0..SENT {
        let reply = topo.kdig(
            topo.server_v4_addr(53),
            &Query::new("www.service.test", "A"),
        )?;
        ensure!(reply.rcode == "NOERROR", "www A: {reply:?}");
    }

    // Nothing queries between the two calls: both forms show the same counters.
    let plain = lbdns(&["stats"], control)?;
    let stats: Value = serde_json::from_str(&lbdns(&["stats", "--json"], control)?)
        .context("stats --json is not JSON")?;
    let plain_udp: u64 = plain
        .lines()
        .find_map(|l| l.strip_prefix("udp_queries "))
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no udp_queries line: {plain}"))?;
    let udp = &stats["socket"]["udp"];
    ensure!(
        udp["queries"].as_u64() == Some(plain_udp)
            && plain_udp >= SENT
            && udp["rcodes"]["noerror"].as_u64() >= Some(SENT)
            && stats["xdp"]["state"] == "off",
        "stats --json {stats} against plain {plain}"
    );

    let plain = lbdns(&["status"], control)?;
    ensure!(
        plain.starts_with(
            "pool www.service.test. policy=weighted ttl=30 answers=all on_all_down=all\n"
        ),
        "plain status uses the configuration's spellings:\n{plain}"
    );
    let status: Value = serde_json::from_str(&lbdns(&["status", "--json"], control)?)
        .context("status --json is not JSON")?;
    let pool = &status["pools"][0];
    let endpoint = &pool["endpoints"][0];
    ensure!(
        pool["owner"] == "www.service.test."
            && pool["policy"] == "weighted"
            && pool["answers"] == "all"
            && pool["on_all_down"] == "all"
            && endpoint["address"] == "198.18.9.1"
            && endpoint["weight"] == 2
            && endpoint["healthy"] == true
            && endpoint["drained"] == false
            && endpoint["check"].is_null(),
        "status --json: {status}"
    );
    Ok(())
}
