//! `NEGATIVE_STATE`, `NEGATIVE_ZONES` and `NEGATIVE_CHILDREN`: what the program answers
//! NXDOMAIN from (`lbdns_common::negative`), written so that every answer stays right.
//!
//! A program run reads the state, a zone's element, then looks for the child. So a publish:
//! 1. inserts the children that appear, then the zones that appear (new keys: no element a
//!    program may hold changes), while the program answers: a run that finds a new zone finds
//!    its names;
//! 2. if any element is to be replaced or removed (a zone's new record, a zone no longer
//!    answered, a name gone), stores 0 in the state, waits for a grace period, replaces and
//!    removes, and stores [`NEGATIVE_ON`] again: the kernel may hand a removed element's
//!    memory to the next insertion at once, so none is changed while a run could read it.
//!
//! So the children map holds the old names and the new ones at once; a publish for which it
//! has too few entries writes nothing and says so ([`MapError::NegativeChildrenFull`]), and
//! the daemon makes larger maps (`served::publish`).

use std::collections::BTreeMap;

use aya::{
    maps::{HashMap, Map, MapData},
    Ebpf,
};
use lbdns_common::{
    maps,
    negative::{ChildKey, NegativeZone, ZoneKey, NEGATIVE_ON},
};

use super::{mapped, mapped::MappedArray, wait_for_readers, MapError};
use crate::compile::negative::NegativeImage;

/// The three maps, and what the two hash maps hold.
pub(super) struct NegativeMaps {
    state: MappedArray<u32>,
    zones: HashMap<MapData, ZoneKey, NegativeZone>,
    children: HashMap<MapData, ChildKey, u8>,
    /// `NEGATIVE_CHILDREN`'s entries.
    room: u32,
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
        let (children, room) = open_sized(ebpf, maps::NEGATIVE_CHILDREN)?;
        let mut held = NegativeImage::default();
        for entry in zones.iter() {
            let (key, value) = entry.map_err(MapError::during("reading", maps::NEGATIVE_ZONES))?;
            held.zones.insert(key, value);
        }
        for key in children.keys() {
            held.children
                .insert(key.map_err(MapError::during("reading", maps::NEGATIVE_CHILDREN))?);
        }
        Ok(Self {
            state: mapped(ebpf, maps::NEGATIVE_STATE)?,
            zones,
            children,
            room,
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
        let needed = self.held.children.len() + new_children.len();
        if needed > self.room as usize {
            return Err(MapError::NegativeChildrenFull {
                needed,
                entries: self.room,
            });
        }
        for key in &new_children {
            self.insert_child(key)?;
        }
        report.children_added = new_children.len();
        let (new_zones, changed_zones): (Vec<_>, Vec<_>) = image
            .zones
            .iter()
            .filter(|&(key, value)| self.held.zones.get(key) != Some(value))
            .partition(|&(key, _)| !self.held.zones.contains_key(key));
        for (key, value) in &new_zones {
            self.write_zone(key, value)?;
        }
        let gone_zones = keys_not_in(&self.held.zones, &image.zones);
        let gone_children: Vec<ChildKey> = self
            .held
            .children
            .difference(&image.children)
            .copied()
            .collect();
        report.zones_written = new_zones.len() + changed_zones.len();
        report.zones_removed = gone_zones.len();
        report.children_removed = gone_children.len();
        if changed_zones.is_empty() && gone_zones.is_empty() && gone_children.is_empty() {
            self.state.point(0, NEGATIVE_ON);
            return Ok(report);
        }
        self.state.point(0, 0);
        wait_for_readers().map_err(MapError::GracePeriod)?;
        for (key, value) in &changed_zones {
            self.write_zone(key, value)?;
        }
        for key in &gone_zones {
            self.zones
                .remove(key)
                .map_err(MapError::during("removing a zone", maps::NEGATIVE_ZONES))?;
            self.held.zones.remove(key);
        }
        for key in &gone_children {
            self.children
                .remove(key)
                .map_err(MapError::during("removing a name", maps::NEGATIVE_CHILDREN))?;
            self.held.children.remove(key);
        }
        self.state.point(0, NEGATIVE_ON);
        Ok(report)
    }

    fn insert_child(&mut self, key: &ChildKey) -> Result<(), MapError> {
        self.children
            .insert(key, 1, 0)
            .map_err(MapError::during("adding a name", maps::NEGATIVE_CHILDREN))?;
        self.held.children.insert(*key);
        Ok(())
    }

    fn write_zone(&mut self, key: &ZoneKey, value: &NegativeZone) -> Result<(), MapError> {
        self.zones
            .insert(key, value, 0)
            .map_err(MapError::during("writing a zone", maps::NEGATIVE_ZONES))?;
        self.held.zones.insert(*key, *value);
        Ok(())
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
    Ok(open_sized(ebpf, name)?.0)
}

/// [`open`], with the map's entries.
fn open_sized<K: aya::Pod, V: aya::Pod>(
    ebpf: &mut Ebpf,
    name: &'static str,
) -> Result<(HashMap<MapData, K, V>, u32), MapError> {
    let map = ebpf.take_map(name).ok_or(MapError::Missing(name))?;
    let Map::HashMap(data) = &map else {
        return Err(MapError::Layout {
            map: name,
            reason: "not a hash map",
        });
    };
    let entries = data
        .info()
        .map_err(MapError::during("reading the map's info", name))?
        .max_entries();
    let map = HashMap::try_from(map).map_err(MapError::during("opening", name))?;
    Ok((map, entries))
}
