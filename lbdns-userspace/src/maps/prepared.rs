//! `PREPARED_STATE`, `NEGATIVE_ZONES`, `NEGATIVE_CHILDREN` and `FIXED_REPLIES`: the replies
//! userspace prepares whole (`lbdns_common::prepared`), written so that every answer stays
//! right.
//!
//! A program run reads the state, then an element (a zone's, then the child's; or a fixed
//! reply). So a publish:
//! 1. checks that each hash map holds what it holds now and what the publish adds at once,
//!    and writes nothing if not ([`MapError::PreparedFull`]: the daemon makes larger maps,
//!    `served::publish`);
//! 2. inserts the children that appear, then the zones and fixed replies that appear (new
//!    keys: no element a program may hold changes), while the program answers: a run that
//!    finds a new zone finds its names;
//! 3. if any element is to be replaced or removed (a zone's new record, a zone no longer
//!    answered, a name gone, a fixed reply changed or gone), stores 0 in the state, waits for
//!    a grace period, replaces and removes, and stores [`PREPARED_ON`] again: the kernel may
//!    hand a removed element's memory to the next insertion at once, so none is changed while
//!    a run could read it.

use std::collections::{BTreeMap, BTreeSet};

use aya::{
    maps::{HashMap, Map, MapData},
    Ebpf, Pod,
};
use lbdns_common::{maps, negative::ChildKey, prepared::PREPARED_ON};

use super::{mapped, mapped::MappedArray, wait_for_readers, MapError};
use crate::compile::{fixed::FixedImage, negative::NegativeImage};

/// The four maps, and what the hash maps hold.
pub(super) struct PreparedMaps {
    state: MappedArray<u32>,
    zones: Keyed<lbdns_common::negative::ZoneKey, lbdns_common::negative::NegativeZone>,
    children: HashMap<MapData, ChildKey, u8>,
    children_room: u32,
    held_children: BTreeSet<ChildKey>,
    fixed: Keyed<lbdns_common::fixed::FixedKey, lbdns_common::fixed::FixedReply>,
}

/// What one [`PreparedMaps::publish`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PreparedReport {
    /// Zones added or whose record changed, and zones removed.
    pub zones_written: usize,
    pub zones_removed: usize,
    /// Children added and removed.
    pub children_added: usize,
    pub children_removed: usize,
    /// Fixed replies added or changed, and removed.
    pub fixed_written: usize,
    pub fixed_removed: usize,
}

impl PreparedMaps {
    /// Takes the maps out of a loaded program and reads what they hold: nothing in new maps,
    /// an earlier process's elements in adopted ones.
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let (children, children_room) = open(ebpf, maps::NEGATIVE_CHILDREN)?;
        let mut held_children = BTreeSet::new();
        for key in children.keys() {
            held_children
                .insert(key.map_err(MapError::during("reading", maps::NEGATIVE_CHILDREN))?);
        }
        Ok(Self {
            state: mapped(ebpf, maps::PREPARED_STATE)?,
            zones: Keyed::take(ebpf, maps::NEGATIVE_ZONES)?,
            children,
            children_room,
            held_children,
            fixed: Keyed::take(ebpf, maps::FIXED_REPLIES)?,
        })
    }

    /// Makes the maps hold `negative` and `fixed`, changing only what differs (see the
    /// module's order).
    pub(super) fn publish(
        &mut self,
        negative: &NegativeImage,
        fixed: &FixedImage,
    ) -> Result<PreparedReport, MapError> {
        let new_children: Vec<ChildKey> = negative
            .children
            .difference(&self.held_children)
            .copied()
            .collect();
        check_room(
            maps::NEGATIVE_CHILDREN,
            self.held_children.len() + new_children.len(),
            self.children_room,
        )?;
        self.zones.check_room(&negative.zones)?;
        self.fixed.check_room(fixed)?;

        for key in &new_children {
            self.children
                .insert(key, 1, 0)
                .map_err(MapError::during("adding a name", maps::NEGATIVE_CHILDREN))?;
            self.held_children.insert(*key);
        }
        let mut report = PreparedReport {
            children_added: new_children.len(),
            zones_written: self.zones.insert_new(&negative.zones)?,
            fixed_written: self.fixed.insert_new(fixed)?,
            ..PreparedReport::default()
        };
        let zones = self.zones.stale(&negative.zones);
        let fixed_stale = self.fixed.stale(fixed);
        let gone_children: Vec<ChildKey> = self
            .held_children
            .difference(&negative.children)
            .copied()
            .collect();
        report.zones_written += zones.changed.len();
        report.zones_removed = zones.gone.len();
        report.fixed_written += fixed_stale.changed.len();
        report.fixed_removed = fixed_stale.gone.len();
        report.children_removed = gone_children.len();
        if zones.is_empty() && fixed_stale.is_empty() && gone_children.is_empty() {
            self.state.point(0, PREPARED_ON);
            return Ok(report);
        }
        self.state.point(0, 0);
        wait_for_readers().map_err(MapError::GracePeriod)?;
        self.zones.apply(&negative.zones, zones)?;
        self.fixed.apply(fixed, fixed_stale)?;
        for key in &gone_children {
            self.children
                .remove(key)
                .map_err(MapError::during("removing a name", maps::NEGATIVE_CHILDREN))?;
            self.held_children.remove(key);
        }
        self.state.point(0, PREPARED_ON);
        Ok(report)
    }
}

/// A hash map written by difference against a copy of what it holds.
struct Keyed<K, V> {
    map: HashMap<MapData, K, V>,
    name: &'static str,
    /// The map's entries.
    room: u32,
    held: BTreeMap<K, V>,
}

/// The held keys a publish changes or removes: only with the state off.
struct Stale<K> {
    changed: Vec<K>,
    gone: Vec<K>,
}

impl<K> Stale<K> {
    fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.gone.is_empty()
    }
}

impl<K: Pod + Ord, V: Pod + PartialEq> Keyed<K, V> {
    /// Opens map `name` and reads what it holds.
    fn take(ebpf: &mut Ebpf, name: &'static str) -> Result<Self, MapError> {
        let (map, room) = open(ebpf, name)?;
        let mut held = BTreeMap::new();
        for entry in map.iter() {
            let (key, value) = entry.map_err(MapError::during("reading", name))?;
            held.insert(key, value);
        }
        Ok(Self {
            map,
            name,
            room,
            held,
        })
    }

    /// Fails unless the map holds what it holds and what `wanted` adds at once.
    fn check_room(&self, wanted: &BTreeMap<K, V>) -> Result<(), MapError> {
        let new = wanted.keys().filter(|key| !self.held.contains_key(key));
        check_room(self.name, self.held.len() + new.count(), self.room)
    }

    /// Inserts the keys of `wanted` the map lacks; returns how many.
    fn insert_new(&mut self, wanted: &BTreeMap<K, V>) -> Result<usize, MapError> {
        let mut inserted = 0;
        for (key, value) in wanted {
            if !self.held.contains_key(key) {
                self.write(key, value)?;
                inserted += 1;
            }
        }
        Ok(inserted)
    }

    /// The held keys whose values `wanted` changes, and those it lacks.
    fn stale(&self, wanted: &BTreeMap<K, V>) -> Stale<K> {
        let mut stale = Stale {
            changed: Vec::new(),
            gone: Vec::new(),
        };
        for (key, value) in &self.held {
            match wanted.get(key) {
                Some(new) if new != value => stale.changed.push(*key),
                Some(_) => {}
                None => stale.gone.push(*key),
            }
        }
        stale
    }

    /// Writes the changed values and removes the keys gone: only while no program run can
    /// hold their elements.
    fn apply(&mut self, wanted: &BTreeMap<K, V>, stale: Stale<K>) -> Result<(), MapError> {
        for key in stale.changed {
            self.write(&key, &wanted[&key])?;
        }
        for key in stale.gone {
            self.map
                .remove(&key)
                .map_err(MapError::during("removing", self.name))?;
            self.held.remove(&key);
        }
        Ok(())
    }

    fn write(&mut self, key: &K, value: &V) -> Result<(), MapError> {
        self.map
            .insert(key, value, 0)
            .map_err(MapError::during("writing", self.name))?;
        self.held.insert(*key, *value);
        Ok(())
    }
}

/// Fails if `needed` entries exceed map `map`'s `entries`.
fn check_room(map: &'static str, needed: usize, entries: u32) -> Result<(), MapError> {
    if needed > entries as usize {
        return Err(MapError::PreparedFull {
            map,
            needed,
            entries,
        });
    }
    Ok(())
}

/// The hash map `name` of the loaded program, with its entries.
fn open<K: Pod, V: Pod>(
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
