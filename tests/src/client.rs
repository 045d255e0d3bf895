//! Raw UDP and TCP clients whose sockets live in a given namespace (usually the client host).
//!
//! Sockets are opened by [`Namespace::enter`] on a helper thread that joined the namespace;
//! a socket stays bound to the namespace it was created in, so the test thread can use it
//! directly. Every receive has a timeout: "no reply" is a normal, asserted outcome in the
//! malformed-input suite.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::netns::Namespace;
use crate::wire::{tcp_frame, Message};

/// Opens a UDP socket in `ns` connected to `server` (so only the server's datagrams are
/// received), bound to an ephemeral port of the matching address family.
pub fn udp_socket(ns: &Namespace, server: SocketAddr) -> Result<UdpSocket> {
    ns.enter(move || -> std::io::Result<UdpSocket> {
        let bind: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let s = UdpSocket::bind(bind)?;
        s.connect(server)?;
        Ok(s)
    })?
    .with_context(|| format!("opening UDP socket to {server} in {}", ns.name()))
}

/// Sends one datagram from a fresh socket in `ns` and waits up to `timeout` for one reply.
/// `Ok(None)` means no reply arrived (or ICMP said the port is closed).
pub fn udp_exchange(
    ns: &Namespace,
    server: SocketAddr,
    packet: &[u8],
    timeout: Duration,
) -> Result<Option<Vec<u8>>> {
    let s = udp_socket(ns, server)?;
    s.send(packet)
        .with_context(|| format!("sending {} bytes to {server}", packet.len()))?;
    udp_recv(&s, timeout)
}

/// Sends one datagram from a fresh *unconnected* socket in `ns` and waits up to `timeout` for
/// one reply, which is returned with the address it came from. Unlike [`udp_exchange`], a
/// reply from an address other than `server` is received too, so a test can see where replies
/// come from rather than only miss them.
pub fn udp_exchange_from(
    ns: &Namespace,
    server: SocketAddr,
    packet: &[u8],
    timeout: Duration,
) -> Result<Option<(Vec<u8>, SocketAddr)>> {
    let s = ns
        .enter(move || {
            let any: SocketAddr = if server.is_ipv4() {
                "0.0.0.0:0".parse().expect("literal")
            } else {
                "[::]:0".parse().expect("literal")
            };
            UdpSocket::bind(any)
        })?
        .with_context(|| format!("opening UDP socket in {}", ns.name()))?;
    s.send_to(packet, server)
        .with_context(|| format!("sending {} bytes to {server}", packet.len()))?;
    let mut buf = vec![0u8; 65535];
    match recv_within(&s, timeout, |s| s.recv_from(&mut buf)) {
        Ok((n, from)) => Ok(Some((buf[..n].to_vec(), from))),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(None),
        Err(e) => Err(e).context("receiving UDP reply"),
    }
}

/// Runs `recv` on `s` until it returns or `timeout` has passed. A signal caught by any thread
/// of the test process (a child's exit, for one) may interrupt a blocking read: that is no
/// answer, so the read is retried with the time left.
fn recv_within<T>(
    s: &UdpSocket,
    timeout: Duration,
    mut recv: impl FnMut(&UdpSocket) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        match recv(s) {
            Err(e) if e.kind() == ErrorKind::Interrupted && !left.is_zero() => continue,
            other => return other,
        }
    }
}

/// Receives one datagram within `timeout`; `Ok(None)` on timeout or connection refused.
pub fn udp_recv(s: &UdpSocket, timeout: Duration) -> Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 65535];
    match recv_within(s, timeout, |s| s.recv(&mut buf)) {
        Ok(n) => Ok(Some(buf[..n].to_vec())),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).context("receiving UDP reply"),
    }
}

/// Sends a well-formed query over UDP and decodes the reply (retrying up to `tries` times,
/// since UDP may lose the first packet while neighbour discovery settles). The reply must
/// carry the query's ID.
pub fn udp_query(
    ns: &Namespace,
    server: SocketAddr,
    query: &[u8],
    timeout: Duration,
    tries: u32,
) -> Result<Message> {
    let id = &query[..2];
    for _ in 0..tries.max(1) {
        if let Some(reply) = udp_exchange(ns, server, query, timeout)? {
            if reply.get(..2) == Some(id) {
                return Message::parse(&reply)
                    .with_context(|| format!("decoding UDP reply {reply:02x?}"));
            }
        }
    }
    bail!("no UDP reply from {server} after {tries} tries of {timeout:?}")
}

/// Result of waiting for a TCP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpRecv {
    /// One complete length-prefixed message (without the prefix).
    Frame(Vec<u8>),
    /// The peer closed (or reset) the connection; `partial` holds any bytes of an incomplete
    /// frame received before that.
    Closed { partial: Vec<u8> },
    /// Nothing complete arrived within the timeout.
    Timeout { partial: Vec<u8> },
}

/// A TCP connection opened in a namespace, speaking DNS's two-byte length framing.
#[derive(Debug)]
pub struct TcpConn {
    stream: TcpStream,
    peer: SocketAddr,
}

impl TcpConn {
    /// Connects from `ns` to `server` within `timeout`.
    pub fn connect(ns: &Namespace, server: SocketAddr, timeout: Duration) -> Result<Self> {
        let stream = ns
            .enter(move || TcpStream::connect_timeout(&server, timeout))?
            .with_context(|| format!("TCP connect to {server} in {}", ns.name()))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            peer: server,
        })
    }

    /// The address the connection reached, as the kernel has it.
    pub fn peer_addr(&self) -> Result<SocketAddr> {
        self.stream.peer_addr().context("reading TCP peer address")
    }

    /// Writes raw bytes (no framing added).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream
            .write_all(bytes)
            .with_context(|| format!("writing {} bytes to {}", bytes.len(), self.peer))
    }

    /// Writes `msg` with its length prefix.
    pub fn send_msg(&mut self, msg: &[u8]) -> Result<()> {
        self.send_raw(&tcp_frame(msg))
    }

    /// Half-closes the connection (no more data from us).
    pub fn shutdown_write(&mut self) -> Result<()> {
        self.stream
            .shutdown(Shutdown::Write)
            .context("shutting down TCP write side")
    }

    /// Reads exactly one frame, or reports close/timeout. `timeout` bounds the whole call.
    pub fn recv(&mut self, timeout: Duration) -> Result<TcpRecv> {
        let deadline = Instant::now() + timeout;
        let mut buf = Vec::new();
        loop {
            if buf.len() >= 2 {
                let want = 2 + usize::from(u16::from_be_bytes([buf[0], buf[1]]));
                if buf.len() >= want {
                    // Anything past `want` belongs to the next frame; keep the API simple by
                    // reading byte-exact below, so this cannot happen.
                    return Ok(TcpRecv::Frame(buf[2..want].to_vec()));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(TcpRecv::Timeout { partial: buf });
            }
            self.stream.set_read_timeout(Some(left))?;
            // Read only up to the end of the current frame so the next frame stays queued.
            let need = if buf.len() < 2 {
                2 - buf.len()
            } else {
                2 + usize::from(u16::from_be_bytes([buf[0], buf[1]])) - buf.len()
            };
            let mut chunk = vec![0u8; need];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(TcpRecv::Closed { partial: buf }),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                // A signal, not the peer: read again with the time left.
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(TcpRecv::Timeout { partial: buf })
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Ok(TcpRecv::Closed { partial: buf })
                }
                Err(e) => return Err(e).context("reading TCP reply"),
            }
        }
    }

    /// Reads one frame and decodes it; anything else is an error.
    pub fn recv_msg(&mut self, timeout: Duration) -> Result<Message> {
        match self.recv(timeout)? {
            TcpRecv::Frame(f) => {
                Message::parse(&f).with_context(|| format!("decoding TCP reply {f:02x?}"))
            }
            other => bail!(
                "expected a DNS message over TCP from {}, got {other:?}",
                self.peer
            ),
        }
    }
}

/// Opens a connection, sends one query, and decodes the reply.
pub fn tcp_query(
    ns: &Namespace,
    server: SocketAddr,
    query: &[u8],
    timeout: Duration,
) -> Result<Message> {
    let mut c = TcpConn::connect(ns, server, timeout)?;
    c.send_msg(query)?;
    c.recv_msg(timeout)
}
