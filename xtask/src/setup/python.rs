//! dnspython, which test scripts use to build and pick apart DNS messages.
//!
//! Installed with pip into whichever `python3` is first on PATH, because that is the interpreter
//! the tests will run; a Debian package would only reach Debian's own interpreter.

use std::process::Command;

use anyhow::Result;

use super::Probe;
use crate::cmd;

pub fn probe() -> Result<Probe> {
    let import = cmd::probe(Command::new("python3").args(["-c", "import dns.version"]))?;
    Ok(if import.status.success() {
        Probe::Present
    } else {
        Probe::Absent("python3 cannot import dns".into())
    })
}

pub fn install() -> Result<()> {
    cmd::run(Command::new("python3").args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        // Root is expected here: CI and the test hosts run as root.
        "--root-user-action=ignore",
        "dnspython",
    ]))
}
