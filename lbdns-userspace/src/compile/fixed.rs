//! Catalog → the fixed replies (`lbdns_common::fixed`): every query of a zone's names whose
//! socket-path reply is the same whoever asks, prepared whole from that reply.
//!
//! For each name of an eligible zone, the queries asked are: each type the name holds but A
//! and AAAA (which the name table answers) and the DNSSEC types a resolver does not ask for
//! (RRSIG, NSEC, NSEC3); and A and AAAA where the name has none (NODATA, or a CNAME's chain).
//! The socket path's own encoder answers a reference question (the name in lowercase, RD=0,
//! EDNS without options, DO=0, the largest UDP size) through `authority::answer_cycle`, which
//! says whether the query's octets alone decide the reply: a rotating answer, a geo pool's,
//! has no fixed reply. Also left out: a reply with records of a pool owner (their addresses
//! follow health checks) or of another zone (it would change without this zone changing),
//! one with another RCODE than NOERROR, and records longer than the program copies. Of a pool
//! owner's questions, only the address types its pool has no endpoint for are asked: NODATA
//! whatever health says, and for a geo pool wherever the client is (`answer_cycle` then finds
//! nothing chosen by location).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use hickory_proto::rr::{LowerName, Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable};
use lbdns_common::{
    fixed::{FixedKey, FixedReply, MAX_NAME_LEN, MAX_REPLIES_PER_ZONE, REPLY_FLAGS},
    limits::EDNS_UDP_PAYLOAD,
    maps::MAX_FIXED_REPLIES,
    names::key_words,
};

use super::prepared::records;
use super::zone_parts::{Depends, Reads, ZoneParts};
use crate::authority::{answer_cycle, Catalog, Client, Node, Replies, Transport, ZoneData};

/// What `FIXED_REPLIES` must hold.
pub type FixedImage = BTreeMap<FixedKey, FixedReply>;

/// The most replies an image holds: half of the largest map, since a publish adds the new
/// replies before it removes the old ones.
const MAX_REPLIES: usize = MAX_FIXED_REPLIES as usize / 2;

/// An OPT record without options: root owner, TYPE, CLASS, TTL, RDLENGTH.
const OPT_LEN: usize = 11;
/// Header bits a fixed reply must have clear: opcode, TC, RA, Z, AD, and (with
/// [`REPLY_FLAGS`]'s AA) every RCODE but NOERROR.
const FORBIDDEN_FLAGS: u16 = 0x7800 | 0x0200 | 0x0080 | 0x0040 | 0x0020 | 0x000f;
/// The QR bit.
const QR: u16 = 0x8000;

/// Why the program leaves a zone's queries to the socket path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    #[error("more than {MAX_REPLIES_PER_ZONE} queries with a fixed reply")]
    TooMany,
}

/// One zone's fixed replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedPart {
    replies: Vec<(FixedKey, FixedReply)>,
    /// The other zones the socket path's replies reached into (`Reads`): a CNAME's target
    /// there, an MX's. Such a zone loaded later changes the reply (its records follow the
    /// CNAME), so this part must be compiled again.
    reads: Vec<LowerName>,
}

impl Reads for Result<FixedPart, Ineligible> {
    fn other_zones(&self) -> &[LowerName] {
        self.as_ref().map_or(&[], |part| &part.reads)
    }
}

impl FixedPart {
    /// The fixed replies of `zone`, one of `catalog`'s.
    pub fn of(catalog: &Catalog, zone: &ZoneData) -> Result<Self, Ineligible> {
        let questions = questions(catalog, zone)?;
        let pools = catalog.pools();
        let client = Client::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), Transport::Udp);
        let mut replies = Vec::new();
        let mut reads = BTreeSet::new();
        for (wire, qtype) in questions {
            let query = reference_query(&wire, qtype);
            let Some(Replies::Cycle { replies: cycle, .. }) =
                answer_cycle(catalog, &pools, &query, client)
            else {
                continue;
            };
            let [reply] = &cycle[..] else {
                continue;
            };
            let question_end = query.len() - OPT_LEN;
            let Some(names) = record_names(reply, question_end) else {
                continue;
            };
            let named = names
                .iter()
                .flat_map(|(owner, target)| [Some(owner), target.as_ref()]);
            for apex in named.flatten().filter_map(|name| catalog.apex_for(name)) {
                if *apex != zone.apex {
                    reads.insert(apex.clone());
                }
            }
            if let Some(value) = fixed_reply(catalog, zone, reply, question_end, &names) {
                let key = FixedKey {
                    name: key_words(&wire),
                    qtype: u16::from(qtype),
                    ..FixedKey::default()
                };
                replies.push((key, value));
            }
        }
        Ok(Self {
            replies,
            reads: reads.into_iter().collect(),
        })
    }
}

/// The questions of `zone` to prepare replies for: each name's wire form (lowercase) and type.
fn questions(catalog: &Catalog, zone: &ZoneData) -> Result<Vec<(Vec<u8>, RecordType)>, Ineligible> {
    // A pool owner's address type its pool has no endpoint for: NODATA, the one pool reply
    // that health checks and drains do not change. Its other questions are left out below.
    let pool_nodata: Vec<(Name, RecordType)> = catalog
        .pool_nodata()
        .map(|(owner, rtype)| (Name::from(owner), *rtype))
        .filter(|(owner, _)| catalog.zone_for(owner).map(|theirs| &theirs.apex) == Some(&zone.apex))
        .collect();
    // Counted first without reading names back, so that a zone past the limit (a million
    // names' NODATA) costs a walk of some of its nodes, stopped at the limit.
    let mut count = pool_nodata.len();
    for position in 0..zone.len() as u32 {
        count += asked(zone.node_at(position)).count();
        if count > MAX_REPLIES_PER_ZONE {
            return Err(Ineligible::TooMany);
        }
    }
    let mut questions = Vec::with_capacity(count);
    for (name, node) in zone.nodes() {
        if catalog.is_pool_owner(&name) {
            continue;
        }
        let Ok(wire) = Name::from(name).to_bytes() else {
            continue;
        };
        if wire.len() <= MAX_NAME_LEN {
            questions.extend(asked(node).map(|rtype| (wire.clone(), rtype)));
        }
    }
    for (owner, rtype) in pool_nodata {
        if let Ok(wire) = owner.to_bytes() {
            if wire.len() <= MAX_NAME_LEN {
                questions.push((wire, rtype));
            }
        }
    }
    Ok(questions)
}

/// The types asked at `node`: each it holds but A and AAAA and the DNSSEC types a resolver
/// does not ask for, and A and AAAA where it has none. None at a name of the NSEC3 chain alone,
/// which does not exist for lookups.
fn asked(node: &Node) -> impl Iterator<Item = RecordType> + '_ {
    let exists = !node.only_nsec3();
    let held = node.rrsets.iter().map(|rrset| rrset.rtype).filter(|rtype| {
        !matches!(
            rtype,
            RecordType::A
                | RecordType::AAAA
                | RecordType::RRSIG
                | RecordType::NSEC
                | RecordType::NSEC3
        )
    });
    let nodata = [RecordType::A, RecordType::AAAA]
        .into_iter()
        .filter(|rtype| node.get(*rtype).is_none());
    held.chain(nodata).filter(move |_| exists)
}

/// The reference question: ID 0, no flags, `name` and `qtype` in class IN, and an OPT record
/// of the socket path's UDP size without options, DO=0.
fn reference_query(name: &[u8], qtype: RecordType) -> Vec<u8> {
    let mut query = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    query.extend_from_slice(name);
    query.extend_from_slice(&u16::from(qtype).to_be_bytes());
    query.extend_from_slice(&[0, 1, 0, 0, 41]);
    query.extend_from_slice(&EDNS_UDP_PAYLOAD.to_be_bytes());
    query.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    query
}

/// The program's copy of `reply` to a reference question whose header and question take
/// `question_end` octets: `None` if it is not one (see the module's list).
fn fixed_reply(
    catalog: &Catalog,
    zone: &ZoneData,
    reply: &[u8],
    question_end: usize,
    names: &[(Name, Option<Name>)],
) -> Option<FixedReply> {
    let word = |at: usize| Some(u16::from_be_bytes(reply.get(at..at + 2)?.try_into().ok()?));
    let flags = word(2)?;
    let [ancount, nscount, arcount] = [word(6)?, word(8)?, word(10)?];
    let end = reply.len().checked_sub(OPT_LEN)?;
    // The OPT record, last: root owner, TYPE 41, extended RCODE 0, version 0, DO=0, no data.
    let opt = reply.get(end..)?;
    let plain_opt = opt[0] == 0 && opt[1..3] == [0, 41] && opt[5..] == [0; 6];
    if flags & QR == 0 || flags & FORBIDDEN_FLAGS != 0 || arcount == 0 || !plain_opt {
        return None;
    }
    let counts = [ancount, nscount, arcount - 1];
    let expected = counts
        .iter()
        .map(|&count| usize::from(count))
        .sum::<usize>();
    if names.len() != expected || !owned_by(catalog, zone, names) {
        return None;
    }
    Some(FixedReply {
        flags: flags & REPLY_FLAGS,
        counts,
        records: records(
            reply.get(question_end..end)?,
            std::iter::empty(),
            zone.secure,
        )?,
    })
}

/// Whether every record (`names`: owner and target) is `zone`'s own, and neither is a pool
/// owner's nor names one as its target (an NS, CNAME, MX or SRV record, whose target's
/// addresses the socket path adds from the pools as health checks decide).
fn owned_by(catalog: &Catalog, zone: &ZoneData, names: &[(Name, Option<Name>)]) -> bool {
    let pool = |name: &Name| catalog.is_pool_owner(&LowerName::from(name));
    names.iter().all(|(owner, target)| {
        let theirs = catalog.zone_for(owner).map(|zone| &zone.apex);
        theirs == Some(&zone.apex) && !pool(owner) && !target.as_ref().is_some_and(pool)
    })
}

/// The owner of each record of `reply` from `start` on, the OPT record left out, with its
/// target if it is an NS, CNAME, MX or SRV record; `None` if they do not parse.
fn record_names(reply: &[u8], start: usize) -> Option<Vec<(Name, Option<Name>)>> {
    let count = |at: usize| {
        let octets = reply.get(at..at + 2)?;
        Some(usize::from(u16::from_be_bytes([octets[0], octets[1]])))
    };
    let records = count(6)? + count(8)? + count(10)?;
    let mut decoder = BinDecoder::new(reply);
    decoder.read_slice(start).ok()?;
    let mut names = Vec::with_capacity(records);
    for _ in 0..records {
        let owner = Name::read(&mut decoder).ok()?;
        let rtype = RecordType::from(u16::read(&mut decoder).ok()?);
        // CLASS and TTL, then RDLENGTH and the data.
        decoder.read_slice(6).ok()?;
        let len = usize::from(u16::read(&mut decoder).ok()?);
        let rdata = reply.len() - decoder.len();
        let target_at = match rtype {
            RecordType::NS | RecordType::CNAME => Some(0),
            RecordType::MX => Some(2),
            RecordType::SRV => Some(6),
            _ => None,
        };
        let target = match target_at {
            Some(at) => {
                let mut target = BinDecoder::new(reply);
                target.read_slice(rdata + at).ok()?;
                Some(Name::read(&mut target).ok()?)
            }
            None => None,
        };
        decoder.read_slice(len).ok()?;
        if rtype != RecordType::OPT {
            names.push((owner, target));
        }
    }
    Some(names)
}

/// Each served zone's fixed replies, and the image they last made.
#[derive(Debug, Default)]
pub struct FixedParts {
    parts: ZoneParts<Result<FixedPart, Ineligible>>,
    image: FixedImage,
    /// Counts the images assembled: what was compiled from an image (`negative`'s NODATA
    /// marks) is current while this is unchanged.
    generation: u64,
}

impl FixedParts {
    /// Brings the image up to date with `catalog`, compiling again only the zones that changed.
    pub fn update(&mut self, catalog: &Catalog) {
        // Which replies are a zone's own depends on the apexes served and the pool owners.
        let changed = self
            .parts
            .update(catalog, Depends::OnCatalog, |apex, zone| {
                let part = FixedPart::of(catalog, zone);
                if let Err(why) = &part {
                    tracing::info!(zone = %apex, %why, "fixed replies left to the socket path");
                }
                part
            });
        if changed {
            self.image = assemble(self.parts.parts().filter_map(|part| part.as_ref().ok()));
            self.generation += 1;
        }
    }

    /// The image as the last [`Self::update`] left it.
    pub fn image(&self) -> &FixedImage {
        &self.image
    }

    /// Which image [`Self::image`] is: a new number for each new image.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// How many fixed replies `catalog` puts into `FIXED_REPLIES`, for sizing the map before the
/// first publish (which compiles the zones again, and says why any is left out).
pub fn replies_needed(catalog: &Catalog) -> u64 {
    let parts: Vec<FixedPart> = catalog
        .served()
        .filter_map(|(_, zone)| FixedPart::of(catalog, zone.as_ref()?).ok())
        .collect();
    assemble(&parts).len() as u64
}

/// The image of `parts`; zones past the map's room are left out, in the order of their first
/// keys.
fn assemble<'p>(parts: impl IntoIterator<Item = &'p FixedPart>) -> FixedImage {
    let mut parts: Vec<&FixedPart> = parts.into_iter().collect();
    parts.sort_by_key(|part| part.replies.first().map(|(key, _)| *key));
    let mut image = FixedImage::new();
    for part in parts {
        if image.len() + part.replies.len() > MAX_REPLIES {
            tracing::info!("fixed replies left to the socket path: no room in the XDP maps");
            continue;
        }
        image.extend(part.replies.iter().copied());
    }
    image
}
