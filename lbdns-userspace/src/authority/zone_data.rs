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
    /// Which record leads each answer and how many go out.
    pub order: Order,
    /// Counts answers, so successive answers start one record further on.
    rotation: AtomicUsize,
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
    pub cap: Option<usize>,
}

/// Which records of an RRset an answer carries: `count` of them, from index `start` on,
/// wrapping around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub count: usize,
}

impl Order {
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
            count: self.cap.map_or(n, |cap| cap.min(n)),
        }
    }
}

impl Rrset {
    pub fn new(name: Name, rtype: RecordType, ttl: u32, rdatas: Vec<RData>, order: Order) -> Self {
        Self {
            name,
            rtype,
            ttl,
            rdatas,
            order,
            rotation: AtomicUsize::new(0),
        }
    }

    /// The records the next answer carries. Only address RRsets rotate: the order of other
    /// types carries no load-balancing meaning, and MX/SRV order by their own fields.
    pub fn next_answer(&self) -> Span {
        match self.rtype {
            RecordType::A | RecordType::AAAA => {
                let k = self.rotation.fetch_add(1, Ordering::Relaxed);
                self.order.span(k, self.rdatas.len())
            }
            _ => self.whole(),
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
                None => node.rrsets.push(Rrset::new(
                    record.name.clone(),
                    rtype,
                    record.ttl,
                    vec![record.data.clone()],
                    Order::default(),
                )),
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

#[cfg(test)]
mod tests {
    use super::*;

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
            schedule: vec![0, 0, 0, 1],
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
