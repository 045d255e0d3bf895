//! The geo maps (`lbdns_common::geo`): the client tries (`GEO_V4`, `GEO_V6`) with the direct
//! tables in front (`GEO_V4_16`, `GEO_V6_16`, `GEO_CHUNKS`), and the geo RRsets' rows
//! (`GEO_ROW_*`, `GEO_LOCATIONS_*`).
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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use aya::{
    maps::{
        lpm_trie::{Key, LpmTrie},
        MapData,
    },
    Ebpf,
};
use lbdns_common::{
    geo::{
        direct, GeoTarget, CHUNK, CHUNK_LEN, LOCATION_ROW, MAPPED, NO_ANSWER, NO_LOCATION,
        SAME_AS_OWN, V4_LEVELS, V6_LEVELS,
    },
    maps,
    qtype::AddrType,
};

use super::{mapped, wait_for_readers, MapError, MappedArray};
use crate::compile::{GeoRow, MapImage, RowEntry, RrsetId};
use crate::geo::GeoMap;

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
    /// The IPv4 direct tables in front of `v4`.
    blocks: Blocks,
}

impl Tries {
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let trie = |ebpf: &mut Ebpf, name: &'static str| {
            ebpf.take_map(name).ok_or(MapError::Missing(name))
        };
        let v4 = LpmTrie::try_from(trie(ebpf, maps::GEO_V4)?).map_err(|source| MapError::Map {
            op: "opening",
            map: maps::GEO_V4,
            source,
        })?;
        let v6 = LpmTrie::try_from(trie(ebpf, maps::GEO_V6)?).map_err(|source| MapError::Map {
            op: "opening",
            map: maps::GEO_V6,
            source,
        })?;
        let mut tries = Self {
            v4,
            v6,
            held: HashMap::new(),
            blocks: Blocks::take(ebpf)?,
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
    /// direct tables (each address found in either as in the old map or the new).
    pub(super) fn publish(&mut self, map: &GeoMap) -> Result<GeoMapReport, MapError> {
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
        result.map_err(|source| MapError::Map {
            op: "inserting a prefix",
            map,
            source,
        })
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
        result.map_err(|source| MapError::Map {
            op: "removing a prefix",
            map,
            source,
        })
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

/// The direct tables (`GEO_V4_16`, `GEO_V6_16`, `GEO_CHUNKS`) ahead of the tries. Which chunks
/// are taken is what the entries name: the tables are the one record of it.
pub(super) struct Blocks {
    v4: MappedArray<u32>,
    v6: MappedArray<u32>,
    chunks: MappedArray<u32>,
    free: Vec<u32>,
    /// Chunks freed since the last grace period.
    retiring: Vec<u32>,
}

/// The `GEO_CHUNKS` chunks `map` needs: one per prefix of either family, /16 or longer, that
/// it splits into longer pieces, down to the deepest level of the family's tables.
pub fn geo_chunks_needed(map: &GeoMap) -> u32 {
    let split = |v6| Blocks::wanted(&map.entries(v6), v6).chunks();
    split(false).saturating_add(split(true))
}

/// What a root table or a chunk should hold: an entry per value of the octet it indexes.
struct Chunk {
    /// A target, or 0 for the trie; overridden by `below`.
    entries: Vec<u32>,
    /// The entries split further, each with a chunk of its own, by index.
    below: BTreeMap<usize, Chunk>,
}

impl Chunk {
    fn filled(len: usize, entry: u32) -> Self {
        Self {
            entries: vec![entry; len],
            below: BTreeMap::new(),
        }
    }

    /// The chunk below entry `index`, made from the entry's target if there is none: a piece
    /// inside a wider one splits it, and its other parts keep the wider one's target.
    fn child(&mut self, index: usize) -> &mut Chunk {
        let entry = self.entries[index];
        self.below
            .entry(index)
            .or_insert_with(|| Chunk::filled(CHUNK_LEN as usize, entry))
    }

    /// Chunks in the tree below this one.
    fn chunks(&self) -> u32 {
        self.below
            .values()
            .map(|chunk| 1 + chunk.chunks())
            .fold(0, u32::saturating_add)
    }
}

/// What an entry of the tables should hold.
enum Wanted {
    /// One target (or 0) for all of its prefix.
    Direct(u32),
    /// A chunk: an entry per value of the next octet.
    Split(Chunk),
}

/// Where an entry is: a family's root table (`GEO_V6_16` if `v6`) or `GEO_CHUNKS`.
#[derive(Clone, Copy)]
enum Slot {
    Root { v6: bool, index: u32 },
    Chunk(u32),
}

/// The IPv4-mapped IPv6 addresses, `::ffff:0:0/96`: the trie places them (`MAPPED`), so the
/// tables leave the /64 around them to it.
const MAPPED_V6: (u128, u8) = (0xffff << 32, 96);

impl Blocks {
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let v4: MappedArray<u32> = mapped(ebpf, maps::GEO_V4_16)?;
        let v6: MappedArray<u32> = mapped(ebpf, maps::GEO_V6_16)?;
        let chunks: MappedArray<u32> = mapped(ebpf, maps::GEO_CHUNKS)?;
        // Adopted maps: the chunks the roots name are taken, and those their entries name.
        let count = chunks.entries() / CHUNK_LEN;
        let named = |entry: u32| {
            (entry & CHUNK != 0)
                .then_some(entry & !CHUNK)
                .filter(|&chunk| chunk < count)
        };
        let mut taken = HashSet::new();
        let mut pending: Vec<u32> = [&v4, &v6]
            .iter()
            .flat_map(|root| (0..root.entries()).filter_map(|index| named(root.read(index))))
            .collect();
        while let Some(chunk) = pending.pop() {
            if taken.insert(chunk) {
                let entries = chunk * CHUNK_LEN..(chunk + 1) * CHUNK_LEN;
                pending.extend(entries.filter_map(|index| named(chunks.read(index))));
            }
        }
        let free = (0..count)
            .rev()
            .filter(|chunk| !taken.contains(chunk))
            .collect();
        Ok(Self {
            v4,
            v6,
            chunks,
            free,
            retiring: Vec::new(),
        })
    }

    /// What one family's root table should hold for `pieces` (in address order, covering
    /// every address of the family, of the family `v6` says; others are skipped).
    fn wanted(pieces: &[crate::geo::GeoPrefix], v6: bool) -> Chunk {
        let mut root = Chunk::filled(1 << 16, 0);
        for piece in pieces {
            let bits = match (piece.addr, v6) {
                (IpAddr::V4(addr), false) => u128::from(u32::from(addr)) << 96,
                (IpAddr::V6(addr), true) => u128::from(addr),
                _ => continue,
            };
            place(&mut root, bits, piece.len, direct(target(piece)), v6);
        }
        if v6 {
            // Last: it splits the piece it is in.
            let (bits, len) = MAPPED_V6;
            place(&mut root, bits, len, 0, v6);
        }
        root
    }

    /// Makes the tables hold the pieces of both families, storing only the entries that
    /// differ. A prefix that needs a chunk when none is free is left to the trie.
    fn publish(&mut self, pieces: &[crate::geo::GeoPrefix]) -> Result<(), MapError> {
        for v6 in [false, true] {
            self.settle_all(Self::wanted(pieces, v6), |index| Slot::Root {
                v6,
                index: index as u32,
            })?;
        }
        Ok(())
    }

    /// Makes the entries of one table or chunk (each at `slot(index)`) hold `wanted`'s.
    fn settle_all(&mut self, wanted: Chunk, slot: impl Fn(usize) -> Slot) -> Result<(), MapError> {
        let mut below = wanted.below;
        for (index, entry) in wanted.entries.into_iter().enumerate() {
            let wanted = match below.remove(&index) {
                Some(chunk) => Wanted::Split(chunk),
                None => Wanted::Direct(entry),
            };
            self.settle(slot(index), wanted)?;
        }
        Ok(())
    }

    /// Makes the entry at `slot` hold `wanted`: a chunk is filled before the entry names it,
    /// and retired (with the chunks it names) only after the entry stops naming it.
    fn settle(&mut self, slot: Slot, wanted: Wanted) -> Result<(), MapError> {
        let old = self.read(slot);
        let held = (old & CHUNK != 0).then_some(old & !CHUNK);
        let entry = match wanted {
            Wanted::Direct(entry) => entry,
            Wanted::Split(chunk) => {
                let at = match held {
                    Some(at) => Some(at),
                    None => self.allocate()?,
                };
                match at {
                    Some(at) => {
                        self.settle_all(chunk, |index| Slot::Chunk(at * CHUNK_LEN + index as u32))?;
                        CHUNK | at
                    }
                    None => 0,
                }
            }
        };
        if old != entry {
            match slot {
                Slot::Root { v6: false, index } => self.v4.point(index, entry),
                Slot::Root { v6: true, index } => self.v6.point(index, entry),
                Slot::Chunk(index) => self.chunks.point(index, entry),
            }
        }
        if let Some(chunk) = held.filter(|&chunk| entry != CHUNK | chunk) {
            self.retire(chunk);
        }
        Ok(())
    }

    fn read(&self, slot: Slot) -> u32 {
        match slot {
            Slot::Root { v6: false, index } => self.v4.read(index),
            Slot::Root { v6: true, index } => self.v6.read(index),
            Slot::Chunk(index) => self.chunks.read(index),
        }
    }

    /// Frees `chunk`, no longer named, and the chunks below it, for reuse after a grace period.
    fn retire(&mut self, chunk: u32) {
        let mut pending = vec![chunk];
        while let Some(chunk) = pending.pop() {
            for index in chunk * CHUNK_LEN..(chunk + 1) * CHUNK_LEN {
                let entry = self.chunks.read(index);
                if entry & CHUNK != 0 {
                    pending.push(entry & !CHUNK);
                }
            }
            self.retiring.push(chunk);
        }
    }

    /// A free chunk, after a grace period if only retiring ones are left; `None` if none. Its
    /// entries are cleared, so that none names a chunk from its earlier use.
    fn allocate(&mut self) -> Result<Option<u32>, MapError> {
        if self.free.is_empty() && !self.retiring.is_empty() {
            wait_for_readers().map_err(MapError::GracePeriod)?;
            self.free.append(&mut self.retiring);
        }
        let Some(chunk) = self.free.pop() else {
            return Ok(None);
        };
        for index in chunk * CHUNK_LEN..(chunk + 1) * CHUNK_LEN {
            if self.chunks.read(index) != 0 {
                self.chunks.point(index, 0);
            }
        }
        Ok(Some(chunk))
    }
}

/// Puts `entry` (a target, or 0 for the trie) for the prefix of `len` bits at `bits` (the
/// address at the top of 128 bits) into `root`'s tree: into the root's entries if `len` is at
/// most 16, else one octet further down for each 8 bits past 16. A prefix longer than the
/// family's deepest level reaches makes that level's entry 0: its addresses are the trie's.
fn place(root: &mut Chunk, bits: u128, len: u8, entry: u32, v6: bool) {
    let top = (bits >> 112) as usize;
    if len <= 16 {
        root.entries[top..top + (1 << (16 - len))].fill(entry);
        return;
    }
    let levels = if v6 { V6_LEVELS } else { V4_LEVELS };
    let mut chunk = root.child(top);
    for level in 1..=levels {
        let index = (bits >> (112 - 8 * level)) as u8 as usize;
        let reach = 16 + 8 * level as u8;
        if len <= reach {
            chunk.entries[index..index + (1 << (reach - len))].fill(entry);
            return;
        }
        if level == levels {
            chunk.entries[index] = 0;
            return;
        }
        chunk = chunk.child(index);
    }
}

/// One family's rows.
struct Rows {
    /// `GEO_ROW_*`: by RRset id, the row + 1, or 0.
    by_id: MappedArray<u32>,
    /// `GEO_LOCATIONS_*`: rows of `LOCATION_ROW` entries.
    entries: MappedArray<u32>,
    /// Each geo owner's row and the id it had when the row was pointed at.
    owners: HashMap<Vec<u8>, (u32, u32)>,
    free: Vec<u32>,
    /// Rows freed since the last grace period.
    retiring: Vec<u32>,
}

impl Rows {
    fn new(by_id: MappedArray<u32>, entries: MappedArray<u32>) -> Self {
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
                mapped(ebpf, maps::GEO_ROW_V4)?,
                mapped(ebpf, maps::GEO_LOCATIONS_V4)?,
            ),
            v6: Rows::new(
                mapped(ebpf, maps::GEO_ROW_V6)?,
                mapped(ebpf, maps::GEO_LOCATIONS_V6)?,
            ),
        })
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::geo::{parse_prefix, LocationId, Locations};
    use lbdns_common::geo::target_of;

    fn locations() -> (Arc<Locations>, LocationId, LocationId) {
        let locations = Arc::new(Locations::new(vec![
            ("eu".into(), vec![]),
            ("us".into(), vec![]),
        ]));
        let [eu, us] = ["eu", "us"].map(|name| locations.id(name).unwrap());
        (locations, eu, us)
    }

    fn target(location: LocationId, scope: u8) -> u32 {
        direct(GeoTarget {
            location: location.0,
            scope,
            _pad: 0,
        })
    }

    /// The entry `wanted` has for the address at the top of `bits`, and the chunks it goes
    /// through.
    fn entry_at(root: &Chunk, bits: u128) -> (u32, usize) {
        let mut chunk = root;
        let mut index = (bits >> 112) as usize;
        let mut depth = 0;
        let mut shift = 112;
        while let Some(below) = chunk.below.get(&index) {
            chunk = below;
            shift -= 8;
            index = (bits >> shift) as u8 as usize;
            depth += 1;
        }
        (chunk.entries[index], depth)
    }

    fn v4(addr: &str) -> u128 {
        u128::from(u32::from(addr.parse::<std::net::Ipv4Addr>().unwrap())) << 96
    }

    fn v6(addr: &str) -> u128 {
        u128::from(addr.parse::<std::net::Ipv6Addr>().unwrap())
    }

    /// The direct tables hold a /16 that one piece covers as one entry, a /16 split below it
    /// as a chunk of /24 entries, and a /24 split below it as a chunk of its own, of an entry
    /// per address: no address is left to the trie.
    #[test]
    fn ipv4_tables_hold_what_a_16_a_24_or_an_address_is_in() {
        let (_, eu, us) = locations();
        let map = GeoMap::new(
            &[
                (parse_prefix("10.0.0.0/9").unwrap(), eu),
                (parse_prefix("10.1.16.0/20").unwrap(), us),
                (parse_prefix("10.1.40.64/28").unwrap(), us),
                (parse_prefix("10.1.41.128/25").unwrap(), us),
                (parse_prefix("10.2.7.9/32").unwrap(), us),
            ],
            &[],
        );
        let root = Blocks::wanted(&map.entries(false), false);
        for (addr, location, scope, depth) in [
            // 10.0/16 is a piece of the /9 around the /20 override.
            ("10.0.1.2", eu, 16, 0),
            // 10.1.0/24 is in the /20 around the override: eu, scope 20.
            ("10.1.0.1", eu, 20, 1),
            ("10.1.16.1", us, 20, 1),
            ("10.1.31.255", us, 20, 1),
            ("10.1.42.0", eu, 23, 1),
            // 10.1.40/24 around the /28: .0/26, .64/28 (us), .80/28, .96/27, .128/25.
            ("10.1.40.0", eu, 26, 2),
            ("10.1.40.63", eu, 26, 2),
            ("10.1.40.64", us, 28, 2),
            ("10.1.40.79", us, 28, 2),
            ("10.1.40.80", eu, 28, 2),
            ("10.1.40.96", eu, 27, 2),
            ("10.1.40.255", eu, 25, 2),
            ("10.1.41.127", eu, 25, 2),
            ("10.1.41.128", us, 25, 2),
            ("10.2.7.9", us, 32, 2),
            ("10.2.7.8", eu, 32, 2),
            ("10.2.7.10", eu, 31, 2),
            ("10.2.6.1", eu, 24, 1),
        ] {
            assert_eq!(
                entry_at(&root, v4(addr)),
                (target(location, scope), depth),
                "{addr}"
            );
        }
        let (entry, depth) = entry_at(&root, v4("11.0.0.1"));
        assert_eq!((target_of(entry).location, depth), (NO_LOCATION, 0));
        assert_eq!(root.chunks(), 5, "two /16s and three /24s");
        assert_eq!(
            geo_chunks_needed(&map),
            5 + 6,
            "and the IPv6 path to the mapped /96"
        );
    }

    /// IPv6 clients are found one octet further down per chunk, to /64; a prefix longer than
    /// /64, and the IPv4-mapped /96, leave their /64 to the trie (entry 0).
    #[test]
    fn ipv6_tables_reach_a_64_and_leave_longer_prefixes_to_the_trie() {
        let (_, eu, us) = locations();
        let map = GeoMap::new(
            &[
                (parse_prefix("2001:db8::/32").unwrap(), eu),
                (parse_prefix("2001:db8:1::/48").unwrap(), us),
                (parse_prefix("2001:db8:1:ff00::/56").unwrap(), eu),
                (parse_prefix("2001:db8:1:ff01::/64").unwrap(), us),
                (parse_prefix("2001:db8:2:3::80/121").unwrap(), us),
            ],
            &[],
        );
        let root = Blocks::wanted(&map.entries(true), true);
        for (addr, entry, depth) in [
            ("2001:db8:100::1", target(eu, 40), 3),
            ("2001:db8:5::1", target(eu, 46), 4),
            ("2001:db8:1::1", target(us, 49), 5),
            ("2001:db8:1:fe00::1", target(us, 56), 5),
            ("2001:db8:1:ff00::1", target(eu, 64), 6),
            ("2001:db8:1:ff01::1", target(us, 64), 6),
            ("2001:db8:1:ff02::1", target(eu, 63), 6),
            ("2001:db8:2:3::81", 0, 6),
            ("2001:db8:2:3::1", 0, 6),
            ("2001:db8:2:4::1", target(eu, 62), 6),
            ("::ffff:198.18.0.1", 0, 6),
        ] {
            assert_eq!(entry_at(&root, v6(addr)), (entry, depth), "{addr}");
        }
        // The piece around ::ffff:0:0/96 keeps its target beside it.
        let (entry, _) = entry_at(&root, v6("0:0:0:1::1"));
        assert_eq!(target_of(entry).location, NO_LOCATION);
        let (entry, _) = entry_at(&root, v6("2001:db9::1"));
        assert_eq!(target_of(entry).location, NO_LOCATION);
    }
}
