//! The only code that writes the XDP program's maps: it makes the maps hold a [`MapImage`],
//! changing only what differs, without a query ever seeing a half-written answer set.
//!
//! The protocol is the one documented in `lbdns_common::answer`: a changed RRset gets a fresh
//! slot, its entry is swapped to it, and the old slot is reused only after an RCU grace period.

use std::{collections::BTreeMap, io};

use aya::{
    maps::{Array, HashMap, MapData, MapError as AyaMapError},
    Ebpf,
};
use lbdns_common::{
    answer::{AnswerSetV4, AnswerSetV6},
    key::{tier_for_name_len, AddrType, RrsetEntry, RrsetKey},
    maps,
};

use crate::compile::{Answer, MapImage, RrsetId};

/// Why the maps could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The loaded object has no map of this name: it does not match this build.
    #[error("the XDP object has no map {0} (object and daemon are from different builds?)")]
    Missing(&'static str),
    /// A map operation failed.
    #[error("{op} on map {map}: {source}")]
    Map {
        /// What was being done.
        op: &'static str,
        /// Which map.
        map: &'static str,
        /// The kernel's answer.
        source: AyaMapError,
    },
    /// Every answer-set slot of this type is in use.
    #[error("no free {0:?} answer-set slot: raise the number of slots")]
    SlotsExhausted(AddrType),
    /// Waiting for running programs to finish failed; the replaced slots stay unused.
    #[error("waiting for an RCU grace period (membarrier): {0}")]
    GracePeriod(io::Error),
}

/// What one [`MapWriter::publish`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// RRsets added or changed.
    pub written: usize,
    /// RRsets removed.
    pub removed: usize,
    /// RRsets left as they were.
    pub unchanged: usize,
}

/// Where an RRset's answer set lives now.
#[derive(Clone, Copy, Debug)]
struct Published {
    slot: u32,
    answer: Answer,
}

/// Owns the maps userspace writes (`RRSETS_*`, `ANSWERS_*`) and knows what they hold.
pub struct MapWriter {
    rrsets_32: HashMap<MapData, RrsetKey<32>, RrsetEntry>,
    rrsets_64: HashMap<MapData, RrsetKey<64>, RrsetEntry>,
    rrsets_128: HashMap<MapData, RrsetKey<128>, RrsetEntry>,
    rrsets_256: HashMap<MapData, RrsetKey<256>, RrsetEntry>,
    answers_v4: Array<MapData, AnswerSetV4>,
    answers_v6: Array<MapData, AnswerSetV6>,
    live: BTreeMap<RrsetId, Published>,
    /// Free slots per type, lowest on top.
    free_v4: Vec<u32>,
    free_v6: Vec<u32>,
}

impl std::fmt::Debug for MapWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapWriter")
            .field("live", &self.live.len())
            .field("free_v4", &self.free_v4.len())
            .field("free_v6", &self.free_v6.len())
            .finish_non_exhaustive()
    }
}

impl MapWriter {
    /// Takes the writable maps out of a freshly loaded program. The maps must be empty.
    pub fn new(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let [n32, n64, n128, n256] = maps::RRSETS;
        let answers_v4: Array<_, AnswerSetV4> = take(ebpf, maps::ANSWERS_V4)?;
        let answers_v6: Array<_, AnswerSetV6> = take(ebpf, maps::ANSWERS_V6)?;
        Ok(Self {
            rrsets_32: take(ebpf, n32)?,
            rrsets_64: take(ebpf, n64)?,
            rrsets_128: take(ebpf, n128)?,
            rrsets_256: take(ebpf, n256)?,
            free_v4: (0..answers_v4.len()).rev().collect(),
            free_v6: (0..answers_v6.len()).rev().collect(),
            answers_v4,
            answers_v6,
            live: BTreeMap::new(),
        })
    }

    /// Makes the maps hold `image`. Changed and new RRsets are written to fresh slots and
    /// switched to one at a time; a query sees each RRset either before or after the change.
    /// On error the maps hold a mix of the old and new image, each RRset whole.
    pub fn publish(&mut self, image: &MapImage) -> Result<PublishReport, MapError> {
        let mut released = Vec::new();
        let result = self.apply(image, &mut released);
        if !released.is_empty() {
            wait_for_readers().map_err(MapError::GracePeriod)?;
            for (qtype, slot) in released {
                self.free_list(qtype).push(slot);
            }
        }
        result
    }

    fn apply(
        &mut self,
        image: &MapImage,
        released: &mut Vec<(AddrType, u32)>,
    ) -> Result<PublishReport, MapError> {
        let mut report = PublishReport::default();
        for (id, answer) in &image.rrsets {
            if self.live.get(id).is_some_and(|p| p.answer == *answer) {
                report.unchanged += 1;
                continue;
            }
            let slot = self
                .free_list(id.qtype)
                .pop()
                .ok_or(MapError::SlotsExhausted(id.qtype))?;
            if let Err(error) = self
                .write_answer(slot, answer)
                .and_then(|()| self.set_entry(id, slot))
            {
                self.free_list(id.qtype).push(slot);
                return Err(error);
            }
            let old = self.live.insert(
                id.clone(),
                Published {
                    slot,
                    answer: *answer,
                },
            );
            released.extend(old.map(|old| (id.qtype, old.slot)));
            report.written += 1;
        }
        let gone: Vec<RrsetId> = self
            .live
            .keys()
            .filter(|id| !image.rrsets.contains_key(id))
            .cloned()
            .collect();
        for id in gone {
            self.remove_entry(&id)?;
            let old = self.live.remove(&id).expect("listed from live");
            released.push((id.qtype, old.slot));
            report.removed += 1;
        }
        Ok(report)
    }

    fn free_list(&mut self, qtype: AddrType) -> &mut Vec<u32> {
        match qtype {
            AddrType::A => &mut self.free_v4,
            AddrType::Aaaa => &mut self.free_v6,
        }
    }

    fn write_answer(&mut self, slot: u32, answer: &Answer) -> Result<(), MapError> {
        match answer {
            Answer::V4(set) => self
                .answers_v4
                .set(slot, set, 0)
                .map_err(|source| MapError::Map {
                    op: "writing an answer set",
                    map: maps::ANSWERS_V4,
                    source,
                }),
            Answer::V6(set) => self
                .answers_v6
                .set(slot, set, 0)
                .map_err(|source| MapError::Map {
                    op: "writing an answer set",
                    map: maps::ANSWERS_V6,
                    source,
                }),
        }
    }

    fn set_entry(&mut self, id: &RrsetId, slot: u32) -> Result<(), MapError> {
        let entry = RrsetEntry { slot };
        let [n32, n64, n128, n256] = maps::RRSETS;
        match tier(id) {
            0 => insert(&mut self.rrsets_32, n32, id, entry),
            1 => insert(&mut self.rrsets_64, n64, id, entry),
            2 => insert(&mut self.rrsets_128, n128, id, entry),
            _ => insert(&mut self.rrsets_256, n256, id, entry),
        }
    }

    fn remove_entry(&mut self, id: &RrsetId) -> Result<(), MapError> {
        let [n32, n64, n128, n256] = maps::RRSETS;
        match tier(id) {
            0 => remove(&mut self.rrsets_32, n32, id),
            1 => remove(&mut self.rrsets_64, n64, id),
            2 => remove(&mut self.rrsets_128, n128, id),
            _ => remove(&mut self.rrsets_256, n256, id),
        }
    }
}

/// The `RRSETS_*` tier of an RRset from a compiled image (whose names are valid).
fn tier(id: &RrsetId) -> usize {
    tier_for_name_len(id.name.len()).expect("compile checked the name")
}

fn key<const N: usize>(id: &RrsetId) -> RrsetKey<N> {
    RrsetKey::new(id.qtype, &id.name).expect("tier chosen by name length")
}

fn insert<const N: usize>(
    map: &mut HashMap<MapData, RrsetKey<N>, RrsetEntry>,
    name: &'static str,
    id: &RrsetId,
    entry: RrsetEntry,
) -> Result<(), MapError> {
    map.insert(key::<N>(id), entry, 0)
        .map_err(|source| MapError::Map {
            op: "setting an entry",
            map: name,
            source,
        })
}

fn remove<const N: usize>(
    map: &mut HashMap<MapData, RrsetKey<N>, RrsetEntry>,
    name: &'static str,
    id: &RrsetId,
) -> Result<(), MapError> {
    map.remove(&key::<N>(id)).map_err(|source| MapError::Map {
        op: "removing an entry",
        map: name,
        source,
    })
}

fn take<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, MapError>
where
    T: TryFrom<aya::maps::Map, Error = AyaMapError>,
{
    let map = ebpf.take_map(name).ok_or(MapError::Missing(name))?;
    T::try_from(map).map_err(|source| MapError::Map {
        op: "opening",
        map: name,
        source,
    })
}

/// Returns once every XDP program run that started before the call has finished.
///
/// `MEMBARRIER_CMD_GLOBAL` waits for an RCU grace period (`synchronize_rcu`), and XDP programs
/// run inside RCU read-side sections, so after it no program still uses a slot number it read
/// before. It fails on `nohz_full` kernels.
fn wait_for_readers() -> io::Result<()> {
    /// From linux/membarrier.h; libc does not export it.
    const MEMBARRIER_CMD_GLOBAL: libc::c_int = 1;
    // SAFETY: membarrier takes two integers and a CPU id and touches no memory of ours.
    let ret = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
