//! The two servers: NSD on [`NSD_PORT`], and on [`LBDNS_PORT`] the server under test, both
//! serving the same zones ([`ZONES`], or the signed zones of `signed.rs`) in the server
//! namespace.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use lbdns_tests::{workspace_root, Query, Server, TempDir, Topology};

use crate::peer::PeerProgram;

/// Port lbdns listens on in the server namespace.
pub const LBDNS_PORT: u16 = 53;
/// Port NSD listens on, next to lbdns on the same addresses.
pub const NSD_PORT: u16 = 5300;

/// The zones both servers serve: origin and file, relative to the workspace root.
pub const ZONES: &[(&str, &str)] = &[
    ("example.com", "zones/example.com.zone"),
    ("lbdns.test", "tests/corpus/lbdns.test.zone"),
    ("child.lbdns.test", "tests/corpus/child.lbdns.test.zone"),
];

/// How lbdns serves the corpus: from its sockets alone, or with its XDP program attached in
/// native mode to the server's veth end, answering the hot A and AAAA queries before they reach
/// the sockets (and which must never answer differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sockets,
    Xdp,
}

/// What a server says about itself, configured alike in NSD (`identity:`, `version:`, `nsid:`)
/// and lbdns (`[server]`).
#[derive(Debug)]
pub struct Identity {
    pub identity: &'static str,
    pub version: &'static str,
    /// Text; NSD takes it with its `ascii_` prefix.
    pub nsid: &'static str,
}

/// The identity of `lbdns_identity_agrees_with_nsd`.
pub const IDENTITY: Identity = Identity {
    identity: "ns1.lbdns.test",
    version: "lbdns-test 1",
    nsid: "host-17",
};

/// The DNS Cookies secret both servers are configured with (NSD `cookie-secret:`, lbdns
/// `[cookies] secret`): RFC 9018 cookies made by one are valid for the other, and a query
/// with a client cookie gets the same server cookie from both within the same second.
pub const COOKIE_SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

/// [`ZONES`] with their files as absolute paths.
pub fn zone_paths() -> Vec<(String, PathBuf)> {
    let root = workspace_root();
    ZONES
        .iter()
        .map(|(o, f)| ((*o).to_string(), root.join(f)))
        .collect()
}

/// Starts NSD on `port` of both server addresses, serving `zones` (origin and file), saying
/// `identity` about itself or, without one, nothing.
///
/// The configuration is ours rather than [`Server::nsd`]'s because these settings matter for
/// the comparison:
/// - rate limiting is off: the corpus is a burst from one client;
/// - without an identity, `hide-version`/`hide-identity` make NSD refuse CH TXT `version.bind`
///   and `id.server` like any other question outside its zones, as lbdns does by default,
///   instead of answering with its own build data;
/// - rotation stays off (NSD's default): sections are compared as sets;
/// - `minimal-responses` stays off (NSD's default), so NSD's additional-section processing for
///   MX, SRV and NS targets is there to check lbdns's against; the apex NS RRset NSD adds to
///   positive answers is then a documented divergence.
pub fn start_nsd(
    topo: &Topology,
    port: u16,
    zones: &[(String, PathBuf)],
    identity: Option<&Identity>,
) -> Result<Running> {
    nsd_with(topo, port, zones, identity, None)
}

/// The TSIG key (name, base64 secret) of the secondary mode's transfers and NOTIFYs.
pub const XFR_KEY: (&str, &str) = (
    "xfr-key",
    "ZGlmZmVyZW50aWFsLXNlY29uZGFyeS1rZXktMTIzNDU2Nzg=",
);

/// [`start_nsd`] as lbdns's hidden primary: every zone transferable by lbdns's address with
/// [`XFR_KEY`] (`provide-xfr`), and lbdns told of every change (`notify`, signed).
pub fn start_nsd_primary(
    topo: &Topology,
    port: u16,
    zones: &[(String, PathBuf)],
) -> Result<Running> {
    nsd_with(topo, port, zones, None, Some(topo.server_v4.to_string()))
}

fn nsd_with(
    topo: &Topology,
    port: u16,
    zones: &[(String, PathBuf)],
    identity: Option<&Identity>,
    secondary: Option<String>,
) -> Result<Running> {
    let dir = TempDir::new("differential-nsd")?;
    let d = dir.path().display();
    let mut conf = [
        "server:".to_string(),
        format!("  port: {port}"),
        "  server-count: 1".into(),
        "  zonesdir: \"\"".into(),
        "  database: \"\"".into(),
        "  username: \"\"".into(),
        "  chroot: \"\"".into(),
        format!("  pidfile: \"{d}/nsd.pid\""),
        format!("  xfrdfile: \"{d}/xfrd.state\""),
        format!("  zonelistfile: \"{d}/zone.list\""),
        "  rrl-ratelimit: 0".into(),
        "  rrl-whitelist-ratelimit: 0".into(),
        "  verbosity: 1".into(),
        "  answer-cookie: yes".into(),
        format!("  cookie-secret: \"{COOKIE_SECRET}\""),
        format!("  cookie-secret-file: \"{d}/cookiesecrets.txt\""),
    ]
    .join("\n");
    conf.push('\n');
    match identity {
        None => conf.push_str("  hide-version: yes\n  hide-identity: yes\n"),
        Some(id) => {
            let _ = write!(
                conf,
                "  identity: \"{}\"\n  version: \"{}\"\n  nsid: \"ascii_{}\"\n",
                id.identity, id.version, id.nsid
            );
        }
    }
    for addr in topo.server_addrs(port) {
        let _ = writeln!(conf, "  ip-address: {}@{port}", addr.ip());
    }
    conf.push_str("remote-control:\n  control-enable: no\n");
    let (key, secret) = XFR_KEY;
    if secondary.is_some() {
        let _ = writeln!(
            conf,
            "key:\n  name: \"{key}\"\n  algorithm: hmac-sha256\n  secret: \"{secret}\""
        );
    }
    for (origin, path) in zones {
        let _ = write!(
            conf,
            "zone:\n  name: \"{origin}\"\n  zonefile: \"{}\"\n",
            path.display()
        );
        if let Some(address) = &secondary {
            let _ = writeln!(
                conf,
                "  provide-xfr: {address} {key}\n  notify: {address}@{LBDNS_PORT} {key}"
            );
        }
    }
    let conf_path = dir.write("nsd.conf", &conf)?;
    let mut cmd = topo.server.command("nsd");
    cmd.arg("-d").arg("-c").arg(&conf_path);
    let server = Server::spawn(
        "nsd",
        cmd,
        &topo.client,
        &topo.server_addrs(port),
        &zones[0].0,
    )?;
    Ok(Running {
        server,
        _dir: Some(dir),
        _peer: None,
    })
}

/// A server, the directory holding its configuration and state files if it has one, and in
/// [`Mode::Xdp`] the client's pass-through program; both must outlive the server (fields drop
/// in order: the server first).
#[derive(Debug)]
pub struct Running {
    pub server: Server,
    _dir: Option<TempDir>,
    _peer: Option<PeerProgram>,
}

/// Starts the server under test on [`LBDNS_PORT`], serving `zones`, in `mode`: lbdns, or a
/// second NSD when `LBDNS_TEST_SERVER=nsd` (the harness's switch for validating a suite against
/// the reference implementation: NSD against itself must agree on every query, which proves
/// the corpus, the client and the comparison before lbdns is involved). NSD has no XDP program:
/// in [`Mode::Xdp`] it runs as in [`Mode::Sockets`], and says so.
pub fn start_under_test(
    topo: &Topology,
    zones: &[(String, PathBuf)],
    identity: Option<&Identity>,
    mode: Mode,
) -> Result<Running> {
    match std::env::var("LBDNS_TEST_SERVER").as_deref() {
        Ok("nsd") => {
            if mode == Mode::Xdp {
                println!(
                    "LBDNS_TEST_SERVER=nsd: no XDP program attached (NSD has none); this runs NSD \
                     against NSD as a check of the harness, not of the XDP mode"
                );
            }
            start_nsd(topo, LBDNS_PORT, zones, identity)
        }
        Ok("lbdns") | Err(_) => start_lbdns(topo, zones, identity, mode),
        Ok(other) => bail!("LBDNS_TEST_SERVER={other}: expected `lbdns` or `nsd`"),
    }
}

/// lbdns on [`LBDNS_PORT`] as the secondary of every zone in `zones`, transferred with TSIG
/// ([`XFR_KEY`]) from NSD on [`NSD_PORT`] of the same addresses (see [`start_nsd_primary`]);
/// returns once every zone is served (its SOA answered NOERROR: SERVFAIL until the transfer).
pub fn start_lbdns_secondary(
    topo: &Topology,
    zones: &[(String, PathBuf)],
    mode: Mode,
) -> Result<Running> {
    let dir = TempDir::new("differential-secondary")?;
    let (key, secret) = XFR_KEY;
    let primary = topo.server_v4_addr(NSD_PORT);
    let mut config = format!(
        "[cookies]\nsecret = \"{COOKIE_SECRET}\"\n\n\
         [[key]]\nname = \"{key}\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n"
    );
    for (origin, _) in zones {
        let _ = write!(
            config,
            "\n[[zone]]\norigin = \"{origin}.\"\nprimaries = [\"{primary}\"]\n\
             tsig = \"{key}\"\nfile = \"{origin}.zone\"\n"
        );
    }
    let config = dir.write("lbdns.toml", &config)?.display().to_string();
    let peer = match mode {
        Mode::Sockets => None,
        Mode::Xdp => Some(PeerProgram::attach(&topo.client)?),
    };
    let mut args = vec!["--config", config.as_str()];
    if mode == Mode::Xdp {
        args.extend(["--xdp", Topology::SERVER_IF, "--xdp-mode", "native"]);
    }
    let server = Server::lbdns_with(topo, &[], &topo.server_addrs(LBDNS_PORT), &args)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    for (origin, _) in zones {
        // Bounded by the deadline; each round waits for one kdig and 50 ms.
        loop {
            let reply = topo.kdig(topo.server_v4_addr(LBDNS_PORT), &Query::new(origin, "SOA"))?;
            if reply.rcode == "NOERROR" {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{origin} not transferred within 30 s; lbdns:\n{}",
                    server.stderr()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(Running {
        server,
        _dir: Some(dir),
        _peer: peer,
    })
}

/// lbdns on [`LBDNS_PORT`]; in [`Mode::Xdp`] with `--xdp veth-srv --xdp-mode native`, after the
/// pass-through program is on the client's end (native XDP_TX on a veth reaches the peer only
/// if the peer has a program).
fn start_lbdns(
    topo: &Topology,
    zones: &[(String, PathBuf)],
    identity: Option<&Identity>,
    mode: Mode,
) -> Result<Running> {
    let zones: Vec<&Path> = zones.iter().map(|(_, p)| p.as_path()).collect();
    let listen = topo.server_addrs(LBDNS_PORT);
    let peer = match mode {
        Mode::Sockets => None,
        Mode::Xdp => Some(PeerProgram::attach(&topo.client)?),
    };
    let mut args = match mode {
        Mode::Sockets => vec![],
        Mode::Xdp => vec![
            "--xdp".to_string(),
            Topology::SERVER_IF.to_string(),
            "--xdp-mode".to_string(),
            "native".to_string(),
        ],
    };
    let dir = TempDir::new("differential-lbdns")?;
    let mut config = format!("[cookies]\nsecret = \"{COOKIE_SECRET}\"\n");
    if let Some(id) = identity {
        let _ = write!(
            config,
            "[server]\nidentity = \"{}\"\nversion = \"{}\"\nnsid = \"{}\"\n",
            id.identity, id.version, id.nsid
        );
    }
    let config = dir.write("lbdns.toml", &config)?;
    args.extend(["--config".to_string(), config.display().to_string()]);
    let dir = Some(dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::lbdns_with(topo, &zones, &listen, &args)?;
    Ok(Running {
        server,
        _dir: dir,
        _peer: peer,
    })
}
