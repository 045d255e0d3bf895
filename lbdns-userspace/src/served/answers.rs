//! Pool state → the answers both paths give at the pool owners.

use hickory_proto::rr::{LowerName, RecordType};

use crate::authority::{GeoAnswers, Order, PoolAnswers, PoolOwnerAnswers, Pooled, Rdata, Rrset};
use crate::pool::{Pool, PoolSet, Selection, Selections};

/// What every pool answers in the state `pools` describes; geo pools per location.
pub fn answers(pools: &PoolSet) -> PoolAnswers {
    let mut answers = PoolAnswers::default();
    for (id, pool) in pools.pools().iter().enumerate() {
        match (pools.geo_selections(id), &pool.geo) {
            (Some(geo), Some(settings)) => answers.set_geo(
                LowerName::new(&pool.owner),
                GeoAnswers {
                    by_location: geo.by_location.iter().map(|s| owner(pool, s)).collect(),
                    unmapped: owner(pool, &geo.unmapped),
                    ecs: settings.ecs,
                },
            ),
            _ => {
                let owner = owner(pool, &pools.selections(id));
                for rrset in owner.a.into_iter().chain(owner.aaaa) {
                    answers.set(LowerName::new(&pool.owner), rrset);
                }
            }
        }
    }
    answers
}

/// The A and AAAA answers of one pair of selections of `pool`.
fn owner(pool: &Pool, selections: &Selections) -> PoolOwnerAnswers {
    let rrset = |rtype, selection: Option<(Vec<Rdata>, Order)>| {
        selection.map(|(rdatas, order)| Pooled {
            rrset: Rrset::new(rtype, pool.ttl, rdatas),
            order,
        })
    };
    PoolOwnerAnswers {
        a: rrset(RecordType::A, rdatas(&selections.v4, Rdata::A)),
        aaaa: rrset(RecordType::AAAA, rdatas(&selections.v6, Rdata::Aaaa)),
    }
}

/// The records and order of one family's selection; `None` (NODATA) when it has no addresses.
fn rdatas<T: Copy>(
    selection: &Selection<T>,
    rdata: impl Fn(T) -> Rdata,
) -> Option<(Vec<Rdata>, Order)> {
    (!selection.is_nodata()).then(|| {
        (
            selection.addresses.iter().map(|&a| rdata(a)).collect(),
            selection.order(),
        )
    })
}
