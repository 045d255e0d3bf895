//! `NEGATIVE_ZONES` and `NEGATIVE_CHILDREN`: what the program answers NXDOMAIN from
//! (`lbdns_common::negative`), written in the order that keeps every answer right.
//!
//! A program run reads a zone's element, then looks for the child. So:
//! 1. children that appear go in first: a run that finds the zone's new record (whose serial
//!    says the name exists) finds the name too;
//! 2. then new and changed zones, each element replaced whole;
//! 3. then zones that stop being answered go, and, after a grace period, the children that
//!    went: a run still holding an earlier record found the names of that record's version.

use std::collections::BTreeMap;

use aya::{
    maps::{HashMap, MapData},
    Ebpf,
};
use lbdns_common::{
    maps,
    negative::{ChildKey, NegativeZone, ZoneKey},
};

use super::{wait_for_readers, MapError};
use crate::compile::negative::NegativeImage;

/// The two maps, and what they hold.
pub(super) struct NegativeMaps {
    zones: HashMap<MapData, ZoneKey, NegativeZone>,
    children: HashMap<MapData, ChildKey, u8>,
    held: NegativeImage,
}

/// What one [`NegativeMaps::publish`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NegativeReport {
    /// Zones added or whose record changed, and zones removed.
    pub zones_written: usize,
    pub zones_removed: usize,
    /// Children added and removed.
    pub children_added: usize,
    pub children_removed: usize,
}

impl NegativeMaps {
    /// Takes the maps out of a loaded program and reads what they hold: nothing in new maps,
    /// an earlier process's elements in adopted ones.
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let zones: HashMap<MapData, ZoneKey, NegativeZone> = open(ebpf, maps::NEGATIVE_ZONES)?;
        let children: HashMap<MapData, ChildKey, u8> = open(ebpf, maps::NEGATIVE_CHILDREN)?;
        let mut held = NegativeImage::default();
        for entry in zones.iter() {
            let (key, value) = entry.map_err(error("reading", maps::NEGATIVE_ZONES))?;
            held.zones.insert(key, value);
        }
        for key in children.keys() {
            held.children
                .insert(key.map_err(error("reading", maps::NEGATIVE_CHILDREN))?);
        }
        Ok(Self {
            zones,
            children,
            held,
        })
    }

    /// Makes the maps hold `image`, changing only what differs (see the module's order).
    pub(super) fn publish(&mut self, image: &NegativeImage) -> Result<NegativeReport, MapError> {
        let mut report = NegativeReport::default();
        let new_children: Vec<ChildKey> = image
            .children
            .difference(&self.held.children)
            .copied()
            .collect();
        for key in &new_children {
            self.children
                .insert(key, 1, 0)
                .map_err(error("adding a name", maps::NEGATIVE_CHILDREN))?;
            self.held.children.insert(*key);
        }
        report.children_added = new_children.len();
        for (key, value) in &image.zones {
            if self.held.zones.get(key) != Some(value) {
                self.zones
                    .insert(key, value, 0)
                    .map_err(error("writing a zone", maps::NEGATIVE_ZONES))?;
                self.held.zones.insert(*key, *value);
                report.zones_written += 1;
            }
        }
        let gone_zones: Vec<ZoneKey> = keys_not_in(&self.held.zones, &image.zones);
        for key in &gone_zones {
            self.zones
                .remove(key)
                .map_err(error("removing a zone", maps::NEGATIVE_ZONES))?;
            self.held.zones.remove(key);
        }
        report.zones_removed = gone_zones.len();
        let gone_children: Vec<ChildKey> = self
            .held
            .children
            .difference(&image.children)
            .copied()
            .collect();
        if !gone_children.is_empty() {
            wait_for_readers().map_err(MapError::GracePeriod)?;
        }
        for key in &gone_children {
            self.children
                .remove(key)
                .map_err(error("removing a name", maps::NEGATIVE_CHILDREN))?;
            self.held.children.remove(key);
        }
        report.children_removed = gone_children.len();
        Ok(report)
    }
}

/// The keys of `held` that `wanted` lacks.
fn keys_not_in<K: Ord + Copy, V>(held: &BTreeMap<K, V>, wanted: &BTreeMap<K, V>) -> Vec<K> {
    held.keys()
        .filter(|key| !wanted.contains_key(key))
        .copied()
        .collect()
}

/// The hash map `name` of the loaded program.
fn open<K: aya::Pod, V: aya::Pod>(
    ebpf: &mut Ebpf,
    name: &'static str,
) -> Result<HashMap<MapData, K, V>, MapError> {
    let map = ebpf.take_map(name).ok_or(MapError::Missing(name))?;
    HashMap::try_from(map).map_err(error("opening", name))
}

/// A map operation's error, with what was being done.
fn error(op: &'static str, map: &'static str) -> impl Fn(aya::maps::MapError) -> MapError {
    move |source| MapError::Map { op, map, source }
}
