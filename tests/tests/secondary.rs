//! Secondary zones against real primaries (RFC 5936 AXFR, RFC 1995 IXFR, RFC 1996 NOTIFY):
//! NSD and Knot run in the client namespace with their own configuration in a temporary
//! directory (killed when the test ends), lbdns in the server namespace is their secondary.
//!
//! - Knot with `zonefile-load: difference`: a one-name change arrives by IXFR (the status
//!   counter and the log prove it) and the XDP program answers it, a bounded wait after the
//!   NOTIFY (the figure is printed, not asserted);
//! - NSD stopped: retries with backoff while the old data is served, SERVFAIL after expire,
//!   recovery when it returns; a NOTIFY from an address that is no primary is REFUSED and
//!   logged;
//! - a restart with the primary down serves the kept copy at once.

#[path = "support/peer.rs"]
mod peer;

use std::net::SocketAddr;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::dig::Query;
use lbdns_tests::{preflight, Server, TempDir, Topology};
use serde_json::Value;

use peer::PeerProgram;

/// Where the primaries listen in the client namespace.
const PRIMARY_PORT: u16 = 5300;
/// Bound on every wait for something the servers do on their own.
const EVENTUALLY: Duration = Duration::from_secs(30);

fn zone(serial: u32, www: &str, expire: u32) -> String {
    format!(
        "$ORIGIN sec.test.\n$TTL 60\n@ SOA ns hostmaster {serial} 3600 1 {expire} 60\n@ NS ns\n\
         ns A 198.18.0.53\nwww A {www}\nmail A 198.18.3.25\n@ MX 10 mail\ntxt TXT \"kept\"\n"
    )
}

/// The TSIG key of the NSD tests: its name, the secret both sides have, and a wrong one.
const KEY: &str = "xfr-key";
const SECRET: &str = "c2Vjb25kYXJ5LXRlc3RzLXRzaWcta2V5LTEyMzQ1Njc4";
const WRONG: &str = "d3Jvbmctc2Vjb25kYXJ5LXRlc3RzLWtleS0xMjM0NTY=";

/// NSD as the primary of sec.test. on the client's IPv4 address, notifying lbdns; with a
/// `secret`, transfers and NOTIFYs are signed with [`KEY`].
fn nsd(topo: &Topology, dir: &TempDir, secret: Option<&str>) -> Result<Server> {
    let d = dir.path().display();
    let (primary, secondary) = (topo.client_v4, topo.server_v4);
    let (key, key_section) = match secret {
        None => ("NOKEY", String::new()),
        Some(secret) => (
            KEY,
            format!("key:\n  name: \"{KEY}\"\n  algorithm: hmac-sha256\n  secret: \"{secret}\"\n"),
        ),
    };
    let conf = format!(
        "server:\n  port: {PRIMARY_PORT}\n  ip-address: {primary}\n  server-count: 1\n\
         zonesdir: \"\"\n  database: \"\"\n  username: \"\"\n  chroot: \"\"\n\
         pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n\
         zonelistfile: \"{d}/zone.list\"\n  verbosity: 2\n\
         remote-control:\n  control-enable: no\n{key_section}\
         zone:\n  name: \"sec.test.\"\n  zonefile: \"{d}/sec.test.zone\"\n\
         provide-xfr: {secondary} {key}\n  notify: {secondary}@53 {key}\n"
    );
    let conf = dir.write("nsd.conf", &conf)?;
    let mut cmd = topo.client.command("nsd");
    cmd.arg("-d").arg("-c").arg(conf);
    let probe = [SocketAddr::new(primary.into(), PRIMARY_PORT)];
    Server::spawn("nsd", cmd, &topo.server, &probe, "sec.test")
}

/// Knot as the primary of sec.test., computing an IXFR from each change of its zone file.
fn knot(topo: &Topology, dir: &TempDir) -> Result<Server> {
    let d = dir.path().display();
    let (primary, secondary) = (topo.client_v4, topo.server_v4);
    // Knot's YAML needs its indentation: one line per entry.
    let conf = [
        "server:".to_owned(),
        format!("  rundir: \"{d}\""),
        format!("  listen: {primary}@{PRIMARY_PORT}"),
        "database:".to_owned(),
        format!("  storage: \"{d}\""),
        "log:".to_owned(),
        "  - target: stderr".to_owned(),
        "    any: info".to_owned(),
        "remote:".to_owned(),
        "  - id: lbdns".to_owned(),
        format!("    address: {secondary}@53"),
        "acl:".to_owned(),
        "  - id: lbdns".to_owned(),
        format!("    address: {secondary}"),
        "    action: transfer".to_owned(),
        "template:".to_owned(),
        "  - id: default".to_owned(),
        format!("    storage: \"{d}\""),
        "    zonefile-load: difference".to_owned(),
        "    journal-content: changes".to_owned(),
        "zone:".to_owned(),
        "  - domain: sec.test.".to_owned(),
        "    file: sec.test.zone".to_owned(),
        "    notify: lbdns".to_owned(),
        "    acl: lbdns".to_owned(),
    ]
    .join("\n");
    let conf = dir.write("knot.conf", &conf)?;
    let mut cmd = topo.client.command("knotd");
    cmd.arg("-c").arg(conf);
    let probe = [SocketAddr::new(primary.into(), PRIMARY_PORT)];
    Server::spawn("knotd", cmd, &topo.server, &probe, "sec.test")
}

/// lbdns as the secondary of sec.test. from the client's IPv4 address, its copy kept in `dir`;
/// with a `secret`, its transfers and NOTIFYs are signed with [`KEY`].
fn lbdns(topo: &Topology, dir: &TempDir, xdp: bool, secret: Option<&str>) -> Result<Server> {
    let primary = topo.client_v4;
    let (tsig, key) = match secret {
        None => (String::new(), String::new()),
        Some(secret) => (
            format!("tsig = \"{KEY}\"\n"),
            format!(
                "\n[[key]]\nname = \"{KEY}\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n"
            ),
        ),
    };
    let config = dir.write(
        "lbdns.toml",
        &format!(
            "[[zone]]\norigin = \"sec.test.\"\nprimaries = [\"{primary}:{PRIMARY_PORT}\"]\n\
             {tsig}file = \"kept/sec.test.zone\"\n\n[secondary]\nmax_retry = 2\n{key}"
        ),
    )?;
    std::fs::create_dir_all(dir.path().join("kept"))?;
    let config = config.display().to_string();
    let mut args = vec!["--config", config.as_str()];
    if xdp {
        args.extend(["--xdp", Topology::SERVER_IF, "--xdp-mode", "native"]);
    }
    Server::lbdns_with(topo, &[], &topo.server_addrs(53), &args)
}

/// The secondary zone's entry of `lbdns status --json`.
fn status(server: &Server) -> Result<Value> {
    let status: Value = serde_json::from_str(&server.control(&["status", "--json"])?)?;
    Ok(status["secondaries"][0].clone())
}

fn counter(server: &Server, name: &str) -> Result<u64> {
    let stats: Value = serde_json::from_str(&server.control(&["stats", "--json"])?)?;
    stats["xdp"]["counters"][name]
        .as_u64()
        .with_context(|| format!("no XDP counter {name}: {stats}"))
}

/// `www.sec.test. A` from the client: the address, or the rcode when there is none.
fn www(topo: &Topology) -> Result<String> {
    let reply = topo.kdig(topo.server_v4_addr(53), &Query::new("www.sec.test", "A"))?;
    Ok(reply
        .answer_rdata("A")
        .first()
        .cloned()
        .unwrap_or(reply.rcode))
}

/// Polls `check` every 50 ms until it holds, for [`EVENTUALLY`] at most.
fn eventually(what: &str, mut check: impl FnMut() -> Result<bool>) -> Result<Duration> {
    let started = Instant::now();
    loop {
        if check()? {
            return Ok(started.elapsed());
        }
        if started.elapsed() > EVENTUALLY {
            bail!("not within {EVENTUALLY:?}: {what}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// A NOTIFY for sec.test. sent with `dig` from `source` in the client namespace.
fn notify_from(topo: &Topology, source: &str, server: SocketAddr) -> Result<String> {
    notify_signed(topo, source, server, None)
}

/// [`notify_from`], signed with [`KEY`] and `secret` when there is one.
fn notify_signed(
    topo: &Topology,
    source: &str,
    server: SocketAddr,
    secret: Option<&str>,
) -> Result<String> {
    let mut query = Query::new("sec.test", "SOA")
        .arg("+opcode=notify")
        .arg("-b")
        .arg(source);
    if let Some(secret) = secret {
        query = query.arg("-y").arg(&format!("hmac-sha256:{KEY}:{secret}"));
    }
    let reply = topo.dig(server, &query)?;
    ensure!(
        reply.opcode == "NOTIFY",
        "not a NOTIFY reply: {}",
        reply.text
    );
    Ok(reply.rcode)
}

#[test]
fn rfc1995_a_one_name_change_arrives_by_ixfr_and_is_served_by_xdp() -> Result<()> {
    preflight(&["knotd", "kdig"])?;
    let topo = Topology::new()?;
    let primary_dir = TempDir::new("secondary-knot")?;
    primary_dir.write("sec.test.zone", &zone(1, "198.18.1.1", 3600))?;
    let primary = knot(&topo, &primary_dir)?;
    let _peer = PeerProgram::attach(&topo.client)?;
    let dir = TempDir::new("secondary-lbdns")?;
    let server = lbdns(&topo, &dir, true, None)?;
    eventually("the first transfer is served", || {
        Ok(www(&topo)? == "198.18.1.1")
    })?;
    // One name changes; Knot computes the difference and notifies.
    primary_dir.write("sec.test.zone", &zone(2, "198.18.1.2", 3600))?;
    // SAFETY: kill(2) on the primary we spawned, still running.
    unsafe { libc::kill(primary.pid() as libc::pid_t, libc::SIGHUP) };
    let waited = eventually("the change is served", || Ok(www(&topo)? == "198.18.1.2"))?;
    println!(
        "one-name change: served {} ms after the primary's reload",
        waited.as_millis()
    );
    // The program serves a change before the zone's status records it: wait for the serial.
    eventually("the status has the new serial", || {
        Ok(status(&server)?["serial"] == 2)
    })?;
    let status = status(&server)?;
    ensure!(
        status["transfers"]["incremental"] == 1,
        "not one IXFR: {status}"
    );
    ensure!(
        server.stderr().contains("kind=\"IXFR\""),
        "no IXFR in the log:\n{}",
        server.stderr()
    );
    // The XDP program answers the new address itself.
    let before = counter(&server, "answered_a")?;
    ensure!(www(&topo)? == "198.18.1.2", "www changed back");
    let after = counter(&server, "answered_a")?;
    ensure!(after == before + 1, "XDP answered {before} then {after}");
    Ok(())
}

#[test]
fn rfc1996_a_stopped_primary_means_retries_then_servfail_at_expiry_then_recovery() -> Result<()> {
    preflight(&["nsd", "kdig", "dig"])?;
    let topo = Topology::new()?;
    let primary_dir = TempDir::new("secondary-nsd")?;
    // Retry 1 s (doubling to `max_retry = 2`), expire 8 s.
    primary_dir.write("sec.test.zone", &zone(1, "198.18.1.1", 8))?;
    let mut primary = nsd(&topo, &primary_dir, None)?;
    let dir = TempDir::new("secondary-lbdns")?;
    let server = lbdns(&topo, &dir, false, None)?;
    eventually("the first transfer is served", || {
        Ok(www(&topo)? == "198.18.1.1")
    })?;
    // A NOTIFY from an address that is not the zone's primary is refused and logged.
    let v6 = topo.client_v6.to_string();
    let refused = notify_from(&topo, &v6, topo.server_v6_addr(53))?;
    ensure!(refused == "REFUSED", "NOTIFY from {v6}: {refused}");
    ensure!(
        server
            .stderr()
            .contains("not a primary of the zone: REFUSED"),
        "not logged:\n{}",
        server.stderr()
    );
    // The primary goes away: a NOTIFY (from its address) starts a refresh that fails.
    primary.stop()?;
    let v4 = topo.client_v4.to_string();
    ensure!(notify_from(&topo, &v4, topo.server_v4_addr(53))? == "NOERROR");
    eventually("two failed refreshes in a row", || {
        Ok(status(&server)?["failures"].as_u64() >= Some(2))
    })?;
    let state = status(&server)?;
    ensure!(
        state["state"] == "ok" && www(&topo)? == "198.18.1.1",
        "the old data is not served while retrying: {state}"
    );
    ensure!(
        state["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot connect")),
        "{state}"
    );
    eventually("SERVFAIL after expire", || Ok(www(&topo)? == "SERVFAIL"))?;
    ensure!(status(&server)?["state"] == "expired");
    ensure!(server.stderr().contains("zone expired"));
    // The primary returns with a new serial: the next retry transfers it.
    primary_dir.write("sec.test.zone", &zone(2, "198.18.1.2", 8))?;
    let _primary = nsd(&topo, &primary_dir, None)?;
    eventually("recovered", || Ok(www(&topo)? == "198.18.1.2"))?;
    eventually("the status says so", || {
        Ok(status(&server)?["state"] == "ok")
    })?;
    Ok(())
}

#[test]
fn a_restart_with_the_primary_down_serves_the_kept_copy_at_once() -> Result<()> {
    preflight(&["nsd", "kdig"])?;
    let topo = Topology::new()?;
    let primary_dir = TempDir::new("secondary-nsd")?;
    primary_dir.write("sec.test.zone", &zone(4, "198.18.1.4", 3600))?;
    let mut primary = nsd(&topo, &primary_dir, None)?;
    let dir = TempDir::new("secondary-lbdns")?;
    let mut server = lbdns(&topo, &dir, false, None)?;
    eventually("the first transfer is served", || {
        Ok(www(&topo)? == "198.18.1.4")
    })?;
    let kept = dir.path().join("kept");
    ensure!(kept.join("sec.test.zone.state").exists());
    server.stop()?;
    primary.stop()?;
    let server = lbdns(&topo, &dir, false, None)?;
    // The first query after start-up gets the kept copy: nothing could have transferred it.
    let first = www(&topo)?;
    ensure!(first == "198.18.1.4", "first answer after restart: {first}");
    ensure!(
        server.stderr().contains("serving the kept copy"),
        "{}",
        server.stderr()
    );
    let copy = std::fs::read_to_string(kept.join("sec.test.zone"))?;
    ensure!(copy.contains("198.18.1.4"), "kept copy:\n{copy}");
    check_no_temporary_left(&kept)
}

#[test]
fn rfc8945_a_transfer_with_a_bad_tsig_key_is_rejected_and_the_old_zone_kept() -> Result<()> {
    preflight(&["nsd", "kdig", "dig"])?;
    let topo = Topology::new()?;
    let primary_dir = TempDir::new("secondary-nsd")?;
    primary_dir.write("sec.test.zone", &zone(1, "198.18.1.1", 3600))?;
    let primary = nsd(&topo, &primary_dir, Some(SECRET))?;
    let dir = TempDir::new("secondary-lbdns")?;
    let mut server = lbdns(&topo, &dir, false, Some(SECRET))?;
    eventually("the signed transfer is served", || {
        Ok(www(&topo)? == "198.18.1.1")
    })?;
    // NOTIFY from the primary's address: signed with the key, accepted; with a wrong secret,
    // NOTAUTH (BADSIG, RFC 8945 §5.2.2); unsigned, REFUSED.
    let v4 = topo.client_v4.to_string();
    let to = topo.server_v4_addr(53);
    ensure!(notify_signed(&topo, &v4, to, Some(SECRET))? == "NOERROR");
    ensure!(notify_signed(&topo, &v4, to, Some(WRONG))? == "NOTAUTH");
    ensure!(notify_from(&topo, &v4, to)? == "REFUSED");
    // Over TCP the same (RFC 1996 §3.1 allows either transport).
    let tcp = Query::new("sec.test", "SOA")
        .tcp()
        .arg("+opcode=notify")
        .arg("-b")
        .arg(&v4)
        .arg("-y")
        .arg(&format!("hmac-sha256:{KEY}:{SECRET}"));
    let reply = topo.dig(to, &tcp)?;
    ensure!(
        reply.opcode == "NOTIFY" && reply.rcode == "NOERROR" && reply.has_flag("aa"),
        "NOTIFY over TCP: {}",
        reply.text
    );
    // lbdns restarts with the wrong secret while the primary has a new serial.
    server.stop()?;
    primary_dir.write("sec.test.zone", &zone(2, "198.18.1.2", 3600))?;
    // SAFETY: kill(2) on the primary we spawned, still running.
    unsafe { libc::kill(primary.pid() as libc::pid_t, libc::SIGHUP) };
    let server = lbdns(&topo, &dir, false, Some(WRONG))?;
    eventually("the transfer is rejected", || {
        Ok(status(&server)?["failures"].as_u64() >= Some(1))
    })?;
    let state = status(&server)?;
    let error = state["last_error"].as_str().unwrap_or_default().to_owned();
    ensure!(
        error.contains("TSIG") || error.contains("BADSIG") || error.contains("BADKEY"),
        "not a TSIG error: {state}"
    );
    ensure!(state["serial"] == 1, "{state}");
    ensure!(www(&topo)? == "198.18.1.1", "the old zone is not served");
    Ok(())
}

/// The copy and its state were replaced by rename: no temporary file is left beside them.
fn check_no_temporary_left(dir: &Path) -> Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    names.sort();
    ensure!(
        names == ["sec.test.zone", "sec.test.zone.state"],
        "files beside the copy: {names:?}"
    );
    Ok(())
}
