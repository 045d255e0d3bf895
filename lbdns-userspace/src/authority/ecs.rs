//! EDNS Client Subnet (RFC 7871) on the socket path: reading the option, which address steers
//! a geo answer, and the option the reply carries.
//!
//! The rules, which the XDP path repeats:
//! - A valid option with address bits steers by its ADDRESS truncated to
//!   min(SOURCE PREFIX-LENGTH, the privacy cap: /24 IPv4, /56 IPv6 by default, §11.1).
//! - SOURCE PREFIX-LENGTH 0 (and FAMILY 0, which may only come with it, §7.1.2) carries no
//!   address: the query's source address steers, as without the option, and the scope is 0.
//! - The reply echoes FAMILY, SOURCE PREFIX-LENGTH and ADDRESS (§7.2.1) with SCOPE
//!   PREFIX-LENGTH: the length of the map piece the steering address fell in for an answer
//!   from a geo pool (longer than the source when the map is more specific there), 0 for
//!   every other answer, and at most the cap when the address was cut to it.
//! - A malformed option (an unknown FAMILY, a SOURCE PREFIX-LENGTH longer than the address,
//!   ADDRESS octets other than the prefix needs, bits set past the prefix) is FORMERR (§6).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::geo::{EcsSettings, GeoMap, LocationId, Prefix};

/// RFC 7871 §6 address families (IANA Address Family Numbers).
pub const FAMILY_IPV4: u16 = 1;
pub const FAMILY_IPV6: u16 = 2;

/// A well-formed ECS option of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSubnet {
    /// 0 (no address, only with source 0), 1 or 2.
    pub family: u16,
    pub source: u8,
    /// The query's SCOPE PREFIX-LENGTH, which should be 0; kept only to be ignored.
    pub scope: u8,
    /// The address, bits past `source` zero; `None` for family 0.
    pub address: Option<IpAddr>,
}

/// The option breaks a rule of RFC 7871 §6: the query gets FORMERR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// What the walker found: the option as read, or that it was malformed.
pub type Ecs = Result<ClientSubnet, Malformed>;

/// Reads an ECS option's data.
pub fn read(data: &[u8]) -> Ecs {
    let [f0, f1, source, scope, address @ ..] = data else {
        return Err(Malformed);
    };
    let family = u16::from_be_bytes([*f0, *f1]);
    let width: u8 = match family {
        FAMILY_IPV4 => 32,
        FAMILY_IPV6 => 128,
        // No address: a client that asks for none to be used (§7.1.2).
        0 if *source == 0 && address.is_empty() => {
            return Ok(ClientSubnet {
                family,
                source: 0,
                scope: *scope,
                address: None,
            })
        }
        _ => return Err(Malformed),
    };
    if *source > width || address.len() != usize::from(source.div_ceil(8)) {
        return Err(Malformed);
    }
    let mut octets = [0u8; 16];
    octets[..address.len()].copy_from_slice(address);
    let address = if family == FAMILY_IPV4 {
        IpAddr::V4(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    if !Prefix::is_exact(address, *source) {
        return Err(Malformed);
    }
    Ok(ClientSubnet {
        family,
        source: *source,
        scope: *scope,
        address: Some(address),
    })
}

/// [`read`] for the walker: a second ECS option in one query is malformed, whatever the first.
pub fn read_once(seen: Option<Ecs>, data: &[u8]) -> Ecs {
    match seen {
        Some(_) => Err(Malformed),
        None => read(data),
    }
}

/// The most octets a reply's ECS option data takes: family, two lengths, an IPv6 address.
pub const MAX_REPLY_LEN: usize = 4 + 16;

/// The reply's ECS option data: the query's family, source and address with `scope`.
pub fn reply_data(subnet: &ClientSubnet, scope: u8) -> ([u8; MAX_REPLY_LEN], usize) {
    let mut out = [0u8; MAX_REPLY_LEN];
    out[..2].copy_from_slice(&subnet.family.to_be_bytes());
    out[2] = subnet.source;
    out[3] = scope;
    let octets = usize::from(subnet.source.div_ceil(8));
    match subnet.address {
        Some(IpAddr::V4(a)) => out[4..4 + octets].copy_from_slice(&a.octets()[..octets]),
        Some(IpAddr::V6(a)) => out[4..4 + octets].copy_from_slice(&a.octets()[..octets]),
        None => {}
    }
    (out, 4 + octets)
}

/// Places the client of one query, when a geo pool asks: by the ECS address when there is
/// one and the pool lets it steer, else by the query's source address.
#[derive(Debug, Clone, Copy)]
pub struct Locator<'a> {
    map: &'a GeoMap,
    source: IpAddr,
    /// The ECS address cut to the bits used, and how many of its bits the query gave.
    subnet: Option<(Prefix, u8)>,
}

impl<'a> Locator<'a> {
    /// `subnet` is the query's ECS option when ECS is on.
    pub fn new(
        map: &'a GeoMap,
        source: IpAddr,
        subnet: Option<&ClientSubnet>,
        settings: &EcsSettings,
    ) -> Self {
        let subnet = subnet.and_then(|s| {
            let address = s.address.filter(|_| s.source > 0)?;
            let used = s.source.min(settings.cap(address.is_ipv6()));
            Some((Prefix::new(address, used), s.source))
        });
        Self {
            map,
            source,
            subnet,
        }
    }

    /// The client's location and the ECS scope of an answer chosen by it.
    pub fn locate(&self, use_ecs: bool) -> (Option<LocationId>, u8) {
        match self.subnet.filter(|_| use_ecs) {
            Some((prefix, source)) => {
                let mut located = self.map.locate(prefix.addr);
                // An IPv4-mapped IPv6 address is placed as its IPv4 address; its scope stays
                // in the option's own family, IPv6 bits.
                if matches!(prefix.addr, IpAddr::V6(a) if a.to_ipv4_mapped().is_some()) {
                    located.scope += 96;
                }
                // Past the cap the address's bits are unknown to us: the answer holds for the
                // piece of the cut address, claimed no further than the bits used.
                let scope = if source > prefix.len {
                    located.scope.min(prefix.len)
                } else {
                    located.scope
                };
                (located.location, scope)
            }
            None => (self.map.locate(self.source).location, 0),
        }
    }
}

#[cfg(test)]
#[path = "ecs_tests.rs"]
pub(super) mod tests;
