//! Authenticated denial for DO=1 queries to signed zones: which NSEC (RFC 4035 §3.1.3) or
//! NSEC3 (RFC 5155 §7.2) records prove a name, a type or a DS absent, or that a wildcard
//! answered. The choices are NSD's, record for record, so that the two servers' answers can be
//! compared; each function says which NSD routine it follows where the RFCs leave room.
//!
//! Each NSEC3 proof hashes the names it needs at query time (a few SHA-1 rounds) and finds
//! them in the chain sorted when the zone was indexed.

use hickory_proto::rr::{LowerName, Name, RecordType};

use super::chains::Nsec3Chain;
use super::lookup::{Resolution, Section};
use super::zone_data::{wildcard_of, ZoneData};

/// NXDOMAIN: the name and any wildcard at its closest encloser do not exist. NSEC: the
/// records covering both (RFC 4035 §3.1.3.2). NSEC3: the closest encloser proof and the
/// record covering the wildcard (RFC 5155 §7.2.2). `false` when the next closer name hashes
/// onto a record of the chain, which no proof can get past: the caller answers SERVFAIL, as
/// NSD does.
pub fn nxdomain<'z>(
    zone: &'z ZoneData,
    res: &mut Resolution<'z>,
    qname: &LowerName,
    encloser: &LowerName,
) -> bool {
    let Some(chain) = &zone.chains.nsec3 else {
        add_nsec_covering(zone, res, qname);
        if let Some(wildcard) = wildcard_of(encloser) {
            add_nsec_covering(zone, res, &wildcard);
        }
        return true;
    };
    if !add_next_closer(zone, chain, res, qname, encloser) {
        return false;
    }
    add_nsec3_exact(zone, chain, res, encloser);
    if let Some(wildcard) = wildcard_of(encloser) {
        add_nsec3_for(zone, chain, res, &wildcard);
    }
    true
}

/// A wildcard answered for `qname`: the proof that `qname` itself does not exist, the NSEC
/// covering it (RFC 4035 §3.1.3.3) or the NSEC3 covering the next closer name (RFC 5155
/// §7.2.6). `false` on a hash collision, as [`nxdomain`].
pub fn wildcard_answer<'z>(
    zone: &'z ZoneData,
    res: &mut Resolution<'z>,
    qname: &LowerName,
    encloser: &LowerName,
) -> bool {
    match &zone.chains.nsec3 {
        None => {
            add_nsec_covering(zone, res, qname);
            true
        }
        Some(chain) => add_next_closer(zone, chain, res, qname, encloser),
    }
}

/// NODATA at `original` (the queried name, or the wildcard that matched it). NSEC: the record
/// at the name, or for an empty non-terminal the one covering it (RFC 4035 §3.1.3.1). NSEC3:
/// as NSD's `nsec3_answer_nodata` (RFC 5155 §7.2.3–7.2.5).
pub fn nodata<'z>(
    zone: &'z ZoneData,
    res: &mut Resolution<'z>,
    original: &LowerName,
    qtype: RecordType,
) {
    let Some(chain) = &zone.chains.nsec3 else {
        add_nsec_covering(zone, res, original);
        return;
    };
    let parent = original.base_name();
    if qtype == RecordType::DS {
        if *original == zone.apex {
            add_nsec3_exact(zone, chain, res, original);
            return;
        }
        no_ds_proof(zone, chain, res, original, false);
        if original.is_wildcard() {
            add_nsec3_exact(zone, chain, res, &parent);
        }
    } else if original.is_wildcard() {
        // §7.2.5: the closest encloser and the wildcard, which has no such type.
        add_nsec3_exact(zone, chain, res, &parent);
        add_nsec3_for(zone, chain, res, original);
    } else if !add_nsec3_exact(zone, chain, res, original) {
        // §7.2.3–7.2.4 with opt-out: a name without its own NSEC3 (an empty non-terminal
        // leading only to unsigned delegations) is denied from its closest provable encloser.
        let mut next_closer = original.clone();
        while next_closer != zone.apex && !is_exact(chain, &next_closer.base_name()) {
            next_closer = next_closer.base_name();
        }
        add_nsec3_for(zone, chain, res, &next_closer);
        add_nsec3_exact(zone, chain, res, &next_closer.base_name());
    }
}

/// A referral from a signed zone: the DS RRset, or the proof that the child has none: the
/// NSEC at the cut (RFC 4035 §3.1.4.1) or NSEC3 (RFC 5155 §7.2.7, with opt-out).
pub fn delegation<'z>(
    zone: &'z ZoneData,
    res: &mut Resolution<'z>,
    cut: &LowerName,
    node: &'z super::zone_data::Node,
) {
    if let Some(ds) = node.get(RecordType::DS) {
        res.place(
            Section::Authority,
            zone.spelled(cut).clone(),
            node,
            ds,
            true,
        );
    } else if let Some(chain) = &zone.chains.nsec3 {
        no_ds_proof(zone, chain, res, cut, true);
    } else if let Some(nsec) = node.get(RecordType::NSEC) {
        res.place(
            Section::Authority,
            zone.spelled(cut).clone(),
            node,
            nsec,
            true,
        );
    }
}

/// NSD's `nsec3_add_ds_proof`: the NSEC3 of `name` if it has one; otherwise the closest
/// provable encloser's and the one covering the next closer name, whose opt-out flag tells
/// the resolver an unsigned delegation may lie there (RFC 5155 §7.2.7).
fn no_ds_proof<'z>(
    zone: &'z ZoneData,
    chain: &Nsec3Chain,
    res: &mut Resolution<'z>,
    name: &LowerName,
    delegation: bool,
) {
    if add_nsec3_exact(zone, chain, res, name) {
        return;
    }
    let mut provable = name.base_name();
    let mut below = None;
    while provable != zone.apex && zone.apex.zone_of(&provable) && !is_exact(chain, &provable) {
        below = Some(provable.clone());
        provable = provable.base_name();
    }
    add_nsec3_exact(zone, chain, res, &provable);
    let cut_like = delegation
        || zone.node(name).is_some_and(|node| {
            node.get(RecordType::NS).is_some() || node.get(RecordType::DS).is_some()
        });
    match below {
        Some(next_closer) => add_nsec3_for(zone, chain, res, &next_closer),
        None if cut_like => add_nsec3_for(zone, chain, res, name),
        None => {}
    }
}

/// The NSEC3 covering the next closer name of `qname` below `encloser`; `false` if one
/// matches it exactly instead (a collision, or a chain that does not fit the zone).
fn add_next_closer<'z>(
    zone: &'z ZoneData,
    chain: &Nsec3Chain,
    res: &mut Resolution<'z>,
    qname: &LowerName,
    encloser: &LowerName,
) -> bool {
    let next_closer = Name::from(qname).trim_to(usize::from(encloser.num_labels()) + 1);
    let Some(found) = chain.find(&chain.params.hash(&next_closer)) else {
        return true;
    };
    if found.exact {
        return false;
    }
    add_nsec3_at(zone, res, found.position);
    true
}

fn is_exact(chain: &Nsec3Chain, name: &LowerName) -> bool {
    chain
        .find(&chain.params.hash(&Name::from(name)))
        .is_some_and(|found| found.exact)
}

/// The NSEC3 whose owner is `name`'s hash, if the chain has it; returns whether it did.
fn add_nsec3_exact<'z>(
    zone: &'z ZoneData,
    chain: &Nsec3Chain,
    res: &mut Resolution<'z>,
    name: &LowerName,
) -> bool {
    match chain.find(&chain.params.hash(&Name::from(name))) {
        Some(found) if found.exact => {
            add_nsec3_at(zone, res, found.position);
            true
        }
        _ => false,
    }
}

/// The NSEC3 matching or covering `name`'s hash.
fn add_nsec3_for<'z>(
    zone: &'z ZoneData,
    chain: &Nsec3Chain,
    res: &mut Resolution<'z>,
    name: &LowerName,
) {
    if let Some(found) = chain.find(&chain.params.hash(&Name::from(name))) {
        add_nsec3_at(zone, res, found.position);
    }
}

fn add_nsec3_at<'z>(zone: &'z ZoneData, res: &mut Resolution<'z>, position: u32) {
    let (name, node) = zone.at(position);
    if let Some(nsec3) = node.get(RecordType::NSEC3) {
        res.place(
            Section::Authority,
            zone.spelled(&name).clone(),
            node,
            nsec3,
            true,
        );
    }
}

/// The NSEC at `name` or the closest before it, which covers it.
fn add_nsec_covering<'z>(zone: &'z ZoneData, res: &mut Resolution<'z>, name: &LowerName) {
    let Some(position) = zone.chains.nsec_at_or_before(zone.chain_names(), name) else {
        return;
    };
    let (name, node) = zone.at(position);
    if let Some(nsec) = node.get(RecordType::NSEC) {
        res.place(
            Section::Authority,
            zone.spelled(&name).clone(),
            node,
            nsec,
            true,
        );
    }
}
