//! Pool state → the answers both paths give at the pool owners.

use hickory_proto::rr::RecordType;

use crate::authority::{Order, PoolAnswers, Rdata, Rrset};
use crate::pool::{PoolSet, Selection};

/// What every pool answers in the state `pools` describes.
pub fn answers(pools: &PoolSet) -> PoolAnswers {
    let mut answers = PoolAnswers::default();
    for (id, pool) in pools.pools().iter().enumerate() {
        let selections = pools.selections(id);
        let mut set = |rtype, selection: Option<(Vec<Rdata>, Order)>| {
            if let Some((rdatas, order)) = selection {
                answers.set(Rrset::new(
                    pool.owner.clone(),
                    rtype,
                    pool.ttl,
                    rdatas,
                    order,
                ));
            }
        };
        set(RecordType::A, rdatas(&selections.v4, Rdata::A));
        set(RecordType::AAAA, rdatas(&selections.v6, Rdata::Aaaa));
    }
    answers
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
