//! What lbdns's fuzz targets check, one module per target: [`zone`] (the master-file reader),
//! [`config`] (the TOML configuration), [`respond`] (the socket path's query parser and reply
//! writer) and [`xdp`] (the XDP program under BPF_PROG_TEST_RUN against the socket path).
//!
//! Each module's `check` takes the fuzzer's octets and panics on a broken invariant. Two
//! callers share them, so an input means the same thing to both: the libFuzzer binaries in
//! `targets/` (nightly, `cargo xtask fuzz`) and the replay of every file under `seeds/` in
//! `cargo xtask test` (stable, no libFuzzer: tests/tests/fuzz_replay*.rs).
//!
//! The catalog both the `respond` and `xdp` targets answer from, the framing of test packets
//! and the comparison of a fast-path reply with the socket path's are the TestRun suite's own
//! files, compiled here too rather than copied.

pub mod config;
pub mod respond;
pub mod seeds;
pub mod xdp;
pub mod zone;

#[path = "../../tests/xdp_testrun/fixture.rs"]
pub mod fixture;
#[path = "../../tests/xdp_testrun/frame.rs"]
pub mod frame;
#[path = "../../tests/xdp_testrun/oracle.rs"]
pub mod oracle;

use lbdns::authority::Catalog;

thread_local! {
    /// The fixture's catalog, built once per thread: building it parses five zones.
    static CATALOG: Catalog = fixture::catalog();
}

/// Runs `f` with the TestRun fixture's catalog.
pub fn with_catalog<R>(f: impl FnOnce(&Catalog) -> R) -> R {
    CATALOG.with(f)
}
