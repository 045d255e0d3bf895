//! UDP: one socket per worker thread on the same address (SO_REUSEPORT), so the kernel
//! spreads queries across cores without a shared queue.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

use super::SharedCatalog;
use crate::authority::{respond, Transport};

/// Large enough for any UDP datagram, so an oversized query is seen whole and judged, not cut.
const RECV_BUFFER: usize = 65_535;

pub fn bind(addr: SocketAddr, workers: usize) -> std::io::Result<Vec<UdpSocket>> {
    (0..workers.max(1))
        .map(|_| {
            let socket = super::socket(addr, socket2::Type::DGRAM)?;
            socket.set_reuse_port(true)?;
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
