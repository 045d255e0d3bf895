//! The `geo` mix: a zone with a geo pool and a plain pool of the same size, the lbdns
//! configuration that defines them, a subnet map of a few hundred prefixes or of about 10^5,
//! the query files for each pool, and the loads that compare them. Generated from
//! [`SEED`](super::mixes::SEED) like the other mixes, so every run places the same clients in
//! the same locations.
//!
//! What the mix compares is a geo answer with a plain one of the same shape: both pools answer
//! two of eight IPv4 and two of eight IPv6 addresses, so the replies have the same length and
//! only the client's placement differs. The XDP program places an IPv4 client in one of three
//! ways (a /16 table, a /24 table for a /16 the map splits, an address table for a /24 it
//! splits further; the LPM trie only once those tables' chunks run out), and an IPv6 client
//! through its /48's slot and a chunk per octet past /48; each costs differently, so each geo
//! load puts its clients on one of them.
//!
//! kxdpgun 3.2 cannot spread its queries over many client addresses: given a prefix (`-l`),
//! it sends from the prefix's first address until it has used all 63,536 of its source ports,
//! then from the next address, so a load of a few seconds comes from a few dozen consecutive
//! addresses of one /24. The mix therefore gives it a /24 whose placement it wants measured.

use std::{
    io::{self, Write as _},
    path::Path,
};

use super::{
    compare::{Generator, Load, Pool},
    mixes::{write_lines, Rng, SEED},
};

/// The generated zone's origin, under a TLD reserved for examples (RFC 2606).
pub const GEO_ORIGIN: &str = "geo.example.";
/// The geo pool.
pub const GEO_NAME: &str = "www.geo.example.";
/// The plain (round-robin) pool, same endpoints per family and the same `answers`, and a name
/// of the same length, so that the replies are too.
pub const PLAIN_NAME: &str = "rot.geo.example.";
/// The range kxdpgun's spoofed sources come from, which the server routes to the client (its
/// socket path's replies); every /24 of it is in the map.
pub const SPOOFED: &str = "198.18.0.0/16";

/// The mix's loads, in run order. Every geo load is compared with the plain load that comes
/// before it under the same generator, with Client Subnet of the same family if it has it
/// ([`Load::baseline`]).
/// The client's own address (198.19.53.2) is in a whole /16 of the map; 198.18.66.0/24 is a
/// whole /24 of a split /16; 198.18.64.0/24 has a /25 inside. The IPv4 ECS options say family
/// 1, source /24, scope 0; the IPv6 one family 2, source /56 (the default cap), scope 0, for
/// 2001:db8:0:ff00::/56, a /56 of another location inside a /48. The geo pool through the /24
/// table stands for the mix in the main table, under each generator.
pub const LOADS: [Load; 13] = [
    Load {
        name: "plain",
        pool: Pool::Plain,
        generator: Generator::Kxdpgun,
        sources: None,
        ecs: None,
        main: false,
    },
    Load {
        name: "geo /16 table",
        pool: Pool::Geo,
        generator: Generator::Kxdpgun,
        sources: None,
        ecs: None,
        main: false,
    },
    Load {
        name: "geo /24 table",
        pool: Pool::Geo,
        generator: Generator::Kxdpgun,
        sources: Some("198.18.66.0/24"),
        ecs: None,
        main: true,
    },
    Load {
        name: "geo address table",
        pool: Pool::Geo,
        generator: Generator::Kxdpgun,
        sources: Some("198.18.64.0/24"),
        ecs: None,
        main: false,
    },
    Load {
        name: "plain IPv6",
        pool: Pool::Plain,
        generator: Generator::Kxdpgun,
        sources: Some("2001:db8:53::/64"),
        ecs: None,
        main: false,
    },
    Load {
        name: "geo IPv6 /56 table",
        pool: Pool::Geo,
        generator: Generator::Kxdpgun,
        sources: Some("2001:db8:0:ff00::/64"),
        ecs: None,
        main: false,
    },
    Load {
        name: "plain",
        pool: Pool::Plain,
        generator: Generator::Dnsperf,
        sources: None,
        ecs: None,
        main: false,
    },
    Load {
        name: "geo /16 table",
        pool: Pool::Geo,
        generator: Generator::Dnsperf,
        sources: None,
        ecs: None,
        main: false,
    },
    Load {
        name: "plain ECS",
        pool: Pool::Plain,
        generator: Generator::Dnsperf,
        sources: None,
        ecs: Some("8:00011800c61242"),
        main: false,
    },
    Load {
        name: "geo ECS /24 table",
        pool: Pool::Geo,
        generator: Generator::Dnsperf,
        sources: None,
        ecs: Some("8:00011800c61242"),
        main: true,
    },
    Load {
        name: "geo ECS address table",
        pool: Pool::Geo,
        generator: Generator::Dnsperf,
        sources: None,
        ecs: Some("8:00011800c61240"),
        main: false,
    },
    Load {
        name: "plain ECS IPv6",
        pool: Pool::Plain,
        generator: Generator::Dnsperf,
        sources: None,
        ecs: Some("8:0002380020010db80000ff"),
        main: false,
    },
    Load {
        name: "geo ECS IPv6 /56 table",
        pool: Pool::Geo,
        generator: Generator::Dnsperf,
        sources: None,
        ecs: Some("8:0002380020010db80000ff"),
        main: false,
    },
];

/// Locations of the geo pool.
const LOCATIONS: u64 = 4;
/// Endpoints per location and family; the plain pool has as many per family in total.
const PER_LOCATION: u64 = 2;
/// Addresses in each answer, for both pools.
const ANSWERS: u64 = 2;
/// Every `SPLIT_EVERY`th /24 of the spoofed range has a /25 of another location inside, and
/// every `SPLIT_EVERY`th /48 of the IPv6 clients' range a /56.
const SPLIT_EVERY: u32 = 8;
/// In the full map, one /16 in `FULL_SPLIT_ONE_IN` is split into /17 to /24 pieces, as the
/// ranges of a country database split the address space unevenly.
const FULL_SPLIT_ONE_IN: u64 = 32;

/// The two subnet maps the mix runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapSize {
    /// The spoofed range in /24s and /25s, the dnsperf client's /16, and 2001:db8::/40 in
    /// /48s and /56s: a few hundred prefixes, as an operator's own subnet list.
    Few,
    /// The same, plus a partition of 1.0.0.0 to 223.255.255.255 into /16 to /24 blocks of
    /// random locations: about 10^5 prefixes, the scale of a full country database.
    Full,
}

impl MapSize {
    fn file_name(self) -> &'static str {
        match self {
            MapSize::Few => "subnets-few.txt",
            MapSize::Full => "subnets-full.txt",
        }
    }

    /// Issue 18's goal: the most a geo answer may cost over a plain pool's, in ns per packet
    /// of the XDP program.
    pub fn goal_ns(self) -> f64 {
        match self {
            MapSize::Few => 40.0,
            MapSize::Full => 80.0,
        }
    }

    /// The configuration's file name in the output directory.
    pub fn config_name(self) -> &'static str {
        match self {
            MapSize::Few => "geo-few.toml",
            MapSize::Full => "geo-full.toml",
        }
    }
}

/// Writes the configuration for `size` into `dir`, with its subnet file next to it. Returns
/// the number of prefixes in the subnet file.
pub fn write_config(dir: &Path, size: MapSize) -> io::Result<usize> {
    let prefixes = write_subnet_map(&dir.join(size.file_name()), size)?;
    write_lines(&dir.join(size.config_name()), |out| {
        writeln!(
            out,
            "# Generated by `cargo xtask bench`; do not edit.\n\
             [geo]\nsubnet_file = \"{}\"",
            size.file_name()
        )?;
        for location in 0..LOCATIONS {
            writeln!(out, "[[geo.location]]\nname = \"loc{location}\"")?;
        }
        writeln!(
            out,
            "\n[[pool]]\nname = \"{GEO_NAME}\"\npolicy = \"geo\"\nanswers = {ANSWERS}"
        )?;
        for location in 0..LOCATIONS {
            for index in 0..PER_LOCATION {
                let n = location * PER_LOCATION + index;
                for address in endpoint(n) {
                    writeln!(
                        out,
                        "[[pool.endpoint]]\naddress = \"{address}\"\nlocation = \"loc{location}\""
                    )?;
                }
            }
        }
        writeln!(
            out,
            "\n[[pool]]\nname = \"{PLAIN_NAME}\"\npolicy = \"round-robin\"\nanswers = {ANSWERS}"
        )?;
        for n in 0..LOCATIONS * PER_LOCATION {
            for address in endpoint(n) {
                writeln!(out, "[[pool.endpoint]]\naddress = \"{address}\"")?;
            }
        }
        Ok(())
    })?;
    Ok(prefixes)
}

/// The IPv4 and IPv6 addresses of endpoint `n`. Answered, never contacted (no health check).
fn endpoint(n: u64) -> [String; 2] {
    [
        format!("198.19.100.{}", n + 1),
        format!("2001:db8:100::{}", n + 1),
    ]
}

/// Writes the subnet map (`prefix location` lines); returns the number of prefixes.
fn write_subnet_map(path: &Path, size: MapSize) -> io::Result<usize> {
    let mut rng = Rng::new(SEED ^ 0x0067_656f);
    let mut count = 0;
    write_lines(path, |out| {
        writeln!(
            out,
            "# Generated by `cargo xtask bench` (seed {SEED:#x}); do not edit."
        )?;
        let mut line = |out: &mut dyn io::Write, prefix: String, location: u64| {
            count += 1;
            writeln!(out, "{prefix} loc{location}")
        };
        for c in 0..256u32 {
            let location = rng.below(LOCATIONS);
            line(out, format!("198.18.{c}.0/24"), location)?;
            if c % SPLIT_EVERY == 0 {
                // Another location than the /24's, or the map would not need splitting it.
                let other = (location + 1 + rng.below(LOCATIONS - 1)) % LOCATIONS;
                line(out, format!("198.18.{c}.128/25"), other)?;
            }
        }
        line(out, "198.19.0.0/16".into(), rng.below(LOCATIONS))?;
        if size == MapSize::Full {
            for a in 1..224u32 {
                for b in 0..256u32 {
                    if a == 198 && (b == 18 || b == 19) {
                        continue;
                    }
                    let base = (a << 24) | (b << 16);
                    if rng.below(FULL_SPLIT_ONE_IN) != 0 {
                        line(out, format!("{}/16", dotted(base)), rng.below(LOCATIONS))?;
                        continue;
                    }
                    for (start, len) in split_16(&mut rng) {
                        let prefix = format!("{}/{len}", dotted(base | start));
                        line(out, prefix, rng.below(LOCATIONS))?;
                    }
                }
            }
        }
        // IPv6 clients, found in the deepest tables: the same shape one level down. Drawn last, so
        // the IPv4 prefixes are those of runs before there were any.
        for c in 0..256u32 {
            let location = rng.below(LOCATIONS);
            line(out, format!("2001:db8:{c:x}::/48"), location)?;
            if c % SPLIT_EVERY == 0 {
                let other = (location + 1 + rng.below(LOCATIONS - 1)) % LOCATIONS;
                line(out, format!("2001:db8:{c:x}:ff00::/56"), other)?;
            }
        }
        Ok(())
    })?;
    Ok(count)
}

/// Aligned blocks of /17 to /24 covering a /16 exactly: offsets within it and lengths.
fn split_16(rng: &mut Rng) -> Vec<(u32, u32)> {
    let mut blocks = Vec::new();
    let mut offset = 0u32;
    while offset < 1 << 16 {
        let mut len = 17 + rng.below(8) as u32;
        // An offset is only the start of blocks it is aligned to.
        while !offset.is_multiple_of(1 << (32 - len)) {
            len += 1;
        }
        blocks.push((offset, len));
        offset += 1 << (32 - len);
    }
    blocks
}

fn dotted(address: u32) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::from(address)
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashSet,
        net::{Ipv4Addr, Ipv6Addr},
        path::PathBuf,
        sync::atomic::{AtomicU32, Ordering},
    };

    use super::*;
    use crate::bench::compare;

    /// A directory of its own (tests run in parallel), removed by the caller.
    fn scratch() -> PathBuf {
        static CALLS: AtomicU32 = AtomicU32::new(0);
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("xtask-geo-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The map's IPv4 prefixes, parsed, its IPv6 ones, the count `write_config` returned, and
    /// the configuration's text.
    #[allow(clippy::type_complexity)]
    fn map(
        size: MapSize,
    ) -> (
        Vec<(Ipv4Addr, u32, String)>,
        Vec<(Ipv6Addr, u32)>,
        usize,
        String,
    ) {
        let dir = scratch();
        let count = write_config(&dir, size).unwrap();
        let text = std::fs::read_to_string(dir.join(size.file_name())).unwrap();
        let config = std::fs::read_to_string(dir.join(size.config_name())).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let v6 = text
            .lines()
            .filter(|l| l.contains(':') && !l.starts_with('#'))
            .map(|line| {
                let (prefix, _) = line.split_once(' ').unwrap();
                let (address, len) = prefix.split_once('/').unwrap();
                (address.parse().unwrap(), len.parse().unwrap())
            })
            .collect();
        let prefixes = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.contains(':'))
            .map(|line| {
                let (prefix, location) = line.split_once(' ').unwrap();
                let (address, len) = prefix.split_once('/').unwrap();
                (
                    address.parse().unwrap(),
                    len.parse().unwrap(),
                    location.to_owned(),
                )
            })
            .collect();
        (prefixes, v6, count, config)
    }

    #[test]
    fn maps_are_reproducible() {
        for size in [MapSize::Few, MapSize::Full] {
            assert_eq!(map(size), map(size), "{size:?}");
        }
    }

    #[test]
    fn maps_have_the_sizes_the_goals_name() {
        let (few, v6, count, _) = map(MapSize::Few);
        assert_eq!(few.len() + v6.len(), count);
        assert!((200..1_000).contains(&count), "{count}");
        let (full, v6, count, _) = map(MapSize::Full);
        assert_eq!(full.len() + v6.len(), count);
        assert!((80_000..200_000).contains(&count), "{count}");
    }

    #[test]
    fn prefixes_are_distinct_aligned_and_in_known_locations() {
        let (prefixes, _, _, config) = map(MapSize::Full);
        let mut seen = HashSet::new();
        for (address, len, location) in &prefixes {
            assert!(seen.insert((*address, *len)), "{address}/{len} twice");
            assert_eq!(u32::from(*address) & !(u32::MAX << (32 - len)), 0);
            assert!(
                config.contains(&format!("name = \"{location}\"")),
                "{location}"
            );
        }
        let used: HashSet<&str> = prefixes.iter().map(|p| p.2.as_str()).collect();
        assert_eq!(used.len(), LOCATIONS as usize);
    }

    #[test]
    fn every_client_is_placed() {
        let (prefixes, _, _, _) = map(MapSize::Few);
        let covers = |client: Ipv4Addr| {
            prefixes.iter().any(|(address, len, _)| {
                let mask = u32::MAX << (32 - len);
                u32::from(client) & mask == u32::from(*address)
            })
        };
        for c in 0..=255u8 {
            assert!(covers(Ipv4Addr::new(198, 18, c, 77)), "198.18.{c}.77");
        }
        // The client's own address, which kxdpgun and dnsperf send from without `-l`.
        assert!(covers(Ipv4Addr::new(198, 19, 53, 2)));
        // Every /25 is of another location than its /24: the map must split that /24.
        for (address, len, location) in prefixes.iter().filter(|p| p.1 == 25) {
            let parent = Ipv4Addr::from(u32::from(*address) & !0xff);
            let outer = prefixes.iter().find(|p| (p.0, p.1) == (parent, 24));
            assert!(outer.is_some_and(|o| o.2 != *location), "{address}/{len}");
        }
    }

    #[test]
    fn the_full_map_partitions_the_unicast_space() {
        let (prefixes, _, _, _) = map(MapSize::Full);
        // 198.18.0.0/15 holds the clients' own, finer map; the partition goes around it.
        let clients = u64::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)));
        let mut blocks: Vec<(u64, u64)> = prefixes
            .iter()
            .map(|(a, len, _)| (u64::from(u32::from(*a)), 1u64 << (32 - len)))
            .filter(|(start, _)| !(clients..clients + (2 << 16)).contains(start))
            .collect();
        blocks.sort_unstable();
        let mut next = 1u64 << 24;
        for (start, size) in blocks {
            if next == clients {
                next += 2 << 16;
            }
            assert_eq!(start, next, "gap or overlap at {}", dotted(start as u32));
            next = start + size;
        }
        assert_eq!(next, 224 << 24);
    }

    #[test]
    fn the_pools_answer_alike() {
        let (_, _, _, config) = map(MapSize::Few);
        let pools: Vec<&str> = config.split("[[pool]]").skip(1).collect();
        assert_eq!(pools.len(), 2);
        for pool in &pools {
            let v4 = pool.matches("address = \"198.19.100.").count();
            let v6 = pool.matches("address = \"2001:db8:100::").count();
            assert_eq!((v4, v6), (8, 8), "{pool}");
            assert!(pool.contains(&format!("answers = {ANSWERS}")));
        }
        assert!(pools[0].contains(GEO_NAME) && pools[0].contains("policy = \"geo\""));
        assert!(pools[1].contains(PLAIN_NAME));
        assert_eq!(
            GEO_NAME.len(),
            PLAIN_NAME.len(),
            "replies of the same length"
        );
    }

    #[test]
    fn loads_put_clients_where_their_names_say() {
        let (prefixes, v6, _, _) = map(MapSize::Few);
        // Whether the map has a prefix strictly inside the /`len` around `client`: the
        // program then looks the client up one level further (/16, /24, address table).
        let split = |client: Ipv4Addr, len: u32| {
            let mask = u32::MAX << (32 - len);
            prefixes.iter().any(|(address, l, _)| {
                *l > len && u32::from(*address) & mask == u32::from(client) & mask
            })
        };
        let first = |prefix: &str| prefix.split_once('/').unwrap().0.parse().unwrap();
        for load in LOADS {
            if let Some(sources) = load.sources.filter(|_| load.ipv6()) {
                // IPv6 sources in a /56 the map has strictly inside a /48 it has (the client's
                // own /64 for the plain pool, which places nobody).
                let client: Ipv6Addr = sources.split_once('/').unwrap().0.parse().unwrap();
                let at = |len: u32| Ipv6Addr::from(u128::from(client) & !(u128::MAX >> len));
                assert!(
                    load.pool == Pool::Plain
                        || (v6.contains(&(at(56), 56))
                            && v6.contains(&(at(48), 48))
                            && load.name.ends_with("IPv6 /56 table")),
                    "{}",
                    load.name
                );
                continue;
            }
            let client = match (load.sources, load.ecs) {
                (Some(sources), _) => first(sources),
                (None, Some(ecs)) => {
                    let (code, value) = ecs.split_once(':').unwrap();
                    assert_eq!(code, "8");
                    let bytes: Vec<u8> = (0..value.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&value[i..i + 2], 16).unwrap())
                        .collect();
                    if bytes[..2] == [0, 2] {
                        // Family 2, source /56, scope 0, then exactly the 7 octets /56 needs,
                        // of a /56 the map has strictly inside a /48 it has.
                        assert_eq!(bytes[2..4], [56, 0], "{}", load.name);
                        assert_eq!(bytes.len(), 11, "{}", load.name);
                        let mut octets = [0u8; 16];
                        octets[..7].copy_from_slice(&bytes[4..]);
                        let client = Ipv6Addr::from(octets);
                        let outer = Ipv6Addr::from(u128::from(client) & !(u128::MAX >> 48));
                        assert!(v6.contains(&(client, 56)) && v6.contains(&(outer, 48)));
                        assert!(
                            load.pool == Pool::Plain || load.name.ends_with("IPv6 /56 table"),
                            "{}",
                            load.name
                        );
                        continue;
                    }
                    // Family 1, source /24, scope 0, then exactly the 3 octets /24 needs.
                    assert_eq!(bytes[..4], [0, 1, 24, 0], "{}", load.name);
                    assert_eq!(bytes.len(), 7, "{}", load.name);
                    Ipv4Addr::new(bytes[4], bytes[5], bytes[6], 0)
                }
                (None, None) => Ipv4Addr::new(198, 19, 53, 2),
            };
            let path = match (split(client, 16), split(client, 24)) {
                (false, _) => "/16 table",
                (true, false) => "/24 table",
                (true, true) => "address table",
            };
            // The plain pool places nobody: its loads' names say nothing of where they come from.
            assert!(
                load.pool == Pool::Plain || load.name.ends_with(path),
                "{}: {client} goes to the {path}",
                load.name
            );
        }
        compare::tests::check_loads(&LOADS);
    }
}
