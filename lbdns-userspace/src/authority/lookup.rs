//! RFC 1034 §4.3.2 resolution inside one zone, with RFC 4592 wildcards, RFC 8482 ANY and,
//! for DO=1 queries to signed zones, RFC 4035 §3.1 signatures and denial proofs (`denial`).
//! RFC 6672 DNAME redirection (`dname`) is followed like a CNAME.
//! Pure: it reads zone data and returns which RRsets go in which section.

use std::ops::Deref;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, RData, RecordType};

use super::denial;
use super::dname;
use super::ecs::Locator;
use super::negative_soa::NegativeSoa;
use super::zone_data::{wildcard_of, Node, Order, Rdata, Rrset, ZoneData};
use super::{Catalog, PoolAnswers};
use crate::zone::name::ancestor;

/// Where a pool owner has no node of its own in the zone.
static EMPTY_NODE: Node = Node::EMPTY;

/// Longest CNAME chain followed before giving up; real chains are a handful long.
const MAX_CNAME_HOPS: usize = 16;

/// One RRset placed in a response, under the owner name it is written with.
#[derive(Debug)]
pub struct Placed<'z> {
    /// The owner on the wire: the query's own spelling for the first hop and for wildcard
    /// synthesis, so it compresses to the question and keeps 0x20 case.
    pub owner: Name,
    pub rrset: Held<'z>,
    /// The order an answer's records go out in: a pool's, or plain rotation.
    pub order: &'z Order,
    pub ttl: u32,
    /// The RRSIGs that go out with the RRset (DO=1 in a signed zone).
    pub signatures: Option<&'z Rrset>,
}

/// An RRset of a zone, or one made for this answer alone: the CNAME that a DNAME
/// synthesises (RFC 6672 §3.3) exists in no zone, so the answer owns it.
#[derive(Debug)]
pub enum Held<'z> {
    Zone(&'z Rrset),
    Made(Box<Rrset>),
}

impl Deref for Held<'_> {
    type Target = Rrset;

    fn deref(&self) -> &Rrset {
        match self {
            Self::Zone(rrset) => rrset,
            Self::Made(rrset) => rrset,
        }
    }
}

impl Placed<'_> {
    /// The TTL the signatures go out with: their own, except that the SOA's follow the SOA,
    /// whose TTL a negative answer lowers (RFC 2308 §3; NSD does the same).
    pub fn signature_ttl(&self, signatures: &Rrset) -> u32 {
        match self.rrset.rtype {
            RecordType::SOA => self.ttl,
            _ => signatures.ttl,
        }
    }
}

/// The outcome of a lookup, before it meets the wire and its size limits.
#[derive(Debug)]
pub struct Resolution<'z> {
    pub rcode: ResponseCode,
    pub authoritative: bool,
    pub answer: Vec<Placed<'z>>,
    pub authority: Vec<Placed<'z>>,
    pub additional: Vec<Placed<'z>>,
    /// A referral whose glue must not be dropped silently (RFC 9471).
    pub referral: bool,
    /// The answer goes out whole or not at all: the signatures of several types answering an
    /// RRSIG query, which NSD truncates as one RRset.
    pub answer_atomic: bool,
    /// The ECS SCOPE PREFIX-LENGTH (RFC 7871 §7.2.1): the longest of the answers that depend
    /// on the client's location, 0 when none does.
    pub ecs_scope: u8,
    /// An answer was chosen by where the client is (a geo pool's): the same query from
    /// elsewhere may get another.
    pub located: bool,
    /// The zone's SOA as a negative answer carries it, once placed in the authority section.
    negative_soa: Option<&'z NegativeSoa>,
}

/// The section an RRset goes to.
#[derive(Debug, Clone, Copy)]
pub enum Section {
    Answer,
    Authority,
    Additional,
}

impl<'z> Resolution<'z> {
    fn new() -> Self {
        Self {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answer: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            referral: false,
            answer_atomic: false,
            ecs_scope: 0,
            located: false,
            negative_soa: None,
        }
    }

    /// The zone's negative SOA if the reply's records are that SOA alone, unsigned: a plain
    /// NXDOMAIN or NODATA, which `NegativeSoa::write` writes.
    pub fn negative_soa(&self) -> Option<&'z NegativeSoa> {
        let soa_alone = matches!(self.authority.as_slice(), [soa] if soa.signatures.is_none());
        let alone = soa_alone && self.answer.is_empty() && self.additional.is_empty();
        self.negative_soa.filter(|_| alone)
    }

    /// Places `rrset`, found at `node`, under `owner`, with its signatures when `signed`.
    /// An RRset already in the section under the same owner is not placed twice (one NSEC
    /// can prove two things).
    pub fn place(
        &mut self,
        section: Section,
        owner: Name,
        node: &'z Node,
        rrset: &'z Rrset,
        signed: bool,
    ) {
        self.place_ordered(section, owner, node, (rrset, Order::plain()), signed);
    }

    /// [`Self::place`] for an RRset whose answers go out in `order`.
    fn place_ordered(
        &mut self,
        section: Section,
        owner: Name,
        node: &'z Node,
        (rrset, order): (&'z Rrset, &'z Order),
        signed: bool,
    ) {
        let placed = Placed {
            signatures: signed.then(|| node.signatures(rrset.rtype)).flatten(),
            ttl: rrset.ttl,
            owner,
            rrset: Held::Zone(rrset),
            order,
        };
        let list = match section {
            Section::Answer => &mut self.answer,
            Section::Authority => &mut self.authority,
            Section::Additional => &mut self.additional,
        };
        if !list
            .iter()
            .any(|p| std::ptr::eq(&*p.rrset, rrset) && p.owner == placed.owner)
        {
            list.push(placed);
        }
    }

    /// RFC 2308 §3: the SOA, at the negative TTL, with its signatures when `signed`.
    fn add_soa(&mut self, zone: &'z ZoneData, signed: bool) {
        let soa = zone.soa();
        self.negative_soa = zone.negative_soa.as_ref();
        let apex = zone.apex_node();
        self.authority.push(Placed {
            owner: zone.spelled(&zone.apex).clone(),
            rrset: Held::Zone(soa),
            order: Order::plain(),
            ttl: zone.negative_ttl(),
            signatures: signed.then(|| apex.signatures(RecordType::SOA)).flatten(),
        });
    }
}

/// Resolves `qname`/`qtype` from the served zones; `None` when no zone contains `qname`.
/// A geo pool's answer is the one for the client `locator` places.
/// With `dnssec_ok`, answers from signed zones carry signatures and denial proofs as NSD's
/// do (RFC 4035 §3.1, RFC 5155 §7.2).
///
/// RFC 1034 §4.3.2 step 3b sends each CNAME target back to step 1, which picks the zone
/// again: a chain into another zone we serve (a nested child, say) is answered from it.
pub fn resolve<'z>(
    catalog: &'z Catalog,
    pools: &'z PoolAnswers,
    locator: &Locator<'_>,
    qname: &Name,
    qtype: RecordType,
    dnssec_ok: bool,
) -> Option<Resolution<'z>> {
    let mut zone = zone_for(catalog, qname, qtype)?;
    let mut res = Resolution::new();
    let mut name = qname.clone();
    for _ in 0..MAX_CNAME_HOPS {
        let signed = dnssec_ok && zone.secure;
        let lower = LowerName::new(&name);
        let found = zone.node(&lower);
        let own_cut = found.filter(|_| qtype != RecordType::DS);
        if let Some((cut, node)) = zone.cut_above(&name, &lower, own_cut) {
            refer(zone, &mut res, &cut, node, signed);
            return Some(res);
        }
        let pool_owner = catalog.is_pool_owner(&lower);
        // `original` is the name whose data answers: the query's, or the wildcard's.
        let (node, original) = match found {
            Some(node) => (node, lower),
            // A pool makes its owner exist even where the zone has nothing there.
            None if pool_owner => (&EMPTY_NODE, lower),
            None => {
                let encloser = zone.closest_encloser(&lower);
                // RFC 6672 §3.3: a DNAME at the closest encloser redirects every name below
                // it, before wildcards and NXDOMAIN are considered.
                if let Some(redirect) = dname::at(&encloser) {
                    match follow(&mut res, redirect, &name, qtype, signed) {
                        Some(next) => match zone_for(catalog, &next, qtype) {
                            Some(next_zone) => {
                                zone = next_zone;
                                name = next;
                                continue;
                            }
                            // Outside every zone we serve, the resolver carries on.
                            None => return Some(res),
                        },
                        None => return Some(res),
                    }
                }
                let Some(wildcard) = encloser.wildcard else {
                    if signed && !denial::nxdomain(zone, &mut res, &lower, &encloser.name) {
                        res.rcode = ResponseCode::ServFail;
                        return Some(res);
                    }
                    res.rcode = ResponseCode::NXDomain;
                    res.add_soa(zone, signed);
                    return Some(res);
                };
                if signed && !denial::wildcard_answer(zone, &mut res, &lower, &encloser.name) {
                    res.rcode = ResponseCode::ServFail;
                    return Some(res);
                }
                let source = wildcard_of(&encloser.name).expect("the wildcard exists");
                (wildcard, source)
            }
        };
        if qtype == RecordType::RRSIG && node.rrsigs().next().is_some() {
            // As NSD does: every signature at the name, whatever it covers.
            for rrsigs in node.rrsigs() {
                res.place(Section::Answer, name.clone(), node, rrsigs, false);
            }
            res.answer_atomic = true;
            return Some(res);
        }
        let plain = |rrset| (rrset, Order::plain());
        let wanted = match qtype {
            RecordType::A | RecordType::AAAA if pool_owner => match pools.geo(&original) {
                Some(geo) => {
                    let (location, scope) = locator.locate(geo.ecs);
                    res.ecs_scope = res.ecs_scope.max(scope);
                    let answer = geo.get(qtype, location);
                    // NODATA here is chosen by location only where another gets an answer.
                    res.located = answer.is_some() || geo.answers_anywhere(qtype);
                    answer
                }
                None => pools.get(&original, qtype),
            }
            .map(|pooled| (&pooled.rrset, &pooled.order)),
            RecordType::ANY => any_rrset(node).map(plain),
            // NSEC3 records live only in the hashed chain (RFC 5155 §7.2.8).
            RecordType::NSEC3 => None,
            _ => node.get(qtype).map(plain),
        };
        if let Some(answer @ (rrset, _)) = wanted {
            res.place_ordered(Section::Answer, name, node, answer, signed && !pool_owner);
            add_targets(zone, &mut res, rrset, false, signed);
            return Some(res);
        }
        // NSD answers NSEC3 NODATA even at a CNAME: the type belongs to no name's data.
        let cname = node
            .get(RecordType::CNAME)
            .filter(|_| qtype != RecordType::NSEC3);
        let Some(cname) = cname else {
            res.add_soa(zone, signed);
            if signed {
                denial::nodata(zone, &mut res, &original, qtype);
            }
            return Some(res);
        };
        res.place(Section::Answer, name, node, cname, signed);
        let Some(RData::CNAME(target)) = cname.rdatas.first().and_then(Rdata::other) else {
            return Some(res);
        };
        let target = LowerName::new(&target.0);
        // A name seen before means a loop: every CNAME of it is already in the answer.
        if res.answer.iter().any(|placed| {
            placed.rrset.rtype == RecordType::CNAME && LowerName::new(&placed.owner) == target
        }) {
            return Some(res);
        }
        // Outside every zone we serve, the resolver carries on from here.
        let Some(next) = zone_for(catalog, &Name::from(&target), qtype) else {
            return Some(res);
        };
        zone = next;
        name = Name::from(target);
    }
    // An absurdly long chain: answer with what we have, as other servers do.
    Some(res)
}

/// RFC 6672 §3.3 step 3c, as NSD answers it: the DNAME RRset (signed when `signed`), then
/// the CNAME it synthesises for `name`, unsigned (§5.3.1), with the DNAME's TTL. Returns the
/// name to carry on from, or `None` when the answer is complete: a CNAME query (the
/// synthesised CNAME answers it), a loop, or a target too long to exist (YXDOMAIN, §2.2).
fn follow<'z>(
    res: &mut Resolution<'z>,
    redirect: dname::Redirect<'z>,
    name: &Name,
    qtype: RecordType,
    signed: bool,
) -> Option<Name> {
    let dname::Redirect {
        owner,
        node,
        rrset,
        target,
    } = redirect;
    // The owner as the query spells it, so it compresses into the question.
    let owner = ancestor(name, usize::from(owner.num_labels()));
    let seen = res.answer.iter().any(|p| std::ptr::eq(&*p.rrset, rrset));
    res.place(Section::Answer, owner.clone(), node, rrset, signed);
    // A DNAME whose target lies below its owner matches its own result again: stop at the
    // second visit, as NSD does.
    if seen && owner.zone_of(&target) {
        return None;
    }
    let Some(next) = dname::substitute(name, &owner, &target) else {
        res.rcode = ResponseCode::YXDomain;
        return None;
    };
    let cname = dname::synthesise(&next, rrset.ttl);
    let repeated = res.answer.iter().any(|p| {
        p.rrset.rtype == RecordType::CNAME && p.owner == *name && p.rrset.rdatas == cname.rdatas
    });
    if repeated {
        return None;
    }
    res.answer.push(Placed {
        owner: name.clone(),
        ttl: cname.ttl,
        rrset: Held::Made(Box::new(cname)),
        order: Order::plain(),
        signatures: None,
    });
    (qtype != RecordType::CNAME).then_some(next)
}

/// RFC 8482 §4.1 leaves the choice of the one RRset to the server; this is NSD's, so the two
/// agree: the first of a small, popular type, else the last of any other type but DNSKEY and
/// NSEC (in zone-file order), else the last of those. Signatures and the hashed chain never
/// answer ANY.
fn any_rrset(node: &Node) -> Option<&Rrset> {
    let eligible = || {
        node.rrsets
            .iter()
            .filter(|r| !matches!(r.rtype, RecordType::RRSIG | RecordType::NSEC3))
    };
    let preferred = |r: &&Rrset| {
        matches!(
            r.rtype,
            RecordType::A | RecordType::AAAA | RecordType::SOA | RecordType::MX | RecordType::PTR
        )
    };
    let shunned = |r: &&Rrset| matches!(r.rtype, RecordType::DNSKEY | RecordType::NSEC);
    eligible()
        .find(preferred)
        .or_else(|| eligible().filter(|r| !shunned(r)).last())
        .or_else(|| eligible().last())
}

/// The zone that answers `name`: the most specific, except that DS at the apex of a zone
/// whose parent we also serve is answered by the parent (RFC 4035 §3.1.4.1).
fn zone_for<'z>(catalog: &'z Catalog, name: &Name, qtype: RecordType) -> Option<&'z ZoneData> {
    let zone = catalog.zone_for(name)?;
    if qtype == RecordType::DS && zone.apex == LowerName::new(name) && !name.is_root() {
        if let Some(parent) = catalog.zone_for(&name.base_name()) {
            return Some(parent);
        }
    }
    Some(zone)
}

/// A referral: the cut's NS in authority and in-zone addresses of its servers as glue; when
/// signed, the DS RRset or the proof that there is none (RFC 4035 §3.1.4, RFC 5155 §7.2.7).
fn refer<'z>(
    zone: &'z ZoneData,
    res: &mut Resolution<'z>,
    cut: &LowerName,
    node: &'z Node,
    signed: bool,
) {
    let Some(ns) = node.get(RecordType::NS) else {
        return;
    };
    // AA describes the answer section: set only if a CNAME of ours led here.
    res.authoritative = !res.answer.is_empty();
    res.referral = true;
    res.place(Section::Authority, Name::from(cut), node, ns, false);
    if signed {
        denial::delegation(zone, res, cut, node);
    }
    add_targets(zone, res, ns, true, signed);
}

/// RFC 1035 §3.3: addresses of the names NS, MX and SRV records point at, where we hold them,
/// signed as they are in the zone. Addresses below a cut are glue, not our data: they go out
/// only with a referral, and never signed (no RRSIG covers glue, RFC 4035 §2.2).
fn add_targets<'z>(
    zone: &'z ZoneData,
    res: &mut Resolution<'z>,
    rrset: &'z Rrset,
    glue: bool,
    signed: bool,
) {
    for rdata in rrset.rdatas.iter().filter_map(Rdata::other) {
        let target = match rdata {
            RData::NS(ns) => &ns.0,
            RData::MX(mx) => &mx.exchange,
            RData::SRV(srv) => &srv.target,
            _ => continue,
        };
        let lower = LowerName::new(target);
        let node = zone.node(&lower);
        if !glue && zone.cut_above(target, &lower, node).is_some() {
            continue;
        }
        let Some(node) = node else {
            continue;
        };
        for rtype in [RecordType::A, RecordType::AAAA] {
            if let Some(addresses) = node.get(rtype) {
                let owner = zone.spelled(&lower).clone();
                res.place(Section::Additional, owner, node, addresses, signed);
            }
        }
    }
}
