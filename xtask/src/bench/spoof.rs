//! A flood of one query spoofed from many prefixes, written as raw frames to the flooder's link
//! (`lbdns_tests::link`). kxdpgun cannot send it: given `-l PREFIX` it sends from one address
//! until it has used all 63,536 source ports and only then moves on, so five seconds at 200,000
//! queries/s come from about 16 consecutive addresses of one prefix.

use std::{
    ffi::CString,
    io,
    net::Ipv4Addr,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use lbdns_tests::{
    frame::{udp_frame, Endpoints, Vlan},
    link, Namespace,
};

/// Frames sent per pacing step: the rate is kept per millisecond.
const STEP: Duration = Duration::from_millis(1);

/// What a flood sent.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub frames: u64,
    pub seconds: f64,
}

impl Sent {
    pub fn per_second(&self) -> f64 {
        self.frames as f64 / self.seconds
    }
}

/// The sources of a flood: host 1 of each of the `count` consecutive prefixes of `prefix_len`
/// bits from `first` on.
pub fn sources(first: Ipv4Addr, prefix_len: u32, count: u32) -> Vec<Ipv4Addr> {
    let step = 1u32 << (32 - prefix_len);
    (0..count)
        .map(|i| Ipv4Addr::from(u32::from(first) + i * step + 1))
        .collect()
}

/// The frame carrying `dns` from `source` to the server's end of the flooder's link, from
/// source port `port`. UDP checksum 0 (none, allowed over IPv4): the replies must still be
/// right.
pub fn frame(source: Ipv4Addr, port: u16, dns: &[u8]) -> Vec<u8> {
    let server: Ipv4Addr = link::SERVER_V4.parse().expect("the link's server address");
    let ends = Endpoints {
        client: source.into(),
        server: server.into(),
        client_port: port,
        server_port: 53,
    };
    let mut frame = udp_frame(Vlan::None, ends, dns, 0);
    // Addressed to the link's ends, not to the test pair `udp_frame` is made for.
    frame[..6].copy_from_slice(&link::SERVER_MAC);
    frame[6..12].copy_from_slice(&link::CLIENT_MAC);
    frame
}

/// Sends `frames` round-robin on `interface` of `ns` at `rate` frames a second for `secs`
/// seconds. A frame the kernel refuses (its queue full) is not counted.
pub fn flood(
    ns: &Namespace,
    interface: &str,
    frames: &[Vec<u8>],
    rate: u32,
    secs: u64,
) -> Result<Sent> {
    if frames.is_empty() {
        bail!("a flood needs frames");
    }
    let name = interface.to_owned();
    let socket = ns.enter(move || packet_socket(&name))?.with_context(|| {
        format!("cannot open a packet socket on {interface} (root, and the link up?)")
    })?;
    let per_step = (u64::from(rate) * STEP.as_micros() as u64 / 1_000_000).max(1);
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let (mut sent, mut next, mut step) = (0u64, 0usize, started);
    while Instant::now() < end {
        for _ in 0..per_step {
            let frame = &frames[next];
            next = (next + 1) % frames.len();
            // SAFETY: a buffer and its length, valid for the call; the fd is open.
            let rc =
                unsafe { libc::send(socket.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
            if rc == frame.len() as isize {
                sent += 1;
            }
        }
        step += STEP;
        if let Some(wait) = step.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
    }
    Ok(Sent {
        frames: sent,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A raw packet socket bound to `interface` of the calling thread's namespace, for sending
/// only: protocol 0 delivers it no frames. The saturating generator's too (`super::generator`).
pub(super) fn packet_socket(interface: &str) -> io::Result<OwnedFd> {
    // SAFETY: plain socket creation; the fd is owned at once.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let name = CString::new(interface).map_err(io::Error::other)?;
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter are set below.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_ifindex = index as i32;
    // SAFETY: `address` is a sockaddr_ll of the size given.
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&address as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use lbdns_tests::frame::internet_checksum;

    use super::*;

    #[test]
    fn sources_are_host_1_of_consecutive_prefixes() {
        let first: Ipv4Addr = "198.18.0.0".parse().unwrap();
        let all = sources(first, 26, 1024);
        assert_eq!(all.len(), 1024);
        assert_eq!(all[0], Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(all[1], Ipv4Addr::new(198, 18, 0, 65));
        assert_eq!(all[1023], Ipv4Addr::new(198, 18, 255, 193));
        let prefixes: std::collections::BTreeSet<u32> =
            all.iter().map(|a| u32::from(*a) >> 6).collect();
        assert_eq!(prefixes.len(), 1024);
    }

    #[test]
    fn frames_go_from_the_source_to_the_links_server_end() {
        let frame = frame(Ipv4Addr::new(198, 18, 7, 1), 40000, &[0u8; 33]);
        assert_eq!(frame[..6], link::SERVER_MAC);
        assert_eq!(frame[6..12], link::CLIENT_MAC);
        let ip = &frame[14..34];
        assert_eq!(internet_checksum(ip), 0, "a valid IPv4 header checksum");
        assert_eq!(ip[12..16], [198, 18, 7, 1]);
        assert_eq!(frame.len(), 14 + 20 + 8 + 33);
        assert_eq!(frame[36..38], [0, 53]);
    }
}
