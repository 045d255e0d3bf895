//! How large the XDP maps are made: from what the zones and pools need at start, with
//! headroom, unless the operator set a size.
//!
//! Map sizes are fixed when the program is loaded (`map_max_entries`), and a reload that needs
//! more than they hold detaches the fast path until the next start. So each map gets what the
//! start-up image needs times [`HEADROOM_NUM`]/[`HEADROOM_DEN`] (×1.25), and at least a floor,
//! so that a zone that grows a little between reloads still fits, and a small zone can still
//! gain names. Pure: no I/O, so the rule is tested on its own.

use std::fmt;

use lbdns_common::{
    names::{record_words, MAX_IDS, MAX_WORDS},
    qtype::AddrType,
};

use super::{default_name_bytes, XdpConfig};
use crate::authority::Catalog;
use crate::compile::{self, CompileError, MapImage};

/// Headroom over the start-up need: ×5/4.
pub const HEADROOM_NUM: u64 = 5;
/// See [`HEADROOM_NUM`].
pub const HEADROOM_DEN: u64 = 4;
pub use lbdns_common::maps::MIN_SLOTS;
/// The fewest signature entries: 158 KiB.
pub const MIN_SIGNATURE_ENTRIES: u32 = 256;
/// The fewest `NEGATIVE_CHILDREN` entries: 16 KiB of buckets, room for a few hundred names
/// right below the apexes to come and go.
pub const MIN_NEGATIVE_CHILDREN: u32 = 1 << 10;
/// The fewest `FIXED_REPLIES` entries: 16 KiB of buckets; elements are allocated as used.
pub const MIN_FIXED_REPLIES: u32 = 1 << 10;
/// The most `GEO_CHUNKS` chunks sized from a map: 128 MiB, a chunk for every IPv4 /16 and as
/// many for the longer prefixes of both families split further. A map that splits more (each
/// costs 1 KiB here against a few trie entries) has the rest found through the trie.
pub const MAX_GEO_CHUNKS: u32 = 1 << 17;
/// The fewest name-table words per RRset of the floor: names of up to 40 bytes.
const MIN_WORDS_PER_RRSET: u32 = 6;
/// The most bytes of name records the name table's entries can address (2 GiB).
pub const MAX_NAME_BYTES: u32 = MAX_WORDS * 8;

/// What an image occupies in the maps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Need {
    /// Hot A RRsets.
    pub a: u32,
    /// Hot AAAA RRsets.
    pub aaaa: u32,
    /// Answer-set slots of the hot A RRsets: one per set, a block per extended one
    /// (`compile::Answer::slots`).
    pub a_slots: u64,
    /// Answer-set slots of the hot AAAA RRsets.
    pub aaaa_slots: u64,
    /// Words of the name table's records (one per RRset).
    pub name_words: u64,
    /// RRsets whose RRSIGs the signature store holds.
    pub signatures: u32,
    /// Prefixes of /16 and longer the client map splits (`crate::maps::geo_chunks_needed`).
    pub geo_chunks: u32,
    /// Whether the client map splits an IPv6 /40, so that its /48s have slots
    /// (`crate::maps::geo_v6_slots_needed`).
    pub geo_v6_slots: bool,
    /// Names right below the apexes whose absent names the program answers
    /// (`compile::negative`).
    pub negative_children: u64,
    /// Fixed replies (`compile::fixed`).
    pub fixed_replies: u64,
}

impl Need {
    /// What `image` occupies.
    pub fn of(image: &MapImage) -> Self {
        let mut need = Self::default();
        for (rrset, answer) in image.rrsets.iter() {
            let slots = u64::from(answer.slots());
            match rrset.qtype {
                AddrType::A => {
                    need.a = need.a.saturating_add(1);
                    need.a_slots += slots;
                }
                AddrType::Aaaa => {
                    need.aaaa = need.aaaa.saturating_add(1);
                    need.aaaa_slots += slots;
                }
            }
            need.name_words += record_words(rrset.name.len()) as u64;
        }
        need.signatures = u32::try_from(image.signatures.len()).unwrap_or(u32::MAX);
        need
    }
}

/// Sizes the operator set (flags or `[xdp]` keys); the rest come from [`sized`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requested {
    pub rrset_entries: Option<u32>,
    pub name_bytes: Option<u32>,
    pub a_slots: Option<u32>,
    pub aaaa_slots: Option<u32>,
    pub signature_entries: Option<u32>,
}

impl Requested {
    /// Whether every size the operator set is `config`'s: maps made with other sizes are not
    /// reused across a restart.
    pub fn agrees_with(&self, config: &XdpConfig) -> bool {
        let same = |requested: Option<u32>, made: u32| requested.is_none_or(|size| size == made);
        same(self.rrset_entries, config.rrset_entries)
            && same(self.name_bytes, config.name_bytes)
            && same(self.a_slots, config.a_slots)
            && same(self.aaaa_slots, config.aaaa_slots)
            && same(self.signature_entries, config.signature_entries)
    }

    /// Refuses a size the name table's entries cannot address (`lbdns_common::names`): more
    /// than [`MAX_IDS`] answer slots per family, or more than [`MAX_NAME_BYTES`] of names.
    pub fn check(&self) -> Result<(), String> {
        let too_large = |value: Option<u32>, max: u32, flag: &str, key: &str| match value {
            Some(value) if value > max => Err(format!(
                "{flag} ([xdp] {key}) is {value}: the XDP name table addresses at most {max}"
            )),
            _ => Ok(()),
        };
        too_large(self.a_slots, MAX_IDS, "--xdp-a-slots", "a_slots")?;
        too_large(self.aaaa_slots, MAX_IDS, "--xdp-aaaa-slots", "aaaa_slots")?;
        too_large(
            self.name_bytes,
            MAX_NAME_BYTES,
            "--xdp-name-bytes",
            "name_bytes",
        )
    }

    /// The sizes, if the operator set every one: then the program can be loaded before the
    /// zones are read.
    pub fn complete(&self, dns_port: u16) -> Option<XdpConfig> {
        Some(XdpConfig {
            dns_port,
            rrset_entries: self.rrset_entries?,
            name_bytes: self.name_bytes?,
            a_slots: self.a_slots?,
            aaaa_slots: self.aaaa_slots?,
            signature_entries: self.signature_entries?,
            geo_chunks: lbdns_common::maps::DEFAULT_GEO_CHUNKS,
            // No client map is read yet.
            geo_v6_slots: lbdns_common::geo::V6_48_SLOTS,
            negative_children: lbdns_common::maps::DEFAULT_NEGATIVE_CHILDREN,
            fixed_replies: lbdns_common::maps::DEFAULT_FIXED_REPLIES,
        })
    }
}

/// The map sizes for `need`: each requested size as given, every other one the need with
/// headroom, at least its floor, and within what the name table's entries can address
/// ([`MAX_IDS`] answer slots per family, [`MAX_NAME_BYTES`]). The name table's bytes are whole
/// 8-byte words; its buckets are rounded up to a power of two at load
/// (`lbdns_common::names::buckets_for`).
pub fn sized(need: &Need, requested: &Requested, dns_port: u16) -> XdpConfig {
    let a_slots = requested
        .a_slots
        .unwrap_or_else(|| with_headroom(need.a_slots, MIN_SLOTS).min(MAX_IDS));
    let aaaa_slots = requested
        .aaaa_slots
        .unwrap_or_else(|| with_headroom(need.aaaa_slots, MIN_SLOTS).min(MAX_IDS));
    let rrset_entries = requested
        .rrset_entries
        .unwrap_or_else(|| with_headroom(u64::from(need.a) + u64::from(need.aaaa), MIN_SLOTS));
    // A requested name-table size in RRsets also asks for room for their names, as before
    // sizes were chosen here.
    let name_bytes = requested.name_bytes.unwrap_or_else(|| {
        let floor = MIN_SLOTS * MIN_WORDS_PER_RRSET;
        let for_need = with_headroom(need.name_words, floor).saturating_mul(8);
        requested
            .rrset_entries
            .map_or(for_need, |entries| {
                for_need.max(default_name_bytes(entries))
            })
            .min(MAX_NAME_BYTES)
    });
    let signature_entries = requested
        .signature_entries
        .unwrap_or_else(|| with_headroom(need.signatures.into(), MIN_SIGNATURE_ENTRIES));
    let geo_chunks = with_headroom(
        need.geo_chunks.into(),
        lbdns_common::maps::DEFAULT_GEO_CHUNKS,
    )
    .min(MAX_GEO_CHUNKS);
    let geo_v6_slots = if need.geo_v6_slots {
        lbdns_common::geo::V6_48_SLOTS
    } else {
        1
    };
    XdpConfig {
        dns_port,
        rrset_entries,
        name_bytes,
        a_slots,
        aaaa_slots,
        signature_entries,
        geo_chunks,
        geo_v6_slots,
        negative_children: prepared_entries(
            need.negative_children,
            MIN_NEGATIVE_CHILDREN,
            lbdns_common::maps::MAX_NEGATIVE_CHILDREN,
        ),
        fixed_replies: prepared_entries(
            need.fixed_replies,
            MIN_FIXED_REPLIES,
            lbdns_common::maps::MAX_FIXED_REPLIES,
        ),
    }
}

/// The entries of a prepared replies' hash map (`NEGATIVE_CHILDREN`, `FIXED_REPLIES`) for
/// `elements`: twice them, since a publish adds the new elements before it removes the old
/// ones, with the headroom, rounded up to the power of two the kernel's table of buckets has
/// anyway, within `floor` and `max`. Not larger: each entry is a bucket a flood of absent
/// names reads at random, so a larger table is a slower one (`DEFAULT_NEGATIVE_CHILDREN`).
fn prepared_entries(elements: u64, floor: u32, max: u32) -> u32 {
    with_headroom(elements.saturating_mul(2), floor)
        .checked_next_power_of_two()
        .map_or(max, |entries| entries.min(max))
}

/// The sizes for what `catalog` (zones and pools as they are now) puts into the maps. Compiles
/// the hot RRsets once more than publishing does: a few milliseconds for a small zone.
pub fn for_catalog(
    catalog: &Catalog,
    requested: &Requested,
    dns_port: u16,
) -> Result<XdpConfig, CompileError> {
    let compiled = compile::compile_catalog(catalog)?;
    let need = Need {
        geo_chunks: crate::maps::geo_chunks_needed(&catalog.geo().map),
        geo_v6_slots: crate::maps::geo_v6_slots_needed(&catalog.geo().map),
        negative_children: compile::negative::children_needed(catalog),
        fixed_replies: compile::fixed::replies_needed(catalog),
        ..Need::of(&compiled.image)
    };
    Ok(sized(&need, requested, dns_port))
}

fn with_headroom(need: u64, floor: u32) -> u32 {
    let grown = need.saturating_mul(HEADROOM_NUM).div_ceil(HEADROOM_DEN);
    u32::try_from(grown).unwrap_or(u32::MAX).max(floor)
}

/// The maps of `have` that `need` outgrows, each with the flag that sets it and the size
/// [`sized`] would choose now: for the log line of a publish that did not fit.
pub fn outgrown(have: &XdpConfig, need: &Need) -> Outgrown {
    let want = sized(need, &Requested::default(), have.dns_port);
    let name_bytes = need.name_words.saturating_mul(8);
    let checks = [
        ("--xdp-a-slots", have.a_slots, need.a_slots, want.a_slots),
        (
            "--xdp-aaaa-slots",
            have.aaaa_slots,
            need.aaaa_slots,
            want.aaaa_slots,
        ),
        (
            "--xdp-rrset-entries",
            have.rrset_entries,
            u64::from(need.a) + u64::from(need.aaaa),
            want.rrset_entries,
        ),
        (
            "--xdp-name-bytes",
            have.name_bytes,
            name_bytes,
            want.name_bytes,
        ),
        (
            "--xdp-signature-entries",
            have.signature_entries,
            need.signatures.into(),
            want.signature_entries,
        ),
    ];
    Outgrown(
        checks
            .into_iter()
            .filter(|&(_, have, need, _)| need > u64::from(have))
            .map(|(flag, have, _, want)| (flag, have, want))
            .collect(),
    )
}

/// Maps too small for an image: (flag, size now, size to set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgrown(pub Vec<(&'static str, u32, u32)>);

impl fmt::Display for Outgrown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            // Every map holds the image's total, so what ran out is room for changes beside the
            // live sets (grace periods, fragmented name space).
            return write!(
                f,
                "no map is smaller than the new image, but no room is left for changes"
            );
        }
        for (i, (flag, have, want)) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{flag} {have} is outgrown: {want} needed")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use lbdns_common::answer::BLOCK_SLOTS;

    use super::*;
    use crate::compile::{compile, HotRrset};

    const PORT: u16 = 53;

    #[test]
    fn pinned_maps_of_other_sizes_than_set_are_not_reused() {
        let made = sized(&Need::default(), &Requested::default(), PORT);
        assert!(Requested::default().agrees_with(&made));
        let same = Requested {
            a_slots: Some(made.a_slots),
            ..Requested::default()
        };
        assert!(same.agrees_with(&made));
        let larger = Requested {
            a_slots: Some(made.a_slots * 2),
            ..Requested::default()
        };
        assert!(!larger.agrees_with(&made));
    }

    #[test]
    fn small_zone_gets_the_floors() {
        let need = Need {
            a: 3,
            aaaa: 1,
            a_slots: 3,
            aaaa_slots: 1,
            name_words: 12,
            signatures: 0,
            geo_chunks: 0,
            geo_v6_slots: false,
            negative_children: 12,
            fixed_replies: 40,
        };
        let config = sized(&need, &Requested::default(), PORT);
        assert_eq!(config.a_slots, MIN_SLOTS);
        assert_eq!(config.aaaa_slots, MIN_SLOTS);
        assert_eq!(config.rrset_entries, MIN_SLOTS);
        assert_eq!(config.name_bytes, MIN_SLOTS * MIN_WORDS_PER_RRSET * 8);
        assert_eq!(config.signature_entries, MIN_SIGNATURE_ENTRIES);
        assert_eq!(config.geo_chunks, lbdns_common::maps::DEFAULT_GEO_CHUNKS);
        assert_eq!(config.geo_v6_slots, 1);
        assert_eq!(config.negative_children, MIN_NEGATIVE_CHILDREN);
        assert_eq!(config.dns_port, PORT);
    }

    #[test]
    fn large_zone_gets_a_quarter_more() {
        let need = Need {
            a: 20_000,
            aaaa: 10_001,
            // 100 of the A sets extended: blocks of four slots.
            a_slots: 20_300,
            aaaa_slots: 10_001,
            name_words: 100_000,
            signatures: 2000,
            geo_chunks: 40_000,
            geo_v6_slots: true,
            negative_children: 1000,
            fixed_replies: 100,
        };
        let config = sized(&need, &Requested::default(), PORT);
        assert_eq!(config.a_slots, 25_375);
        // Rounded up, never down.
        assert_eq!(config.aaaa_slots, 12_502);
        assert_eq!(config.rrset_entries, 37_502);
        assert_eq!(config.name_bytes, 125_000 * 8);
        assert_eq!(config.signature_entries, 2500);
        assert_eq!(config.geo_chunks, 50_000);
        assert_eq!(config.geo_v6_slots, lbdns_common::geo::V6_48_SLOTS);
        // Twice the names with a quarter more (2,500), rounded up to a power of two.
        assert_eq!(config.negative_children, 4096);
        assert_eq!(config.fixed_replies, MIN_FIXED_REPLIES);
    }

    #[test]
    fn requested_sizes_override() {
        let need = Need {
            a: 20_000,
            ..Need::default()
        };
        let requested = Requested {
            a_slots: Some(7),
            name_bytes: Some(4096),
            ..Requested::default()
        };
        let config = sized(&need, &requested, PORT);
        assert_eq!(config.a_slots, 7);
        assert_eq!(config.name_bytes, 4096);
        assert_eq!(config.rrset_entries, 25_000);
        let requested = Requested {
            rrset_entries: Some(100_000),
            ..Requested::default()
        };
        let config = sized(&need, &requested, PORT);
        assert_eq!(config.name_bytes, default_name_bytes(100_000));
        assert_eq!(requested.complete(PORT), None);
    }

    #[test]
    fn complete_only_when_every_size_is_set() {
        let requested = Requested {
            rrset_entries: Some(1),
            name_bytes: Some(2),
            a_slots: Some(3),
            aaaa_slots: Some(4),
            signature_entries: Some(5),
        };
        let config = requested.complete(PORT).unwrap();
        // Loaded before the zones and the client map are read: the /48 slots in full, and the
        // object's own room for names below the apexes.
        let need = Need {
            geo_v6_slots: true,
            ..Need::default()
        };
        let expected = XdpConfig {
            negative_children: lbdns_common::maps::DEFAULT_NEGATIVE_CHILDREN,
            fixed_replies: lbdns_common::maps::DEFAULT_FIXED_REPLIES,
            ..sized(&need, &requested, PORT)
        };
        assert_eq!(config, expected);
        let partial = Requested {
            a_slots: None,
            ..requested
        };
        assert_eq!(partial.complete(PORT), None);
    }

    #[test]
    fn sizes_the_name_table_cannot_address_are_refused() {
        let within = Requested {
            a_slots: Some(MAX_IDS),
            aaaa_slots: Some(MAX_IDS),
            name_bytes: Some(MAX_NAME_BYTES),
            ..Requested::default()
        };
        assert_eq!(within.check(), Ok(()));
        for (beyond, flag) in [
            (
                Requested {
                    a_slots: Some(MAX_IDS + 1),
                    ..within
                },
                "--xdp-a-slots",
            ),
            (
                Requested {
                    aaaa_slots: Some(u32::MAX),
                    ..within
                },
                "--xdp-aaaa-slots",
            ),
            (
                Requested {
                    name_bytes: Some(MAX_NAME_BYTES + 8),
                    ..within
                },
                "--xdp-name-bytes",
            ),
        ] {
            let error = beyond.check().expect_err(flag);
            assert!(error.starts_with(flag), "{error}");
        }
    }

    #[test]
    fn huge_needs_saturate() {
        let need = Need {
            a: u32::MAX,
            aaaa: u32::MAX,
            a_slots: u64::MAX,
            aaaa_slots: u64::MAX,
            name_words: u64::MAX,
            signatures: u32::MAX,
            geo_chunks: u32::MAX,
            geo_v6_slots: true,
            negative_children: u64::MAX,
            fixed_replies: u64::MAX,
        };
        let config = sized(&need, &Requested::default(), PORT);
        assert_eq!(config.a_slots, MAX_IDS);
        assert_eq!(config.name_bytes, MAX_NAME_BYTES);
        assert_eq!(config.geo_chunks, MAX_GEO_CHUNKS);
        assert_eq!(
            config.negative_children,
            lbdns_common::maps::MAX_NEGATIVE_CHILDREN
        );
        assert_eq!(config.fixed_replies, lbdns_common::maps::MAX_FIXED_REPLIES);
    }

    #[test]
    fn outgrown_names_each_map_and_its_new_size() {
        let have = sized(&Need::default(), &Requested::default(), PORT);
        let need = Need {
            a: 2000,
            a_slots: 2000,
            signatures: 300,
            ..Need::default()
        };
        let outgrown = outgrown(&have, &need);
        assert_eq!(
            outgrown.0,
            vec![
                ("--xdp-a-slots", MIN_SLOTS, 2500),
                ("--xdp-rrset-entries", MIN_SLOTS, 2500),
                ("--xdp-signature-entries", MIN_SIGNATURE_ENTRIES, 375),
            ]
        );
        assert!(outgrown
            .to_string()
            .contains("--xdp-a-slots 1024 is outgrown: 2500 needed"));
        assert!(self::outgrown(&have, &Need::default()).0.is_empty());
    }

    /// A plain hot RRset of `addrs`, of the first address's family.
    fn hot_rrset(name: &[u8], addrs: Vec<IpAddr>) -> HotRrset {
        HotRrset {
            name: name.to_vec(),
            qtype: match addrs[0] {
                IpAddr::V4(_) => AddrType::A,
                IpAddr::V6(_) => AddrType::Aaaa,
            },
            ttl: 60,
            addrs: addrs.into(),
            schedule: Vec::new(),
            cap: None,
            signed: false,
            rrsigs: None,
        }
    }

    #[test]
    fn need_counts_families_names_and_signatures() {
        let rrset = |name: &[u8], addr: &str| hot_rrset(name, vec![addr.parse().unwrap()]);
        let www = b"\x03www\x07example\x03com\x00";
        let image = compile(vec![
            rrset(www, "192.0.2.1"),
            rrset(www, "2001:db8::1"),
            rrset(b"\x01a\x07example\x03com\x00", "192.0.2.2"),
        ])
        .unwrap()
        .image;
        let need = Need::of(&image);
        assert_eq!((need.a, need.aaaa, need.signatures), (2, 1, 0));
        assert_eq!((need.a_slots, need.aaaa_slots), (2, 1));
        // www.example.com. (17 bytes): 1 + 3 words, twice; a.example.com. (15 bytes): 1 + 2.
        assert_eq!(need.name_words, 4 + 4 + 3);
    }

    #[test]
    fn need_counts_a_block_of_slots_for_an_extended_set() {
        let image = compile(vec![
            hot_rrset(
                b"\x01a\x07example\x03com\x00",
                vec!["192.0.2.2".parse().unwrap()],
            ),
            // Five addresses: more than a slot holds.
            hot_rrset(
                b"\x04pool\x07example\x03com\x00",
                (1..=5).map(|i| IpAddr::from([192, 0, 2, 10 + i])).collect(),
            ),
        ])
        .unwrap()
        .image;
        let need = Need::of(&image);
        assert_eq!((need.a, need.a_slots), (2, 1 + BLOCK_SLOTS as u64));
    }
}
