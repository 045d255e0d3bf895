//! UDP: one SO_REUSEPORT socket per core, each served by its own thread in blocking batched
//! I/O, so the kernel spreads queries across cores and no async machinery sits in between.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::mmsg::{RecvBatch, Reply, SendBatch, BATCH};
use super::pktinfo;
use super::SharedCatalog;
use crate::authority::Transport;
use crate::metrics::socket::PathCounters;
use crate::secondary::Secondaries;

/// Kernel socket buffer, so that a burst queued while a worker is busy is not dropped. The
/// kernel caps it at net.core.rmem_max/wmem_max; this asks, it does not insist.
const SOCKET_BUFFER: usize = 4 << 20;

pub fn bind(addr: SocketAddr, workers: usize) -> io::Result<Vec<UdpSocket>> {
    (0..workers.max(1))
        .map(|_| {
            let socket = super::socket(addr, socket2::Type::DGRAM)?;
            socket.set_reuse_port(true)?;
            // Replies leave from the address each query was sent to, whatever `addr` is.
            pktinfo::request(&socket, addr.is_ipv6())?;
            // Best effort: a smaller buffer than asked for still works.
            let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
            let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
            socket.bind(&addr.into())?;
            Ok(socket.into())
        })
        .collect()
}

/// Serves `socket` on a thread of its own for the rest of the process's life, counting in
/// `counted`, which only this thread writes.
pub fn spawn(
    socket: UdpSocket,
    catalog: SharedCatalog,
    secondaries: Arc<Secondaries>,
    counted: Arc<PathCounters>,
) -> io::Result<()> {
    let name = format!("udp {}", socket.local_addr()?);
    thread::Builder::new()
        .name(name)
        .spawn(move || serve(&socket, &catalog, &secondaries, &counted))?;
    Ok(())
}

fn serve(
    socket: &UdpSocket,
    catalog: &SharedCatalog,
    secondaries: &Secondaries,
    counted: &PathCounters,
) {
    let mut batch = RecvBatch::default();
    let mut sender = SendBatch::default();
    let mut replies = Vec::with_capacity(BATCH);
    loop {
        if let Err(error) = batch.recv(socket) {
            if error.kind() != io::ErrorKind::Interrupted {
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
            let reply = super::reply(&catalog, secondaries, datagram.data, peer, Transport::Udp);
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
