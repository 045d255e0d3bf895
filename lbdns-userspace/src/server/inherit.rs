//! Sockets this process did not bind: passed back by systemd's fd store on a restart
//! (`$LISTEN_FDS`), or handed over by the daemon this one replaces (`server::handover`). Each
//! is recognised by its type and address, so the order they come in does not matter; one
//! that matches no listen address is closed.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{FromRawFd, OwnedFd};

/// Sockets to serve on instead of binding new ones.
#[derive(Debug, Default)]
pub struct Inherited {
    udp: Vec<(SocketAddr, UdpSocket)>,
    tcp: Vec<(SocketAddr, TcpListener)>,
}

impl Inherited {
    /// Sorts `fds` into UDP sockets and TCP listeners by their bound address.
    pub fn from_fds(fds: Vec<OwnedFd>) -> Self {
        let mut inherited = Self::default();
        for fd in fds {
            let socket = socket2::Socket::from(fd);
            let (Ok(kind), Some(addr)) = (
                socket.r#type(),
                socket.local_addr().ok().and_then(|a| a.as_socket()),
            ) else {
                continue;
            };
            if kind == socket2::Type::DGRAM {
                inherited.udp.push((addr, socket.into()));
            } else if kind == socket2::Type::STREAM && socket.is_listener().unwrap_or(false) {
                inherited.tcp.push((addr, socket.into()));
            }
        }
        inherited
    }

    /// The descriptors systemd passed (`$LISTEN_PID` must be this process): after a restart,
    /// the sockets the previous process put in the fd store. The variables are removed, so no
    /// child process takes them for its own.
    pub fn from_systemd() -> Self {
        let ours = std::env::var("LISTEN_PID")
            .ok()
            .and_then(|pid| pid.parse::<u32>().ok())
            == Some(std::process::id());
        let count = std::env::var("LISTEN_FDS")
            .ok()
            .and_then(|n| n.parse::<i32>().ok())
            .filter(|_| ours)
            .unwrap_or(0);
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            // SAFETY: called at start-up, before the daemon starts any thread.
            unsafe { std::env::remove_var(name) };
        }
        /// sd_listen_fds(3): passed descriptors start at 3.
        const FIRST: i32 = 3;
        let fds = (FIRST..FIRST + count)
            // SAFETY: systemd passed these descriptors to this process, and nothing else in it
            // has taken them.
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
            .collect();
        Self::from_fds(fds)
    }

    /// Adds the sockets of `other`.
    pub fn extend(&mut self, other: Self) {
        self.udp.extend(other.udp);
        self.tcp.extend(other.tcp);
    }

    pub fn is_empty(&self) -> bool {
        self.udp.is_empty() && self.tcp.is_empty()
    }

    /// The UDP sockets bound to `addr`.
    pub(super) fn take_udp(&mut self, addr: SocketAddr) -> Vec<UdpSocket> {
        let (taken, kept) = std::mem::take(&mut self.udp)
            .into_iter()
            .partition(|(bound, _)| *bound == addr);
        self.udp = kept;
        taken.into_iter().map(|(_, socket)| socket).collect()
    }

    /// The TCP listener bound to `addr`.
    pub(super) fn take_tcp(&mut self, addr: SocketAddr) -> Option<TcpListener> {
        let index = self.tcp.iter().position(|(bound, _)| *bound == addr)?;
        Some(self.tcp.swap_remove(index).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sockets come back by type and bound address, whatever their order; a connected or
    /// unbound one matches nothing.
    #[test]
    fn inherited_sockets_are_found_by_type_and_address() {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let (udp_addr, tcp_addr) = (udp.local_addr().unwrap(), tcp.local_addr().unwrap());
        let stray = std::os::unix::net::UnixDatagram::unbound().unwrap();
        let mut inherited = Inherited::from_fds(vec![
            OwnedFd::from(stray),
            OwnedFd::from(tcp),
            OwnedFd::from(udp),
        ]);
        assert!(
            inherited.take_tcp(udp_addr).is_none(),
            "a UDP address is no listener"
        );
        assert_eq!(inherited.take_udp(udp_addr).len(), 1);
        assert!(inherited.take_tcp(tcp_addr).is_some());
        assert!(inherited.is_empty());
    }
}
