//! Location-steered answers (`lbdns_common::geo`): the client's address (the query's Client
//! Subnet address, cut to the privacy cap, or else the packet's source) → a location and an
//! ECS scope through the family's direct tables, or where they say nothing the `GEO_V4`/`GEO_V6`
//! LPM tries → that location's RRset through the RRset's row of `GEO_LOCATIONS_*` → its answer
//! set, as any RRset's. Only sets with the `GEO` flag pay for any of it.

use aya_ebpf::maps::{lpm_trie::Key, Array};
use lbdns_common::{
    answer::{AnswerSet, GEO, NO_ECS},
    edns::{ecs_caps, ANSWERS_ECS},
    geo::{
        target_of, v6_48_slot, GeoTarget, CHUNK, CHUNK_LEN, DIRECT, LOCATION_ROW, NO_LOCATION,
        SAME_AS_OWN, V4_LEVELS, V6_48_LEVEL, V6_LEVELS,
    },
    maps::IdPair,
};

use crate::{
    frame::Frame,
    lookup::Hit,
    maps::{
        by_id, edns_answers, opaque, Scratch, GEO_CHUNKS, GEO_V4, GEO_V4_16, GEO_V6, GEO_V6_16,
        GEO_V6_48,
    },
    parse::{
        ecs::{mask, parse, stored},
        opt::{Edns, SEEN_ECS},
        Query,
    },
    verdict::{Skip, MISS},
};

/// [`subnet`]'s bit: the query carries ECS and the server answers it, so the reply echoes it.
pub const ECS_ANSWERED: u32 = 0x100;
/// [`subnet`]'s bit: the ECS address steers (its source prefix is not 0); the low byte is the
/// prefix length used, the source prefix at most the privacy cap.
const ECS_STEERS: u32 = 0x200;
/// [`subnet`]'s bit: the source prefix was longer than the cap, so the answer's scope is
/// claimed no further than the bits used.
const ECS_CUT: u32 = 0x400;

/// What the query's Client Subnet option means: 0 when it has none or the server does not
/// answer ECS (`EDNS_ANSWERS`; the option is then ignored, as the socket path ignores it),
/// otherwise [`ECS_ANSWERED`] and, with a source prefix, [`ECS_STEERS`] with the prefix length
/// used. The option is read and checked here (`parse::ecs::parse`), once the name has an
/// answer set: one the socket path answers with FORMERR, or treats unusually, is passed. A
/// number rather than an option, passed through `scratch`, so that the code after it is
/// verified once (`Scratch::subnet`). The rules are the socket path's (`authority::ecs`).
#[inline(always)]
pub fn subnet(frame: &Frame, edns: &Option<Edns>, scratch: *mut Scratch) -> Result<u32, Skip> {
    let subnet = match edns {
        Some(edns) if edns.options & SEEN_ECS != 0 => {
            let answers = edns_answers();
            if answers & ANSWERS_ECS == 0 {
                0
            } else {
                parse(frame, scratch)?;
                let ecs = stored(scratch);
                let (cap_v4, cap_v6) = ecs_caps(answers);
                let cap = if ecs.v6() { cap_v6 } else { cap_v4 };
                match ecs.source {
                    // RFC 7871 §7.1.2: no address; the source address steers.
                    0 => ECS_ANSWERED,
                    source if source > cap => ECS_ANSWERED | ECS_STEERS | ECS_CUT | u32::from(cap),
                    source => ECS_ANSWERED | ECS_STEERS | u32::from(source),
                }
            }
        }
        _ => 0,
    };
    // SAFETY: this CPU's scratch value, used only by this program run.
    Ok(opaque(unsafe { &mut (*scratch).subnet[0] }, subnet))
}

/// One family's maps, for [`steer`].
pub struct Family<'a, const L: usize> {
    /// `GEO_ROW_*`.
    pub rows: &'a Array<IdPair>,
    /// `GEO_LOCATIONS_*`.
    pub locations: &'a Array<u32>,
    /// `RRSET_SLOT_*`.
    pub slots: &'a Array<IdPair>,
    /// `ANSWERS_*`.
    pub answers: &'a Array<AnswerSet<L>>,
}

/// The hit itself for an RRset whose answer is the same everywhere; for a geo RRset (`id`), the
/// set of the client's location with the ECS scope of the prefix that located it. `subnet` is
/// [`subnet`]'s.
#[inline(always)]
pub fn steer<'a, const L: usize>(
    frame: &Frame,
    query: &Query,
    scratch: *mut Scratch,
    subnet: u32,
    id: u32,
    hit: Hit<'a, L>,
    maps: &Family<'a, L>,
) -> Result<Hit<'a, L>, Skip> {
    let own = hit.set;
    if own.flags & GEO == 0 {
        return Ok(hit);
    }
    // A pool with ECS off is steered by the source address, with scope 0.
    let by_ecs = subnet & ECS_STEERS != 0 && own.flags & NO_ECS == 0;
    let target = locate(frame, query, scratch, by_ecs, subnet).ok_or(MISS)?;
    let used = (subnet & 0xff) as u8;
    let scope = match (by_ecs, subnet & ECS_CUT != 0) {
        (false, _) => 0,
        (true, false) => target.scope,
        (true, true) => target.scope.min(used),
    };
    // SAFETY: this CPU's scratch value, used only by this program run.
    let scope = opaque(unsafe { &mut (*scratch).subnet[2] }, u32::from(scope)) as u8;
    if target.location == NO_LOCATION {
        return Ok(Hit { scope, ..hit });
    }
    let location = u32::from(target.location);
    // One 4-byte load each: userspace stores a new value while this runs.
    // SAFETY: pointers into the arrays' values, which live as long as the maps.
    let row = unsafe { core::ptr::read_volatile(by_id(maps.rows, id).ok_or(MISS)?) };
    if row == 0 || location >= LOCATION_ROW {
        return Err(MISS);
    }
    let entry = (row - 1).wrapping_mul(LOCATION_ROW).wrapping_add(location);
    // SAFETY: as above.
    let rrset = unsafe { core::ptr::read_volatile(maps.locations.get_ptr(entry).ok_or(MISS)?) };
    if rrset == SAME_AS_OWN {
        return Ok(Hit { scope, ..hit });
    }
    // SAFETY: as above; an id without a slot (`NO_ANSWER`) is not in the array.
    let slot = unsafe { core::ptr::read_volatile(by_id(maps.slots, rrset).ok_or(MISS)?) };
    Ok(Hit {
        set: maps.answers.get(slot).ok_or(MISS)?,
        slot,
        answers: maps.answers,
        rotation: hit.rotation,
        scope,
    })
}

/// Where the client is: the trie entry of its ECS address (masked to the prefix used, the low
/// byte of `subnet`) when `by_ecs`, else of the packet's source address.
#[inline(always)]
fn locate(
    frame: &Frame,
    query: &Query,
    scratch: *mut Scratch,
    by_ecs: bool,
    subnet: u32,
) -> Option<GeoTarget> {
    let (v6, addr) = if by_ecs {
        let ecs = stored(scratch);
        let mask = mask(subnet & 0xff);
        (ecs.v6(), [ecs.addr[0] & mask[0], ecs.addr[1] & mask[1]])
    } else {
        (query.ip.v6, source(frame, query)?)
    };
    let target = if v6 {
        // The /48's entry from its slot, then the /56 and /64 chunks; else the root by the top
        // 16 bits, then the next six octets, from the top of the first word.
        let (high, low) = ((addr[0] >> 32) as u32, (addr[0] >> 16) as u32 & 0xffff);
        // One 8-byte load: userspace stores whole slots while this runs.
        // SAFETY: a pointer into the array's values, which live as long as the map.
        let slot = GEO_V6_48
            .get_ptr(v6_48_slot(high, low))
            .map_or(0, |slot| unsafe { core::ptr::read_volatile(slot) });
        let found = if slot >> 32 == u64::from(high) && slot as u32 != 0 {
            walk(slot as u32, addr[0] << 48, V6_LEVELS - V6_48_LEVEL)
        } else {
            walk(
                root(&GEO_V6_16, (addr[0] >> 48) as u32)?,
                addr[0] << 16,
                V6_LEVELS,
            )
        };
        if let Some(target) = found {
            return Some(target);
        }
        // SAFETY: two `u64`s and sixteen bytes have the same size, and any bits are valid.
        let octets = unsafe {
            core::mem::transmute::<[u64; 2], [u8; 16]>([addr[0].to_be(), addr[1].to_be()])
        };
        GEO_V6.get(Key::new(128, octets))?
    } else {
        let v4 = (addr[0] >> 32) as u32;
        // The root by the top 16 bits, then the third and fourth octets.
        if let Some(target) = walk(root(&GEO_V4_16, v4 >> 16)?, addr[0] << 16, V4_LEVELS) {
            return Some(target);
        }
        GEO_V4.get(Key::new(32, v4.to_be_bytes()))?
    };
    Some(*target)
}

/// The entry of a family's `root` table for an address's top 16 bits, `top`.
#[inline(always)]
fn root(root: &Array<u32>, top: u32) -> Option<u32> {
    // One 4-byte load: userspace stores new entries while this runs.
    // SAFETY: a pointer into the array's values, which live as long as the map.
    Some(unsafe { core::ptr::read_volatile(root.get_ptr(top)?) })
}

/// The target that `entry` (a root, chunk or /48 slot entry) leads to in the direct tables, if
/// they hold it: while the entry names a chunk, the chunk's entry for the next octet, taken
/// from the top of `rest`, at most `levels` times.
#[inline(always)]
fn walk(mut entry: u32, mut rest: u64, levels: u32) -> Option<GeoTarget> {
    for _ in 0..levels {
        if entry & CHUNK == 0 {
            break;
        }
        let at = (entry & !CHUNK)
            .wrapping_mul(CHUNK_LEN)
            .wrapping_add((rest >> 56) as u32);
        // One 4-byte load: userspace stores new entries while this runs.
        // SAFETY: a pointer into the array's values, which live as long as the map.
        entry = unsafe { core::ptr::read_volatile(GEO_CHUNKS.get_ptr(at)?) };
        rest <<= 8;
    }
    (entry & DIRECT != 0).then(|| target_of(entry))
}

/// The packet's source address, as [`Ecs::addr`] holds an address.
#[inline(always)]
fn source(frame: &Frame, query: &Query) -> Option<[u64; 2]> {
    let off = query.ip.off;
    if query.ip.v6 {
        // Source at 8..24 of the IPv6 header; little-endian loads, so swapped.
        Some([
            frame.le64(off + 8)?.swap_bytes(),
            frame.le64(off + 16)?.swap_bytes(),
        ])
    } else {
        let octets = frame.bytes::<4>(off + 12)?;
        Some([u64::from(u32::from_be_bytes(*octets)) << 32, 0])
    }
}
