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

#[test]
fn rfc9432_5_4_a_changed_unique_id_is_a_new_zone_with_no_copy() {
    let directory = TempDir::new("reid");
    let write = |unique: &str| {
        let text = format!("{HEAD}version TXT \"2\"\n{unique}.zones PTR example.com.\n");
        std::fs::write(directory.path().join("catalog.zone"), text).unwrap();
        Consumed::new(
            &entry("catalog.invalid.", directory.path()),
            Path::new(""),
            &[],
        )
        .unwrap()
        .member_specs()
    };
    let (before, after) = (write("m1"), write("m2"));
    assert_eq!(before[0].origin, after[0].origin);
    // Another spec: `Secondaries::update` stops the old task and starts one from the new
    // file, which does not exist, so the member is transferred afresh.
    assert_ne!(before[0], after[0]);
    assert_ne!(before[0].file, after[0].file);
}

/// A `Transfer` that keeps nothing and counts what it was asked to keep.
#[derive(Default)]
struct Keeper {
    kept: std::sync::Arc<std::sync::Mutex<Vec<Name>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl crate::secondary::Transfer for Keeper {
    type Error = Never;

    async fn fetch(
        &self,
        _primary: std::net::SocketAddr,
        _key: Option<std::sync::Arc<crate::tsig::Key>>,
        _spec: &crate::secondary::config::SecondarySpec,
        _current: Option<crate::secondary::Held<'_>>,
    ) -> Result<crate::secondary::Fetched, Never> {
        Err(Never)
    }

    fn keep(
        &self,
        zone: &crate::authority::ZoneData,
        _spec: &crate::secondary::config::SecondarySpec,
    ) -> Result<(), Never> {
        self.kept.lock().unwrap().push(zone.origin.clone());
        Ok(())
    }
}

#[test]
fn rfc9432_4_2_1_a_catalog_of_another_version_is_not_kept_and_changes_nothing() {
    use crate::secondary::Transfer as _;
    let directory = TempDir::new("consumer");
    let text = format!("{HEAD}version TXT \"2\"\nm1.zones PTR example.com.\n");
    std::fs::write(directory.path().join("catalog.zone"), &text).unwrap();
    let consumed = Consumed::new(
        &entry("catalog.invalid.", directory.path()),
        Path::new(""),
        &[],
    )
    .unwrap();
    let spec = consumed.spec.clone();
    let catalogs = std::sync::Arc::new(super::Catalogs::default());
    catalogs.set(vec![consumed]);
    let (changed, mut change) = tokio::sync::mpsc::unbounded_channel();
    let keeper = Keeper::default();
    let kept = keeper.kept.clone();
    let consumer = super::Consumer::new(keeper, catalogs.clone(), changed);

    // The same member set: kept, nothing to apply.
    consumer
        .keep(
            &crate::authority::ZoneData::new(&catalog(
                "version TXT \"2\"\nm1.zones PTR example.com.\n",
            )),
            &spec,
        )
        .unwrap();
    assert!(change.try_recv().is_err());
    // Version 1: refused, not kept, nothing to apply.
    let error = consumer
        .keep(
            &crate::authority::ZoneData::new(&catalog(
                "version TXT \"1\"\nm9.zones PTR example.org.\n",
            )),
            &spec,
        )
        .unwrap_err();
    assert!(
        error.to_string().contains("member set in force stays"),
        "{error}"
    );
    assert!(change.try_recv().is_err());
    let status = catalogs.text();
    assert!(
        status.contains("not applied: catalog catalog.invalid. has schema version \"1\""),
        "{status}"
    );
    assert!(status.contains("member example.com. (id m1)"), "{status}");
    // A new member: kept, and the daemon told.
    consumer
        .keep(
            &crate::authority::ZoneData::new(&catalog(
                "version TXT \"2\"\nm1.zones PTR example.com.\nm2.zones PTR example.net.\n",
            )),
            &spec,
        )
        .unwrap();
    assert_eq!(change.try_recv().unwrap(), name("catalog.invalid."));
    assert_eq!(kept.lock().unwrap().len(), 2);
    // Zones that are not catalogs are kept as they are.
    let other = crate::secondary::config::SecondarySpec {
        origin: name("example.com."),
        ..spec
    };
    consumer
        .keep(
            &crate::authority::ZoneData::new(&catalog("version TXT \"1\"\n")),
            &other,
        )
        .unwrap();
    assert_eq!(kept.lock().unwrap().len(), 3);
}

#[test]
fn catalog_configuration_errors_name_the_file_and_line() {
    use crate::config::{Overrides, Settings};
    let directory = TempDir::new("config");
    let zone = "[[zone]]\norigin = \"catalog.invalid.\"\nprimaries = [\"198.18.0.1\"]\nfile = \"c.zone\"\n\n";
    for (text, line, message) in [
        (
            "[[catalog]]\norigin = \"catalog.invalid.\"\nprimaries = [\"primary.example.\"]\ndirectory = \"c\"\n".to_owned(),
            2,
            "'primary.example.' is not an address",
        ),
        (
            "[[catalog]]\norigin = \"catalog.invalid.\"\nprimaries = [\"198.18.0.1\"]\ntsig = \"nokey\"\ndirectory = \"c\"\n".to_owned(),
            3,
            "catalog.tsig: no [[key]] is named nokey.",
        ),
        (
            format!("{zone}[[catalog]]\norigin = \"catalog.invalid.\"\nprimaries = [\"198.18.0.1\"]\ndirectory = \"c\"\n"),
            7,
            "catalog.invalid. is also configured as a zone",
        ),
        (
            "[[catalog]]\norigin = \"catalog.invalid.\"\nprimaries = [\"198.18.0.1\"]\n".to_owned(),
            1,
            "missing field `directory`",
        ),
    ] {
        let path = directory.path().join("bad-catalog.toml");
        std::fs::write(&path, &text).unwrap();
        let error = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(error.line, line, "{text}: {error}");
        assert!(error.to_string().contains(message), "{text}: {error}");
        assert!(error.to_string().contains("bad-catalog.toml:"), "{text}: {error}");
    }
}

#[test]
fn a_catalogs_members_are_secondaries_unless_configured_as_zones() {
    use crate::config::{Overrides, Settings};
    let directory = TempDir::new("settings");
    let catalog_dir = directory.path().join("c");
    std::fs::create_dir_all(&catalog_dir).unwrap();
    let text =
        format!("{HEAD}version TXT \"2\"\nm1.zones PTR example.com.\nm2.zones PTR example.net.\n");
    std::fs::write(catalog_dir.join("catalog.zone"), text).unwrap();
    let path = directory.path().join("lbdns.toml");
    std::fs::write(
        &path,
        "[[zone]]\norigin = \"example.net.\"\nprimaries = [\"198.18.0.9\"]\nfile = \"net.zone\"\n\n\
         [[catalog]]\norigin = \"catalog.invalid.\"\nprimaries = [\"198.18.0.1\"]\ndirectory = \"c\"\n",
    )
    .unwrap();
    let settings = Settings::new(Some(&path), Overrides::default()).unwrap();
    let origins: Vec<String> = settings
        .secondaries
        .iter()
        .map(|s| s.origin.to_ascii())
        .collect();
    assert_eq!(
        origins,
        ["example.net.", "catalog.invalid.", "example.com."]
    );
    let com = &settings.secondaries[2];
    assert_eq!(com.primaries, ["198.18.0.1:53".parse().unwrap()]);
    assert_eq!(com.file, catalog_dir.join("members/example.com@m1.zone"));
    let skipped = &settings.catalogs[0].members.skipped;
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        (skipped[0].what.as_str(), &skipped[0].reason),
        ("example.net.", &SkipReason::Configured)
    );
}

#[test]
fn prune_removes_only_former_members_copies() {
    let directory = TempDir::new("prune");
    let members = directory.path().join("members");
    std::fs::create_dir_all(&members).unwrap();
    let files = [
        "example.com@m1.zone",
        "example.com@m1.zone.state",
        "example.com@old.zone",
        "gone.example@m2.zone.state",
        "notes.txt",
    ];
    for file in files {
        std::fs::write(members.join(file), "").unwrap();
    }
    let consume = || {
        let catalogs = super::Catalogs::default();
        let entry = entry("catalog.invalid.", directory.path());
        catalogs.set(vec![Consumed::new(&entry, Path::new(""), &[]).unwrap()]);
        catalogs.prune();
    };
    let left = || {
        let mut names: Vec<String> = std::fs::read_dir(&members)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    // No kept copy of the catalog: nothing is removed on its word.
    consume();
    assert_eq!(left(), files);
    let text = format!("{HEAD}version TXT \"2\"\nm1.zones PTR example.com.\n");
    std::fs::write(directory.path().join("catalog.zone"), text).unwrap();
    consume();
    assert_eq!(
        left(),
        [
            "example.com@m1.zone",
            "example.com@m1.zone.state",
            "notes.txt"
        ]
    );
}
