//! What load-balancing pools answer at their owner names. A pool's A and AAAA answers replace
//! the zone's records there; its other types still come from the zone.
//!
//! The table is computed from the pools' configuration and their endpoints' health, and is
//! rebuilt and swapped in whole on every change, so a query sees one consistent version.
//!
//! Geo pools (`policy = "geo"`) keep one answer per location, with the fallbacks already
//! applied (`pool::geo`), and one for clients in no location: a query picks by its client's
//! location and never computes a fallback. Both paths read these same answers.

use foldhash::HashMap;
use hickory_proto::rr::{LowerName, RecordType};

use super::zone_data::{Order, Rrset};
use crate::geo::LocationId;

/// The current pool answers, by owner.
#[derive(Debug, Default)]
pub struct PoolAnswers {
    by_owner: HashMap<LowerName, Owner>,
    /// Geo pools' answers, by owner; their owners are not in `by_owner`.
    geo: HashMap<LowerName, GeoAnswers>,
}

/// A pool's answer for one family: the RRset of the endpoints it gives, and the order they go
/// out in (weights, answer cap). Only pools order their answers otherwise than by plain
/// rotation, so the order is theirs, not every RRset's.
#[derive(Debug)]
pub struct Pooled {
    pub rrset: Rrset,
    pub order: Order,
}

/// One pool owner's answers. `None` for a family means NODATA: the pool has no endpoint of
/// that family, or all are down and the pool fails closed. Owners that are in the catalog's
/// pool owners but absent here answer NODATA for both.
#[derive(Debug, Default)]
pub struct Owner {
    pub a: Option<Pooled>,
    pub aaaa: Option<Pooled>,
}

impl Owner {
    /// Sets the answer for its RRset's type (A or AAAA).
    pub fn set(&mut self, pooled: Pooled) {
        match pooled.rrset.rtype {
            RecordType::A => self.a = Some(pooled),
            RecordType::AAAA => self.aaaa = Some(pooled),
            other => unreachable!("pools answer only A and AAAA, not {other}"),
        }
    }

    /// The answer for `rtype` (A or AAAA); `None` is NODATA.
    pub fn get(&self, rtype: RecordType) -> Option<&Pooled> {
        match rtype {
            RecordType::A => self.a.as_ref(),
            RecordType::AAAA => self.aaaa.as_ref(),
            _ => None,
        }
    }
}

/// A geo pool's answers: per location (fallbacks applied) and for clients in no location.
#[derive(Debug, Default)]
pub struct GeoAnswers {
    /// Indexed by `LocationId`.
    pub by_location: Vec<Owner>,
    pub unmapped: Owner,
    /// Whether an ECS option steers this pool; if not, the query's source address does and
    /// the reply's ECS scope is 0.
    pub ecs: bool,
}

impl GeoAnswers {
    /// What a client at `location` gets for `rtype`; `None` is NODATA.
    pub fn get(&self, rtype: RecordType, location: Option<LocationId>) -> Option<&Pooled> {
        location
            .and_then(|l| self.by_location.get(usize::from(l.0)))
            .unwrap_or(&self.unmapped)
            .get(rtype)
    }

    /// Whether any client, wherever it is, gets an answer for `rtype`: if none does, the reply
    /// is NODATA for everyone (the pool has no endpoint of the family, or none is up and it
    /// fails closed), and not chosen by location.
    pub fn answers_anywhere(&self, rtype: RecordType) -> bool {
        self.unmapped.get(rtype).is_some()
            || self
                .by_location
                .iter()
                .any(|owner| owner.get(rtype).is_some())
    }
}

impl PoolAnswers {
    /// Sets the answer at `owner` for its RRset's type (A or AAAA).
    pub fn set(&mut self, owner: LowerName, pooled: Pooled) {
        self.by_owner.entry(owner).or_default().set(pooled);
    }

    /// Sets a geo pool's answers at `owner`.
    pub fn set_geo(&mut self, owner: LowerName, answers: GeoAnswers) {
        self.geo.insert(owner, answers);
    }

    /// A non-geo pool's answer for a pool owner `name` and `rtype` (A or AAAA); `None` is
    /// NODATA, or a geo pool's owner.
    pub fn get(&self, name: &LowerName, rtype: RecordType) -> Option<&Pooled> {
        self.by_owner.get(name)?.get(rtype)
    }

    /// The answers of the geo pool at `name`, if one is there.
    pub fn geo(&self, name: &LowerName) -> Option<&GeoAnswers> {
        self.geo.get(name)
    }

    /// Every geo pool's answers, by owner.
    pub fn geo_pools(&self) -> impl Iterator<Item = (&LowerName, &GeoAnswers)> {
        self.geo.iter()
    }

    /// Every non-empty answer of the pools that are not geo pools. Geo pools' answers depend
    /// on the client, so the XDP maps, which hold one answer per name, must not hold them.
    pub fn rrsets(&self) -> impl Iterator<Item = (&LowerName, &Pooled)> {
        self.by_owner.iter().flat_map(|(name, owner)| {
            let answers = owner.a.iter().chain(owner.aaaa.iter());
            answers.map(move |pooled| (name, pooled))
        })
    }
}
