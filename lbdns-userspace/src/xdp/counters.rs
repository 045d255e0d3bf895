//! The program's packet counters, summed over CPUs.

use aya::{
    maps::{MapData, MapError, PerCpuArray},
    Ebpf,
};
use lbdns_common::{counters::Counter, maps, rrl::Tally};

use super::XdpError;

/// The `COUNTERS` map, taken out of the loaded program so that it can be read from anywhere
/// (`lbdns stats`, the metrics page) without the lock that guards the program and its writer.
pub struct CounterMap {
    map: PerCpuArray<MapData, u64>,
    /// `RRL_COUNTERS`, by `lbdns_common::rrl::Tally`.
    rrl: PerCpuArray<MapData, u64>,
}

impl std::fmt::Debug for CounterMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterMap").finish_non_exhaustive()
    }
}

impl CounterMap {
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self, XdpError> {
        let map = ebpf
            .take_map(maps::COUNTERS)
            .ok_or(XdpError::NoMap(maps::COUNTERS))?;
        let map = PerCpuArray::try_from(map).map_err(XdpError::Counters)?;
        let rrl = ebpf
            .take_map(maps::RRL_COUNTERS)
            .ok_or(XdpError::NoMap(maps::RRL_COUNTERS))?;
        let rrl = PerCpuArray::try_from(rrl).map_err(XdpError::Counters)?;
        Ok(Self { map, rrl })
    }

    /// The counters now, summed over CPUs. A few system calls: nothing on the packet path.
    pub fn read(&self) -> Result<Counters, XdpError> {
        let mut counters = Counters::default();
        for counter in Counter::ALL {
            let values = self
                .map
                .get(&(counter as u32), 0)
                .map_err(|error: MapError| XdpError::Counters(error))?;
            counters.totals[counter as usize] = values.iter().sum();
        }
        for tally in Tally::ALL {
            let values = self
                .rrl
                .get(&(tally as u32), 0)
                .map_err(|error: MapError| XdpError::Counters(error))?;
            counters.rrl[tally as usize] = values.iter().sum();
        }
        Ok(counters)
    }
}

/// One total per [`Counter`], and per rate limiter [`Tally`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    totals: [u64; Counter::ALL.len()],
    rrl: [u64; Tally::ALL.len()],
}

impl Counters {
    /// The total of one counter.
    pub fn get(&self, counter: Counter) -> u64 {
        self.totals[counter as usize]
    }

    /// Every counter with its total, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, u64)> + '_ {
        Counter::ALL.into_iter().zip(self.totals)
    }

    /// The total of one of the rate limiter's tallies.
    pub fn tally(&self, tally: Tally) -> u64 {
        self.rrl[tally as usize]
    }

    /// Every rate limiter tally with its total, in index order.
    pub fn tallies(&self) -> impl Iterator<Item = (Tally, u64)> + '_ {
        Tally::ALL.into_iter().zip(self.rrl)
    }
}
