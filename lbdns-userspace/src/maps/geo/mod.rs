//! The geo maps (`lbdns_common::geo`): the client tries (`GEO_V4`, `GEO_V6`) with the direct
//! tables in front ([`tables`]), and the geo RRsets' rows (`GEO_ROW_*`, `GEO_LOCATIONS_*`).
//!
//! Both are written by difference. The tries take the classifier's pieces
//! (`geo::GeoMap::entries`) and are changed prefix by prefix, new and changed prefixes first,
//! then the ones gone: every address matches a prefix throughout, of the old map or the new.
//! A row is given to a geo owner while it lives; its entries name the location RRsets by id,
//! and are stored one by one, each only when it changes. Around a publish of the RRsets
//! ([`super::MapWriter::publish_scoped`]): before it, owners that leave lose their row
//! (`GEO_ROW_*[id]` cleared, so a reused id never reaches another owner's row) and entries that
//! stop naming a location RRset are stored, so no entry names an RRset the publish removes;
//! after it, every row of the image is brought up to date with the ids the RRsets now have,
//! then its owner's `GEO_ROW_*` entry. A freed row is reused only after a grace period.

mod tables;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use aya::{
    maps::{
        lpm_trie::{Key, LpmTrie},
        MapData,
    },
    Ebpf,
};
use lbdns_common::{
    geo::{GeoTarget, LOCATION_ROW, MAPPED, NO_ANSWER, NO_LOCATION, SAME_AS_OWN},
    maps,
    qtype::AddrType,
};

use super::{mapped, wait_for_readers, IdArray, MapError, MappedArray};
use crate::compile::{GeoRow, MapImage, RowEntry, RrsetId};
use crate::geo::GeoMap;
use tables::{Blocks, MAPPED_V6};

pub use tables::{geo_chunks_needed, geo_v6_slots_needed};

/// What a publish of the client map changed, in prefixes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeoMapReport {
    pub written: usize,
    pub removed: usize,
    pub unchanged: usize,
}

/// The client tries and what they hold.
pub(super) struct Tries {
    v4: LpmTrie<MapData, [u8; 4], GeoTarget>,
    v6: LpmTrie<MapData, [u8; 16], GeoTarget>,
    /// What the tries hold, by (first address, length).
    held: HashMap<(IpAddr, u8), GeoTarget>,
    /// The direct tables in front of both tries.
    blocks: Blocks,
    /// The map the tries and tables hold, once this writer has published one: every publish
    /// of the names a health change touches passes the catalog's map again, and comparing it
    /// piece by piece would cost the whole map each time.
    published: Option<Arc<GeoMap>>,
}

impl Tries {
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let trie = |ebpf: &mut Ebpf, name: &'static str| {
            ebpf.take_map(name).ok_or(MapError::Missing(name))
        };
        let v4 = LpmTrie::try_from(trie(ebpf, maps::GEO_V4)?)
            .map_err(MapError::during("opening", maps::GEO_V4))?;
        let v6 = LpmTrie::try_from(trie(ebpf, maps::GEO_V6)?)
            .map_err(MapError::during("opening", maps::GEO_V6))?;
        let mut tries = Self {
            v4,
            v6,
            held: HashMap::new(),
            blocks: Blocks::take(ebpf)?,
            published: None,
        };
        // Adopted maps hold an earlier process's prefixes: the next publish compares with them.
        for (key, target) in tries.v4.iter().filter_map(Result::ok) {
            let addr = IpAddr::from(key.data());
            tries.held.insert((addr, key.prefix_len() as u8), target);
        }
        for (key, target) in tries.v6.iter().filter_map(Result::ok) {
            let addr = IpAddr::from(key.data());
            tries.held.insert((addr, key.prefix_len() as u8), target);
        }
        Ok(tries)
    }

    /// Makes the tries hold `map`'s pieces, writing only the prefixes that differ, then the
    /// direct tables (each address found in either as in the old map or the new). Nothing to
    /// do for the map published last.
    pub(super) fn publish(&mut self, map: &Arc<GeoMap>) -> Result<GeoMapReport, MapError> {
        if self
            .published
            .as_ref()
            .is_some_and(|published| Arc::ptr_eq(published, map))
        {
            return Ok(GeoMapReport {
                unchanged: self.held.len(),
                ..GeoMapReport::default()
            });
        }
        let pieces = [map.entries(false), map.entries(true)].concat();
        let mut wanted = HashMap::new();
        for piece in &pieces {
            wanted.insert((piece.addr, piece.len), target(piece));
        }
        // More specific than any piece there: the socket path places these as IPv4 clients.
        let (mapped, len) = MAPPED_V6;
        let target = GeoTarget {
            location: MAPPED,
            scope: len,
            _pad: 0,
        };
        wanted.insert((IpAddr::V6(mapped.into()), len), target);
        let mut report = GeoMapReport::default();
        for (&(addr, len), target) in &wanted {
            if self.held.get(&(addr, len)) == Some(target) {
                report.unchanged += 1;
                continue;
            }
            self.insert(addr, len, target)?;
            self.held.insert((addr, len), *target);
            report.written += 1;
        }
        let gone: Vec<(IpAddr, u8)> = self
            .held
            .keys()
            .filter(|key| !wanted.contains_key(key))
            .copied()
            .collect();
        for (addr, len) in gone {
            self.remove(addr, len)?;
            self.held.remove(&(addr, len));
            report.removed += 1;
        }
        self.blocks.publish(&pieces)?;
        self.published = Some(Arc::clone(map));
        Ok(report)
    }

    fn insert(&mut self, addr: IpAddr, len: u8, target: &GeoTarget) -> Result<(), MapError> {
        let (map, result) = match addr {
            IpAddr::V4(v4) => (
                maps::GEO_V4,
                self.v4
                    .insert(&Key::new(len.into(), v4.octets()), target, 0),
            ),
            IpAddr::V6(v6) => (
                maps::GEO_V6,
                self.v6
                    .insert(&Key::new(len.into(), v6.octets()), target, 0),
            ),
        };
        result.map_err(MapError::during("inserting a prefix", map))
    }

    fn remove(&mut self, addr: IpAddr, len: u8) -> Result<(), MapError> {
        let (map, result) = match addr {
            IpAddr::V4(v4) => (
                maps::GEO_V4,
                self.v4.remove(&Key::new(len.into(), v4.octets())),
            ),
            IpAddr::V6(v6) => (
                maps::GEO_V6,
                self.v6.remove(&Key::new(len.into(), v6.octets())),
            ),
        };
        result.map_err(MapError::during("removing a prefix", map))
    }
}

/// Where the clients of `piece` are, as the tries and tables hold it: its location, and its
/// length as the ECS scope.
fn target(piece: &crate::geo::GeoPrefix) -> GeoTarget {
    GeoTarget {
        location: piece.location.map_or(NO_LOCATION, |location| location.0),
        scope: piece.len,
        _pad: 0,
    }
}

/// One family's rows.
struct Rows {
    /// `GEO_ROW_*`: by RRset id, the row + 1, or 0.
    by_id: IdArray,
    /// `GEO_LOCATIONS_*`: rows of `LOCATION_ROW` entries.
    entries: MappedArray<u32>,
    /// Each geo owner's row and the id it had when the row was pointed at.
    owners: HashMap<Vec<u8>, (u32, u32)>,
    free: Vec<u32>,
    /// Rows freed since the last grace period.
    retiring: Vec<u32>,
}

impl Rows {
    fn new(by_id: IdArray, entries: MappedArray<u32>) -> Self {
        let rows = entries.entries() / LOCATION_ROW;
        Self {
            by_id,
            entries,
            owners: HashMap::new(),
            free: (0..rows).rev().collect(),
            retiring: Vec::new(),
        }
    }

    /// Takes the rows that `live` RRsets (name, id) of adopted maps point at; every other
    /// pointer is cleared.
    fn adopt(&mut self, live: &[(Vec<u8>, u32)]) {
        let live_ids: HashSet<u32> = live.iter().map(|&(_, id)| id).collect();
        for id in 0..self.by_id.entries() {
            if self.by_id.read(id) != 0 && !live_ids.contains(&id) {
                self.by_id.point(id, 0);
            }
        }
        for (name, id) in live {
            let row = self.by_id.read(*id);
            if row != 0 && self.free.contains(&(row - 1)) {
                self.free.retain(|&free| free != row - 1);
                self.owners.insert(name.clone(), (row - 1, *id));
            }
        }
    }

    /// Clears the row of an owner that leaves.
    fn leave(&mut self, name: &[u8]) {
        if let Some((row, id)) = self.owners.remove(name) {
            self.by_id.point(id, 0);
            self.retiring.push(row);
        }
    }

    /// Stores `value` at `entry` unless it is there already.
    fn store(&self, entry: u32, value: u32) {
        if self.entries.read(entry) != value {
            self.entries.point(entry, value);
        }
    }

    /// A row for `name`: its own, or a free one (after a grace period if only retiring ones
    /// are left).
    fn row_for(&mut self, name: &[u8]) -> Result<u32, MapError> {
        if let Some(&(row, _)) = self.owners.get(name) {
            return Ok(row);
        }
        if self.free.is_empty() && !self.retiring.is_empty() {
            wait_for_readers().map_err(MapError::GracePeriod)?;
            self.free.append(&mut self.retiring);
        }
        self.free.pop().ok_or(MapError::GeoRowsFull)
    }
}

/// Both families' rows.
pub(super) struct GeoRows {
    v4: Rows,
    v6: Rows,
}

impl GeoRows {
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        Ok(Self {
            v4: Rows::new(
                IdArray::new(mapped(ebpf, maps::GEO_ROW_V4)?),
                mapped(ebpf, maps::GEO_LOCATIONS_V4)?,
            ),
            v6: Rows::new(
                IdArray::new(mapped(ebpf, maps::GEO_ROW_V6)?),
                mapped(ebpf, maps::GEO_LOCATIONS_V6)?,
            ),
        })
    }

    /// How many RRset ids of `qtype`'s family the rows can be found by.
    pub(super) fn ids(&self, qtype: AddrType) -> u32 {
        match qtype {
            AddrType::A => self.v4.by_id.entries(),
            AddrType::Aaaa => self.v6.by_id.entries(),
        }
    }

    fn family(&mut self, qtype: AddrType) -> &mut Rows {
        match qtype {
            AddrType::A => &mut self.v4,
            AddrType::Aaaa => &mut self.v6,
        }
    }

    /// Takes the rows the live RRsets of adopted maps point at (`(RRset, id)`).
    pub(super) fn adopt(&mut self, live: &[(RrsetId, u32)]) {
        for qtype in [AddrType::A, AddrType::Aaaa] {
            let of_type: Vec<(Vec<u8>, u32)> = live
                .iter()
                .filter(|(rrset, _)| rrset.qtype == qtype)
                .map(|(rrset, id)| (rrset.name.clone(), *id))
                .collect();
            self.family(qtype).adopt(&of_type);
        }
    }

    /// Before the RRsets are published: owners leaving lose their rows, and entries that stop
    /// naming a location RRset are stored. `leaving` says whether an owner with a row leaves.
    pub(super) fn before(&mut self, image: &MapImage, leaving: impl Fn(&RrsetId) -> bool) {
        for qtype in [AddrType::A, AddrType::Aaaa] {
            let rows = self.family(qtype);
            let gone: Vec<Vec<u8>> = rows
                .owners
                .keys()
                .filter(|name| {
                    leaving(&RrsetId {
                        qtype,
                        name: name.to_vec(),
                    })
                })
                .cloned()
                .collect();
            for name in gone {
                rows.leave(&name);
            }
        }
        for row in image.geo.iter() {
            let rows = self.family(row.owner.qtype);
            let Some(&(at, _)) = rows.owners.get(&row.owner.name) else {
                continue;
            };
            for location in 0..LOCATION_ROW {
                let value = match row.entries.get(location as usize) {
                    Some(RowEntry::Location(_)) => continue,
                    Some(RowEntry::Nothing) => NO_ANSWER,
                    Some(RowEntry::Own) | None => SAME_AS_OWN,
                };
                rows.store(at * LOCATION_ROW + location, value);
            }
        }
    }

    /// After the RRsets are published: each row of the image names the ids its RRsets now
    /// have (`find`), then its owner points at it.
    pub(super) fn after(
        &mut self,
        image: &MapImage,
        find: impl Fn(&RrsetId) -> Option<u32>,
    ) -> Result<(), MapError> {
        for row in image.geo.iter() {
            self.write(row, &find)?;
        }
        Ok(())
    }

    fn write(
        &mut self,
        row: &GeoRow,
        find: &impl Fn(&RrsetId) -> Option<u32>,
    ) -> Result<(), MapError> {
        // An owner the publish left out (skipped) has nothing to point.
        let Some(id) = find(&row.owner) else {
            return Ok(());
        };
        let rows = self.family(row.owner.qtype);
        let at = rows.row_for(&row.owner.name)?;
        if let Some(&(_, old)) = rows.owners.get(&row.owner.name) {
            if old != id {
                rows.by_id.point(old, 0);
            }
        }
        for location in 0..LOCATION_ROW {
            let value = match row.entries.get(location as usize) {
                Some(RowEntry::Location(rrset)) => find(rrset).unwrap_or(NO_ANSWER),
                Some(RowEntry::Nothing) => NO_ANSWER,
                Some(RowEntry::Own) | None => SAME_AS_OWN,
            };
            rows.store(at * LOCATION_ROW + location, value);
        }
        if rows.by_id.read(id) != at + 1 {
            rows.by_id.point(id, at + 1);
        }
        rows.owners.insert(row.owner.name.clone(), (at, id));
        Ok(())
    }
}
