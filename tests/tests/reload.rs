//! SIGHUP and `lbdns reload` reload the zones; a reload that fails keeps serving what was
//! there (the daemon never loses the data it serves because of a bad edit). `lbdns reload`
//! prints the result, and on failure every `file:line` error, and exits non-zero, as
//! `knotc reload` and `nsd-control reload` do.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use lbdns_tests::env::run_bounded;
use lbdns_tests::{lbdns_bin, preflight, Query, Server, TempDir, Topology};

/// Bound on one `lbdns reload`; reloading this zone takes milliseconds.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(30);

const ZONE: &str = "$ORIGIN reload.test.\n$TTL 60\n@ SOA ns h SERIAL 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\nwww A ADDRESS\n";

fn zone(serial: u32, address: &str) -> String {
    ZONE.replace("SERIAL", &serial.to_string())
        .replace("ADDRESS", address)
}

fn hangup(server: &Server) -> Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .context("cannot run kill")?;
    ensure!(status.success(), "kill -HUP failed");
    Ok(())
}

/// Polls (bounded) until `www.reload.test A` answers `want`.
fn wait_for(topo: &Topology, server: &Server, want: &str) -> Result<()> {
    let addr = topo.server_v4_addr(53);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = Vec::new();
    while Instant::now() < deadline {
        last = topo
            .kdig(addr, &Query::new("www.reload.test", "A"))?
            .answer_rdata("A");
        if last == [want] {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!(
        "www A is {last:?}, want [{want}]; server log:\n{}",
        server.stderr()
    )
}

#[test]
fn sighup_reloads_and_a_broken_zone_keeps_the_old_data() -> Result<()> {
    preflight(&["kdig"])?;
    let topo = Topology::new()?;
    let dir = TempDir::new("reload")?;
    let path = dir.write("reload.test.zone", &zone(1, "198.18.7.1"))?;
    let mut server = Server::lbdns(&topo, &[&path], &topo.server_addrs(53))?;
    wait_for(&topo, &server, "198.18.7.1")?;

    dir.write("reload.test.zone", &zone(2, "198.18.7.2"))?;
    hangup(&server)?;
    wait_for(&topo, &server, "198.18.7.2")?;

    dir.write("reload.test.zone", &zone(3, "not-an-address"))?;
    hangup(&server)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stderr().contains("reload failed") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    let log = server.stderr();
    ensure!(
        log.contains("reload failed"),
        "no reload failure logged:\n{log}"
    );
    ensure!(
        log.contains("reload.test.zone:6:"),
        "the failure does not name file:line:\n{log}"
    );
    server.ensure_alive()?;
    wait_for(&topo, &server, "198.18.7.2")?;

    let status = server.stop()?;
    ensure!(
        status.success(),
        "lbdns did not exit cleanly on SIGTERM: {status}"
    );
    Ok(())
}

/// `lbdns reload --control <control>`: (success, stdout, stderr).
fn reload(control: &Path) -> Result<(bool, String, String)> {
    let out = run_bounded(
        Command::new(lbdns_bin()?)
            .arg("reload")
            .arg("--control")
            .arg(control),
        RELOAD_TIMEOUT,
    )?;
    Ok((out.status.success(), out.stdout, out.stderr))
}

/// What `www.reload.test A` answers now, once.
fn answer(topo: &Topology) -> Result<Vec<String>> {
    Ok(topo
        .kdig(topo.server_v4_addr(53), &Query::new("www.reload.test", "A"))?
        .answer_rdata("A"))
}

#[test]
fn reload_command_reports_success_and_file_line_errors() -> Result<()> {
    preflight(&["kdig"])?;
    let topo = Topology::new()?;
    let dir = TempDir::new("reload-command")?;
    let path = dir.write("reload.test.zone", &zone(1, "198.18.7.1"))?;
    let mut server = Server::lbdns(&topo, &[&path], &topo.server_addrs(53))?;
    let control = server
        .control_socket()
        .context("lbdns has a control socket")?;

    dir.write("reload.test.zone", &zone(2, "198.18.7.2"))?;
    let (ok, stdout, stderr) = reload(control)?;
    ensure!(
        ok && stdout.starts_with("reloaded 1 zone(s) and 0 pool(s)\n")
            && stdout.contains("reload.test.: serial 2, 4 records"),
        "lbdns reload after a good change: ok={ok}\n{stdout}{stderr}"
    );
    // The reply comes once the new data is in service: no waiting.
    ensure!(
        answer(&topo)? == ["198.18.7.2"],
        "after lbdns reload, www A is {:?}",
        answer(&topo)?
    );

    dir.write("reload.test.zone", &zone(3, "not-an-address"))?;
    let (ok, stdout, stderr) = reload(control)?;
    ensure!(
        !ok && stderr.contains("reload failed, still serving the previous zones and pools")
            && stderr.contains("reload.test.zone:6:"),
        "lbdns reload of a broken zone must fail naming file:line: ok={ok}\n{stdout}{stderr}"
    );
    server.ensure_alive()?;
    ensure!(
        answer(&topo)? == ["198.18.7.2"],
        "after a failed reload, www A is {:?}",
        answer(&topo)?
    );
    // The daemon logged the same failure.
    ensure!(
        server.stderr().contains("reload.test.zone:6:"),
        "the failure is not in the daemon's log:\n{}",
        server.stderr()
    );
    let status = server.stop()?;
    ensure!(status.success(), "lbdns did not exit cleanly: {status}");
    Ok(())
}

#[test]
fn reload_command_without_a_daemon_says_so() -> Result<()> {
    let dir = TempDir::new("reload-nodaemon")?;
    // No socket at all.
    let missing = dir.path().join("missing.sock");
    let (ok, stdout, stderr) = reload(&missing)?;
    ensure!(
        !ok && stderr.contains("cannot reach lbdns at")
            && stderr.contains("is `lbdns serve` running?"),
        "lbdns reload with no socket: ok={ok}\n{stdout}{stderr}"
    );
    // A socket file left by a daemon that died: connecting is refused.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale)?);
    let (ok, stdout, stderr) = reload(&stale)?;
    ensure!(
        !ok && stderr.contains("Connection refused")
            && stderr.contains("is `lbdns serve` running?"),
        "lbdns reload with a stale socket: ok={ok}\n{stdout}{stderr}"
    );
    Ok(())
}
