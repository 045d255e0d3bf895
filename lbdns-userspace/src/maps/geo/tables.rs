//! The direct tables ahead of the client tries (`lbdns_common::geo`): a root table per family by
//! the top 16 bits (`GEO_V4_16`, `GEO_V6_16`), chunks of 256 entries one octet further down
//! (`GEO_CHUNKS`, shared), and the IPv6 /48 slots (`GEO_V6_48`). Written by difference: a chunk
//! is filled before an entry names it, and freed after a grace period once none does.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use aya::Ebpf;
use lbdns_common::{
    geo::{
        direct, v6_48_slot, v6_48_value, V6_48Slot, CHUNK, CHUNK_LEN, V4_LEVELS, V6_48_LEVEL,
        V6_LEVELS,
    },
    maps,
};

use super::target;
use crate::geo::{GeoMap, GeoPrefix};
use crate::maps::{mapped, wait_for_readers, MapError, MappedArray};

/// The direct tables (`GEO_V4_16`, `GEO_V6_16`, `GEO_CHUNKS`) ahead of the tries. Which chunks
/// are taken is what the entries name: the tables are the one record of it.
pub(super) struct Blocks {
    v4: MappedArray<u32>,
    v6: MappedArray<u32>,
    chunks: MappedArray<u32>,
    /// The IPv6 /48 slots ahead of `v6`.
    slots: Slots48,
    free: Vec<u32>,
    /// Chunks freed since the last grace period.
    retiring: Vec<u32>,
}

/// `GEO_V6_48`: the /48 entries of the IPv6 table, by slot, and which slot names which chunk.
struct Slots48 {
    slots: MappedArray<V6_48Slot>,
    /// The slot that names each chunk a slot names (a chunk is one /48's, so one slot's).
    naming: HashMap<u32, u32>,
}

impl Slots48 {
    /// Takes adopted slots: those that name a chunk outside `taken` (the tables' chunks) are
    /// cleared, the rest recorded.
    fn take(slots: MappedArray<V6_48Slot>, taken: &HashSet<u32>) -> Self {
        let mut naming = HashMap::new();
        for slot in 0..slots.entries() {
            let entry = slots.read(slot) as u32;
            if entry & CHUNK != 0 {
                if taken.contains(&(entry & !CHUNK)) {
                    naming.insert(entry & !CHUNK, slot);
                } else {
                    slots.store(slot, 0);
                }
            }
        }
        Self { slots, naming }
    }

    /// Clears the slot that names `chunk`, if one does: before the chunk is freed.
    fn forget(&mut self, chunk: u32) {
        if let Some(slot) = self.naming.remove(&chunk) {
            self.slots.store(slot, 0);
        }
    }

    /// Makes the slots hold `wanted` (slot → value) and nothing else, storing only the slots
    /// that differ.
    fn publish(&mut self, wanted: &HashMap<u32, V6_48Slot>) {
        for slot in 0..self.slots.entries() {
            let value = wanted.get(&slot).copied().unwrap_or(0);
            let old = self.slots.read(slot);
            if old == value {
                continue;
            }
            self.slots.store(slot, value);
            if old as u32 & CHUNK != 0 {
                self.naming.remove(&(old as u32 & !CHUNK));
            }
            if value as u32 & CHUNK != 0 {
                self.naming.insert(value as u32 & !CHUNK, slot);
            }
        }
    }
}

/// The `GEO_CHUNKS` chunks `map` needs: one per prefix of either family, /16 or longer, that
/// it splits into longer pieces, down to the deepest level of the family's tables.
pub fn geo_chunks_needed(map: &GeoMap) -> u32 {
    let split = |v6| Blocks::wanted(&map.entries(v6), v6).chunks();
    split(false).saturating_add(split(true))
}

/// Whether `map` splits an IPv6 /40, so that `GEO_V6_48` slots would hold its /48s.
pub fn geo_v6_slots_needed(map: &GeoMap) -> bool {
    map.entries(true).iter().any(|piece| piece.len > 40)
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
pub(super) const MAPPED_V6: (u128, u8) = (0xffff << 32, 96);

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
        let slots = Slots48::take(mapped(ebpf, maps::GEO_V6_48)?, &taken);
        Ok(Self {
            v4,
            v6,
            chunks,
            slots,
            free,
            retiring: Vec::new(),
        })
    }

    /// What one family's root table should hold for `pieces` (in address order, covering
    /// every address of the family, of the family `v6` says; others are skipped).
    fn wanted(pieces: &[GeoPrefix], v6: bool) -> Chunk {
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
    pub(super) fn publish(&mut self, pieces: &[GeoPrefix]) -> Result<(), MapError> {
        for v6 in [false, true] {
            self.settle_all(Self::wanted(pieces, v6), |index| Slot::Root {
                v6,
                index: index as u32,
            })?;
        }
        let wanted = self.slots_wanted();
        self.slots.publish(&wanted);
        Ok(())
    }

    /// What `GEO_V6_48` should hold for the IPv6 table as it now is: the entry of every /48 of
    /// every chunk [`V6_48_LEVEL`] levels below the root, but 0, each in its slot; of two /48s
    /// in one slot, the first found (the other is found from the root).
    fn slots_wanted(&self) -> HashMap<u32, V6_48Slot> {
        let mut wanted = HashMap::new();
        // (the chunk, its level, the address bits above its octet), from the root's chunks.
        let mut pending: Vec<(u32, u32, u64)> = (0..self.v6.entries())
            .filter_map(|top| {
                let entry = self.v6.read(top);
                (entry & CHUNK != 0).then_some((entry & !CHUNK, 1, u64::from(top)))
            })
            .collect();
        while let Some((chunk, level, above)) = pending.pop() {
            for octet in 0..CHUNK_LEN {
                let entry = self.chunks.read(chunk * CHUNK_LEN + octet);
                let bits = above << 8 | u64::from(octet);
                if level == V6_48_LEVEL {
                    if entry != 0 {
                        let (high, low) = ((bits >> 16) as u32, bits as u32 & 0xffff);
                        wanted
                            .entry(v6_48_slot(high, low))
                            .or_insert(v6_48_value(high, entry));
                    }
                } else if entry & CHUNK != 0 {
                    pending.push((entry & !CHUNK, level + 1, bits));
                }
            }
        }
        wanted
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
            self.slots.forget(chunk);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::geo::{parse_prefix, LocationId, Locations};
    use lbdns_common::geo::{target_of, GeoTarget, NO_LOCATION};

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
