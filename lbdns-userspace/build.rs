//! Embeds the XDP program in the `lbdns` binary, so that one file is all an edge host needs.
//!
//! `src/ebpf_object.rs` includes the BPF object named by the compile-time variable
//! `LBDNS_EBPF_OBJECT_PATH`, set here in one of two ways:
//!
//! - `cargo xtask` builds the object once (`cargo xtask build-ebpf`) and names it in
//!   `LBDNS_EBPF_OBJECT`, so its build, clippy and test steps all embed that one object.
//! - Any other cargo command (a plain `cargo build`, an editor's `cargo check`) has no such
//!   variable and compiles lbdns-ebpf here with aya-build, with the same toolchain, target,
//!   profile and flags as `cargo xtask build-ebpf`. That takes nightly, its rust-src and
//!   bpf-linker: `cargo xtask setup` installs them.

use std::{
    env,
    path::{Path, PathBuf},
};

use anyhow::{ensure, Context as _, Result};
use aya_build::{Package, Toolchain};

/// Set by `cargo xtask` to the object it built (see `xtask/src/build.rs`).
const PREBUILT_OBJECT_VAR: &str = "LBDNS_EBPF_OBJECT";

fn main() -> Result<()> {
    println!("cargo:rerun-if-env-changed={PREBUILT_OBJECT_VAR}");
    let object = match env::var_os(PREBUILT_OBJECT_VAR) {
        Some(object) => prebuilt(object.into())?,
        None => build_here()?,
    };
    let object = object
        .to_str()
        .with_context(|| format!("BPF object path {} is not UTF-8", object.display()))?;
    println!("cargo:rustc-env=LBDNS_EBPF_OBJECT_PATH={object}");
    Ok(())
}

/// The object `cargo xtask` built; rustc tracks the included file itself, but this script must
/// run again to notice that it has been deleted.
fn prebuilt(object: PathBuf) -> Result<PathBuf> {
    ensure!(
        object.is_file(),
        "{PREBUILT_OBJECT_VAR}={} is not a file: run `cargo xtask build-ebpf` first, or unset \
         {PREBUILT_OBJECT_VAR} to have this build script compile the XDP program itself",
        object.display()
    );
    println!("cargo:rerun-if-changed={}", object.display());
    Ok(object)
}

/// Compiles lbdns-ebpf with aya-build into `OUT_DIR/lbdns` (named after its `[[bin]]`).
fn build_here() -> Result<PathBuf> {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").context("CARGO_MANIFEST_DIR not set")?);
    let root = manifest_dir
        .parent()
        .context("lbdns-userspace has no parent directory")?;
    let ebpf = root.join("lbdns-ebpf");
    let common = root.join("lbdns-common");

    // What the object is made from. aya-build prints `rerun-if-changed` for the `root_dir` it is
    // given, and uses it for nothing else (0.2.0); it gets lbdns-ebpf/src, and this the rest.
    // Not the whole lbdns-ebpf directory: cargo would walk its target/ on every build, and
    // `cargo xtask build-ebpf` writing there would rerun this script for nothing.
    let ebpf_src = ebpf.join("src");
    for input in [
        ebpf.join("Cargo.toml"),
        ebpf.join("Cargo.lock"),
        common.join("src"),
        common.join("Cargo.toml"),
    ] {
        println!("cargo:rerun-if-changed={}", input.display());
    }

    // aya-build 0.2.0 runs `cargo build --package lbdns-ebpf` in the current directory, and
    // lbdns-ebpf is excluded from this workspace: from its own directory it is its own root,
    // with its own lock file and profiles, exactly as `cargo xtask build-ebpf` builds it.
    env::set_current_dir(&ebpf).with_context(|| format!("cannot enter {}", ebpf.display()))?;
    let root_dir = ebpf_src
        .to_str()
        .with_context(|| format!("{} is not UTF-8", ebpf_src.display()))?;
    aya_build::build_ebpf(
        [Package {
            name: "lbdns-ebpf",
            root_dir,
            ..Package::default()
        }],
        Toolchain::Nightly,
    )?;

    let out_dir = env::var_os("OUT_DIR").context("OUT_DIR not set")?;
    Ok(Path::new(&out_dir).join("lbdns"))
}
