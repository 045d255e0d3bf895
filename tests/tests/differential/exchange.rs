//! Sending one query of the corpus to one server and taking what comes back.

use std::time::Duration;

use anyhow::Result;
use lbdns_tests::client::{udp_exchange, TcpConn, TcpRecv};
use lbdns_tests::Topology;

use crate::corpus::{Case, Transport};
use crate::decode::decode;
use crate::presentation::hex;
use crate::reply::Outcome;

/// How long to wait for one reply. Replies over a veth pair take well under a millisecond;
/// the margin only matters for queries that are meant to be dropped.
const REPLY_TIMEOUT: Duration = Duration::from_millis(700);
/// UDP sends per query before concluding "no reply": a second try covers a first packet lost
/// while neighbour discovery settles.
const UDP_TRIES: u32 = 2;

/// Sends `case` to the server on `port` from the client namespace.
pub fn ask(topo: &Topology, case: &Case, port: u16) -> Result<Outcome> {
    let addr = match case.transport {
        Transport::Udp4 | Transport::Tcp4 => topo.server_v4_addr(port),
        Transport::Udp6 | Transport::Tcp6 => topo.server_v6_addr(port),
    };
    let reply = if case.transport.is_tcp() {
        let mut conn = TcpConn::connect(&topo.client, addr, REPLY_TIMEOUT)?;
        conn.send_msg(&case.wire)?;
        match conn.recv(REPLY_TIMEOUT)? {
            TcpRecv::Frame(f) => f,
            TcpRecv::Closed { .. } => return Ok(Outcome::Closed),
            TcpRecv::Timeout { .. } => return Ok(Outcome::NoReply),
        }
    } else {
        let mut got = None;
        for _ in 0..UDP_TRIES {
            got = udp_exchange(&topo.client, addr, &case.wire, REPLY_TIMEOUT)?;
            if got.is_some() {
                break;
            }
        }
        match got {
            Some(r) => r,
            None => return Ok(Outcome::NoReply),
        }
    };
    Ok(match decode(case, &reply) {
        Ok(r) => Outcome::Reply(Box::new(r)),
        Err(e) => Outcome::Undecodable {
            error: format!("{e:#}"),
            hex: hex(&reply),
        },
    })
}
