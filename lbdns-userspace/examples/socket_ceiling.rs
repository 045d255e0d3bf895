//! The socket path's ceiling: lbdns's own UDP I/O, answering nothing. It binds as `lbdns serve`
//! does (one SO_REUSEPORT socket per core, with the daemon's socket options), receives and
//! sends in the same batches on one thread per socket, and replies to each query with the
//! query itself, QR set, in a buffer of its own as the daemon's replies are. What it reaches is
//! the most any userspace server with this I/O can reach on the machine; `cargo xtask bench`
//! runs it as the `socket-ceiling` target, beside the socket path and its peers, as the XDP
//! ceiling stands beside the fast path.
//!
//! ```text
//! cargo run --release -p lbdns --example socket_ceiling -- 198.19.53.1:53
//! ```

use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::Instant;

use anyhow::{Context as _, Result};
use lbdns::server::mmsg::{RecvBatch, Reply, SendBatch, BATCH};
use lbdns::server::udp;

fn main() -> Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .context("usage: socket_ceiling ADDRESS:PORT")?
        .parse()
        .context("not an address and port")?;
    let workers = thread::available_parallelism().map_or(1, usize::from);
    let sockets = udp::bind(addr, workers).with_context(|| format!("cannot bind {addr}"))?;
    let threads: Vec<_> = sockets
        .into_iter()
        .map(|socket| thread::spawn(move || reflect(&socket)))
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

/// Sends every datagram back to its sender with the header's QR bit set, until the process
/// is killed.
fn reflect(socket: &UdpSocket) {
    let mut batch = RecvBatch::default();
    let mut sender = SendBatch::default();
    let mut replies = Vec::with_capacity(BATCH);
    // The daemon's receive buffer, which shrinks once the backlog is read.
    let mut depth = udp::Depth::new(Instant::now());
    loop {
        let received = batch.recv(socket);
        depth.track(socket, &received, Instant::now());
        // The daemon's sockets wake every 100 ms to look whether they must stop: the same
        // timeouts come back here as errors, and there is nothing to look at.
        if received.is_err() {
            continue;
        }
        replies.clear();
        replies.extend(
            batch
                .datagrams()
                .filter(|d| d.data.len() > 2)
                .map(|datagram| {
                    let mut data = datagram.data.to_vec();
                    data[2] |= 0x80;
                    Reply {
                        data,
                        peer: datagram.peer,
                        local: datagram.local,
                    }
                }),
        );
        sender.send_all(socket, &replies);
    }
}
