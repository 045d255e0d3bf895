//! Debian packages, installed with apt-get while no service may start.

use std::{
    fs,
    io::{self, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    process::Command,
};

use anyhow::{Context as _, Result};

use super::Probe;
use crate::cmd;

/// Some Debian packages, and the services among them that must not start at boot: a DNS
/// server that Debian enables holds port 53 on the next boot of a build or CI host.
#[derive(Debug)]
pub struct Packages {
    pub names: &'static [&'static str],
    /// systemd units that the packages enable, to be disabled.
    pub services: &'static [&'static str],
}

/// Asks dpkg, the authority on what is installed, which packages are not, and systemctl
/// which services are enabled.
pub fn probe(packages: &Packages) -> Result<Probe> {
    let missing = missing(packages.names)?;
    if !missing.is_empty() {
        return Ok(Probe::Absent(format!("missing {}", missing.join(" "))));
    }
    let enabled = enabled(packages.services)?;
    Ok(if enabled.is_empty() {
        Probe::Present
    } else {
        Probe::Absent(format!("{} enabled at boot", enabled.join(" ")))
    })
}

/// Installs the missing packages with one `apt-get update` and one `apt-get install`, then
/// disables their services.
pub fn install(packages: &Packages) -> Result<()> {
    let missing = missing(packages.names)?;
    if !missing.is_empty() {
        let _no_daemons = NoServiceStarts::install()?;
        cmd::run(Command::new("apt-get").args(["update", "-q"]))?;
        cmd::run(
            Command::new("apt-get")
                .args(["install", "-q", "-y", "--no-install-recommends"])
                // No progress bars: they turn CI logs into one very long line.
                .args(["-o", "Dpkg::Use-Pty=0"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    let enabled = enabled(packages.services)?;
    if !enabled.is_empty() {
        // Only the boot links: policy-rc.d kept them from starting now, and `--now` would fail
        // on a host where systemd is not PID 1 (a container, a CI runner).
        cmd::run(
            Command::new("systemctl")
                .args(["disable", "--quiet"])
                .args(&enabled),
        )?;
    }
    Ok(())
}

/// The `services` that systemd would start at boot.
fn enabled(services: &[&'static str]) -> Result<Vec<&'static str>> {
    let mut enabled = Vec::new();
    for &service in services {
        // Exits 0 for enabled (and alias, static...); prints the state.
        let output = cmd::probe(Command::new("systemctl").args(["is-enabled", service]))?;
        if String::from_utf8_lossy(&output.stdout).trim() == "enabled" {
            enabled.push(service);
        }
    }
    Ok(enabled)
}

fn missing(packages: &[&'static str]) -> Result<Vec<&'static str>> {
    // Exits non-zero when it knows nothing of a package, so its status is no answer; its
    // output is: one line for each package it has a record of.
    let output = cmd::probe(
        Command::new("dpkg-query")
            .args(["--show", "--showformat=${Package} ${db:Status-Status}\\n"])
            .args(packages),
    )?;
    let listed = String::from_utf8_lossy(&output.stdout);
    let installed: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.strip_suffix(" installed"))
        .collect();
    Ok(packages
        .iter()
        .copied()
        .filter(|package| !installed.contains(package))
        .collect())
}

/// Keeps the packages' maintainer scripts from starting nsd, knot or gdnsd, which would hold
/// port 53 and linger after setup (and, enabled, start again at every boot). Debian's service starters consult `/usr/sbin/policy-rc.d`;
/// exit code 101 means "not now". One that already exists belongs to the administrator and is
/// left as it is; the one made here is removed when this guard is dropped.
#[derive(Debug)]
struct NoServiceStarts {
    created: bool,
}

impl NoServiceStarts {
    const PATH: &'static str = "/usr/sbin/policy-rc.d";

    /// Says no to every service start, for as long as it exists.
    const SCRIPT: &'static [u8] =
        b"#!/bin/sh\n# Left by `cargo xtask setup` while it installs packages.\nexit 101\n";

    fn install() -> Result<Self> {
        let mut file = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(Self::PATH)
        {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                return Ok(Self { created: false });
            }
            Err(error) => {
                return Err(error).with_context(|| format!("cannot create {}", Self::PATH));
            }
        };
        // Made before writing, so that a failed write removes the file too.
        let guard = Self { created: true };
        file.write_all(Self::SCRIPT)
            .with_context(|| format!("cannot write {}", Self::PATH))?;
        Ok(guard)
    }
}

impl Drop for NoServiceStarts {
    fn drop(&mut self) {
        if self.created {
            if let Err(error) = fs::remove_file(Self::PATH) {
                eprintln!("setup: cannot remove {}: {error}", Self::PATH);
            }
        }
    }
}
