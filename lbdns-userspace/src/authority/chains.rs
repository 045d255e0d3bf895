//! The NSEC and NSEC3 chains of a signed zone, sorted once when the zone is indexed so that
//! finding the record that proves a name or type absent is a binary search.

use hickory_proto::rr::{LowerName, RecordType};

use super::zone_data::Node;
use crate::dnssec::{self, Nsec3, Nsec3Params, SHA1, SHA1_LEN};
use crate::zone::name::{canonical_cmp, first_label};
use crate::zone::Numbered;

/// Both chains of one zone; empty in an unsigned zone.
#[derive(Debug, Default)]
pub struct Chains {
    /// Positions (in the zone's node arrays) of the names holding NSEC records, in canonical
    /// order (RFC 4034 §6.1).
    nsec: Box<[u32]>,
    pub nsec3: Option<Nsec3Chain>,
}

/// The NSEC3 records made with the zone's NSEC3PARAM, by hashed owner.
#[derive(Debug)]
pub struct Nsec3Chain {
    pub params: Nsec3Params,
    /// (hashed owner, position), ascending by hash.
    entries: Box<[([u8; SHA1_LEN], u32)]>,
}

/// Where a hash falls in the NSEC3 chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nsec3Match {
    /// Position of the NSEC3 whose owner is the hash, or whose span covers it.
    pub position: u32,
    /// The owner is the hash itself: the name hashed is in the chain.
    pub exact: bool,
}

impl Chains {
    /// The chains of the zone whose names are `names`, with the nodes `nodes` by position, and
    /// its apex at `apex`.
    pub(crate) fn new(apex: u32, names: &Numbered, nodes: &[Node]) -> Self {
        let positions = || (0..).zip(nodes);
        let mut nsec: Vec<u32> = positions()
            .filter(|(_, node)| node.get(RecordType::NSEC).is_some())
            .map(|(at, _)| at)
            .collect();
        nsec.sort_unstable_by(|&a, &b| canonical_cmp(names.key(a), names.key(b)));
        // The first NSEC3PARAM whose chain holds the apex, as NSD chooses (and as zone
        // validation requires one to).
        let nsec3 = usable_params(&nodes[apex as usize])
            .into_iter()
            .map(|params| {
                let mut entries: Vec<([u8; SHA1_LEN], u32)> = positions()
                    .filter(|(_, node)| in_chain(node, &params))
                    .filter_map(|(at, _)| {
                        let label = first_label(names.key(at))?;
                        Some((dnssec::decode_hashed_label(label)?, at))
                    })
                    .collect();
                entries.sort_unstable();
                Nsec3Chain {
                    params,
                    entries: entries.into_boxed_slice(),
                }
            })
            .find(|chain| {
                let apex_hash = chain.params.hash(&names.name(apex).into());
                chain.find(&apex_hash).is_some_and(|found| found.exact)
            });
        Self {
            nsec: nsec.into_boxed_slice(),
            nsec3,
        }
    }

    /// The NSEC whose owner is `name` or, failing that, the closest before it in canonical
    /// order: the record whose span covers `name` (RFC 4034 §4.1.1). `None` when no NSEC
    /// comes at or before it.
    pub(crate) fn nsec_at_or_before(&self, names: &Numbered, name: &LowerName) -> Option<u32> {
        let key = names.key_of(name);
        let after = self
            .nsec
            .partition_point(|&at| canonical_cmp(names.key(at), key.as_bytes()).is_le());
        after.checked_sub(1).map(|at| self.nsec[at])
    }
}

impl Nsec3Chain {
    /// The NSEC3 matching or covering `hash`; before the first owner the last record's span
    /// wraps around to cover it (RFC 5155 §3.1.7). `None` only for an empty chain.
    pub fn find(&self, hash: &[u8; SHA1_LEN]) -> Option<Nsec3Match> {
        let after = self.entries.partition_point(|(owner, _)| owner <= hash);
        let (owner, position) = match after.checked_sub(1) {
            Some(at) => self.entries[at],
            None => *self.entries.last()?,
        };
        Some(Nsec3Match {
            position,
            exact: owner == *hash,
        })
    }
}

/// The NSEC3PARAMs at the apex that lbdns can hash with, in order: SHA-1 and no flags (RFC
/// 5155 §4.1.2 says a server ignores the others).
pub(super) fn usable_params(apex: &Node) -> Vec<Nsec3Params> {
    apex.get(RecordType::NSEC3PARAM)
        .into_iter()
        .flat_map(|rrset| rrset.rdatas.iter())
        .filter_map(|rdata| dnssec::octets(rdata.other()?))
        .filter(|wire| wire.get(1) == Some(&0))
        .filter_map(|wire| Nsec3Params::from_nsec3param(wire).ok())
        .filter(|params| params.algorithm == SHA1)
        .collect()
}

/// Whether `node` holds an NSEC3 record made with `params`.
fn in_chain(node: &Node, params: &Nsec3Params) -> bool {
    node.get(RecordType::NSEC3).is_some_and(|rrset| {
        rrset
            .rdatas
            .iter()
            .filter_map(|rdata| dnssec::octets(rdata.other()?))
            .any(|wire| Nsec3::decode(wire).is_ok_and(|nsec3| nsec3.params == *params))
    })
}
