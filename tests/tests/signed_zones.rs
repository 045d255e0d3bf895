//! Zones signed by BIND's `dnssec-signzone` load with `lbdns check`, with NSEC (RFC 4035) and
//! with NSEC3 opt-out (RFC 5155 §6), and `check` reports every error of a broken file.
//!
//! No root is needed. The BIND tools and ldns-read-zone must be installed: without them the
//! tests fail and say so.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::env::{run_bounded, Output};
use lbdns_tests::{lbdns_bin, TempDir};

const TIMEOUT: Duration = Duration::from_secs(60);

/// A small zone with what signing has to cover: a delegation with and without DS, glue, a
/// CNAME (which then has RRSIG and NSEC beside it), a wildcard, and the newer types.
const ZONE: &str = r#"$ORIGIN signed.test.
$TTL 300
@        SOA   ns hostmaster 2024010101 3600 600 86400 60
@        NS    ns
@        MX    10 mail
@        CAA   0 issue "ca.example"
ns       A     198.18.0.53
mail     A     198.18.0.25
www      A     198.18.0.1
www      AAAA  2001:db8::1
www      HTTPS 1 . alpn=h2,h3 ipv4hint=198.18.0.1
alias    CNAME www
*.wild   TXT   "wildcard"
_443._tcp.www TLSA 3 1 1 2bb183af5f22588179a53b0a98631fad1a2921182bb183af5f22588179a53b0a
host     LOC   52 22 23.000 N 4 53 32.000 E -2.00m
host     SSHFP 4 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
secure   NS    ns.secure
secure   DS    12345 13 2 c40975082ad1dba8142ea7e69d9af78d02ff2ee458dde9c39dad2bfeca518632
ns.secure A    198.18.0.2
insecure NS    ns.insecure
ns.insecure A  198.18.0.3
"#;

/// Runs a tool that the test cannot do without, failing with what to install if it is absent.
fn tool(dir: &Path, program: &str, package: &str, args: &[&str]) -> Result<Output> {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).args(args);
    let out = run_bounded(&mut cmd, TIMEOUT)
        .with_context(|| format!("{program} is needed: install {package}"))?;
    ensure!(
        out.status.success(),
        "{program} {args:?} failed:\n{}",
        out.combined()
    );
    Ok(out)
}

/// Writes the zone with two ECDSA keys and signs it with `extra` signzone flags.
fn sign(dir: &TempDir, extra: &[&str]) -> Result<std::path::PathBuf> {
    let path = dir.path();
    let mut zone = ZONE.to_owned();
    for flags in [&["-f", "KSK"][..], &[]] {
        let mut args = vec!["-q", "-K", ".", "-a", "ECDSAP256SHA256"];
        args.extend(flags);
        args.push("signed.test");
        let key = tool(path, "dnssec-keygen", "bind9-utils", &args)?;
        zone.push_str(&format!("$INCLUDE {}.key\n", key.stdout.trim()));
    }
    dir.write("db", &zone)?;
    let mut args = vec![
        "-q",
        "-K",
        ".",
        "-S",
        "-o",
        "signed.test",
        "-f",
        "db.signed",
    ];
    args.extend(extra);
    args.push("db");
    tool(path, "dnssec-signzone", "bind9-utils", &args)?;
    Ok(path.join("db.signed"))
}

/// The number of records ldns reads from `zone`, of the types `only` if any (ldns-read-zone
/// prints one record a line).
fn ldns_count(zone: &Path, only: &[&str]) -> Result<usize> {
    let dir = zone.parent().context("zone in a directory")?;
    let mut args = Vec::new();
    for rtype in only {
        args.extend(["-E", rtype]);
    }
    args.push(zone.to_str().context("UTF-8 path")?);
    let out = tool(dir, "ldns-read-zone", "ldnsutils", &args)?;
    Ok(out.stdout.lines().filter(|l| !l.trim().is_empty()).count())
}

/// `lbdns check --zone <zone>` succeeds and reports as many records as ldns reads.
fn check_loads(zone: &Path, must_hold: &[&str]) -> Result<()> {
    for rtype in must_hold {
        ensure!(
            ldns_count(zone, &[rtype])? > 0,
            "the signed zone has no {rtype} record"
        );
    }
    let mut cmd = Command::new(lbdns_bin()?);
    cmd.arg("check").arg("--zone").arg(zone);
    let out = run_bounded(&mut cmd, TIMEOUT)?;
    ensure!(
        out.status.success(),
        "check rejected the signed zone:\n{}",
        out.combined()
    );
    // RFC 4034 §3: each signature keeps its RRset's TTL (NSEC3PARAM's is 0, SOA's is not).
    ensure!(
        !out.stderr.contains("TTLs differ"),
        "check changed a TTL of the signed zone:\n{}",
        out.stderr
    );
    let want = format!("signed.test.: {} records, ok", ldns_count(zone, &[])?);
    if !out.stdout.contains(&want) {
        bail!("check printed {:?}, expected {want:?}", out.stdout);
    }
    Ok(())
}

#[test]
fn rfc_4035_nsec_signed_zone_passes_check() -> Result<()> {
    let dir = TempDir::new("signed-nsec")?;
    let zone = sign(&dir, &[])?;
    check_loads(&zone, &["RRSIG", "NSEC", "DNSKEY", "DS"])
}

#[test]
fn rfc_5155_nsec3_opt_out_signed_zone_passes_check() -> Result<()> {
    let dir = TempDir::new("signed-nsec3")?;
    let zone = sign(&dir, &["-3", "aabbccdd", "-A"])?;
    check_loads(&zone, &["RRSIG", "NSEC3", "NSEC3PARAM", "DNSKEY"])
}

#[test]
fn check_reports_every_error_of_a_file() -> Result<()> {
    let dir = TempDir::new("check-errors")?;
    let broken = ZONE
        .replace("2001:db8::1", "2001:db8::g")
        .replace("52 22 23.000 N", "52 22 23.000 Q")
        .replace("12345 13 2", "12345 13 2 zz");
    let zone = dir.write("db", &broken)?;
    let mut cmd = Command::new(lbdns_bin()?);
    cmd.arg("check").arg("--zone").arg(&zone);
    let out = run_bounded(&mut cmd, TIMEOUT)?;
    ensure!(!out.status.success(), "check accepted:\n{}", out.combined());
    for line in [10, 15, 18] {
        let want = format!("{}:{line}: ", zone.display());
        ensure!(
            out.stderr.lines().any(|l| l.starts_with(&want)),
            "no error for line {line}:\n{}",
            out.stderr
        );
    }
    ensure!(
        out.stderr.contains("3 error(s)"),
        "summary missing:\n{}",
        out.stderr
    );
    Ok(())
}
