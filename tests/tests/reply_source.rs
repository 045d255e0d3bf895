//! RFC 2181 §4.1: a reply leaves from the address its query was sent to, or the client drops it.
//!
//! The server's veth carries a second IPv4 and a second IPv6 address beside the topology's own,
//! as an anycast service address sits beside a host's own address, and its link-local address.
//! lbdns listens on the default wildcard addresses, on one specific address, or on several.
//! Every address queried over UDP must answer from itself, as seen by an *unconnected* client
//! socket (a connected one would only miss a reply from elsewhere, not show it); over TCP, a
//! connection to the address must carry the answer.

use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::client::udp_exchange_from;
use lbdns_tests::env::run_ok;
use lbdns_tests::wire::{rtype, Builder, Message};
use lbdns_tests::{example_zone, preflight, Namespace, Server, TcpConn, Topology};

/// Bound on one UDP try and on a TCP exchange.
const TIMEOUT: Duration = Duration::from_secs(2);
/// UDP tries per address: the first datagram to a new address may wait for neighbour discovery.
const TRIES: u16 = 3;

/// The topology with the server's second addresses and its link-local address.
struct Host {
    topo: Topology,
    second_v4: Ipv4Addr,
    second_v6: Ipv6Addr,
    /// The server's link-local address, scoped to the client's veth end.
    link_local: SocketAddrV6,
}

impl Host {
    fn new() -> Result<Self> {
        preflight(&[])?;
        let topo = Topology::new()?;
        let second_v4 = Ipv4Addr::new(198, 19, 53, 3);
        let second_v6: Ipv6Addr = "2001:db8:53::3".parse()?;
        let dev = Topology::SERVER_IF;
        topo.server
            .ip(&["addr", "add", &format!("{second_v4}/24"), "dev", dev])?;
        topo.server.ip(&[
            "addr",
            "add",
            &format!("{second_v6}/64"),
            "dev",
            dev,
            "nodad",
        ])?;
        // The client sends from its own link-local address, so it needs one too.
        link_local(&topo.client, Topology::CLIENT_IF)?;
        let link_local = SocketAddrV6::new(
            link_local(&topo.server, Topology::SERVER_IF)?,
            53,
            0,
            client_ifindex(&topo)?,
        );
        Ok(Self {
            topo,
            second_v4,
            second_v6,
            link_local,
        })
    }

    fn second_v4_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.second_v4), 53)
    }

    fn second_v6_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V6(self.second_v6), 53)
    }

    /// lbdns serving the example zone on `listen` (none: `serve`'s default, the wildcard
    /// addresses on port 53), ready once every address in `probes` answers.
    fn lbdns(&self, listen: &[SocketAddr], probes: &[SocketAddr]) -> Result<Server> {
        Server::lbdns_probed(&self.topo, &[&example_zone()], listen, probes, &[])
    }

    /// Queries every address over UDP and TCP and checks that each answer comes from the
    /// address queried; reports every failure, not only the first.
    fn expect_answered_from(&self, addrs: &[SocketAddr]) -> Result<()> {
        let mut failures = Vec::new();
        for &addr in addrs {
            if let Err(e) = udp_answered_from(&self.topo, addr) {
                failures.push(format!("UDP to {addr}: {e:#}"));
            }
            if let Err(e) = tcp_answered_from(&self.topo, addr) {
                failures.push(format!("TCP to {addr}: {e:#}"));
            }
        }
        ensure!(failures.is_empty(), "{}", failures.join("\n"));
        Ok(())
    }
}

/// The link-local address of `dev` in `ns`, once the kernel has made it: a veth end gets one
/// only when it sees carrier, which may be a moment after both ends are up.
fn link_local(ns: &Namespace, dev: &str) -> Result<Ipv6Addr> {
    let deadline = Instant::now() + Duration::from_secs(10);
    // Bounded by the deadline; each round sleeps 50 ms.
    loop {
        let out = run_ok(
            Command::new("ip").args([
                "-n",
                ns.name(),
                "-6",
                "-o",
                "addr",
                "show",
                "dev",
                dev,
                "scope",
                "link",
            ]),
            Duration::from_secs(20),
        )?;
        // `5: veth-srv    inet6 fe80::…/64 scope link …`
        let addr = out
            .stdout
            .split_whitespace()
            .skip_while(|word| *word != "inet6")
            .nth(1)
            .and_then(|cidr| cidr.split('/').next());
        if let Some(addr) = addr {
            return addr
                .parse()
                .with_context(|| format!("link-local address {addr:?} of {dev}"));
        }
        ensure!(
            Instant::now() < deadline,
            "{dev} in {} has no link-local address",
            ns.name()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// The interface index of the client's veth end, inside the client namespace.
fn client_ifindex(topo: &Topology) -> Result<u32> {
    let name = CString::new(Topology::CLIENT_IF)?;
    // SAFETY: if_nametoindex reads a NUL-terminated name that outlives the call.
    let index = topo
        .client
        .enter(move || unsafe { libc::if_nametoindex(name.as_ptr()) })?;
    ensure!(
        index != 0,
        "no interface {} in the client namespace",
        Topology::CLIENT_IF
    );
    Ok(index)
}

/// A query for www.example.com/A with `id`.
fn query(id: u16) -> Vec<u8> {
    Builder::query(id, "www.example.com", rtype::A).build()
}

/// The reply answers query `id` with the four addresses of www.example.com.
fn expect_answer(reply: &[u8], id: u16) -> Result<()> {
    let message = Message::parse(reply).context("decoding the reply")?;
    ensure!(
        message.header.id == id && message.header.qr(),
        "not a reply to query {id}: {message:?}"
    );
    ensure!(
        message.rcode() == 0 && message.answers.len() == 4,
        "want NOERROR with the four addresses of www: {message:?}"
    );
    Ok(())
}

fn udp_answered_from(topo: &Topology, addr: SocketAddr) -> Result<()> {
    for id in 0x5300..0x5300 + TRIES {
        let Some((reply, from)) = udp_exchange_from(&topo.client, addr, &query(id), TIMEOUT)?
        else {
            continue;
        };
        ensure!(
            from == addr,
            "the reply to a query sent to {addr} came from {from}; a client drops it"
        );
        return expect_answer(&reply, id);
    }
    bail!("no reply in {TRIES} tries of {TIMEOUT:?}")
}

fn tcp_answered_from(topo: &Topology, addr: SocketAddr) -> Result<()> {
    let mut conn = TcpConn::connect(&topo.client, addr, TIMEOUT)?;
    let peer = conn.peer_addr()?;
    ensure!(peer == addr, "connected to {peer}, not {addr}");
    let id = 0x5400;
    conn.send_msg(&query(id))?;
    match conn.recv(TIMEOUT)? {
        lbdns_tests::TcpRecv::Frame(reply) => expect_answer(&reply, id),
        other => bail!("no answer on the connection: {other:?}"),
    }
}

#[test]
fn rfc2181_4_1_default_wildcard_listen_answers_from_every_queried_address() -> Result<()> {
    let host = Host::new()?;
    let topo = &host.topo;
    // Ready once the primary IPv4 address answers, which it does even from a server that
    // answers from the wrong address elsewhere (with two IPv6 addresses on the link, even the
    // primary one may be answered from the other): the check below then says what is wrong,
    // where a readiness probe could only time out.
    let _server = host.lbdns(&[], &[topo.server_v4_addr(53)])?;
    host.expect_answered_from(&[
        topo.server_v4_addr(53),
        host.second_v4_addr(),
        topo.server_v6_addr(53),
        host.second_v6_addr(),
        SocketAddr::V6(host.link_local),
    ])
}

#[test]
fn rfc2181_4_1_one_specific_listen_address_answers_from_itself() -> Result<()> {
    let host = Host::new()?;
    let listen = [host.second_v4_addr()];
    let _server = host.lbdns(&listen, &listen)?;
    host.expect_answered_from(&listen)
}

#[test]
fn rfc2181_4_1_several_specific_listen_addresses_answer_from_themselves() -> Result<()> {
    let host = Host::new()?;
    let listen = [
        host.topo.server_v4_addr(53),
        host.second_v4_addr(),
        host.second_v6_addr(),
    ];
    let _server = host.lbdns(&listen, &listen)?;
    host.expect_answered_from(&listen)
}
