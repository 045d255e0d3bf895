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
//!    answered, a name gone or its NODATA marks changed, a fixed reply changed or gone),
//!    stores 0 in the state, waits for a grace period, replaces and removes, and stores
//!    [`PREPARED_ON`] again: the kernel may hand a removed element's memory to the next
//!    insertion at once, so none is changed while a run could read it.

use std::collections::BTreeMap;

use aya::{
    maps::{HashMap, Map, MapData},
    Ebpf, Pod,
};
use lbdns_common::{
    fixed::{FixedKey, FixedReply},
    maps,
    negative::{ChildKey, NegativeZone, ZoneKey},
    prepared::PREPARED_ON,
};

use super::{mapped, mapped::MappedArray, wait_for_readers, MapError};
use crate::compile::{fixed::FixedImage, negative::NegativeImage};

/// The four maps, and what the hash maps hold.
pub(super) struct PreparedMaps {
    state: MappedArray<u32>,
    zones: Keyed<ZoneKey, NegativeZone>,
    /// `EXISTS` and the NODATA marks (`lbdns_common::negative`).
    children: Keyed<ChildKey, u8>,
    fixed: Keyed<FixedKey, FixedReply>,
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
        Ok(Self {
            state: mapped(ebpf, maps::PREPARED_STATE)?,
            zones: Keyed::take(ebpf, maps::NEGATIVE_ZONES)?,
            children: Keyed::take(ebpf, maps::NEGATIVE_CHILDREN)?,
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
        self.children.check_room(&negative.children)?;
        self.zones.check_room(&negative.zones)?;
        self.fixed.check_room(fixed)?;

        let mut report = PreparedReport {
            children_added: self.children.insert_new(&negative.children)?,
            zones_written: self.zones.insert_new(&negative.zones)?,
            fixed_written: self.fixed.insert_new(fixed)?,
            ..PreparedReport::default()
        };
        let zones = self.zones.stale(&negative.zones);
        let children = self.children.stale(&negative.children);
        let fixed_stale = self.fixed.stale(fixed);
        report.zones_written += zones.changed.len();
        report.zones_removed = zones.gone.len();
        report.children_removed = children.gone.len();
        report.fixed_written += fixed_stale.changed.len();
        report.fixed_removed = fixed_stale.gone.len();
        if zones.is_empty() && children.is_empty() && fixed_stale.is_empty() {
            self.state.point(0, PREPARED_ON);
            return Ok(report);
        }
        self.state.point(0, 0);
        wait_for_readers().map_err(MapError::GracePeriod)?;
        self.zones.apply(zones)?;
        self.fixed.apply(fixed_stale)?;
        self.children.apply(children)?;
        self.state.point(0, PREPARED_ON);
        Ok(report)
    }
}

/// What a map must hold, key by key.
trait Wanted<K, V> {
    /// The value `key` must have, if it must be there.
    fn value(&self, key: &K) -> Option<V>;
    /// Every key and its value.
    fn entries(&self) -> impl Iterator<Item = (K, V)>;
}

impl<K: Ord + Copy, V: Copy> Wanted<K, V> for BTreeMap<K, V> {
    fn value(&self, key: &K) -> Option<V> {
        self.get(key).copied()
    }

    fn entries(&self) -> impl Iterator<Item = (K, V)> {
        self.iter().map(|(key, value)| (*key, *value))
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

/// The held keys a publish changes (with their new values) or removes: only with the state
/// off.
struct Stale<K, V> {
    changed: Vec<(K, V)>,
    gone: Vec<K>,
}

impl<K, V> Stale<K, V> {
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
    fn check_room(&self, wanted: &impl Wanted<K, V>) -> Result<(), MapError> {
        let needed = self.held.len() + self.new_in(wanted).count();
        if needed > self.room as usize {
            return Err(MapError::PreparedFull {
                map: self.name,
                needed,
                entries: self.room,
            });
        }
        Ok(())
    }

    /// The keys of `wanted` the map lacks, with their values.
    fn new_in<'a, W: Wanted<K, V>>(&'a self, wanted: &'a W) -> impl Iterator<Item = (K, V)> + 'a {
        wanted
            .entries()
            .filter(|(key, _)| !self.held.contains_key(key))
    }

    /// Inserts the keys of `wanted` the map lacks; returns how many.
    fn insert_new(&mut self, wanted: &impl Wanted<K, V>) -> Result<usize, MapError> {
        let new: Vec<(K, V)> = self.new_in(wanted).collect();
        for (key, value) in &new {
            self.write(key, value)?;
        }
        Ok(new.len())
    }

    /// The held keys whose values `wanted` changes, and those it lacks.
    fn stale(&self, wanted: &impl Wanted<K, V>) -> Stale<K, V> {
        let mut stale = Stale {
            changed: Vec::new(),
            gone: Vec::new(),
        };
        for (key, value) in &self.held {
            match wanted.value(key) {
                Some(new) if new != *value => stale.changed.push((*key, new)),
                Some(_) => {}
                None => stale.gone.push(*key),
            }
        }
        stale
    }

    /// Writes the changed values and removes the keys gone: only while no program run can
    /// hold their elements.
    fn apply(&mut self, stale: Stale<K, V>) -> Result<(), MapError> {
        for (key, value) in stale.changed {
            self.write(&key, &value)?;
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
