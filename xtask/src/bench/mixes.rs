//! The query mixes and the large zone, generated from a fixed seed so that every run, on every
//! machine, sends exactly the same queries to exactly the same data.
//!
//! Nothing here is committed: the files are written into the output directory at each run (the
//! large zone is about 40 MB). Changing a constant or the generator changes the benchmark, so
//! the JSON report records the seed and sizes.

use std::{
    fs::File,
    io::{self, BufWriter, Write as _},
    path::Path,
};

use clap::ValueEnum;
use serde::Serialize;

use super::{
    compare::{self, Pool},
    geo, pools,
};

/// The seed of every generated file.
pub const SEED: u64 = 0x6c62_646e_7320_6265; // "lbdns be"
/// Lines in the `hot` and `mixed` query files (dnsperf and kxdpgun cycle through them).
pub const QUERY_LINES: usize = 10_000;
/// Lines in the `large` query file: ten times more, so its names do not all fit in a cache.
pub const LARGE_QUERY_LINES: usize = 100_000;
/// Lines in the `flood` query file: as many, so that a name comes back only after 100,000
/// others, long after any reply cache has forgotten it (lbdns's admits a query seen twice
/// within 4,096 others).
pub const FLOOD_QUERY_LINES: usize = 100_000;
/// A RRsets in the large zone.
pub const LARGE_RRSETS: u32 = 1_000_000;
/// The origin of the generated zone, under a TLD reserved for examples (RFC 2606).
pub const LARGE_ORIGIN: &str = "large.example.";
/// The origin of the repository's example zone, which `hot` and `mixed` query.
pub const EXAMPLE_ORIGIN: &str = "example.com.";

/// A set of queries, sent the same way to every target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mix {
    /// Only A and AAAA of the example zone's load-balanced names: what the XDP path answers.
    Hot,
    /// 80% hot, 10% other types of the example zone, 10% names that do not exist.
    Mixed,
    /// A of random names of the generated 1,000,000-RRset zone.
    Large,
    /// A of names the example zone lacks, each a fresh random label below its apex: a
    /// random-subdomain flood, which no server can answer from a cache of replies, and which
    /// lbdns's XDP program answers with NXDOMAIN.
    Flood,
    /// A and AAAA of a geo pool from 65,536 spoofed client addresses, and of a plain pool of
    /// the same size, then with EDNS Client Subnet; with a subnet map of a few hundred
    /// prefixes, then of about 10^5 (lbdns only).
    Geo,
    /// A and AAAA of a weighted pool, of a failover pool, and of a round-robin pool of the
    /// same size and answer length (lbdns only).
    Pools,
}

/// The zones a server must serve for a mix. Servers are started once per zone set, so the
/// small mixes do not wait for a million RRsets to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ZoneSet {
    /// zones/example.com.zone.
    Example,
    /// The generated zone, `large.example.`.
    Large,
    /// The generated `geo.example.` with its pools, placing clients with a map of a few
    /// hundred prefixes.
    GeoFew,
    /// The same with a map of about 10^5 prefixes.
    GeoFull,
    /// The generated `pools.example.` with its round-robin, weighted and failover pools.
    Pools,
}

impl Mix {
    pub const ALL: [Mix; 6] = [
        Mix::Hot,
        Mix::Mixed,
        Mix::Large,
        Mix::Flood,
        Mix::Geo,
        Mix::Pools,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mix::Hot => "hot",
            Mix::Mixed => "mixed",
            Mix::Large => "large",
            Mix::Flood => "flood",
            Mix::Geo => "geo",
            Mix::Pools => "pools",
        }
    }

    /// The zone sets this mix runs against, each in a session of its own.
    pub fn zone_sets(self) -> &'static [ZoneSet] {
        match self {
            Mix::Hot | Mix::Mixed | Mix::Flood => &[ZoneSet::Example],
            Mix::Large => &[ZoneSet::Large],
            Mix::Geo => &[ZoneSet::GeoFew, ZoneSet::GeoFull],
            Mix::Pools => &[ZoneSet::Pools],
        }
    }

    /// The loads of a mix that compares pools ([`compare`]); empty for the others, which run
    /// kxdpgun and dnsperf once each.
    pub fn compared_loads(self) -> &'static [compare::Load] {
        match self {
            Mix::Hot | Mix::Mixed | Mix::Large | Mix::Flood => &[],
            Mix::Geo => &geo::LOADS,
            Mix::Pools => &pools::LOADS,
        }
    }

    /// The owner name queried for `pool` in a mix that compares pools.
    pub fn pool_name(self, pool: Pool) -> Option<&'static str> {
        match (self, pool) {
            (Mix::Geo, Pool::Plain) => Some(geo::PLAIN_NAME),
            (Mix::Geo, Pool::Geo) => Some(geo::GEO_NAME),
            (Mix::Pools, pool) => pools::name(pool),
            _ => None,
        }
    }

    /// The pool of the loads that stand for a comparing mix in the main table, whose queries
    /// are the mix's query file.
    pub fn main_pool(self) -> Option<Pool> {
        let main = self.compared_loads().iter().find(|l| l.main)?;
        Some(main.pool)
    }

    /// Writes this mix's query file (`NAME TYPE` per line, the format of dnsperf and kxdpgun).
    /// For a mix that compares pools, the queries of its [`Mix::main_pool`]; the other pools'
    /// are written with the mix's other inputs ([`write_pool_queries`]).
    pub fn write_queries(self, path: &Path) -> io::Result<()> {
        let mut rng = Rng::new(SEED ^ self as u64);
        match self {
            Mix::Hot => write_lines(path, |out| {
                (0..QUERY_LINES).try_for_each(|_| hot(&mut rng, out))
            }),
            Mix::Mixed => write_lines(path, |out| {
                (0..QUERY_LINES).try_for_each(|_| mixed(&mut rng, out))
            }),
            Mix::Large => write_lines(path, |out| {
                (0..LARGE_QUERY_LINES).try_for_each(|_| {
                    let index = rng.below(u64::from(LARGE_RRSETS)) as u32;
                    writeln!(out, "{} A", large_name(index))
                })
            }),
            Mix::Flood => write_lines(path, |out| {
                (0..FLOOD_QUERY_LINES).try_for_each(|_| absent(&mut rng, out))
            }),
            Mix::Geo | Mix::Pools => {
                let name = self.main_pool().and_then(|pool| self.pool_name(pool));
                let name =
                    name.ok_or_else(|| io::Error::other("a comparing mix without a main load"))?;
                write_pool_queries(path, name)
            }
        }
    }
}

impl ZoneSet {
    pub fn name(self) -> &'static str {
        match self {
            ZoneSet::Example => "example",
            ZoneSet::Large => "large",
            ZoneSet::GeoFew => "geo-few",
            ZoneSet::GeoFull => "geo-full",
            ZoneSet::Pools => "pools",
        }
    }

    pub fn origin(self) -> &'static str {
        match self {
            ZoneSet::Example => EXAMPLE_ORIGIN,
            ZoneSet::Large => LARGE_ORIGIN,
            ZoneSet::GeoFew | ZoneSet::GeoFull => geo::GEO_ORIGIN,
            ZoneSet::Pools => pools::ORIGIN,
        }
    }

    /// The subnet map of a geo zone set.
    pub fn geo_map(self) -> Option<geo::MapSize> {
        match self {
            ZoneSet::Example | ZoneSet::Large | ZoneSet::Pools => None,
            ZoneSet::GeoFew => Some(geo::MapSize::Few),
            ZoneSet::GeoFull => Some(geo::MapSize::Full),
        }
    }

    /// The file name of lbdns's configuration for the zone set (its pools), generated into the
    /// output directory; `None` for zone sets without pools, which every target serves.
    pub fn config_name(self) -> Option<&'static str> {
        match self {
            ZoneSet::Example | ZoneSet::Large => None,
            ZoneSet::GeoFew | ZoneSet::GeoFull => self.geo_map().map(geo::MapSize::config_name),
            ZoneSet::Pools => Some(pools::CONFIG_NAME),
        }
    }
}

/// The load-balanced A/AAAA RRsets of zones/example.com.zone (api has no AAAA).
const HOT: [&str; 3] = [
    "www.example.com A",
    "www.example.com AAAA",
    "api.example.com A",
];

/// Existing data of other types, all answered by the socket path.
const OTHER: [&str; 6] = [
    "example.com SOA",
    "example.com NS",
    "example.com MX",
    "example.com TXT",
    "example.com CAA",
    "_sip._udp.example.com SRV",
];

fn hot(rng: &mut Rng, out: &mut impl io::Write) -> io::Result<()> {
    writeln!(out, "{}", HOT[rng.below(HOT.len() as u64) as usize])
}

fn mixed(rng: &mut Rng, out: &mut impl io::Write) -> io::Result<()> {
    match rng.below(10) {
        0 => writeln!(out, "{}", OTHER[rng.below(OTHER.len() as u64) as usize]),
        1 => absent(rng, out),
        _ => hot(rng, out),
    }
}

/// A fresh random label each time, as in a random-subdomain flood: nothing to cache.
fn absent(rng: &mut Rng, out: &mut impl io::Write) -> io::Result<()> {
    writeln!(out, "nx-{}.example.com A", letters(rng, 8))
}

/// Writes the large zone: SOA, NS and glue, then [`LARGE_RRSETS`] A RRsets of one or two
/// addresses in 198.18.0.0/15.
pub fn write_large_zone(path: &Path) -> io::Result<()> {
    write_lines(path, |out| {
        writeln!(
            out,
            "; Generated by `cargo xtask bench` (seed {SEED:#x}); do not edit."
        )?;
        writeln!(out, "$ORIGIN {LARGE_ORIGIN}\n$TTL 300")?;
        writeln!(
            out,
            "@ IN SOA ns1 hostmaster 1 3600 600 1209600 60\n@ IN NS ns1\nns1 IN A 198.18.0.53"
        )?;
        for index in 0..LARGE_RRSETS {
            let name = large_name(index);
            let mut rng = Rng::new(SEED ^ u64::from(index).wrapping_mul(ADDRESS_STREAM));
            for _ in 0..=rng.below(2) {
                let bits = rng.next_u64();
                let (b, c, d) = ((bits >> 8) as u8, (bits >> 16) as u8, (bits >> 24) as u8);
                writeln!(out, "{name} IN A 198.{}.{c}.{d}", 18 + (b & 1))?;
            }
        }
        Ok(())
    })
}

/// Keeps the address generator's stream apart from the name generator's.
const ADDRESS_STREAM: u64 = 0xa24b_aed4_963e_e407;

/// The owner of RRset `index`, relative to [`LARGE_ORIGIN`]: 3 to 10 random letters, then the
/// index in decimal, which makes names unique (letters never end with a digit). A pure function
/// of the index, so the query file needs no list of names.
pub fn large_name(index: u32) -> String {
    let mut rng = Rng::new(SEED ^ u64::from(index));
    let len = 3 + rng.below(8) as usize;
    format!("{}{index}.{LARGE_ORIGIN}", letters(&mut rng, len))
}

fn letters(rng: &mut Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'a' + rng.below(26) as u8))
        .collect()
}

/// Writes [`QUERY_LINES`] queries for `name`, A or AAAA at random: a pool's queries. The same
/// lines for every pool, so the pools of a mix are asked alike.
pub fn write_pool_queries(path: &Path, name: &str) -> io::Result<()> {
    let mut rng = Rng::new(SEED ^ 0x0071_7565_7279);
    write_lines(path, |out| {
        (0..QUERY_LINES).try_for_each(|_| {
            let qtype = if rng.below(2) == 0 { "A" } else { "AAAA" };
            writeln!(out, "{name} {qtype}")
        })
    })
}

pub(super) fn write_lines(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    body(&mut out)?;
    out.flush()
}

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast and fully specified, so the files do
/// not change when a dependency's generator does.
#[derive(Debug)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; the modulo bias is below 2^-40 for the sizes used here.
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashSet,
        sync::atomic::{AtomicU32, Ordering},
    };

    use super::*;

    /// Generates `mix` into a file of its own (tests run in parallel) and reads it back.
    fn lines(mix: Mix) -> Vec<String> {
        static CALLS: AtomicU32 = AtomicU32::new(0);
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "xtask-mixes-{}-{call}-{}",
            std::process::id(),
            mix.name()
        ));
        mix.write_queries(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // The first outputs for seed 0 of the reference C implementation.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn query_files_are_reproducible() {
        for mix in Mix::ALL {
            assert_eq!(lines(mix), lines(mix), "{mix:?}");
        }
    }

    #[test]
    fn hot_is_only_hot_names() {
        let lines = lines(Mix::Hot);
        assert_eq!(lines.len(), QUERY_LINES);
        assert!(lines.iter().all(|l| HOT.contains(&l.as_str())));
    }

    #[test]
    fn mixed_is_roughly_80_10_10() {
        let lines = lines(Mix::Mixed);
        assert_eq!(lines.len(), QUERY_LINES);
        let count = |f: &dyn Fn(&str) -> bool| lines.iter().filter(|l| f(l)).count();
        let hot = count(&|l| HOT.contains(&l));
        let other = count(&|l| OTHER.contains(&l));
        let nx = count(&|l| l.starts_with("nx-") && l.ends_with(".example.com A"));
        assert_eq!(hot + other + nx, QUERY_LINES);
        assert!((7_700..8_300).contains(&hot), "{hot}");
        assert!((800..1_200).contains(&other), "{other}");
        assert!((800..1_200).contains(&nx), "{nx}");
    }

    #[test]
    fn flood_names_are_absent_and_do_not_repeat() {
        let lines = lines(Mix::Flood);
        assert_eq!(lines.len(), FLOOD_QUERY_LINES);
        assert!(lines
            .iter()
            .all(|l| l.starts_with("nx-") && l.ends_with(".example.com A")));
        let distinct: HashSet<&String> = lines.iter().collect();
        assert_eq!(distinct.len(), FLOOD_QUERY_LINES);
    }

    #[test]
    fn pool_query_files_ask_only_for_the_main_pool() {
        for (mix, name) in [
            (Mix::Geo, geo::GEO_NAME),
            (Mix::Pools, pools::name(Pool::Weighted).unwrap()),
        ] {
            let lines = lines(mix);
            assert_eq!(lines.len(), QUERY_LINES);
            let a = lines.iter().filter(|l| **l == format!("{name} A")).count();
            let aaaa = lines
                .iter()
                .filter(|l| **l == format!("{name} AAAA"))
                .count();
            assert_eq!(a + aaaa, QUERY_LINES, "{mix:?}");
            assert!((4_500..5_500).contains(&a), "{mix:?}: {a}");
        }
    }

    #[test]
    fn large_names_are_unique_and_in_the_zone() {
        let names: HashSet<String> = (0..50_000).map(large_name).collect();
        assert_eq!(names.len(), 50_000);
        assert!(names.iter().all(|n| n.ends_with(".large.example.")));
        let queries = lines(Mix::Large);
        assert_eq!(queries.len(), LARGE_QUERY_LINES);
        assert!(queries.iter().all(|q| q.ends_with(".large.example. A")));
    }
}
