//! The Debian packages that the tests and benchmarks drive or compare lbdns against.

use std::{
    fs,
    io::{self, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    process::Command,
};

use anyhow::{Context as _, Result};

use super::Probe;
use crate::cmd;

const PACKAGES: &[&str] = &[
    // Load generators: dnsperf over sockets, kxdpgun (in knot-dnsutils) over XDP.
    "dnsperf",
    "knot-dnsutils",
    // dig and delv: the reference client and the validating one.
    "dnsutils",
    // dnssec-signzone and dnssec-keygen sign the test zones; ldns-read-zone prints any record's
    // RFC 3597 wire form, the oracle for the zone reader's RDATA parsers.
    "bind9-utils",
    "ldnsutils",
    // promtool (in prometheus) checks the /metrics page the way a scraper reads it. The package
    // also brings the Prometheus server, whose service the guard below keeps from starting.
    "prometheus",
    // Authoritative servers that the differential tests and benchmarks compare against.
    "nsd",
    "knot",
    "gdnsd",
    // ip (network namespaces, veth pairs, XDP attach) and ethtool (queues, offloads).
    "iproute2",
    "ethtool",
];

/// Asks dpkg, the authority on what is installed, which packages are not.
pub fn probe() -> Result<Probe> {
    let missing = missing()?;
    Ok(if missing.is_empty() {
        Probe::Present
    } else {
        Probe::Absent(format!("missing {}", missing.join(" ")))
    })
}

/// Installs the missing packages with one `apt-get update` and one `apt-get install`.
pub fn install() -> Result<()> {
    let missing = missing()?;
    let _no_daemons = NoServiceStarts::install()?;
    cmd::run(Command::new("apt-get").args(["update", "-q"]))?;
    cmd::run(
        Command::new("apt-get")
            .args(["install", "-q", "-y", "--no-install-recommends"])
            // No progress bars: they turn CI logs into one very long line.
            .args(["-o", "Dpkg::Use-Pty=0"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn missing() -> Result<Vec<&'static str>> {
    // Exits non-zero when it knows nothing of a package, so its status is no answer; its
    // output is: one line for each package it has a record of.
    let output = cmd::probe(
        Command::new("dpkg-query")
            .args(["--show", "--showformat=${Package} ${db:Status-Status}\\n"])
            .args(PACKAGES),
    )?;
    let listed = String::from_utf8_lossy(&output.stdout);
    let installed: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.strip_suffix(" installed"))
        .collect();
    Ok(PACKAGES
        .iter()
        .copied()
        .filter(|package| !installed.contains(package))
        .collect())
}

/// Keeps the packages' maintainer scripts from starting nsd, knot, gdnsd or prometheus, which
/// would hold ports (53, 9090) and linger after setup. Debian's service starters consult `/usr/sbin/policy-rc.d`;
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
