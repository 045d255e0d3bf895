//! cargo-deb, which builds the Debian package from `[package.metadata.deb]` in
//! lbdns-userspace/Cargo.toml. Only `cargo xtask deb` (and the test of its package) needs it:
//! it takes minutes to build, so `build` and `run` never install it.

use std::process::Command;

use anyhow::Result;

use super::Probe;
use crate::cmd;

/// The release whose metadata keys and output the package and its test are written for.
const VERSION: &str = "3.8.0";

/// Checks the cargo-deb that `cargo deb` would run: the first on PATH.
pub fn probe() -> Result<Probe> {
    let Ok(path) = which::which("cargo-deb") else {
        return Ok(Probe::Absent("not on PATH".into()));
    };
    let version = cmd::probe(Command::new(&path).arg("--version"))?;
    let version = String::from_utf8_lossy(&version.stdout);
    let version = version.trim();
    Ok(if version == format!("cargo-deb {VERSION}") {
        Probe::Present
    } else {
        Probe::Absent(format!("{} is {version:?}", path.display()))
    })
}

pub fn install() -> Result<()> {
    cmd::run(cmd::cargo().args(["install", "cargo-deb", "--version", VERSION, "--locked"]))
}
