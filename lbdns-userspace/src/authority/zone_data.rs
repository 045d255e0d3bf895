//! One zone indexed for lookup: RRsets by owner, with every empty non-terminal present so that
//! "does this name exist?" (NXDOMAIN vs NODATA, RFC 8020) is a single map probe.
//!
//! Built for zones of millions of names: every node and RRset is allocated once at its final
//! size, addresses are stored inline, and the hash table holds 4-byte node numbers (a map of
//! names to nodes would hold 104-byte entries, in a table kept at most 7/8 full: over 200 MB
//! at a million names), so the index stays below what the zone's text costs other servers.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use hickory_proto::ProtoError;
use smallvec::SmallVec;

use super::chains::Chains;
use super::negative_soa::NegativeSoa;
use super::patch::Overlay;
use crate::dnssec;
use crate::zone::name::ancestor;
use crate::zone::{Numbered, SourceRecord, Zone};

/// All records of one owner and type, in file order, duplicates removed (RFC 2181 §5). The
/// owner is not kept here: its node's name is (see [`ZoneData::spelled`]), which spares an
/// 80-byte name in every RRset of a million-name zone.
#[derive(Debug)]
pub struct Rrset {
    pub rtype: RecordType,
    pub ttl: u32,
    pub rdatas: Box<[Rdata]>,
    /// Counts answers, so successive answers start one record further on. It wraps after 2^32
    /// answers, which at worst starts one answer in 4 billion out of turn.
    rotation: AtomicU32,
}

/// Plain rotation with every record: the order of every zone RRset.
static PLAIN: Order = Order {
    schedule: Vec::new(),
    cap: None,
};

/// One record's data. Addresses, nearly every record of a load-balancing zone, are kept
/// inline: hickory's `RData` takes 184 bytes, which at a million names made up half the
/// daemon's memory. Every other type keeps hickory's form, boxed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Other(Box<RData>),
}

impl From<RData> for Rdata {
    fn from(rdata: RData) -> Self {
        match rdata {
            RData::A(a) => Self::A(a.0),
            RData::AAAA(aaaa) => Self::Aaaa(aaaa.0),
            other => Self::Other(Box::new(other)),
        }
    }
}

impl Rdata {
    pub fn ip_addr(&self) -> Option<IpAddr> {
        match self {
            Self::A(a) => Some(IpAddr::V4(*a)),
            Self::Aaaa(aaaa) => Some(IpAddr::V6(*aaaa)),
            Self::Other(_) => None,
        }
    }

    /// The record's data in hickory's form, as a transfer carries it.
    pub fn to_rdata(&self) -> RData {
        match self {
            Self::A(a) => RData::A((*a).into()),
            Self::Aaaa(aaaa) => RData::AAAA((*aaaa).into()),
            Self::Other(rdata) => (**rdata).clone(),
        }
    }

    /// This record of `rrset`, owned by `owner`, as a transfer carries it.
    pub fn record_of(&self, owner: &Name, rrset: &Rrset) -> Record {
        Record::from_rdata(owner.clone(), rrset.ttl, self.to_rdata())
    }

    /// The record's data when it is not an address: what CNAME, NS, MX, SRV and SOA
    /// processing reads.
    pub fn other(&self) -> Option<&RData> {
        match self {
            Self::Other(rdata) => Some(rdata),
            Self::A(_) | Self::Aaaa(_) => None,
        }
    }

    /// The RDATA octets, names compressed against what `encoder` already holds.
    pub fn emit(&self, encoder: &mut BinEncoder<'_>) -> Result<(), ProtoError> {
        match self {
            Self::A(a) => encoder.emit_vec(&a.octets()),
            Self::Aaaa(aaaa) => encoder.emit_vec(&aaaa.octets()),
            Self::Other(rdata) => rdata.emit(encoder),
        }
    }
}

/// The load-balancing rule for an address RRset, the same on the socket and XDP paths (the XDP
/// answer sets carry the same schedule and cap): answer k leads with record
/// `schedule[k % schedule.len()]`, or `k % n` without a schedule; the other records follow in
/// rotation after it; at most `cap` records go out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Order {
    /// Indices of leading records, repeated in turn; empty means plain rotation.
    pub schedule: Vec<u8>,
    /// Most records per answer; `None` means all.
    pub cap: Option<u32>,
}

/// Which records of an RRset an answer carries: `count` of them, from index `start` on,
/// wrapping around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub count: usize,
}

impl Order {
    /// Plain rotation with every record: the order of every zone RRset.
    pub fn plain() -> &'static Self {
        &PLAIN
    }

    /// After how many answers the spans of an RRset of `n` records repeat: answer `k` and
    /// answer `k + period` carry the same records.
    pub fn period(&self, n: usize) -> usize {
        match self.schedule.len() {
            0 => n.max(1),
            len => len,
        }
    }

    /// The span answer number `k` carries from an RRset of `n` records.
    pub fn span(&self, k: usize, n: usize) -> Span {
        if n == 0 {
            return Span { start: 0, count: 0 };
        }
        let start = match self.schedule.len() {
            0 => k % n,
            len => usize::from(self.schedule[k % len]) % n,
        };
        Span {
            start,
            count: self.cap.map_or(n, |cap| (cap as usize).min(n)),
        }
    }
}

impl Rrset {
    pub fn new(rtype: RecordType, ttl: u32, rdatas: Vec<Rdata>) -> Self {
        Self {
            rtype,
            ttl,
            rdatas: rdatas.into_boxed_slice(),
            rotation: AtomicU32::new(0),
        }
    }

    /// The records the next answer carries, in `order` ([`Order::plain`] but for a pool's
    /// answer). Only address RRsets rotate: the order of other types carries no
    /// load-balancing meaning, and MX/SRV order by their own fields.
    pub fn next_answer(&self, order: &Order) -> Span {
        if self.rotates() {
            self.answer_at(order, self.take_turn())
        } else {
            self.whole()
        }
    }

    /// The records answer number `k` carries, in `order`: the span [`Rrset::next_answer`]
    /// gives when its counter stands at `k`.
    pub fn answer_at(&self, order: &Order, k: usize) -> Span {
        if self.rotates() {
            order.span(k, self.rdatas.len())
        } else {
            self.whole()
        }
    }

    /// Whether successive answers carry this RRset's records in turn: address RRsets do.
    pub fn rotates(&self) -> bool {
        matches!(self.rtype, RecordType::A | RecordType::AAAA)
    }

    /// Takes the next answer number from the rotation counter.
    pub fn take_turn(&self) -> usize {
        self.rotation.fetch_add(1, Ordering::Relaxed) as usize
    }

    /// For an RRSIG RRset, the type its signatures cover.
    pub fn covered(&self) -> Option<RecordType> {
        match self.rtype {
            RecordType::RRSIG => dnssec::type_covered(self.rdatas.first()?.other()?),
            _ => None,
        }
    }

    /// Every record in stored order, as the authority and additional sections carry them.
    pub fn whole(&self) -> Span {
        Span {
            start: 0,
            count: self.rdatas.len(),
        }
    }
}

/// The RRsets at one name. An empty node is an empty non-terminal.
#[derive(Debug, Default)]
pub struct Node {
    /// Kept inline when there is one, as at nearly every name of a load-balancing zone: a
    /// million separate allocations would cost the heap's overhead on each.
    pub rrsets: SmallVec<[Rrset; 1]>,
}

impl Node {
    /// An empty non-terminal, or a name with no node of its own.
    pub const EMPTY: Self = Self {
        rrsets: SmallVec::new_const(),
    };

    /// The node holding `records` (indices into `all`, in file order): one RRset per type, in
    /// order of first appearance. RRSIGs form one RRset per type they cover, so that each
    /// RRset's signatures go out with it, each set under its own TTL (RFC 4034 §3).
    pub(super) fn build(all: &[SourceRecord], records: &[usize]) -> Self {
        let records: Vec<&Record> = records.iter().map(|&i| &all[i].record).collect();
        let key = |record: &Record| (record.record_type(), dnssec::type_covered(&record.data));
        let mut keys = Vec::new();
        for record in &records {
            if !keys.contains(&key(record)) {
                keys.push(key(record));
            }
        }
        let rrsets = keys
            .iter()
            .map(|&(rtype, covered)| {
                let members = || {
                    records
                        .iter()
                        .filter(move |r| r.record_type() == rtype && key(r).1 == covered)
                };
                let mut rdatas: Vec<Rdata> = Vec::with_capacity(members().count());
                for record in members() {
                    let rdata = Rdata::from(record.data.clone());
                    if !rdatas.contains(&rdata) {
                        rdatas.push(rdata);
                    }
                }
                let first = members().next().expect("every type came from a record");
                Rrset::new(rtype, first.ttl, rdatas)
            })
            .collect();
        Self { rrsets }
    }

    /// The RRset of `rtype`; for RRSIG, only the signatures of the first type signed here
    /// (see [`Node::signatures`]).
    pub fn get(&self, rtype: RecordType) -> Option<&Rrset> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }

    /// The RRSIGs here that cover `rtype`.
    pub fn signatures(&self, rtype: RecordType) -> Option<&Rrset> {
        self.rrsigs().find(|r| r.covered() == Some(rtype))
    }

    /// Every RRSIG RRset here, one per type covered.
    pub fn rrsigs(&self) -> impl Iterator<Item = &Rrset> {
        self.rrsets.iter().filter(|r| r.rtype == RecordType::RRSIG)
    }

    /// Holds an NSEC3 record and nothing else but its signatures: such a name belongs to the
    /// hashed chain only, and does not exist for lookups (RFC 5155 §7.2.8 answers it as
    /// any other name that is not in the zone).
    pub fn only_nsec3(&self) -> bool {
        self.get(RecordType::NSEC3).is_some()
            && self
                .rrsets
                .iter()
                .all(|r| matches!(r.rtype, RecordType::NSEC3 | RecordType::RRSIG))
    }

    /// A delegation point: NS records anywhere but the apex.
    pub fn has_ns(&self) -> bool {
        self.get(RecordType::NS).is_some()
    }
}

/// A zone ready to answer from: the index built from its records (`Base`, shared by `Arc`
/// with the zones patched from it) and the nodes patches replaced or added since (`Overlay`).
/// Positions number the base's names first, then the names patches added.
#[derive(Debug)]
pub struct ZoneData {
    pub origin: Name,
    pub apex: LowerName,
    pub(super) base: Arc<Base>,
    pub(super) overlay: Overlay,
    /// Label counts (of whole names) at which delegations exist, ascending, so a lookup probes
    /// only those depths for a cut, and none at all in a zone without delegations.
    pub(super) cut_depths: Vec<u8>,
    /// Label counts (`num_labels`) of the names that have a wildcard child, ascending, so a
    /// lookup of a name the zone lacks asks for a wildcard only below an encloser at one of
    /// those depths, and never in a zone without wildcards: building the wildcard's name and
    /// looking it up was about a tenth of what answering a name the zone lacks cost.
    pub(super) wildcard_depths: Vec<u8>,
    /// Signed as NSD judges it: the apex holds a signature over the DNSKEY RRset. Only then do
    /// answers to DO=1 queries carry signatures and denial proofs.
    pub secure: bool,
    /// The NSEC and NSEC3 chains, in proof order; shared with the zones patched from this one
    /// (a patch that would change them is refused, see `patch.rs`).
    pub chains: Arc<Chains>,
    /// Which zone this one was patched from, if any, and the names the patch touched: what
    /// lets `changes` compare the two by those names alone.
    pub(super) lineage: Lineage,
    /// The SOA record of the zone's plain negative answers, written once (`None` only while
    /// the zone is being built, or if it cannot be).
    pub(super) negative_soa: Option<NegativeSoa>,
}

/// The closest encloser of a name a zone lacks ([`ZoneData::closest_encloser`]).
#[derive(Debug)]
pub struct Encloser<'z> {
    /// The nearest ancestor of the name that the zone has; at worst the apex.
    pub name: LowerName,
    /// The encloser's node: `None` only above the apex, for a name outside the zone.
    pub node: Option<&'z Node>,
    /// The node of the encloser's wildcard child, the source of synthesis, if the zone has it.
    pub wildcard: Option<&'z Node>,
}

/// One of `count` equal shares of a list, by position: share `index` of a list of `len` is
/// positions `len * index / count` up to `len * (index + 1) / count`. Shares `0..count` cover
/// the list once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// Which share: below `count`.
    pub index: usize,
    /// How many shares the list is cut into: at least 1.
    pub count: usize,
}

impl Share {
    /// The whole list, as one share.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// The positions of this share of a list of `len`.
    pub fn of(self, len: usize) -> std::ops::Range<usize> {
        let at = |index: usize| len * index / self.count;
        at(self.index)..at(self.index + 1)
    }
}

/// Where a zone came from: its own number, and the number of the zone it was patched from
/// with the names the patch touched.
#[derive(Debug)]
pub(super) struct Lineage {
    pub(super) id: u64,
    pub(super) patched_from: Option<(u64, Box<[LowerName]>)>,
}

impl Lineage {
    pub(super) fn fresh(patched_from: Option<(u64, Box<[LowerName]>)>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            patched_from,
        }
    }
}

/// The zone as indexed from its records: every owner and empty non-terminal, with its node.
#[derive(Debug)]
pub(super) struct Base {
    /// The names by position, and the index that finds the position of each name a lookup may
    /// ask for.
    numbered: Numbered,
    nodes: Box<[Node]>,
    /// The apex's position: every negative answer and referral reads the apex's node (its
    /// SOA or NS), and finding it by name each time hashed the apex several times a query.
    apex_at: u32,
    /// The owners the zone spells with capitals, as it spells them (the first record's owner
    /// of each): answers and transfers carry the zone's spelling, as NSD's do, while the index
    /// keeps names in lower case. Kept apart, as few zones have any.
    spellings: HashMap<LowerName, Name>,
}

impl Base {
    /// How many names there are.
    pub(super) fn len(&self) -> usize {
        self.numbered.len()
    }
}

impl ZoneData {
    pub fn new(zone: &Zone) -> Self {
        let apex = LowerName::new(&zone.origin);
        let apex_labels = zone.origin.iter().len();
        // First which records each owner has, then each node at its final size: growing nodes
        // record by record leaves freed fragments all over the heap that are never returned.
        // Owners are numbered in the order the file first names them (each empty non-terminal
        // just before its first descendant), so two loads of nearly the same file list their
        // names in nearly the same order, which is what lets `changes` compare them in step.
        // Sized for one owner per record, the most there can be apart from empty
        // non-terminals.
        let mut numbered = Numbered::with_capacity(zone.records.len(), &zone.origin);
        // Each record's owner, by number.
        let mut owners: Vec<u32> = Vec::with_capacity(zone.records.len());
        // The owner of the record before, and its number: an owner's records are usually
        // written together, and the next one then needs neither its ancestors nor a probe.
        let mut previous: Option<(&Name, u32)> = None;
        for source in &zone.records {
            let name = &source.record.name;
            if let Some((_, at)) = previous.filter(|(before, _)| *before == name) {
                owners.push(at);
                continue;
            }
            // Make every ancestor up to the apex exist, so empty non-terminals answer NODATA:
            // from the apex's child down to the owner's parent, none for a child of the apex.
            // Every owner is at or below the apex (`zone::validate`). Labels are counted by
            // `iter`, as `trim_to` counts them: `num_labels` leaves out a wildcard's `*`.
            for labels in apex_labels + 1..name.iter().len() {
                numbered.number(&ancestor(name, labels));
            }
            let at = numbered.number(name);
            owners.push(at);
            previous = Some((name, at));
        }
        let owned = Grouped::by_owner(&owners, numbered.len());
        drop(owners);
        let nodes: Vec<Node> = (0..numbered.len())
            .map(|at| Node::build(&zone.records, owned.of(at)))
            .collect();
        let spellings = (0..)
            .zip(owned.firsts())
            .filter_map(|(at, first)| {
                let spelled = spelling(&zone.records[first?].record.name)?;
                Some((numbered.name(at), spelled))
            })
            .collect();
        drop(owned);
        let apex_at = numbered
            .find(&apex)
            .expect("zone validation guarantees an apex");
        let mut cut_depths: Vec<u8> = (0..)
            .zip(&nodes)
            .filter(|&(at, node)| at != apex_at && node.has_ns())
            .map(|(at, _)| numbered.name(at).num_labels())
            .collect();
        cut_depths.sort_unstable();
        cut_depths.dedup();
        // Keys first, so that only wildcards are read back as names.
        let mut wildcard_depths: Vec<u8> = (0..numbered.len() as u32)
            .filter(|&at| numbered.key(at).starts_with(b"\x01*"))
            .filter_map(|at| wildcard_depth(&numbered.name(at)))
            .collect();
        wildcard_depths.sort_unstable();
        wildcard_depths.dedup();
        let secure = nodes[apex_at as usize]
            .signatures(RecordType::DNSKEY)
            .is_some();
        let chains = Chains::new(apex_at, &numbered, &nodes);
        // The numbering's table becomes the index, without hashing a name again: names of
        // the NSEC3 chain alone are not looked up by name (`Chains` has them).
        numbered.keep_findable(|at| !nodes[at as usize].only_nsec3());
        Self {
            negative_soa: None,
            secure,
            chains: Arc::new(chains),
            origin: zone.origin.clone(),
            apex,
            base: Arc::new(Base {
                numbered,
                nodes: nodes.into_boxed_slice(),
                apex_at,
                spellings,
            }),
            overlay: Overlay::default(),
            cut_depths,
            wildcard_depths,
            lineage: Lineage::fresh(None),
        }
        .with_negative_soa()
    }

    /// This zone with its negative answers' SOA written: once its apex node is final.
    pub(super) fn with_negative_soa(mut self) -> Self {
        self.negative_soa = NegativeSoa::of(&self);
        self
    }

    pub fn node(&self, name: &LowerName) -> Option<&Node> {
        Some(self.node_at(u32::try_from(self.position(name)?).ok()?))
    }

    /// The position of `name`, if it exists for lookups.
    pub fn position(&self, name: &LowerName) -> Option<usize> {
        if let Some(&at) = self.overlay.added_at.get(name) {
            return Some(at as usize);
        }
        Some(self.base.numbered.find(name)? as usize)
    }

    /// The position of `name`, looked for first at `hint` and the few positions after it, where
    /// a file read in the zone's order has its next owner (past the empty non-terminals before
    /// it): keys compared in place, in memory read in order, rather than a probe of the index
    /// at a random place. Unlike [`Self::position`], this finds names of the NSEC3 chain alone
    /// too, if they lie there.
    pub fn position_from(&self, name: &LowerName, hint: usize) -> Option<usize> {
        /// How many positions from `hint` are compared.
        const NEAR: usize = 4;
        let key = self.base.numbered.key_of(name);
        let key = Some(key.as_bytes());
        let near = (hint..hint + NEAR).find(|&at| self.key_at(at).as_deref() == key);
        near.or_else(|| self.position(name))
    }

    /// The label counts at which delegations exist, ascending.
    pub fn cut_depths(&self) -> &[u8] {
        &self.cut_depths
    }

    pub fn soa(&self) -> &Rrset {
        self.apex_node()
            .get(RecordType::SOA)
            .expect("zone validation guarantees an SOA at the apex")
    }

    /// RFC 2308 §3: negative answers are cached for min(SOA TTL, SOA MINIMUM).
    pub fn negative_ttl(&self) -> u32 {
        let soa = self.soa();
        match soa.rdatas.first().and_then(Rdata::other) {
            Some(RData::SOA(SOA { minimum, .. })) => soa.ttl.min(*minimum),
            _ => soa.ttl,
        }
    }

    /// The highest delegation point at or above `name` (below the apex), if any. `node` is the
    /// zone's node at `name` (`lower`), which every caller looks up anyway: a cut at `name`
    /// itself is read from it, not looked up again. Pass `None` to ignore a cut exactly at
    /// `name`: DS lives on the parent side of a cut (RFC 4035 §3.1.4.1).
    pub fn cut_above<'z>(
        &'z self,
        name: &Name,
        lower: &LowerName,
        node: Option<&'z Node>,
    ) -> Option<(LowerName, &'z Node)> {
        let labels = name.num_labels();
        // Ascending depth: the topmost cut wins, and one at `name` comes last.
        self.cut_depths
            .iter()
            .take_while(|&&depth| depth < labels)
            .find_map(|&depth| {
                let candidate = LowerName::new(&ancestor(name, depth.into()));
                let node = self.node(&candidate).filter(|node| node.has_ns())?;
                Some((candidate, node))
            })
            .or_else(|| {
                // Only the apex lies at the apex's depth, and its NS RRset is no cut.
                let below_apex = labels > self.apex.num_labels();
                let cut = node.filter(|node| below_apex && node.has_ns())?;
                Some((lower.clone(), cut))
            })
    }

    /// RFC 4592 §3.3.1: the closest encloser of a name that does not exist (its nearest
    /// ancestor that does; at worst the apex), with its node and the source of synthesis below
    /// it, if any.
    pub fn closest_encloser(&self, name: &LowerName) -> Encloser<'_> {
        // A name right below the apex, what a random-subdomain flood asks, needs no parent
        // built from its labels.
        let below_apex = name.iter().len() == self.apex.iter().len() + 1;
        let mut encloser = if below_apex && self.apex.zone_of(name) {
            self.apex.clone()
        } else {
            name.base_name()
        };
        let node = loop {
            if encloser == self.apex {
                break Some(self.apex_node());
            }
            if !self.apex.zone_of(&encloser) {
                break None;
            }
            if let Some(node) = self.node(&encloser) {
                break Some(node);
            }
            encloser = encloser.base_name();
        };
        let wildcard = self
            .wildcard_depths
            .contains(&encloser.num_labels())
            .then(|| wildcard_of(&encloser))
            .flatten()
            .and_then(|wildcard| self.node(&wildcard));
        Encloser {
            name: encloser,
            node,
            wildcard,
        }
    }

    /// Whether the apex holds a DNSKEY RRset: the zone is signed, or meant to be.
    pub fn has_dnskey(&self) -> bool {
        self.apex_node().get(RecordType::DNSKEY).is_some()
    }

    /// How many positions the zone numbers: its names and empty non-terminals.
    pub fn len(&self) -> usize {
        self.base.len() + self.overlay.added.len()
    }

    /// Whether the zone has no names at all (never true of a validated zone: it has an apex).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of the base index, which chain positions index (a patch never moves a name
    /// a chain holds).
    pub(crate) fn chain_names(&self) -> &Numbered {
        &self.base.numbered
    }

    /// The key of the name at `position` (its lower-case wire form without the apex, see
    /// `Numbered`); `None` past the last. Borrowed from the index, except for a name a patch
    /// added. Two zones of one apex have the same name where they have the same key: what
    /// walks over two loads of a zone compare, without reading names back.
    pub fn key_at(&self, position: usize) -> Option<Cow<'_, [u8]>> {
        let numbered = &self.base.numbered;
        match position.checked_sub(self.base.len()) {
            Some(added) => {
                let name = &self.overlay.added.get(added)?.0;
                Some(Cow::Owned(numbered.key_of(name).as_bytes().to_vec()))
            }
            None => Some(Cow::Borrowed(numbered.key(position as u32))),
        }
    }

    /// The name and node at a position.
    pub fn at(&self, position: u32) -> (LowerName, &Node) {
        (self.name_at(position), self.node_at(position))
    }

    /// The name at a position, read back from the index (or the patch that added it): for a
    /// walk that needs the name without the node.
    pub fn name_at(&self, position: u32) -> LowerName {
        match (position as usize).checked_sub(self.base.len()) {
            Some(added) => self.overlay.added[added].0.clone(),
            None => self.base.numbered.name(position),
        }
    }

    /// The node at a position: what a lookup reads once it has found the position, without
    /// reading the name back.
    pub fn node_at(&self, position: u32) -> &Node {
        let at = position as usize;
        if let Some(replaced) = self.overlay.replaced.get(&position) {
            return replaced;
        }
        match self.base.nodes.get(at) {
            Some(node) => node,
            None => &self.overlay.added[at - self.base.len()].1,
        }
    }

    /// Every name and its node, in position order.
    pub fn nodes(&self) -> impl Iterator<Item = (LowerName, &Node)> {
        (0..self.len()).map(|at| self.at(at as u32))
    }

    /// Every record of the zone, the SOA first, as a transfer or a master file carries them:
    /// what a secondary, which keeps only the index, writes as its copy.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        let rest = self.rrsets().flat_map(move |(name, _, rrset)| {
            let skip = rrset.rtype == RecordType::SOA && name == self.apex;
            let rdatas = if skip { &[][..] } else { &rrset.rdatas[..] };
            let owner = self.spelled(&name).clone();
            rdatas
                .iter()
                .map(move |rdata| rdata.record_of(&owner, rrset))
        });
        self.soa_record().into_iter().chain(rest)
    }

    /// The SOA record, under the apex as the zone spells it.
    pub fn soa_record(&self) -> Option<Record> {
        let soa = self.soa();
        let owner = self.spelled(&self.apex);
        Some(soa.rdatas.first()?.record_of(owner, soa))
    }

    /// `name`, an owner of this zone, as the zone spells it.
    pub fn spelled<'a>(&'a self, name: &'a LowerName) -> &'a Name {
        self.spelled_in(&self.overlay, name)
    }

    /// `name` as this zone's base with `overlay` over it spells it.
    pub(super) fn spelled_in<'a>(&'a self, overlay: &'a Overlay, name: &'a LowerName) -> &'a Name {
        let spelled = match overlay.spellings.get(name) {
            Some(patched) => patched.as_ref(),
            None => self.base.spellings.get(name),
        };
        spelled.unwrap_or(name)
    }

    /// The SOA record of the zone's plain negative answers, ready to copy.
    pub fn negative_soa(&self) -> Option<&NegativeSoa> {
        self.negative_soa.as_ref()
    }

    /// Whether the apex has a wildcard child, whole or as an empty non-terminal: then no name
    /// right below the apex is absent.
    pub fn has_apex_wildcard(&self) -> bool {
        let depth = self.apex.num_labels();
        self.wildcard_depths.contains(&depth)
    }

    /// The apex's node.
    pub fn apex_node(&self) -> &Node {
        self.node_at(self.base.apex_at)
    }

    /// Every RRset with its owner's name and node.
    pub fn rrsets(&self) -> impl Iterator<Item = (LowerName, &Node, &Rrset)> {
        self.rrsets_of(Share::WHOLE)
    }

    /// The RRsets of `share` of the names, by position, with their owners' names and nodes:
    /// what one of several threads compiling the XDP maps walks. Empty non-terminals, which
    /// have no RRsets, are passed over without reading their names back.
    pub fn rrsets_of(&self, share: Share) -> impl Iterator<Item = (LowerName, &Node, &Rrset)> {
        share
            .of(self.len())
            .filter_map(|at| {
                let node = self.node_at(at as u32);
                (!node.rrsets.is_empty()).then(|| (self.name_at(at as u32), node))
            })
            .flat_map(|(name, node)| node.rrsets.iter().map(move |r| (name.clone(), node, r)))
    }
}

/// Record indices grouped by owner, in file order within each: one list for all, where a
/// million owners would otherwise take a million small allocations.
struct Grouped {
    /// Where each owner's indices start in `indices`, and where the last one's end.
    starts: Vec<usize>,
    indices: Vec<usize>,
}

impl Grouped {
    /// Groups the records whose owners, by number below `count`, are `owners` (by record).
    fn by_owner(owners: &[u32], count: usize) -> Self {
        let mut starts = vec![0; count + 1];
        for &owner in owners {
            starts[owner as usize + 1] += 1;
        }
        for at in 1..starts.len() {
            starts[at] += starts[at - 1];
        }
        let mut next = starts.clone();
        let mut indices = vec![0; owners.len()];
        for (index, &owner) in owners.iter().enumerate() {
            indices[next[owner as usize]] = index;
            next[owner as usize] += 1;
        }
        Self { starts, indices }
    }

    /// The indices of the records of owner `at`.
    fn of(&self, at: usize) -> &[usize] {
        &self.indices[self.starts[at]..self.starts[at + 1]]
    }

    /// The first record of each owner, by owner; `None` for an empty non-terminal.
    fn firsts(&self) -> impl Iterator<Item = Option<usize>> + '_ {
        (0..self.starts.len() - 1).map(|at| self.of(at).first().copied())
    }
}

/// `name`, unless it is spelled all in lower case: what a zone keeps of an owner's spelling
/// (see [`ZoneData::spelled`]).
pub(super) fn spelling(name: &Name) -> Option<Name> {
    let upper = name.iter().flatten().any(u8::is_ascii_uppercase);
    upper.then(|| name.clone())
}

/// `*.name`, the wildcard whose closest encloser `name` is; `None` when too long to exist.
pub fn wildcard_of(name: &LowerName) -> Option<LowerName> {
    Some(LowerName::new(&Name::from(name).prepend_label("*").ok()?))
}

/// For a wildcard `name`, the label count (`num_labels`) of the name it is the wildcard of:
/// what [`ZoneData::closest_encloser`] compares an encloser's with.
pub(super) fn wildcard_depth(name: &LowerName) -> Option<u8> {
    name.is_wildcard().then(|| name.base_name().num_labels())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_group_by_owner_and_type_in_file_order_without_duplicates() {
        let text = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 198.18.0.1\n\
                    h A 198.18.0.2\nH TXT \"t\"\nh A 198.18.0.3\nh A 198.18.0.2\na.b.h AAAA 2001:db8::1\n";
        let zone = Zone::parse(text, std::path::Path::new("z"), None).unwrap();
        let data = ZoneData::new(&zone);
        let node = |name: &str| data.node(&LowerName::new(&Name::from_ascii(name).unwrap()));
        let h = node("h.z.test.").unwrap();
        let types: Vec<RecordType> = h.rrsets.iter().map(|r| r.rtype).collect();
        assert_eq!(types, [RecordType::A, RecordType::TXT]);
        let addresses: Vec<IpAddr> = h
            .get(RecordType::A)
            .unwrap()
            .rdatas
            .iter()
            .filter_map(Rdata::ip_addr)
            .collect();
        assert_eq!(
            addresses,
            [
                "198.18.0.2".parse::<IpAddr>().unwrap(),
                "198.18.0.3".parse().unwrap()
            ]
        );
        assert!(
            node("b.h.z.test.").unwrap().rrsets.is_empty(),
            "an empty non-terminal exists"
        );
        assert!(node("c.h.z.test.").is_none());
    }

    #[test]
    fn inline_addresses_encode_as_hickory_encodes_them() {
        for rdata in [
            RData::A("198.18.7.1".parse::<Ipv4Addr>().unwrap().into()),
            RData::AAAA("2001:db8::7".parse::<Ipv6Addr>().unwrap().into()),
        ] {
            let mut ours = Vec::new();
            Rdata::from(rdata.clone())
                .emit(&mut BinEncoder::new(&mut ours))
                .unwrap();
            let mut theirs = Vec::new();
            rdata.emit(&mut BinEncoder::new(&mut theirs)).unwrap();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn plain_rotation_leads_with_k_mod_n() {
        let order = Order::default();
        let starts: Vec<usize> = (0..5).map(|k| order.span(k, 3).start).collect();
        assert_eq!(starts, [0, 1, 2, 0, 1]);
        assert_eq!(order.span(7, 3).count, 3);
    }

    #[test]
    fn a_schedule_picks_the_leader_and_the_cap_trims() {
        let order = Order {
            schedule: [0, 0, 0, 1].into(),
            cap: Some(1),
        };
        let leaders: Vec<usize> = (0..8).map(|k| order.span(k, 2).start).collect();
        assert_eq!(leaders, [0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(order.span(0, 2).count, 1);
        assert_eq!(
            Order {
                cap: Some(9),
                ..Order::default()
            }
            .span(0, 4)
            .count,
            4
        );
        assert_eq!(order.span(3, 0), Span { start: 0, count: 0 });
    }
}
