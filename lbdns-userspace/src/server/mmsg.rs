//! Batched UDP I/O: `recvmmsg` and `sendmmsg` behind a safe interface.
//!
//! Under load one system call moves many datagrams each way, which is where a userspace DNS
//! server spends most of its time; this is how NSD and Knot reach their rates.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams moved per system call at most.
pub const BATCH: usize = 32;
/// Largest query accepted whole. Queries are small; a larger datagram arrives truncated and is
/// flagged as such, so the caller can still answer it from its header.
pub const MAX_QUERY: usize = 4096;

/// One received datagram.
#[derive(Debug)]
pub struct Datagram<'a> {
    pub data: &'a [u8],
    pub peer: SocketAddr,
    /// The datagram was longer than [`MAX_QUERY`] and `data` holds only its start.
    pub truncated: bool,
}

/// Reusable buffers for receiving a batch.
pub struct RecvBatch {
    buffers: Box<[[u8; MAX_QUERY]; BATCH]>,
    addrs: [libc::sockaddr_storage; BATCH],
    lengths: [usize; BATCH],
    flags: [i32; BATCH],
    count: usize,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Default for RecvBatch {
    fn default() -> Self {
        Self {
            buffers: Box::new([[0; MAX_QUERY]; BATCH]),
            // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid (AF_UNSPEC) value.
            addrs: unsafe { MaybeUninit::zeroed().assume_init() },
            lengths: [0; BATCH],
            flags: [0; BATCH],
            count: 0,
        }
    }
}

impl RecvBatch {
    /// Blocks until at least one datagram arrives, then takes what else is queued, up to
    /// [`BATCH`]. Returns how many were received.
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let mut iovecs: [libc::iovec; BATCH] = std::array::from_fn(|i| libc::iovec {
            iov_base: self.buffers[i].as_mut_ptr().cast(),
            iov_len: MAX_QUERY,
        });
        // SAFETY: mmsghdr is plain old data; the fields that matter are filled in below.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        for (i, header) in headers.iter_mut().enumerate() {
            header.msg_hdr.msg_name = (&raw mut self.addrs[i]).cast();
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_hdr.msg_iov = &raw mut iovecs[i];
            header.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a live buffer and address slot of the right size,
        // owned by `self` or this frame, for the duration of the call.
        let received = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            return Err(io::Error::last_os_error());
        }
        self.count = received as usize;
        for (i, header) in headers.iter().take(self.count).enumerate() {
            self.lengths[i] = header.msg_len as usize;
            self.flags[i] = header.msg_hdr.msg_flags;
        }
        Ok(self.count)
    }

    /// The datagrams of the last `recv`, skipping any whose sender is not IPv4 or IPv6.
    pub fn datagrams(&self) -> impl Iterator<Item = Datagram<'_>> {
        (0..self.count).filter_map(|i| {
            Some(Datagram {
                data: &self.buffers[i][..self.lengths[i].min(MAX_QUERY)],
                peer: to_socket_addr(&self.addrs[i])?,
                truncated: self.flags[i] & libc::MSG_TRUNC != 0,
            })
        })
    }
}

/// Sends every reply in `replies` to its peer, in as few system calls as the kernel allows.
/// Replies the kernel refuses (an unreachable peer, say) are skipped, not retried.
pub fn send_all(socket: &UdpSocket, replies: &[(Vec<u8>, SocketAddr)]) {
    let mut start = 0;
    while start < replies.len() {
        let batch = &replies[start..replies.len().min(start + BATCH)];
        let mut addrs: Vec<(libc::sockaddr_storage, libc::socklen_t)> = batch
            .iter()
            .map(|(_, peer)| from_socket_addr(peer))
            .collect();
        let mut iovecs: Vec<libc::iovec> = batch
            .iter()
            .map(|(reply, _)| libc::iovec {
                iov_base: reply.as_ptr() as *mut _,
                iov_len: reply.len(),
            })
            .collect();
        let mut headers: Vec<libc::mmsghdr> = (0..batch.len())
            .map(|i| {
                // SAFETY: mmsghdr is plain old data; the fields that matter are set next.
                let mut header: libc::mmsghdr = unsafe { MaybeUninit::zeroed().assume_init() };
                header.msg_hdr.msg_name = (&raw mut addrs[i].0).cast();
                header.msg_hdr.msg_namelen = addrs[i].1;
                header.msg_hdr.msg_iov = &raw mut iovecs[i];
                header.msg_hdr.msg_iovlen = 1;
                header
            })
            .collect();
        // SAFETY: the headers point into `addrs`, `iovecs` and `replies`, all alive and
        // unmoved for the call; sendmmsg only reads the buffers.
        let sent = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                batch.len() as libc::c_uint,
                0,
            )
        };
        if sent <= 0 {
            // The first datagram failed (sendmmsg reports that as an error): skip it.
            tracing::debug!(error = %io::Error::last_os_error(), peer = %batch[0].1, "UDP send failed");
            start += 1;
        } else {
            start += sent as usize;
        }
    }
}

fn to_socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in for AF_INET; storage is large and aligned.
            let v4 =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                u32::from_be(v4.sin_addr.s_addr).into(),
                u16::from_be(v4.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let v6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Some(SocketAddr::V6(SocketAddrV6::new(
                v6.sin6_addr.s6_addr.into(),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn from_socket_addr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    let socket2: socket2::SockAddr = (*addr).into();
    // SAFETY: SockAddr holds a valid sockaddr of `len()` bytes, which fits sockaddr_storage.
    let storage = unsafe { *socket2.as_ptr().cast::<libc::sockaddr_storage>() };
    (storage, socket2.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_over_loopback_v4_and_v6() {
        for local in ["127.0.0.1:0", "[::1]:0"] {
            let server = UdpSocket::bind(local).unwrap();
            let client = UdpSocket::bind(local).unwrap();
            client
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            for i in 0..5u8 {
                client
                    .send_to(&[i; 3], server.local_addr().unwrap())
                    .unwrap();
            }
            client
                .send_to(&vec![7; MAX_QUERY + 10], server.local_addr().unwrap())
                .unwrap();
            let mut batch = RecvBatch::default();
            let mut seen = Vec::new();
            while seen.len() < 6 {
                batch.recv(&server).unwrap();
                seen.extend(
                    batch
                        .datagrams()
                        .map(|d| (d.data.to_vec(), d.peer, d.truncated)),
                );
            }
            assert_eq!(seen[0], (vec![0; 3], client.local_addr().unwrap(), false));
            assert_eq!((seen[5].0.len(), seen[5].2), (MAX_QUERY, true));
            let replies: Vec<_> = seen
                .iter()
                .map(|(data, peer, _)| (data[..1].to_vec(), *peer))
                .collect();
            send_all(&server, &replies);
            let mut buf = [0u8; 16];
            for expected in [0, 1, 2, 3, 4, 7] {
                let (len, _) = client.recv_from(&mut buf).unwrap();
                assert_eq!(&buf[..len], &[expected]);
            }
        }
    }
}
