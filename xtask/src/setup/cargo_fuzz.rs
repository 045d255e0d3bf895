//! cargo-fuzz, which builds and runs the libFuzzer targets in tests/fuzz/targets. Only
//! `cargo xtask fuzz` needs it: `cargo xtask test` replays the seed corpus without it.

use std::process::Command;

use anyhow::Result;

use super::Probe;
use crate::cmd;

/// The release `cargo xtask fuzz` passes its flags to (`--fuzz-dir`, `--target-dir`,
/// `--codegen-units`, `-s none`).
const VERSION: &str = "0.13.2";

/// Checks the cargo-fuzz that `cargo fuzz` would run: the first on PATH.
pub fn probe() -> Result<Probe> {
    let Ok(path) = which::which("cargo-fuzz") else {
        return Ok(Probe::Absent("not on PATH".into()));
    };
    let version = cmd::probe(Command::new(&path).arg("--version"))?;
    let version = String::from_utf8_lossy(&version.stdout);
    let version = version.trim();
    Ok(if version == format!("cargo-fuzz {VERSION}") {
        Probe::Present
    } else {
        Probe::Absent(format!("{} is {version:?}", path.display()))
    })
}

pub fn install() -> Result<()> {
    cmd::run(cmd::cargo().args(["install", "cargo-fuzz", "--version", VERSION, "--locked"]))
}
