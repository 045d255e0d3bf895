//! `changed_names`: the names whose fast-path answers may differ between two catalogs, and
//! nothing else; `None` where a change reaches beyond its names.

use std::collections::BTreeSet;
use std::path::Path;

use hickory_proto::rr::{LowerName, Name};

use super::{changed_names, Catalog};
use crate::zone::Zone;

const ZONE: &str = "$ORIGIN change.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 120\n\
                    @ NS ns1\nns1 A 198.18.0.53\na A 198.18.1.1\nb A 198.18.1.2\n\
                    b AAAA 2001:db8::2\nc A 198.18.1.3\nc TXT \"c\"\nd.e A 198.18.1.4\n";

fn catalog(text: &str) -> Catalog {
    let zone = Zone::parse(text, Path::new("change.test"), None).unwrap();
    Catalog::new(&[zone]).unwrap()
}

fn names(found: Option<Vec<LowerName>>) -> Option<BTreeSet<String>> {
    Some(found?.iter().map(|name| name.to_string()).collect())
}

fn set(names: &[&str]) -> Option<BTreeSet<String>> {
    Some(names.iter().map(|name| (*name).to_owned()).collect())
}

/// The directly answered RRsets of `catalog` that `other` does not answer alike.
fn differing(catalog: &Catalog, other: &Catalog) -> BTreeSet<String> {
    let direct = |catalog: &Catalog| -> BTreeSet<String> {
        catalog
            .direct_address_rrsets()
            // The fast path answers a name in any case alike.
            .map(|d| format!("{} {:?} {:?}", d.name, d.rrset.ttl, d.rrset.rdatas))
            .map(|line| line.to_ascii_lowercase())
            .collect()
    };
    let (mine, theirs) = (direct(catalog), direct(other));
    mine.symmetric_difference(&theirs)
        .map(|line| line.split(' ').next().unwrap().to_owned())
        .collect()
}

/// Each `(edited zone, changed names)`: the names found are those, and they cover every
/// directly answered RRset that differs.
#[test]
fn only_names_whose_addresses_differ_are_changed() {
    let cases = [
        (ZONE.to_owned(), vec![]),
        (
            ZONE.replace("a A 198.18.1.1", "a A 198.18.1.9"),
            vec!["a.change.test."],
        ),
        (
            ZONE.replace("a A 198.18.1.1", "a 60 A 198.18.1.1"),
            vec!["a.change.test."],
        ),
        (ZONE.replace("c TXT \"c\"", "c TXT \"other\""), vec![]),
        (
            ZONE.replace("b AAAA 2001:db8::2\n", ""),
            vec!["b.change.test."],
        ),
        (
            ZONE.to_owned() + "new A 198.18.1.7\n",
            vec!["new.change.test."],
        ),
        (
            ZONE.replace("d.e A 198.18.1.4\n", ""),
            vec!["d.e.change.test.", "e.change.test."],
        ),
        (ZONE.to_uppercase(), vec![]),
    ];
    let old = catalog(ZONE);
    for (text, expected) in cases {
        let new = catalog(&text);
        let found = names(changed_names(&old, &new));
        assert_eq!(found, set(&expected), "{text}");
        let found = found.unwrap();
        for name in differing(&old, &new) {
            assert!(
                found.contains(&name),
                "{name} differs but was not found: {text}"
            );
        }
    }
}

/// A name that moves in the file is still found by lookup, and not reported.
#[test]
fn names_in_another_order_are_matched_by_lookup() {
    let moved = ZONE.replace("a A 198.18.1.1\n", "") + "a A 198.18.1.1\n";
    assert_eq!(
        names(changed_names(&catalog(ZONE), &catalog(&moved))),
        set(&[])
    );
}

/// A delegation made or removed changes what is answered below it: everything is compared.
#[test]
fn a_new_delegation_reaches_beyond_its_name() {
    let delegated = ZONE.to_owned() + "e NS ns.elsewhere.test.\n";
    assert_eq!(changed_names(&catalog(ZONE), &catalog(&delegated)), None);
    assert_eq!(changed_names(&catalog(&delegated), &catalog(ZONE)), None);
}

/// Pool owners answer from the pools, which a reload may change: always among the names.
#[test]
fn pool_owners_are_always_changed() {
    let pool = || [Name::from_ascii("c.change.test.").unwrap()];
    let old = catalog(ZONE).with_pool_owners(pool());
    let new = catalog(ZONE).with_pool_owners(pool());
    assert_eq!(names(changed_names(&old, &new)), set(&["c.change.test."]));
    assert_eq!(
        changed_names(&catalog(ZONE), &new),
        None,
        "a new pool owner"
    );
}

/// One zone replaced (`Catalog::with_zone`, a transfer): the zones shared with the catalog in
/// force are not compared; a zone that loses or gains its data changes every name of it.
#[test]
fn a_replaced_zone_is_compared_alone() {
    let other = "$ORIGIN other.test.\n$TTL 300\n@ SOA ns1 h 1 3600 600 86400 120\n@ NS ns1\n\
                 ns1 A 198.18.2.53\nx A 198.18.2.1\n";
    let zones = [
        Zone::parse(ZONE, Path::new("change.test"), None).unwrap(),
        Zone::parse(other, Path::new("other.test"), None).unwrap(),
    ];
    let old = Catalog::new(&zones).unwrap();
    let origin = Name::from_ascii("change.test.").unwrap();
    let edited = Zone::parse(
        &ZONE.replace("a A 198.18.1.1", "a A 198.18.1.9"),
        Path::new("change.test"),
        None,
    )
    .unwrap();
    let data = std::sync::Arc::new(super::ZoneData::new(&edited));
    let new = old.with_zone(&origin, Some(data)).unwrap();
    assert_eq!(names(changed_names(&old, &new)), set(&["a.change.test."]));

    let withdrawn = old.with_zone(&origin, None).unwrap();
    let gone = names(changed_names(&old, &withdrawn)).unwrap();
    assert!(gone.contains("a.change.test.") && gone.contains("d.e.change.test."));
    assert!(!gone.contains("x.other.test."), "{gone:?}");
    assert_eq!(names(changed_names(&withdrawn, &old)), Some(gone));
}

/// Changes anywhere in a larger zone, a removal shifting every name after it, are found once
/// each, and nothing else.
#[test]
fn changes_anywhere_are_found_once() {
    let hosts = 3000;
    let zone = |edit: &dyn Fn(usize) -> Option<String>| {
        let mut text = String::from(ZONE);
        for host in 0..hosts {
            let line = format!("h{host} A 198.18.{}.{}\n", (host >> 8) & 0xff, host & 0xff);
            text.push_str(&edit(host).unwrap_or(line));
        }
        catalog(&text)
    };
    let old = zone(&|_| None);
    let edges = [0, hosts / 4, hosts / 2, hosts / 2 + 1, hosts - 1];
    let new = zone(&|host| match host {
        _ if host == hosts / 3 => Some(String::new()),
        _ if edges.contains(&host) => Some(format!("h{host} A 198.19.0.1\n")),
        _ => None,
    });
    let mut expected: Vec<String> = edges.iter().map(|h| format!("h{h}.change.test.")).collect();
    expected.push(format!("h{}.change.test.", hosts / 3));
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(names(changed_names(&old, &new)), set(&expected));
}
