//! `cargo xtask deb`: the Debian package, built by cargo-deb from `[package.metadata.deb]` in
//! lbdns-userspace/Cargo.toml.
//!
//! cargo-deb packages files; this task makes the ones it cannot: the release binary with the
//! XDP object embedded, and the man pages and completions, which `examples/manual.rs` generates
//! from the binary's own clap definitions into `target/release/manual/`, where the metadata's
//! assets expect them.

use std::{
    fs, io,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{ensure, Context as _, Result};

use crate::{
    build::{self, Profile},
    cmd, ebpf, workspace,
};

/// Builds the package into `target/debian/` and returns its path.
pub fn build() -> Result<PathBuf> {
    build::lbdns(Profile::Release)?;
    let object = ebpf::object();
    let manual = workspace::target_dir().join("release").join("manual");
    // Made afresh, so that the page of a command since removed is not packaged.
    match fs::remove_dir_all(&manual) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            return Err(error).with_context(|| format!("cannot clear {}", manual.display()));
        }
        _ => {}
    }
    cmd::run(
        build::userspace_cargo(&object)
            .args([
                "run",
                "--release",
                "--package",
                "lbdns",
                "--example",
                "manual",
                "--",
            ])
            .arg(&manual),
    )?;
    compress_man_pages(&manual.join("man"))?;
    let output = workspace::target_dir().join("debian");
    // cargo-deb prints the package's path, and nothing else, on stdout. The release profile
    // keeps line tables for backtraces in benchmarks; the package is stripped.
    let package = cmd::stdout(
        build::userspace_cargo(&object)
            .args([
                "deb",
                "--package",
                "lbdns",
                "--no-build",
                "--strip",
                "--output",
            ])
            .arg(&output),
    )?;
    let package = PathBuf::from(package);
    package
        .is_file()
        .then_some(package.clone())
        .with_context(|| format!("cargo-deb named {}, which is not a file", package.display()))
}

/// Debian installs man pages gzipped, without a time stamp in the header (so rebuilds are
/// reproducible): `gzip -9n`, replacing any earlier `.gz`.
fn compress_man_pages(dir: &Path) -> Result<()> {
    let mut pages = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|extension| extension == "1") {
            pages.push(path);
        }
    }
    ensure!(!pages.is_empty(), "no man pages in {}", dir.display());
    cmd::run(Command::new("gzip").args(["-9", "-n", "-f"]).args(&pages))
}
