//! A second link to the server's namespace, from a namespace of its own on another prefix
//! (198.18.1.0/24): a flooding client for the rate-limiting suite and benchmark. kxdpgun takes
//! every reply on the interface it sends from, so a client that must keep its own replies needs
//! another link.

use anyhow::Result;

use crate::Namespace;

/// The flooder's side of the link.
pub const CLIENT_IF: &str = "veth-fld";
/// The server's side; the server's XDP program must be attached here too.
pub const SERVER_IF: &str = "veth-fls";
/// The flooder's address.
pub const CLIENT_V4: &str = "198.18.1.2";
/// The server's address on the link.
pub const SERVER_V4: &str = "198.18.1.1";
/// The flooder's MAC address, fixed so that raw frames can be written for the link.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x02];
/// The server's MAC address on the link.
pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];

/// `mac` as `ip` writes one.
fn mac_text(mac: [u8; 6]) -> String {
    mac.map(|octet| format!("{octet:02x}")).join(":")
}

/// The namespace at the far end of the link; the link goes with it when it is dropped.
#[derive(Debug)]
pub struct FloodLink {
    pub ns: Namespace,
}

impl FloodLink {
    /// Creates the namespace and the link to `server`, both ends up with their addresses and
    /// permanent neighbours (kxdpgun finds the server's MAC in the neighbour table).
    pub fn new(server: &Namespace) -> Result<Self> {
        let ns = Namespace::new("fld")?;
        let (client_mac, server_mac) = (mac_text(CLIENT_MAC), mac_text(SERVER_MAC));
        server.ip(&[
            "link",
            "add",
            SERVER_IF,
            "address",
            &server_mac,
            "type",
            "veth",
            "peer",
            "name",
            CLIENT_IF,
            "address",
            &client_mac,
            "netns",
            ns.name(),
        ])?;
        for (side, ifname, addr, peer, peer_mac) in [
            (server, SERVER_IF, SERVER_V4, CLIENT_V4, &client_mac),
            (&ns, CLIENT_IF, CLIENT_V4, SERVER_V4, &server_mac),
        ] {
            side.ip(&["addr", "add", &format!("{addr}/24"), "dev", ifname])?;
            side.ip(&["link", "set", ifname, "up"])?;
            side.permanent_neighbour(peer, peer_mac, ifname)?;
        }
        Ok(Self { ns })
    }
}
