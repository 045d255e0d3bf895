//! Catalog zones (RFC 9432) with Knot as the producer and lbdns as the consumer: Knot runs in
//! the client namespace with its own configuration in a temporary directory, generating
//! `catalog.invalid.` from the zones it marks `catalog-role: member`; lbdns in the server
//! namespace is configured with the catalog only. Every transfer and NOTIFY is signed with one
//! TSIG key: Knot's ACL admits no other, so the members' transfers prove lbdns uses the
//! catalog's key for them.
//!
//! - the members are transferred and served;
//! - a member added on Knot (configuration changed, `knotc reload`) is served;
//! - a member removed is no longer served (REFUSED) and its kept copy is removed;
//! - after a restart with Knot stopped, the remaining members' kept copies are served at once.

use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::dig::Query;
use lbdns_tests::env::run_ok;
use lbdns_tests::{preflight, Server, TempDir, Topology};
use serde_json::Value;

/// Where Knot listens in the client namespace.
const PRIMARY_PORT: u16 = 5300;
/// Bound on every wait for something the servers do on their own.
const EVENTUALLY: Duration = Duration::from_secs(30);
const CATALOG: &str = "catalog.invalid.";
/// The TSIG key that signs the catalog's transfers and, as lbdns uses it for them, the
/// members'.
const KEY: &str = "xfr-key";
const SECRET: &str = "Y2F0YWxvZy10ZXN0cy10c2lnLWtleS0xMjM0NTY3OA==";

/// A member zone whose `www` has `address`.
fn member_zone(origin: &str, address: &str) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 60\n@ SOA ns hostmaster 1 3600 1 3600 60\n@ NS ns\n\
         ns A 198.18.0.53\nwww A {address}\n"
    )
}

/// Knot's configuration: the generated catalog and `members` (each with a zone file in
/// `dir`), all transferable to and notified to lbdns.
fn knot_conf(topo: &Topology, dir: &TempDir, members: &[&str]) -> Result<std::path::PathBuf> {
    let d = dir.path().display();
    let (primary, secondary) = (topo.client_v4, topo.server_v4);
    // Knot's YAML needs its indentation: one line per entry.
    let mut conf = vec![
        "server:".to_owned(),
        format!("  rundir: \"{d}\""),
        format!("  listen: {primary}@{PRIMARY_PORT}"),
        "control:".to_owned(),
        format!("  listen: \"{d}/knot.sock\""),
        "database:".to_owned(),
        format!("  storage: \"{d}\""),
        "log:".to_owned(),
        "  - target: stderr".to_owned(),
        "    any: info".to_owned(),
        "key:".to_owned(),
        format!("  - id: {KEY}"),
        "    algorithm: hmac-sha256".to_owned(),
        format!("    secret: {SECRET}"),
        "remote:".to_owned(),
        "  - id: lbdns".to_owned(),
        format!("    address: {secondary}@53"),
        format!("    key: {KEY}"),
        "acl:".to_owned(),
        "  - id: lbdns".to_owned(),
        format!("    address: {secondary}"),
        format!("    key: {KEY}"),
        "    action: transfer".to_owned(),
        "template:".to_owned(),
        "  - id: default".to_owned(),
        format!("    storage: \"{d}\""),
        "    notify: lbdns".to_owned(),
        "    acl: lbdns".to_owned(),
        "zone:".to_owned(),
        format!("  - domain: {CATALOG}"),
        "    catalog-role: generate".to_owned(),
    ];
    for member in members {
        conf.extend([
            format!("  - domain: {member}"),
            format!("    file: {member}zone"),
            "    catalog-role: member".to_owned(),
            format!("    catalog-zone: {CATALOG}"),
        ]);
    }
    dir.write("knot.conf", &conf.join("\n"))
}

fn knot(topo: &Topology, dir: &TempDir, members: &[&str]) -> Result<Server> {
    let conf = knot_conf(topo, dir, members)?;
    let mut cmd = topo.client.command("knotd");
    cmd.arg("-c").arg(conf);
    let probe = [SocketAddr::new(topo.client_v4.into(), PRIMARY_PORT)];
    Server::spawn("knotd", cmd, &topo.server, &probe, CATALOG)
}

/// Rewrites Knot's configuration with `members` and has it reload (`knotc reload`).
fn knot_reload(topo: &Topology, dir: &TempDir, members: &[&str]) -> Result<()> {
    let conf = knot_conf(topo, dir, members)?;
    run_ok(
        Command::new("knotc").arg("-c").arg(conf).arg("reload"),
        Duration::from_secs(10),
    )?;
    Ok(())
}

/// lbdns consuming the catalog from Knot, its copies kept in `dir/catalog`.
fn lbdns(topo: &Topology, dir: &TempDir) -> Result<Server> {
    let primary = topo.client_v4;
    let config = dir.write(
        "lbdns.toml",
        &format!(
            "[[catalog]]\norigin = \"{CATALOG}\"\nprimaries = [\"{primary}:{PRIMARY_PORT}\"]\n\
             tsig = \"{KEY}\"\ndirectory = \"catalog\"\n\n[secondary]\nmax_retry = 2\n\n\
             [[key]]\nname = \"{KEY}\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n"
        ),
    )?;
    let config = config.display().to_string();
    Server::lbdns_with(topo, &[], &topo.server_addrs(53), &["--config", &config])
}

fn status(server: &Server) -> Result<Value> {
    Ok(serde_json::from_str(
        &server.control(&["status", "--json"])?,
    )?)
}

/// `www.<zone> A` from the client: the address, or the rcode when there is none.
fn www(topo: &Topology, zone: &str) -> Result<String> {
    let reply = topo.kdig(
        topo.server_v4_addr(53),
        &Query::new(&format!("www.{zone}"), "A"),
    )?;
    Ok(reply
        .answer_rdata("A")
        .first()
        .cloned()
        .unwrap_or(reply.rcode))
}

/// Polls `check` every 100 ms until it holds, for [`EVENTUALLY`] at most.
fn eventually(what: &str, mut check: impl FnMut() -> Result<bool>) -> Result<()> {
    let started = Instant::now();
    loop {
        if check()? {
            return Ok(());
        }
        if started.elapsed() > EVENTUALLY {
            bail!("not within {EVENTUALLY:?}: {what}");
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The member zones `lbdns status --json` lists for the catalog.
fn listed(server: &Server) -> Result<Vec<String>> {
    let status = status(server)?;
    let mut zones: Vec<String> = status["catalogs"][0]["members"]
        .as_array()
        .with_context(|| format!("no catalog in the status: {status}"))?
        .iter()
        .filter_map(|m| m["zone"].as_str().map(str::to_owned))
        .collect();
    zones.sort();
    Ok(zones)
}

#[test]
fn rfc9432_members_are_added_removed_and_kept_across_a_restart() -> Result<()> {
    preflight(&["knotd", "knotc", "kdig"])?;
    let topo = Topology::new()?;
    let primary_dir = TempDir::new("catalog-knot")?;
    for (zone, address) in [
        ("one.test.", "198.18.1.1"),
        ("two.test.", "198.18.1.2"),
        ("three.test.", "198.18.1.3"),
    ] {
        primary_dir.write(&format!("{zone}zone"), &member_zone(zone, address))?;
    }
    let mut primary = knot(&topo, &primary_dir, &["one.test.", "two.test."])?;
    let dir = TempDir::new("catalog-lbdns")?;
    let mut server = lbdns(&topo, &dir)?;
    eventually("the members are served", || {
        Ok(www(&topo, "one.test.")? == "198.18.1.1" && www(&topo, "two.test.")? == "198.18.1.2")
    })?;
    ensure!(listed(&server)? == ["one.test.", "two.test."]);
    let text = server.control(&["status"])?;
    ensure!(
        text.contains("catalog catalog.invalid.: 2 member(s)")
            && text.contains("  member one.test. (id ")
            && text.contains("secondary two.test.: ok"),
        "lbdns status:\n{text}"
    );
    ensure!(www(&topo, "three.test.")? == "REFUSED");

    // A member added on the producer is served.
    knot_reload(
        &topo,
        &primary_dir,
        &["one.test.", "two.test.", "three.test."],
    )?;
    eventually("the added member is served", || {
        Ok(www(&topo, "three.test.")? == "198.18.1.3")
    })?;

    // A member removed is no longer served, and its kept copy goes.
    let members = dir.path().join("catalog/members");
    let copy_of = |zone: &str| -> Result<bool> {
        Ok(std::fs::read_dir(&members)?
            .filter_map(|e| e.ok())
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{zone}@"))
            }))
    };
    ensure!(
        copy_of("two.test")?,
        "no kept copy of two.test in {}",
        members.display()
    );
    knot_reload(&topo, &primary_dir, &["one.test.", "three.test."])?;
    eventually("the removed member is refused", || {
        Ok(www(&topo, "two.test.")? == "REFUSED")
    })?;
    ensure!(listed(&server)? == ["one.test.", "three.test."]);
    ensure!(!copy_of("two.test")?, "the removed member's copy is left");
    ensure!(
        status(&server)?["secondaries"]
            .as_array()
            .is_some_and(|zones| zones.len() == 3),
        "the catalog and two members run as secondaries"
    );

    // Restarted with the producer gone: the kept copies are served at once.
    server.stop()?;
    primary.stop()?;
    let server = lbdns(&topo, &dir)?;
    let (one, three) = (www(&topo, "one.test.")?, www(&topo, "three.test.")?);
    ensure!(
        one == "198.18.1.1" && three == "198.18.1.3",
        "after the restart: one.test {one}, three.test {three}\n{}",
        server.stderr()
    );
    ensure!(www(&topo, "two.test.")? == "REFUSED");
    ensure!(listed(&server)? == ["one.test.", "three.test."]);
    Ok(())
}
