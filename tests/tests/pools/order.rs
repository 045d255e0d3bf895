//! Which address leads and how many follow: a 3:1 weighted pool over 10,000 queries, and an
//! `answers` cap of 2 out of 4. Counted on UDP (through the XDP program in [`Mode::Xdp`]) and
//! on TCP (the socket path), each over one socket from one thread pinned to CPU 0, so that the
//! program's per-CPU counter sees every query in order.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::client::{udp_recv, udp_socket};
use lbdns_tests::wire::rtype::A;
use lbdns_tests::wire::{Builder, Message};
use lbdns_tests::TcpConn;

use crate::{addrs, ip, moved, pin_to_cpu0, read_answer, Lbdns, Mode, Net, POOL_TTL};

on_both_paths!(weighted_three_to_one, answers_cap);

const WWW: &str = "www.lb.example";
/// Queries per transport in the weighted test.
const QUERIES: u32 = 10_000;
/// Bound on one batch; 10,000 exchanges inside the namespaces take a few seconds.
const BATCH_TIME: Duration = Duration::from_secs(120);
/// Bound on one exchange, and how often a lost UDP query is sent again.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(1);
const UDP_TRIES: u32 = 3;

/// `weight = 3` and `weight = 1`: the first address leads 75% of the answers, within ±3
/// percentage points, on both paths.
fn weighted_three_to_one(mode: Mode) -> Result<()> {
    pin_to_cpu0()?;
    let net = Net::new(mode)?;
    let lb = net.serve(&format!(
        "[[pool]]\nname = \"www.lb.example.\"\nttl = {POOL_TTL}\npolicy = \"weighted\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\nweight = 3\n\
         [[pool.endpoint]]\naddress = \"198.18.60.2\"\nweight = 1\n"
    ))?;
    let heavy = ip("198.18.60.1");
    let before = match mode {
        Mode::Xdp => Some(lb.counters()?),
        Mode::Sockets => None,
    };
    let (udp_leads, sent) = udp_batch(&lb)?;
    if let Some(before) = before {
        let moved = moved(&before, &lb.counters()?);
        let want = BTreeMap::from([("answered_a".to_owned(), sent)]);
        ensure!(
            moved == want,
            "{sent} UDP datagrams: the XDP program must have answered every one, counters moved \
             {moved:?}\n{}",
            lb.diagnostics()
        );
    }
    let tcp_leads = tcp_batch(&lb)?;
    for (transport, leads) in [("UDP", &udp_leads), ("TCP", &tcp_leads)] {
        let led = leads.get(&heavy).copied().unwrap_or(0);
        let share = 100.0 * f64::from(led) / f64::from(QUERIES);
        ensure!(
            (72.0..=78.0).contains(&share),
            "{mode:?} {transport}: 198.18.60.1 (weight 3 of 4) led {share:.2}% of {QUERIES} \
             answers, want 75 ± 3; leading addresses: {leads:?}"
        );
    }
    Ok(())
}

/// Sends [`QUERIES`] A queries over one UDP socket; returns how often each address led and
/// how many datagrams were sent (a lost one is sent again).
fn udp_batch(lb: &Lbdns<'_>) -> Result<(BTreeMap<IpAddr, u32>, u64)> {
    let server = lb.server_for(A);
    let socket = udp_socket(&lb.net().topo.client, server)?;
    let deadline = Instant::now() + BATCH_TIME;
    let mut leads = BTreeMap::new();
    let mut sent = 0u64;
    for n in 0..QUERIES {
        ensure!(
            Instant::now() < deadline,
            "UDP: only {n} of {QUERIES} answers within {BATCH_TIME:?}"
        );
        let id = n as u16;
        let query = Builder::query(id, WWW, A).build();
        let reply = udp_exchange(&socket, server, &query, &mut sent)
            .with_context(|| format!("UDP query {n} of {QUERIES}"))?;
        *leads.entry(lead(&reply)?).or_insert(0) += 1;
    }
    Ok((leads, sent))
}

/// Sends `query` and waits for the reply with its ID, ignoring late replies to earlier ones.
fn udp_exchange(
    socket: &UdpSocket,
    server: SocketAddr,
    query: &[u8],
    sent: &mut u64,
) -> Result<Message> {
    for _ in 0..UDP_TRIES {
        socket
            .send(query)
            .with_context(|| format!("sending to {server}"))?;
        *sent += 1;
        let wait_until = Instant::now() + EXCHANGE_TIMEOUT;
        while let Some(reply) =
            udp_recv(socket, wait_until.saturating_duration_since(Instant::now()))?
        {
            if reply.get(..2) == Some(&query[..2]) {
                return Message::parse(&reply).context("decoding the reply");
            }
        }
    }
    bail!("no reply from {server} after {UDP_TRIES} tries")
}

/// Sends [`QUERIES`] A queries one after another over one TCP connection.
fn tcp_batch(lb: &Lbdns<'_>) -> Result<BTreeMap<IpAddr, u32>> {
    let server = lb.server_for(A);
    let mut conn = TcpConn::connect(&lb.net().topo.client, server, EXCHANGE_TIMEOUT)?;
    let deadline = Instant::now() + BATCH_TIME;
    let mut leads = BTreeMap::new();
    for n in 0..QUERIES {
        ensure!(
            Instant::now() < deadline,
            "TCP: only {n} of {QUERIES} answers within {BATCH_TIME:?}"
        );
        conn.send_msg(&Builder::query(n as u16, WWW, A).build())?;
        let reply = conn
            .recv_msg(EXCHANGE_TIMEOUT)
            .with_context(|| format!("TCP query {n} of {QUERIES}"))?;
        ensure!(
            reply.header.id == n as u16,
            "TCP reply out of order\n{reply}"
        );
        *leads.entry(lead(&reply)?).or_insert(0) += 1;
    }
    Ok(leads)
}

/// The leading address of a reply that must carry both weighted endpoints.
fn lead(reply: &Message) -> Result<IpAddr> {
    let want = addrs(&["198.18.60.1", "198.18.60.2"]);
    let got = read_answer(reply, WWW, A)?;
    ensure!(got == want, "answered {got}, want {want}\n{reply}");
    reply
        .answer_ips()
        .first()
        .copied()
        .context("a first address")
}

/// `answers = 2` of four endpoints: every reply carries exactly two addresses, the leading
/// one and the next in configuration order, and over 8 replies each address leads twice.
fn answers_cap(mode: Mode) -> Result<()> {
    pin_to_cpu0()?;
    let net = Net::new(mode)?;
    let lb = net.serve(&format!(
        "[[pool]]\nname = \"www.lb.example.\"\nttl = {POOL_TTL}\nanswers = 2\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.2\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.3\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.4\"\n"
    ))?;
    let order: Vec<IpAddr> = ["198.18.60.1", "198.18.60.2", "198.18.60.3", "198.18.60.4"]
        .into_iter()
        .map(ip)
        .collect();
    for transport in ["UDP", "TCP"] {
        let mut leads: BTreeMap<IpAddr, u32> = BTreeMap::new();
        for _ in 0..8 {
            let reply = match transport {
                "UDP" => lb.udp(WWW, A)?,
                _ => lb.tcp(WWW, A)?,
            };
            read_answer(&reply, WWW, A)?;
            let got = reply.answer_ips();
            let start = order.iter().position(|a| Some(a) == got.first());
            let want = start.map(|s| vec![order[s], order[(s + 1) % order.len()]]);
            ensure!(
                Some(&got) == want.as_ref(),
                "{mode:?} {transport}: answered {got:?}; want two addresses, the second \
                 following the first in {order:?}\n{reply}"
            );
            *leads.entry(got[0]).or_insert(0) += 1;
        }
        ensure!(
            leads.len() == 4 && leads.values().all(|&n| n == 2),
            "{mode:?} {transport}: over 8 answers each of the 4 addresses should lead twice, \
             got {leads:?}"
        );
    }
    Ok(())
}
