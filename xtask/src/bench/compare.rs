//! Loads that compare a pool's answers with a plain pool's of the same shape (the same
//! endpoints per family and the same `answers`, so replies of the same length): the `geo` and
//! `pools` mixes. Each mix lists its loads; every load that is not of the plain pool is
//! compared with a plain load under the same generator ([`Load::baseline`]).

use serde::Serialize;

/// Which pool a load asks for: how the answer is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pool {
    /// A round-robin pool: the baseline.
    Plain,
    /// A geo pool: the client's location chooses the answer set.
    Geo,
    /// A weighted pool: a schedule of up to 32 steps chooses the leading address.
    Weighted,
    /// A failover pool: the best tier's endpoints.
    Failover,
}

impl Pool {
    pub fn name(self) -> &'static str {
        match self {
            Pool::Plain => "plain",
            Pool::Geo => "geo",
            Pool::Weighted => "weighted",
            Pool::Failover => "failover",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    Kxdpgun,
    Dnsperf,
}

impl Generator {
    pub fn name(self) -> &'static str {
        match self {
            Generator::Kxdpgun => "kxdpgun",
            Generator::Dnsperf => "dnsperf",
        }
    }
}

/// One load of a comparing mix.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// What the table calls it, and its log files' suffix.
    pub name: &'static str,
    pub pool: Pool,
    pub generator: Generator,
    /// kxdpgun's source prefix (`-l`), IPv4 or IPv6 (kxdpgun then aims at the server's IPv6
    /// address); `None`: the client's own address, 198.19.53.2.
    pub sources: Option<&'static str>,
    /// dnsperf's Client Subnet option (`-E code:hex`).
    pub ecs: Option<&'static str>,
    /// Whether its figures stand for the mix in the main table (one per generator; the
    /// dnsperf one also gives the latency run's settings).
    pub main: bool,
}

impl Load {
    /// The plain load of `loads` this one is compared with: the same generator, and Client
    /// Subnet of the same address family if this is a load of another pool with it. A plain
    /// load with it is compared with one without.
    pub fn baseline(&self, loads: &'static [Load]) -> Option<&'static Load> {
        let ecs = match self.pool {
            Pool::Plain => None,
            _ => self.ecs.map(ecs_family),
        };
        loads.iter().find(|l| {
            l.pool == Pool::Plain
                && l.generator == self.generator
                && l.ipv6() == self.ipv6()
                && l.ecs.map(ecs_family) == ecs
        })
    }

    /// Whether kxdpgun sends it over IPv6: its source prefix is an IPv6 one.
    pub fn ipv6(&self) -> bool {
        self.sources.is_some_and(|sources| sources.contains(':'))
    }

    /// The suffix of its log files: its name in lower case, dashes for spaces and slashes.
    pub fn log_suffix(&self) -> String {
        let mut suffix = format!("-{}-{}", self.name, self.generator.name());
        suffix.retain(|c| c != '/');
        suffix.replace(' ', "-").to_lowercase()
    }
}

/// The FAMILY field of a dnsperf `-E 8:…` Client Subnet option, in hexadecimal.
pub fn ecs_family(option: &str) -> &str {
    option.get(2..6).unwrap_or(option)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Checks what every comparing mix's list must hold: one main load per generator, of a
    /// pool other than the plain one, and a plain baseline for every load that runs before it
    /// under the same generator.
    pub fn check_loads(loads: &'static [Load]) {
        for generator in [Generator::Kxdpgun, Generator::Dnsperf] {
            let main: Vec<&Load> = loads
                .iter()
                .filter(|l| l.main && l.generator == generator)
                .collect();
            assert_eq!(main.len(), 1, "{generator:?}: {main:?}");
            assert_ne!(main[0].pool, Pool::Plain, "{}", main[0].name);
        }
        for (index, load) in loads.iter().enumerate() {
            let baseline = load.baseline(loads).unwrap();
            assert_eq!(baseline.pool, Pool::Plain, "{}", load.name);
            let at = loads
                .iter()
                .position(|l| l.name == baseline.name && l.generator == load.generator);
            assert!(at.is_some_and(|at| at <= index), "{}", load.name);
            assert_eq!(baseline.ipv6(), load.ipv6(), "{}", load.name);
            if load.pool != Pool::Plain {
                let family = |load: &Load| load.ecs.map(ecs_family);
                assert_eq!(family(baseline), family(load), "{}", load.name);
            }
        }
    }
}
