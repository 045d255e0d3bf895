//! The benchmark's own saturating load, for kernels that refuse kxdpgun's XDP program (kxdpgun
//! 3.2.6 on kernel 6.18: `program of this type cannot use helper bpf_xdp_adjust_meta#54`).
//! Like kxdpgun it sends as fast as each core can and counts the replies, so the table keeps
//! its replies per second at saturation, and the XDP program its ns/packet under that load.
//!
//! One sender per CPU, pinned, writes prebuilt query frames to the client's veth end through a
//! packet socket that bypasses the queueing discipline, 64 frames per `sendmmsg(2)`: the path
//! kxdpgun's AF_XDP copy mode takes on a veth (a socket buffer per frame, handed straight to
//! the device), without its XDP program. (BPF_PROG_TEST_RUN's live-frame mode would send from
//! the kernel itself, but this VM's kernel refuses it with EPERM for any program.)
//! bench/ceiling's `count_replies` on the client end counts the replies and drops them, so no
//! socket reads them.
//!
//! The frames are built here from the mix's query file, one per line, as plain queries from the
//! client's address (RD set, no EDNS, as kxdpgun sends them), each from its own source port.

use std::{
    fs,
    os::fd::{AsRawFd as _, OwnedFd},
    path::Path,
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context as _, Result};
use aya::{
    maps::PerCpuArray,
    programs::{Xdp, XdpMode},
    Ebpf,
};
use lbdns_tests::{
    frame::{self, Vlan},
    wire::{flag, rtype},
    Builder,
};

use super::{
    interrupt,
    load::Kxdpgun,
    netns::{Endpoints, Net, Side},
    spoof,
};

/// The generator in one line, for the report's settings.
pub const DESCRIPTION: &str = "one sender per CPU: QUERIES as IPv4 frames, 64 per sendmmsg(2) \
    on a packet socket with PACKET_QDISC_BYPASS on veth-cli; replies counted and dropped there \
    by bench/ceiling's count_replies";

/// The longest frame sent: a query of a long name over IPv4.
const FRAME_LEN: usize = 128;
/// Frames per `sendmmsg(2)`.
const BATCH: usize = 64;
/// How long replies may still arrive after the last query is sent.
const DRAIN: Duration = Duration::from_millis(200);
/// The first source port; frame `i` is sent from `FIRST_PORT + i % PORTS`.
const FIRST_PORT: u16 = 10_000;
const PORTS: u16 = 50_000;

/// Sends the queries of `queries` from every CPU for `secs` seconds against the server's IPv4
/// address, and counts the replies with bench/ceiling's `count_replies` from `object`; the
/// client's veth end must be free of XDP programs, and the counter is left on it only for the run.
pub fn run(net: &Net, object: &Path, queries: &Path, secs: u64) -> Result<Kxdpgun> {
    let endpoints = net.endpoints()?;
    let frames = read_queries(queries)?
        .iter()
        .enumerate()
        .map(|(i, (name, qtype))| {
            let port = FIRST_PORT + (i % usize::from(PORTS)) as u16;
            query_frame(&endpoints, i as u16, port, name, *qtype)
                .with_context(|| format!("{}:{}: cannot send `{name}`", queries.display(), i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    let frames = Arc::new(frames);
    let object = object.to_owned();
    let interface = Side::Client.interface();
    let counter = net
        .client()
        .enter(move || count_replies(&object, interface))??;
    let cpus = thread::available_parallelism().map_or(1, usize::from);
    // Opened inside the namespace; a socket keeps its namespace in any thread.
    let sockets = (0..cpus)
        .map(|_| net.client().enter(move || packet_socket(interface))?)
        .collect::<Result<Vec<_>>>()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let senders: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(cpu, socket)| {
            let frames = Arc::clone(&frames);
            // Each sender starts at its own share of the queries.
            let first = cpu * frames.len() / cpus;
            thread::spawn(move || send(&socket, cpu, &frames, first, deadline))
        })
        .collect();
    let mut sent = 0;
    for sender in senders {
        sent += sender
            .join()
            .map_err(|_| anyhow!("a generator thread panicked"))??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    thread::sleep(DRAIN);
    interrupt::check()?;
    let replies = sum(&counter, "REPLIES")?;
    if replies == 0 {
        bail!("the generator sent {sent} queries and counted no reply");
    }
    Ok(Kxdpgun {
        sent,
        replies,
        sent_per_s: (sent as f64 / elapsed) as u64,
        replies_per_s: (replies as f64 / elapsed) as u64,
    })
}

/// bench/ceiling's `count_replies` from `object`, attached in native mode to `interface` (in
/// the calling thread's namespace); detached when the returned object is dropped.
fn count_replies(object: &Path, interface: &str) -> Result<Ebpf> {
    let mut ebpf =
        Ebpf::load_file(object).with_context(|| format!("cannot load {}", object.display()))?;
    let counter: &mut Xdp = ebpf
        .program_mut("count_replies")
        .ok_or_else(|| anyhow!("{} has no program count_replies", object.display()))?
        .try_into()?;
    counter
        .load()
        .context("the verifier rejected count_replies")?;
    counter
        .attach(interface, XdpMode::Driver)
        .with_context(|| format!("cannot attach count_replies to {interface} in native mode"))?;
    Ok(ebpf)
}

/// One sender: pinned to `cpu`, sends `frames` in turn from index `first` on through `socket`
/// until `deadline`. Returns how many it sent.
fn send(
    socket: &OwnedFd,
    cpu: usize,
    frames: &[Vec<u8>],
    first: usize,
    deadline: Instant,
) -> Result<u64> {
    pin(cpu)?;
    let mut iovecs: Vec<libc::iovec> = frames
        .iter()
        .map(|frame| libc::iovec {
            iov_base: frame.as_ptr().cast_mut().cast(),
            iov_len: frame.len(),
        })
        .collect();
    let mut messages: Vec<libc::mmsghdr> = iovecs
        .iter_mut()
        .map(|iovec| {
            // SAFETY: all-zero is a valid mmsghdr: no name, no control data.
            let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
            message.msg_hdr.msg_iov = iovec;
            message.msg_hdr.msg_iovlen = 1;
            message
        })
        .collect();
    let (mut next, mut sent) = (first % frames.len(), 0u64);
    while Instant::now() < deadline && interrupt::check().is_ok() {
        let batch = BATCH.min(messages.len() - next);
        // SAFETY: `batch` messages from `next` on, each pointing at one frame that outlives the
        // call; the socket is open.
        let count = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                messages[next..].as_mut_ptr(),
                batch as u32,
                0,
            )
        };
        if count < 0 {
            let error = std::io::Error::last_os_error();
            // The device's queue was full: try again.
            if error.raw_os_error() == Some(libc::ENOBUFS) {
                continue;
            }
            return Err(error).context("sendmmsg on the packet socket failed");
        }
        sent += count as u64;
        next = (next + count as usize) % frames.len();
    }
    Ok(sent)
}

/// Pins the calling thread to `cpu`.
fn pin(cpu: usize) -> Result<()> {
    // SAFETY: `set` is a plain bit set that CPU_ZERO initialises; sched_setaffinity changes
    // only this thread.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        bail!(
            "cannot pin a sender to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// A packet socket that sends whole frames out of `interface` (in the calling thread's
/// namespace) past the queueing discipline, and receives nothing.
fn packet_socket(interface: &str) -> Result<OwnedFd> {
    let socket = spoof::packet_socket(interface)
        .with_context(|| format!("cannot open a packet socket on {interface}"))?;
    let bypass: libc::c_int = 1;
    // SAFETY: an int option of the right size, on an open socket.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            (&raw const bypass).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        bail!(
            "cannot bypass the qdisc: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(socket)
}

/// A per-CPU counter of bench/ceiling, summed over the CPUs.
fn sum(ebpf: &Ebpf, name: &str) -> Result<u64> {
    let map = ebpf
        .map(name)
        .ok_or_else(|| anyhow!("the ceiling object has no map {name}"))?;
    let counter = PerCpuArray::<_, u64>::try_from(map)?;
    Ok(counter.get(&0, 0)?.iter().sum())
}

/// The queries of a dnsperf/kxdpgun query file: a name and a type per line.
fn read_queries(path: &Path) -> Result<Vec<(String, u16)>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let queries = parse_queries(&text)
        .map_err(|(line, problem)| anyhow!("{}:{line}: {problem}", path.display()))?;
    if queries.is_empty() {
        bail!("{} has no query", path.display());
    }
    Ok(queries)
}

/// The queries of a query file's text, or the first bad line's number and what is wrong with it.
fn parse_queries(text: &str) -> Result<Vec<(String, u16)>, (usize, String)> {
    let mut queries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(qtype), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err((i + 1, format!("`{line}` is not `NAME TYPE`")));
        };
        let qtype = rr_type(qtype).ok_or_else(|| (i + 1, format!("unknown type {qtype}")))?;
        queries.push((name.to_owned(), qtype));
    }
    Ok(queries)
}

/// The code of the record types the benchmark's mixes ask for.
fn rr_type(name: &str) -> Option<u16> {
    Some(match name.to_ascii_uppercase().as_str() {
        "A" => rtype::A,
        "NS" => rtype::NS,
        "CNAME" => rtype::CNAME,
        "SOA" => rtype::SOA,
        "PTR" => rtype::PTR,
        "MX" => rtype::MX,
        "TXT" => rtype::TXT,
        "AAAA" => rtype::AAAA,
        "SRV" => rtype::SRV,
        "DS" => rtype::DS,
        "DNSKEY" => rtype::DNSKEY,
        "CAA" => rtype::CAA,
        _ => return None,
    })
}

/// Why a query cannot be put in a frame.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum FrameError {
    #[error("a label is empty or longer than 63 octets")]
    Label,
    #[error("the frame would be {0} octets, more than {FRAME_LEN}")]
    TooLong(usize),
}

/// The Ethernet frame of an IPv4 UDP query for `name` (absolute, with or without its final dot)
/// and `qtype`, class IN, RD set, from `source_port`. UDP checksum 0 (none, allowed over IPv4),
/// as the spoofed floods send (`super::spoof`): no server may need it.
fn query_frame(
    to: &Endpoints,
    id: u16,
    source_port: u16,
    name: &str,
    qtype: u16,
) -> Result<Vec<u8>, FrameError> {
    let labels = name.strip_suffix('.').unwrap_or(name);
    if labels
        .split('.')
        .any(|label| label.is_empty() || label.len() > 63)
    {
        return Err(FrameError::Label);
    }
    let dns = Builder::query(id, name, qtype).set_flags(flag::RD).build();
    let ends = frame::Endpoints {
        client: to.client.into(),
        server: to.server.into(),
        client_port: source_port,
        server_port: 53,
    };
    let mut frame = frame::udp_frame(Vlan::None, ends, &dns, 0);
    if frame.len() > FRAME_LEN {
        return Err(FrameError::TooLong(frame.len()));
    }
    // Addressed to the bench's veth ends, not to the test pair `udp_frame` is made for.
    frame[..6].copy_from_slice(&to.server_mac);
    frame[6..12].copy_from_slice(&to.client_mac);
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const ENDPOINTS: Endpoints = Endpoints {
        client_mac: [2, 0, 0, 0, 0, 2],
        server_mac: [2, 0, 0, 0, 0, 1],
        client: Ipv4Addr::new(198, 19, 53, 2),
        server: Ipv4Addr::new(198, 19, 53, 1),
    };

    #[test]
    fn builds_a_query_to_the_veth_ends() {
        let frame = query_frame(&ENDPOINTS, 7, 10_001, "www.example.com", 28).unwrap();
        assert_eq!(frame[..6], ENDPOINTS.server_mac);
        assert_eq!(frame[6..12], ENDPOINTS.client_mac);
        let ip = &frame[14..34];
        assert_eq!(
            frame::internet_checksum(ip),
            0,
            "a valid IPv4 header checksum"
        );
        assert_eq!(ip[12..16], ENDPOINTS.client.octets());
        assert_eq!(ip[16..20], ENDPOINTS.server.octets());
        let udp = &frame[34..];
        assert_eq!(udp[..4], [0x27, 0x11, 0, 53]);
        let dns = &udp[8..];
        assert_eq!(dns[..12], [0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(dns[12..], *b"\x03www\x07example\x03com\x00\x00\x1c\x00\x01");
    }

    #[test]
    fn a_final_dot_changes_nothing() {
        assert_eq!(
            query_frame(&ENDPOINTS, 1, 10_000, "a.example.", 1),
            query_frame(&ENDPOINTS, 1, 10_000, "a.example", 1)
        );
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let long = format!("{}.example", "a".repeat(63));
        assert_eq!(
            query_frame(&ENDPOINTS, 1, 10_000, &long, 1),
            Err(FrameError::TooLong(14 + 20 + 8 + 12 + 73 + 4))
        );
        assert_eq!(
            query_frame(&ENDPOINTS, 1, 10_000, "", 1),
            Err(FrameError::Label)
        );
        assert_eq!(
            query_frame(&ENDPOINTS, 1, 10_000, "a..example", 1),
            Err(FrameError::Label)
        );
        assert_eq!(
            query_frame(&ENDPOINTS, 1, 10_000, &"a".repeat(64), 1),
            Err(FrameError::Label)
        );
    }

    #[test]
    fn reads_query_files() {
        assert_eq!(
            parse_queries("www.example.com A\nexample.com soa\n"),
            Ok(vec![
                ("www.example.com".to_owned(), 1),
                ("example.com".to_owned(), 6)
            ])
        );
        assert_eq!(
            parse_queries("www.example.com A\nexample.com HINFO\n"),
            Err((2, "unknown type HINFO".to_owned()))
        );
        assert_eq!(
            parse_queries("www.example.com\n"),
            Err((1, "`www.example.com` is not `NAME TYPE`".to_owned()))
        );
    }
}
