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
pub use lbdns_tests::frame;
#[path = "../../tests/xdp_testrun/oracle.rs"]
pub mod oracle;

use std::path::Path;
use std::sync::Arc;

use lbdns::{
    authority::Catalog,
    config::{Overrides, Settings},
};

thread_local! {
    /// The fixture's catalog, built once per thread: building it parses five zones.
    static CATALOG: Catalog = fixture::catalog();
    /// The same with DNS Cookies and a location map configured, for the socket path alone;
    /// shared, as a UDP worker's reply cache holds it.
    static ANSWERING: Arc<Catalog> = Arc::new(answering_catalog());
}

/// Runs `f` with the TestRun fixture's catalog, the one the XDP program's maps are published
/// from.
pub fn with_catalog<R>(f: impl FnOnce(&Catalog) -> R) -> R {
    CATALOG.with(f)
}

/// Runs `f` with the fixture's catalog plus a cookie secret and client locations, so a
/// query's COOKIE and CLIENT_SUBNET options are validated and answered as configured rather
/// than by defaults.
pub fn with_answering_catalog<R>(f: impl FnOnce(&Arc<Catalog>) -> R) -> R {
    ANSWERING.with(f)
}

/// `[cookies]` and `[geo]` as an operator writes them.
const ANSWERING_CONFIG: &str = r#"
[cookies]
secret = "e5e973e5a6b2a43f48e7dc849e37bfcf"
previous_secret = "dd3bdf9344b678b185a6f5cb60fca715"

[geo]
ecs_max_v4 = 24
ecs_max_v6 = 56

[[geo.location]]
name = "eu-west"
fallback = ["us-east"]

[[geo.location]]
name = "us-east"

[[geo.subnet]]
prefix = "192.0.2.0/24"
location = "eu-west"

[[geo.subnet]]
prefix = "2001:db8:c::/48"
location = "us-east"
"#;

fn answering_catalog() -> Catalog {
    let settings = Settings::from_text(
        Path::new("fuzz-answering.toml"),
        ANSWERING_CONFIG.to_owned(),
        Overrides::default(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    fixture::catalog()
        .with_cookies(settings.cookies)
        .with_geo(settings.geo)
}
