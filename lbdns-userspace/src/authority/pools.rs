//! What load-balancing pools answer at their owner names. A pool's A and AAAA answers replace
//! the zone's records there; its other types still come from the zone.
//!
//! The table is computed from the pools' configuration and their endpoints' health, and is
//! rebuilt and swapped in whole on every change, so a query sees one consistent version.

use foldhash::HashMap;
use hickory_proto::rr::{LowerName, RecordType};

use super::zone_data::Rrset;

/// The current pool answers, by owner.
#[derive(Debug, Default)]
pub struct PoolAnswers {
    by_owner: HashMap<LowerName, Owner>,
}

/// One pool owner's answers. `None` for a family means NODATA: the pool has no endpoint of
/// that family, or all are down and the pool fails closed. Owners that are in the catalog's
/// pool owners but absent here answer NODATA for both.
#[derive(Debug, Default)]
struct Owner {
    a: Option<Rrset>,
    aaaa: Option<Rrset>,
}

impl PoolAnswers {
    /// Sets the answer for the RRset's owner and type (A or AAAA).
    pub fn set(&mut self, rrset: Rrset) {
        let owner = self
            .by_owner
            .entry(LowerName::new(&rrset.name))
            .or_default();
        match rrset.rtype {
            RecordType::A => owner.a = Some(rrset),
            RecordType::AAAA => owner.aaaa = Some(rrset),
            other => unreachable!("pools answer only A and AAAA, not {other}"),
        }
    }

    /// The pool's answer for a pool owner `name` and `rtype` (A or AAAA); `None` is NODATA.
    pub fn get(&self, name: &LowerName, rtype: RecordType) -> Option<&Rrset> {
        let owner = self.by_owner.get(name)?;
        match rtype {
            RecordType::A => owner.a.as_ref(),
            RecordType::AAAA => owner.aaaa.as_ref(),
            _ => None,
        }
    }

    /// Every non-empty pool answer.
    pub fn rrsets(&self) -> impl Iterator<Item = &Rrset> {
        self.by_owner
            .values()
            .flat_map(|owner| owner.a.iter().chain(owner.aaaa.iter()))
    }
}
