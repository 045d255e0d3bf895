//! Response rate limiting end to end: lbdns with `[rrl]` (the defaults: 200/s per prefix and
//! response, slip 2) and native XDP on two veth links. One source of a second client prefix
//! (198.18.1.0/24, on a link of its own) floods at a fixed rate while the client
//! asks 100 times a second: it must lose no more than in a control run without the flood (two
//! cores and a veth drop packets by themselves). A client of the flooding prefix that gets a truncated reply asks again over
//! TCP, which is never limited, and gets its answer. A client that shows its server cookie is
//! exempt; one that shows a client cookie alone slips as BADCOOKIE.
//!
//! Needs root and a built `lbdns` binary; without them the tests fail and say so.

use std::{
    net::{SocketAddr, UdpSocket},
    time::{Duration, Instant},
};

use lbdns_tests::{
    client::{tcp_query, udp_exchange},
    example_zone,
    link::{self, FloodLink},
    preflight,
    wire::{flag, rtype, Builder, Message},
    Server, TempDir, Topology,
};

#[path = "support/peer.rs"]
mod peer;
use peer::PeerProgram;

/// The quiet client's rate and how many queries it sends.
const QUIET_QPS: u64 = 100;
const QUIET_QUERIES: u16 = 300;
/// The flood: 25 times the rate, for long enough to cover the quiet client's run.
const FLOOD_QPS: u32 = 5000;
const FLOOD_SECS: u32 = 6;

/// lbdns with `[rrl]` at its defaults on the client's link and the flooder's
/// (`lbdns_tests::link`, the second client prefix), natively.
struct Setup {
    // Drop order: the server before the namespaces it runs in.
    server: Server,
    flood: FloodLink,
    topo: Topology,
    /// Holds the configuration file while the server runs.
    _dir: TempDir,
}

impl Setup {
    fn new() -> Self {
        preflight(&[]).unwrap_or_else(|error| panic!("{error:#}"));
        let dir = TempDir::new("rrl-veth").expect("temp dir");
        let topo = Topology::new().expect("namespaces");
        let flood = FloodLink::new(&topo.server).expect("the flooder's link");
        let config = dir.path().join("lbdns.toml");
        std::fs::write(&config, "[rrl]\n").expect("config");
        let config = config.to_str().expect("UTF-8 path").to_owned();
        let server = Server::lbdns_with(
            &topo,
            &[&example_zone()],
            &topo.server_addrs(53),
            &[
                "--config",
                &config,
                "--xdp",
                Topology::SERVER_IF,
                "--xdp",
                link::SERVER_IF,
                "--xdp-mode",
                "native",
            ],
        )
        .unwrap_or_else(|error| panic!("{error:#}"));
        Self {
            server,
            flood,
            topo,
            _dir: dir,
        }
    }
}

/// Sends [`QUIET_QUERIES`] hot queries from the client's address at [`QUIET_QPS`] and returns
/// how many got no answer.
fn quiet_client(topo: &Topology) -> u16 {
    let server = topo.server_v4_addr(53);
    let socket = topo
        .client
        .enter(move || -> std::io::Result<UdpSocket> {
            let socket = UdpSocket::bind("0.0.0.0:0")?;
            socket.connect(server)?;
            socket.set_nonblocking(true)?;
            Ok(socket)
        })
        .expect("enter the client namespace")
        .expect("the quiet client's socket");
    let mut answered = std::collections::BTreeSet::new();
    let mut buf = [0u8; 1500];
    let started = Instant::now();
    let pace = Duration::from_millis(1000 / QUIET_QPS);
    let mut drain = |answered: &mut std::collections::BTreeSet<u16>| {
        while let Ok(n) = socket.recv(&mut buf) {
            if n >= 12 && buf[2] & 0x82 == 0x80 && buf[7] > 0 {
                answered.insert(u16::from_be_bytes([buf[0], buf[1]]));
            }
        }
    };
    for id in 0..QUIET_QUERIES {
        let query = Builder::query(id, "www.example.com", rtype::A).build();
        // A send can fail while the neighbour settles: an unanswered query.
        let _ = socket.send(&query);
        let next = started + pace * u32::from(id + 1);
        // Bounded: one pace per query.
        while Instant::now() < next {
            drain(&mut answered);
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // The last replies' time to arrive.
    std::thread::sleep(Duration::from_millis(500));
    drain(&mut answered);
    QUIET_QUERIES - answered.len() as u16
}

/// Floods the hot name from the flooder's address, [`FLOOD_QPS`] for [`FLOOD_SECS`], from a
/// thread of its own; the thread returns how many queries it sent. (kxdpgun flooded here
/// before: it loads an XDP program of its own, which some kernels refuse, and then exits 0
/// having sent nothing.)
fn flood(setup: &Setup) -> std::thread::JoinHandle<u32> {
    let server: SocketAddr = format!("{}:53", link::SERVER_V4).parse().expect("address");
    let socket = setup
        .flood
        .ns
        .enter(move || -> std::io::Result<UdpSocket> {
            let socket = UdpSocket::bind("0.0.0.0:0")?;
            socket.connect(server)?;
            Ok(socket)
        })
        .expect("enter the flooder's namespace")
        .expect("the flooder's socket");
    std::thread::spawn(move || {
        let query = Builder::query(0x4242, "www.example.com", rtype::A).build();
        let started = Instant::now();
        let mut sent = 0;
        // Bounded in count and time: a millisecond's share at a time.
        for ms in 0..FLOOD_SECS * 1000 {
            for _ in 0..FLOOD_QPS / 1000 {
                sent += u32::from(socket.send(&query).is_ok());
            }
            let next = started + Duration::from_millis(u64::from(ms) + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        sent
    })
}

#[test]
fn a_quiet_prefix_loses_no_more_during_a_flood_from_another() {
    let setup = Setup::new();
    let (topo, server) = (&setup.topo, &setup.server);
    let _peer = PeerProgram::attach(&topo.client).unwrap_or_else(|e| panic!("{e:#}"));
    // Native XDP_TX reaches the flooder's veth end only with a program there too.
    let _flood_peer = PeerProgram::attach_to(&setup.flood.ns, link::CLIENT_IF)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let control_lost = quiet_client(topo);
    let before = server.stats().expect("lbdns stats");
    let gun = flood(&setup);
    std::thread::sleep(Duration::from_secs(1));
    let flood_lost = quiet_client(topo);
    let sent = gun.join().expect("the flooder");
    assert!(
        sent > FLOOD_QPS * FLOOD_SECS / 2,
        "the flooder sent {sent} queries"
    );
    let after = server.stats().expect("lbdns stats");
    let moved =
        |name: &str| after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
    println!(
        "quiet client lost {control_lost} of {QUIET_QUERIES} without the flood, {flood_lost} \
         with it; the flood: {sent} sent, {} limited ({} slipped, {} dropped)",
        moved("rate_limited"),
        moved("rrl_slipped_v4"),
        moved("rrl_dropped_v4"),
    );
    assert!(moved("rate_limited") > 0, "the flood was limited");
    assert!(moved("rrl_slipped_v4") > 0, "and slipped");
    // The daemon logged the flooder's prefix being limited, once, not per packet; its stop
    // comes with the heartbeat thread's next look once the flood has ended.
    std::thread::sleep(Duration::from_secs(2));
    let log = server.stderr();
    let started: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("rate limiting started"))
        .collect();
    assert_eq!(started.len(), 1, "{log}");
    assert!(started[0].contains("198.18.1.0"), "{log}");
    assert!(log.contains("rate limiting stopped"), "{log}");
    // Two cores and a veth drop by themselves: the control run says how much; one percent of
    // the queries on top, for a run that lost none.
    assert!(
        flood_lost <= control_lost.max(QUIET_QUERIES / 100),
        "the quiet client lost {flood_lost} with the flood, {control_lost} without"
    );
}

#[test]
fn a_limited_client_that_retries_over_tcp_gets_its_answer() {
    let setup = Setup::new();
    let topo = &setup.topo;
    let _peer = PeerProgram::attach(&topo.client).unwrap_or_else(|e| panic!("{e:#}"));
    let server: SocketAddr = topo.server_v4_addr(53);
    // The burst (200) and then some, from the client's address: the bucket runs dry and the
    // limited replies slip as truncated ones.
    let mut truncated = None;
    for id in 0..1000u16 {
        let query = Builder::query(id, "www.example.com", rtype::A).build();
        let reply = udp_exchange(&topo.client, server, &query, Duration::from_millis(200))
            .expect("UDP exchange");
        if let Some(reply) = reply {
            let flags = u16::from_be_bytes([reply[2], reply[3]]);
            if flags & flag::TC != 0 {
                assert_eq!(reply.len(), query.len(), "the question alone");
                truncated = Some(query);
                break;
            }
        }
    }
    let query = truncated.expect("a truncated reply within 1000 queries");
    let answer =
        tcp_query(&topo.client, server, &query, Duration::from_secs(5)).expect("the TCP retry");
    assert_eq!(answer.header.flags & flag::TC, 0, "not truncated over TCP");
    assert_eq!(answer.answers.len(), 4, "the whole RRset over TCP");
}

/// The COOKIE option (RFC 7873 §4) carrying `cookie`.
fn cookie_option(cookie: &[u8]) -> Vec<u8> {
    let mut option = vec![0, 10];
    option.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    option.extend_from_slice(cookie);
    option
}

/// The COOKIE option's data in `reply`'s OPT record, if any.
fn reply_cookie(reply: &Message) -> Option<Vec<u8>> {
    let opt = reply.additional.iter().find(|rr| rr.rtype == rtype::OPT)?;
    let mut options = opt.rdata.as_slice();
    while options.len() >= 4 {
        let code = u16::from_be_bytes([options[0], options[1]]);
        let len = usize::from(u16::from_be_bytes([options[2], options[3]]));
        let data = options.get(4..4 + len)?;
        if code == 10 {
            return Some(data.to_vec());
        }
        options = &options[4 + len..];
    }
    None
}

/// How `count` queries for the hot name carrying `cookie`, sent one after another from the
/// client's address, were answered: (answers, truncated, BADCOOKIE), the rest lost.
fn cookie_queries(topo: &Topology, cookie: &[u8], count: u16) -> (u16, u16, u16) {
    let server: SocketAddr = topo.server_v4_addr(53);
    let (mut answers, mut truncated, mut badcookies) = (0, 0, 0);
    for id in 0..count {
        let query = Builder::query(id, "www.example.com", rtype::A)
            .opt(&[0], 1232, 0, 0, &cookie_option(cookie))
            .build();
        let reply = udp_exchange(&topo.client, server, &query, Duration::from_millis(200))
            .expect("UDP exchange");
        let Some(reply) = reply else { continue };
        let reply = Message::parse(&reply).expect("a reply that parses");
        match reply.rcode() {
            0 if reply.header.tc() => truncated += 1,
            0 if !reply.answers.is_empty() => answers += 1,
            BADCOOKIE => badcookies += 1,
            rcode => panic!("unexpected reply, RCODE {rcode}: {reply}"),
        }
    }
    (answers, truncated, badcookies)
}

/// RFC 7873 §7.2 (BADCOOKIE).
const BADCOOKIE: u16 = 23;

#[test]
fn rfc7873_5_2_5_a_valid_server_cookie_is_exempt_from_the_programs_limit() {
    let setup = Setup::new();
    let (topo, server) = (&setup.topo, &setup.server);
    let _peer = PeerProgram::attach(&topo.client).unwrap_or_else(|e| panic!("{e:#}"));
    let client_cookie = [0x1b, 0xd5, 0x5e, 0xc0, 0x0c, 0x1e, 0x5a, 0x7e];
    // The first answer brings the server cookie: the client's 8 octets and the server's 16.
    let server_addr: SocketAddr = topo.server_v4_addr(53);
    let first = Builder::query(1, "www.example.com", rtype::A)
        .opt(&[0], 1232, 0, 0, &cookie_option(&client_cookie))
        .build();
    let reply = udp_exchange(&topo.client, server_addr, &first, Duration::from_secs(2))
        .expect("UDP exchange")
        .expect("an answer to the first query");
    let reply = Message::parse(&reply).expect("a reply that parses");
    let cookie = reply_cookie(&reply).expect("a COOKIE option in the reply");
    assert_eq!(cookie.len(), 24, "client and server cookie");
    assert_eq!(cookie[..8], client_cookie, "the client cookie echoed");

    // Far past the burst (200) and the rate (200/s) for this name and prefix: every query with
    // the server cookie is answered, by the program, and none is counted.
    const QUERIES: u16 = 1000;
    let before = server.stats().expect("lbdns stats");
    let (answers, truncated, badcookies) = cookie_queries(topo, &cookie, QUERIES);
    let after = server.stats().expect("lbdns stats");
    let moved =
        |name: &str| after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
    assert_eq!((truncated, badcookies), (0, 0), "none limited");
    // Two cores and a veth drop a few by themselves; limiting would cost about half.
    assert!(
        answers >= QUERIES - QUERIES / 100,
        "{answers} of {QUERIES} answered"
    );
    assert!(
        moved("answered_a") >= u64::from(answers),
        "answered by the program: {} of {answers}",
        moved("answered_a")
    );
    assert_eq!(moved("rate_limited"), 0);

    // The control: the client cookie alone is counted, and past the burst the limited replies
    // slip as BADCOOKIE with a fresh server cookie.
    const CONTROL: u16 = 400;
    let (answers, truncated, badcookies) = cookie_queries(topo, &client_cookie, CONTROL);
    assert_eq!(
        truncated, 0,
        "a query with a client cookie slips as BADCOOKIE"
    );
    assert!(
        badcookies > 0 && answers + badcookies < CONTROL,
        "{answers} answered, {badcookies} BADCOOKIE of {CONTROL}, the rest dropped"
    );
}
