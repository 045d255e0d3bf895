//! `lbdns drain ADDR` and `lbdns undrain ADDR` against a running daemon: a drained endpoint
//! leaves the answers of both paths and comes back when undrained; draining every endpoint
//! never turns the pool dark.

use std::time::Duration;

use anyhow::{ensure, Result};
use lbdns_tests::wire::rtype::A;

use crate::{addrs, ip, Answer, Lbdns, Mode, Net, POOL_TTL};

on_both_paths!(drain_and_undrain);

const WWW: &str = "www.lb.example";
/// Bound on polling for a drain to show: the daemon applies it before replying, so this is
/// only there to keep a broken daemon from hanging the test.
const DRAIN_BOUND: Duration = Duration::from_secs(5);

/// Runs `lbdns <verb> <address>` and checks its reply.
fn control(lb: &Lbdns<'_>, verb: &str, address: &str) -> Result<()> {
    let out = lb.lbdns(&[verb, address])?;
    let past = format!("{verb}ed");
    ensure!(
        out.status.success()
            && out
                .stdout
                .starts_with(&format!("{address} {past} in 1 pool(s)")),
        "lbdns {verb} {address}: {} {}",
        out.status,
        out.combined()
    );
    Ok(())
}

/// Drains (or undrains) `address` and waits until the answers change from `from` to `to`.
fn switch(lb: &Lbdns<'_>, verb: &str, address: &str, from: &Answer, to: &Answer) -> Result<()> {
    control(lb, verb, address)?;
    let event = format!("lbdns {verb} {address}");
    lb.wait_change(WWW, A, (from, to), DRAIN_BOUND, &event)?;
    let drained = lb.endpoints()?.get(&ip(address)).map(|s| s.1);
    ensure!(
        drained == Some(verb == "drain"),
        "after {event}, `lbdns status` shows drained = {drained:?}\n{}",
        lb.diagnostics()
    );
    Ok(())
}

fn drain_and_undrain(mode: Mode) -> Result<()> {
    let net = Net::new(mode)?;
    let lb = net.serve(&format!(
        "[[pool]]\nname = \"www.lb.example.\"\nttl = {POOL_TTL}\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.2\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.3\"\n"
    ))?;
    let all = addrs(&["198.18.60.1", "198.18.60.2", "198.18.60.3"]);
    let without_2 = addrs(&["198.18.60.1", "198.18.60.3"]);
    lb.expect(WWW, A, &all)?;

    switch(&lb, "drain", "198.18.60.2", &all, &without_2)?;
    lb.expect(WWW, A, &without_2)?;
    switch(&lb, "undrain", "198.18.60.2", &without_2, &all)?;

    // An address no pool has is refused, and nothing changes.
    let out = lb.lbdns(&["drain", "198.18.60.99"])?;
    ensure!(
        !out.status.success() && out.stderr.contains("no pool has an endpoint 198.18.60.99"),
        "lbdns drain of an unknown address: {} {}",
        out.status,
        out.combined()
    );
    lb.expect(WWW, A, &all)?;

    // Drained one by one: once nothing undrained is left, the drained ones are answered
    // rather than nothing.
    let only_3 = addrs(&["198.18.60.3"]);
    switch(
        &lb,
        "drain",
        "198.18.60.1",
        &all,
        &addrs(&["198.18.60.2", "198.18.60.3"]),
    )?;
    switch(
        &lb,
        "drain",
        "198.18.60.2",
        &addrs(&["198.18.60.2", "198.18.60.3"]),
        &only_3,
    )?;
    switch(&lb, "drain", "198.18.60.3", &only_3, &all)?;
    lb.expect(WWW, A, &all)?;
    switch(
        &lb,
        "undrain",
        "198.18.60.1",
        &all,
        &addrs(&["198.18.60.1"]),
    )?;
    switch(
        &lb,
        "undrain",
        "198.18.60.2",
        &addrs(&["198.18.60.1"]),
        &addrs(&["198.18.60.1", "198.18.60.2"]),
    )?;
    switch(
        &lb,
        "undrain",
        "198.18.60.3",
        &addrs(&["198.18.60.1", "198.18.60.2"]),
        &all,
    )
}
