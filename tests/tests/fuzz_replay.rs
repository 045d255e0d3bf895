//! Every seed of the zone, configuration and socket-path fuzz targets (tests/fuzz/seeds/),
//! regression inputs included, through the checks the fuzz targets make
//! (`lbdns_fuzz::{zone, config, respond}::check`): on the stable toolchain, without libFuzzer,
//! in a plain `cargo test`. The XDP target's seeds are replayed by fuzz_replay_xdp.rs (root).

use std::panic::{catch_unwind, AssertUnwindSafe};

use lbdns_fuzz::{config, respond, seeds, zone};

/// Runs `check` on every seed of `target` and names each seed it panicked on.
fn replay(target: &str, check: fn(&[u8])) {
    let seeds = seeds::read(target)
        .unwrap_or_else(|error| panic!("{}: {error}", seeds::dir(target).display()));
    assert!(
        !seeds.is_empty(),
        "{}: no seeds",
        seeds::dir(target).display()
    );
    let failed: Vec<String> = seeds
        .iter()
        .filter(|(_, octets)| catch_unwind(AssertUnwindSafe(|| check(octets))).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} {target} seeds fail their check (each panic above):\n{}",
        failed.len(),
        seeds.len(),
        failed.join("\n")
    );
}

#[test]
fn zone_seeds_keep_the_zone_readers_invariants() {
    replay("zone", zone::check);
}

#[test]
fn config_seeds_keep_the_configurations_invariants() {
    replay("config", config::check);
}

#[test]
fn respond_seeds_keep_the_socket_paths_invariants() {
    replay("respond", respond::check);
}
