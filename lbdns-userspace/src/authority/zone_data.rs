//! One zone indexed for lookup: RRsets by owner, with every empty non-terminal present so that
//! "does this name exist?" (NXDOMAIN vs NODATA, RFC 8020) is a single map probe.

use std::sync::atomic::{AtomicUsize, Ordering};

use foldhash::HashMap;

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{LowerName, Name, RData, RecordType};

use crate::zone::Zone;

/// All records of one owner and type, in file order, duplicates removed (RFC 2181 §5).
#[derive(Debug)]
pub struct Rrset {
    pub name: Name,
    pub rtype: RecordType,
    pub ttl: u32,
    pub rdatas: Vec<RData>,
    /// Advances on every answer, so successive answers start one record further on.
    rotation: AtomicUsize,
}

impl Rrset {
    /// The index the next answer starts at. Only address RRsets rotate: the order of other
    /// types carries no load-balancing meaning, and MX/SRV order by their own fields.
    pub fn next_start(&self) -> usize {
        match self.rtype {
            RecordType::A | RecordType::AAAA if self.rdatas.len() > 1 => {
                self.rotation.fetch_add(1, Ordering::Relaxed) % self.rdatas.len()
            }
            _ => 0,
        }
    }
}

/// The RRsets at one name. An empty node is an empty non-terminal.
#[derive(Debug, Default)]
pub struct Node {
    pub rrsets: Vec<Rrset>,
}

impl Node {
    pub fn get(&self, rtype: RecordType) -> Option<&Rrset> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }

    /// A delegation point: NS records anywhere but the apex.
    fn has_ns(&self) -> bool {
        self.get(RecordType::NS).is_some()
    }
}

/// A zone ready to answer from.
#[derive(Debug)]
pub struct ZoneData {
    pub origin: Name,
    pub apex: LowerName,
    nodes: HashMap<LowerName, Node>,
    /// Label counts (of whole names) at which delegations exist, ascending, so a lookup probes
    /// only those depths for a cut, and none at all in a zone without delegations.
    cut_depths: Vec<u8>,
}

impl ZoneData {
    pub fn new(zone: &Zone) -> Self {
        let apex = LowerName::new(&zone.origin);
        let mut nodes: HashMap<LowerName, Node> = HashMap::default();
        for source in &zone.records {
            let record = &source.record;
            let owner = LowerName::new(&record.name);
            // Make every ancestor up to the apex exist, so empty non-terminals answer NODATA.
            let mut ancestor = owner.base_name();
            while apex.zone_of(&ancestor) && ancestor != apex {
                nodes.entry(ancestor.clone()).or_default();
                ancestor = ancestor.base_name();
            }
            let node = nodes.entry(owner).or_default();
            let rtype = record.record_type();
            match node.rrsets.iter_mut().find(|r| r.rtype == rtype) {
                Some(rrset) if rrset.rdatas.contains(&record.data) => {}
                Some(rrset) => rrset.rdatas.push(record.data.clone()),
                None => node.rrsets.push(Rrset {
                    name: record.name.clone(),
                    rtype,
                    ttl: record.ttl,
                    rdatas: vec![record.data.clone()],
                    rotation: AtomicUsize::new(0),
                }),
            }
        }
        let mut cut_depths: Vec<u8> = nodes
            .iter()
            .filter(|(name, node)| **name != apex && node.has_ns())
            .map(|(name, _)| name.num_labels())
            .collect();
        cut_depths.sort_unstable();
        cut_depths.dedup();
        Self {
            origin: zone.origin.clone(),
            apex,
            nodes,
            cut_depths,
        }
    }

    pub fn node(&self, name: &LowerName) -> Option<&Node> {
        self.nodes.get(name)
    }

    pub fn soa(&self) -> &Rrset {
        self.nodes
            .get(&self.apex)
            .and_then(|n| n.get(RecordType::SOA))
            .expect("zone validation guarantees an SOA at the apex")
    }

    /// RFC 2308 §3: negative answers are cached for min(SOA TTL, SOA MINIMUM).
    pub fn negative_ttl(&self) -> u32 {
        let soa = self.soa();
        match soa.rdatas.first() {
            Some(RData::SOA(SOA { minimum, .. })) => soa.ttl.min(*minimum),
            _ => soa.ttl,
        }
    }

    /// The highest delegation point at or above `name` (below the apex), if any.
    ///
    /// With `include_self == false` a cut exactly at `name` is ignored: DS lives on the parent
    /// side of a cut (RFC 4035 §3.1.4.1).
    pub fn cut_above(&self, name: &Name, include_self: bool) -> Option<(LowerName, &Node)> {
        let labels = name.num_labels();
        // Ascending depth: the topmost cut wins.
        self.cut_depths
            .iter()
            .take_while(|&&depth| depth < labels || (include_self && depth == labels))
            .find_map(|&depth| {
                let candidate = LowerName::new(&name.trim_to(usize::from(depth)));
                let node = self.nodes.get(&candidate).filter(|node| node.has_ns())?;
                Some((candidate, node))
            })
    }

    /// RFC 4592 §3.3.1: the source of synthesis for a name that does not exist.
    pub fn wildcard_for(&self, name: &LowerName) -> Option<&Node> {
        let mut encloser = name.base_name();
        while self.apex.zone_of(&encloser) {
            if self.nodes.contains_key(&encloser) {
                let wildcard = LowerName::new(&Name::from(&encloser).prepend_label("*").ok()?);
                return self.nodes.get(&wildcard);
            }
            encloser = encloser.base_name();
        }
        None
    }

    /// Every RRset with the cut state of its owner, for compiling the XDP maps.
    pub fn rrsets(&self) -> impl Iterator<Item = (&LowerName, &Rrset)> {
        self.nodes
            .iter()
            .flat_map(|(name, node)| node.rrsets.iter().map(move |r| (name, r)))
    }
}
