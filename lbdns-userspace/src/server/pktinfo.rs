//! The address each UDP query was sent to, read from its `IP_PKTINFO` / `IPV6_PKTINFO`
//! ancillary data and handed back with the reply, so the reply leaves from that address.
//!
//! Why: on a socket bound to a wildcard address (the default listen) routing picks a reply's
//! source, and on a host with several addresses (an anycast service address beside the host's
//! own) that is often not the address the client asked. The client then drops the reply
//! (RFC 2181 §4.1, RFC 1122 §4.1.3.5). Binding each address apart only covers the addresses
//! present at start-up; asking the kernel per datagram covers every address, even one added
//! later.
//!
//! What goes back, and why:
//! - IPv4: `ipi_spec_dst`, the kernel's own answer to "which local address answers this
//!   datagram": the destination itself for unicast, an address of the interface for a
//!   broadcast (which could not be a source). The interface index is left 0 so that routing,
//!   not the interface the query came in on, picks the way out: an anycast reply may rightly
//!   leave by another link.
//! - IPv6: the destination address, and the arrival interface only when that address is
//!   link-local, where an address means nothing without its link.
//! - A dual-stack socket (the listeners are v6-only, but nothing here depends on it) reports an
//!   IPv4 query's destination as a v4-mapped `IPV6_PKTINFO`, which the kernel takes back as
//!   the source of a reply to the v4-mapped peer.

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::ptr;

/// Where a datagram arrived: the address its reply must leave from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    V4(Ipv4Addr),
    V6 {
        addr: Ipv6Addr,
        /// The arrival interface if `addr` is link-local, else 0 (routing chooses).
        scope_id: u32,
    },
}

/// `CMSG_LEN(0)`: where a control message's data starts after its header.
// SAFETY: CMSG_LEN only computes a size.
const DATA_OFFSET: usize = unsafe { libc::CMSG_LEN(0) } as usize;

/// `CMSG_SPACE(len)`: the room one control message with `len` data bytes takes.
const fn space(len: usize) -> usize {
    // SAFETY: CMSG_SPACE only computes a size.
    unsafe { libc::CMSG_SPACE(len as libc::c_uint) as usize }
}

/// Room for one pktinfo message of either family; the IPv6 one is the larger.
const CONTROL_LEN: usize = space(size_of::<libc::in6_pktinfo>());
const _: () = assert!(CONTROL_LEN >= space(size_of::<libc::in_pktinfo>()));

/// One datagram's ancillary data, as received or to send. A fixed buffer, so batches of them
/// are allocated once and reused.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Control {
    /// Aligns the buffer as the C API expects a `cmsghdr` to be (this module reads and writes
    /// it unaligned, so nothing here depends on it).
    _align: [libc::cmsghdr; 0],
    bytes: [u8; CONTROL_LEN],
}

impl Default for Control {
    fn default() -> Self {
        Self {
            _align: [],
            bytes: [0; CONTROL_LEN],
        }
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

impl Control {
    /// The buffer's size, for `msg_controllen` when receiving.
    pub const LEN: usize = CONTROL_LEN;

    /// The buffer, for `msg_control`.
    pub fn as_mut_ptr(&mut self) -> *mut libc::c_void {
        self.bytes.as_mut_ptr().cast()
    }

    /// The destination of a received datagram, from the `len` bytes (`msg_controllen`) the
    /// kernel wrote. `None` if it reported none, or a truncated one: the reply then leaves from
    /// wherever routing says, as it would without this module.
    pub fn local(&self, len: usize) -> Option<Local> {
        parse(&self.bytes[..len.min(CONTROL_LEN)])
    }

    /// Fills the buffer with the message that sends a reply from `local`; returns its length,
    /// for `msg_controllen`.
    pub fn set_source(&mut self, local: Local) -> usize {
        match local {
            Local::V4(addr) => {
                let info = libc::in_pktinfo {
                    // Routing picks the interface; see the module's comment.
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(addr).to_be(),
                    },
                    // Ignored when sending.
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                self.write(libc::IPPROTO_IP, libc::IP_PKTINFO, info)
            }
            Local::V6 { addr, scope_id } => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: addr.octets(),
                    },
                    ipi6_ifindex: scope_id,
                };
                self.write(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, info)
            }
        }
    }

    /// Writes one control message holding `data`; returns its space.
    fn write<T: Copy>(&mut self, level: libc::c_int, kind: libc::c_int, data: T) -> usize {
        let len = space(size_of::<T>());
        assert!(len <= CONTROL_LEN, "control message larger than its buffer");
        // SAFETY: cmsghdr is plain old data (on some libcs it has private padding fields,
        // hence zeroed and then set).
        let mut header: libc::cmsghdr = unsafe { std::mem::zeroed() };
        header.cmsg_len = (DATA_OFFSET + size_of::<T>()) as _;
        header.cmsg_level = level;
        header.cmsg_type = kind;
        self.bytes[..len].fill(0);
        // SAFETY: the header and the data after it end within `len`, which fits the buffer
        // (asserted above); both writes are unaligned.
        unsafe {
            ptr::write_unaligned(self.bytes.as_mut_ptr().cast(), header);
            ptr::write_unaligned(self.bytes.as_mut_ptr().add(DATA_OFFSET).cast(), data);
        }
        len
    }
}

/// The destination reported in the control messages `bytes`, skipping any other message.
fn parse(bytes: &[u8]) -> Option<Local> {
    let mut offset = 0;
    // Each round moves past at least one header, so the walk ends.
    while let Some(header) = bytes.get(offset..offset + size_of::<libc::cmsghdr>()) {
        // SAFETY: `header` holds size_of::<cmsghdr>() bytes; the read is unaligned.
        let header: libc::cmsghdr = unsafe { ptr::read_unaligned(header.as_ptr().cast()) };
        let end = offset.checked_add(header.cmsg_len as usize)?;
        // A length shorter than a header, or running past the bytes, is a truncated message.
        let data = bytes.get(offset + DATA_OFFSET..end)?;
        match (header.cmsg_level, header.cmsg_type) {
            (libc::IPPROTO_IP, libc::IP_PKTINFO) => return local_v4(data),
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => return local_v6(data),
            _ => offset += space(data.len()),
        }
    }
    None
}

fn local_v4(data: &[u8]) -> Option<Local> {
    let data = data.get(..size_of::<libc::in_pktinfo>())?;
    // SAFETY: `data` holds a whole in_pktinfo, which is plain old data; the read is unaligned.
    let info: libc::in_pktinfo = unsafe { ptr::read_unaligned(data.as_ptr().cast()) };
    let addr = Ipv4Addr::from(u32::from_be(info.ipi_spec_dst.s_addr));
    // The kernel leaves it 0 when it found no route back; let routing choose then too.
    (!addr.is_unspecified()).then_some(Local::V4(addr))
}

fn local_v6(data: &[u8]) -> Option<Local> {
    let data = data.get(..size_of::<libc::in6_pktinfo>())?;
    // SAFETY: as in `local_v4`, for in6_pktinfo.
    let info: libc::in6_pktinfo = unsafe { ptr::read_unaligned(data.as_ptr().cast()) };
    let addr = Ipv6Addr::from(info.ipi6_addr.s6_addr);
    let scope_id = if addr.is_unicast_link_local() {
        info.ipi6_ifindex
    } else {
        0
    };
    Some(Local::V6 { addr, scope_id })
}

/// Asks the kernel to report each received datagram's destination on `socket`.
pub fn request(socket: &socket2::Socket, ipv6: bool) -> io::Result<()> {
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
    } else {
        (libc::IPPROTO_IP, libc::IP_PKTINFO)
    };
    let on: libc::c_int = 1;
    // SAFETY: a plain setsockopt on an open socket, with an int option value that lives for
    // the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_bytes<T: Copy>(value: &T) -> Vec<u8> {
        // SAFETY: reads the bytes of a plain-old-data value that lives for the call.
        unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
            .to_vec()
    }

    /// Control messages laid out as the kernel writes them on receipt.
    fn received(messages: &[(libc::c_int, libc::c_int, &[u8])]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for &(level, kind, data) in messages {
            // SAFETY: cmsghdr is plain old data.
            let mut header: libc::cmsghdr = unsafe { std::mem::zeroed() };
            header.cmsg_len = (DATA_OFFSET + data.len()) as _;
            header.cmsg_level = level;
            header.cmsg_type = kind;
            let start = bytes.len();
            bytes.extend(pod_bytes(&header));
            bytes.resize(start + DATA_OFFSET, 0);
            bytes.extend_from_slice(data);
            bytes.resize(start + space(data.len()), 0);
        }
        bytes
    }

    fn v4_info(ifindex: i32, spec_dst: [u8; 4], header_dst: [u8; 4]) -> Vec<u8> {
        pod_bytes(&libc::in_pktinfo {
            ipi_ifindex: ifindex,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from_ne_bytes(spec_dst),
            },
            ipi_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(header_dst),
            },
        })
    }

    fn v6_info(addr: &str, ifindex: u32) -> Vec<u8> {
        pod_bytes(&libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: addr.parse::<Ipv6Addr>().unwrap().octets(),
            },
            ipi6_ifindex: ifindex,
        })
    }

    fn v4(info: &[u8]) -> Vec<u8> {
        received(&[(libc::IPPROTO_IP, libc::IP_PKTINFO, info)])
    }

    fn v6(info: &[u8]) -> Vec<u8> {
        received(&[(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, info)])
    }

    /// The single message `control` holds: level, type and data.
    fn sent(control: &Control, len: usize) -> (libc::c_int, libc::c_int, Vec<u8>) {
        // SAFETY: the buffer starts with a header; the read is unaligned.
        let header: libc::cmsghdr = unsafe { ptr::read_unaligned(control.bytes.as_ptr().cast()) };
        let end = header.cmsg_len as usize;
        assert_eq!(len, space(end - DATA_OFFSET));
        let data = control.bytes[DATA_OFFSET..end].to_vec();
        (header.cmsg_level, header.cmsg_type, data)
    }

    #[test]
    fn rfc2181_4_1_ipv4_reply_leaves_from_the_kernels_local_address() {
        // Unicast: spec_dst is the destination.
        let unicast = v4(&v4_info(3, [198, 18, 0, 3], [198, 18, 0, 3]));
        assert_eq!(parse(&unicast), Some(Local::V4([198, 18, 0, 3].into())));
        // Broadcast: the header's destination could not be a source; spec_dst can.
        let broadcast = v4(&v4_info(3, [198, 18, 0, 1], [198, 18, 0, 255]));
        assert_eq!(parse(&broadcast), Some(Local::V4([198, 18, 0, 1].into())));
        // No route back: no source is chosen.
        assert_eq!(parse(&v4(&v4_info(3, [0; 4], [198, 18, 0, 3]))), None);
    }

    #[test]
    fn rfc2181_4_1_ipv4_source_leaves_the_interface_to_routing() {
        let mut control = Control::default();
        let len = control.set_source(Local::V4([198, 18, 0, 3].into()));
        assert_eq!(
            sent(&control, len),
            (
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                v4_info(0, [198, 18, 0, 3], [0; 4])
            )
        );
        assert_eq!(control.local(len), Some(Local::V4([198, 18, 0, 3].into())));
    }

    #[test]
    fn rfc2181_4_1_ipv6_interface_is_kept_only_for_link_local() {
        for (addr, ifindex, scope_id) in [("2001:db8::3", 7, 0), ("fe80::3", 7, 7)] {
            let local = parse(&v6(&v6_info(addr, ifindex))).unwrap();
            assert_eq!(
                local,
                Local::V6 {
                    addr: addr.parse().unwrap(),
                    scope_id
                }
            );
            let mut control = Control::default();
            let len = control.set_source(local);
            assert_eq!(
                sent(&control, len),
                (
                    libc::IPPROTO_IPV6,
                    libc::IPV6_PKTINFO,
                    v6_info(addr, scope_id)
                )
            );
        }
    }

    #[test]
    fn rfc2181_4_1_v4_mapped_destination_goes_back_as_received() {
        let addr = "::ffff:198.18.0.3";
        assert_eq!(
            parse(&v6(&v6_info(addr, 7))),
            Some(Local::V6 {
                addr: addr.parse().unwrap(),
                scope_id: 0
            })
        );
    }

    #[test]
    fn other_messages_are_skipped_and_truncated_ones_ignored() {
        let info = v6_info("2001:db8::3", 7);
        let both = received(&[
            (libc::SOL_SOCKET, libc::SO_TIMESTAMP, &[1, 2, 3, 4, 5]),
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &info),
        ]);
        let want = Local::V6 {
            addr: "2001:db8::3".parse().unwrap(),
            scope_id: 0,
        };
        assert_eq!(parse(&both), Some(want));
        // Cut anywhere inside the pktinfo (as MSG_CTRUNC leaves it): nothing is guessed.
        let pktinfo_end = both.len() - (space(info.len()) - DATA_OFFSET - info.len());
        for len in 0..pktinfo_end {
            assert_eq!(parse(&both[..len]), None, "cut at {len}");
        }
        assert_eq!(parse(&both[..pktinfo_end]), Some(want));
        // A header whose length is shorter than a header ends the walk.
        let mut broken = both.clone();
        broken[..size_of::<usize>()].copy_from_slice(&1usize.to_ne_bytes());
        assert_eq!(parse(&broken), None);
    }
}
