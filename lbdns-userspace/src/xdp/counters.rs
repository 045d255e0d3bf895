//! The program's packet counters, summed over CPUs.

use aya::{
    maps::{MapError, PerCpuArray},
    Ebpf,
};
use lbdns_common::{counters::Counter, maps};

use super::XdpError;

/// One total per [`Counter`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    totals: [u64; Counter::ALL.len()],
}

impl Counters {
    pub(super) fn read(ebpf: &Ebpf) -> Result<Self, XdpError> {
        let map = ebpf
            .map(maps::COUNTERS)
            .ok_or(XdpError::NoMap(maps::COUNTERS))?;
        let per_cpu: PerCpuArray<_, u64> =
            PerCpuArray::try_from(map).map_err(XdpError::Counters)?;
        let mut counters = Counters::default();
        for counter in Counter::ALL {
            let values = per_cpu
                .get(&(counter as u32), 0)
                .map_err(|error: MapError| XdpError::Counters(error))?;
            counters.totals[counter as usize] = values.iter().sum();
        }
        Ok(counters)
    }

    /// The total of one counter.
    pub fn get(&self, counter: Counter) -> u64 {
        self.totals[counter as usize]
    }

    /// Every counter with its total, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, u64)> + '_ {
        Counter::ALL.into_iter().zip(self.totals)
    }
}
