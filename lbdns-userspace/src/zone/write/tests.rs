use std::path::{Path, PathBuf};

use hickory_proto::rr::rdata::{CNAME, TXT};
use hickory_proto::rr::{Name, RData, Record};

use super::save;
use crate::zone::Zone;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// Saves `zone` into a fresh directory and loads it back.
fn round_trip(zone: &Zone, label: &str) -> Zone {
    let dir = std::env::temp_dir().join(format!("lbdns-write-{}-{label}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kept.zone");
    save(zone, &path).unwrap_or_else(|e| panic!("{label}: {e}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let back = Zone::load(&path, None).unwrap_or_else(|e| panic!("{label}: {e}\n{text}"));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        ["kept.zone"],
        "{label}: only the zone file is left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    back
}

/// Owner (case included), TTL, class and RDATA of every record, in order.
fn same_records(a: &Zone, b: &Zone, label: &str) {
    let key = |r: &Record| {
        (
            r.name.to_string(),
            r.ttl,
            r.dns_class,
            r.record_type(),
            r.data.clone(),
        )
    };
    let mut left: Vec<_> = a.records.iter().map(|r| key(&r.record)).collect();
    let mut right: Vec<_> = b.records.iter().map(|r| key(&r.record)).collect();
    // The SOA moves to the front; compare as multisets in a stable order.
    left.sort_by_key(|k| format!("{k:?}"));
    right.sort_by_key(|k| format!("{k:?}"));
    assert_eq!(left.len(), right.len(), "{label}: record count");
    for (l, r) in left.iter().zip(&right) {
        assert_eq!(l, r, "{label}");
    }
    assert_eq!(a.origin, b.origin, "{label}");
}

#[test]
fn every_corpus_record_survives_save_and_load() {
    let zones = [
        ("tests/corpus/rdata.zone", None),
        ("tests/corpus/lbdns.test.zone", None),
        ("tests/corpus/child.lbdns.test.zone", None),
        ("tests/corpus/dnssec.zone", Some("dnssec.test.")),
        ("zones/example.com.zone", None),
    ];
    for (file, origin) in zones {
        let origin = origin.map(|o| Name::from_ascii(o).unwrap());
        let zone = Zone::load(&repo(file), origin).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(zone.records.len() >= 3, "{file}");
        let back = round_trip(&zone, &file.replace('/', "_"));
        same_records(&zone, &back, file);
    }
}

#[test]
fn awkward_names_and_strings_survive_save_and_load() {
    let text = "$ORIGIN odd.test.\n$TTL 60\n@ SOA ns h 4294967295 4294967295 1 2 3\n@ NS ns\n\
                ns A 192.0.2.1\n";
    let mut zone = Zone::parse(text, Path::new("odd.zone"), None).unwrap();
    let odd = Name::from_labels(vec![
        b"a.b".to_vec(),
        b"sp ace\"(;)\\".to_vec(),
        vec![0, 200, b'@', b'$'],
        b"odd".to_vec(),
        b"test".to_vec(),
    ])
    .unwrap();
    let txt = TXT::from_bytes(vec![b"quote\" back\\ semi; (paren)", &[0, 7, 255], b""]);
    let template = zone.records[2].clone();
    let alias = Name::from_ascii("alias.odd.test.").unwrap();
    for (owner, data) in [
        (odd.clone(), RData::TXT(txt)),
        (alias, RData::CNAME(CNAME(odd.clone()))),
    ] {
        let mut r = template.clone();
        r.record = Record::from_rdata(owner, 60, data);
        zone.records.push(r);
    }
    let back = round_trip(&zone, "odd");
    same_records(&zone, &back, "odd names");
}

#[test]
fn a_failed_save_leaves_the_old_file_and_no_temporary() {
    let zone = Zone::load(&repo("zones/example.com.zone"), None).unwrap();
    let dir = std::env::temp_dir().join(format!("lbdns-write-fail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kept = dir.join("kept.zone");
    save(&zone, &kept).unwrap();
    let before = std::fs::read(&kept).unwrap();
    // The rename cannot replace a non-empty directory: the save fails after writing.
    let blocked = dir.join("blocked.zone");
    std::fs::create_dir_all(blocked.join("inside")).unwrap();
    let error = save(&zone, &blocked).unwrap_err();
    assert_eq!(error.path, blocked);
    assert_eq!(std::fs::read(&kept).unwrap(), before);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["blocked.zone", "kept.zone"],
        "the temporary file is gone"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
