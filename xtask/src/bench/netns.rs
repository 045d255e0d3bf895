//! The benchmark's network: the test harness's two namespaces joined by a veth (server
//! `198.19.53.1`, client `198.19.53.2`, and 2001:db8:53::/64), tuned so that every target meets
//! the same client path. Dropping it deletes both namespaces, every process still inside them,
//! and the veth with any XDP program left on it.

use std::{
    net::{Ipv4Addr, Ipv6Addr},
    process::Command,
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use lbdns_tests::{run_bounded, Namespace, Topology};
use serde_json::Value;

/// `ip` and `ethtool` finish in milliseconds; this only bounds a hang.
const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

/// One end of the veth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

/// An XDP program attached to an interface, as `ip link` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedProgram {
    pub id: u32,
    pub name: String,
}

/// Both veth ends' MAC and IPv4 addresses: where hand-built frames come from and go to.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    pub client_mac: [u8; 6],
    pub server_mac: [u8; 6],
    pub client: Ipv4Addr,
    pub server: Ipv4Addr,
}

#[derive(Debug)]
pub struct Net {
    topo: Topology,
}

impl Net {
    pub fn new() -> Result<Self> {
        let net = Self {
            topo: Topology::new().context("cannot create the namespace pair")?,
        };
        // Permanent neighbours: no ARP or ND has to cross an XDP program mid-run, and kxdpgun,
        // which finds the peer's MAC in the neighbour table, never starts without one.
        let server_mac = net.mac(Side::Server)?;
        let client_mac = net.mac(Side::Client)?;
        for (side, peer_v4, peer_v6, peer_mac) in [
            (
                Side::Server,
                net.topo.client_v4.to_string(),
                net.topo.client_v6.to_string(),
                &client_mac,
            ),
            (
                Side::Client,
                net.topo.server_v4.to_string(),
                net.topo.server_v6.to_string(),
                &server_mac,
            ),
        ] {
            for peer in [&peer_v4, &peer_v6] {
                net.ns(side)
                    .permanent_neighbour(peer, peer_mac, side.interface())?;
            }
        }
        // Sockets on the client would otherwise leave UDP checksums to a (virtual) offload that
        // never happens on a veth: the datagram crosses with a partial checksum. A reply built by
        // XDP from such a query (the ceiling patches the checksum incrementally) would then be
        // dropped by the client's stack as corrupt. Real NICs finish the checksum; here the
        // client's kernel does, for every target alike.
        let mut ethtool = net.ns(Side::Client).command("ethtool");
        ethtool.args(["-K", Side::Client.interface(), "tx", "off"]);
        run_ok(&mut ethtool)?;
        Ok(net)
    }

    /// Routes `prefix` from the server to the client: replies to the spoofed sources kxdpgun
    /// sends from (`-l`) leave the server's sockets towards kxdpgun's interface, as they would
    /// towards a router. Replies built in XDP need no route.
    pub fn route_to_client(&self, prefix: &str) -> Result<()> {
        self.server().ip(&[
            "route",
            "replace",
            prefix,
            "via",
            &self.topo.client_v4.to_string(),
            "dev",
            Side::Server.interface(),
        ])
    }

    pub fn ns(&self, side: Side) -> &Namespace {
        match side {
            Side::Server => &self.topo.server,
            Side::Client => &self.topo.client,
        }
    }

    pub fn server_v4(&self) -> Ipv4Addr {
        self.topo.server_v4
    }

    pub fn server_v6(&self) -> Ipv6Addr {
        self.topo.server_v6
    }

    pub fn server(&self) -> &Namespace {
        self.ns(Side::Server)
    }

    pub fn client(&self) -> &Namespace {
        self.ns(Side::Client)
    }

    /// The XDP programs attached to `side`'s veth end.
    pub fn xdp_programs(&self, side: Side) -> Result<Vec<AttachedProgram>> {
        let link = self.link(side)?;
        Ok(parse_xdp_programs(&link))
    }

    /// Detaches whatever XDP program is on `side`'s end (`ip link set dev X xdp off`), for
    /// programs that outlive their owner: kxdpgun's, Knot's.
    pub fn xdp_off(&self, side: Side) -> Result<()> {
        self.ns(side)
            .ip(&["link", "set", "dev", side.interface(), "xdp", "off"])
    }

    /// Both ends' MAC and IPv4 addresses, for frames built by hand (`super::generator`).
    pub fn endpoints(&self) -> Result<Endpoints> {
        Ok(Endpoints {
            client_mac: parse_mac(&self.mac(Side::Client)?)?,
            server_mac: parse_mac(&self.mac(Side::Server)?)?,
            client: self.topo.client_v4,
            server: self.topo.server_v4,
        })
    }

    fn mac(&self, side: Side) -> Result<String> {
        let link = self.link(side)?;
        match link.get("address").and_then(Value::as_str) {
            Some(mac) => Ok(mac.to_owned()),
            None => bail!("`ip link` shows no address for {}", side.interface()),
        }
    }

    /// `ip -j link show dev X`, the one link's object.
    fn link(&self, side: Side) -> Result<Value> {
        let mut ip = Command::new("ip");
        ip.args(["-n", self.ns(side).name(), "-j", "link", "show", "dev"])
            .arg(side.interface());
        let output = run_ok(&mut ip)?;
        let mut links: Vec<Value> =
            serde_json::from_str(&output).context("`ip -j link` printed invalid JSON")?;
        match links.pop() {
            Some(link) if links.is_empty() => Ok(link),
            _ => bail!(
                "`ip -j link show dev {}` did not name one link",
                side.interface()
            ),
        }
    }
}

impl Side {
    pub fn interface(self) -> &'static str {
        match self {
            Side::Server => Topology::SERVER_IF,
            Side::Client => Topology::CLIENT_IF,
        }
    }
}

fn run_ok(command: &mut Command) -> Result<String> {
    let output = run_bounded(command, TOOL_TIMEOUT)?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}",
            output.status,
            output.combined().trim()
        );
    }
    Ok(output.stdout)
}

/// The six octets of a MAC address written `02:00:5e:10:00:01`.
fn parse_mac(text: &str) -> Result<[u8; 6]> {
    let octets: Vec<u8> = text
        .split(':')
        .map(|octet| u8::from_str_radix(octet, 16))
        .collect::<Result<_, _>>()
        .with_context(|| format!("`{text}` is not a MAC address"))?;
    octets
        .try_into()
        .map_err(|_| anyhow::anyhow!("`{text}` is not a MAC address"))
}

/// The programs in a link's `"xdp": {"attached": [{"prog": {"id", "name"}}]}`.
fn parse_xdp_programs(link: &Value) -> Vec<AttachedProgram> {
    let attached = link
        .pointer("/xdp/attached")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    attached
        .iter()
        .filter_map(|entry| {
            let prog = entry.get("prog")?;
            Some(AttachedProgram {
                id: u32::try_from(prog.get("id")?.as_u64()?).ok()?,
                name: prog.get("name")?.as_str()?.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mac_addresses() {
        assert_eq!(
            parse_mac("02:00:5e:10:0a:FF").unwrap(),
            [0x02, 0x00, 0x5e, 0x10, 0x0a, 0xff]
        );
        assert!(parse_mac("02:00:5e:10:0a").is_err());
        assert!(parse_mac("02:00:5e:10:0a:xy").is_err());
    }

    #[test]
    fn reads_attached_programs_from_ip_json() {
        // `ip -j link show dev veth-cli` after kxdpgun (iproute2 6.1).
        let link: Value = serde_json::from_str(
            r#"{"ifindex":2,"ifname":"veth-cli","mtu":1500,"xdp":{"mode":1,"prog":{"id":359,
            "name":"xdp_redirect_dn","tag":"3a9990d42c91205a","jited":1},"attached":[{"mode":1,
            "prog":{"id":359,"name":"xdp_redirect_dn","tag":"3a9990d42c91205a","jited":1}}]},
            "address":"e6:e6:5b:79:b0:17"}"#,
        )
        .unwrap();
        assert_eq!(
            parse_xdp_programs(&link),
            [AttachedProgram {
                id: 359,
                name: "xdp_redirect_dn".into()
            }]
        );
        let bare: Value = serde_json::from_str(r#"{"ifname":"veth-cli"}"#).unwrap();
        assert_eq!(parse_xdp_programs(&bare), []);
    }
}
