//! UDP: one SO_REUSEPORT socket per core, each served by its own thread in blocking batched
//! I/O, so the kernel spreads queries across cores and no async machinery sits in between.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::mmsg::{RecvBatch, Reply, SendBatch, BATCH};
use super::pktinfo;
use super::SharedCatalog;
use crate::metrics::socket::PathCounters;
use crate::rrl::Limiter;
use crate::secondary::Secondaries;

/// Kernel send buffer, so that a burst of replies is not dropped. The kernel caps it at
/// net.core.wmem_max; this asks, it does not insist.
const SEND_BUFFER: usize = 4 << 20;
/// Kernel receive buffer: what queues while a worker is busy, and while no process reads at
/// all, between an exit for a restart and the next process's first read (the sockets
/// survive it: systemd's fd store or the handover). 16 MiB is some 20,000 small queries per
/// socket, a second of 20,000 qps that XDP does not answer on each. Forced past
/// net.core.rmem_max with CAP_NET_ADMIN, which the daemon keeps for XDP; asked otherwise.
const RECEIVE_BUFFER: usize = 16 << 20;

pub fn bind(addr: SocketAddr, workers: usize) -> io::Result<Vec<UdpSocket>> {
    (0..workers.max(1))
        .map(|_| {
            let socket = super::socket(addr, socket2::Type::DGRAM)?;
            socket.set_reuse_port(true)?;
            prepare(socket2::SockRef::from(&socket), addr)?;
            socket.bind(&addr.into())?;
            Ok(socket.into())
        })
        .collect()
}

/// How long a worker waits in one receive before it looks whether it must stop reading.
const READ_WAKEUP: Duration = Duration::from_millis(100);

/// The UDP workers of this process: whether they still read, and how many do. An exit before a
/// restart stops them reading first, and each answers the batch it already took, so the
/// sockets, which live on in the next process, lose nothing.
#[derive(Debug, Default)]
pub struct Readers {
    stop: AtomicBool,
    reading: AtomicUsize,
}

impl Readers {
    /// Stops every worker reading; returns once none reads (each wakes within
    /// [`READ_WAKEUP`]), or after `bound`.
    pub fn stop(&self, bound: Duration) {
        self.stop.store(true, Ordering::Release);
        let deadline = Instant::now() + bound;
        while self.reading.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The options every UDP socket gets, bound here or inherited.
pub fn prepare(socket: socket2::SockRef<'_>, addr: SocketAddr) -> io::Result<()> {
    socket.set_read_timeout(Some(READ_WAKEUP))?;
    // Replies leave from the address each query was sent to (RFC 2181 §4). A wildcard socket
    // must be told that address with each query; one bound to an address replies from it
    // anyway, and spares the kernel the ancillary data each way.
    if addr.ip().is_unspecified() {
        pktinfo::request(&socket, addr.is_ipv6())?;
    }
    // Best effort: smaller buffers than asked for still work.
    let _ = socket.set_send_buffer_size(SEND_BUFFER);
    if force_recv_buffer(&socket).is_err() {
        let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
    }
    Ok(())
}

/// SO_RCVBUFFORCE: the receive buffer above net.core.rmem_max (needs CAP_NET_ADMIN).
fn force_recv_buffer(socket: &socket2::Socket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // The kernel doubles the value for bookkeeping, as for SO_RCVBUF.
    let size = libc::c_int::try_from(RECEIVE_BUFFER / 2).unwrap_or(libc::c_int::MAX);
    // SAFETY: an int option passed from a live int.
    let ret = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const size).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Serves `socket` on a thread of its own for the rest of the process's life, counting in
/// `counted`, which only this thread writes.
pub fn spawn(
    socket: UdpSocket,
    catalog: SharedCatalog,
    secondaries: Arc<Secondaries>,
    counted: Arc<PathCounters>,
    limiter: Arc<Limiter>,
    readers: Arc<Readers>,
) -> io::Result<()> {
    let name = format!("udp {}", socket.local_addr()?);
    readers.reading.fetch_add(1, Ordering::AcqRel);
    thread::Builder::new().name(name).spawn(move || {
        serve(
            &socket,
            &catalog,
            &secondaries,
            &counted,
            &limiter,
            &readers.stop,
        );
        readers.reading.fetch_sub(1, Ordering::AcqRel);
    })?;
    Ok(())
}

fn serve(
    socket: &UdpSocket,
    catalog: &SharedCatalog,
    secondaries: &Secondaries,
    counted: &PathCounters,
    limiter: &Limiter,
    stop: &AtomicBool,
) {
    let mut batch = RecvBatch::default();
    let mut sender = SendBatch::default();
    let mut replies = Vec::with_capacity(BATCH);
    // Checked between batches: a batch taken from the socket is always answered.
    while !stop.load(Ordering::Acquire) {
        if let Err(error) = batch.recv(socket) {
            let quiet = matches!(
                error.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            );
            if !quiet {
                // ICMP errors from earlier sends surface here; pause so a persistent error
                // cannot spin a core.
                tracing::debug!(%error, "UDP receive failed");
                thread::sleep(Duration::from_millis(1));
            }
            continue;
        }
        // The whole batch arrived with this call: its replies all waited from here.
        let received = Instant::now();
        // One catalog per batch: a reload lands between batches, never inside one reply.
        let catalog = catalog.load();
        replies.clear();
        for datagram in batch.datagrams() {
            if datagram.truncated {
                // No client sends queries this large; reading half of one would guess.
                tracing::debug!(peer = %datagram.peer, "oversized UDP query dropped");
                continue;
            }
            counted.query(&datagram.peer, datagram.data);
            let peer = datagram.peer.ip();
            let reply = super::reply_udp(&catalog, secondaries, limiter, datagram.data, peer);
            if let Some(data) = reply {
                counted.response(&data);
                replies.push(Reply {
                    data,
                    peer: datagram.peer,
                    local: datagram.local,
                });
            }
        }
        sender.send_all(socket, &replies);
        counted.latency(received.elapsed(), replies.len() as u64);
    }
}
