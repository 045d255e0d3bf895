//! The socket path: UDP and TCP listeners that hand every query to `authority::respond`, and
//! every NOTIFY to the secondary zones (`secondary::notify`). Thin by design: all DNS
//! semantics live there, so both transports answer alike.

pub(crate) mod fds;
pub mod handover;
mod inherit;
pub mod mmsg;
mod pktinfo;
mod signed;
mod tcp;
pub mod udp;

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use tokio::task::JoinSet;

use crate::authority::{self, Catalog, Client, ReplyCache, Transport};
use crate::metrics::socket::SocketMetrics;
use crate::rrl::{self, Admit, Limiter};
use crate::secondary::{notify, Secondaries};
use crate::tsig;
use lbdns_common::cookie::CookieState;

pub use fds::{recv as recv_fds, send as send_fds};
pub use inherit::Inherited;
pub use tcp::TcpLimits;
pub use udp::Readers;

/// The catalog currently served. Reloads swap it whole, so a query sees one version only.
pub type SharedCatalog = Arc<ArcSwap<Catalog>>;

/// What [`start`] serves on: the TCP tasks, returned for shutdown, and a descriptor of every
/// socket, to pass on at a restart (systemd's fd store, or the next process).
#[derive(Debug)]
pub struct Listening {
    pub tasks: JoinSet<()>,
    pub sockets: Vec<OwnedFd>,
    /// The UDP workers, to stop them reading before an exit.
    pub readers: Arc<Readers>,
}

/// Binds every listen address (UDP and TCP), or takes the socket `inherited` has for it, and
/// starts serving: UDP on threads that live as long as the process, TCP on tasks of the
/// current tokio runtime. Every query and reply is counted in `counted`; UDP replies are
/// rate-limited by `limiter`. NOTIFYs go to `secondaries`.
///
/// Binding happens before this returns, so a busy port or missing privilege is reported at
/// start-up rather than from a background task.
pub fn start(
    catalog: &SharedCatalog,
    listen: &[SocketAddr],
    tcp: TcpLimits,
    counted: &SocketMetrics,
    limiter: &Arc<Limiter>,
    secondaries: &Arc<Secondaries>,
    inherited: &mut Inherited,
) -> Result<Listening> {
    let mut tasks = JoinSet::new();
    let mut kept = Vec::new();
    let readers = Arc::new(Readers::default());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    for &addr in listen {
        let mut sockets = inherited.take_udp(addr);
        let reused = !sockets.is_empty();
        if reused {
            for socket in &sockets {
                udp::prepare(socket2::SockRef::from(socket), addr)
                    .with_context(|| format!("cannot use the UDP socket inherited for {addr}"))?;
            }
        } else {
            sockets =
                udp::bind(addr, workers).with_context(|| format!("cannot listen on UDP {addr}"))?;
        }
        // TCP is bound before any UDP thread starts, so a port held by another server stops
        // start-up cleanly.
        let listener = match inherited.take_tcp(addr) {
            Some(listener) => tcp::adopt(listener),
            None => tcp::bind(addr),
        }
        .with_context(|| format!("cannot listen on TCP {addr}"))?;
        kept.push(dup(&listener)?);
        for socket in sockets {
            kept.push(dup(&socket)?);
            udp::spawn(
                socket,
                catalog.clone(),
                secondaries.clone(),
                counted.udp_thread(),
                limiter.clone(),
                readers.clone(),
            )
            .context("cannot start a UDP worker thread")?;
        }
        tasks.spawn(tcp::serve(
            listener,
            catalog.clone(),
            secondaries.clone(),
            tcp,
            counted.tcp(),
        ));
        tracing::info!(%addr, inherited = reused, "listening on UDP and TCP");
    }
    Ok(Listening {
        tasks,
        sockets: kept,
        readers,
    })
}

fn dup(socket: &impl AsFd) -> Result<OwnedFd> {
    socket
        .as_fd()
        .try_clone_to_owned()
        .context("cannot duplicate a socket descriptor")
}

/// The reply to one message from `peer`: a NOTIFY is the secondary zones' to answer, every
/// other message the authority's.
fn reply(
    catalog: &Catalog,
    secondaries: &Secondaries,
    message: &[u8],
    peer: IpAddr,
    transport: Transport,
) -> Option<Vec<u8>> {
    if notify::is_notify(message) {
        return notify::answer(secondaries, catalog, message, peer);
    }
    signed::answer(catalog, message, Client::new(peer, transport))
}

/// [`reply`] to a UDP datagram, under the response rate limits (`crate::rrl`): the reply,
/// the truncated reply or BADCOOKIE it slips as, or nothing. An unsigned query is answered
/// through the worker's `cache` (`authority::answer` when it remembers no reply), which tells
/// its cookie state with the reply: a valid server cookie exempts the client.
fn reply_udp(
    catalog: &Catalog,
    cache: &mut ReplyCache,
    secondaries: &Secondaries,
    limiter: &Limiter,
    message: &[u8],
    peer: IpAddr,
) -> Option<Vec<u8>> {
    if notify::is_notify(message) {
        return notify::answer(secondaries, catalog, message, peer);
    }
    let client = Client::new(peer, Transport::Udp);
    let (reply, cookie) = if tsig::is_signed(message) {
        (signed::answer(catalog, message, client)?, CookieState::None)
    } else {
        let answered = cache.answer(message, client)?;
        (answered.reply, answered.cookie)
    };
    match limiter.admit(catalog, message, &reply, peer, cookie) {
        Admit::Send => Some(reply),
        Admit::Slip => rrl::classify::truncated(message),
        Admit::BadCookie => authority::badcookie(catalog, message, client),
        Admit::Drop => None,
    }
}

/// A socket2 socket for `addr` with the options both transports want (and the metrics page).
pub(crate) fn socket(addr: SocketAddr, kind: socket2::Type) -> std::io::Result<socket2::Socket> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, kind, None)?;
    if addr.is_ipv6() {
        // Lets `0.0.0.0:53` and `[::]:53` be bound side by side, as the default does.
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    Ok(socket)
}

/// Default TCP idle timeout; RFC 7766 §6.2.3 suggests seconds, not minutes.
pub const DEFAULT_TCP_IDLE: Duration = Duration::from_secs(10);
