//! RFC 9432 read by section, and a catalog's configuration.

use std::path::Path;

use hickory_proto::rr::{LowerName, Name};

use super::config::claim_once;
use super::members::{read, CatalogError, Members, SkipReason};
use super::{CatalogEntry, Consumed};
use crate::zone::Zone;

const HEAD: &str = "$ORIGIN catalog.invalid.
$TTL 0
@ SOA invalid. invalid. 1 3600 600 2147483646 0
@ NS invalid.
";

fn catalog(body: &str) -> Zone {
    let text = format!("{HEAD}{body}");
    Zone::parse(
        &text,
        Path::new("catalog.zone"),
        Some(name("catalog.invalid.")),
    )
    .unwrap_or_else(|e| panic!("{:?}", e.messages().collect::<Vec<_>>()))
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn zones(members: &Members) -> Vec<(String, String)> {
    members
        .members
        .iter()
        .map(|m| (m.zone.to_ascii(), m.unique.clone()))
        .collect()
}

#[test]
fn rfc9432_4_1_members_are_ptrs_at_unique_ids_under_zones() {
    let members = read(&catalog(
        "version TXT \"2\"
m1.zones PTR example.com.
M2.zones PTR example.net.
",
    ))
    .unwrap();
    assert_eq!(
        zones(&members),
        [
            ("example.com.".to_owned(), "m1".to_owned()),
            ("example.net.".to_owned(), "m2".to_owned())
        ]
    );
    assert!(members.skipped.is_empty());
}

#[test]
fn rfc9432_4_1_a_member_node_with_more_than_one_ptr_is_skipped() {
    let members = read(&catalog(
        "version TXT \"2\"
m1.zones PTR example.com.
m1.zones PTR example.org.
m2.zones PTR example.net.
",
    ))
    .unwrap();
    assert_eq!(
        zones(&members),
        [("example.net.".to_owned(), "m2".to_owned())]
    );
    assert_eq!(members.skipped.len(), 1);
    assert_eq!(members.skipped[0].reason, SkipReason::ManyPtr(2));
}

#[test]
fn rfc9432_4_1_a_zone_listed_under_two_unique_ids_is_skipped() {
    let members = read(&catalog(
        "version TXT \"2\"
a.zones PTR example.com.
b.zones PTR Example.COM.
c.zones PTR example.net.
",
    ))
    .unwrap();
    assert_eq!(
        zones(&members),
        [("example.net.".to_owned(), "c".to_owned())]
    );
    assert_eq!(
        members.skipped[0].reason,
        SkipReason::Duplicate(vec!["a".into(), "b".into()])
    );
    assert_eq!(members.skipped.len(), 1, "one reason per zone");
}

#[test]
fn rfc9432_4_1_a_member_below_a_single_label_is_not_a_member() {
    let members = read(&catalog(
        "version TXT \"2\"
x.y.zones PTR example.com.
",
    ))
    .unwrap();
    assert!(members.members.is_empty());
    assert_eq!(members.skipped[0].reason, SkipReason::NotOneLabel);
}

#[test]
fn rfc9432_4_2_1_version_2_is_required() {
    let error = read(&catalog("m1.zones PTR example.com.\n")).unwrap_err();
    assert_eq!(error, CatalogError::NoVersion(name("catalog.invalid.")));
    let error = read(&catalog("version TXT \"1\"\nm1.zones PTR example.com.\n")).unwrap_err();
    assert_eq!(
        error,
        CatalogError::Version(name("catalog.invalid."), "1".into())
    );
    assert!(error.to_string().contains("not applied"), "{error}");
    let error = read(&catalog("version TXT \"2\"\nversion TXT \"3\"\n")).unwrap_err();
    assert_eq!(
        error,
        CatalogError::ManyVersions(name("catalog.invalid."), 2)
    );
}

#[test]
fn rfc9432_4_4_1_coo_is_read() {
    let members = read(&catalog(
        "version TXT \"2\"
m1.zones PTR example.com.
coo.m1.zones PTR other.catalog.invalid.
",
    ))
    .unwrap();
    assert_eq!(members.members[0].coo, Some(name("other.catalog.invalid.")));
}

#[test]
fn rfc9432_4_4_2_groups_are_read_and_unknown_properties_ignored() {
    let members = read(&catalog(
        "version TXT \"2\"
m1.zones PTR example.com.
group.m1.zones TXT \"edge\"
ext.m1.zones TXT \"custom\"
serial.m1.zones TXT \"whatever\"
",
    ))
    .unwrap();
    assert_eq!(members.members[0].groups, ["edge"]);
    assert!(members.skipped.is_empty());
}

#[test]
fn a_member_that_is_a_configured_zone_or_the_catalog_is_skipped() {
    let members = read(&catalog(
        "version TXT \"2\"
m1.zones PTR example.com.
m2.zones PTR example.net.
m3.zones PTR sub.catalog.invalid.
",
    ))
    .unwrap()
    .without(&[LowerName::new(&name("example.com."))]);
    assert_eq!(
        zones(&members),
        [("example.net.".to_owned(), "m2".to_owned())]
    );
    let reasons: Vec<_> = members.skipped.iter().map(|s| s.reason.clone()).collect();
    assert_eq!(reasons, [SkipReason::InsideCatalog, SkipReason::Configured]);
}

/// A directory of this test's own, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(what: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("lbdns-catalog-{}-{what}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn entry(origin: &str, directory: &Path) -> CatalogEntry {
    let text = format!(
        "origin = \"{origin}\"\nprimaries = [\"198.18.0.1\"]\ndirectory = \"{}\"\n",
        directory.display()
    );
    toml::from_str(&text).unwrap()
}

#[test]
fn rfc9432_5_4_members_are_kept_by_unique_id_and_a_catalog_lists_them_from_its_copy() {
    let directory = TempDir::new("kept");
    let text = format!("{HEAD}version TXT \"2\"\nm1.zones PTR example.com.\n");
    std::fs::write(directory.path().join("catalog.zone"), &text).unwrap();
    let consumed = Consumed::new(
        &entry("catalog.invalid.", directory.path()),
        Path::new(""),
        &[],
    )
    .unwrap();
    let specs = consumed.member_specs();
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].origin, name("example.com."));
    assert_eq!(specs[0].primaries, consumed.spec.primaries);
    assert_eq!(
        specs[0].file,
        directory.path().join("members/example.com@m1.zone")
    );
    // A catalog with no copy yet lists nothing and says so to no one: it is not an error.
    let empty = TempDir::new("empty");
    let consumed =
        Consumed::new(&entry("catalog.invalid.", empty.path()), Path::new(""), &[]).unwrap();
    assert!(consumed.member_specs().is_empty() && consumed.unread.is_none());
}

#[test]
fn a_zone_in_two_catalogs_stays_with_the_first() {
    let (one, two) = (TempDir::new("one"), TempDir::new("two"));
    for (dir, origin) in [(&one, "one.invalid."), (&two, "two.invalid.")] {
        let text = format!(
            "$ORIGIN {origin}\n@ 0 SOA invalid. invalid. 1 1 1 1 0\n@ 0 NS invalid.\nversion 0 TXT \"2\"\nm.zones 0 PTR example.com.\n"
        );
        std::fs::write(dir.path().join("catalog.zone"), text).unwrap();
    }
    let mut catalogs = vec![
        Consumed::new(&entry("one.invalid.", one.path()), Path::new(""), &[]).unwrap(),
        Consumed::new(&entry("two.invalid.", two.path()), Path::new(""), &[]).unwrap(),
    ];
    claim_once(&mut catalogs);
    assert_eq!(catalogs[0].members.members.len(), 1);
    assert!(catalogs[1].members.members.is_empty());
    assert_eq!(
        catalogs[1].members.skipped[0].reason,
        SkipReason::OtherCatalog(name("one.invalid."))
    );
}
