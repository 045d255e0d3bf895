//! `cargo xtask setup`: installs what building and testing lbdns needs, and nothing else.
//!
//! A fresh machine has only the stable and nightly toolchains. Each prerequisite is probed by
//! looking at the real thing (the file build-std reads, a linker that starts and links the
//! nightly's LLVM, dpkg's own records, a module that imports), never at a stamp we left behind,
//! and installed only when the probe fails. A machine that has everything is done in well
//! under a second, so `build`, `run` and `test` call this every time.

mod apt;
mod bpf_linker;
mod nightly;
mod python;

use anyhow::{bail, Context as _, Result};

use self::nightly::Nightly;

/// Everything: what building needs, then what the tests and benchmarks drive.
pub fn all() -> Result<()> {
    toolchain()?;
    ensure("Debian packages", apt::probe, apt::install)?;
    ensure("dnspython", python::probe, python::install)
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
