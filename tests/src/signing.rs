//! Signed zones made at test time: fresh ECDSA P-256 keys (fast to make) and BIND's
//! `dnssec-signzone`, so no private key is ever committed and the signatures never expire
//! under a test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};

use crate::env::{run_bounded, Output, TempDir};
use crate::netns::Topology;

/// Bound on each BIND tool; they finish in milliseconds.
const TIMEOUT: Duration = Duration::from_secs(60);

/// How a zone proves names and types absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// RFC 4034 NSEC.
    Nsec,
    /// RFC 5155 NSEC3 with this salt (hex) and opt-out, so unsigned delegations have no NSEC3.
    Nsec3OptOut(&'static str),
}

/// One signed zone in a [`Signer`]'s directory.
#[derive(Debug, Clone)]
pub struct SignedZone {
    pub origin: String,
    pub file: PathBuf,
    /// The key-signing key's public DNSKEY record, in presentation form.
    pub ksk: String,
}

/// A directory holding keys and signed zones, removed on drop.
#[derive(Debug)]
pub struct Signer {
    dir: TempDir,
}

impl Signer {
    pub fn new() -> Result<Self> {
        Ok(Self {
            dir: TempDir::new("signed-zones")?,
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Signs `template` (relative names only) as `origin` with a new KSK and ZSK.
    pub fn sign(&self, template: &Path, origin: &str, denial: Denial) -> Result<SignedZone> {
        let mut text = std::fs::read_to_string(template)
            .with_context(|| format!("reading {}", template.display()))?;
        let mut ksk = String::new();
        for flags in [&["-f", "KSK"][..], &[]] {
            let mut args = vec!["-q", "-K", ".", "-a", "ECDSAP256SHA256"];
            args.extend(flags);
            args.push(origin);
            let key = self.tool("dnssec-keygen", &args)?.stdout.trim().to_owned();
            let public = std::fs::read_to_string(self.dir().join(format!("{key}.key")))?;
            if ksk.is_empty() {
                ksk = public
                    .lines()
                    .find(|l| !l.starts_with(';') && l.contains("DNSKEY"))
                    .context("dnssec-keygen wrote no DNSKEY record")?
                    .to_owned();
            }
            text.push_str(&format!("\n$INCLUDE {key}.key\n"));
        }
        let unsigned = self.dir.write(&format!("{origin}.zone"), &text)?;
        let signed = self.dir().join(format!("{origin}.signed"));
        let mut args = vec!["-q", "-K", ".", "-S", "-o", origin, "-f"];
        args.push(signed.to_str().context("UTF-8 path")?);
        if let Denial::Nsec3OptOut(salt) = denial {
            args.extend(["-3", salt, "-A"]);
        }
        args.push(unsigned.to_str().context("UTF-8 path")?);
        self.tool("dnssec-signzone", &args)?;
        Ok(SignedZone {
            origin: origin.to_owned(),
            file: signed,
            ksk,
        })
    }

    /// Runs a BIND tool in the directory, failing with what to install when it is absent.
    fn tool(&self, program: &str, args: &[&str]) -> Result<Output> {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.dir()).args(args);
        let out = run_bounded(&mut cmd, TIMEOUT)
            .with_context(|| format!("{program} is needed: install bind9-utils"))?;
        ensure!(
            out.status.success(),
            "{program} {args:?} failed:\n{}",
            out.combined()
        );
        Ok(out)
    }
}

/// A `trust-anchors` file (named.conf syntax, as delv's `-a` reads it) holding `dnskey`, a
/// DNSKEY record in presentation form.
pub fn anchors(dir: &Path, name: &str, dnskey: &str) -> Result<PathBuf> {
    let fields: Vec<&str> = dnskey.split_whitespace().collect();
    let at = fields
        .iter()
        .position(|f| *f == "DNSKEY")
        .context("a DNSKEY record")?;
    let (owner, rest) = (fields[0], &fields[at + 1..]);
    ensure!(rest.len() >= 4, "DNSKEY record too short: {dnskey}");
    let text = format!(
        "trust-anchors {{\n  {owner} static-key {} {} {} \"{}\";\n}};\n",
        rest[0],
        rest[1],
        rest[2],
        rest[3..].concat()
    );
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// delv's output for `name`/`rtype` asked of the server in `topo` (its IPv4 address), with
/// `anchor` for `zone`: its first comment line is the verdict ("; fully validated").
pub fn delv(topo: &Topology, anchor: &Path, zone: &str, name: &str, rtype: &str) -> Result<String> {
    let mut cmd = topo.client.command("delv");
    cmd.arg(format!("@{}", topo.server_v4))
        .arg("-a")
        .arg(anchor)
        .arg(format!("+root={zone}"))
        .args([name, rtype]);
    let out = run_bounded(&mut cmd, TIMEOUT)?;
    Ok(out.combined())
}
