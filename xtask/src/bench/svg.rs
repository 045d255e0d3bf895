//! The chart the README embeds: for each load generator a panel, in it a group of bars per
//! mix, one bar per target, labelled with its value and its ratio to the ceiling. Written by
//! hand: a few rectangles and labels need no plotting library.

use std::fmt::Write as _;

use super::{
    mixes::Mix,
    report::{MixRun, Report},
    targets::Target,
};

const WIDTH: f64 = 960.0;
const PANEL_HEIGHT: f64 = 260.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 60.0;
const BAR_AREA: f64 = 180.0;
const LEGEND_HEIGHT: f64 = 40.0;

/// One panel: a figure taken from each load.
struct Panel {
    title: &'static str,
    ratio: &'static str,
    value: fn(&MixRun) -> Option<f64>,
}

const PANELS: [Panel; 2] = [
    Panel {
        title: "kxdpgun: replies per second at saturation",
        ratio: "replies_per_s",
        value: |run| run.kxdpgun.ok().map(|k| k.replies_per_s as f64),
    },
    Panel {
        title: "dnsperf: queries per second (closed loop)",
        ratio: "qps",
        value: |run| run.dnsperf.ok().map(|d| d.qps),
    },
];

/// A colour per target, fixed so that charts of different runs read alike.
fn colour(target: Target) -> &'static str {
    match target {
        Target::LbdnsXdp => "#1b6ac9",
        Target::LbdnsSocket => "#7fb0ea",
        Target::Ceiling => "#9a9a9a",
        Target::LookupFloor => "#b5b5b5",
        Target::SocketCeiling => "#c8c8c8",
        Target::Nsd => "#d9822b",
        Target::Knot => "#3a9a5b",
        Target::KnotXdp => "#1f6b3a",
        Target::Gdnsd => "#a4508b",
    }
}

pub fn render(report: &Report) -> String {
    let targets = &report.settings.targets;
    // The geo mix runs twice (two maps), and it and the pools mix against lbdns alone: their
    // figures are compared in the table, with no ceiling or peer to draw beside them.
    let mixes: Vec<Mix> = (report.settings.mixes.iter().copied())
        .filter(|m| m.compared_loads().is_empty())
        .collect();
    let height = TOP + PANEL_HEIGHT * PANELS.len() as f64 + LEGEND_HEIGHT;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let m = &report.machine;
    text(
        &mut svg,
        LEFT,
        22.0,
        "start",
        14.0,
        &format!(
            "lbdns benchmark: {} s per load, {} ({} cores), Linux {}",
            report.settings.secs, m.cpu, m.cores, m.kernel
        ),
    );
    text(
        &mut svg,
        LEFT,
        40.0,
        "start",
        11.0,
        &format!(
            "lbdns {}; ratios to the ceiling (XDP reflector) of the same run; \
             ✗ not measured; ! flagged (loss, busy machine: see bench.json)",
            m.lbdns_commit
        ),
    );
    for (index, panel) in PANELS.iter().enumerate() {
        let top = TOP + PANEL_HEIGHT * index as f64;
        draw_panel(&mut svg, report, panel, targets, &mixes, top);
    }
    legend(&mut svg, targets, height - LEGEND_HEIGHT + 15.0);
    svg.push_str("</svg>\n");
    svg
}

fn draw_panel(
    svg: &mut String,
    report: &Report,
    panel: &Panel,
    targets: &[Target],
    mixes: &[Mix],
    top: f64,
) {
    let run_of = |target: Target, mix: Mix| {
        report
            .loads()
            .find(|(s, run)| s.target == target && run.mix == mix)
            .map(|(_, run)| run)
    };
    let value_of = |target: Target, mix: Mix| run_of(target, mix).and_then(panel.value);
    let max = mixes
        .iter()
        .flat_map(|&mix| targets.iter().filter_map(move |&t| value_of(t, mix)))
        .fold(0.0, f64::max);
    // Headroom above the tallest bar for its labels.
    let scale_max = nice_ceiling(max * 1.08);
    let base = top + 30.0 + BAR_AREA;
    text(svg, LEFT, top + 18.0, "start", 12.0, panel.title);
    // Axis and grid: five steps.
    for step in 0..=4 {
        let value = scale_max * f64::from(step) / 4.0;
        let y = base - BAR_AREA * f64::from(step) / 4.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e4e4e4"/>"##,
            WIDTH - RIGHT
        );
        text(svg, LEFT - 6.0, y + 4.0, "end", 10.0, &short(value));
    }
    let group_width = (WIDTH - LEFT - RIGHT) / mixes.len().max(1) as f64;
    let bar_width = (group_width - 30.0) / targets.len().max(1) as f64;
    for (g, &mix) in mixes.iter().enumerate() {
        let group_left = LEFT + group_width * g as f64 + 15.0;
        text(
            svg,
            group_left + (group_width - 30.0) / 2.0,
            base + 16.0,
            "middle",
            11.0,
            mix.name(),
        );
        for (b, &target) in targets.iter().enumerate() {
            let x = group_left + bar_width * b as f64;
            let centre = x + bar_width / 2.0;
            let Some(value) = value_of(target, mix) else {
                text(svg, centre, base - 4.0, "middle", 10.0, "✗");
                continue;
            };
            let h = if scale_max > 0.0 {
                BAR_AREA * value / scale_max
            } else {
                0.0
            };
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{} {}: {value:.0}</title></rect>"#,
                x + 1.0,
                base - h,
                bar_width - 2.0,
                colour(target),
                target.name(),
                mix.name()
            );
            text(svg, centre, base - h - 14.0, "middle", 9.0, &short(value));
            let flagged = run_of(target, mix).is_some_and(|run| !run.problems.is_empty());
            let mark = if flagged { "!" } else { "" };
            if let Some(ratio) = report
                .ratio(target, mix)
                .and_then(|r| r.vs_ceiling.get(panel.ratio))
            {
                let label = format!("{mark}{ratio:.2}×");
                text(svg, centre, base - h - 4.0, "middle", 9.0, &label);
            }
        }
    }
}

fn legend(svg: &mut String, targets: &[Target], y: f64) {
    let step = (WIDTH - LEFT - RIGHT) / targets.len().max(1) as f64;
    for (i, &target) in targets.iter().enumerate() {
        let x = LEFT + step * i as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{}"/>"#,
            y - 10.0,
            colour(target)
        );
        text(svg, x + 16.0, y, "start", 11.0, target.name());
    }
}

fn text(svg: &mut String, x: f64, y: f64, anchor: &str, size: f64, content: &str) {
    let escaped = content
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}">{escaped}</text>"#
    );
}

/// 123456 as "123K", 1234567 as "1.23M".
fn short(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.0}K", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// The smallest round number (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^n) not below `value`,
/// so that the axis has round steps.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= value)
        .unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(523_000.0), 600_000.0);
        assert_eq!(nice_ceiling(147_000.0), 150_000.0);
        assert_eq!(nice_ceiling(240_000.0), 250_000.0);
        assert_eq!(nice_ceiling(810_000.0), 1_000_000.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short(523_456.0), "523K");
        assert_eq!(short(1_234_567.0), "1.23M");
        assert_eq!(short(12.0), "12");
    }
}
