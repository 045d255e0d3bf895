//! DNS Cookies (RFC 7873, RFC 9018) end to end: `dig +cookie` and `kdig +cookie` in the client
//! namespace get server cookies from the XDP program (native mode on the veth; the daemon's
//! counters say it answered) and from the socket path (no XDP); a cookie made with the
//! configured secret, as another host of the fleet would make it, is accepted (a young valid
//! cookie goes back unchanged, an invalid one is replaced); a reload with a new secret applies
//! to both paths without detaching the program.
//!
//! Needs root, kdig, dig and a built `lbdns` binary; without them the tests fail and say so.

use std::{
    net::{IpAddr, SocketAddr},
    time::{SystemTime, UNIX_EPOCH},
};

use lbdns_common::cookie::{self, ClientAddr, SecretKey};
use lbdns_tests::{
    env::pin_to_cpu0, example_zone, preflight, DigResponse, Query, Server, TempDir, Tool, Topology,
};

#[path = "support/peer.rs"]
mod peer;
use peer::PeerProgram;

/// The fleet's secret, as `[cookies]` writes it, and as octets.
const SECRET_HEX: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";
const SECRET: [u8; 16] = [
    0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf,
];
/// The secret a reload rolls over to.
const NEW_SECRET_HEX: &str = "445536bcd2513298075a5d379663c962";
const NEW_SECRET: [u8; 16] = [
    0x44, 0x55, 0x36, 0xbc, 0xd2, 0x51, 0x32, 0x98, 0x07, 0x5a, 0x5d, 0x37, 0x96, 0x63, 0xc9, 0x62,
];
const CLIENT_COOKIE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// lbdns serving the example zone with `[cookies] secret`, natively attached to the veth when
/// `xdp`; the pass-through program on the client's end.
struct Setup {
    // Drop order: the server before the namespaces it runs in.
    server: Server,
    _peer: Option<PeerProgram>,
    dir: TempDir,
    topo: Topology,
}

impl Setup {
    fn new(xdp: bool) -> Self {
        preflight(&["kdig", "dig"]).unwrap_or_else(|error| panic!("{error:#}"));
        let topo = Topology::new().expect("namespaces");
        let peer = xdp
            .then(|| PeerProgram::attach(&topo.client).unwrap_or_else(|error| panic!("{error:#}")));
        let dir = TempDir::new("cookies").expect("temp dir");
        let config = write_config(&dir, SECRET_HEX, None);
        let zone = example_zone();
        let mut args = vec!["--config", config.as_str()];
        if xdp {
            args.extend(["--xdp", Topology::SERVER_IF, "--xdp-mode", "native"]);
        }
        let server = Server::lbdns_with(&topo, &[&zone], &topo.server_addrs(53), &args)
            .unwrap_or_else(|error| panic!("{error:#}"));
        Self {
            server,
            _peer: peer,
            dir,
            topo,
        }
    }

    /// The XDP program's answered counters, A and AAAA summed.
    fn answered(&self) -> u64 {
        let stats = self.server.stats().expect("lbdns stats");
        ["answered_a", "answered_aaaa"]
            .iter()
            .map(|name| stats.get(*name).copied().unwrap_or(0))
            .sum()
    }

    fn ask(&self, tool: Tool, server: SocketAddr, query: &Query) -> DigResponse {
        lbdns_tests::dig::query(tool, &self.topo.client, server, query)
            .unwrap_or_else(|error| panic!("{error:#}"))
    }

    /// The client's address as the server sees it, towards `server`.
    fn client(&self, server: SocketAddr) -> IpAddr {
        match server {
            SocketAddr::V4(_) => IpAddr::V4(self.topo.client_v4),
            SocketAddr::V6(_) => IpAddr::V6(self.topo.client_v6),
        }
    }
}

/// Writes `lbdns.toml` with a `[cookies]` table; returns its path.
fn write_config(dir: &TempDir, secret: &str, previous: Option<&str>) -> String {
    let mut text = format!("[cookies]\nsecret = \"{secret}\"\n");
    if let Some(previous) = previous {
        text.push_str(&format!("previous_secret = \"{previous}\"\n"));
    }
    let path = dir.write("lbdns.toml", &text).expect("config");
    path.display().to_string()
}

/// The COOKIE option's data in a dig or kdig reply, as hex: the hex tokens after `COOKIE:`.
fn reply_cookie(reply: &DigResponse) -> Option<String> {
    let line = reply.text.lines().find(|line| line.contains("COOKIE:"))?;
    let after = line.split_once("COOKIE:")?.1;
    let hex: String = after
        .split_whitespace()
        .take_while(|token| token.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    (!hex.is_empty()).then(|| hex.to_ascii_lowercase())
}

fn hex(octets: &[u8]) -> String {
    octets.iter().map(|b| format!("{b:02x}")).collect()
}

/// The client cookie with the server cookie `secret` makes for `client` at `stamp`: what any
/// host of the fleet would have given it.
fn made(secret: [u8; 16], client: IpAddr, stamp: u32) -> String {
    let addr = match client {
        IpAddr::V4(v4) => ClientAddr::v4(v4.octets()),
        IpAddr::V6(v6) => ClientAddr::v6(v6.octets()),
    };
    let client_word = u64::from_le_bytes(CLIENT_COOKIE);
    let meta = cookie::meta_at(stamp);
    let mac = cookie::mac(&SecretKey::new(secret), client_word, meta, addr);
    hex(&[CLIENT_COOKIE, meta.to_le_bytes(), mac.to_le_bytes()].concat())
}

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as u32
}

/// What both paths must do, each query checked; `answered` reads how many replies the XDP
/// program sent (constant without XDP), and `by_xdp` says whether each must move it by one.
fn check_cookies(setup: &Setup, by_xdp: bool) {
    let topo = &setup.topo;
    for server in [topo.server_v4_addr(53), topo.server_v6_addr(53)] {
        let client = setup.client(server);
        for tool in [Tool::Dig, Tool::Kdig] {
            for rtype in ["A", "AAAA"] {
                let what = format!("{tool:?} {rtype} to {server}");
                let asked = |query: Query| {
                    let before = setup.answered();
                    let reply = setup.ask(tool, server, &query);
                    let moved = setup.answered() - before;
                    assert_eq!(moved, u64::from(by_xdp), "{what}: answered by XDP");
                    assert_eq!(reply.rcode, "NOERROR", "{what}: {}", reply.text);
                    assert!(
                        !reply.answer_rdata(rtype).is_empty(),
                        "{what}: {}",
                        reply.text
                    );
                    reply_cookie(&reply)
                        .unwrap_or_else(|| panic!("{what}: no cookie in {}", reply.text))
                };
                let base = Query::new("www.example.com", rtype).edns(1232);
                // RFC 7873 §5.2.3: a client cookie alone gets a server cookie of RFC 9018:
                // version 1, reserved 0, a time stamp, a hash.
                let first = asked(base.clone().arg("+cookie"));
                assert_eq!(first.len(), 48, "{what}: {first}");
                assert_eq!(&first[16..24], "01000000", "{what}: version and reserved");
                // Sent back, it is answered with a cookie again.
                let again = asked(base.clone().arg(&format!("+cookie={first}")));
                assert_eq!(again[..16], first[..16], "{what}: the client cookie echoed");
                // A cookie made ten minutes ago with the fleet's secret, as another host would
                // have: valid, and young enough to go back unchanged (RFC 9018 §4.3).
                let fleet = made(SECRET, client, now() - 600);
                let reply = asked(base.clone().arg(&format!("+cookie={fleet}")));
                assert_eq!(
                    reply, fleet,
                    "{what}: a valid cookie of the fleet is accepted"
                );
                // Made with another secret: not valid, so a fresh cookie replaces it.
                let foreign = made([9; 16], client, now() - 600);
                let reply = asked(base.clone().arg(&format!("+cookie={foreign}")));
                assert_ne!(reply, foreign, "{what}: a foreign cookie is replaced");
                assert_eq!(
                    reply[..16],
                    foreign[..16],
                    "{what}: the client cookie echoed"
                );
            }
        }
    }
}

/// RFC 7873 §5.2 on the XDP path: every cookie query of `check_cookies` is answered by the
/// program; after a reload with a new secret (the old one as `previous_secret`), cookies of the
/// new secret are accepted by the program still attached.
#[test]
fn rfc7873_dig_and_kdig_get_server_cookies_from_the_xdp_program() {
    pin_to_cpu0().expect("pin to CPU 0");
    let setup = Setup::new(true);
    check_cookies(&setup, true);

    write_config(&setup.dir, NEW_SECRET_HEX, Some(SECRET_HEX));
    setup.server.control(&["reload"]).expect("lbdns reload");
    let server = setup.topo.server_v4_addr(53);
    let client = setup.client(server);
    let young = made(NEW_SECRET, client, now() - 60);
    let before = setup.answered();
    let query = Query::new("www.example.com", "A")
        .edns(1232)
        .arg(&format!("+cookie={young}"));
    let reply = setup.ask(Tool::Dig, server, &query);
    assert_eq!(
        setup.answered() - before,
        1,
        "answered by XDP after the reload"
    );
    assert_eq!(reply_cookie(&reply).as_deref(), Some(young.as_str()));
    // The old secret's cookies are still accepted (RFC 9018 §5), and renewed with the new one.
    let old = made(SECRET, client, now() - 60);
    let query = Query::new("www.example.com", "A")
        .edns(1232)
        .arg(&format!("+cookie={old}"));
    let reply = setup.ask(Tool::Dig, server, &query);
    let renewed = reply_cookie(&reply).expect("a cookie");
    assert_ne!(renewed, old);
}

/// RFC 7873 §5.2 on the socket path: the same answers without XDP.
#[test]
fn rfc7873_dig_and_kdig_get_server_cookies_from_the_socket_path() {
    let setup = Setup::new(false);
    check_cookies(&setup, false);
}
