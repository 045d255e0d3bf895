//! The XDP side of the harness: which counter says the program answered, and pinning the
//! sending thread to one CPU.

use std::collections::BTreeMap;

use lbdns_tests::wire::rtype;

/// The counter the program increments when it answers a query of `qtype`.
pub fn answered_counter(qtype: u16) -> &'static str {
    if qtype == rtype::AAAA {
        "answered_aaaa"
    } else {
        "answered_a"
    }
}

/// Whether counters that moved by `moved` around one query of `qtype` say that the program
/// answered it: only its answered counter moved (by more than one if the query was resent).
pub fn by_xdp(moved: &BTreeMap<String, u64>, qtype: u16) -> bool {
    !moved.is_empty() && moved.keys().all(|k| k == answered_counter(qtype))
}

/// How each counter moved from `before` to `after`, but `pass_not_dns`: ARP and neighbour
/// discovery reach the interface whenever the kernels decide.
pub fn moved(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(name, _)| *name != "pass_not_dns")
        .filter_map(|(name, &value)| {
            let delta = value.saturating_sub(before.get(name).copied().unwrap_or(0));
            (delta > 0).then(|| (name.clone(), delta))
        })
        .collect()
}
