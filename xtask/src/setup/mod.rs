//! `cargo xtask setup`: installs what building, packaging, testing and benchmarking lbdns need,
//! and nothing else. Each task installs only its own part: `build` and `run` the toolchain,
//! `deb` cargo-deb too, `test` the tools the tests drive, `fuzz` cargo-fuzz, `bench` the
//! servers and load generators it measures.
//!
//! A fresh machine (a stock Debian 12) has only the stable and nightly toolchains. Each prerequisite is probed by
//! looking at the real thing (the file build-std reads, a linker that starts and links the
//! nightly's LLVM, dpkg's own records, a binary's version), never at a stamp we left behind,
//! and installed only when the probe fails. A machine that has everything is done in well
//! under a second, so `build`, `run` and `test` call this every time.

mod apt;
mod bpf_linker;
mod cargo_deb;
mod cargo_fuzz;
mod nightly;

use anyhow::{bail, Context as _, Result};

use self::{apt::Packages, nightly::Nightly};

/// What the tests drive: the reference clients and server, the zone tools, lintian for the
/// package, and `ip` for namespaces and XDP. (`setpriv` is in util-linux, which Debian always
/// has.) The test of the package builds it, so packaging's tools are needed too.
const TEST_PACKAGES: Packages = Packages {
    names: &[
        // dig and kdig: the reference clients.
        "dnsutils",
        "knot-dnsutils",
        // dnssec-signzone and dnssec-keygen sign the test zones; ldns-read-zone prints any
        // record's RFC 3597 wire form, the oracle for the zone reader's RDATA parsers.
        "bind9-utils",
        "ldnsutils",
        // The reference server of the differential tests.
        "nsd",
        // The fixed-rate load of the restart suite (queries lost over restarts).
        "dnsperf",
        // promtool (in prometheus) checks the /metrics page the way a scraper reads it. The
        // package also brings the Prometheus server, which must not run.
        "prometheus",
        // Checks the Debian package that `cargo xtask deb` builds.
        "lintian",
        // ip: network namespaces, veth pairs, XDP attach.
        "iproute2",
        // mmdblookup: the reference reader of the `.mmdb` country database the geo suite
        // downloads with npm (in nodejs here; Debian's own is the `npm` package), and pip
        // brings the writer of its MaxMind-schema database.
        "mmdb-bin",
        "python3-pip",
    ],
    services: &["nsd", "prometheus"],
};

/// What the benchmarks drive and compare lbdns against.
const BENCH_PACKAGES: Packages = Packages {
    names: &[
        // Load generators: dnsperf over sockets, kxdpgun (in knot-dnsutils) over XDP.
        "dnsperf",
        "knot-dnsutils",
        // The authoritative servers lbdns is measured against.
        "nsd",
        "knot",
        "gdnsd",
        // ip (namespaces, veth pairs) and ethtool (queues, offloads).
        "iproute2",
        "ethtool",
        // perf: `--profile` samples the XDP program during the loads.
        "linux-perf",
    ],
    services: &["nsd", "knot", "gdnsd"],
};

/// Everything any task needs, each checked once.
pub fn all() -> Result<()> {
    toolchain()?;
    cargo_deb()?;
    cargo_fuzz()?;
    packages("test packages", &TEST_PACKAGES)?;
    packages("bench packages", &BENCH_PACKAGES)
}

/// What `cargo xtask deb` needs: the toolchain and cargo-deb.
pub fn packaging() -> Result<()> {
    toolchain()?;
    cargo_deb()
}

/// What `cargo xtask test` needs: building, packaging, and the tools the tests drive.
pub fn test_tools() -> Result<()> {
    packaging()?;
    packages("test packages", &TEST_PACKAGES)
}

/// What `cargo xtask bench` needs: building, and the servers and load generators it runs.
pub fn bench_tools() -> Result<()> {
    toolchain()?;
    packages("bench packages", &BENCH_PACKAGES)
}

fn cargo_deb() -> Result<()> {
    ensure("cargo-deb", cargo_deb::probe, cargo_deb::install)
}

/// What `cargo xtask fuzz` needs: the toolchain (the XDP target embeds the program) and
/// cargo-fuzz.
pub fn fuzzing() -> Result<()> {
    toolchain()?;
    cargo_fuzz()
}

fn cargo_fuzz() -> Result<()> {
    ensure("cargo-fuzz", cargo_fuzz::probe, cargo_fuzz::install)
}

fn packages(item: &str, packages: &Packages) -> Result<()> {
    ensure(item, || apt::probe(packages), || apt::install(packages))
}

/// What building the XDP program needs: nightly's rust-src and a bpf-linker for its LLVM.
pub fn toolchain() -> Result<()> {
    let nightly = Nightly::probe()?;
    ensure(
        "rust-src (nightly)",
        || nightly.probe_rust_src(),
        || nightly.install_rust_src(),
    )?;
    ensure(
        "bpf-linker",
        || bpf_linker::probe(&nightly),
        || bpf_linker::install(&nightly),
    )
}

/// What probing a prerequisite found.
#[derive(Debug)]
enum Probe {
    Present,
    /// Missing or unusable, and why, in a few words.
    Absent(String),
}

/// Reports `item` as ok, or installs it and probes again, so an install that "succeeded" without
/// producing a usable prerequisite is caught here rather than in a confusing build failure.
fn ensure(
    item: &str,
    probe: impl Fn() -> Result<Probe>,
    install: impl FnOnce() -> Result<()>,
) -> Result<()> {
    match probe().with_context(|| format!("cannot check for {item}"))? {
        Probe::Present => {
            println!("setup: {item:<20} ok");
            return Ok(());
        }
        Probe::Absent(why) => println!("setup: {item:<20} installing ({why})"),
    }
    install().with_context(|| format!("cannot install {item}"))?;
    match probe().with_context(|| format!("cannot check for {item}"))? {
        Probe::Present => Ok(()),
        Probe::Absent(why) => bail!("{item} is still unusable after installing it: {why}"),
    }
}
