//! UDP: one socket per worker thread on the same address (SO_REUSEPORT), so the kernel
//! spreads queries across cores without a shared queue.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

use super::SharedCatalog;
use crate::authority::{respond, Transport};

/// Large enough for any UDP datagram, so an oversized query is seen whole and judged, not cut.
const RECV_BUFFER: usize = 65_535;

/// Kernel socket buffer, so that a burst queued while a worker is busy is not dropped. The
/// kernel caps it at net.core.rmem_max/wmem_max; this asks, it does not insist.
const SOCKET_BUFFER: usize = 4 << 20;

pub fn bind(addr: SocketAddr, workers: usize) -> std::io::Result<Vec<UdpSocket>> {
    (0..workers.max(1))
        .map(|_| {
            let socket = super::socket(addr, socket2::Type::DGRAM)?;
            socket.set_reuse_port(true)?;
            // Best effort: a smaller buffer than asked for still works.
            let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
            let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
            socket.bind(&addr.into())?;
            UdpSocket::from_std(socket.into())
        })
        .collect()
}

pub async fn serve(socket: UdpSocket, catalog: SharedCatalog) {
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors from earlier sends surface here on Linux; they are not fatal.
                tracing::debug!(%error, "UDP receive failed");
                continue;
            }
        };
        let Some(reply) = respond(&catalog.load(), &buf[..len], Transport::Udp) else {
            continue;
        };
        if let Err(error) = socket.send_to(&reply, peer).await {
            tracing::debug!(%error, %peer, "UDP send failed");
        }
    }
}
