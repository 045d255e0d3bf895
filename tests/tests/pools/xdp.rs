//! The XDP side of the harness: which counter says the program answered, the client's
//! pass-through program, and pinning the sending thread to one CPU.

use std::collections::BTreeMap;

use anyhow::Result;
use lbdns::ebpf_object;
use lbdns::xdp::{AttachMode, FastPath, XdpConfig};
use lbdns_tests::wire::rtype;
use lbdns_tests::{Namespace, Topology};

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

/// An XDP program on the client's veth end that passes every packet: lbdns's own program with
/// empty maps. Native XDP_TX on a veth reaches the peer only if the peer has a program.
/// Detached when dropped.
#[derive(Debug)]
pub struct PeerProgram {
    _fast: FastPath,
}

impl PeerProgram {
    pub fn attach(client: &Namespace) -> Result<Self> {
        let fast = client
            .enter(|| -> Result<FastPath, String> {
                let config = XdpConfig {
                    dns_port: 53,
                    rrset_entries: 1,
                    name_bytes: 8,
                    a_slots: 1,
                    aaaa_slots: 1,
                };
                let mut fast = FastPath::load(ebpf_object::PROGRAM, &config)
                    .map_err(|error| error.to_string())?;
                fast.attach(Topology::CLIENT_IF, AttachMode::Native)
                    .map_err(|error| error.to_string())?;
                Ok(fast)
            })?
            .map_err(|error| anyhow::anyhow!("the client's pass-through program: {error}"))?;
        Ok(Self { _fast: fast })
    }
}
