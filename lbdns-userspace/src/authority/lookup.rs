//! RFC 1034 §4.3.2 resolution inside one zone, with RFC 4592 wildcards and RFC 8482 ANY.
//! Pure: it reads zone data and returns which RRsets go in which section.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, RData, RecordType};

use super::zone_data::{Node, Rdata, Rrset, ZoneData};
use super::{Catalog, PoolAnswers};

/// Where a pool owner has no node of its own in the zone.
static EMPTY_NODE: Node = Node { rrsets: Vec::new() };

/// Longest CNAME chain followed before giving up; real chains are a handful long.
const MAX_CNAME_HOPS: usize = 16;

/// One RRset placed in a response, under the owner name it is written with.
#[derive(Debug)]
pub struct Placed<'z> {
    /// The owner on the wire: the query's own spelling for the first hop and for wildcard
    /// synthesis, so it compresses to the question and keeps 0x20 case.
    pub owner: Name,
    pub rrset: &'z Rrset,
    pub ttl: u32,
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
        }
    }

    fn negative(&mut self, zone: &'z ZoneData, rcode: ResponseCode) {
        self.rcode = rcode;
        let soa = zone.soa();
        self.authority.push(Placed {
            owner: soa.name.clone(),
            rrset: soa,
            ttl: zone.negative_ttl(),
        });
    }
}

/// Resolves `qname`/`qtype` from the served zones; `None` when no zone contains `qname`.
///
/// RFC 1034 §4.3.2 step 3b sends each CNAME target back to step 1, which picks the zone
/// again: a chain into another zone we serve (a nested child, say) is answered from it.
pub fn resolve<'z>(
    catalog: &'z Catalog,
    pools: &'z PoolAnswers,
    qname: &Name,
    qtype: RecordType,
) -> Option<Resolution<'z>> {
    let mut zone = catalog.zone_for(qname)?;
    let mut res = Resolution::new();
    let mut name = qname.clone();
    for _ in 0..MAX_CNAME_HOPS {
        let lower = LowerName::new(&name);
        if let Some((cut, node)) = zone.cut_above(&name, qtype != RecordType::DS) {
            refer(zone, &mut res, &cut, node);
            return Some(res);
        }
        let pool_owner = catalog.is_pool_owner(&lower);
        let node = match zone.node(&lower) {
            Some(node) => node,
            // A pool makes its owner exist even where the zone has nothing there.
            None if pool_owner => &EMPTY_NODE,
            None => match zone.wildcard_for(&lower) {
                Some(wildcard) => wildcard,
                None => {
                    res.negative(zone, ResponseCode::NXDomain);
                    return Some(res);
                }
            },
        };
        let wanted = match qtype {
            RecordType::A | RecordType::AAAA if pool_owner => pools.get(&lower, qtype),
            RecordType::ANY => node.rrsets.iter().find(|r| r.rtype != RecordType::RRSIG),
            _ => node.get(qtype),
        };
        if let Some(rrset) = wanted {
            res.answer.push(Placed {
                owner: name,
                rrset,
                ttl: rrset.ttl,
            });
            add_targets(zone, &mut res, rrset, false);
            return Some(res);
        }
        let Some(cname) = node.get(RecordType::CNAME) else {
            res.negative(zone, ResponseCode::NoError);
            return Some(res);
        };
        res.answer.push(Placed {
            owner: name,
            rrset: cname,
            ttl: cname.ttl,
        });
        let Some(RData::CNAME(target)) = cname.rdatas.first().and_then(Rdata::other) else {
            return Some(res);
        };
        let target = LowerName::new(&target.0);
        // A name seen before means a loop: every CNAME of it is already in the answer.
        if res
            .answer
            .iter()
            .any(|placed| LowerName::new(&placed.owner) == target)
        {
            return Some(res);
        }
        // Outside every zone we serve, the resolver carries on from here.
        let Some(next) = catalog.zone_for(&Name::from(&target)) else {
            return Some(res);
        };
        zone = next;
        name = Name::from(target);
    }
    // An absurdly long chain: answer with what we have, as other servers do.
    Some(res)
}

/// A referral: the cut's NS in authority and in-zone addresses of its servers as glue.
fn refer<'z>(zone: &'z ZoneData, res: &mut Resolution<'z>, cut: &LowerName, node: &'z Node) {
    let Some(ns) = node.get(RecordType::NS) else {
        return;
    };
    // AA describes the answer section: set only if a CNAME of ours led here.
    res.authoritative = !res.answer.is_empty();
    res.referral = true;
    res.authority.push(Placed {
        owner: Name::from(cut),
        rrset: ns,
        ttl: ns.ttl,
    });
    add_targets(zone, res, ns, true);
}

/// RFC 1035 §3.3: addresses of the names NS, MX and SRV records point at, where we hold them.
/// Addresses below a cut are glue, not our data: they go out only with a referral.
fn add_targets<'z>(zone: &'z ZoneData, res: &mut Resolution<'z>, rrset: &'z Rrset, glue: bool) {
    for rdata in rrset.rdatas.iter().filter_map(Rdata::other) {
        let target = match rdata {
            RData::NS(ns) => &ns.0,
            RData::MX(mx) => &mx.exchange,
            RData::SRV(srv) => &srv.target,
            _ => continue,
        };
        if !glue && zone.cut_above(target, true).is_some() {
            continue;
        }
        let Some(node) = zone.node(&LowerName::new(target)) else {
            continue;
        };
        for rtype in [RecordType::A, RecordType::AAAA] {
            if let Some(addresses) = node.get(rtype) {
                if !res
                    .additional
                    .iter()
                    .any(|p| std::ptr::eq(p.rrset, addresses))
                {
                    res.additional.push(Placed {
                        owner: addresses.name.clone(),
                        rrset: addresses,
                        ttl: addresses.ttl,
                    });
                }
            }
        }
    }
}
