//! `Served::replace_zone` and `withdraw_zone` on a daemon's served state without its threads.

use std::path::{Path, PathBuf};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Name;

use super::*;
use crate::served::testing::{self, addresses, ask};

const ZONE: &str = "$ORIGIN lb.test.\n$TTL 60\n@ SOA ns h 1 3600 600 86400 60\n@ NS ns\n\
                    ns A 198.18.0.53\nother A 198.18.0.1\n";

/// A daemon's served state for lb.test. with a pool at www.lb.test., from files in `dir`.
fn served(dir: &Path) -> Served {
    testing::written(
        dir,
        ("lb.test.zone", ZONE),
        "[[zone]]\nfile = \"lb.test.zone\"\n\n[[pool]]\nname = \"www.lb.test.\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\n",
    )
}

fn temp_dir(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lbdns-served-zone-{test}-{}", std::process::id()))
}

fn zone(text: &str) -> Zone {
    Zone::parse(text, Path::new("transferred"), None).unwrap()
}

#[test]
fn a_replaced_zone_is_answered_and_the_pool_keeps_answering() {
    let dir = temp_dir("replaced");
    let served = served(&dir);
    assert_eq!(addresses(&ask(&served, "other.lb.test.")), ["198.18.0.1"]);
    let fresh = ZONE
        .replace("1 3600", "2 3600")
        .replace("198.18.0.1", "198.18.0.2");
    served.replace_zone(&zone(&fresh)).unwrap();
    assert_eq!(addresses(&ask(&served, "other.lb.test.")), ["198.18.0.2"]);
    assert_eq!(addresses(&ask(&served, "www.lb.test.")), ["198.18.60.1"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_zone_that_breaks_a_pool_owner_is_refused_and_the_old_zone_kept() {
    let dir = temp_dir("pool-owner");
    let served = served(&dir);
    let broken = format!("{}www CNAME other\n", ZONE.replace("1 3600", "2 3600"));
    let refused = served.replace_zone(&zone(&broken)).unwrap_err();
    assert!(
        matches!(&refused, ZoneRefused::PoolOwner { owner, .. } if owner.to_ascii() == "www.lb.test."),
        "{refused}"
    );
    assert!(refused.to_string().contains("has a CNAME"), "{refused}");
    assert_eq!(addresses(&ask(&served, "www.lb.test.")), ["198.18.60.1"]);
    assert_eq!(addresses(&ask(&served, "other.lb.test.")), ["198.18.0.1"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_zone_not_served_is_not_added() {
    let dir = temp_dir("not-served");
    let served = served(&dir);
    let elsewhere = ZONE.replace("lb.test.", "elsewhere.test.");
    let refused = served.replace_zone(&zone(&elsewhere)).unwrap_err();
    assert!(matches!(refused, ZoneRefused::NotServed(_)), "{refused}");
    assert_eq!(
        ask(&served, "other.elsewhere.test.").metadata.response_code,
        ResponseCode::Refused
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_withdrawn_zone_answers_servfail_pool_owner_included_until_it_is_replaced() {
    let dir = temp_dir("withdrawn");
    let served = served(&dir);
    let origin = Name::from_ascii("lb.test.").unwrap();
    served.withdraw_zone(&origin).unwrap();
    for name in ["other.lb.test.", "www.lb.test.", "lb.test."] {
        assert_eq!(
            ask(&served, name).metadata.response_code,
            ResponseCode::ServFail,
            "{name}"
        );
    }
    assert!(crate::compile::hot_rrsets(&served.catalog().load()).is_empty());
    served.replace_zone(&zone(ZONE)).unwrap();
    assert_eq!(addresses(&ask(&served, "www.lb.test.")), ["198.18.60.1"]);
    std::fs::remove_dir_all(dir).unwrap();
}
