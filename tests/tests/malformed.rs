//! Malformed-input suite: crafted bad packets (see `lbdns_tests::malformed::corpus`) sent at
//! lbdns's UDP and TCP listeners from the client namespace. Each packet must get one of the
//! outcomes allowed for it (FORMERR/NOTIMP with the query's ID, or no reply), the process must
//! stay alive throughout, and a normal query must still be answered correctly afterwards.
//!
//! `LBDNS_TEST_SERVER=nsd` runs the same expectations against NSD, to validate the suite.

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use anyhow::{bail, ensure, Result};
use lbdns_tests::client::{tcp_query, udp_exchange, udp_query};
use lbdns_tests::malformed::{classify, corpus, Case, Outcome};
use lbdns_tests::wire::{rtype, tcp_frame, Builder, Message};
use lbdns_tests::{preflight, Server, TcpConn, TcpRecv, Topology};

/// How long "no reply" is waited for. Not a latency assertion: a late reply is still a reply
/// to a packet that should have been dropped, and it would be noticed by the next case's
/// ID check only by chance, so keep this comfortably above a local round trip.
const DROP_WAIT: Duration = Duration::from_millis(400);
const TIMEOUT: Duration = Duration::from_secs(3);

fn setup() -> Result<(Topology, Server)> {
    preflight(&[])?;
    let topo = Topology::new()?;
    let server = Server::example_under_test(&topo)?;
    Ok((topo, server))
}

/// The server still answers `www.example.com A` correctly over UDP and TCP.
fn still_serves(topo: &Topology, server: &mut Server, addr: SocketAddr) -> Result<()> {
    server.ensure_alive()?;
    let q = Builder::query(0x600d, "www.example.com", rtype::A).build();
    let check = |proto: &str, m: Message| -> Result<()> {
        ensure!(
            m.header.id == 0x600d && m.header.qr() && m.header.aa() && m.rcode() == 0,
            "{proto} {addr}: after the malformed packets, www.example.com A got:\n{m}"
        );
        ensure!(
            m.answers.len() == 4,
            "{proto} {addr}: want 4 A records:\n{m}"
        );
        Ok(())
    };
    check("UDP", udp_query(&topo.client, addr, &q, TIMEOUT, 3)?)?;
    check("TCP", tcp_query(&topo.client, addr, &q, TIMEOUT)?)?;
    server.ensure_alive()
}

/// Sends every case with `send`, collects mismatches, and fails at once if the server dies.
fn run_corpus(
    server: &mut Server,
    proto: &str,
    mut send: impl FnMut(&Case) -> Result<Result<Outcome, String>>,
) -> Result<()> {
    let cases = corpus();
    let mut failures = Vec::new();
    for case in &cases {
        let got = send(case)?;
        if !server.is_alive() {
            bail!(
                "{proto}: server died after `{}` ({:02x?}); stderr:\n{}",
                case.name,
                case.packet,
                server.stderr()
            );
        }
        // Captured by the test runner; shown on failure or with --nocapture.
        eprintln!("{proto} `{}` -> {got:?}", case.name);
        match got {
            Ok(o) if case.ok.contains(&o) => {}
            Ok(o) => failures.push(format!(
                "{proto} `{}`: got {o}, want one of {:?}",
                case.name,
                case.ok.iter().map(ToString::to_string).collect::<Vec<_>>()
            )),
            Err(e) => failures.push(format!("{proto} `{}`: invalid reply: {e}", case.name)),
        }
    }
    ensure!(
        failures.is_empty(),
        "{} of {} malformed packets were mishandled:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    Ok(())
}

#[test]
fn udp_malformed_packets() -> Result<()> {
    let (topo, mut server) = setup()?;
    for addr in topo.server_addrs(53) {
        run_corpus(&mut server, &format!("UDP {addr}"), |case| {
            // A fresh socket per packet: a late reply cannot be mistaken for the next one's.
            let reply = udp_exchange(&topo.client, addr, &case.packet, DROP_WAIT)?;
            Ok(classify(&case.packet, reply.as_deref()))
        })?;
        still_serves(&topo, &mut server, addr)?;
    }
    Ok(())
}

/// Reads one reply frame; close or silence count as a drop.
fn tcp_outcome(sent: &[u8], conn: &mut TcpConn) -> Result<Result<Outcome, String>> {
    Ok(match conn.recv(DROP_WAIT)? {
        TcpRecv::Frame(f) => classify(sent, Some(&f)),
        TcpRecv::Closed { partial } | TcpRecv::Timeout { partial } if partial.is_empty() => {
            Ok(Outcome::Drop)
        }
        TcpRecv::Closed { partial } | TcpRecv::Timeout { partial } => {
            Err(format!("incomplete reply frame {partial:02x?}"))
        }
    })
}

#[test]
fn tcp_malformed_packets() -> Result<()> {
    let (topo, mut server) = setup()?;
    let addr = topo.server_v4_addr(53);
    run_corpus(&mut server, &format!("TCP {addr}"), |case| {
        // One connection per packet, correctly framed (a 0-byte case is a zero-length frame).
        let mut c = TcpConn::connect(&topo.client, addr, TIMEOUT)?;
        c.send_msg(&case.packet)?;
        tcp_outcome(&case.packet, &mut c)
    })?;
    still_serves(&topo, &mut server, addr)?;
    still_serves(&topo, &mut server, topo.server_v6_addr(53))
}

#[test]
fn tcp_bad_framing() -> Result<()> {
    let (topo, mut server) = setup()?;
    let addr = topo.server_v6_addr(53);
    let query = Builder::query(0x7777, "www.example.com", rtype::A).build();
    let mut failures = Vec::new();
    let mut expect_no_frame = |what: &str, c: &mut TcpConn| -> Result<()> {
        match c.recv(DROP_WAIT)? {
            TcpRecv::Frame(f) => failures.push(format!("{what}: got a reply frame {f:02x?}")),
            TcpRecv::Closed { partial } | TcpRecv::Timeout { partial } if !partial.is_empty() => {
                failures.push(format!("{what}: partial reply {partial:02x?}"))
            }
            _ => {}
        }
        Ok(())
    };

    // A zero-length frame, then nothing.
    let mut c = TcpConn::connect(&topo.client, addr, TIMEOUT)?;
    c.send_raw(&[0, 0])?;
    expect_no_frame("zero-length frame", &mut c)?;
    // Length prefixes that promise more than is sent, then close (FIN).
    for (what, bytes) in [
        ("length 100 with a 33-byte query, then close", {
            let mut b = 100u16.to_be_bytes().to_vec();
            b.extend_from_slice(&query);
            b
        }),
        ("length 65535 with 10 bytes, then close", {
            let mut b = vec![0xff, 0xff];
            b.extend_from_slice(&query[..10]);
            b
        }),
        ("length prefix only, then close", vec![0, 33]),
        ("one byte of length, then close", vec![0]),
    ] {
        let mut c = TcpConn::connect(&topo.client, addr, TIMEOUT)?;
        c.send_raw(&bytes)?;
        c.shutdown_write()?;
        expect_no_frame(what, &mut c)?;
        server.ensure_alive()?;
    }
    // Connections opened and closed without sending anything (bounded count).
    for _ in 0..50 {
        drop(TcpConn::connect(&topo.client, addr, TIMEOUT)?);
    }
    server.ensure_alive()?;
    // A valid query followed on the same connection by a frame of garbage: the first must be
    // answered; the second gets FORMERR or nothing.
    let mut c = TcpConn::connect(&topo.client, addr, TIMEOUT)?;
    let garbage = Builder::new(0x7778, 0)
        .counts(1, 0, 0, 0)
        .raw(&[0x80; 40])
        .build();
    let mut burst = tcp_frame(&query);
    burst.append(&mut tcp_frame(&garbage));
    c.send_raw(&burst)?;
    let m = c.recv_msg(TIMEOUT)?;
    ensure!(
        m.header.id == 0x7777 && m.answers.len() == 4,
        "valid query before garbage:\n{m}"
    );
    match tcp_outcome(&garbage, &mut c)? {
        Ok(Outcome::Drop) | Ok(Outcome::Rcode(1)) => {}
        other => failures.push(format!("garbage frame after a valid query: {other:?}")),
    }
    // A valid query written one byte at a time must still be answered (TCP is a stream).
    let mut c = TcpConn::connect(&topo.client, addr, TIMEOUT)?;
    for b in tcp_frame(&query) {
        c.send_raw(&[b])?;
        thread::sleep(Duration::from_millis(5));
    }
    let m = c.recv_msg(TIMEOUT)?;
    ensure!(
        m.header.id == 0x7777 && m.answers.len() == 4,
        "byte-at-a-time query:\n{m}"
    );

    ensure!(
        failures.is_empty(),
        "TCP framing mishandled:\n{}",
        failures.join("\n")
    );
    still_serves(&topo, &mut server, addr)?;
    still_serves(&topo, &mut server, topo.server_v4_addr(53))
}
