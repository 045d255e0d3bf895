//! `lbdns check --config FILE` on broken pool configurations: each error fails the check and
//! is reported on a line of its own that starts with `file:line: field:` (for pool errors) or
//! `file:line: unknown field` (for keys the file format does not have), naming the line of the
//! offending value so that an editor can jump to it.
//!
//! No namespace and no root needed: `check` only reads files.

use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use lbdns_tests::env::run_bounded;
use lbdns_tests::{lbdns_bin, TempDir};

use crate::ZONE;

/// Bound on one `lbdns check`; it reads two small files.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// A configuration file with the test zone and `pools`.
fn config(pools: &str) -> String {
    format!("[[zone]]\nfile = \"lb.example.zone\"\n\n{pools}")
}

/// What `lbdns check` made of one configuration file.
struct Checked {
    /// Holds the files until the checks are done.
    _dir: TempDir,
    path: String,
    text: String,
    passed: bool,
    output: String,
}

/// Runs `lbdns check --config` on a file with the test zone and `pools`.
fn check(pools: &str) -> Result<Checked> {
    let dir = TempDir::new("pools-check")?;
    dir.write("lb.example.zone", ZONE)?;
    let text = config(pools);
    let path = dir.write("lbdns.toml", &text)?;
    let out = run_bounded(
        Command::new(lbdns_bin()?)
            .arg("check")
            .arg("--config")
            .arg(&path),
        CHECK_TIMEOUT,
    )?;
    Ok(Checked {
        path: path.to_str().context("UTF-8 temp path")?.to_owned(),
        _dir: dir,
        text,
        passed: out.status.success(),
        output: out.combined(),
    })
}

/// `pools` must fail the check with a line starting `<file>:<line>: <expected>`, where `line`
/// is the line of the file holding `at`.
fn rejects(pools: &str, at: &str, expected: &str) -> Result<()> {
    let Checked {
        path,
        text,
        passed,
        output,
        ..
    } = check(pools)?;
    let offset = text
        .find(at)
        .with_context(|| format!("{at:?} is in the configuration"))?;
    let line = 1 + text[..offset].matches('\n').count();
    let prefix = format!("{path}:{line}: {expected}");
    ensure!(
        !passed,
        "lbdns check accepted the configuration\n{text}\noutput:\n{output}"
    );
    ensure!(
        output.lines().any(|l| l.starts_with(&prefix)),
        "want a line starting with {prefix:?}\noutput:\n{output}\nconfiguration:\n{text}"
    );
    Ok(())
}

const ENDPOINT: &str = "[[pool.endpoint]]\naddress = \"198.18.60.1\"\n";

/// The baseline the broken files differ from passes, so their failures are theirs.
#[test]
fn a_valid_pool_passes() -> Result<()> {
    let pools = format!("[[pool]]\nname = \"www.lb.example.\"\n{ENDPOINT}");
    let checked = check(&pools)?;
    let (text, output) = (&checked.text, &checked.output);
    ensure!(
        checked.passed && output.contains("pool www.lb.example.: 1 endpoints, ok"),
        "lbdns check rejected\n{text}\noutput:\n{output}"
    );
    Ok(())
}

#[test]
fn unknown_keys() -> Result<()> {
    let endpoint = "[[pool]]\nname = \"www.lb.example.\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\nwieght = 2\n";
    rejects(endpoint, "wieght", "unknown field `wieght`")?;
    let pool = format!("[[pool]]\nname = \"www.lb.example.\"\nbackends = 2\n{ENDPOINT}");
    rejects(&pool, "backends", "unknown field `backends`")?;
    let check = format!(
        "[[pool]]\nname = \"www.lb.example.\"\n[pool.check]\ntype = \"tcp\"\nport = 80\n\
         retries = 3\n{ENDPOINT}"
    );
    rejects(&check, "retries", "unknown field `retries`")
}

#[test]
fn weights_all_zero() -> Result<()> {
    let pools = "[[pool]]\nname = \"www.lb.example.\"\npolicy = \"weighted\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\nweight = 0\n\
         [[pool.endpoint]]\naddress = \"198.18.60.2\"\nweight = 0 # second\n";
    rejects(pools, "weight = 0\n", "pool.endpoint.weight: ")
}

#[test]
fn owner_outside_every_zone() -> Result<()> {
    let pools = format!("[[pool]]\nname = \"www.elsewhere.example.\"\n{ENDPOINT}");
    rejects(&pools, "www.elsewhere", "pool.name: ")
}

#[test]
fn owner_with_a_cname() -> Result<()> {
    let pools = format!("[[pool]]\nname = \"alias.lb.example.\"\n{ENDPOINT}");
    rejects(&pools, "alias.lb", "pool.name: ")
}

#[test]
fn duplicate_endpoints() -> Result<()> {
    let pools = format!(
        "[[pool]]\nname = \"www.lb.example.\"\n{ENDPOINT}\
         [[pool.endpoint]]\naddress = \"198.18.60.2\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\" # again\n"
    );
    rejects(&pools, "\"198.18.60.1\" # again", "pool.endpoint.address: ")
}

#[test]
fn interval_shorter_than_timeout() -> Result<()> {
    let pools = format!(
        "[[pool]]\nname = \"www.lb.example.\"\n[pool.check]\ntype = \"tcp\"\nport = 80\n\
         interval = \"100ms\"\ntimeout = \"200ms\"\n{ENDPOINT}"
    );
    rejects(&pools, "interval", "pool.check.interval: ")
}
