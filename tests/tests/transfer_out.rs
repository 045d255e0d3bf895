//! Serving zone transfers and signed queries, checked with real peers across a veth pair:
//! - kdig and dig AXFR, allowed and refused by `provide_xfr`, with and without TSIG, with a
//!   wrong secret (BADSIG) and an unknown key (BADKEY); a pool owner's zone records go out,
//!   never the pool's answers (issue 14, part 4); kdig IXFR, current and behind (RFC 1995);
//! - signed ordinary queries over UDP and TCP get signed replies kdig verifies (RFC 8945);
//! - NSD as a secondary of lbdns (TSIG, `allow-notify`) transfers the zone (a stream of
//!   signed messages), answers as lbdns does, and refreshes at once on the NOTIFY lbdns sends after a reload with a new serial
//!   (RFC 1996), its own refresh timer being an hour away.

use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use hickory_proto::rr::{Name, RData, RecordType};
use lbdns::tsig::{Algorithm, Key};
use lbdns::xfr::{self, Fetched, Limits, Primary};
use lbdns::zone::Zone;
use lbdns_tests::env::{lbdns_bin, run_bounded};
use lbdns_tests::{preflight, Namespace, Server, TempDir, Topology};

const SECRET: &str = "c2VjcmV0LWZvci1sYmRucy10c2lnLXRlc3RzLTEyMzQ1Ng==";
const WRONG: &str = "d3Jvbmctc2VjcmV0LWZvci1sYmRucy10c2lnLXRlc3Q=";
const POOL_ADDRESS: &str = "198.18.77.1";

/// The zone; `filler` names more make its transfer take several messages.
fn zone_text(serial: u32, mail: &str, filler: usize) -> String {
    let mut text = format!(
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 120\n\
         @ NS ns1\nns1 A 198.18.0.53\nwww TXT \"zone data at a pool owner\"\n\
         mail A {mail}\nmail AAAA 2001:db8::25\n@ MX 10 mail\nalias CNAME mail\n\
         _sip._tcp SRV 10 5 5060 mail\n"
    );
    for i in 0..filler {
        text.push_str(&format!("filler{i} TXT \"{}\"\n", "f".repeat(50)));
    }
    text
}

/// Names in the NSD test's zone: its transfer is a stream of several signed messages.
const FILLER: usize = 2000;

/// lbdns in the server namespace. Without `notify`, the zone may be transferred by the
/// client's IPv4 address unsigned and by its IPv6 address with `xfr-key`; with it, by the
/// secondary at that address with `xfr-key`, and NOTIFY goes there.
fn lbdns(topo: &Topology, dir: &TempDir, notify: Option<SocketAddr>) -> Result<Server> {
    let filler = if notify.is_some() { FILLER } else { 0 };
    dir.write("example.com.zone", &zone_text(1, "198.18.0.25", filler))?;
    let lists = match notify {
        None => format!(
            "provide_xfr = [\"{} NOKEY\", \"{} xfr-key\"]\n",
            topo.client_v4, topo.client_v6
        ),
        Some(secondary) => format!(
            "provide_xfr = [\"{} xfr-key\"]\nnotify = [\"{secondary} xfr-key\"]\n",
            secondary.ip()
        ),
    };
    let config = format!(
        "[[zone]]\nfile = \"example.com.zone\"\n{lists}\
         [[key]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\
         [[pool]]\nname = \"www.example.com.\"\n[[pool.endpoint]]\naddress = \"{POOL_ADDRESS}\"\n"
    );
    let config = dir.write("lbdns.toml", &config)?;
    let config = config.to_str().context("path")?;
    Server::lbdns_probed(
        topo,
        &[],
        &topo.server_addrs(53),
        &topo.server_addrs(53),
        &["--config", config],
    )
}

/// Runs kdig or dig from the client namespace; stdout and stderr together.
fn tool(ns: &Namespace, program: &str, args: &[&str]) -> Result<String> {
    let out = run_bounded(ns.command(program).args(args), Duration::from_secs(20))?;
    Ok(out.combined())
}

fn server(address: SocketAddr) -> [String; 3] {
    [
        format!("@{}", address.ip()),
        "-p".into(),
        address.port().to_string(),
    ]
}

fn axfr(ns: &Namespace, program: &str, at: SocketAddr, key: Option<&str>) -> Result<String> {
    let mut args: Vec<String> = server(at).to_vec();
    if let Some(key) = key {
        args.extend(["-y".into(), key.into()]);
    }
    args.extend(["AXFR".into(), "example.com.".into()]);
    tool(
        ns,
        program,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

/// The records of a transfer's output, one per line.
fn records(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty() && !l.contains("\tTSIG\t"))
        .collect()
}

#[test]
fn rfc5936_axfr_is_served_to_the_allow_list_only_with_and_without_tsig() -> Result<()> {
    preflight(&["kdig", "dig"])?;
    let topo = Topology::new()?;
    let dir = TempDir::new("xfr-out")?;
    let _server = lbdns(&topo, &dir, None)?;
    let v4 = topo.server_v4_addr(53);
    let v6 = topo.server_v6_addr(53);
    let key = format!("hmac-sha256:xfr-key:{SECRET}");

    // Allowed unsigned over IPv4: the zone between two SOAs, the pool owner's zone records.
    let out = axfr(&topo.client, "kdig", v4, None)?;
    let lines = records(&out);
    ensure!(lines.len() == 10, "{} records:\n{out}", lines.len());
    ensure!(
        lines[0].contains("\tSOA\t") && lines[9].contains("\tSOA\t"),
        "{out}"
    );
    ensure!(
        out.contains("zone data at a pool owner") && !out.contains(POOL_ADDRESS),
        "the pool's answers went out, or the zone's records did not:\n{out}"
    );
    // Refused: IPv6 unsigned (its entry wants the key), IPv4 signed (its entry is NOKEY).
    let out = axfr(&topo.client, "kdig", v6, None)?;
    ensure!(out.contains("'REFUSED'"), "unsigned over IPv6:\n{out}");
    let out = axfr(&topo.client, "kdig", v4, Some(&key))?;
    ensure!(out.contains("'REFUSED'"), "signed over IPv4:\n{out}");
    // Allowed signed over IPv6; both tools verify every message's TSIG.
    let out = axfr(&topo.client, "kdig", v6, Some(&key))?;
    ensure!(records(&out).len() == 10, "kdig with TSIG:\n{out}");
    ensure!(
        out.contains("\tTSIG\t") && !out.contains("WARNING") && !out.contains(";; ERROR"),
        "kdig did not verify the signed transfer:\n{out}"
    );
    let out = axfr(&topo.client, "dig", v6, Some(&key))?;
    ensure!(
        out.contains("XFR size: 10 records") && !out.contains("failure"),
        "dig with TSIG:\n{out}"
    );
    // A wrong secret, an unknown key.
    let out = axfr(
        &topo.client,
        "kdig",
        v6,
        Some(&format!("hmac-sha256:xfr-key:{WRONG}")),
    )?;
    ensure!(out.contains("'BADSIG'"), "wrong secret:\n{out}");
    let out = axfr(
        &topo.client,
        "kdig",
        v6,
        Some(&format!("hmac-sha256:other-key:{SECRET}")),
    )?;
    ensure!(out.contains("'BADKEY'"), "unknown key:\n{out}");
    // RFC 1995 §4: IXFR from our serial gets the SOA alone; from an older one, the zone.
    let at = server(v4);
    let ixfr = |serial: &str| -> Result<String> {
        let mut args: Vec<&str> = at.iter().map(String::as_str).collect();
        args.extend([serial, "example.com."]);
        tool(&topo.client, "kdig", &args)
    };
    let out = ixfr("IXFR=1")?;
    let lines = records(&out);
    ensure!(
        lines.len() == 1 && lines[0].contains("\tSOA\t"),
        "IXFR when current:\n{out}"
    );
    let out = ixfr("IXFR=0")?;
    ensure!(records(&out).len() == 10, "IXFR from serial 0:\n{out}");
    Ok(())
}

#[test]
fn rfc8945_signed_queries_get_signed_replies_over_udp_and_tcp() -> Result<()> {
    preflight(&["kdig"])?;
    let topo = Topology::new()?;
    let dir = TempDir::new("xfr-out-query")?;
    let _server = lbdns(&topo, &dir, None)?;
    let at = server(topo.server_v4_addr(53));
    for transport in ["+notcp", "+tcp"] {
        let key = format!("hmac-sha256:xfr-key:{SECRET}");
        let mut args: Vec<&str> = at.iter().map(String::as_str).collect();
        args.extend(["-y", &key, transport, "www.example.com.", "A"]);
        let out = tool(&topo.client, "kdig", &args)?;
        ensure!(
            out.contains(POOL_ADDRESS) && out.contains("TSIG PSEUDOSECTION"),
            "{transport}:\n{out}"
        );
        ensure!(
            !out.contains("WARNING"),
            "{transport}: not verified:\n{out}"
        );
        let wrong = format!("hmac-sha256:xfr-key:{WRONG}");
        let mut args: Vec<&str> = at.iter().map(String::as_str).collect();
        args.extend(["-y", &wrong, transport, "www.example.com.", "A"]);
        let out = tool(&topo.client, "kdig", &args)?;
        ensure!(
            out.contains(" BADSIG ") && !out.contains(POOL_ADDRESS),
            "{transport}, wrong secret:\n{out}"
        );
    }
    Ok(())
}

/// NSD in the client namespace as a secondary of the lbdns at `primary`.
fn nsd_secondary(topo: &Topology, dir: &TempDir, primary: SocketAddr) -> Result<Server> {
    let d = dir.path().display();
    let listen = SocketAddr::new(topo.client_v4.into(), 53);
    let conf = format!(
        "server:\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  \
         username: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  \
         ip-address: {}\n  server-count: 1\n  verbosity: 2\n\
         remote-control:\n  control-enable: no\n\
         key:\n  name: \"xfr-key\"\n  algorithm: hmac-sha256\n  secret: \"{SECRET}\"\n\
         zone:\n  name: \"example.com\"\n  zonefile: \"{d}/secondary.zone\"\n  \
         request-xfr: {} xfr-key\n  allow-notify: {} xfr-key\n",
        listen.ip(),
        primary.ip(),
        primary.ip()
    );
    let path = dir.write("nsd.conf", &conf)?;
    let mut cmd = topo.client.command("nsd");
    cmd.arg("-d").arg("-c").arg(&path);
    Server::spawn("nsd", cmd, &topo.server, &[listen], "example.com.")
}

/// The answer lines of `name type` from `at`, sorted, TTLs included.
fn answers(ns: &Namespace, at: SocketAddr, name: &str, rtype: &str) -> Result<Vec<String>> {
    let mut args: Vec<String> = server(at).to_vec();
    args.extend(["+short".into(), name.into(), rtype.into()]);
    let out = tool(
        ns,
        "kdig",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    lines.sort();
    Ok(lines)
}

/// Polls (bounded) until `at` serves `serial` for example.com.
fn wait_for_serial(ns: &Namespace, at: SocketAddr, serial: u32, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    let mut last = Vec::new();
    while Instant::now() < deadline {
        last = answers(ns, at, "example.com.", "SOA")?;
        if last
            .first()
            .is_some_and(|soa| soa.split_whitespace().nth(2) == Some(&serial.to_string()))
        {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(200));
    }
    anyhow::bail!("{at} did not serve serial {serial} within {within:?}; last: {last:?}")
}

#[test]
fn rfc1996_nsd_secondary_transfers_with_tsig_and_refreshes_on_notify() -> Result<()> {
    preflight(&["kdig", "nsd"])?;
    let topo = Topology::new()?;
    let dir = TempDir::new("xfr-out-nsd")?;
    let nsd_dir = TempDir::new("xfr-out-nsd-secondary")?;
    let secondary = SocketAddr::new(topo.client_v4.into(), 53);
    let primary = topo.server_v4_addr(53);
    let lbdns = lbdns(&topo, &dir, Some(secondary))?;
    let nsd = nsd_secondary(&topo, &nsd_dir, primary)?;
    wait_for_serial(&topo.client, secondary, 1, Duration::from_secs(30))
        .with_context(|| nsd.stderr())?;
    let log = lbdns.stderr();
    let messages = log
        .lines()
        .find(|l| l.contains("of example.com. serial 1 to"))
        .and_then(|l| l.rsplit(": ").next())
        .and_then(|tail| tail.split_whitespace().next())
        .and_then(|count| count.parse::<usize>().ok());
    ensure!(
        messages.is_some_and(|m| m > 1),
        "the transfer was not a stream of messages ({messages:?}):\n{log}"
    );
    for (name, rtype) in [
        ("example.com.", "NS"),
        ("example.com.", "MX"),
        ("mail.example.com.", "A"),
        ("mail.example.com.", "AAAA"),
        ("alias.example.com.", "CNAME"),
        ("_sip._tcp.example.com.", "SRV"),
        ("www.example.com.", "TXT"),
        ("filler1999.example.com.", "TXT"),
    ] {
        let theirs = answers(&topo.client, secondary, name, rtype)?;
        let ours = answers(&topo.client, primary, name, rtype)?;
        ensure!(
            !ours.is_empty() && theirs == ours,
            "{name} {rtype}: NSD {theirs:?}, lbdns {ours:?}"
        );
    }
    // A new serial and a changed record, then a reload: the NOTIFY brings NSD along long
    // before its refresh (an hour).
    dir.write("example.com.zone", &zone_text(2, "198.18.0.26", FILLER))?;
    let status = Command::new("kill")
        .args(["-HUP", &lbdns.pid().to_string()])
        .status()?;
    ensure!(status.success(), "kill -HUP");
    wait_for_serial(&topo.client, secondary, 2, Duration::from_secs(20))
        .with_context(|| format!("lbdns:\n{}\nNSD:\n{}", lbdns.stderr(), nsd.stderr()))?;
    ensure!(
        answers(&topo.client, secondary, "mail.example.com.", "A")? == ["198.18.0.26"],
        "NSD did not take the change"
    );
    // NSD asked for the change only, and lbdns had kept it (RFC 1995).
    ensure!(
        lbdns
            .stderr()
            .contains("IXFR of example.com. from serial 1 to 2, 1 difference(s)"),
        "no incremental transfer:\n{}",
        lbdns.stderr()
    );
    ensure!(
        lbdns.stderr().contains("NOTIFY answered"),
        "lbdns did not log the NOTIFY's answer:\n{}",
        lbdns.stderr()
    );
    Ok(())
}

/// `xfr::fetch` run from the client namespace.
fn fetch_from(topo: &Topology, primary: &Primary, current: Option<Zone>) -> Result<Fetched> {
    let (primary, origin) = (primary.clone(), Name::from_ascii("example.com.")?);
    topo.client.enter(move || -> Result<Fetched> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let fetched = runtime.block_on(xfr::fetch(
            &primary,
            &origin,
            current
                .map(|zone| lbdns::authority::ZoneData::new(&zone))
                .as_ref(),
            &Limits::default(),
        ))?;
        Ok(fetched)
    })?
}

fn mail_address(zone: &Zone) -> Vec<String> {
    zone.records
        .iter()
        .filter(|r| {
            r.record.record_type() == RecordType::A
                && r.record.name.to_ascii() == "mail.example.com."
        })
        .map(|r| match &r.record.data {
            RData::A(a) => a.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn lbdns_transfers_to_lbdns_whole_then_incrementally_with_tsig() -> Result<()> {
    preflight(&["kdig"])?;
    let topo = Topology::new()?;
    let dir = TempDir::new("xfr-out-chain")?;
    let server = lbdns(&topo, &dir, None)?;
    let key = Key::new(
        Name::from_ascii("xfr-key.")?,
        Algorithm::HmacSha256,
        data_encoding::BASE64.decode(SECRET.as_bytes())?,
    );
    let primary = Primary {
        address: topo.server_v6_addr(53),
        key: Some(Arc::new(key)),
    };
    let Fetched::Full { zone } = fetch_from(&topo, &primary, None)? else {
        anyhow::bail!("the first transfer was not a whole zone");
    };
    ensure!(zone.records.len() == 9, "{} records", zone.records.len());
    ensure!(mail_address(&zone) == ["198.18.0.25"]);
    dir.write("example.com.zone", &zone_text(2, "198.18.0.26", 0))?;
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()?;
    ensure!(status.success(), "kill -HUP");
    wait_for_serial(
        &topo.client,
        topo.server_v4_addr(53),
        2,
        Duration::from_secs(10),
    )?;
    let held = zone.clone();
    let Fetched::Incremental { patch } = fetch_from(&topo, &primary, Some(held))? else {
        anyhow::bail!(
            "the second transfer was not incremental:\n{}",
            server.stderr()
        );
    };
    let mut zone = zone;
    patch.apply_to(&mut zone);
    let changed_names = patch.changed_names();
    ensure!(mail_address(&zone) == ["198.18.0.26"], "{zone:?}");
    ensure!(
        changed_names
            .iter()
            .any(|n| n.to_ascii() == "mail.example.com."),
        "{changed_names:?}"
    );
    let fetched = fetch_from(&topo, &primary, Some(zone))?;
    ensure!(
        matches!(fetched, Fetched::UpToDate { serial: 2 }),
        "{fetched:?}"
    );
    Ok(())
}

#[test]
fn rfc1996_an_lbdns_secondary_of_an_lbdns_primary_follows_it_at_its_notify() -> Result<()> {
    preflight(&["kdig"])?;
    let topo = Topology::new()?;
    let primary_dir = TempDir::new("xfr-out-chain-primary")?;
    let secondary_dir = TempDir::new("xfr-out-chain-secondary")?;
    let key = format!(
        "[[key]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n"
    );
    // The primary in the client namespace, on a port of its own.
    let primary_at = SocketAddr::new(topo.client_v4.into(), 5300);
    primary_dir.write("example.com.zone", &zone_text(1, "198.18.0.25", 0))?;
    let config = primary_dir.write(
        "primary.toml",
        &format!(
            "[[zone]]\nfile = \"example.com.zone\"\nprovide_xfr = [\"{0} xfr-key\"]\n\
             notify = [\"{0}:53 xfr-key\"]\n{key}",
            topo.server_v4
        ),
    )?;
    let mut cmd = topo.client.command(lbdns_bin()?);
    cmd.arg("serve")
        .arg("--config")
        .arg(&config)
        .args(["--listen", &primary_at.to_string()])
        .arg("--control")
        .arg(primary_dir.path().join("control.sock"))
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1");
    let primary = Server::spawn(
        "lbdns primary",
        cmd,
        &topo.server,
        &[primary_at],
        "example.com.",
    )?;
    // The secondary in the server namespace, its refresh an hour away.
    let config = secondary_dir.write(
        "secondary.toml",
        &format!(
            "[[zone]]\norigin = \"example.com.\"\nprimaries = [\"{primary_at}\"]\n\
             tsig = \"xfr-key\"\nfile = \"kept.zone\"\n{key}"
        ),
    )?;
    let config = config.to_str().context("path")?;
    let secondary = Server::lbdns_probed(
        &topo,
        &[],
        &topo.server_addrs(53),
        &topo.server_addrs(53),
        &["--config", config],
    )?;
    let secondary_at = topo.server_v4_addr(53);
    wait_for_serial(&topo.client, secondary_at, 1, Duration::from_secs(30))
        .with_context(|| secondary.stderr())?;
    for (name, rtype) in [
        ("example.com.", "MX"),
        ("mail.example.com.", "A"),
        ("_sip._tcp.example.com.", "SRV"),
        ("www.example.com.", "TXT"),
    ] {
        let theirs = answers(&topo.client, secondary_at, name, rtype)?;
        let ours = answers(&topo.client, primary_at, name, rtype)?;
        ensure!(
            !ours.is_empty() && theirs == ours,
            "{name} {rtype}: secondary {theirs:?}, primary {ours:?}"
        );
    }
    primary_dir.write("example.com.zone", &zone_text(2, "198.18.0.26", 0))?;
    let status = Command::new("kill")
        .args(["-HUP", &primary.pid().to_string()])
        .status()?;
    ensure!(status.success(), "kill -HUP");
    wait_for_serial(&topo.client, secondary_at, 2, Duration::from_secs(20)).with_context(|| {
        format!(
            "primary:\n{}\nsecondary:\n{}",
            primary.stderr(),
            secondary.stderr()
        )
    })?;
    ensure!(answers(&topo.client, secondary_at, "mail.example.com.", "A")? == ["198.18.0.26"]);
    let log = primary.stderr();
    ensure!(
        log.contains("NOTIFY answered")
            && log.contains("IXFR of example.com. from serial 1 to 2, 1 difference(s)"),
        "the primary's log shows no NOTIFY answered or no incremental transfer:\n{log}"
    );
    Ok(())
}
