//! `dist/lbdns.service`, the unit the package installs: systemd's own exposure score stays at
//! 2.5 or lower ("OK"), it grants exactly the capabilities lbdns keeps, and a start runs no
//! `lbdns check` (which would read every zone twice and double the gap a restart leaves).
//!
//! No root is needed; `systemd-analyze` must be installed (Debian's systemd package).

use std::process::Command;
use std::time::Duration;

use lbdns::privilege::USED;
use lbdns_tests::{
    env::{run_bounded, run_ok},
    workspace_root,
};

/// The highest exposure accepted: the lower end of systemd's "MEDIUM" is 5.0; 2.5 is well
/// inside "OK".
const MOST_EXPOSURE: f64 = 2.5;

fn unit_text() -> String {
    std::fs::read_to_string(workspace_root().join("dist/lbdns.service")).expect("the unit")
}

/// The values of `key=` in the unit, split on whitespace, over every line that sets it.
fn values(key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    unit_text()
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .flat_map(|value| value.split_whitespace().map(str::to_owned))
        .collect()
}

#[test]
fn the_unit_exposure_is_2_5_or_lower() {
    let unit = workspace_root().join("dist/lbdns.service");
    let out = run_ok(
        Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(&unit),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    // "→ Overall exposure level for lbdns.service: 1.7 OK 🙂"
    let score: f64 = out
        .stdout
        .lines()
        .find_map(|line| line.split_once("Overall exposure level for lbdns.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{}", out.stdout));
    assert!(
        score <= MOST_EXPOSURE,
        "exposure {score} > {MOST_EXPOSURE}:\n{}",
        out.stdout
    );
}

/// `systemd-analyze verify` parses every directive; on a host without the package it can only
/// complain that the binary and the man pages are not installed, and nothing else.
#[test]
fn the_unit_verifies_but_for_the_package_s_files() {
    let unit = workspace_root().join("dist/lbdns.service");
    let out = run_bounded(
        Command::new("systemd-analyze").arg("verify").arg(&unit),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    let not_installed = |line: &str| {
        line.contains("Command /usr/sbin/lbdns is not executable")
            || line.contains("Command 'man lbdns")
    };
    let text = out.combined();
    let complaints: Vec<&str> = text.lines().filter(|line| !not_installed(line)).collect();
    assert!(complaints.is_empty(), "{complaints:#?}");
}

#[test]
fn the_unit_grants_exactly_the_capabilities_lbdns_keeps() {
    let mut used: Vec<String> = USED.iter().map(ToString::to_string).collect();
    used.sort();
    for key in ["AmbientCapabilities", "CapabilityBoundingSet"] {
        let mut granted = values(key);
        granted.sort();
        assert_eq!(granted, used, "{key}");
    }
    assert_eq!(values("User"), ["lbdns"]);
    assert_eq!(
        values("ReadWritePaths"),
        ["-/sys/fs/bpf"],
        "pins need bpffs"
    );
}

/// The filter denies @privileged, which holds bpf(2) (every map and program) and capset(2)
/// (`privilege::drop_unused`): a later line must allow both again, or the daemon cannot start.
#[test]
fn the_system_call_filter_allows_bpf_and_capset() {
    let filters: Vec<String> = unit_text()
        .lines()
        .filter_map(|line| line.strip_prefix("SystemCallFilter="))
        .map(str::to_owned)
        .collect();
    let last_deny = filters
        .iter()
        .rposition(|filter| filter.starts_with('~'))
        .expect("a deny list");
    let allowed_after: Vec<&str> = filters[last_deny + 1..]
        .iter()
        .flat_map(|filter| filter.split_whitespace())
        .collect();
    for call in ["bpf", "capset"] {
        assert!(allowed_after.contains(&call), "{call} after {filters:#?}");
    }
}

#[test]
fn a_start_runs_no_check() {
    // The one step before a start makes the pin directory; nothing reads the zones twice.
    let before = values("ExecStartPre");
    assert!(
        before.iter().all(|line| !line.contains("lbdns ")),
        "{before:?}"
    );
    assert_eq!(
        values("ExecStart"),
        [
            "/usr/sbin/lbdns",
            "serve",
            "--config",
            "/etc/lbdns/lbdns.toml"
        ]
    );
}
