//! Which queries get a fixed reply (`compile::fixed`), and what the program copies.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use lbdns_common::fixed::{FixedKey, MAX_REPLIES_PER_ZONE};
use lbdns_common::prepared::SIGNED_ZONE;

use super::fixed::{FixedImage, FixedPart, FixedParts, Ineligible};
use super::negative_tests::signed_apex;
use crate::authority::{respond, Catalog, Client, Transport, ZoneData};
use crate::zone::Zone;

use RecordType::{A, AAAA, CAA, CNAME, MX, NS, PTR, SOA, SRV, TXT};

fn zone(text: &str) -> Zone {
    Zone::parse(text, Path::new("test (generated)"), None)
        .unwrap_or_else(|errors| panic!("{errors}"))
}

/// The repository's example zone.
fn example() -> Catalog {
    let text = include_str!("../../../zones/example.com.zone");
    Catalog::new(&[zone(text)]).unwrap()
}

/// The key's name as dotted text, and its type.
fn question(key: &FixedKey) -> (String, RecordType) {
    let octets: Vec<u8> = key.name.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut labels = Vec::new();
    let mut at = 0;
    while octets[at] != 0 {
        let len = usize::from(octets[at]);
        labels.push(String::from_utf8(octets[at + 1..=at + len].to_vec()).unwrap());
        at += 1 + len;
    }
    (labels.join("."), RecordType::from(key.qtype))
}

fn questions(image: &FixedImage) -> Vec<(String, RecordType)> {
    image.keys().map(question).collect()
}

fn image(catalog: &Catalog) -> FixedImage {
    let mut parts = FixedParts::default();
    parts.update(catalog);
    parts.image().clone()
}

#[test]
fn the_example_zone_answers_its_apex_types_nodata_and_referrals() {
    let have = questions(&image(&example()));
    let has = |name: &str, rtype| have.contains(&(name.to_owned(), rtype));
    // The apex's types; NODATA where a name lacks A or AAAA (an empty non-terminal too); a
    // delegation's referral; a CNAME asked for itself; SRV and PTR.
    for (name, rtype) in [
        ("example.com", SOA),
        ("example.com", NS),
        ("example.com", MX),
        ("example.com", TXT),
        ("example.com", CAA),
        ("example.com", A),
        ("api.example.com", AAAA),
        ("mail.example.com", AAAA),
        ("apps.example.com", A),
        ("sub.example.com", A),
        ("sub.example.com", NS),
        ("web.example.com", CNAME),
        ("_sip._udp.example.com", SRV),
        ("1.1.18.198.in-addr.example.com", PTR),
    ] {
        assert!(has(name, rtype), "{name} {rtype}: {have:?}");
    }
    // A and AAAA where the name table answers them; an A through a CNAME to a rotating set,
    // whose reply changes with every query; a type the name lacks (left to the socket path).
    for (name, rtype) in [
        ("www.example.com", A),
        ("ns2.example.com", AAAA),
        ("web.example.com", A),
        ("alias.example.com", AAAA),
        ("www.example.com", MX),
    ] {
        assert!(!has(name, rtype), "{name} {rtype}: {have:?}");
    }
}

/// The records copied are the socket path's, after the question of a query without EDNS (to
/// which the reply carries no OPT record), with its counts and flags.
#[test]
fn the_records_are_the_socket_paths() {
    assert_socket_paths(&example());
}

/// Every reply of `catalog`'s image is the socket path's.
fn assert_socket_paths(catalog: &Catalog) {
    let image = image(catalog);
    let client = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), Transport::Udp);
    for (key, value) in &image {
        let (name, rtype) = question(key);
        let mut query = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        let wire = Name::from_ascii(format!("{name}."))
            .unwrap()
            .to_lowercase()
            .to_bytes()
            .unwrap();
        query.extend_from_slice(&wire);
        query.extend_from_slice(&u16::from(rtype).to_be_bytes());
        query.extend_from_slice(&[0, 1]);
        let reply = respond(catalog, &query, client).expect("a reply");
        let records = &value.records.octets[..usize::from(value.records.len)];
        assert_eq!(&reply[query.len()..], records, "{name} {rtype}");
        let count = |at: usize| u16::from_be_bytes([reply[at], reply[at + 1]]);
        assert_eq!(
            value.counts,
            [count(6), count(8), count(10)],
            "{name} {rtype}"
        );
        assert_eq!(
            value.flags,
            count(2) & 0x040f,
            "{name} {rtype}: AA and RCODE"
        );
        assert_eq!(value.records.pointer_count, 0, "nothing moves");
        assert_eq!(value.records.flags & SIGNED_ZONE, 0);
    }
}

/// A pool owner's addresses follow health checks: no reply that carries its records, nor any
/// of its own, is fixed. Nor one that carries another zone's records.
#[test]
fn pool_owners_and_other_zones_records_are_left_out() {
    let text = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns1 hostmaster 7 3600 600 86400 30\n@ NS ns1\n\
                ns1 A 198.18.0.1\n@ MX 10 lb\nlb TXT \"pool\"\nmx2 MX 10 ns1\n\
                out CNAME www.y.test.\n";
    let other = "$ORIGIN y.test.\n$TTL 60\n@ SOA ns1 hostmaster 7 3600 600 86400 30\n@ NS ns1\n\
                 ns1 A 198.18.0.9\nwww TXT \"y\"\n";
    let catalog = Catalog::new(&[zone(text), zone(other)])
        .unwrap()
        .with_pool_owners([Name::from_ascii("lb.z.test.").unwrap()]);
    let have = questions(&image(&catalog));
    let has = |name: &str, rtype| have.contains(&(name.to_owned(), rtype));
    assert!(has("mx2.z.test", MX), "{have:?}");
    assert!(has("z.test", SOA), "{have:?}");
    assert!(
        !has("z.test", MX),
        "the pool owner's addresses in its additional section"
    );
    assert!(!has("lb.z.test", TXT), "a pool owner's own");
    assert!(!has("out.z.test", TXT), "y.test's record");
    assert!(has("out.z.test", CNAME), "the CNAME alone is z.test's");
    assert!(has("www.y.test", TXT), "{have:?}");
}

/// An address type a pool has no endpoint for is NODATA whatever health says: prepared, for
/// the owner with records in the zone and for one without. The other type, which health
/// decides, and the owner's other types are not.
#[test]
fn a_pool_owners_absent_address_type_gets_its_nodata() {
    let text = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns1 hostmaster 7 3600 600 86400 30\n@ NS ns1\n\
                ns1 A 198.18.0.1\nlb TXT \"pool\"\n";
    let [lb, bare] = ["lb.z.test.", "bare.z.test."].map(|name| Name::from_ascii(name).unwrap());
    let catalog = Catalog::new(&[zone(text)])
        .unwrap()
        .with_pool_owners([lb.clone(), bare.clone()])
        .with_pool_nodata([(lb, AAAA), (bare, A)]);
    let have = questions(&image(&catalog));
    let has = |name: &str, rtype| have.contains(&(name.to_owned(), rtype));
    assert!(has("lb.z.test", AAAA), "{have:?}");
    assert!(has("bare.z.test", A), "{have:?}");
    for (name, rtype) in [("lb.z.test", A), ("lb.z.test", TXT), ("bare.z.test", AAAA)] {
        assert!(!has(name, rtype), "{name} {rtype}: {have:?}");
    }
    assert_socket_paths(&catalog);
}

#[test]
fn a_signed_zone_passes_do1_and_a_zone_of_too_many_is_left_out() {
    let signed = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns1 hostmaster 7 3600 600 86400 30\n\
                  @ NS ns1\nns1 A 198.18.0.1\n"
        .to_owned()
        + &signed_apex();
    let catalog = Catalog::new(&[zone(&signed)]).unwrap();
    let replies = image(&catalog);
    assert!(!replies.is_empty());
    assert!(replies
        .values()
        .all(|value| value.records.flags & SIGNED_ZONE == SIGNED_ZONE));

    let mut big = String::from(
        "$ORIGIN big.test.\n$TTL 60\n@ SOA ns1 hostmaster 7 3600 600 86400 30\n@ NS ns1\n\
         ns1 A 198.18.0.1\n",
    );
    // Each name: its TXT, and NODATA for A and AAAA.
    for i in 0..MAX_REPLIES_PER_ZONE / 3 + 1 {
        big.push_str(&format!("t{i} TXT \"{i}\"\n"));
    }
    let catalog = Catalog::new(&[zone(&big)]).unwrap();
    let zone = catalog.served().next().unwrap().1.clone().unwrap();
    assert_eq!(FixedPart::of(&catalog, &zone), Err(Ineligible::TooMany));
    assert!(image(&catalog).is_empty());
}

#[test]
fn a_reply_reaching_into_another_zone_is_compiled_again_when_that_zone_loads() {
    let parent = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns1 hostmaster 7 3600 600 86400 30\n@ NS ns1\n\
                  ns1 A 198.18.0.1\nkid NS ns.kid\nns.kid A 198.18.0.2\nc CNAME www.kid\n";
    let kid = "$ORIGIN kid.z.test.\n$TTL 60\n@ SOA ns hostmaster 7 3600 600 86400 30\n@ NS ns\n\
               ns A 198.18.0.2\nwww A 198.18.0.80\n";
    let kid_apex = Name::from_ascii("kid.z.test.").unwrap();
    // The child zone served, its transfer not in yet: the CNAME alone, a fixed reply.
    let waiting = Catalog::new(&[zone(parent)])
        .unwrap()
        .with_zones([(kid_apex.clone(), None)])
        .unwrap();
    let mut parts = FixedParts::default();
    parts.update(&waiting);
    let has = |image: &FixedImage| questions(image).contains(&("c.z.test".to_owned(), A));
    assert!(has(parts.image()), "{:?}", questions(parts.image()));
    // The child's data arrives, the parent unchanged: the reply now follows the CNAME into
    // the child's records, which are another zone's, so it is no longer fixed.
    let loaded = waiting
        .with_zone(&kid_apex, Some(Arc::new(ZoneData::new(&zone(kid)))))
        .unwrap();
    parts.update(&loaded);
    assert!(!has(parts.image()), "{:?}", questions(parts.image()));
    assert_socket_paths(&loaded);
}
