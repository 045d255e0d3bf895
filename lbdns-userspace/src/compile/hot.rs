//! The catalog's directly answerable address RRsets as [`HotRrset`]s: the input of [`compile`].
//!
//! [`compile`]: super::compile

use hickory_proto::{
    rr::{Name, RecordType},
    serialize::binary::BinEncoder,
};

use super::{AddrType, HotRrset, Rrsigs};
use crate::authority::{Catalog, Rdata, Rrset};

/// Every RRset of [`Catalog::direct_address_rrsets`] and every non-empty pool answer now in
/// force, sorted by type and name so the same catalog always gives the same list. Each carries
/// its order: zone RRsets rotate plainly with all their records, pools bring their weighted
/// schedule and answer cap. A zone RRset says whether an RRSIG covers it and carries the RRSIGs
/// a DO=1 answer sends with it; a pool's answers are never sent with any (no RRSIG covers
/// addresses made up as health changes), though an RRSIG at its owner still marks it signed
/// ([`Catalog::is_signed`]) so its DO=1 queries go to the socket path.
pub fn hot_rrsets(catalog: &Catalog) -> Vec<HotRrset> {
    let pools = catalog.pools();
    let zone = catalog.direct_address_rrsets().map(|direct| {
        let rrsigs = direct.answer_signatures().and_then(rrsigs);
        (direct.rrset, direct.signatures.is_some(), rrsigs)
    });
    // A pool in a zone served without data answers SERVFAIL like the rest of its zone.
    let pooled = pools
        .rrsets()
        .filter(|rrset| catalog.zone_for(&rrset.name).is_some())
        .map(|rrset| (rrset, catalog.is_signed(&rrset.name, rrset.rtype), None));
    let mut rrsets: Vec<HotRrset> = zone
        .chain(pooled)
        .filter_map(|(rrset, signed, rrsigs)| {
            let qtype = match rrset.rtype {
                RecordType::A => AddrType::A,
                RecordType::AAAA => AddrType::Aaaa,
                _ => return None,
            };
            Some(HotRrset {
                name: lowercase_wire(&rrset.name),
                qtype,
                ttl: rrset.ttl,
                addrs: rrset
                    .rdatas
                    .iter()
                    .filter_map(|rdata| rdata.ip_addr())
                    .collect(),
                schedule: rrset.order.schedule.to_vec(),
                cap: rrset.order.cap.map(|cap| cap as usize),
                signed,
                rrsigs,
            })
        })
        .collect();
    // Unstable is enough: two entries compare equal only if they are the same RRset twice,
    // which `compile` rejects whatever their order.
    rrsets.sort_unstable_by(|a, b| (a.qtype, &a.name).cmp(&(b.qtype, &b.name)));
    rrsets
}

/// The RRSIG RRset in the form the fast path stores; `None` if any RDATA cannot be encoded.
fn rrsigs(rrset: &Rrset) -> Option<Rrsigs> {
    Some(Rrsigs {
        ttl: rrset.ttl,
        rdatas: rrset.rdatas.iter().map(wire_rdata).collect::<Option<_>>()?,
    })
}

/// An RDATA's wire octets, as the socket path writes them (an RRSIG's signer name is never
/// compressed, RFC 4034 §3.1.7). `None` if hickory cannot encode it: then the fast path
/// stores no signatures for the RRset, and its DO=1 queries go to the socket path.
fn wire_rdata(rdata: &Rdata) -> Option<Vec<u8>> {
    let mut wire = Vec::new();
    rdata.emit(&mut BinEncoder::new(&mut wire)).ok()?;
    Some(wire)
}

/// `name` as the XDP program builds its keys: uncompressed wire format, ASCII lowercased,
/// ending with the root label. Zone names are absolute, so the root label is always there.
fn lowercase_wire(name: &Name) -> Vec<u8> {
    let mut wire = Vec::with_capacity(name.len() + 1);
    for label in name.iter() {
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
    wire
}
