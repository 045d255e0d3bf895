//! The sd_notify protocol (sd_notify(3)): one datagram of `KEY=VALUE` lines to the Unix socket
//! named by `$NOTIFY_SOCKET`. It is small enough to speak directly; a path starting with `@`
//! names a socket in the abstract namespace.
//!
//! Messages are best effort, as in libsystemd: a lost notification never stops the daemon, it
//! is logged. Without `$NOTIFY_SOCKET` (not run by systemd with `Type=notify`) nothing is sent.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Sends the daemon's state to the service manager that started it, if any.
#[derive(Debug)]
pub struct Notifier {
    /// The manager's socket and one unbound socket to send from; `None` without a manager.
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// The manager named by `$NOTIFY_SOCKET`, or one that sends nothing when it is unset. An
    /// address that cannot be used (a `vsock:` one, or an over-long path) is logged as a
    /// warning, so the operator learns why `Type=notify` times out, and nothing is sent: the
    /// daemon serves either way.
    pub fn from_env() -> Self {
        let Some(value) = std::env::var_os("NOTIFY_SOCKET") else {
            return Self { target: None };
        };
        let notifier = value
            .to_str()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "NOTIFY_SOCKET is not valid UTF-8",
                )
            })
            .and_then(Self::to);
        notifier.unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot notify the service manager; not sending readiness");
            Self { target: None }
        })
    }

    /// Notifies the socket at `address`: a file system path, or `@name` in the abstract
    /// namespace.
    pub fn to(address: &str) -> io::Result<Self> {
        let address = match address.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes())?,
            None if address.starts_with('/') => SocketAddr::from_pathname(address)?,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("NOTIFY_SOCKET={address}: only Unix socket paths and @abstract names are supported"),
                ))
            }
        };
        Ok(Self {
            target: Some((UnixDatagram::unbound()?, address)),
        })
    }

    /// The sockets answer: systemd may start what is ordered after lbdns.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    /// A reload starts. `MONOTONIC_USEC` lets `Type=notify-reload` match this message to the
    /// reload it asked for.
    pub fn reloading(&self) {
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading",
            monotonic_usec()
        ));
    }

    /// A reload ended (well or not: the daemon serves either way), with what came of it.
    pub fn reloaded(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    /// A new line for `systemctl status`.
    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={status}"));
    }

    /// The daemon is shutting down.
    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping");
    }

    /// Puts `fds` in the service's fd store (`FDSTORE=1`; the unit's
    /// `FileDescriptorStoreMax=` must leave room): systemd passes them to the next process on
    /// a restart (`$LISTEN_FDS`) and closes them on a stop.
    pub fn store_fds(&self, fds: &[OwnedFd]) {
        let Some((_, address)) = &self.target else {
            return;
        };
        let stored = UnixDatagram::unbound()
            .and_then(|socket| {
                socket.connect_addr(address)?;
                Ok(socket)
            })
            .and_then(|socket| {
                let borrowed: Vec<_> = fds.iter().map(AsFd::as_fd).collect();
                crate::server::send_fds(socket.as_fd(), b"FDSTORE=1\nFDNAME=sockets", &borrowed)
            });
        if let Err(error) = stored {
            tracing::warn!(%error, "cannot store the sockets in systemd's fd store");
        }
    }

    fn send(&self, message: &str) {
        let Some((socket, address)) = &self.target else {
            return;
        };
        if let Err(error) = socket.send_to_addr(message.as_bytes(), address) {
            tracing::warn!(%error, "cannot notify the service manager");
        }
    }
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd compares reload requests with.
fn monotonic_usec() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given, which lives on this stack.
    // CLOCK_MONOTONIC always exists on Linux, so it cannot fail.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
    }
    u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000
        + u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sd_notify_reaches_a_path_and_an_abstract_socket() {
        let dir = std::env::temp_dir().join(format!("lbdns-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let by_path = UnixDatagram::bind(&path).unwrap();
        Notifier::to(path.to_str().unwrap())
            .unwrap()
            .ready("serving");
        assert_eq!(received(&by_path), "READY=1\nSTATUS=serving");

        let name = format!("lbdns-notify-test-{}", std::process::id());
        let abstract_address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let by_name = UnixDatagram::bind_addr(&abstract_address).unwrap();
        let notifier = Notifier::to(&format!("@{name}")).unwrap();
        notifier.reloading();
        let message = received(&by_name);
        let usec: u64 = message
            .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
            .and_then(|rest| rest.strip_suffix("\nSTATUS=reloading"))
            .and_then(|usec| usec.parse().ok())
            .unwrap_or_else(|| panic!("{message:?}"));
        assert!(usec > 0 && usec <= monotonic_usec());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// FDSTORE=1 carries the sockets to the manager as SCM_RIGHTS, as sd_pid_notify_with_fds(3).
    #[test]
    fn the_fd_store_receives_the_sockets() {
        let name = format!("lbdns-fdstore-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let manager = UnixDatagram::bind_addr(&address).unwrap();
        let sockets: Vec<OwnedFd> = (0..3)
            .map(|_| OwnedFd::from(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()))
            .collect();
        Notifier::to(&format!("@{name}"))
            .unwrap()
            .store_fds(&sockets);
        let mut buffer = [0u8; 64];
        let (len, fds) = crate::server::fds::recv(manager.as_fd(), &mut buffer).unwrap();
        assert_eq!(&buffer[..len], b"FDSTORE=1\nFDNAME=sockets");
        assert_eq!(fds.len(), 3);
    }

    #[test]
    fn a_vsock_address_is_refused_and_no_socket_means_silence() {
        assert!(Notifier::to("vsock:2:1234").is_err());
        // Nothing to send to: every call returns without effect.
        let silent = Notifier { target: None };
        silent.ready("serving");
        silent.stopping();
    }
}
