//! SIGHUP reloads the zones; a reload that fails keeps serving what was there (the daemon
//! never loses the data it serves because of a bad edit).

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use lbdns_tests::{preflight, Query, Server, TempDir, Topology};

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
