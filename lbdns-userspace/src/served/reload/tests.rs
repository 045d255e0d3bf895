//! `Served::replace` on a daemon's served state without its threads: a zone file changed in
//! a few names is patched over the zone in force, drains carry over, and a broken file keeps
//! what is served.

use std::path::{Path, PathBuf};

use hickory_proto::rr::Name;

use super::*;
use crate::served::testing::{self, addresses, ask};

const ZONE: &str = "$ORIGIN lb.test.\n$TTL 60\n@ SOA ns h 1 3600 600 86400 60\n@ NS ns\n\
                    ns A 198.18.0.53\nother A 198.18.0.1\nkept A 198.18.0.2\n";

fn temp_dir(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lbdns-served-reload-{test}-{}", std::process::id()))
}

/// A daemon's served state for lb.test. with a pool of two at www.lb.test., from `dir`.
fn served(dir: &Path) -> Served {
    testing::written(
        dir,
        ("lb.test.zone", ZONE),
        "[[zone]]\nfile = \"lb.test.zone\"\n\n[[pool]]\nname = \"www.lb.test.\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.2\"\n",
    )
}

fn zone(served: &Served) -> Arc<crate::authority::ZoneData> {
    served
        .catalog()
        .load()
        .zone_at(&Name::from_ascii("lb.test.").unwrap())
        .flatten()
        .unwrap()
        .clone()
}

#[test]
fn a_reload_patches_the_changed_names_over_the_zone_in_force_and_keeps_drains() {
    let dir = temp_dir("patched");
    let served = served(&dir);
    served
        .set_drained("198.18.60.2".parse().unwrap(), true)
        .unwrap();
    let before = zone(&served);
    std::fs::write(
        dir.join("lb.test.zone"),
        ZONE.replace("1 3600", "2 3600")
            .replace("198.18.0.1", "198.18.0.9"),
    )
    .unwrap();
    let reloaded = served.replace(&[]).unwrap();
    assert_eq!(reloaded.zones[0].serial, 2);
    let after = zone(&served);
    let mut touched: Vec<String> = after
        .patched_names(&before)
        .expect("patched over the zone in force, not indexed again")
        .iter()
        .map(ToString::to_string)
        .collect();
    touched.sort();
    assert_eq!(touched, ["lb.test.", "other.lb.test."]);
    assert_eq!(addresses(&ask(&served, "other.lb.test.")), ["198.18.0.9"]);
    assert_eq!(addresses(&ask(&served, "kept.lb.test.")), ["198.18.0.2"]);
    assert_eq!(
        addresses(&ask(&served, "www.lb.test.")),
        ["198.18.60.1"],
        "the drain carried over"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_broken_file_keeps_the_zone_in_force_and_a_removed_name_is_indexed_whole() {
    let dir = temp_dir("broken");
    let served = served(&dir);
    let before = zone(&served);
    std::fs::write(
        dir.join("lb.test.zone"),
        format!("{ZONE}bad A 198.18.0.300\n"),
    )
    .unwrap();
    let failed = served.replace(&[]).unwrap_err();
    assert!(
        failed.0.messages()[0].contains("lb.test.zone:8:"),
        "{:?}",
        failed.0.messages()
    );
    assert!(
        Arc::ptr_eq(&before, &zone(&served)),
        "the zone in force kept"
    );
    std::fs::write(
        dir.join("lb.test.zone"),
        ZONE.replace("other A 198.18.0.1\n", ""),
    )
    .unwrap();
    served.replace(&[]).unwrap();
    assert!(
        zone(&served).patched_names(&before).is_none(),
        "indexed whole"
    );
    assert!(addresses(&ask(&served, "other.lb.test.")).is_empty());
    assert_eq!(addresses(&ask(&served, "kept.lb.test.")), ["198.18.0.2"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
