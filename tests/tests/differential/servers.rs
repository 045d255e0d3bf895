//! The two servers: NSD on [`NSD_PORT`], and on [`LBDNS_PORT`] the server under test, both
//! serving the same zones ([`ZONES`], or the signed zones of `signed.rs`) in the server
//! namespace.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use lbdns_tests::{workspace_root, Server, TempDir, Topology};

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
    for (origin, path) in zones {
        let _ = write!(
            conf,
            "zone:\n  name: \"{origin}\"\n  zonefile: \"{}\"\n",
            path.display()
        );
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
    })
}

/// A server and the directory holding its configuration and state files, if it has one,
/// which must outlive it (fields drop in order: the server first).
#[derive(Debug)]
pub struct Running {
    pub server: Server,
    _dir: Option<TempDir>,
}

/// Starts the server under test on [`LBDNS_PORT`], serving `zones`: lbdns, or a second NSD when
/// `LBDNS_TEST_SERVER=nsd` (the harness's switch for validating a suite against the reference
/// implementation: NSD against itself must agree on every query, which proves the corpus,
/// the client and the comparison before lbdns is involved).
pub fn start_under_test(
    topo: &Topology,
    zones: &[(String, PathBuf)],
    identity: Option<&Identity>,
) -> Result<Running> {
    match std::env::var("LBDNS_TEST_SERVER").as_deref() {
        Ok("nsd") => start_nsd(topo, LBDNS_PORT, zones, identity),
        Ok("lbdns") | Err(_) => {
            let zones: Vec<&Path> = zones.iter().map(|(_, p)| p.as_path()).collect();
            let listen = topo.server_addrs(LBDNS_PORT);
            let Some(id) = identity else {
                let server = Server::lbdns(topo, &zones, &listen)?;
                return Ok(Running { server, _dir: None });
            };
            let dir = TempDir::new("differential-lbdns")?;
            let config = dir.write(
                "lbdns.toml",
                &format!(
                    "[server]\nidentity = \"{}\"\nversion = \"{}\"\nnsid = \"{}\"\n",
                    id.identity, id.version, id.nsid
                ),
            )?;
            let config = config.display().to_string();
            let server = Server::lbdns_with(topo, &zones, &listen, &["--config", &config])?;
            Ok(Running {
                server,
                _dir: Some(dir),
            })
        }
        Ok(other) => bail!("LBDNS_TEST_SERVER={other}: expected `lbdns` or `nsd`"),
    }
}
