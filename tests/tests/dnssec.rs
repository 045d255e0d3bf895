//! Signed zones end to end: BIND's `delv`, a validating resolver, validates lbdns's answers
//! against a trust anchor made from the zone's own KSK (and fails with any other key), and a
//! pool inside a signed zone is refused before anything is served.
//!
//! The zones are `tests/corpus/dnssec.zone` signed at test time (`lbdns_tests::signing`), the
//! same the differential suite compares with NSD.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use lbdns_tests::signing::{anchors, delv, Denial, SignedZone, Signer};
use lbdns_tests::{lbdns_bin, preflight, run_bounded, workspace_root, Query, Server, Topology};

const TIMEOUT: Duration = Duration::from_secs(30);

/// delv's verdicts (BIND 9.18): a proven answer, a proven absence, and what opt-out allows.
const VALIDATED: &str = "; fully validated";
const NEGATIVE_VALIDATED: &str = "; negative response, fully validated";
const UNSIGNED: &str = "; unsigned answer";

fn sign(signer: &Signer, origin: &str, denial: Denial) -> Result<SignedZone> {
    signer.sign(
        &workspace_root().join("tests/corpus/dnssec.zone"),
        origin,
        denial,
    )
}

#[test]
fn rfc4035_5_delv_validates_lbdns_answers_and_rejects_a_wrong_anchor() -> Result<()> {
    preflight(&["delv", "dnssec-keygen", "dnssec-signzone"])?;
    let signer = Signer::new()?;
    let nsec = sign(&signer, "nsec.test", Denial::Nsec)?;
    let nsec3 = sign(&signer, "nsec3.test", Denial::Nsec3OptOut("abcd"))?;
    let topo = Topology::new()?;
    let server = Server::lbdns(
        &topo,
        &[nsec.file.as_path(), nsec3.file.as_path()],
        &topo.server_addrs(53),
    )?;
    let mut failures = Vec::new();
    for zone in [&nsec, &nsec3] {
        let origin = &zone.origin;
        let anchor = anchors(signer.dir(), &format!("{origin}.anchors"), &zone.ksk)?;
        // An opt-out NSEC3 covering the next closer name leaves a wildcard answer unproven
        // (RFC 5155 §9.2): delv calls it unsigned, for NSD's answer as for lbdns's.
        let wildcard = if zone.origin == "nsec3.test" {
            UNSIGNED
        } else {
            VALIDATED
        };
        let cases = [
            ("www", "A", VALIDATED),
            ("@", "DNSKEY", VALIDATED),
            ("c1", "AAAA", VALIDATED),
            ("x.wild", "A", wildcard),
            ("sec", "DS", VALIDATED),
            ("nope", "A", NEGATIVE_VALIDATED),
            ("www", "MX", NEGATIVE_VALIDATED),
            ("b.ent", "A", NEGATIVE_VALIDATED),
            ("x.wild", "MX", NEGATIVE_VALIDATED),
            // The insecure delegations: their DS is proven absent.
            ("insec", "DS", NEGATIVE_VALIDATED),
            ("x.optent", "DS", NEGATIVE_VALIDATED),
        ];
        for (name, rtype, verdict) in cases {
            let name = match name {
                "@" => origin.clone(),
                _ => format!("{name}.{origin}"),
            };
            let out = delv(&topo, &anchor, origin, &name, rtype)?;
            if !out.lines().any(|l| l == verdict) {
                failures.push(format!(
                    "{name} {rtype}: expected {verdict:?}, delv said:\n{out}"
                ));
            }
        }
        // Another key as the anchor: nothing validates, so the checks above can fail.
        let other = sign(&signer, origin, Denial::Nsec)?;
        let wrong = anchors(signer.dir(), &format!("{origin}.wrong"), &other.ksk)?;
        let out = delv(&topo, &wrong, origin, &format!("www.{origin}"), "A")?;
        if out.contains("fully validated") || !out.contains("no valid signature") {
            failures.push(format!("{origin} with a wrong anchor validated:\n{out}"));
        }
    }
    drop(server);
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn a_pool_in_a_signed_zone_is_refused_at_check_start_and_reload() -> Result<()> {
    let signer = Signer::new()?;
    let zone = sign(&signer, "nsec.test", Denial::Nsec)?;
    let config = signer.dir().join("lbdns.toml");
    std::fs::write(
        &config,
        format!(
            "listen = [\"127.0.0.1:0\"]\n\n[[zone]]\nfile = \"{}\"\n\n[[pool]]\n\
             name = \"www.nsec.test.\"\n[[pool.endpoint]]\naddress = \"198.18.20.80\"\n",
            zone.file.display()
        ),
    )?;
    let want = format!(
        "{}:7: pool.name: www.nsec.test. is in the signed zone nsec.test.: lbdns does not sign \
         online",
        config.display()
    );
    for command in ["check", "serve"] {
        let mut cmd = Command::new(lbdns_bin()?);
        cmd.arg(command).arg("--config").arg(&config);
        if command == "serve" {
            cmd.arg("--control").arg(signer.dir().join("control.sock"));
        }
        let out = run_bounded(&mut cmd, TIMEOUT)?;
        ensure!(
            !out.status.success() && out.stderr.contains(&want),
            "lbdns {command} should refuse with {want:?}; it said:\n{}",
            out.combined()
        );
    }
    // A reload that brings the pool in keeps serving the zone as it was.
    preflight(&["kdig"])?;
    let pool = std::fs::read_to_string(&config)?;
    let (zone_only, _) = pool.split_once("[[pool]]").context("the pool entry")?;
    std::fs::write(&config, zone_only)?;
    let topo = Topology::new()?;
    let args = ["--config", config.to_str().context("UTF-8 path")?];
    let server = Server::lbdns_with(&topo, &[], &topo.server_addrs(53), &args)?;
    let addresses = || -> Result<Vec<String>> {
        let query = Query::new("www.nsec.test", "A");
        let mut rdata = topo
            .kdig(topo.server_v4_addr(53), &query)?
            .answer_rdata("A");
        // Sorted: the RRset rotates on every answer.
        rdata.sort();
        Ok(rdata)
    };
    let before = addresses()?;
    ensure!(before.len() == 3, "www.nsec.test A: {before:?}");
    std::fs::write(&config, &pool)?;
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()?;
    ensure!(status.success(), "kill -HUP failed");
    let deadline = Instant::now() + TIMEOUT;
    while !server.stderr().contains("reload failed") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    let log = server.stderr();
    ensure!(
        log.contains(&want),
        "the reload did not refuse the pool:\n{log}"
    );
    let after = addresses()?;
    ensure!(
        after == before,
        "the reload changed {before:?} to {after:?}:\n{log}"
    );
    Ok(())
}
