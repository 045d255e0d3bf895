use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

fn wire(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

fn a(name: &str, addrs: &[[u8; 4]]) -> HotRrset {
    HotRrset {
        name: wire(name),
        qtype: AddrType::A,
        ttl: 60,
        addrs: addrs
            .iter()
            .map(|&o| IpAddr::V4(Ipv4Addr::from(o)))
            .collect(),
        schedule: Vec::new(),
        cap: None,
        signed: false,
        rrsigs: None,
    }
}

/// The A set `rrset` compiles to.
fn a_set(rrset: HotRrset) -> Set<4> {
    let id = RrsetId {
        qtype: AddrType::A,
        name: rrset.name.clone(),
    };
    let compiled = compile(vec![rrset]).unwrap();
    match &*compiled.image.rrsets {
        [(compiled_id, Answer::V4(set))] if *compiled_id == id => set.clone(),
        other => panic!("one A RRset compiled to {other:?}"),
    }
}

#[test]
fn keeps_zone_order_and_carries_every_address() {
    let set = a_set(a("www.example.com", &[[198, 18, 1, 2], [198, 18, 1, 1]]));
    let head = set.head;
    assert_eq!((head.ttl, head.count, head.limit), (60, 2, 2));
    assert_eq!(head.addrs[..3], [[198, 18, 1, 2], [198, 18, 1, 1], [0; 4]]);
    assert_eq!(head.flags & EXTENDED, 0, "a few addresses fit the head");
    assert!(set.extension.is_none());
}

/// Plain rotation needs no schedule: the program leads with `k % count`. A schedule that leads
/// with each address in turn is the same order.
#[test]
fn a_plain_rrset_leads_with_each_address_in_turn() {
    let set = a_set(a("www.example.com", &[[192, 0, 2, 1]; 3]));
    assert_eq!((set.head.schedule_len, set.head.flags), (0, 0));
    let mut in_turn = a("www.example.com", &[[192, 0, 2, 1]; 3]);
    in_turn.schedule = vec![0, 1, 2];
    assert_eq!(a_set(in_turn), set);
}

/// More addresses than the head holds go into the extension, in order.
#[test]
fn a_large_rrset_is_extended() {
    let addrs: Vec<[u8; 4]> = (1..=MAX_ADDRS as u8).map(|i| [192, 0, 2, i]).collect();
    let set = a_set(a("many.example", &addrs));
    assert_eq!(set.head.count as usize, MAX_ADDRS);
    assert_eq!((set.head.schedule_len, set.head.flags), (0, EXTENDED));
    assert_eq!(set.head.addrs[..], addrs[..INLINE_ADDRS]);
    let extension = set.extension.expect("extended");
    assert_eq!(extension.addrs[..], addrs[INLINE_ADDRS..]);
    assert_eq!(extension.schedule, [0; MAX_SCHEDULE]);
}

#[test]
fn keeps_the_schedule_and_clamps_the_cap_to_the_addresses() {
    let mut weighted = a("pool.example", &[[192, 0, 2, 1], [192, 0, 2, 2]]);
    weighted.schedule = vec![0, 0, 0, 1];
    weighted.cap = Some(1);
    let set = a_set(weighted);
    let head = set.head;
    assert_eq!((head.count, head.limit, head.schedule_len), (2, 1, 4));
    assert_eq!(head.flags, EXTENDED, "a weighted order is in the extension");
    assert_eq!(
        set.extension.expect("extended").schedule[..5],
        [0, 0, 0, 1, 0]
    );

    let mut wide_cap = a("pool.example", &[[192, 0, 2, 1], [192, 0, 2, 2]]);
    wide_cap.cap = Some(4);
    assert_eq!(
        a_set(wide_cap).head.limit,
        2,
        "a cap above the addresses carries them all"
    );

    let mut longest = a("pool.example", &[[192, 0, 2, 1], [192, 0, 2, 2]]);
    longest.schedule = vec![1; MAX_SCHEDULE];
    assert_eq!(usize::from(a_set(longest).head.schedule_len), MAX_SCHEDULE);
}

#[test]
fn rejects_schedules_and_caps_the_program_cannot_serve() {
    let mut out_of_range = a("pool.example", &[[192, 0, 2, 1], [192, 0, 2, 2]]);
    out_of_range.schedule = vec![0, 2];
    assert!(matches!(
        compile(vec![out_of_range]),
        Err(CompileError::ScheduleIndex {
            index: 2,
            addrs: 2,
            ..
        })
    ));

    let mut too_long = a("pool.example", &[[192, 0, 2, 1], [192, 0, 2, 2]]);
    too_long.schedule = vec![0; MAX_SCHEDULE + 1];
    assert!(matches!(
        compile(vec![too_long]),
        Err(CompileError::ScheduleTooLong { len, .. }) if len == MAX_SCHEDULE + 1
    ));

    let mut no_records = a("pool.example", &[[192, 0, 2, 1]]);
    no_records.cap = Some(0);
    assert!(matches!(
        compile(vec![no_records]),
        Err(CompileError::ZeroCap { .. })
    ));
}

/// The image is sorted by (type, name) whatever the input order, for names that share their
/// first seven octets (where the sort's key ends), names shorter than seven, and both types.
#[test]
fn the_image_is_sorted_by_type_then_name() {
    let names: [&[u8]; 7] = [
        b"\x07longnam\x00",
        b"\x07longnaa\x00",
        b"\x08longname\x00",
        b"\x01a\x00",
        b"\x01a\x01b\x00",
        b"\x00",
        b"\x02ab\x00",
    ];
    let rrsets: Vec<HotRrset> = [AddrType::Aaaa, AddrType::A]
        .into_iter()
        .flat_map(|qtype| {
            let addr = match qtype {
                AddrType::A => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                AddrType::Aaaa => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            names.iter().map(move |name| HotRrset {
                name: name.to_vec(),
                qtype,
                addrs: std::iter::once(addr).collect(),
                ..a("x.example", &[])
            })
        })
        .collect();
    let mut expected: Vec<RrsetId> = rrsets
        .iter()
        .map(|rrset| RrsetId {
            qtype: rrset.qtype,
            name: rrset.name.clone(),
        })
        .collect();
    expected.sort();
    let image = compile(rrsets).unwrap().image;
    let ids: Vec<&RrsetId> = image.rrsets.iter().map(|(id, _)| id).collect();
    assert_eq!(ids, expected.iter().collect::<Vec<_>>());
}

#[test]
fn same_input_same_image() {
    let input = [
        a("b.example", &[[192, 0, 2, 1]]),
        a("a.example", &[[192, 0, 2, 2]]),
    ];
    let mut reversed = input.clone();
    reversed.reverse();
    assert_eq!(
        compile(input.to_vec()).unwrap(),
        compile(reversed.to_vec()).unwrap()
    );
}

#[test]
fn leaves_large_rrsets_to_the_socket_path() {
    let addrs: Vec<[u8; 4]> = (0..=MAX_ADDRS as u8).map(|i| [192, 0, 2, i]).collect();
    let compiled = compile(vec![a("big.example", &addrs)]).unwrap();
    assert!(compiled.image.rrsets.is_empty());
    assert_eq!(
        compiled.skipped[0].reason,
        SkipReason::TooManyAddresses(MAX_ADDRS + 1)
    );
}

#[test]
fn rejects_what_the_authority_never_produces() {
    let mut upper = a("x.example", &[[192, 0, 2, 1]]);
    upper.name = wire("WWW.example");
    assert!(matches!(
        compile(vec![upper]),
        Err(CompileError::BadName { .. })
    ));

    let mut trailing = a("x.example", &[[192, 0, 2, 1]]);
    trailing.name.push(0);
    assert!(matches!(
        compile(vec![trailing]),
        Err(CompileError::BadName { .. })
    ));

    let mut v6_in_a = a("x.example", &[]);
    v6_in_a.addrs.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
    assert!(matches!(
        compile(vec![v6_in_a]),
        Err(CompileError::WrongFamily { .. })
    ));

    assert!(matches!(
        compile(vec![a("x.example", &[])]),
        Err(CompileError::Empty { .. })
    ));

    let twice = a("x.example", &[[192, 0, 2, 1]]);
    assert!(matches!(
        compile(vec![twice.clone(), twice.clone()]),
        Err(CompileError::Duplicate { .. })
    ));
    // Also when one or both copies are too large for an answer set and skipped.
    let oversized = a("x.example", &[[192, 0, 2, 1]; MAX_ADDRS + 1]);
    for pair in [[twice, oversized.clone()], [oversized.clone(), oversized]] {
        assert!(matches!(
            compile(Vec::from(pair)),
            Err(CompileError::Duplicate { .. })
        ));
    }
}

#[test]
fn hot_rrsets_are_the_catalogs_direct_address_rrsets_in_lowercase_wire_format() {
    let zone = crate::zone::Zone::parse(
        "$ORIGIN Example.TEST.\n\
         @     300 SOA ns hostmaster 1 3600 600 86400 60\n\
         @     300 NS  ns\n\
         ns    300 A   192.0.2.53\n\
         WWW    60 A   192.0.2.2\n\
         www    60 A   192.0.2.1\n\
         www    60 AAAA 2001:db8::1\n\
         *.wild 60 A   192.0.2.9\n\
         sub   300 NS  ns.sub\n\
         ns.sub 60 A   192.0.2.99\n",
        std::path::Path::new("example.test.zone"),
        None,
    )
    .unwrap();
    let catalog = crate::authority::Catalog::new(&[zone]).unwrap();
    let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
    assert_eq!(
        hot_rrsets(&catalog),
        [
            HotRrset {
                name: wire("ns.example.test"),
                qtype: AddrType::A,
                ttl: 300,
                addrs: vec![v4("192.0.2.53")].into(),
                schedule: Vec::new(),
                cap: None,
                signed: false,
                rrsigs: None,
            },
            HotRrset {
                name: wire("www.example.test"),
                qtype: AddrType::A,
                ttl: 60,
                addrs: vec![v4("192.0.2.2"), v4("192.0.2.1")].into(),
                schedule: Vec::new(),
                cap: None,
                signed: false,
                rrsigs: None,
            },
            HotRrset {
                name: wire("www.example.test"),
                qtype: AddrType::Aaaa,
                ttl: 60,
                addrs: vec![IpAddr::V6("2001:db8::1".parse().unwrap())].into(),
                schedule: Vec::new(),
                cap: None,
                signed: false,
                rrsigs: None,
            },
        ]
    );
}

/// The hot RRsets of example.test., whose `www` has an A and an AAAA RRset, by type and name;
/// `apex` and `www` are extra records at those owners (RRSIGs in RFC 3597 form: the first two
/// octets of the RDATA are the type covered).
fn hot_rrsets_with(apex: &str, www: &str) -> Vec<HotRrset> {
    let text = format!(
        "$ORIGIN example.test.\n\
         @      300 SOA ns hostmaster 1 3600 600 86400 60\n\
         @      300 NS  ns\n{apex}\
         www     60 A   192.0.2.1\n\
         www     60 AAAA 2001:db8::1\n{www}\
         ns     300 A   192.0.2.53\n"
    );
    let zone =
        crate::zone::Zone::parse(&text, std::path::Path::new("signed.test.zone"), None).unwrap();
    let mut rrsets = hot_rrsets(&crate::authority::Catalog::new(&[zone]).unwrap());
    rrsets.sort_by(|a, b| (a.qtype, &a.name).cmp(&(b.qtype, &b.name)));
    rrsets
}

#[test]
fn rfc4035_3_1_1_rrsets_covered_by_an_rrsig_are_marked_signed_per_type() {
    let signed: Vec<(Vec<u8>, AddrType, bool)> = hot_rrsets_with(
        "",
        "www     60 TYPE46 \\# 21 0001 0d02 0000003c 70dbd880 5e0be100 1234 00 abcd\n",
    )
    .into_iter()
    .map(|r| (r.name, r.qtype, r.signed))
    .collect();
    assert_eq!(
        signed,
        [
            (wire("ns.example.test"), AddrType::A, false),
            (wire("www.example.test"), AddrType::A, true),
            (wire("www.example.test"), AddrType::Aaaa, false),
        ]
    );
    let mut rrset = a("www.example.test", &[[192, 0, 2, 1]]);
    assert_eq!(a_set(rrset.clone()).head.flags, 0);
    rrset.signed = true;
    assert_eq!(a_set(rrset).head.flags, lbdns_common::answer::SIGNED);
}

#[test]
fn rfc5001_the_nsid_is_copied_zero_padded_with_its_checksum_share() {
    use crate::authority::ServerIdentity;
    assert_eq!(nsid(&ServerIdentity::default()), None);
    let identity = ServerIdentity::default()
        .with_nsid(b"abc".to_vec())
        .unwrap();
    let nsid = nsid(&identity).unwrap();
    assert_eq!((nsid.len, &nsid.data[..4]), (3, &b"abc\0"[..]));
    assert!(nsid.data[3..].iter().all(|&b| b == 0));
    // 0x6162 + 0x6300
    assert_eq!(nsid.sum, 0xc462);
    // End-around carry: 0xffff + 0x0002 folds to 0x0002.
    let carried = lbdns_common::edns::Nsid::new(&[0xff, 0xff, 0, 2]).unwrap();
    assert_eq!(carried.sum, 2);
    let longest = vec![0xff; lbdns_common::edns::MAX_NSID_LEN];
    assert!(lbdns_common::edns::Nsid::new(&longest).is_some());
    assert!(lbdns_common::edns::Nsid::new(&[longest, vec![1]].concat()).is_none());
}

/// RFC 4035 §3.1.1: the records a DO=1 answer carries after the addresses, stored whole: owner
/// pointer to the question, type RRSIG, class IN, the RRSIG RRset's TTL, RDLENGTH, RDATA; and
/// their checksum share, summed from their first octet (an odd last octet is a high half).
#[test]
fn rfc4035_3_1_1_signatures_are_stored_as_whole_records_with_their_checksum_share() {
    use lbdns_common::signature::{Signatures, MAX_SIGNATURE_BYTES};
    let stored = Signatures::new(0x0102_0304, [&[0xaa, 0xbb, 0xcc][..], &[0x11][..]]).unwrap();
    let records = [
        0xc0, 0x0c, 0, 46, 0, 1, 1, 2, 3, 4, 0, 3, 0xaa, 0xbb, 0xcc, // 15 octets
        0xc0, 0x0c, 0, 46, 0, 1, 1, 2, 3, 4, 0, 1, 0x11, // 13 octets
    ];
    assert_eq!((stored.len, stored.count), (28, 2));
    assert_eq!(stored.records[..28], records);
    assert!(stored.records[28..].iter().all(|&b| b == 0));
    let mut sum: u32 = records
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    assert_eq!(u32::from(stored.sum), sum);
    // None, and more than the store holds, are not stored.
    assert_eq!(Signatures::new(60, std::iter::empty()), None);
    let fits = vec![0; MAX_SIGNATURE_BYTES - 12];
    assert!(Signatures::new(60, [&fits[..]]).is_some());
    let too_big = vec![0; MAX_SIGNATURE_BYTES - 11];
    assert_eq!(Signatures::new(60, [&too_big[..]]), None);
}

/// A signed RRset with RRSIGs the socket path sends gets `SIGNATURES` and its records in the
/// image; one whose RRSIGs do not fit keeps `SIGNED` alone (DO=1 goes to the socket path), and
/// is reported.
#[test]
fn signed_rrsets_carry_their_signatures_unless_they_do_not_fit() {
    use lbdns_common::answer::{SIGNATURES, SIGNED};
    let mut small = a("small.example.test", &[[192, 0, 2, 1]]);
    small.signed = true;
    small.rrsigs = Some(Rrsigs {
        ttl: 90,
        rdatas: vec![vec![0, 1, 13], vec![0, 1, 8]],
    });
    let mut big = a("big.example.test", &[[192, 0, 2, 2]]);
    big.signed = true;
    big.rrsigs = Some(Rrsigs {
        ttl: 90,
        rdatas: vec![vec![0; 543]; 2],
    });
    let compiled = compile(vec![big.clone(), small.clone()]).unwrap();
    let flags = |name: &str| {
        compiled
            .image
            .rrsets
            .iter()
            .find_map(|(id, answer)| match answer {
                Answer::V4(set) if id.name == wire(name) => {
                    Some((set.head.flags, set.head.signatures))
                }
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(flags("small.example.test"), (SIGNED | SIGNATURES, 0));
    assert_eq!(flags("big.example.test"), (SIGNED, 0));
    let small_id = RrsetId {
        qtype: AddrType::A,
        name: wire("small.example.test"),
    };
    let stored = compiled.image.signatures_of(&small_id).unwrap();
    assert_eq!((stored.len, stored.count), (2 * 15, 2));
    assert_eq!(compiled.image.signatures.len(), 1);
    assert_eq!(
        compiled.signatures_too_large,
        [RrsetId {
            qtype: AddrType::A,
            name: wire("big.example.test"),
        }]
    );
}

/// The catalog hands over RRSIGs only where the socket path sends them: in a zone whose apex
/// DNSKEY is signed, per type covered, with the RRSIG RRset's own TTL.
#[test]
fn rfc4035_3_1_1_rrsigs_come_from_secure_zones_only() {
    let zone = |dnskey_signed: bool| {
        let apex_rrsig = if dnskey_signed {
            "@ 300 TYPE46 \\# 21 0030 0d02 0000012c 70dbd880 5e0be100 1234 00 abcd\n"
        } else {
            ""
        };
        hot_rrsets_with(
            apex_rrsig,
            "www     90 TYPE46 \\# 21 0001 0d02 0000003c 70dbd880 5e0be100 1234 00 abcd\n",
        )
    };
    let www_a = |rrsets: Vec<HotRrset>| {
        rrsets
            .into_iter()
            .find(|r| r.name == wire("www.example.test") && r.qtype == AddrType::A)
            .unwrap()
    };
    let insecure = www_a(zone(false));
    assert!(insecure.signed);
    assert_eq!(insecure.rrsigs, None);
    let secure = zone(true);
    let aaaa = secure
        .iter()
        .find(|r| r.name == wire("www.example.test") && r.qtype == AddrType::Aaaa)
        .unwrap();
    assert_eq!((aaaa.signed, &aaaa.rrsigs), (false, &None));
    let a = www_a(secure);
    let rrsigs = a.rrsigs.unwrap();
    assert_eq!(rrsigs.ttl, 90);
    assert_eq!(rrsigs.rdatas.len(), 1);
    assert_eq!(rrsigs.rdatas[0][..2], [0, 1]);
    assert_eq!(rrsigs.rdatas[0].len(), 21);
}

/// Since RRSIGs form one RRset per type covered, a name's second signed type must be found
/// too: here the RRSIG over AAAA comes first in the file.
#[test]
fn rfc4035_3_1_1_every_signed_type_of_a_name_is_marked() {
    let www: Vec<(AddrType, bool)> = hot_rrsets_with(
        "",
        "www     60 TYPE46 \\# 21 001c 0d02 0000003c 70dbd880 5e0be100 1234 00 abcd\n\
         www     60 TYPE46 \\# 21 0001 0d02 0000003c 70dbd880 5e0be100 1234 00 abcd\n",
    )
    .into_iter()
    .filter(|r| r.name == wire("www.example.test"))
    .map(|r| (r.qtype, r.signed))
    .collect();
    assert_eq!(www, [(AddrType::A, true), (AddrType::Aaaa, true)]);
}

/// A catalog of `names` names under example.test., each with an A and an AAAA RRset.
fn catalog_of_names(names: usize) -> crate::authority::Catalog {
    let mut text = String::from(
        "$ORIGIN example.test.\n\
         @  300 SOA ns hostmaster 1 3600 600 86400 60\n\
         @  300 NS  ns\n\
         ns 300 A   192.0.2.53\n",
    );
    for i in 0..names {
        text += &format!(
            "h{i} 60 A 192.0.2.{}\nh{i} 60 AAAA 2001:db8::{i:x}\n",
            i % 250 + 1
        );
    }
    let zone =
        crate::zone::Zone::parse(&text, std::path::Path::new("names.test.zone"), None).unwrap();
    crate::authority::Catalog::new(&[zone]).unwrap()
}

/// On any number of threads a catalog compiles to the image it gives on one: the shares of its
/// names, and the chunks of its image, take every RRset once and in order.
#[test]
fn a_catalog_compiles_to_the_same_image_on_any_number_of_threads() {
    let catalog = catalog_of_names(1000);
    let alone = compile(hot_rrsets(&catalog)).unwrap();
    assert_eq!(alone.image.rrsets.len(), 2001);
    for threads in [1, 2, 3, 7] {
        let split = shares::compile_on(&catalog, Vec::new(), threads).unwrap();
        assert_eq!(split, alone, "on {threads} threads");
    }
}

/// An RRset given twice is rejected on several threads too, where its copies come from
/// different shares of the input.
#[test]
fn a_duplicate_from_another_share_is_rejected() {
    let catalog = catalog_of_names(1000);
    let last = hot_rrsets(&catalog)
        .into_iter()
        .find(|rrset| rrset.name == wire("h999.example.test") && rrset.qtype == AddrType::A)
        .unwrap();
    for threads in [1, 2, 3] {
        assert!(
            matches!(
                shares::compile_on(&catalog, vec![last.clone()], threads),
                Err(CompileError::Duplicate { .. })
            ),
            "on {threads} threads"
        );
    }
}
