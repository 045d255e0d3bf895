//! The per-zone lists of who may transfer a zone (`provide_xfr`) and whom a changed zone is
//! announced to (`notify`), written as NSD writes them:
//!
//! ```toml
//! provide_xfr = ["198.18.0.0/15 xfr-key", "127.0.0.1 NOKEY", "2001:db8::/32 xfr-key"]
//! notify = ["198.18.0.2 xfr-key", "[2001:db8::2]:5353", "198.18.0.3:53 NOKEY"]
//! ```
//!
//! An allow entry is an address or a prefix (`address/length`), then the key a request must
//! be signed with, or `NOKEY` (the default when left out) for an unsigned request. As in NSD,
//! `NOKEY` does not admit a signed request, and a key entry does not admit an unsigned one.
//! A notify entry is an address with an optional port (53 by default), then the key to sign
//! the NOTIFY with, or `NOKEY` (the default).

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::Name;

/// `NOKEY`: no TSIG (NSD's word).
const NOKEY: &str = "NOKEY";

/// One `provide_xfr` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    network: IpAddr,
    prefix: u8,
    /// The key the request must be signed with; `None`: it must be unsigned.
    pub key: Option<Name>,
}

impl Allow {
    /// Parses `address[/length] [key|NOKEY]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, key) = split(text)?;
        let (network, prefix) = crate::config::parse_prefix(address)?;
        Ok(Self {
            network: mask(network, prefix),
            prefix,
            key,
        })
    }

    /// Whether a request from `peer`, signed with `key` (verified) or not at all, matches.
    pub fn permits(&self, peer: IpAddr, key: Option<&Name>) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        peer.is_ipv4() == self.network.is_ipv4()
            && mask(peer, self.prefix) == self.network
            && match (&self.key, key) {
                (None, None) => true,
                (Some(wanted), Some(signed)) => wanted == signed,
                _ => false,
            }
    }
}

/// One `notify` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyTarget {
    pub address: SocketAddr,
    /// The key the NOTIFY is signed with, if any.
    pub key: Option<Name>,
}

impl NotifyTarget {
    /// Parses `address[:port] [key|NOKEY]` (`[v6]:port` for a port with IPv6).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, key) = split(text)?;
        let address = address
            .parse::<SocketAddr>()
            .or_else(|_| address.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
            .map_err(|_| format!("{address:?} is not an address or address:port"))?;
        Ok(Self { address, key })
    }
}

/// The address part and the key part (`None` for `NOKEY` or nothing).
fn split(text: &str) -> Result<(&str, Option<Name>), String> {
    let mut words = text.split_whitespace();
    let address = words.next().ok_or("an address is required")?;
    let key = match words.next() {
        None => None,
        Some(word) if word == NOKEY => None,
        Some(word) => {
            let mut name =
                Name::from_ascii(word).map_err(|_| format!("{word:?} is not a key name"))?;
            name.set_fqdn(true);
            Some(name)
        }
    };
    if let Some(extra) = words.next() {
        return Err(format!("unexpected {extra:?} after the key"));
    }
    Ok((address, key))
}

/// `address` with all but its first `prefix` bits cleared.
fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & kept).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & kept).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn allow_entries_match_prefix_and_key_as_nsd_does() {
        let keyed = Allow::parse("198.18.0.0/15 xfr-key").unwrap();
        let peer: IpAddr = "198.19.7.1".parse().unwrap();
        assert!(keyed.permits(peer, Some(&name("XFR-key."))));
        assert!(!keyed.permits(peer, None), "a key entry wants a signature");
        assert!(!keyed.permits(peer, Some(&name("other."))));
        assert!(!keyed.permits("198.20.0.1".parse().unwrap(), Some(&name("xfr-key."))));
        let open = Allow::parse("127.0.0.1").unwrap();
        assert!(open.permits("127.0.0.1".parse().unwrap(), None));
        assert!(open.permits("::ffff:127.0.0.1".parse().unwrap(), None));
        assert!(!open.permits("127.0.0.2".parse().unwrap(), None));
        assert!(
            !open.permits("127.0.0.1".parse().unwrap(), Some(&name("xfr-key."))),
            "NOKEY admits unsigned requests only"
        );
        let v6 = Allow::parse("2001:db8::/32 NOKEY").unwrap();
        assert!(v6.permits("2001:db8:1::5".parse().unwrap(), None));
        assert!(!v6.permits("2001:db9::5".parse().unwrap(), None));
        assert!(!v6.permits("198.18.0.1".parse().unwrap(), None));
        assert!(Allow::parse("0.0.0.0/0").unwrap().permits(peer, None));
        for bad in [
            "",
            "198.18.0.0/33",
            "host.example",
            "10.0.0.1 k extra",
            "1.2.3.4/x",
        ] {
            assert!(Allow::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn notify_targets_default_to_port_53_and_no_key() {
        let plain = NotifyTarget::parse("198.18.0.2").unwrap();
        assert_eq!(plain.address, "198.18.0.2:53".parse().unwrap());
        assert_eq!(plain.key, None);
        let keyed = NotifyTarget::parse("[2001:db8::2]:5353 xfr-key").unwrap();
        assert_eq!(keyed.address, "[2001:db8::2]:5353".parse().unwrap());
        assert_eq!(keyed.key, Some(name("xfr-key.")));
        assert_eq!(NotifyTarget::parse("::1 NOKEY").unwrap().key, None);
        assert!(NotifyTarget::parse("nowhere").is_err());
    }
}
