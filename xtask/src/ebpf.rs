//! `cargo xtask build-ebpf`: compiles lbdns-ebpf into the BPF object that `lbdns` embeds.
//!
//! The invocation mirrors what aya-build does in `lbdns-userspace/build.rs` (same toolchain,
//! target, profile and flags), so the object built here is the one a plain `cargo build` would
//! have embedded; `cargo xtask` builds it once and hands it to every userspace cargo command.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{ensure, Result};

use crate::{cmd, workspace};

/// Little-endian BPF: the byte order of every host lbdns targets (x86_64, aarch64).
const TARGET: &str = "bpfel-unknown-none";

/// Builds the XDP program and returns the path of the object, which never moves.
///
/// Always the release profile: unoptimised BPF keeps stack spills and unbounded-looking loops
/// that the verifier rejects, so a debug object would only be a trap.
pub fn build() -> Result<PathBuf> {
    build_crate(&workspace::ebpf_crate(), "lbdns")
}

/// Builds binary `bin` of the BPF crate in `dir` (lbdns-ebpf, or another outside the
/// workspace, such as the benchmark's) with the same toolchain and flags as lbdns-ebpf, and
/// returns the object's path.
pub fn build_crate(dir: &Path, bin: &str) -> Result<PathBuf> {
    cmd::run(&mut nightly_cargo(dir, "build"))?;
    let object = object_in(dir, bin);
    ensure!(
        object.is_file(),
        "building {} did not produce {}",
        dir.display(),
        object.display()
    );
    Ok(object)
}

/// Runs clippy over the BPF crate in `dir` with the build's own target and flags, denying warnings.
pub fn clippy(dir: &Path) -> Result<()> {
    cmd::run(nightly_cargo(dir, "clippy").args(["--", "-D", "warnings"]))
}

/// Where [`build`] leaves the object: the crate's own target directory, so it stays put whatever
/// `CARGO_TARGET_DIR` the userspace build uses.
pub fn object() -> PathBuf {
    object_in(&workspace::ebpf_crate(), "lbdns")
}

fn object_in(dir: &Path, bin: &str) -> PathBuf {
    target_dir(dir).join(TARGET).join("release").join(bin)
}

fn target_dir(dir: &Path) -> PathBuf {
    dir.join("target")
}

/// `cargo +nightly <subcommand>` for the BPF crate in `dir`, for the BPF target.
///
/// Every subcommand gets identical flags: cargo fingerprints them, so a difference between
/// `build` and `clippy` would rebuild `core` each time one followed the other.
fn nightly_cargo(dir: &Path, subcommand: &str) -> Command {
    let mut cargo = cmd::nightly_cargo();
    cargo
        .current_dir(dir)
        .args([subcommand, "--release", "--bins", "--target", TARGET])
        // BPF has no prebuilt standard library; `core` is compiled for it from nightly's rust-src.
        .args(["-Z", "build-std=core"])
        .arg("--target-dir")
        .arg(target_dir(dir))
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags())
        // A compiler chosen for the stable build must not leak into the nightly one.
        .env_remove("RUSTC")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    cargo
}

/// The flags aya-build passes (aya-build 0.2.0, `build_ebpf`), separated as
/// `CARGO_ENCODED_RUSTFLAGS` wants.
fn rustflags() -> String {
    [
        // aya-ebpf selects the host's register layout for kprobe-style context access by this.
        &format!("--cfg=bpf_target_arch=\"{}\"", std::env::consts::ARCH),
        // Debuginfo is where bpf-linker takes the BTF from that the loader and verifier use.
        "-Cdebuginfo=2",
        "-Clink-arg=--btf",
    ]
    .join("\x1f")
}
