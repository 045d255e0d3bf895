//! The catalog's directly answerable address RRsets as [`HotRrset`]s: the input of [`compile`].
//!
//! [`compile`]: super::compile

use hickory_proto::{
    rr::{LowerName, Name, RecordType},
    serialize::binary::BinEncoder,
};

use super::{
    geo::{self, GeoRow},
    AddrType, HotRrset, RrsetId, Rrsigs,
};
use crate::authority::{Catalog, DirectRrset, Order, Pooled, Rdata, Rrset, Share};

/// Every RRset of [`Catalog::direct_address_rrsets`] and every non-empty pool answer now in
/// force, in the catalog's order ([`compile`] puts them in the image's). Each carries
/// its order: zone RRsets rotate plainly with all their records, pools bring their weighted
/// schedule and answer cap. A zone RRset says whether an RRSIG covers it and carries the RRSIGs
/// a DO=1 answer sends with it; a pool's answers are never sent with any (no RRSIG covers
/// addresses made up as health changes), though an RRSIG at its owner still marks it signed
/// ([`Catalog::is_signed`]) so its DO=1 queries go to the socket path.
pub fn hot_rrsets(catalog: &Catalog) -> Vec<HotRrset> {
    hot_rrsets_of(catalog, Share::WHOLE)
}

/// The share of [`hot_rrsets`] that one of several threads compiles: the zone RRsets of
/// `share` of each zone's names, and, in the first share, the pools' answers.
pub(super) fn hot_rrsets_of(catalog: &Catalog, share: Share) -> Vec<HotRrset> {
    let pools = catalog.pools();
    let zone = catalog
        .direct_address_rrsets_of(share)
        .filter_map(zone_rrset);
    let pooled = (share.index == 0)
        .then(|| pools.rrsets())
        .into_iter()
        .flatten()
        .filter_map(|(name, pooled)| pool_rrset(catalog, name, pooled));
    // Sized for an RRset per name of the share at once. Grown by doubling, the list's earlier
    // buffers stayed resident once freed in the heap of the thread that grew it: at a million
    // names, lbdns with XDP held 356.6 MB of anonymous memory after start-up instead of 346.8,
    // and, with the allocator's thresholds fixed (`served::fix_allocator_thresholds`), 325.8
    // instead of 318.3.
    let mut rrsets = Vec::with_capacity(share.of(catalog.names()).len());
    rrsets.extend(zone.chain(pooled));
    rrsets
}

/// The hot RRsets of a few names, and every RRset the maps could hold for them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HotPart {
    /// What [`hot_rrsets`] gives for these names.
    pub rrsets: Vec<HotRrset>,
    /// The A and AAAA RRset of each name, and of each location of a pool owner among them
    /// (`super::geo`): those not in `rrsets` must not be in the maps.
    pub ids: Vec<RrsetId>,
    /// The rows of the geo pool owners among the names.
    pub geo: Vec<GeoRow>,
}

/// [`hot_rrsets`] restricted to `names`, found by lookups rather than by walking the catalog:
/// what a change of those names (a pool's health, a zone's changed name) publishes.
pub fn hot_rrsets_at<'n>(
    catalog: &Catalog,
    names: impl IntoIterator<Item = &'n LowerName>,
) -> HotPart {
    let pools = catalog.pools();
    let mut part = HotPart::default();
    let mut owners = Vec::new();
    for name in names {
        let wire = lowercase_wire(&Name::from(name));
        for qtype in [AddrType::A, AddrType::Aaaa] {
            part.ids.push(RrsetId {
                qtype,
                name: wire.clone(),
            });
        }
        if catalog.is_pool_owner(name) {
            part.ids.extend(geo::location_ids(&wire, usize::MAX));
            owners.push(name);
        }
        let zone = catalog
            .direct_address_rrsets_at(name)
            .filter_map(zone_rrset);
        let pooled = [RecordType::A, RecordType::AAAA]
            .into_iter()
            .filter(|_| catalog.is_pool_owner(name))
            .filter_map(|rtype| pools.get(name, rtype))
            .filter_map(|pooled| pool_rrset(catalog, name, pooled));
        part.rrsets.extend(zone.chain(pooled));
    }
    let located = geo::hot_geo_at(catalog, owners);
    part.rrsets.extend(located.rrsets);
    part.geo = located.rows;
    part.ids.sort_unstable();
    part.ids.dedup();
    part
}

/// The hot RRset of a zone RRset the fast path answers.
fn zone_rrset(direct: DirectRrset<'_>) -> Option<HotRrset> {
    let rrsigs = direct.answer_signatures().and_then(rrsigs);
    let signed = direct.signatures.is_some();
    hot(&direct.name, (direct.rrset, Order::plain()), signed, rrsigs)
}

/// The hot RRset of a pool's answer at `name`: never sent with RRSIGs, signed if an RRSIG at
/// its owner covers its type. None in a zone served without data, which answers SERVFAIL like
/// the rest of its zone.
fn pool_rrset(catalog: &Catalog, name: &LowerName, pooled: &Pooled) -> Option<HotRrset> {
    catalog.zone_for(name)?;
    let signed = catalog.is_signed(name, pooled.rrset.rtype);
    hot(name, (&pooled.rrset, &pooled.order), signed, None)
}

/// The hot RRset at `owner` of a pool answer that no RRSIG covers (a geo pool's,
/// `super::geo`).
pub(super) fn unsigned(owner: &Name, pooled: &Pooled) -> Option<HotRrset> {
    hot(owner, (&pooled.rrset, &pooled.order), false, None)
}

/// The hot RRset of an A or AAAA RRset at `owner`, whose answers go out in `order`: whether an
/// RRSIG covers it, and the RRSIGs a DO=1 answer sends with it.
fn hot(
    owner: &Name,
    (rrset, order): (&Rrset, &Order),
    signed: bool,
    rrsigs: Option<Rrsigs>,
) -> Option<HotRrset> {
    let qtype = match rrset.rtype {
        RecordType::A => AddrType::A,
        RecordType::AAAA => AddrType::Aaaa,
        _ => return None,
    };
    Some(HotRrset {
        name: lowercase_wire(owner),
        qtype,
        ttl: rrset.ttl,
        addrs: rrset
            .rdatas
            .iter()
            .filter_map(|rdata| rdata.ip_addr())
            .collect(),
        schedule: order.schedule.clone(),
        cap: order.cap.map(|cap| cap as usize),
        signed,
        rrsigs,
    })
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
pub(super) fn lowercase_wire(name: &Name) -> Vec<u8> {
    let mut wire = Vec::with_capacity(name.len() + 1);
    for label in name.iter() {
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
    wire
}
