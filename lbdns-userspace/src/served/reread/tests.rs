//! A zone file read again over the index in force answers exactly as the file indexed whole
//! does, changes only the owners that differ, and falls back to the whole reading for what it
//! cannot patch.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name};

use super::*;
use crate::authority::patch_tests::answers;

const ZONE: &str = "$ORIGIN r.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 60\n@ NS ns\n\
                    ns A 198.18.0.53\na A 198.18.0.1\na A 198.18.0.2\na AAAA 2001:db8::1\n\
                    b.c A 198.18.0.3\nwww CNAME a\nm MX 10 a\n*.w TXT \"wild\"\n\
                    d NS ns.d\nns.d A 198.18.1.1\n";

/// A zone file in a directory of its own, named after the test.
struct File {
    dir: PathBuf,
    spec: ZoneSpec,
}

impl File {
    fn new(test: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("lbdns-reread-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.test.zone");
        std::fs::write(&path, text).unwrap();
        Self {
            dir,
            spec: ZoneSpec {
                file: path,
                origin: None,
            },
        }
    }

    fn write(&self, text: &str) {
        std::fs::write(&self.spec.file, text).unwrap();
    }

    fn whole(&self) -> ZoneData {
        ZoneData::new(&Zone::load(&self.spec.file, None).unwrap())
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn catalog(data: ZoneData) -> Catalog {
    Catalog::default()
        .with_zones([(data.origin.clone(), Some(Arc::new(data)))])
        .unwrap()
}

fn served(catalog: &Catalog) -> &Arc<ZoneData> {
    catalog
        .zone_at(&Name::from_ascii("r.test.").unwrap())
        .flatten()
        .unwrap()
}

/// Every owner of both texts, for `answers` to ask about.
fn owners(texts: &[&str]) -> Vec<Name> {
    let mut names: Vec<Name> = texts
        .iter()
        .flat_map(|text| {
            Zone::parse(text, Path::new("t"), None)
                .unwrap()
                .records
                .into_iter()
                .map(|r| r.record.name)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Reads `new` over the zone indexed from `old`: checks the result answers every question as
/// `new` indexed whole does, and returns the names the patch touched, sorted.
fn reread(test: &str, old: &str, new: &str) -> Vec<String> {
    let file = File::new(test, old);
    let in_force = catalog(file.whole());
    file.write(new);
    let (patched, _) = over_index(&file.spec, &in_force).unwrap_or_else(|why| panic!("{why}"));
    let mut touched: Vec<String> = patched
        .patched_names(served(&in_force))
        .expect("a patch of the zone in force")
        .iter()
        .map(ToString::to_string)
        .collect();
    touched.sort();
    let names = owners(&[old, new]);
    let (ours, whole) = (answers(patched, &names), answers(file.whole(), &names));
    assert_eq!(ours.len(), whole.len());
    for ((question, mine), (_, theirs)) in ours.iter().zip(&whole) {
        assert_eq!(
            mine, theirs,
            "{question}: the reread zone answers otherwise"
        );
    }
    touched
}

fn refusal(test: &str, old: &str, new: &str) -> Whole {
    let file = File::new(test, old);
    let in_force = catalog(file.whole());
    file.write(new);
    match over_index(&file.spec, &in_force) {
        Ok(_) => panic!("read as a patch, not whole"),
        Err(why) => why,
    }
}

#[test]
fn an_unchanged_file_touches_the_apex_alone() {
    assert_eq!(reread("same", ZONE, ZONE), ["r.test."]);
}

#[test]
fn a_changed_address_and_serial_touch_that_name_and_the_apex() {
    let new = ZONE
        .replace("1 2 3 4 60", "2 2 3 4 60")
        .replace("198.18.0.3", "198.18.0.9");
    assert_eq!(reread("address", ZONE, &new), ["b.c.r.test.", "r.test."]);
}

#[test]
fn added_names_bring_their_empty_non_terminals() {
    let new = format!("{ZONE}x.y.z A 198.18.0.7\nc TXT \"now\"\n");
    assert_eq!(
        reread("added", ZONE, &new),
        [
            "c.r.test.",
            "r.test.",
            "x.y.z.r.test.",
            "y.z.r.test.",
            "z.r.test."
        ]
    );
}

#[test]
fn a_record_removed_from_an_rrset_is_found_by_what_the_file_no_longer_gives() {
    let new = ZONE.replace("a A 198.18.0.2\n", "");
    assert_eq!(reread("removed", ZONE, &new), ["a.r.test.", "r.test."]);
}

/// The whole reading serves records and types in the file's order and the owner and names
/// in data as written: an owner whose file order or case changed is read again.
#[test]
fn order_and_case_changes_are_changes() {
    let swapped = ZONE.replace(
        "a A 198.18.0.1\na A 198.18.0.2\n",
        "a A 198.18.0.2\na A 198.18.0.1\n",
    );
    assert_eq!(reread("order", ZONE, &swapped), ["a.r.test.", "r.test."]);
    let types = ZONE.replace(
        "a A 198.18.0.1\na A 198.18.0.2\na AAAA 2001:db8::1\n",
        "a AAAA 2001:db8::1\na A 198.18.0.1\na A 198.18.0.2\n",
    );
    assert_eq!(reread("types", ZONE, &types), ["a.r.test.", "r.test."]);
    let owner = ZONE.replace("b.c A", "B.c A");
    assert_eq!(
        reread("owner-case", ZONE, &owner),
        ["b.c.r.test.", "r.test."]
    );
    let target = ZONE.replace("www CNAME a", "www CNAME A");
    assert_eq!(
        reread("data-case", ZONE, &target),
        ["r.test.", "www.r.test."]
    );
}

/// RFC 2181 §5: duplicates are one record, and an RRset one TTL (the lowest, with a warning).
#[test]
fn duplicates_cost_nothing_and_a_ttl_mismatch_is_read_again_and_warned() {
    let duplicate = format!("{ZONE}a A 198.18.0.1\n");
    assert_eq!(reread("duplicate", ZONE, &duplicate), ["r.test."]);
    let ttl = format!("{ZONE}a 60 A 198.18.0.4\n");
    assert_eq!(reread("ttl", ZONE, &ttl), ["a.r.test.", "r.test."]);
    let file = File::new("ttl-warning", ZONE);
    let in_force = catalog(file.whole());
    file.write(&ttl);
    let (_, warnings) = over_index(&file.spec, &in_force).unwrap();
    let text = |warnings: &[ZoneError]| -> Vec<String> {
        warnings.iter().map(ToString::to_string).collect()
    };
    let whole = Zone::load(&file.spec.file, None).unwrap().warnings;
    assert_eq!(whole.len(), 1);
    assert_eq!(
        text(&warnings),
        text(&whole),
        "the whole reading's warnings"
    );
}

/// What a refusal must be.
type Expected = fn(&Whole) -> bool;

#[test]
fn what_a_patch_cannot_hold_is_read_whole() {
    let cases: [(&str, String, Expected); 5] = [
        ("name-gone", ZONE.replace("b.c A 198.18.0.3\n", ""), |why| {
            matches!(why, Whole::Unpatchable(Unpatchable::Emptied(_)))
        }),
        ("delegation", format!("{ZONE}e NS ns.d\n"), |why| {
            matches!(why, Whole::Unpatchable(Unpatchable::Delegation(_)))
        }),
        ("broken", format!("{ZONE}f A 198.18.0.300\n"), |why| {
            matches!(why, Whole::Unreadable)
        }),
        ("invalid", format!("{ZONE}www A 198.18.0.8\n"), |why| {
            matches!(why, Whole::Invalid)
        }),
        (
            "signed",
            format!("{ZONE}a RRSIG A 8 3 300 20300101000000 20200101000000 1 r.test. AAAA\n"),
            |why| matches!(why, Whole::Dnssec(_)),
        ),
    ];
    for (test, new, expected) in cases {
        let why = refusal(test, ZONE, &new);
        assert!(expected(&why), "{test}: {why}");
    }
}

#[test]
fn a_zone_not_served_or_changed_past_the_overlay_is_read_whole() {
    let file = File::new("not-served", ZONE);
    let why = over_index(&file.spec, &Catalog::default()).unwrap_err();
    assert!(matches!(why, Whole::NotServed(_)), "{why}");
    drop(file);
    let many: String = (0..5000)
        .map(|i| format!("h{i} A 198.18.{}.{}\n", i / 250, i % 250))
        .collect();
    let why = refusal("too-many", ZONE, &format!("{ZONE}{many}"));
    assert!(matches!(why, Whole::TooManyChanges(_)), "{why}");
}

#[test]
fn an_origin_given_in_the_configuration_is_the_zone_compared() {
    let file = File::new("origin", &ZONE.replace("$ORIGIN r.test.\n", ""));
    let origin = Name::from_ascii("r.test.").unwrap();
    let in_force = catalog(ZoneData::new(
        &Zone::load(&file.spec.file, Some(origin.clone())).unwrap(),
    ));
    let spec = ZoneSpec {
        file: file.spec.file.clone(),
        origin: Some(origin),
    };
    let (patched, _) = over_index(&spec, &in_force).unwrap();
    let touched = patched.patched_names(served(&in_force)).unwrap();
    assert_eq!(
        touched,
        [LowerName::new(&Name::from_ascii("r.test.").unwrap())]
    );
}

/// RFC 1035 §5.1: records of an `$INCLUDE`d file are the zone's like any other.
#[test]
fn a_change_in_an_included_file_is_patched_in() {
    let file = File::new("include", &format!("{ZONE}$INCLUDE inc.zone\n"));
    let included = file.dir.join("inc.zone");
    std::fs::write(&included, "i1 A 198.18.2.1\ni2 A 198.18.2.2\n").unwrap();
    let in_force = catalog(file.whole());
    std::fs::write(&included, "i1 A 198.18.2.1\ni2 A 198.18.2.9\n").unwrap();
    let (patched, _) = over_index(&file.spec, &in_force).unwrap();
    let touched: Vec<String> = patched
        .patched_names(served(&in_force))
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(touched, ["r.test.", "i2.r.test."]);
    let name = |text: &str| Name::from_ascii(text).unwrap();
    let names = [name("i1.r.test."), name("i2.r.test.")];
    assert_eq!(answers(patched, &names), answers(file.whole(), &names));
}

/// A file written between the passes is told apart by its stamp, whatever its records.
#[test]
fn a_file_written_again_has_another_stamp() {
    let file = File::new("stamp", ZONE);
    let mut files = Files::default();
    let path: Arc<Path> = Arc::from(file.spec.file.as_path());
    files.note(&path);
    files.note(&path.clone());
    assert_eq!(files.0.len(), 1);
    let before = files.stamps();
    assert!(before[0].is_some());
    assert_eq!(files.stamps(), before);
    file.write(&ZONE.replace("198.18.0.1", "198.18.0.10"));
    assert_ne!(files.stamps(), before);
}
