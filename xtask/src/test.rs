//! `cargo xtask test`: everything CI checks, cheapest first, stopping at the first failure.

use anyhow::Result;

use crate::{
    build::{self, Profile},
    cmd, deb, ebpf, workspace,
};

/// Tells the test suites which `lbdns` binary to drive.
const BINARY_VAR: &str = "LBDNS_BIN";
/// Tells the package's test which `.deb` to check.
const PACKAGE_VAR: &str = "LBDNS_DEB";
/// The feature of lbdns-tests that builds the suites a plain `cargo test` leaves out: those
/// that need root (network namespaces, XDP attach) and the package's.
const XTASK_SUITES: &str = "lbdns-tests/xtask";

/// Checks formatting, builds, runs clippy on the workspace and the XDP program, builds the
/// package, then runs every test, the suites only this task runs too: CI runs as root.
pub fn all() -> Result<()> {
    cmd::run(
        cmd::cargo()
            .current_dir(workspace::root())
            .args(["fmt", "--all", "--", "--check"]),
    )?;
    // The BPF crates and the cargo-fuzz crate are not workspace members, so `--all` does not
    // reach them.
    let bpf_crates = [workspace::ebpf_crate(), workspace::ceiling_crate()];
    let fuzz_crate = workspace::fuzz_crate();
    for dir in bpf_crates.iter().chain([&fuzz_crate]) {
        cmd::run(
            cmd::cargo()
                .arg("fmt")
                .arg("--manifest-path")
                .arg(dir.join("Cargo.toml"))
                .args(["--", "--check"]),
        )?;
    }

    let binary = build::lbdns(Profile::Debug)?;
    for dir in &bpf_crates {
        ebpf::clippy(dir)?;
    }
    let object = ebpf::object();
    cmd::run(build::userspace_cargo(&object).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--features",
        XTASK_SUITES,
        "--",
        "-D",
        "warnings",
    ]))?;
    let package = deb::build()?;
    cmd::run(
        build::userspace_cargo(&object)
            .args(["test", "--workspace", "--features", XTASK_SUITES])
            .env(BINARY_VAR, &binary)
            .env(PACKAGE_VAR, &package),
    )
}
