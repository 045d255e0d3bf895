//! What a pool answers as its endpoints go down: failover tiers, fail-open and fail-closed
//! pools, and A and AAAA chosen independently. Every endpoint is a real TCP listener that is
//! stopped and started; every change is held to the bound.

use anyhow::Result;
use lbdns_tests::wire::rtype::{A, AAAA};

use crate::backend::TcpBackend;
use crate::{addrs, at, down_within, up_within, Answer, Lbdns, Mode, Net, CHECK_TIMING, POOL_TTL};

on_both_paths!(failover, fail_open, fail_closed, families_are_independent);

const WWW: &str = "www.lb.example";
const PORT: u16 = 9000;

/// TCP listeners on `addresses`, port [`PORT`].
fn listeners(net: &Net, addresses: &[&str]) -> Result<Vec<TcpBackend>> {
    addresses
        .iter()
        .map(|a| TcpBackend::start_in(net.server_ns(), at(a, PORT)))
        .collect()
}

/// A TCP-checked pool `www.lb.example.` with `settings` (lines of the `[[pool]]` table) and
/// one endpoint table per entry of `endpoints` (its lines, `address` first).
fn pool(settings: &str, endpoints: &[&str]) -> String {
    let mut toml = format!(
        "[[pool]]\nname = \"www.lb.example.\"\nttl = {POOL_TTL}\n{settings}\n\
         [pool.check]\ntype = \"tcp\"\nport = {PORT}\n{CHECK_TIMING}\n"
    );
    for endpoint in endpoints {
        toml.push_str(&format!("[[pool.endpoint]]\n{endpoint}\n"));
    }
    toml
}

/// Tier 2 is answered only while every tier-1 endpoint is down, and tier 1 takes over again as
/// soon as one of its endpoints is back.
fn failover(mode: Mode) -> Result<()> {
    let net = Net::new(mode)?;
    let mut backends = listeners(&net, &["198.18.60.1", "198.18.60.2", "198.18.60.3"])?;
    let lb = net.serve(&pool(
        "policy = \"failover\"",
        &[
            "address = \"198.18.60.1\"\ntier = 1",
            "address = \"198.18.60.2\"\ntier = 1",
            "address = \"198.18.60.3\"\ntier = 2",
        ],
    ))?;
    let tier1 = addrs(&["198.18.60.1", "198.18.60.2"]);
    let second = addrs(&["198.18.60.2"]);
    let tier2 = addrs(&["198.18.60.3"]);
    let first = addrs(&["198.18.60.1"]);
    lb.expect(WWW, A, &tier1)?;

    backends[0].stop();
    let event = "tier-1 198.18.60.1 stopped (198.18.60.2 still up)";
    lb.wait_change(WWW, A, (&tier1, &second), down_within(), event)?;
    lb.expect(WWW, A, &second)?;

    backends[1].stop();
    let event = "tier-1 198.18.60.2 stopped too: all of tier 1 down";
    lb.wait_change(WWW, A, (&second, &tier2), down_within(), event)?;

    backends[0].start(net.server_ns())?;
    let event = "tier-1 198.18.60.1 listened again";
    lb.wait_change(WWW, A, (&tier2, &first), up_within(), event)?;

    backends[1].start(net.server_ns())?;
    let event = "tier-1 198.18.60.2 listened again";
    lb.wait_change(WWW, A, (&first, &tier1), up_within(), event)
}

/// `on_all_down = "all"`: with every endpoint down, every endpoint is answered.
fn fail_open(mode: Mode) -> Result<()> {
    let net = Net::new(mode)?;
    let mut backends = listeners(&net, &["198.18.60.1", "198.18.60.2"])?;
    let lb = net.serve(&pool(
        "on_all_down = \"all\"",
        &["address = \"198.18.60.1\"", "address = \"198.18.60.2\""],
    ))?;
    let both = addrs(&["198.18.60.1", "198.18.60.2"]);
    let second = addrs(&["198.18.60.2"]);
    let first = addrs(&["198.18.60.1"]);
    lb.expect(WWW, A, &both)?;

    backends[0].stop();
    let event = "198.18.60.1 stopped";
    lb.wait_change(WWW, A, (&both, &second), down_within(), event)?;

    // All down answers what all up does, so the daemon's own view says when it happened.
    backends[1].stop();
    let event = "198.18.60.2 stopped too";
    lb.wait_down(&["198.18.60.1", "198.18.60.2"], event)?;
    lb.expect(WWW, A, &both)?;

    backends[0].start(net.server_ns())?;
    let event = "198.18.60.1 listened again (198.18.60.2 still down)";
    lb.wait_change(WWW, A, (&both, &first), up_within(), event)
}

/// `on_all_down = "none"`: with every endpoint down the name answers NODATA with the SOA.
fn fail_closed(mode: Mode) -> Result<()> {
    let net = Net::new(mode)?;
    let mut backends = listeners(&net, &["198.18.60.1", "198.18.60.2"])?;
    let lb = net.serve(&pool(
        "on_all_down = \"none\"",
        &["address = \"198.18.60.1\"", "address = \"198.18.60.2\""],
    ))?;
    let both = addrs(&["198.18.60.1", "198.18.60.2"]);
    let second = addrs(&["198.18.60.2"]);
    lb.expect(WWW, A, &both)?;

    backends[0].stop();
    let event = "198.18.60.1 stopped";
    lb.wait_change(WWW, A, (&both, &second), down_within(), event)?;

    backends[1].stop();
    let event = "198.18.60.2 stopped too";
    lb.wait_change(WWW, A, (&second, &Answer::Nodata), down_within(), event)?;
    lb.expect(WWW, A, &Answer::Nodata)?;

    backends[1].start(net.server_ns())?;
    let event = "198.18.60.2 listened again";
    lb.wait_change(WWW, A, (&Answer::Nodata, &second), up_within(), event)
}

/// One pool with IPv4 and IPv6 endpoints: the A answer ignores the IPv6 endpoints' health and
/// the AAAA answer the IPv4 endpoints'.
fn families_are_independent(mode: Mode) -> Result<()> {
    let net = Net::new(mode)?;
    let mut v4 = listeners(&net, &["198.18.60.1", "198.18.60.2"])?;
    let mut v6 = listeners(&net, &["2001:db8:60::1", "2001:db8:60::2"])?;
    let lb = net.serve(&pool(
        "on_all_down = \"none\"",
        &[
            "address = \"198.18.60.1\"",
            "address = \"2001:db8:60::1\"",
            "address = \"198.18.60.2\"",
            "address = \"2001:db8:60::2\"",
        ],
    ))?;
    let a_both = addrs(&["198.18.60.1", "198.18.60.2"]);
    let aaaa_both = addrs(&["2001:db8:60::1", "2001:db8:60::2"]);
    let aaaa_second = addrs(&["2001:db8:60::2"]);
    lb.expect(WWW, A, &a_both)?;
    lb.expect(WWW, AAAA, &aaaa_both)?;

    v6[0].stop();
    let event = "2001:db8:60::1 stopped";
    lb.wait_change(WWW, AAAA, (&aaaa_both, &aaaa_second), down_within(), event)?;
    lb.expect(WWW, A, &a_both)?;

    v6[1].stop();
    let event = "2001:db8:60::2 stopped: every IPv6 endpoint down";
    lb.wait_change(
        WWW,
        AAAA,
        (&aaaa_second, &Answer::Nodata),
        down_within(),
        event,
    )?;
    lb.expect(WWW, A, &a_both)?;

    v4[0].stop();
    let event = "198.18.60.1 stopped";
    lb.wait_change(
        WWW,
        A,
        (&a_both, &addrs(&["198.18.60.2"])),
        down_within(),
        event,
    )?;
    lb.expect(WWW, AAAA, &Answer::Nodata)?;

    v6[0].start(net.server_ns())?;
    let event = "2001:db8:60::1 listened again";
    let aaaa_first = addrs(&["2001:db8:60::1"]);
    lb.wait_change(
        WWW,
        AAAA,
        (&Answer::Nodata, &aaaa_first),
        up_within(),
        event,
    )?;
    expect_both(&lb, &addrs(&["198.18.60.2"]), &aaaa_first)
}

/// A and AAAA answer `a` and `aaaa`.
fn expect_both(lb: &Lbdns<'_>, a: &Answer, aaaa: &Answer) -> Result<()> {
    lb.expect(WWW, A, a)?;
    lb.expect(WWW, AAAA, aaaa)
}
