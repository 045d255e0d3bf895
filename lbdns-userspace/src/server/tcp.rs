//! TCP (RFC 1035 §4.2.2, RFC 7766): two-octet length framing, several queries per connection
//! answered in order, an idle timeout, and a bound on concurrent connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::SharedCatalog;
use crate::authority::{Catalog, Transport};
use crate::metrics::socket::PathCounters;
use crate::secondary::Secondaries;
use crate::{transfer_out, tsig};

/// Limits that keep one client from holding the server's TCP capacity.
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// A connection with no complete query for this long is closed.
    pub idle_timeout: Duration,
    /// Connections beyond this are closed as soon as they are accepted.
    pub max_connections: usize,
}

pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = super::socket(addr, socket2::Type::STREAM)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// A listener bound by another process (the fd store, a handover), made ready for tokio.
pub fn adopt(listener: std::net::TcpListener) -> std::io::Result<TcpListener> {
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener)
}

pub async fn serve(
    listener: TcpListener,
    catalog: SharedCatalog,
    secondaries: Arc<Secondaries>,
    limits: TcpLimits,
    counted: Arc<PathCounters>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Typically EMFILE: back off briefly instead of spinning.
                tracing::warn!(%error, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "TCP connection limit reached; closing");
            continue;
        };
        let catalog = catalog.clone();
        let secondaries = secondaries.clone();
        let counted = counted.clone();
        tokio::spawn(async move {
            let idle = limits.idle_timeout;
            let served = (&catalog, &*secondaries);
            if let Err(error) = connection(stream, served, idle, peer, &counted).await {
                tracing::debug!(%peer, %error, "TCP connection ended");
            }
            drop(slot);
        });
    }
}

/// Serves queries from one connection until the client closes it, goes idle, or sends a
/// frame that cannot be a DNS message. Counts them in `counted` as from `peer`.
async fn connection(
    mut stream: TcpStream,
    (catalog, secondaries): (&SharedCatalog, &Secondaries),
    idle: Duration,
    peer: SocketAddr,
    counted: &PathCounters,
) -> std::io::Result<()> {
    let mut query = Vec::new();
    loop {
        let mut length = [0u8; 2];
        match tokio::time::timeout(idle, stream.read_exact(&mut length)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Ok(()),
        }
        let length = usize::from(u16::from_be_bytes(length));
        if length == 0 {
            // A zero-length frame holds no message; nothing sensible can follow it.
            return Ok(());
        }
        query.resize(length, 0);
        match tokio::time::timeout(idle, stream.read_exact(&mut query)).await {
            Ok(result) => result?,
            Err(_) => return Ok(()),
        };
        let received = Instant::now();
        counted.query(&peer, &query);
        if transfer_out::is_transfer(&query) {
            // The catalog as it is now, for the whole transfer, even if a reload lands.
            let current = catalog.load_full();
            transfer(&mut stream, &current, &query, peer, idle, counted).await?;
            continue;
        }
        let reply = super::reply(
            &catalog.load(),
            secondaries,
            &query,
            peer.ip(),
            Transport::Tcp,
        );
        let Some(reply) = reply else {
            continue;
        };
        counted.response(&reply);
        write_message(&mut stream, &reply).await?;
        counted.latency(received.elapsed(), 1);
    }
}

/// Sends the answer to a zone transfer request (`transfer_out`), message by message, and
/// logs what went out. A client that takes no message for `idle` loses the connection, so
/// it cannot hold an old catalog alive.
async fn transfer(
    stream: &mut TcpStream,
    catalog: &Catalog,
    query: &[u8],
    peer: SocketAddr,
    idle: Duration,
    counted: &PathCounters,
) -> std::io::Result<()> {
    let Some(mut transfer) = transfer_out::answer(catalog, query, peer.ip(), tsig::now()) else {
        return Ok(());
    };
    let mut messages = 0usize;
    while let Some(message) = transfer.next_message(tsig::now()) {
        if messages == 0 {
            counted.response(&message);
        }
        tokio::time::timeout(idle, write_message(stream, &message))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "transfer stalled"))??;
        messages += 1;
    }
    if let Some(summary) = &transfer.summary {
        tracing::info!(
            "{summary}: {messages} message(s), {} record(s)",
            transfer.records()
        );
    }
    Ok(())
}

/// Writes one message with its two-octet length.
async fn write_message(stream: &mut TcpStream, message: &[u8]) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(message.len() + 2);
    frame.extend_from_slice(&(message.len() as u16).to_be_bytes());
    frame.extend_from_slice(message);
    stream.write_all(&frame).await
}
