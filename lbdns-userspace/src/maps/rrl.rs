//! The rate limiter's maps userspace writes: `RRL_SETTINGS` and the allow lists
//! (lbdns_common::rrl). The buckets are the program's alone.

use std::net::IpAddr;

use aya::{
    maps::{lpm_trie::Key, LpmTrie, MapData},
    Ebpf,
};
use lbdns_common::{maps, rrl::Settings};

use super::{mapped, mapped::MappedArray, MapError};
use crate::rrl::RateLimits;

/// `RRL_SETTINGS`, `RRL_ALLOW_V4` and `RRL_ALLOW_V6`.
pub(super) struct RrlMaps {
    settings: MappedArray<Settings>,
    allow_v4: LpmTrie<MapData, [u8; 4], u8>,
    allow_v6: LpmTrie<MapData, [u8; 16], u8>,
}

impl RrlMaps {
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let trie = |ebpf: &mut Ebpf, name: &'static str| {
            let map = ebpf.take_map(name).ok_or(MapError::Missing(name))?;
            Ok::<_, MapError>((map, name))
        };
        let (v4, v4_name) = trie(ebpf, maps::RRL_ALLOW_V4)?;
        let (v6, v6_name) = trie(ebpf, maps::RRL_ALLOW_V6)?;
        Ok(Self {
            settings: mapped(ebpf, maps::RRL_SETTINGS)?,
            allow_v4: LpmTrie::try_from(v4).map_err(MapError::during("opening", v4_name))?,
            allow_v6: LpmTrie::try_from(v6).map_err(MapError::during("opening", v6_name))?,
        })
    }

    /// Makes the program limit as `limits` say: the allow lists first (new entries added,
    /// then old ones removed, so that no listed prefix is limited meanwhile), then the settings.
    pub(super) fn publish(&mut self, limits: &RateLimits) -> Result<(), MapError> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for entry in &limits.allow {
            match entry.network {
                IpAddr::V4(network) => {
                    v4.push(Key::new(u32::from(entry.length), network.octets()));
                }
                IpAddr::V6(network) => {
                    v6.push(Key::new(u32::from(entry.length), network.octets()));
                }
            }
        }
        replace(&mut self.allow_v4, &v4, maps::RRL_ALLOW_V4)?;
        replace(&mut self.allow_v6, &v6, maps::RRL_ALLOW_V6)?;
        let settings = limits.settings();
        if self.settings.read(0) != settings {
            self.settings.write(0, &settings);
        }
        Ok(())
    }
}

/// Makes `trie` hold exactly `wanted`.
fn replace<const N: usize>(
    trie: &mut LpmTrie<MapData, [u8; N], u8>,
    wanted: &[Key<[u8; N]>],
    name: &'static str,
) -> Result<(), MapError> {
    let same = |a: &Key<[u8; N]>, b: &Key<[u8; N]>| {
        a.prefix_len() == b.prefix_len() && a.data() == b.data()
    };
    for key in wanted {
        trie.insert(key, 1, 0)
            .map_err(MapError::during("adding an allowed prefix", name))?;
    }
    let held: Vec<Key<[u8; N]>> = trie
        .keys()
        .collect::<Result<_, _>>()
        .map_err(MapError::during("listing the allowed prefixes", name))?;
    for key in held
        .iter()
        .filter(|key| !wanted.iter().any(|w| same(w, key)))
    {
        trie.remove(key)
            .map_err(MapError::during("removing an allowed prefix", name))?;
    }
    Ok(())
}
