//! Ethernet II, with up to two VLAN tags (802.1Q, or an 802.1ad outer tag over an 802.1Q one).

use crate::{
    frame::Frame,
    verdict::{Skip, NOT_DNS},
};

/// EtherType of an 802.1Q (customer) VLAN tag.
const ETH_P_8021Q: u16 = 0x8100;
/// EtherType of an 802.1ad (service) VLAN tag.
const ETH_P_8021AD: u16 = 0x88a8;
/// Length of the destination and source MAC addresses that start every frame.
const MACS_LEN: usize = 12;
/// Length of a VLAN tag: TPID and TCI.
const TAG_LEN: usize = 4;

/// EtherType values of the network layers the fast path parses.
pub const ETH_P_IP: u16 = 0x0800;
/// IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;

/// Where the network layer starts, and its EtherType.
pub struct L3 {
    /// Offset of the IP header.
    pub off: usize,
    /// [`ETH_P_IP`] or [`ETH_P_IPV6`].
    pub ether_type: u16,
}

/// Skips the MAC addresses and VLAN tags. The reply keeps the tags as they are, so it leaves
/// on the VLAN the query came from.
#[inline(always)]
pub fn parse(frame: &Frame) -> Result<L3, Skip> {
    let mut type_off = MACS_LEN;
    let mut ether_type = frame.be16(type_off).ok_or(NOT_DNS)?;
    if ether_type == ETH_P_8021AD || ether_type == ETH_P_8021Q {
        type_off += TAG_LEN;
        ether_type = frame.be16(type_off).ok_or(NOT_DNS)?;
        if ether_type == ETH_P_8021Q {
            type_off += TAG_LEN;
            ether_type = frame.be16(type_off).ok_or(NOT_DNS)?;
        }
    }
    if ether_type != ETH_P_IP && ether_type != ETH_P_IPV6 {
        return Err(NOT_DNS);
    }
    Ok(L3 {
        off: type_off + 2,
        ether_type,
    })
}
