//! The four `RRSETS_*` hash maps, one per key size: each RRset's entry goes to the smallest map
//! its key fits (`lbdns_common::key`).

use aya::{
    maps::{HashMap, MapData},
    Ebpf,
};
use lbdns_common::{
    key::{tier_for_name_len, NameEntry, RrsetKey},
    maps,
};

use super::{take, MapError};
use crate::compile::RrsetId;

/// The name-to-id maps.
pub(super) struct NameMaps {
    tier_32: HashMap<MapData, RrsetKey<32>, NameEntry>,
    tier_64: HashMap<MapData, RrsetKey<64>, NameEntry>,
    tier_128: HashMap<MapData, RrsetKey<128>, NameEntry>,
    tier_256: HashMap<MapData, RrsetKey<256>, NameEntry>,
}

impl NameMaps {
    pub(super) fn new(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let [n32, n64, n128, n256] = maps::RRSETS;
        Ok(Self {
            tier_32: take(ebpf, n32)?,
            tier_64: take(ebpf, n64)?,
            tier_128: take(ebpf, n128)?,
            tier_256: take(ebpf, n256)?,
        })
    }

    /// Inserts the entry of a new RRset. Never used on a name that has an entry: replacing a
    /// value frees the element under a reader (`lbdns_common::publish`, rule 1).
    pub(super) fn insert(&mut self, rrset: &RrsetId, id: u32) -> Result<(), MapError> {
        let [n32, n64, n128, n256] = maps::RRSETS;
        let entry = NameEntry { id };
        match tier(rrset) {
            0 => insert(&mut self.tier_32, n32, rrset, entry),
            1 => insert(&mut self.tier_64, n64, rrset, entry),
            2 => insert(&mut self.tier_128, n128, rrset, entry),
            _ => insert(&mut self.tier_256, n256, rrset, entry),
        }
    }

    pub(super) fn remove(&mut self, rrset: &RrsetId) -> Result<(), MapError> {
        let [n32, n64, n128, n256] = maps::RRSETS;
        match tier(rrset) {
            0 => remove(&mut self.tier_32, n32, rrset),
            1 => remove(&mut self.tier_64, n64, rrset),
            2 => remove(&mut self.tier_128, n128, rrset),
            _ => remove(&mut self.tier_256, n256, rrset),
        }
    }
}

/// The `RRSETS_*` tier of an RRset from a compiled image (whose names are valid).
fn tier(rrset: &RrsetId) -> usize {
    tier_for_name_len(rrset.name.len()).expect("compile checked the name")
}

fn key<const N: usize>(rrset: &RrsetId) -> RrsetKey<N> {
    RrsetKey::new(rrset.qtype, &rrset.name).expect("tier chosen by name length")
}

fn insert<const N: usize>(
    map: &mut HashMap<MapData, RrsetKey<N>, NameEntry>,
    name: &'static str,
    rrset: &RrsetId,
    entry: NameEntry,
) -> Result<(), MapError> {
    /// BPF_NOEXIST: fail rather than replace an element.
    const BPF_NOEXIST: u64 = 1;
    map.insert(key::<N>(rrset), entry, BPF_NOEXIST)
        .map_err(|source| MapError::Map {
            op: "inserting a name",
            map: name,
            source,
        })
}

fn remove<const N: usize>(
    map: &mut HashMap<MapData, RrsetKey<N>, NameEntry>,
    name: &'static str,
    rrset: &RrsetId,
) -> Result<(), MapError> {
    map.remove(&key::<N>(rrset))
        .map_err(|source| MapError::Map {
            op: "removing a name",
            map: name,
            source,
        })
}
