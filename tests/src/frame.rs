//! Ethernet/IP/UDP framing for test packets, and independent checks of the headers of replies.

use std::net::IpAddr;

/// Which VLAN tags precede the network layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vlan {
    /// Untagged.
    None,
    /// One 802.1Q tag.
    Dot1q,
    /// An 802.1ad service tag over an 802.1Q customer tag (QinQ).
    Dot1ad,
}

/// Addresses and ports of a test query.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    /// Client address (the query's source).
    pub client: IpAddr,
    /// Server address.
    pub server: IpAddr,
    /// Client port.
    pub client_port: u16,
    /// Server port.
    pub server_port: u16,
}

pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xc1];
pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x53];

/// Where the layers of a frame start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// IP header offset.
    pub l3: usize,
    /// UDP header offset.
    pub l4: usize,
    /// DNS message offset.
    pub dns: usize,
    /// IPv6 rather than IPv4.
    pub v6: bool,
}

impl Layout {
    /// The source address of `frame`, laid out as `self` says: the client the reply goes to.
    pub fn source(&self, frame: &[u8]) -> IpAddr {
        if self.v6 {
            let octets: [u8; 16] = frame[self.l3 + 8..self.l3 + 24].try_into().unwrap();
            IpAddr::from(octets)
        } else {
            let octets: [u8; 4] = frame[self.l3 + 12..self.l3 + 16].try_into().unwrap();
            IpAddr::from(octets)
        }
    }

    /// The layout of a frame built by [`udp_frame`], read from its EtherTypes.
    pub fn of(frame: &[u8]) -> Self {
        let vlan = match [frame[12], frame[13]] {
            [0x81, 0x00] => Vlan::Dot1q,
            [0x88, 0xa8] => Vlan::Dot1ad,
            _ => Vlan::None,
        };
        let l3 = Self::new(vlan, false).l3;
        Self::new(vlan, [frame[l3 - 2], frame[l3 - 1]] == [0x86, 0xdd])
    }

    pub fn new(vlan: Vlan, v6: bool) -> Self {
        let l3 = match vlan {
            Vlan::None => 14,
            Vlan::Dot1q => 18,
            Vlan::Dot1ad => 22,
        };
        let l4 = l3 + if v6 { 40 } else { 20 };
        Self {
            l3,
            l4,
            dns: l4 + 8,
            v6,
        }
    }
}

/// Frames `payload` as a UDP datagram from client to server. The UDP checksum field is set
/// to `udp_checksum` as given: the program must not rely on it (local sockets send partial
/// checksums).
pub fn udp_frame(vlan: Vlan, ends: Endpoints, payload: &[u8], udp_checksum: u16) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&SERVER_MAC);
    out.extend_from_slice(&CLIENT_MAC);
    let ether_type: u16 = if ends.client.is_ipv6() {
        0x86dd
    } else {
        0x0800
    };
    match vlan {
        Vlan::None => {}
        Vlan::Dot1q => out.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]),
        Vlan::Dot1ad => out.extend_from_slice(&[0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x64]),
    }
    out.extend_from_slice(&ether_type.to_be_bytes());
    let udp_len = (8 + payload.len()) as u16;
    match (ends.client, ends.server) {
        (IpAddr::V4(client), IpAddr::V4(server)) => {
            let mut ip = vec![0x45, 0x00];
            ip.extend_from_slice(&(20 + udp_len).to_be_bytes());
            ip.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 57, 17, 0, 0]);
            ip.extend_from_slice(&client.octets());
            ip.extend_from_slice(&server.octets());
            let checksum = internet_checksum(&ip);
            ip[10..12].copy_from_slice(&checksum.to_be_bytes());
            out.extend_from_slice(&ip);
        }
        (IpAddr::V6(client), IpAddr::V6(server)) => {
            out.extend_from_slice(&[0x60, 0x01, 0x23, 0x45]);
            out.extend_from_slice(&udp_len.to_be_bytes());
            out.extend_from_slice(&[17, 57]);
            out.extend_from_slice(&client.octets());
            out.extend_from_slice(&server.octets());
        }
        _ => panic!("client and server of different families"),
    }
    out.extend_from_slice(&ends.client_port.to_be_bytes());
    out.extend_from_slice(&ends.server_port.to_be_bytes());
    out.extend_from_slice(&udp_len.to_be_bytes());
    out.extend_from_slice(&udp_checksum.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The RFC 1071 checksum of `bytes`: the value that goes in the field (with the field zeroed),
/// or 0 when summed over data that includes a correct checksum.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in bytes.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Checks the Ethernet, IP and UDP headers of `reply` against `query` and returns its DNS
/// message. Panics with `what` on the first mismatch.
pub fn check_reply_headers<'a>(
    what: &str,
    query: &[u8],
    reply: &'a [u8],
    layout: Layout,
) -> &'a [u8] {
    let Layout { l3, l4, dns, v6 } = layout;
    assert_eq!(
        reply[0..6],
        query[6..12],
        "{what}: destination MAC is the query's source"
    );
    assert_eq!(
        reply[6..12],
        query[0..6],
        "{what}: source MAC is the query's destination"
    );
    assert_eq!(
        reply[12..l3],
        query[12..l3],
        "{what}: VLAN tags and EtherType kept"
    );

    let udp_len = reply.len() - l4;
    if v6 {
        assert_eq!(reply[l3] >> 4, 6, "{what}: IPv6 version");
        assert_eq!(
            usize::from(be16(reply, l3 + 4)),
            udp_len,
            "{what}: IPv6 payload length"
        );
        assert_eq!(reply[l3 + 6], 17, "{what}: next header UDP");
        assert!(reply[l3 + 7] > 0, "{what}: hop limit");
        assert_eq!(
            reply[l3 + 8..l3 + 24],
            query[l3 + 24..l3 + 40],
            "{what}: IPv6 source"
        );
        assert_eq!(
            reply[l3 + 24..l3 + 40],
            query[l3 + 8..l3 + 24],
            "{what}: IPv6 destination"
        );
    } else {
        assert_eq!(reply[l3], 0x45, "{what}: IPv4 version and header length");
        assert_eq!(
            usize::from(be16(reply, l3 + 2)),
            reply.len() - l3,
            "{what}: IPv4 total length"
        );
        assert_eq!(be16(reply, l3 + 6) & 0x3fff, 0, "{what}: not a fragment");
        assert!(reply[l3 + 8] > 0, "{what}: TTL");
        assert_eq!(reply[l3 + 9], 17, "{what}: protocol UDP");
        assert_eq!(
            internet_checksum(&reply[l3..l4]),
            0,
            "{what}: IPv4 header checksum"
        );
        assert_eq!(
            reply[l3 + 12..l3 + 16],
            query[l3 + 16..l3 + 20],
            "{what}: IPv4 source"
        );
        assert_eq!(
            reply[l3 + 16..l3 + 20],
            query[l3 + 12..l3 + 16],
            "{what}: IPv4 destination"
        );
    }

    assert_eq!(
        reply[l4..l4 + 2],
        query[l4 + 2..l4 + 4],
        "{what}: source port"
    );
    assert_eq!(
        reply[l4 + 2..l4 + 4],
        query[l4..l4 + 2],
        "{what}: destination port"
    );
    assert_eq!(
        usize::from(be16(reply, l4 + 4)),
        udp_len,
        "{what}: UDP length"
    );
    assert_ne!(be16(reply, l4 + 6), 0, "{what}: UDP checksum present");
    assert_eq!(
        udp_checksum_residue(reply, layout),
        0,
        "{what}: UDP checksum"
    );
    &reply[dns..]
}

/// The checksum over the UDP pseudo-header and datagram, which is 0 when the datagram's
/// checksum field is right.
fn udp_checksum_residue(frame: &[u8], layout: Layout) -> u16 {
    let Layout { l3, l4, v6, .. } = layout;
    let udp = &frame[l4..];
    let mut pseudo = Vec::new();
    if v6 {
        pseudo.extend_from_slice(&frame[l3 + 8..l3 + 40]);
        pseudo.extend_from_slice(&(udp.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 17]);
    } else {
        pseudo.extend_from_slice(&frame[l3 + 12..l3 + 20]);
        pseudo.extend_from_slice(&[0, 17]);
        pseudo.extend_from_slice(&(udp.len() as u16).to_be_bytes());
    }
    pseudo.extend_from_slice(udp);
    internet_checksum(&pseudo)
}
