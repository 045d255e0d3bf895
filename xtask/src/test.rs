//! `cargo xtask test`: everything CI checks, cheapest first, stopping at the first failure.

use anyhow::Result;

use crate::{
    build::{self, Profile},
    cmd, ebpf, workspace,
};

/// Tells the test suites which `lbdns` binary to drive.
const BINARY_VAR: &str = "LBDNS_BIN";

/// Checks formatting, builds, runs clippy on the workspace and the XDP program, then runs
/// every test.
///
/// Tests that need root (network namespaces, XDP attach) run here too: CI runs as root.
pub fn all() -> Result<()> {
    cmd::run(
        cmd::cargo()
            .current_dir(workspace::root())
            .args(["fmt", "--all", "--", "--check"]),
    )?;
    // Not a workspace member, so `--all` does not reach it.
    cmd::run(
        cmd::cargo()
            .arg("fmt")
            .arg("--manifest-path")
            .arg(workspace::ebpf_crate().join("Cargo.toml"))
            .args(["--", "--check"]),
    )?;

    let binary = build::lbdns(Profile::Debug)?;
    ebpf::clippy()?;
    let object = ebpf::object();
    cmd::run(build::userspace_cargo(&object).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    cmd::run(
        build::userspace_cargo(&object)
            .args(["test", "--workspace"])
            .env(BINARY_VAR, &binary),
    )
}
