//! Several rounds of the same run (`--rounds N`), summed up as issue 17 states its goals: each
//! ratio taken within its round, then the median over the rounds, because single short runs on
//! a small VM move by up to a third.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Serialize;

use super::{mixes::Mix, report::Report, table::or_dash, targets::Target};

/// The userspace servers lbdns's socket path is compared with.
const PEERS: [Target; 3] = [Target::Nsd, Target::Knot, Target::Gdnsd];

/// One load's figures in one round: what the summary takes medians of.
#[derive(Debug)]
struct Figures {
    replies_per_s: Option<f64>,
    /// Replies per second ÷ the ceiling's, in the same round.
    vs_ceiling: Option<f64>,
    dnsperf_qps: Option<f64>,
    /// dnsperf's queries per second ÷ the best of NSD's, Knot's and gdnsd's, in the same round.
    vs_best_peer: Option<f64>,
    xdp_ns_per_packet: Option<f64>,
    /// `xdp_ns_per_packet` less the same round's accounting floor: the program's own work.
    above_floor_ns: Option<f64>,
}

/// The median over the rounds of each figure of one load, and its range.
#[derive(Debug, PartialEq, Serialize)]
pub struct Load {
    pub target: Target,
    pub mix: Mix,
    /// Rounds that measured this load at all.
    pub rounds: usize,
    pub replies_per_s: Option<Spread>,
    pub vs_ceiling: Option<Spread>,
    pub dnsperf_qps: Option<Spread>,
    pub vs_best_peer: Option<Spread>,
    pub xdp_ns_per_packet: Option<Spread>,
    pub above_floor_ns: Option<Spread>,
}

/// The median of a figure over the rounds that have it, with the smallest and largest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `None` when no round has the figure. With an even count, the mean of the middle two.
    fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut values: Vec<f64> = values.into_iter().collect();
        values.sort_by(f64::total_cmp);
        let (&min, &max) = (values.first()?, values.last()?);
        let middle = values.len() / 2;
        let median = if values.len() % 2 == 1 {
            values[middle]
        } else {
            (values[middle - 1] + values[middle]) / 2.0
        };
        Some(Spread { median, min, max })
    }
}

/// Every load of the rounds, in the targets' and mixes' own order.
pub fn summarize(reports: &[Report]) -> Vec<Load> {
    let mut rounds: BTreeMap<(Target, Mix), Vec<Figures>> = BTreeMap::new();
    for report in reports {
        for (key, figures) in figures(report) {
            rounds.entry(key).or_default().push(figures);
        }
    }
    rounds
        .into_iter()
        .map(|((target, mix), rounds)| {
            let spread =
                |figure: fn(&Figures) -> Option<f64>| Spread::of(rounds.iter().filter_map(figure));
            Load {
                target,
                mix,
                rounds: rounds.len(),
                replies_per_s: spread(|f| f.replies_per_s),
                vs_ceiling: spread(|f| f.vs_ceiling),
                dnsperf_qps: spread(|f| f.dnsperf_qps),
                vs_best_peer: spread(|f| f.vs_best_peer),
                xdp_ns_per_packet: spread(|f| f.xdp_ns_per_packet),
                above_floor_ns: spread(|f| f.above_floor_ns),
            }
        })
        .collect()
}

/// Each load's figures in one round's report.
fn figures(report: &Report) -> Vec<((Target, Mix), Figures)> {
    let floor = report.xdp_accounting_floor_ns.ok().copied();
    let best_peer = |mix: Mix| {
        report
            .loads()
            .filter(|(session, run)| PEERS.contains(&session.target) && run.mix == mix)
            .filter_map(|(_, run)| run.dnsperf.ok().map(|d| d.qps))
            .max_by(f64::total_cmp)
    };
    report
        .loads()
        .map(|(session, run)| {
            let replies_per_s = run.kxdpgun.ok().map(|k| k.replies_per_s as f64);
            let dnsperf_qps = run.dnsperf.ok().map(|d| d.qps);
            let figures = Figures {
                replies_per_s,
                vs_ceiling: report
                    .ratio(session.target, run.mix)
                    .and_then(|r| r.vs_ceiling.get("replies_per_s").copied()),
                dnsperf_qps,
                vs_best_peer: dnsperf_qps
                    .zip(best_peer(run.mix).filter(|best| *best > 0.0))
                    .map(|(qps, best)| qps / best),
                xdp_ns_per_packet: run.xdp_ns_per_packet,
                above_floor_ns: run.xdp_ns_per_packet.zip(floor).map(|(ns, f)| ns - f),
            };
            ((session.target, run.mix), figures)
        })
        .collect()
}

/// The summary table: each figure's median over the rounds, and the range of the ratios and of
/// the program's work.
pub fn render(loads: &[Load], rounds: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nMedians of {rounds} rounds (each ratio within its round; ranges min–max):\n"
    );
    let _ = writeln!(
        out,
        "{:<14} {:<8} {:>6} {:>10} {:>17} {:>10} {:>17} {:>7} {:>16}",
        "target",
        "mix",
        "rounds",
        "replies/s",
        "×ceil",
        "dnsperf/s",
        "×best peer",
        "ns/pkt",
        "above floor"
    );
    for load in loads {
        let _ = writeln!(
            out,
            "{:<14} {:<8} {:>6} {:>10} {:>17} {:>10} {:>17} {:>7} {:>16}",
            load.target.name(),
            load.mix.name(),
            load.rounds,
            median(load.replies_per_s, 0),
            ranged(load.vs_ceiling, 2),
            median(load.dnsperf_qps, 0),
            ranged(load.vs_best_peer, 2),
            median(load.xdp_ns_per_packet, 0),
            ranged(load.above_floor_ns, 0),
        );
    }
    let _ = writeln!(
        out,
        "×best peer: dnsperf queries per second ÷ the best of nsd, knot and gdnsd in the same \
         round. above floor: ns/pkt less the round's accounting floor."
    );
    out
}

fn median(spread: Option<Spread>, decimals: usize) -> String {
    or_dash(spread.map(|s| format!("{:.*}", decimals, s.median)))
}

fn ranged(spread: Option<Spread>, decimals: usize) -> String {
    or_dash(spread.map(|s| {
        format!(
            "{:.*} ({:.*}–{:.*})",
            decimals, s.median, decimals, s.min, decimals, s.max
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_median_of_an_odd_count_is_the_middle_value_and_of_an_even_count_the_mean_of_two() {
        let odd = Spread::of([0.84, 0.97, 0.81, 0.83, 0.88]).unwrap();
        assert_eq!(
            odd,
            Spread {
                median: 0.84,
                min: 0.81,
                max: 0.97
            }
        );
        let even = Spread::of([3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!(even.median, 2.5);
        assert_eq!((even.min, even.max), (1.0, 10.0));
        assert_eq!(Spread::of([]), None);
    }

    #[test]
    fn the_table_shows_medians_with_the_ranges_of_ratios_and_work() {
        let load = Load {
            target: Target::LbdnsXdp,
            mix: Mix::Hot,
            rounds: 5,
            replies_per_s: Spread::of([1_510_000.0, 1_630_000.0, 1_560_000.0]),
            vs_ceiling: Spread::of([0.81, 0.97, 0.84]),
            dnsperf_qps: None,
            vs_best_peer: None,
            xdp_ns_per_packet: Spread::of([116.0]),
            above_floor_ns: Spread::of([99.0, 92.0, 96.0]),
        };
        let table = render(&[load], 5);
        let row = table
            .lines()
            .find(|line| line.starts_with("lbdns-xdp"))
            .expect("a row for the load");
        for cell in ["hot", "1560000", "0.84 (0.81–0.97)", "116", "96 (92–99)"] {
            assert!(row.contains(cell), "{cell} missing from {row:?}");
        }
        assert!(table.contains("Medians of 5 rounds"), "{table}");
    }
}
