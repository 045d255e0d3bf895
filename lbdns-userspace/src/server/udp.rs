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
use crate::authority::ReplyCache;
use crate::metrics::socket::PathCounters;
use crate::rrl::Limiter;
use crate::secondary::Secondaries;

/// Kernel send buffer, so that a burst of replies is not dropped. The kernel caps it at
/// net.core.wmem_max; this asks, it does not insist.
const SEND_BUFFER: usize = 4 << 20;
/// Kernel receive buffer while a backlog may wait for this process's workers: before they first
/// read, and once they stop reading (an exit for a restart: the sockets live on in the next
/// process, through systemd's fd store or the handover). 16 MiB is some 20,000 small queries
/// per socket, a second of 20,000 qps that XDP does not answer on each. Forced past
/// net.core.rmem_max with CAP_NET_ADMIN, which the daemon keeps for XDP; asked otherwise.
pub const BACKLOG_RECEIVE_BUFFER: usize = 16 << 20;

/// Kernel receive buffer while a worker reads ([`Depth`]): room for bursts (NSD's default size
/// too), and no deeper. Under a flood the queue is always full, and a deep one only holds each
/// query long enough for its buffers to leave the CPU caches: with 16 MiB the socket path sent
/// about a tenth fewer replies per second at saturation (`cargo xtask bench`,
/// `bench/JOURNAL.md`).
pub const STEADY_RECEIVE_BUFFER: usize = 1 << 20;

/// How long a reading worker waits before it sets its socket's steady size again, and how long
/// it reads full batches before it gives the backlog up as a flood. Another process that stops
/// reading the same socket (a handover's predecessor) deepens it in between.
const DEPTH_RECHECK: Duration = Duration::from_secs(1);

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
    set_receive_buffer(&socket, BACKLOG_RECEIVE_BUFFER);
    Ok(())
}

/// Sets the kernel receive buffer to `size`, past net.core.rmem_max where the process may.
/// Best effort: a smaller buffer than asked for still works.
fn set_receive_buffer(socket: &socket2::Socket, size: usize) {
    if force_recv_buffer(socket, size).is_err() {
        let _ = socket.set_recv_buffer_size(size);
    }
}

/// SO_RCVBUFFORCE: the receive buffer above net.core.rmem_max (needs CAP_NET_ADMIN).
fn force_recv_buffer(socket: &socket2::Socket, size: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // The kernel doubles the value for bookkeeping, as for SO_RCVBUF.
    let size = libc::c_int::try_from(size / 2).unwrap_or(libc::c_int::MAX);
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
    let mut depth = Depth::new(Instant::now());
    let mut cache = ReplyCache::new(&catalog.load());
    // Checked between batches: a batch taken from the socket is always answered.
    while !stop.load(Ordering::Acquire) {
        let received = batch.recv(socket);
        // The whole batch arrived with this call: its replies all waited from here.
        let arrived = Instant::now();
        depth.track(socket, &received, arrived);
        // One catalog per batch: a reload lands between batches, never inside one reply. The
        // cache follows it even when nothing arrived, so that a catalog replaced while the
        // worker waits is freed within a wakeup.
        let catalog = catalog.load();
        cache.follow(&catalog, arrived);
        if let Err(error) = received {
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
        replies.clear();
        for datagram in batch.datagrams() {
            if datagram.truncated {
                // No client sends queries this large; reading half of one would guess.
                tracing::debug!(peer = %datagram.peer, "oversized UDP query dropped");
                continue;
            }
            counted.query(&datagram.peer, datagram.data);
            let peer = datagram.peer.ip();
            let reply = super::reply_udp(
                &catalog,
                &mut cache,
                secondaries,
                limiter,
                datagram.data,
                peer,
            );
            if let Some(data) = reply {
                counted.response(&data);
                replies.push(Reply {
                    data,
                    peer: datagram.peer,
                    local: datagram.local,
                });
            }
        }
        counted.remembered(cache.hits());
        sender.send_all(socket, &replies);
        counted.latency(arrived.elapsed(), replies.len() as u64);
    }
    // What arrives from here on waits for the next process, if there is one.
    set_receive_buffer(&socket2::SockRef::from(socket), BACKLOG_RECEIVE_BUFFER);
}

/// A reading worker's socket buffer: [`BACKLOG_RECEIVE_BUFFER`] until the backlog is read,
/// then [`STEADY_RECEIVE_BUFFER`]. Shrinking it while a backlog longer than the steady size
/// waits would drop what arrives until the backlog is read, so it waits for a receive that
/// finds the queue drained, or for a flood (a second of full batches), whose queue no depth
/// empties.
#[derive(Debug)]
pub struct Depth {
    steady: bool,
    /// When the worker started reading, or last set the steady size.
    since: Instant,
}

impl Depth {
    /// A worker that starts reading at `now`, on a socket [`prepare`] gave the backlog size.
    pub fn new(now: Instant) -> Self {
        Self {
            steady: false,
            since: now,
        }
    }

    /// Called after each receive, with its outcome, at `now`: sets the steady size once the
    /// backlog is read, and again every [`DEPTH_RECHECK`].
    pub fn track(&mut self, socket: &UdpSocket, received: &io::Result<usize>, now: Instant) {
        if self.due(received, now) {
            set_receive_buffer(&socket2::SockRef::from(socket), STEADY_RECEIVE_BUFFER);
            self.steady = true;
            self.since = now;
        }
    }

    /// Whether the steady size is to be set now.
    fn due(&self, received: &io::Result<usize>, now: Instant) -> bool {
        // Fewer than a full batch, or nothing before the read timeout: the queue is empty.
        let drained = match received {
            Ok(count) => *count < BATCH,
            Err(error) => matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
        };
        (drained && !self.steady) || now.duration_since(self.since) >= DEPTH_RECHECK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed_out() -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    #[test]
    fn the_backlog_size_stays_until_a_receive_finds_the_queue_drained() {
        let start = Instant::now();
        let depth = Depth::new(start);
        assert!(!depth.due(&Ok(BATCH), start));
        assert!(!depth.due(&Err(io::ErrorKind::Interrupted.into()), start));
        assert!(!depth.due(&Err(io::ErrorKind::ConnectionRefused.into()), start));
        assert!(depth.due(&Ok(BATCH - 1), start));
        assert!(depth.due(&timed_out(), start));
    }

    #[test]
    fn a_second_of_full_batches_is_a_flood_and_gets_the_steady_size() {
        let start = Instant::now();
        let depth = Depth::new(start);
        assert!(!depth.due(&Ok(BATCH), start + DEPTH_RECHECK / 2));
        assert!(depth.due(&Ok(BATCH), start + DEPTH_RECHECK));
    }

    #[test]
    fn the_steady_size_is_set_again_every_recheck_and_not_in_between() {
        let start = Instant::now();
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let mut depth = Depth::new(start);
        depth.track(&socket, &timed_out(), start);
        assert!(depth.steady);
        assert!(!depth.due(&timed_out(), start + DEPTH_RECHECK / 2));
        assert!(depth.due(&Ok(BATCH), start + DEPTH_RECHECK));
    }

    /// Exact sizes where the process may force them (CAP_NET_ADMIN, as `cargo xtask test`
    /// runs); without, the kernel caps both at net.core.rmem_max, and only their order holds.
    #[test]
    fn the_socket_gets_each_size_as_the_worker_reads() {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = socket.local_addr().expect("address");
        prepare(socket2::SockRef::from(&socket), addr).expect("prepare");
        let size = || {
            socket2::SockRef::from(&socket)
                .recv_buffer_size()
                .expect("SO_RCVBUF")
        };
        let forced = size() == BACKLOG_RECEIVE_BUFFER;
        let backlog = size();
        let start = Instant::now();
        let mut depth = Depth::new(start);
        depth.track(&socket, &Ok(BATCH), start);
        assert_eq!(size(), backlog);
        depth.track(&socket, &Ok(1), start);
        if forced {
            assert_eq!(size(), STEADY_RECEIVE_BUFFER);
        } else {
            assert!(size() <= backlog);
        }
        set_receive_buffer(&socket2::SockRef::from(&socket), BACKLOG_RECEIVE_BUFFER);
        assert_eq!(size(), backlog);
    }
}
