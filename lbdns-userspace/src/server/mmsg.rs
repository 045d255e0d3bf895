//! Batched UDP I/O: `recvmmsg` and `sendmmsg` behind a safe interface.
//!
//! Under load one system call moves many datagrams each way, which is where a userspace DNS
//! server spends most of its time; this is how NSD and Knot reach their rates. Each datagram
//! carries its destination in and its reply's source out as ancillary data (`pktinfo`), in
//! buffers allocated once per batch, not per datagram.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

use super::pktinfo::{Control, Local};

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
    /// The address the datagram was sent to, if the socket asked for it (`pktinfo::request`).
    pub local: Option<Local>,
    /// The datagram was longer than [`MAX_QUERY`] and `data` holds only its start.
    pub truncated: bool,
}

/// Reusable buffers for receiving a batch.
pub struct RecvBatch {
    buffers: Box<[[u8; MAX_QUERY]; BATCH]>,
    addrs: [libc::sockaddr_storage; BATCH],
    controls: [Control; BATCH],
    lengths: [usize; BATCH],
    control_lengths: [usize; BATCH],
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
            controls: [Control::default(); BATCH],
            lengths: [0; BATCH],
            control_lengths: [0; BATCH],
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
            header.msg_hdr.msg_control = self.controls[i].as_mut_ptr();
            header.msg_hdr.msg_controllen = Control::LEN;
        }
        // SAFETY: every header points at a live buffer, address slot and control buffer of the
        // right size, owned by `self` or this frame, for the duration of the call.
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
            self.control_lengths[i] = header.msg_hdr.msg_controllen;
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
                local: self.controls[i].local(self.control_lengths[i]),
                truncated: self.flags[i] & libc::MSG_TRUNC != 0,
            })
        })
    }
}

/// A reply and where it goes.
#[derive(Debug)]
pub struct Reply {
    pub data: Vec<u8>,
    pub peer: SocketAddr,
    /// The address the query was sent to, which the reply leaves from; `None` lets routing
    /// choose.
    pub local: Option<Local>,
}

/// Reusable buffers for sending replies: peer addresses and ancillary data.
pub struct SendBatch {
    addrs: [(libc::sockaddr_storage, libc::socklen_t); BATCH],
    controls: [Control; BATCH],
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch").finish_non_exhaustive()
    }
}

impl Default for SendBatch {
    fn default() -> Self {
        Self {
            // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid (AF_UNSPEC) value.
            addrs: unsafe { MaybeUninit::zeroed().assume_init() },
            controls: [Control::default(); BATCH],
        }
    }
}

impl SendBatch {
    /// Sends every reply to its peer, from its local address, in as few system calls as the
    /// kernel allows. Replies the kernel refuses (an unreachable peer, a local address removed
    /// since the query came) are skipped, not retried.
    pub fn send_all(&mut self, socket: &UdpSocket, replies: &[Reply]) {
        let mut start = 0;
        while start < replies.len() {
            let batch = &replies[start..replies.len().min(start + BATCH)];
            let mut iovecs = [libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }; BATCH];
            // SAFETY: mmsghdr is plain old data; the fields that matter are set next.
            let mut headers: [libc::mmsghdr; BATCH] =
                unsafe { MaybeUninit::zeroed().assume_init() };
            for (i, reply) in batch.iter().enumerate() {
                self.addrs[i] = from_socket_addr(&reply.peer);
                iovecs[i] = libc::iovec {
                    iov_base: reply.data.as_ptr() as *mut _,
                    iov_len: reply.data.len(),
                };
                let header = &mut headers[i].msg_hdr;
                header.msg_name = (&raw mut self.addrs[i].0).cast();
                header.msg_namelen = self.addrs[i].1;
                header.msg_iov = &raw mut iovecs[i];
                header.msg_iovlen = 1;
                if let Some(local) = reply.local {
                    header.msg_controllen = self.controls[i].set_source(local);
                    header.msg_control = self.controls[i].as_mut_ptr();
                }
            }
            // SAFETY: the headers point into `self`, `iovecs` and `replies`, all alive and
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
                tracing::debug!(
                    error = %io::Error::last_os_error(),
                    peer = %batch[0].peer,
                    local = ?batch[0].local,
                    "UDP send failed"
                );
                start += 1;
            } else {
                start += sent as usize;
            }
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
                .map(|(data, peer, _)| Reply {
                    data: data[..1].to_vec(),
                    peer: *peer,
                    local: None,
                })
                .collect();
            SendBatch::default().send_all(&server, &replies);
            let mut buf = [0u8; 16];
            for expected in [0, 1, 2, 3, 4, 7] {
                let (len, _) = client.recv_from(&mut buf).unwrap();
                assert_eq!(&buf[..len], &[expected]);
            }
        }
    }

    /// Every address in 127.0.0.0/8 is local, so a wildcard socket on the host shows the bug
    /// without a namespace: a query to 127.0.0.2 from 127.0.0.1 is answered, by routing, from
    /// 127.0.0.1. IPv6 has only ::1 there, so it checks what is reported and sent back.
    #[test]
    fn rfc2181_4_1_replies_leave_from_the_address_queried() {
        for (wildcard, client, queried, want) in [
            (
                "0.0.0.0:0",
                "127.0.0.1:0",
                "127.0.0.2",
                Local::V4([127, 0, 0, 2].into()),
            ),
            (
                "[::]:0",
                "[::1]:0",
                "::1",
                Local::V6 {
                    addr: std::net::Ipv6Addr::LOCALHOST,
                    scope_id: 0,
                },
            ),
        ] {
            let server = super::super::udp::bind(wildcard.parse().unwrap(), 1)
                .unwrap()
                .remove(0);
            let queried = SocketAddr::new(
                queried.parse().unwrap(),
                server.local_addr().unwrap().port(),
            );
            let client = UdpSocket::bind(client).unwrap();
            client
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            client.send_to(b"query", queried).unwrap();
            let mut batch = RecvBatch::default();
            batch.recv(&server).unwrap();
            let replies: Vec<_> = batch
                .datagrams()
                .map(|d| {
                    assert_eq!(d.local, Some(want));
                    Reply {
                        data: b"reply".to_vec(),
                        peer: d.peer,
                        local: d.local,
                    }
                })
                .collect();
            assert_eq!(replies.len(), 1);
            SendBatch::default().send_all(&server, &replies);
            let mut buf = [0u8; 16];
            let (len, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..len], b"reply");
            assert_eq!(from, queried, "the reply's source address");
        }
    }
}
