//! The geo maps (`lbdns_common::geo`): the client tries (`GEO_V4`, `GEO_V6`) with the IPv4
//! direct tables in front (`GEO_V4_16`, `GEO_V4_CHUNKS`), and the geo RRsets' rows (`GEO_ROW_*`,
//! `GEO_LOCATIONS_*`).
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

use std::collections::{HashMap, HashSet};
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
        SAME_AS_OWN,
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
        let mut wanted = HashMap::new();
        for v6 in [false, true] {
            for piece in map.entries(v6) {
                let target = GeoTarget {
                    location: piece.location.map_or(NO_LOCATION, |location| location.0),
                    scope: piece.len,
                    _pad: 0,
                };
                wanted.insert((piece.addr, piece.len), target);
            }
        }
        // More specific than any piece there: the socket path places these as IPv4 clients.
        let mapped = IpAddr::V6(std::net::Ipv4Addr::UNSPECIFIED.to_ipv6_mapped());
        let target = GeoTarget {
            location: MAPPED,
            scope: 96,
            _pad: 0,
        };
        wanted.insert((mapped, 96), target);
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
        self.blocks.publish(&map.entries(false))?;
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

/// The IPv4 direct tables (`GEO_V4_16`, `GEO_V4_CHUNKS`) ahead of the trie. Which chunks are
/// taken is what the entries name: the tables are the one record of it.
pub(super) struct Blocks {
    top: MappedArray<u32>,
    chunks: MappedArray<u32>,
    free: Vec<u32>,
    /// Chunks freed since the last grace period.
    retiring: Vec<u32>,
}

/// The `GEO_V4_CHUNKS` chunks `map` needs: one per IPv4 /16 it splits below /16 and one per
/// /24 it splits below /24.
pub fn geo_chunks_needed(map: &GeoMap) -> u32 {
    let split: HashSet<(u32, bool)> = map
        .entries(false)
        .iter()
        .filter_map(|piece| match piece.addr {
            IpAddr::V4(addr) => Some((u32::from(addr), piece.len)),
            IpAddr::V6(_) => None,
        })
        .flat_map(|(addr, len)| {
            let slash16 = (len > 16).then_some((addr >> 16, false));
            let slash24 = (len > 24).then_some((addr >> 8, true));
            slash16.into_iter().chain(slash24)
        })
        .collect();
    split.len() as u32
}

/// What an entry of the tables should hold.
enum Wanted {
    /// One target for all of its /16 or /24.
    Direct(u32),
    /// A chunk: a target per /24 of its /16 or per address of its /24.
    Split(Box<Chunk>),
}

/// The entries a chunk should hold.
struct Chunk {
    /// By the next octet; those of `below` are overridden.
    entries: [u32; CHUNK_LEN as usize],
    /// The /24s (by third octet, ascending) split further, each with a chunk of its own.
    below: Vec<(usize, Chunk)>,
}

impl Chunk {
    fn new() -> Self {
        Self {
            entries: [0; CHUNK_LEN as usize],
            below: Vec::new(),
        }
    }
}

/// Where an entry is: `GEO_V4_16[index]` or `GEO_V4_CHUNKS[index]`.
#[derive(Clone, Copy)]
enum Slot {
    Top(u32),
    Chunk(u32),
}

impl Blocks {
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, MapError> {
        let top: MappedArray<u32> = mapped(ebpf, maps::GEO_V4_16)?;
        let chunks: MappedArray<u32> = mapped(ebpf, maps::GEO_V4_CHUNKS)?;
        // Adopted maps: the chunks the /16s name are taken, and those their /24s name.
        let named = |entry: u32| (entry & CHUNK != 0).then_some(entry & !CHUNK);
        let mut taken = HashSet::new();
        for block in 0..top.entries() {
            let Some(chunk) = named(top.read(block)) else {
                continue;
            };
            taken.insert(chunk);
            for slash24 in 0..CHUNK_LEN {
                taken.extend(named(chunks.read(chunk * CHUNK_LEN + slash24)));
            }
        }
        let free = (0..chunks.entries() / CHUNK_LEN)
            .rev()
            .filter(|chunk| !taken.contains(chunk))
            .collect();
        Ok(Self {
            top,
            chunks,
            free,
            retiring: Vec::new(),
        })
    }

    /// What each /16 of `pieces` (IPv4, in address order, covering every address) should hold.
    fn wanted(pieces: &[crate::geo::GeoPrefix]) -> Vec<Wanted> {
        let mut blocks: Vec<Wanted> = (0..1u32 << 16).map(|_| Wanted::Direct(0)).collect();
        for piece in pieces {
            let IpAddr::V4(addr) = piece.addr else {
                continue;
            };
            let start = u32::from(addr);
            let entry = direct(GeoTarget {
                location: piece.location.map_or(NO_LOCATION, |location| location.0),
                scope: piece.len,
                _pad: 0,
            });
            if piece.len <= 16 {
                let first = start >> 16;
                for block in first..first + (1 << (16 - piece.len)) {
                    blocks[block as usize] = Wanted::Direct(entry);
                }
                continue;
            }
            let block = &mut blocks[(start >> 16) as usize];
            if let Wanted::Direct(_) = block {
                *block = Wanted::Split(Box::new(Chunk::new()));
            }
            let Wanted::Split(chunk) = block else {
                unreachable!("split above")
            };
            let slash24 = ((start >> 8) & 0xff) as usize;
            if piece.len <= 24 {
                let count = 1usize << (24 - piece.len);
                chunk.entries[slash24..slash24 + count].fill(entry);
                continue;
            }
            // Pieces come in address order: a /24's come one after another.
            if chunk.below.last().is_none_or(|&(at, _)| at != slash24) {
                chunk.below.push((slash24, Chunk::new()));
            }
            let (_, addresses) = chunk.below.last_mut().expect("pushed above");
            let first = (start & 0xff) as usize;
            addresses.entries[first..first + (1usize << (32 - piece.len))].fill(entry);
        }
        blocks
    }

    /// Makes the tables hold `pieces`, storing only the entries that differ. A /16 or /24 that
    /// needs a chunk when none is free is left to the trie.
    fn publish(&mut self, pieces: &[crate::geo::GeoPrefix]) -> Result<(), MapError> {
        for (block, wanted) in Self::wanted(pieces).into_iter().enumerate() {
            self.settle(Slot::Top(block as u32), wanted)?;
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
                        self.fill(at, *chunk)?;
                        CHUNK | at
                    }
                    None => 0,
                }
            }
        };
        if old != entry {
            match slot {
                Slot::Top(index) => self.top.point(index, entry),
                Slot::Chunk(index) => self.chunks.point(index, entry),
            }
        }
        if let Some(chunk) = held.filter(|&chunk| entry != CHUNK | chunk) {
            self.retire(chunk);
        }
        Ok(())
    }

    /// Makes chunk `at` hold `wanted`, entry by entry.
    fn fill(&mut self, at: u32, wanted: Chunk) -> Result<(), MapError> {
        let mut below = wanted.below.into_iter().peekable();
        for (index, &entry) in wanted.entries.iter().enumerate() {
            let slot = Slot::Chunk(at * CHUNK_LEN + index as u32);
            let wanted = match below.next_if(|&(split, _)| split == index) {
                Some((_, chunk)) => Wanted::Split(Box::new(chunk)),
                None => Wanted::Direct(entry),
            };
            self.settle(slot, wanted)?;
        }
        Ok(())
    }

    fn read(&self, slot: Slot) -> u32 {
        match slot {
            Slot::Top(index) => self.top.read(index),
            Slot::Chunk(index) => self.chunks.read(index),
        }
    }

    /// Frees `chunk`, no longer named, and the chunks its entries name, for reuse after a
    /// grace period.
    fn retire(&mut self, chunk: u32) {
        for index in chunk * CHUNK_LEN..(chunk + 1) * CHUNK_LEN {
            let entry = self.chunks.read(index);
            if entry & CHUNK != 0 {
                self.retiring.push(entry & !CHUNK);
            }
        }
        self.retiring.push(chunk);
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
    use crate::geo::{parse_prefix, Locations};
    use lbdns_common::geo::target_of;

    /// The direct tables hold a /16 that one piece covers as one entry, a /16 split below it
    /// as a chunk of /24 entries, and a /24 split below it as a chunk of its own, of an entry
    /// per address: no address is left to the trie.
    #[test]
    fn direct_tables_hold_what_a_16_a_24_or_an_address_is_in() {
        let locations = Arc::new(Locations::new(vec![
            ("eu".into(), vec![]),
            ("us".into(), vec![]),
        ]));
        let [eu, us] = ["eu", "us"].map(|name| locations.id(name).unwrap());
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
        let target = |location: u16, scope| {
            direct(GeoTarget {
                location,
                scope,
                _pad: 0,
            })
        };
        let blocks = Blocks::wanted(&map.entries(false));
        // 10.0/16 is a piece of the /9 around the /20 override; 10.1/16 and 10.2/16 are split;
        // 11.0/16 is in no location.
        assert!(matches!(blocks[0x0a00], Wanted::Direct(entry) if entry == target(eu.0, 16)));
        assert!(
            matches!(blocks[0x0b00], Wanted::Direct(entry) if target_of(entry).location == NO_LOCATION)
        );
        let Wanted::Split(chunk) = &blocks[0x0a01] else {
            panic!("10.1/16 is split");
        };
        // 10.1.0/24 is in the /20 around the override: eu, scope 20.
        assert_eq!(chunk.entries[0], target(eu.0, 20));
        assert_eq!(chunk.entries[16], target(us.0, 20));
        assert_eq!(chunk.entries[31], target(us.0, 20));
        assert_eq!(
            chunk.entries[42],
            target(eu.0, 23),
            "10.1.42/23 is one piece"
        );
        let below: Vec<usize> = chunk.below.iter().map(|&(at, _)| at).collect();
        assert_eq!(below, [40, 41], "the /24s split below /24");
        // 10.1.40/24 around the /28: .0/26, .64/28 (us), .80/28, .96/27, .128/25.
        let addresses = &chunk.below[0].1.entries;
        for (first, last, location, scope) in [
            (0, 63, eu, 26),
            (64, 79, us, 28),
            (80, 95, eu, 28),
            (96, 127, eu, 27),
            (128, 255, eu, 25),
        ] {
            for (offset, &entry) in addresses[first..=last].iter().enumerate() {
                let address = first + offset;
                assert_eq!(entry, target(location.0, scope), "10.1.40.{address}");
            }
        }
        let addresses = &chunk.below[1].1.entries;
        assert_eq!(addresses[127], target(eu.0, 25), "10.1.41.127");
        assert_eq!(addresses[128], target(us.0, 25), "10.1.41.128");
        let Wanted::Split(chunk) = &blocks[0x0a02] else {
            panic!("10.2/16 is split");
        };
        let [(7, ref addresses)] = chunk.below[..] else {
            panic!("10.2.7/24 alone is split below /24");
        };
        assert_eq!(addresses.entries[9], target(us.0, 32));
        assert_eq!(addresses.entries[8], target(eu.0, 32));
        assert_eq!(addresses.entries[10], target(eu.0, 31));
        assert_eq!(chunk.entries[6], target(eu.0, 24));
        assert_eq!(geo_chunks_needed(&map), 5, "two /16s and three /24s");
    }
}
