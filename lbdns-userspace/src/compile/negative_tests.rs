//! Which zones the program answers NXDOMAIN for, and which names right below their apexes it
//! must know exist (`compile::negative`).

use std::{fmt::Write as _, path::Path, sync::Arc};

use hickory_proto::rr::Name;
use hickory_proto::rr::RecordType;
use lbdns_common::negative::{ChildKey, EXISTS, MAX_CHILDREN_PER_ZONE, NODATA_A, NODATA_AAAA};
use lbdns_common::prepared::{INTO_RECORD, SIGNED_ZONE};

use super::fixed::FixedParts;
use super::negative::{assemble, Ineligible, NegativeImage, NegativeParts, ZonePart};
use crate::authority::{Catalog, ZoneData};
use crate::zone::Zone;

fn zone(text: &str) -> Zone {
    Zone::parse(text, Path::new("test (generated)"), None)
        .unwrap_or_else(|errors| panic!("{errors}"))
}

fn data(text: &str) -> ZoneData {
    ZoneData::new(&zone(text))
}

/// A zone at `apex` with an SOA whose names lie below its apex, and `records` after it.
fn text(apex: &str, records: &str) -> String {
    format!(
        "$ORIGIN {apex}.\n$TTL 60\n@ SOA ns1 hostmaster 7 3600 600 86400 30\n@ NS ns1\n\
         ns1 A 198.18.0.1\n{records}"
    )
}

/// The labels of the children `image` holds for `zone`, as text.
fn labels(children: impl IntoIterator<Item = ChildKey>, zone: u64) -> Vec<String> {
    let mut labels: Vec<String> = children
        .into_iter()
        .filter(|child| child.zone == zone)
        .map(|child| {
            let octets: Vec<u8> = child.label.iter().flat_map(|w| w.to_le_bytes()).collect();
            let len = usize::from(octets[0]);
            String::from_utf8(octets[1..=len].to_vec()).unwrap()
        })
        .collect();
    labels.sort();
    labels
}

/// `parts`' image of `catalog`, with `fixed` brought up to date first, as a publish does.
fn updated(parts: &mut NegativeParts, fixed: &mut FixedParts, catalog: &Catalog) -> NegativeImage {
    fixed.update(catalog);
    parts.update(catalog, fixed);
    parts.image().clone()
}

/// The marks of the child `label` of zone number `zone` in `image`, if it is a child.
fn marks(image: &NegativeImage, zone: u64, label: &str) -> Option<u8> {
    image
        .children
        .iter()
        .find(|(key, _)| labels([**key], zone) == [label])
        .map(|(_, &marks)| marks)
}

#[test]
fn every_name_right_below_the_apex_exists_whatever_it_holds() {
    let zone = data(&text(
        "z.test",
        "a A 198.18.0.2\n\
         b.c TXT \"an empty non-terminal above\"\n\
         d NS ns.other.test.\n\
         deep.er.e MX 10 a\n\
         MiXed AAAA 2001:db8::1\n",
    ));
    let part = ZonePart::of(&zone).expect("eligible");
    let catalog = Catalog::new(&[]).unwrap();
    let image = assemble(&catalog, [&part]);
    let (_, value) = image.zones.iter().next().expect("one zone");
    assert_eq!(
        labels(image.children.keys().copied(), value.zone),
        ["a", "c", "d", "e", "hostmaster", "mixed", "ns1"],
        "every first label below the apex, lowercase, and the SOA names' (hostmaster)"
    );
    assert_eq!(value.records.flags & SIGNED_ZONE, 0);
}

#[test]
fn the_record_leaves_its_pointers_to_the_program() {
    let zone = data(&text("z.test", ""));
    let part = ZonePart::of(&zone).expect("eligible");
    let image = assemble(&Catalog::new(&[]).unwrap(), [&part]);
    let value = &image.zones.values().next().unwrap().records;
    let soa = zone.negative_soa().unwrap();
    let record = soa.record();
    assert_eq!(usize::from(value.len), record.len());
    let pointers = &value.pointers[..usize::from(value.pointer_count)];
    assert_eq!(pointers.len(), soa.pointers().count());
    assert!(!pointers.is_empty(), "the owner is a pointer");
    let mut expected = record.to_vec();
    for pointer in pointers {
        let at = usize::from(pointer.at);
        assert_eq!(record[at] & 0xc0, 0xc0, "a pointer at {at}");
        expected[at..at + 2].fill(0);
    }
    assert_eq!(&value.octets[..record.len()], &expected[..]);
    assert!(value.octets[record.len()..].iter().all(|&octet| octet == 0));
    // The owner points at the apex in the question; MNAME at its own first label's end in the
    // record is followed by RNAME pointing into MNAME's suffix, the apex, in the question.
    assert!(pointers.iter().any(|p| p.to & INTO_RECORD == 0));
    let sum: u32 = expected
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    assert_eq!(u32::from(value.sum), (folded & 0xffff) + (folded >> 16));
}

#[test]
fn zones_whose_absent_names_the_socket_path_answers_otherwise_are_left_to_it() {
    let long_apex = format!("{}.test", ["a".repeat(60)].join("."));
    for (apex, records, why) in [
        ("z.test", "* A 198.18.0.9\n", Ineligible::Wildcard),
        ("z.test", "x.* A 198.18.0.9\n", Ineligible::Wildcard),
        ("Z.test", "", Ineligible::SpelledApex),
        (long_apex.as_str(), "", Ineligible::LongApex),
    ] {
        assert_eq!(
            ZonePart::of(&data(&text(apex, records))).err(),
            Some(why),
            "{apex} with {records:?}"
        );
    }
    // No name may lie below a DNAME at the apex: SOA and NS names elsewhere.
    let dname =
        "$ORIGIN z.test.\n$TTL 60\n@ SOA ns1.other.test. h.other.test. 7 3600 600 86400 30\n\
                 @ NS ns1.other.test.\n@ DNAME other.test.\n";
    assert_eq!(ZonePart::of(&data(dname)).err(), Some(Ineligible::Dname));
    let root = "$ORIGIN .\n$TTL 60\n@ SOA a.root-servers.net. nstld.verisign-grs.com. 1 2 3 4 5\n\
                @ NS a.root-servers.net.\n";
    assert_eq!(ZonePart::of(&data(root)).err(), Some(Ineligible::Root));
    let mut many = String::new();
    for i in 0..=MAX_CHILDREN_PER_ZONE {
        writeln!(many, "n{i} A 198.18.1.1").unwrap();
    }
    assert_eq!(
        ZonePart::of(&data(&text("z.test", &many))).err(),
        Some(Ineligible::TooManyChildren)
    );
}

/// The records that make z.test. signed as NSD judges it: an RRSIG over the apex DNSKEY
/// (RFC 3597 forms).
pub(super) fn signed_apex() -> String {
    let mut rrsig = vec![
        0, 48, 13, 2, 0, 0, 0, 60, 0x70, 0xdb, 0xd8, 0x80, 0x5e, 0x0b,
    ];
    rrsig.extend_from_slice(&[0xe1, 0x00, 0x56, 0x78]);
    rrsig.extend_from_slice(b"\x01z\x04test\x00");
    rrsig.extend(0..64u8);
    let hex: String = rrsig.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "@ TYPE48 \\# 36 0101030d{}\n@ TYPE46 \\# {} {hex}\n",
        "ab".repeat(32),
        rrsig.len()
    )
}

#[test]
fn a_signed_zone_is_marked_so_that_do1_queries_pass() {
    let records = signed_apex();
    let signed = data(&text("z.test", &records));
    assert!(signed.secure, "the fixture is signed");
    let part = ZonePart::of(&signed).expect("eligible");
    let image = assemble(&Catalog::new(&[]).unwrap(), [&part]);
    let value = &image.zones.values().next().unwrap().records;
    assert_eq!(value.flags & SIGNED_ZONE, SIGNED_ZONE);
}

#[test]
fn other_zones_and_pool_owners_make_names_below_an_apex_exist() {
    let parent = zone(&text("z.test", "a A 198.18.0.2\n"));
    let child = zone(&text("kid.z.test", ""));
    let unloaded = zone(&text("empty.z.test", ""));
    let catalog = Catalog::new(&[parent, child, unloaded])
        .unwrap()
        .with_pool_owners([Name::from_ascii("pool.z.test.").unwrap()]);
    let catalog = catalog
        .with_zone(&Name::from_ascii("empty.z.test.").unwrap(), None)
        .unwrap();
    let mut parts = NegativeParts::default();
    let mut fixed = FixedParts::default();
    let image = updated(&mut parts, &mut fixed, &catalog);
    let parent_apex = Name::from_ascii("z.test.").unwrap();
    let number = |zone: &ZoneData| {
        let part = ZonePart::of(zone).unwrap();
        let image = assemble(&Catalog::new(&[]).unwrap(), [&part]);
        image.zones.values().next().unwrap().zone
    };
    let parent_number = number(catalog.zone_for(&parent_apex).unwrap());
    assert_eq!(
        labels(image.children.keys().copied(), parent_number),
        ["a", "empty", "hostmaster", "kid", "ns1", "pool"]
    );
    assert_eq!(image.zones.len(), 2, "the parent and the child with data");

    // The same catalog again: nothing compiled anew, the same image.
    assert_eq!(updated(&mut parts, &mut fixed, &catalog), image);
    // A new pool owner, the zones unchanged (a reload of the pools alone): it exists.
    let catalog = catalog.with_pool_owners([
        Name::from_ascii("pool.z.test.").unwrap(),
        Name::from_ascii("other-pool.z.test.").unwrap(),
    ]);
    let owned = updated(&mut parts, &mut fixed, &catalog);
    assert_eq!(
        labels(owned.children.keys().copied(), parent_number),
        [
            "a",
            "empty",
            "hostmaster",
            "kid",
            "ns1",
            "other-pool",
            "pool"
        ]
    );
    // A zone replaced: its share compiled again.
    let changed = Arc::new(data(&text("kid.z.test", "b A 198.18.0.3\n")));
    let catalog = catalog
        .with_zone(
            &Name::from_ascii("kid.z.test.").unwrap(),
            Some(changed.clone()),
        )
        .unwrap();
    let again = updated(&mut parts, &mut fixed, &catalog);
    assert_eq!(
        labels(again.children.keys().copied(), number(&changed)),
        ["b", "hostmaster", "ns1"]
    );
}

#[test]
fn names_whose_nodata_is_the_zones_record_are_marked_for_it() {
    let catalog = Catalog::new(&[zone(&text(
        "z.test",
        "v4 A 198.18.0.2\n\
         v6 AAAA 2001:db8::2\n\
         both A 198.18.0.3\n\
         both AAAA 2001:db8::3\n\
         t TXT \"no address\"\n\
         b.ent TXT \"an empty non-terminal above\"\n\
         c CNAME v4\n\
         d NS ns.other.test.\n",
    ))])
    .unwrap();
    let image = updated(
        &mut NegativeParts::default(),
        &mut FixedParts::default(),
        &catalog,
    );
    let (_, zone) = image.zones.iter().next().expect("one zone");
    for (label, expected) in [
        ("v4", EXISTS | NODATA_AAAA),
        ("v6", EXISTS | NODATA_A),
        ("both", EXISTS),
        ("t", EXISTS | NODATA_A | NODATA_AAAA),
        // Its NODATA's SOA names it: MNAME compresses into the question, not the apex.
        ("ns1", EXISTS),
        // An empty non-terminal has no records of any type.
        ("ent", EXISTS | NODATA_A | NODATA_AAAA),
        // A CNAME's answer, a referral, and a name with no node (the SOA's RNAME).
        ("c", EXISTS),
        ("d", EXISTS),
        ("hostmaster", EXISTS),
    ] {
        assert_eq!(marks(&image, zone.zone, label), Some(expected), "{label}");
    }
}

#[test]
fn the_marks_follow_the_fixed_replies_without_the_zones_changing() {
    let owner = Name::from_ascii("pool.z.test.").unwrap();
    let catalog = Catalog::new(&[zone(&text("z.test", ""))])
        .unwrap()
        .with_pool_owners([owner.clone()]);
    let mut parts = NegativeParts::default();
    let mut fixed = FixedParts::default();
    let number = updated(&mut parts, &mut fixed, &catalog)
        .zones
        .values()
        .next()
        .unwrap()
        .zone;
    let pool_marks = |image: &NegativeImage| marks(image, number, "pool");
    assert_eq!(
        pool_marks(&updated(&mut parts, &mut fixed, &catalog)),
        Some(EXISTS)
    );
    // A reload of the pools alone that leaves the pool without IPv6 endpoints: its AAAA is
    // NODATA whatever health says, a fixed reply, and now marked.
    let catalog = catalog.with_pool_nodata([(owner, RecordType::AAAA)]);
    assert_eq!(
        pool_marks(&updated(&mut parts, &mut fixed, &catalog)),
        Some(EXISTS | NODATA_AAAA)
    );
}
