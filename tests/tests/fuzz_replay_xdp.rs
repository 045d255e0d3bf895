//! Every seed of the XDP fuzz target (tests/fuzz/seeds/xdp/), regression inputs included,
//! through its check (`lbdns_fuzz::xdp::check`): the program under BPF_PROG_TEST_RUN answers
//! as the socket path does or passes the frame unchanged. Needs root, like xdp_testrun; without
//! it the check fails and says so.

use std::panic::{catch_unwind, AssertUnwindSafe};

use lbdns_fuzz::{seeds, xdp};

#[test]
fn xdp_seeds_get_the_socket_paths_answer_or_pass() {
    let seeds = seeds::read("xdp")
        .unwrap_or_else(|error| panic!("{}: {error}", seeds::dir("xdp").display()));
    assert!(
        !seeds.is_empty(),
        "{}: no seeds",
        seeds::dir("xdp").display()
    );
    // A harness that cannot load fails here, once, with its reason.
    xdp::check(&seeds[0].1);
    let failed: Vec<String> = seeds
        .iter()
        .filter(|(_, octets)| catch_unwind(AssertUnwindSafe(|| xdp::check(octets))).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} xdp seeds fail their check (each panic above):\n{}",
        failed.len(),
        seeds.len(),
        failed.join("\n")
    );
}
