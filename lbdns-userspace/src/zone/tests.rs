//! Zone loading as an operator meets it: directives, defaults and `file:line` errors.

use std::path::Path;

use hickory_proto::rr::{Name, RecordType};

use super::{Zone, ZoneError, ZoneErrorKind};

fn parse(text: &str) -> Result<Zone, super::ZoneErrors> {
    Zone::parse(text, Path::new("db.test"), None)
}

/// The only error of a zone that should have exactly one.
#[track_caller]
fn error(text: &str) -> ZoneError {
    let errors = parse(text).unwrap_err();
    assert_eq!(errors.total(), 1, "{errors}");
    errors.errors()[0].clone()
}

const SOA: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\n";

#[test]
fn origin_comes_from_the_soa_and_ttls_default_per_rfc_1035() {
    let zone = parse(&format!(
        "{SOA}a 60 A 198.18.0.1\n  A 198.18.0.2\nb IN 30 A 198.18.0.3\n"
    ))
    .unwrap();
    assert_eq!(zone.origin, Name::from_ascii("example.test.").unwrap());
    let ttls: Vec<(String, u32)> = zone
        .records
        .iter()
        .filter(|r| r.record.record_type() == RecordType::A)
        .map(|r| (r.record.name.to_ascii(), r.record.ttl))
        .collect();
    assert_eq!(ttls[0], ("a.example.test.".into(), 60));
    assert_eq!(ttls[2], ("b.example.test.".into(), 30));
}

#[test]
fn without_ttl_directive_the_last_explicit_ttl_applies() {
    let zone = parse("$ORIGIN t.\n@ 100 SOA ns h 1 2 3 4 5\n@ NS ns\nns A 198.18.0.1\n").unwrap();
    assert!(zone.records.iter().all(|r| r.record.ttl == 100));
    let errors = parse("$ORIGIN t.\n@ SOA ns h 1 2 3 4 5\n").unwrap_err();
    let err = &errors.errors()[0];
    assert_eq!((err.line, &err.kind), (2, &ZoneErrorKind::NoTtl));
}

#[test]
fn errors_name_file_and_line() {
    let err = error(&format!("{SOA}ok A 198.18.0.1\nbad A 198.18.0.300\n"));
    assert_eq!(err.line, 6);
    assert!(err.to_string().starts_with("db.test:6: A RDATA"), "{err}");
    let err = error(&format!("{SOA}x BOGUS 1\n"));
    assert_eq!(err.kind, ZoneErrorKind::UnknownType("BOGUS".into()));
    let err = error(&format!("{SOA}$GENERATE 1-2 a A 1.2.3.4\n"));
    assert!(matches!(err.kind, ZoneErrorKind::Directive(_)));
    let err = error(&format!("{SOA}x CH A 198.18.0.1\n"));
    assert!(matches!(err.kind, ZoneErrorKind::Class(_)));
}

/// RFC 3597's generic class, in any case, is a class; `IN` under it is still refused, as any
/// class but the mnemonic `IN` is. A word that only starts like one is read as a type.
#[test]
fn generic_classes_are_classes() {
    for class in ["CLASS1", "class255"] {
        let err = error(&format!("{SOA}x {class} A 198.18.0.1\n"));
        assert_eq!(err.kind, ZoneErrorKind::Class(class.into()));
    }
    for word in ["CLASS", "CLASSX", "CLASS70000"] {
        let err = error(&format!("{SOA}x {word} A 198.18.0.1\n"));
        assert_eq!(err.kind, ZoneErrorKind::UnknownType(word.into()));
    }
}

#[test]
fn every_error_in_a_file_is_reported_in_file_order() {
    let text = format!(
        "{SOA}a A 198.18.0.300\nb ) A 198.18.0.1\nc MX 10\nok A 198.18.0.1\n\
         d DS 1 5 1 zz\ne NSEC3 2 0 0 - AAAA\nout.other. A 198.18.0.1\nf CNAME x\nf A 198.18.0.2\n"
    );
    let errors = parse(&text).unwrap_err();
    let lines: Vec<usize> = errors.errors().iter().map(|e| e.line).collect();
    assert_eq!(lines, [5, 6, 7, 9, 10, 11, 13], "{errors}");
    let text = errors.to_string();
    assert!(
        text.contains("db.test:7: MX RDATA: missing exchange"),
        "{text}"
    );
    assert!(text.contains("db.test:9: DS RDATA: digest: expected an even number of hex digits"));
    assert!(text.contains("db.test:10: NSEC3 RDATA: unknown NSEC3 hash algorithm 2"));
    assert_eq!(text.lines().count(), 7);
}

#[test]
fn past_the_limit_errors_are_counted_not_listed() {
    let bad: String = (0..250).map(|i| format!("h{i} A nonsense\n")).collect();
    let errors = parse(&format!("{SOA}{bad}")).unwrap_err();
    assert_eq!(errors.errors().len(), super::MAX_REPORTED);
    assert_eq!(errors.total(), 250);
    let messages: Vec<String> = errors.messages().collect();
    assert_eq!(messages.len(), super::MAX_REPORTED + 1);
    assert_eq!(
        messages[0],
        "db.test:5: A RDATA: address: expected an IPv4 address, found 'nonsense'"
    );
    assert_eq!(messages[100], "db.test: and 150 more error(s) not shown");
}

#[test]
fn rfc_4035_section_2_5_a_cname_has_its_rrsig_and_nsec() {
    let text =
        format!("{SOA}w CNAME x\nw RRSIG CNAME 13 3 300 1 0 1 example.test. AQID\nw NSEC x A\n");
    assert_eq!(parse(&text).unwrap().records.len(), 5);
    let err = error(&format!("{text}w HINFO a b\n"));
    assert!(matches!(err.kind, ZoneErrorKind::CnameAndOther(_)));
}

#[test]
fn zone_rules_of_rfc_1034_are_enforced() {
    let no_soa = error("$ORIGIN t.\n$TTL 1\nns A 198.18.0.1\n");
    assert!(matches!(no_soa.kind, ZoneErrorKind::NoSoa(_)));
    let two = error(&format!("{SOA}@ SOA ns h 2 2 3 4 5\n"));
    assert_eq!((two.line, two.kind), (5, ZoneErrorKind::DuplicateSoa));
    let clash = error(&format!("{SOA}w CNAME x\nw A 198.18.0.1\n"));
    assert_eq!(clash.line, 6);
    assert!(matches!(clash.kind, ZoneErrorKind::CnameAndOther(_)));
    let outside = error(&format!("{SOA}other.test. A 198.18.0.1\n"));
    assert!(matches!(outside.kind, ZoneErrorKind::OutOfZone { .. }));
    let apex = error(&format!("{SOA}@ CNAME x\n"));
    assert!(matches!(
        apex.kind,
        ZoneErrorKind::ApexCname | ZoneErrorKind::CnameAndOther(_)
    ));
}

#[test]
fn differing_ttls_in_an_rrset_are_lowered_with_a_warning() {
    let zone = parse(&format!("{SOA}a 60 A 198.18.0.1\na 30 A 198.18.0.2\n")).unwrap();
    assert!(zone
        .records
        .iter()
        .filter(|r| r.record.record_type() == RecordType::A)
        .all(|r| r.record.ttl == 30));
    assert!(zone
        .warnings
        .iter()
        .any(|w| matches!(w.kind, ZoneErrorKind::TtlMismatch { ttl: 30, .. })));
}

/// The TTLs of the zone's records of `rtype`, in file order.
fn ttls_of(zone: &Zone, rtype: RecordType) -> Vec<u32> {
    zone.records
        .iter()
        .filter(|r| r.record.record_type() == rtype)
        .map(|r| r.record.ttl)
        .collect()
}

#[test]
fn an_rrset_written_in_pieces_and_cases_is_one_set_for_its_ttl() {
    // The owner's records are not written together, and one spells it in capitals: still
    // one RRset (RFC 4343), lowered as one, with one warning. `b`'s A RRset is its own.
    let zone = parse(&format!(
        "{SOA}a 60 A 198.18.0.1\nb 90 A 198.18.0.3\nA 30 A 198.18.0.2\nb 90 A 198.18.0.4\n"
    ))
    .unwrap();
    let ttls = ttls_of(&zone, RecordType::A);
    assert_eq!(ttls, [30, 90, 30, 90]);
    let warned: Vec<usize> = zone
        .warnings
        .iter()
        .filter(|w| matches!(w.kind, ZoneErrorKind::TtlMismatch { ttl: 30, .. }))
        .map(|w| w.line)
        .collect();
    assert_eq!(warned, [5]);
}

#[test]
fn rfc_4034_section_3_signatures_keep_the_ttl_of_what_they_cover() {
    let sig = |covered: &str, ttl: u32| {
        format!("@ {ttl} RRSIG {covered} 13 2 {ttl} 1 0 1 example.test. AQID\n")
    };
    let text = format!(
        "{SOA}{}{}{}",
        sig("SOA", 300),
        sig("NSEC3PARAM", 0),
        sig("SOA", 200)
    );
    let zone = parse(&text).unwrap();
    let ttls = ttls_of(&zone, RecordType::RRSIG);
    assert_eq!(ttls, [200, 0, 200]);
    // The RRSIG(NSEC3PARAM) without an NSEC3PARAM gets its own warning (zone/dnssec.rs).
    let ttl_warnings: Vec<&ZoneError> = zone
        .warnings
        .iter()
        .filter(|w| matches!(w.kind, ZoneErrorKind::TtlMismatch { .. }))
        .collect();
    assert_eq!(ttl_warnings.len(), 1, "{:?}", zone.warnings);
    assert_eq!(ttl_warnings[0].line, 5);
}

#[test]
fn explicit_origin_must_match_the_soa() {
    let named = Name::from_ascii("example.test.").unwrap();
    let text = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 198.18.0.1\n";
    let zone = Zone::parse(text, Path::new("db"), Some(named)).unwrap();
    assert_eq!(zone.records.len(), 3);
    let other = Name::from_ascii("other.test.").unwrap();
    assert!(Zone::parse(
        &format!("$ORIGIN example.test.\n{text}"),
        Path::new("db"),
        Some(other)
    )
    .is_err());
}

#[test]
fn include_is_relative_to_the_zone_file_and_keeps_the_parent_origin() {
    let dir = std::env::temp_dir().join(format!("lbdns-include-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("parts")).unwrap();
    std::fs::write(
        dir.join("parts/hosts"),
        "$ORIGIN hosts.example.test.\nh1 A 198.18.0.9\n",
    )
    .unwrap();
    std::fs::write(dir.join("parts/broken"), "\n\nx A nonsense\n").unwrap();
    let main = dir.join("db");
    let text =
        format!("{SOA}$INCLUDE parts/hosts\nafter A 198.18.0.10\n$INCLUDE parts/hosts sub\n");
    std::fs::write(&main, &text).unwrap();
    let zone = Zone::load(&main, None).unwrap();
    let names: Vec<String> = zone
        .records
        .iter()
        .map(|r| r.record.name.to_ascii())
        .collect();
    assert!(names.contains(&"h1.hosts.example.test.".to_owned()));
    assert!(
        names.contains(&"after.example.test.".to_owned()),
        "{names:?}"
    );
    std::fs::write(&main, format!("{SOA}$INCLUDE parts/broken\n")).unwrap();
    let err = Zone::load(&main, None).unwrap_err().errors()[0].clone();
    assert_eq!(
        (err.file.ends_with("parts/broken"), err.line),
        (true, 3),
        "{err}"
    );
    std::fs::write(&main, format!("{SOA}$INCLUDE db\n")).unwrap();
    assert_eq!(
        Zone::load(&main, None).unwrap_err().errors()[0].kind,
        ZoneErrorKind::IncludeDepth
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_example_zone_loads_cleanly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zones/example.com.zone");
    let zone = Zone::load(&path, None).unwrap();
    assert!(zone.warnings.is_empty(), "{:?}", zone.warnings);
    assert_eq!(zone.origin.to_ascii(), "example.com.");
}

#[test]
fn rfc_6672_section_2_4_no_data_below_a_dname_and_one_dname_per_owner() {
    let text = format!("{SOA}d DNAME target.test.\nd A 198.18.0.1\n");
    assert_eq!(parse(&text).unwrap().records.len(), 4);
    let below = error(&format!("{text}x.y.d A 198.18.0.2\nx.y.d TXT \"t\"\n"));
    assert_eq!(below.line, 7);
    assert!(
        matches!(below.kind, ZoneErrorKind::DataBelowDname { ref dname, .. } if dname == "d.example.test.")
    );
    let two = error(&format!("{text}d DNAME other.test.\n"));
    assert!(matches!(two.kind, ZoneErrorKind::MultipleDname(_)));
    let cname = error(&format!("{text}d CNAME x\n"));
    assert!(matches!(cname.kind, ZoneErrorKind::CnameAndOther(_)));
    // §2.3: a DNAME at the apex redirects the whole zone; the apex keeps its SOA and NS.
    let apex = parse(&format!("{SOA}@ DNAME example.net.\n")).unwrap();
    assert_eq!(apex.records.len(), 3);
}

/// `Zone::stream` reads a file as `Zone::load` does, record for record and error for error,
/// and stops when told.
#[test]
fn streaming_a_file_gives_what_loading_it_reads() {
    let dir = std::env::temp_dir().join(format!("lbdns-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.test");
    let text =
        format!("{SOA}a 60 A 198.18.0.1\n  AAAA 2001:db8::1\n$INCLUDE inc\nb ( TXT\n \"x\" )\n");
    std::fs::write(&path, &text).unwrap();
    std::fs::write(dir.join("inc"), "c A 198.18.0.3\n").unwrap();
    let loaded = Zone::load(&path, None).unwrap();
    let mut streamed = Vec::new();
    let errors = Zone::stream(&path, None, |source| {
        streamed.push(source);
        true
    });
    assert!(errors.is_empty());
    let lines = |records: &[super::SourceRecord]| -> Vec<String> {
        records
            .iter()
            .map(|r| format!("{}:{} {}", r.file.display(), r.line, r.record))
            .collect()
    };
    assert_eq!(lines(&streamed), lines(&loaded.records));
    let mut taken = 0;
    Zone::stream(&path, None, |_| {
        taken += 1;
        taken < 2
    });
    assert_eq!(taken, 2, "reading stops at the first false");
    std::fs::write(&path, format!("{text}d A 198.18.0.300\n")).unwrap();
    let errors = Zone::stream(&path, None, |_| true);
    let loaded = Zone::load(&path, None).unwrap_err();
    assert_eq!(errors.to_string(), loaded.to_string());
    assert_eq!(errors.total(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
