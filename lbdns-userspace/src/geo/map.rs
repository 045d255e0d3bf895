//! The classifier: client address → location, with the prefix length over which that holds.
//!
//! Built from two layers of prefixes: the configuration's subnet entries and the database's
//! networks. Subnet entries win over the database wherever they reach (a database network
//! inside a subnet entry is dropped), and among subnet entries the most specific wins.
//!
//! The layers are flattened into *pieces*: disjoint prefixes that together cover the whole
//! address family, each with one location (or none), neighbours with the same location merged
//! into the largest aligned prefixes. So a /16 with a /24 override inside becomes the /17, /18,
//! …, /24 around the override plus the override itself, and the piece an address falls in is
//! exactly the longest prefix over which its location holds: the ECS SCOPE PREFIX-LENGTH
//! (RFC 7871 §7.2.1). The XDP path loads the same pieces into LPM tries, where the matched
//! prefix length is then the scope as well.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::LocationId;

/// An address prefix: `addr` with only its first `len` bits significant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// The prefix of `addr` of length `len` (bits past it cleared; `len` capped at the family's
    /// width).
    pub fn new(addr: IpAddr, len: u8) -> Self {
        let len = len.min(width(addr.is_ipv6()));
        let v6 = addr.is_ipv6();
        Self {
            addr: from_bits(bits(addr) & mask(len, v6), v6),
            len,
        }
    }

    /// Whether bits past `len` are all zero, as a written prefix (`198.51.100.0/24`) must have.
    pub fn is_exact(addr: IpAddr, len: u8) -> bool {
        len <= width(addr.is_ipv6()) && bits(addr) & !mask(len, addr.is_ipv6()) == 0
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// One piece of the flattened map: a prefix and the location of every address in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeoPrefix {
    /// The first address of the prefix (bits past `len` zero).
    pub addr: IpAddr,
    pub len: u8,
    /// `None`: unmapped; geo pools answer such clients from their `default_location`.
    pub location: Option<LocationId>,
}

/// Where a client is, and over how long a prefix of its address that holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    pub location: Option<LocationId>,
    /// The length of the piece the address fell in: every address sharing this many leading
    /// bits is in the same location. The ECS scope of a location-dependent answer.
    pub scope: u8,
}

/// The classifier for both families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoMap {
    v4: Vec<Piece>,
    v6: Vec<Piece>,
}

/// A piece in the integer form the lookups use: sorted by `start`, contiguous, covering all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    start: u128,
    len: u8,
    location: Option<LocationId>,
}

impl Default for GeoMap {
    /// Nothing mapped: one unmapped /0 per family.
    fn default() -> Self {
        Self::new(&[], &[])
    }
}

impl GeoMap {
    /// Flattens the configuration's `subnets` over the database's `networks` (disjoint, as
    /// a database's are). A subnet prefix given twice keeps the last; the configuration
    /// refuses duplicates before this.
    pub fn new(subnets: &[(Prefix, LocationId)], networks: &[(Prefix, LocationId)]) -> Self {
        Self {
            v4: flatten(subnets, networks, false),
            v6: flatten(subnets, networks, true),
        }
    }

    /// The location of `addr` and its scope. An IPv4-mapped IPv6 address is located as the
    /// IPv4 address it carries.
    pub fn locate(&self, addr: IpAddr) -> Located {
        let addr = addr.to_canonical();
        let pieces = self.pieces(addr.is_ipv6());
        let key = bits(addr);
        // Pieces are contiguous from 0, so the last piece starting at or before `key` holds it.
        let index = pieces.partition_point(|p| p.start <= key) - 1;
        let piece = pieces[index];
        Located {
            location: piece.location,
            scope: piece.len,
        }
    }

    /// The disjoint pieces covering the whole family (IPv6 when `v6`), in address order: what
    /// an LPM trie needs so that its matched prefix length is the scope.
    pub fn entries(&self, v6: bool) -> Vec<GeoPrefix> {
        self.pieces(v6)
            .iter()
            .map(|p| GeoPrefix {
                addr: from_bits(p.start, v6),
                len: p.len,
                location: p.location,
            })
            .collect()
    }

    fn pieces(&self, v6: bool) -> &[Piece] {
        if v6 {
            &self.v6
        } else {
            &self.v4
        }
    }
}

/// The address width of a family, in bits.
fn width(v6: bool) -> u8 {
    if v6 {
        128
    } else {
        32
    }
}

fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_bits(value: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(value))
    } else {
        IpAddr::V4(Ipv4Addr::from(value as u32))
    }
}

/// The bits a prefix of length `len` keeps, within the family's width.
fn mask(len: u8, v6: bool) -> u128 {
    let w = u32::from(width(v6));
    let all = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    let len = u32::from(len).min(w);
    match len {
        0 => 0,
        128 => all,
        len => all & !(all >> len),
    }
}

/// A range of addresses, both ends included, with one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    first: u128,
    last: u128,
    location: Option<LocationId>,
}

fn flatten(
    subnets: &[(Prefix, LocationId)],
    networks: &[(Prefix, LocationId)],
    v6: bool,
) -> Vec<Piece> {
    let family = |list: &[(Prefix, LocationId)]| -> Vec<(u128, u128, LocationId)> {
        list.iter()
            .filter(|(p, _)| p.addr.is_ipv6() == v6)
            .map(|&(p, location)| range(p, v6, location))
            .collect()
    };
    let subnets = family(subnets);
    // The lengths the subnet entries use: a network inside one of them has one of these
    // lengths' prefixes among the subnet entries.
    let covered: foldhash::HashSet<(u128, u8)> = subnets
        .iter()
        .map(|&(first, last, _)| (first, prefix_len(first, last, v6)))
        .collect();
    let mut lengths: Vec<u8> = covered.iter().map(|&(_, len)| len).collect();
    lengths.sort_unstable();
    lengths.dedup();
    let networks = family(networks).into_iter().filter(|&(first, last, _)| {
        let len = prefix_len(first, last, v6);
        !lengths
            .iter()
            .take_while(|&&l| l <= len)
            .any(|&l| covered.contains(&(first & mask(l, v6), l)))
    });
    // Networks first, so that a subnet entry of the same prefix is inside (and wins).
    let mut layered: Vec<(u128, u128, usize, LocationId)> = networks
        .map(|(f, l, loc)| (f, l, 0, loc))
        .chain(
            subnets
                .iter()
                .enumerate()
                .map(|(i, &(f, l, loc))| (f, l, i + 1, loc)),
        )
        .collect();
    // Outer before inner: by start, then the longer range, then the later entry.
    layered.sort_unstable_by(|a, b| {
        (a.0, std::cmp::Reverse(a.1), a.2).cmp(&(b.0, std::cmp::Reverse(b.1), b.2))
    });
    let runs = paint(&layered, v6);
    runs.iter().flat_map(|run| blocks(*run, v6)).collect()
}

/// The range and location of a prefix.
fn range(p: Prefix, v6: bool, location: LocationId) -> (u128, u128, LocationId) {
    let first = bits(p.addr) & mask(p.len, v6);
    let all = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    (first, first | (all & !mask(p.len, v6)), location)
}

/// The prefix length of an aligned range.
fn prefix_len(first: u128, last: u128, v6: bool) -> u8 {
    let size_bits = 128 - (last - first).leading_zeros();
    width(v6) - size_bits as u8
}

/// Nested or disjoint ranges (prefixes never overlap otherwise), outer ones first → the
/// contiguous runs covering the family, each address taking its innermost range's location,
/// neighbours of equal location merged.
fn paint(layered: &[(u128, u128, usize, LocationId)], v6: bool) -> Vec<Run> {
    let all = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    let mut runs: Vec<Run> = Vec::new();
    let mut emit = |first: u128, last: u128, location: Option<LocationId>| {
        if first > last {
            return;
        }
        match runs.last_mut() {
            Some(run) if run.location == location && run.last.checked_add(1) == Some(first) => {
                run.last = last;
            }
            _ => runs.push(Run {
                first,
                last,
                location,
            }),
        }
    };
    // The open ranges, outermost first; the whole family is the bottom, unmapped.
    let mut stack: Vec<(u128, Option<LocationId>)> = vec![(all, None)];
    // The first address not yet emitted; `None` once the end of the family is emitted.
    let mut cursor: Option<u128> = Some(0);
    for &(first, last, _, location) in layered {
        while stack.last().is_some_and(|&(end, _)| end < first) {
            let (end, outer) = stack.pop().expect("checked");
            if let Some(c) = cursor {
                emit(c, end, outer);
                cursor = end.checked_add(1);
            }
        }
        let outer = stack
            .last()
            .expect("the family's range contains everything")
            .1;
        if let Some(c) = cursor.filter(|&c| c < first) {
            emit(c, first - 1, outer);
            cursor = Some(first);
        }
        stack.push((last, Some(location)));
    }
    while let Some((end, location)) = stack.pop() {
        if let Some(c) = cursor {
            emit(c, end, location);
            cursor = end.checked_add(1);
        }
    }
    runs
}

/// A run as the largest aligned prefixes that tile it, in order.
fn blocks(run: Run, v6: bool) -> impl Iterator<Item = Piece> {
    let w = u32::from(width(v6));
    let mut next = Some(run.first);
    std::iter::from_fn(move || {
        let start = next.filter(|&s| s <= run.last)?;
        // The largest block aligned at `start` that ends within the run.
        let align = if start == 0 {
            w
        } else {
            start.trailing_zeros().min(w)
        };
        let room = run.last - start;
        // floor(log2(room + 1)): the largest power of two that fits, without overflowing.
        let fit = if room == u128::MAX {
            128
        } else {
            127 - (room + 1).leading_zeros()
        };
        let size_bits = align.min(fit);
        let block_last = if size_bits == 128 {
            u128::MAX
        } else {
            start + ((1u128 << size_bits) - 1)
        };
        next = block_last.checked_add(1);
        Some(Piece {
            start,
            len: (w - size_bits) as u8,
            location: run.location,
        })
    })
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
