//! The authoritative answers: which zone a name belongs to and what a query gets back.
//! Pure and shared by every transport; the XDP maps are compiled from the same data.

mod apexes;
mod chains;
mod changes;
mod cookie;
mod denial;
mod dname;
pub mod ecs;
mod edns;
mod identity;
mod lookup;
mod negative_soa;
mod patch;
mod pools;
mod query;
mod reply_cache;
mod wire;
mod zone_data;

use apexes::Apexes;
use arc_swap::{ArcSwap, Guard};
use foldhash::HashSet;
use hickory_proto::rr::{LowerName, Name, RecordType};
use std::sync::Arc;

pub use changes::changed_names;
pub use ecs::{ClientSubnet, Locator, Malformed};
pub use identity::{IdentityError, ServerIdentity, MAX_NSID_LEN, MAX_TXT_LEN};
pub use negative_soa::{NegativeSoa, Target as PointerTarget};
pub use patch::Unpatchable;
pub use pools::{GeoAnswers, Owner as PoolOwnerAnswers, PoolAnswers, Pooled};
pub use reply_cache::ReplyCache;
pub use wire::{
    answer, answer_cycle, badcookie, respond, respond_reserving, Answered, Client, Replies,
    Transport,
};
pub use zone_data::{Node, Order, Rdata, Rrset, Share, Span, ZoneData};

use crate::cookies::Cookies;
use crate::geo::GeoSettings;
use crate::rrl::RateLimits;
use crate::transfer_out::Transfers;
use crate::zone::name::ancestor;
use crate::zone::Zone;

/// Every zone served, found by the most specific origin that contains a name, and the answers
/// of the load-balancing pools among them.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Each zone by apex. `None` is a zone we serve with no usable data: a secondary zone
    /// before its first transfer, or after it expired. It answers SERVFAIL, not REFUSED, and
    /// hides any zone above it. Each zone is its own `Arc`, so replacing one zone builds a
    /// catalog that shares every other.
    zones: Apexes,
    /// Names whose A and AAAA answers come from a pool; fixed, like the zones, until reload.
    pool_owners: HashSet<LowerName>,
    /// The address types of pool owners whose pool has no endpoint of that family: NODATA
    /// whatever health and drains say, so a reply the fast path may prepare.
    pool_nodata: HashSet<(LowerName, RecordType)>,
    /// The pools' answers, swapped whole whenever health or drains change.
    pools: ArcSwap<PoolAnswers>,
    /// What the server says about itself (NSID, CHAOS TXT); fixed, like the zones, until
    /// reload.
    identity: ServerIdentity,
    /// The TSIG keys and each zone's transfer rules; fixed, like the zones, until reload.
    transfers: Arc<Transfers>,
    /// Response rate limiting (`[rrl]`); fixed, like the zones, until reload.
    rate_limits: Arc<RateLimits>,
    /// The DNS Cookies secrets and clock; fixed, like the zones, until reload.
    cookies: Cookies,
    /// Client locations and the ECS settings, for geo pools; fixed, like the zones, until
    /// reload.
    geo: GeoSettings,
}

/// Two zone files claim the same apex.
#[derive(Debug, thiserror::Error)]
#[error("zone {0} is loaded twice")]
pub struct DuplicateZone(pub Name);

impl Catalog {
    pub fn new(zones: &[Zone]) -> Result<Self, DuplicateZone> {
        let mut catalog = Self::default();
        for zone in zones {
            catalog.insert(&zone.origin, Some(Arc::new(ZoneData::new(zone))))?;
        }
        Ok(catalog)
    }

    /// Adds zones already indexed (secondary zones), each `None` if it is served without data:
    /// queries for it get SERVFAIL until [`Catalog::with_zone`] gives it data.
    pub fn with_zones(
        mut self,
        zones: impl IntoIterator<Item = (Name, Option<Arc<ZoneData>>)>,
    ) -> Result<Self, DuplicateZone> {
        for (origin, data) in zones {
            self.insert(&origin, data)?;
        }
        Ok(self)
    }

    fn insert(&mut self, origin: &Name, data: Option<Arc<ZoneData>>) -> Result<(), DuplicateZone> {
        if !self.zones.insert(LowerName::new(origin), data) {
            return Err(DuplicateZone(origin.clone()));
        }
        Ok(())
    }

    /// A catalog equal to this one but for the zone at `origin`, which holds `data` (`None`:
    /// served without data, SERVFAIL). Every other zone is shared, not copied; the pool owners,
    /// identity and pool answers in force are carried over. `None` if `origin` is not served.
    pub fn with_zone(&self, origin: &Name, data: Option<Arc<ZoneData>>) -> Option<Self> {
        let mut zones = self.zones.clone();
        if !zones.replace(&LowerName::new(origin), data) {
            return None;
        }
        Some(Self {
            zones,
            pool_owners: self.pool_owners.clone(),
            pool_nodata: self.pool_nodata.clone(),
            pools: ArcSwap::new(self.pools.load_full()),
            identity: self.identity.clone(),
            transfers: self.transfers.clone(),
            rate_limits: self.rate_limits.clone(),
            cookies: self.cookies.clone(),
            geo: self.geo.clone(),
        })
    }

    /// The zone at `origin` exactly: `None` if it is not served, `Some(None)` if it is served
    /// without data.
    pub fn zone_at(&self, origin: &Name) -> Option<Option<&Arc<ZoneData>>> {
        self.zones.get(&LowerName::new(origin)).map(Option::as_ref)
    }

    /// Makes `owners` pool names: their A and AAAA answers come from [`Catalog::set_pools`]
    /// (NODATA until then), and each exists even where its zone has no records for it.
    pub fn with_pool_owners(mut self, owners: impl IntoIterator<Item = Name>) -> Self {
        self.pool_owners = owners
            .into_iter()
            .map(|name| LowerName::new(&name))
            .collect();
        self
    }

    /// Says which pool owners' A or AAAA answers are NODATA whatever health says: those whose
    /// pool has no endpoint of the family ([`crate::pool::Pool::absent_types`]).
    pub fn with_pool_nodata(
        mut self,
        nodata: impl IntoIterator<Item = (Name, RecordType)>,
    ) -> Self {
        self.pool_nodata = nodata
            .into_iter()
            .map(|(name, rtype)| (LowerName::new(&name), rtype))
            .collect();
        self
    }

    /// Makes the server answer NSID and CHAOS questions with `identity`.
    pub fn with_identity(mut self, identity: ServerIdentity) -> Self {
        self.identity = identity;
        self
    }

    /// What the server says about itself.
    pub fn identity(&self) -> &ServerIdentity {
        &self.identity
    }

    /// Makes and checks DNS Cookies with `cookies`.
    pub fn with_cookies(mut self, cookies: Cookies) -> Self {
        self.cookies = cookies;
        self
    }

    /// The DNS Cookies secrets and clock.
    pub fn cookies(&self) -> &Cookies {
        &self.cookies
    }

    /// Gives the server these TSIG keys and zone transfer rules.
    pub fn with_transfers(mut self, transfers: Transfers) -> Self {
        self.transfers = Arc::new(transfers);
        self
    }

    /// The TSIG keys and each zone's transfer rules.
    pub fn transfers(&self) -> &Transfers {
        &self.transfers
    }

    /// Makes both paths limit response rates as `limits` say.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Arc::new(limits);
        self
    }

    /// The response rate limits in force.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.rate_limits
    }

    /// Places clients with `geo` (its locations, client map and ECS settings).
    pub fn with_geo(mut self, geo: GeoSettings) -> Self {
        self.geo = geo;
        self
    }

    /// The client locations and ECS settings geo pools answer by.
    pub fn geo(&self) -> &GeoSettings {
        &self.geo
    }

    /// Whether `name`'s A and AAAA answers come from a pool.
    pub fn is_pool_owner(&self, name: &LowerName) -> bool {
        self.pool_owners.contains(name)
    }

    /// The zone whose apex is the closest ancestor of `name` (or `name` itself): nested zones
    /// are answered by the child.
    pub fn zone_for(&self, name: &Name) -> Option<&ZoneData> {
        self.entry_for(name)?.as_deref()
    }

    /// The apex of the zone that holds `name`, served with data or without.
    pub fn apex_for(&self, name: &Name) -> Option<&LowerName> {
        self.zones.closest_entry(name).map(|(apex, _)| apex)
    }

    /// Whether the zone that holds `name` is served without data: its queries get SERVFAIL.
    pub fn is_unavailable(&self, name: &Name) -> bool {
        matches!(self.entry_for(name), Some(None))
    }

    /// The catalog's entry for the most specific apex at or above `name`.
    fn entry_for(&self, name: &Name) -> Option<&Option<Arc<ZoneData>>> {
        self.zones.closest(name)
    }

    /// The pool answers now in force.
    pub fn pools(&self) -> Guard<Arc<PoolAnswers>> {
        self.pools.load()
    }

    /// Replaces the pool answers, for queries that start after this returns.
    pub fn set_pools(&self, pools: PoolAnswers) {
        self.pools.store(Arc::new(pools));
    }

    /// Whether an RRSIG at `name` in its zone covers `rtype` (asked of pool owners; zone RRsets
    /// bring theirs in [`DirectRrset`]): a DO=1 answer with that RRset
    /// must carry the RRSIG (RFC 4035 §3.1.1). An RRSIG's RDATA starts with the type it covers
    /// (RFC 4034 §3.1), whichever form the zone file gave it in.
    pub fn is_signed(&self, name: &Name, rtype: RecordType) -> bool {
        self.zone_for(name)
            .and_then(|zone| zone.node(&LowerName::new(name)))
            .and_then(|node| node.signatures(rtype))
            .is_some()
    }

    /// How many names the served zones hold.
    pub fn names(&self) -> usize {
        self.zones
            .iter()
            .flat_map(|(_, zone)| zone)
            .map(|zone| zone.len())
            .sum()
    }

    /// The zone A and AAAA RRsets that a query for their own name and type gets verbatim with
    /// AA=1: not at or below a delegation, not a wildcard owner, not shadowed by a more
    /// specific zone, not replaced by a pool. These and the non-empty pool answers are what the
    /// XDP fast path may answer without the socket path; each comes with the RRSIGs that cover
    /// it, read from the node already in hand rather than looked up again per RRset.
    pub fn direct_address_rrsets(&self) -> impl Iterator<Item = DirectRrset<'_>> {
        self.direct_address_rrsets_of(Share::WHOLE)
    }

    /// Those of [`Catalog::direct_address_rrsets`] in `share` of each zone's names: the shares
    /// of a split give each RRset once, for threads that compile them side by side.
    pub fn direct_address_rrsets_of(&self, share: Share) -> impl Iterator<Item = DirectRrset<'_>> {
        let enclosing = self.enclosing_apexes();
        self.zones.iter().flat_map(move |(apex, zone)| {
            // Only a zone with another served below it can hold names that belong to that
            // other zone; for the rest, finding each name's zone (a million lookups at a
            // million names) is skipped.
            let nested = enclosing.contains(apex);
            zone.iter().flat_map(move |zone| {
                zone.rrsets_of(share)
                    .filter(move |(name, node, rrset)| {
                        self.is_direct(zone, nested, name, node, rrset)
                    })
                    .map(move |(name, node, rrset)| DirectRrset::new(zone, name, node, rrset))
            })
        })
    }

    /// The apexes of the zones that have another zone of the catalog below them.
    fn enclosing_apexes(&self) -> HashSet<LowerName> {
        let mut enclosing = HashSet::default();
        for (apex, _) in self.zones.iter() {
            let labels = apex.num_labels();
            for &depth in self.zones.depths().iter().filter(|&&depth| depth < labels) {
                let above = LowerName::new(&ancestor(&Name::from(apex), depth.into()));
                if self.zones.get(&above).is_some() {
                    enclosing.insert(above);
                }
            }
        }
        enclosing
    }

    /// Those of [`Catalog::direct_address_rrsets`] owned by `name`: what the fast path may
    /// answer for that one name, found without walking the zones.
    pub fn direct_address_rrsets_at<'c>(
        &'c self,
        name: &'c LowerName,
    ) -> impl Iterator<Item = DirectRrset<'c>> + 'c {
        let zone = self.zone_for(&Name::from(name));
        let node = zone.and_then(|zone| Some((zone, zone.node(name)?)));
        node.into_iter().flat_map(move |(zone, node)| {
            node.rrsets
                .iter()
                .filter(move |rrset| self.is_direct(zone, true, name, node, rrset))
                .map(move |rrset| DirectRrset::new(zone, name.clone(), node, rrset))
        })
    }

    /// The rule of [`Catalog::direct_address_rrsets`] for one RRset at `name` (whose node in
    /// `zone` is `node`); `nested` says whether another zone of the catalog lies below `zone`,
    /// which could then own the name instead.
    fn is_direct(
        &self,
        zone: &ZoneData,
        nested: bool,
        name: &LowerName,
        node: &Node,
        rrset: &Rrset,
    ) -> bool {
        matches!(rrset.rtype, RecordType::A | RecordType::AAAA)
            && !name.is_wildcard()
            && !self.pool_owners.contains(name)
            && zone.cut_above(name, name, Some(node)).is_none()
            && (!nested
                || self
                    .zone_for(name)
                    .is_some_and(|owner| std::ptr::eq(owner, zone)))
    }

    /// Every apex served, with its zone (`None`: served without data, answered SERVFAIL).
    pub fn served(&self) -> impl Iterator<Item = (&LowerName, &Option<Arc<ZoneData>>)> {
        self.zones.iter()
    }

    /// Every pool owner, whose A and AAAA answers come from the pools.
    pub fn pool_owners(&self) -> impl Iterator<Item = &LowerName> {
        self.pool_owners.iter()
    }

    /// Every pool owner's address type that its pool has no endpoint for
    /// ([`Catalog::with_pool_nodata`]).
    pub fn pool_nodata(&self) -> impl Iterator<Item = &(LowerName, RecordType)> {
        self.pool_nodata.iter()
    }
}

/// One of [`Catalog::direct_address_rrsets`]: a zone A or AAAA RRset and its signatures.
#[derive(Debug, Clone)]
pub struct DirectRrset<'c> {
    /// The owner.
    pub name: LowerName,
    pub rrset: &'c Rrset,
    /// The RRSIG RRset at the owner covering the RRset: a DO=1 answer must carry it (RFC 4035
    /// §3.1.1), so the fast path either sends it or passes such queries.
    pub signatures: Option<&'c Rrset>,
    /// The zone is signed as NSD judges it (`ZoneData::secure`): only then does `respond` send
    /// the signatures, so only then may the fast path.
    pub secure: bool,
}

impl<'c> DirectRrset<'c> {
    fn new(zone: &ZoneData, name: LowerName, node: &'c Node, rrset: &'c Rrset) -> Self {
        Self {
            name,
            rrset,
            signatures: node.signatures(rrset.rtype),
            secure: zone.secure,
        }
    }

    /// The RRSIGs a DO=1 answer with this RRset carries, as `respond` sends them.
    pub fn answer_signatures(&self) -> Option<&Rrset> {
        self.signatures.filter(|_| self.secure)
    }
}

#[cfg(test)]
mod changes_tests;
#[cfg(test)]
mod cookie_tests;
#[cfg(test)]
mod dname_tests;
#[cfg(test)]
mod dnssec_tests;
#[cfg(test)]
mod identity_tests;
#[cfg(test)]
mod negative_soa_tests;
#[cfg(test)]
pub(crate) mod patch_tests;
#[cfg(test)]
mod tests;
