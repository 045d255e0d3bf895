//! `lbdns serve --metrics ADDR` end to end: the page is scraped over HTTP from the client
//! namespace, passes `promtool check metrics`, and its counters move by exactly the queries
//! sent on each path: UDP and TCP (socket path), and with native XDP on the veth, the queries
//! the program answers. `lbdns stats` works without XDP. A metrics port in use stops start-up
//! with the address named, whether it comes from the flag or from `[metrics]` in the file. The
//! zone metrics follow reloads.
//!
//! Needs root, promtool (Debian's prometheus package) and a built `lbdns` binary; without them
//! the tests fail and say so.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::client::{tcp_query, udp_query, udp_recv, udp_socket};
use lbdns_tests::env::run_ok;
use lbdns_tests::wire::{rcode, rtype};
use lbdns_tests::{example_zone, lbdns_bin, preflight, Builder, Server, TempDir, Topology};

#[path = "support/peer.rs"]
mod peer;
use peer::PeerProgram;

const METRICS_PORT: u16 = 9153;
const TIMEOUT: Duration = Duration::from_secs(5);

/// One scrape: every sample, keyed by its name and labels as written (`name{a="b"}`).
#[derive(Debug)]
struct Page {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Page {
    fn parse(text: String) -> Result<Self> {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (key, value) = line
                .rsplit_once(' ')
                .with_context(|| format!("a sample line without a value: {line:?}"))?;
            let value = value
                .parse()
                .with_context(|| format!("a sample value that is no number: {line:?}"))?;
            ensure!(
                samples.insert(key.to_owned(), value).is_none(),
                "{key} appears twice"
            );
        }
        Ok(Self { text, samples })
    }

    /// The sample `key` (0 when absent: a series that has not been created yet).
    fn get(&self, key: &str) -> f64 {
        self.samples.get(key).copied().unwrap_or(0.0)
    }

    /// The sum of the samples of metric `name` whose labels include every one of `labels`.
    fn sum(&self, name: &str, labels: &[&str]) -> f64 {
        self.samples
            .iter()
            .filter(|(key, _)| {
                let (metric, rest) = key.split_once('{').unwrap_or((key, ""));
                metric == name && labels.iter().all(|label| rest.contains(label))
            })
            .map(|(_, value)| value)
            .sum()
    }
}

/// `GET /metrics` from a socket in the client namespace.
fn scrape(topo: &Topology, address: SocketAddr) -> Result<Page> {
    let response = topo.client.enter(move || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    })??;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("no HTTP response: {response:?}"))?;
    ensure!(head.starts_with("HTTP/1.1 200"), "scrape failed: {head}");
    ensure!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "not the Prometheus text format: {head}"
    );
    Page::parse(body.to_owned())
}

/// `promtool check metrics` on the page: the format and the naming conventions.
fn promtool_check(page: &Page) -> Result<()> {
    preflight(&["promtool"])?;
    let dir = TempDir::new("lbdns-metrics-page")?;
    let path = dir.write("metrics.txt", &page.text)?;
    let out = run_ok(
        Command::new("sh")
            .arg("-c")
            .arg("promtool check metrics < \"$0\"")
            .arg(&path),
        TIMEOUT,
    )
    .context("promtool check metrics")?;
    ensure!(
        out.combined().trim().is_empty(),
        "promtool found problems: {}",
        out.combined()
    );
    Ok(())
}

/// `lbdns stats` of `server`, as its lines.
fn stats(server: &Server) -> Result<String> {
    let control = server.control_socket().context("an lbdns server")?;
    Ok(run_ok(
        Command::new(lbdns_bin()?)
            .arg("stats")
            .arg("--control")
            .arg(control),
        TIMEOUT,
    )?
    .stdout)
}

/// Sends `count` queries for `qname`/`qtype` over UDP (or TCP), each answered with `want`.
fn ask(
    topo: &Topology,
    server: SocketAddr,
    tcp: bool,
    (qname, qtype, want): (&str, u16, u8),
    count: u16,
) -> Result<()> {
    for id in 0..count {
        let query = Builder::query(0x4d00 + id, qname, qtype).build();
        // One try: a lost query would be counted once more than sent; the veth loses none.
        let reply = if tcp {
            tcp_query(&topo.client, server, &query, TIMEOUT)?
        } else {
            udp_query(&topo.client, server, &query, TIMEOUT, 1)?
        };
        ensure!(
            reply.rcode() == u16::from(want),
            "{qname}/{qtype} to {server}: rcode {}",
            reply.rcode()
        );
    }
    Ok(())
}

/// How far each `(metric, labels)` moved between two scrapes.
fn moved(before: &Page, after: &Page, series: &[(&str, &[&str])]) -> Vec<f64> {
    series
        .iter()
        .map(|(name, labels)| after.sum(name, labels) - before.sum(name, labels))
        .collect()
}

const REQUESTS: &str = "lbdns_dns_requests_total";
const RESPONSES: &str = "lbdns_dns_responses_total";
const LATENCY_COUNT: &str = "lbdns_dns_request_duration_seconds_count";
const CACHED: &str = "lbdns_dns_cached_responses_total";

/// Socket path only: N UDP queries over IPv4 and IPv6 and M over TCP move the request,
/// response and latency counters of their path, family, type and RCODE by exactly that many;
/// a query repeated from one socket moves the reply cache's counter.
#[test]
fn socket_path_counters_move_by_exactly_the_queries_sent() -> Result<()> {
    let topo = Topology::new()?;
    let metrics = topo.server_v4_addr(METRICS_PORT);
    let server = Server::lbdns_with(
        &topo,
        &[&example_zone()],
        &topo.server_addrs(53),
        &["--metrics", &metrics.to_string()],
    )?;
    let (v4, v6) = (topo.server_v4_addr(53), topo.server_v6_addr(53));
    let before = scrape(&topo, metrics)?;
    promtool_check(&before)?;
    assert_eq!(
        before.get("lbdns_build_info{version=\"0.1.0\"}"),
        1.0,
        "{}",
        before.text
    );
    assert_eq!(before.get("lbdns_xdp_enabled"), 0.0);
    assert_eq!(
        before.get("lbdns_zone_serial{zone=\"example.com.\"}"),
        2026112101.0
    );
    assert_eq!(
        before.get("lbdns_zone_last_load_success{zone=\"example.com.\"}"),
        1.0
    );

    let (n4, n6, nx, m) = (7, 5, 3, 4);
    ask(
        &topo,
        v4,
        false,
        ("www.example.com", rtype::A, rcode::NOERROR),
        n4,
    )?;
    ask(
        &topo,
        v6,
        false,
        ("www.example.com", rtype::AAAA, rcode::NOERROR),
        n6,
    )?;
    ask(
        &topo,
        v4,
        false,
        ("nope.example.com", rtype::TXT, rcode::NXDOMAIN),
        nx,
    )?;
    ask(
        &topo,
        v6,
        true,
        ("example.com", rtype::MX, rcode::NOERROR),
        m,
    )?;
    let after = scrape(&topo, metrics)?;
    promtool_check(&after)?;

    let udp = r#"path="udp""#;
    let tcp = r#"path="tcp""#;
    let series: &[(&str, &[&str])] = &[
        (REQUESTS, &[udp, r#"family="1""#, r#"type="A""#]),
        (REQUESTS, &[udp, r#"family="2""#, r#"type="AAAA""#]),
        (REQUESTS, &[udp, r#"family="1""#, r#"type="TXT""#]),
        (REQUESTS, &[udp]),
        (REQUESTS, &[tcp, r#"family="2""#, r#"type="MX""#]),
        (REQUESTS, &[tcp]),
        (RESPONSES, &[udp, r#"rcode="NOERROR""#]),
        (RESPONSES, &[udp, r#"rcode="NXDOMAIN""#]),
        (RESPONSES, &[tcp, r#"rcode="NOERROR""#]),
        (RESPONSES, &[tcp]),
        (LATENCY_COUNT, &[udp]),
        (LATENCY_COUNT, &[tcp]),
    ];
    let (n4, n6, nx, m) = (f64::from(n4), f64::from(n6), f64::from(nx), f64::from(m));
    assert_eq!(
        moved(&before, &after, series),
        [
            n4,
            n6,
            nx,
            n4 + n6 + nx,
            m,
            m,
            n4 + n6,
            nx,
            m,
            m,
            n4 + n6 + nx,
            m
        ],
        "{series:?}\n{}",
        after.text
    );

    let stats = stats(&server)?;
    assert!(
        stats.lines().any(|l| l == "xdp off (serve --xdp IFACE)"),
        "{stats}"
    );
    let udp_queries = stats
        .lines()
        .find_map(|l| l.strip_prefix("udp_queries "))
        .with_context(|| format!("no udp_queries line: {stats}"))?;
    assert_eq!(
        udp_queries.parse::<f64>()?,
        after.sum(REQUESTS, &[udp]),
        "lbdns stats and the page agree: {stats}"
    );

    // One query five times from one socket, so one worker reads them all: the first is only
    // noted, the second written out and remembered, the last three answered from the cache.
    let socket = udp_socket(&topo.client, v4)?;
    for id in 0..5u16 {
        socket.send(&Builder::query(id, "mail.example.com", rtype::A).build())?;
        let reply = udp_recv(&socket, TIMEOUT)?.context("no reply to mail.example.com A")?;
        ensure!(
            reply.get(..2) == Some(&id.to_be_bytes()[..]),
            "reply to another ID"
        );
    }
    let cached = scrape(&topo, metrics)?;
    promtool_check(&cached)?;
    assert_eq!(
        cached.get(CACHED) - after.get(CACHED),
        3.0,
        "{}",
        cached.text
    );
    Ok(())
}

/// With native XDP on the veth: K hot A queries and a few with a fixed reply are answered by
/// the program and counted on the xdp path (from its per-CPU counters) and nowhere else; a
/// query it passes is counted both as passed and on the socket path. The page reports the
/// maps' fill.
#[test]
fn xdp_answers_are_counted_from_the_programs_counters() -> Result<()> {
    let topo = Topology::new()?;
    let _peer = PeerProgram::attach(&topo.client)?;
    let metrics = topo.server_v4_addr(METRICS_PORT);
    let _server = Server::lbdns_with(
        &topo,
        &[&example_zone()],
        &topo.server_addrs(53),
        &[
            "--xdp",
            Topology::SERVER_IF,
            "--xdp-mode",
            "native",
            "--metrics",
            &metrics.to_string(),
        ],
    )?;
    let v4 = topo.server_v4_addr(53);
    let before = scrape(&topo, metrics)?;
    promtool_check(&before)?;
    assert_eq!(before.get("lbdns_xdp_enabled"), 1.0, "{}", before.text);
    let used = before.get(r#"lbdns_xdp_map_used{map="name_entries"}"#);
    let capacity = before.get(r#"lbdns_xdp_map_capacity{map="name_entries"}"#);
    assert!(
        used > 0.0 && used <= capacity,
        "name entries {used} of {capacity}"
    );
    let name_bytes = before.get(r#"lbdns_xdp_map_used{map="name_bytes"}"#);
    assert!(
        name_bytes >= used * 16.0,
        "each name takes at least 16 bytes: {}",
        before.text
    );

    let (k, fixed, passed) = (6, 3, 2);
    ask(
        &topo,
        v4,
        false,
        ("www.example.com", rtype::A, rcode::NOERROR),
        k,
    )?;
    // The apex's MX has a fixed reply; www has no MX, and its NODATA comes from the socket
    // path.
    ask(
        &topo,
        v4,
        false,
        ("example.com", rtype::MX, rcode::NOERROR),
        fixed,
    )?;
    ask(
        &topo,
        v4,
        false,
        ("www.example.com", rtype::MX, rcode::NOERROR),
        passed,
    )?;
    let after = scrape(&topo, metrics)?;
    promtool_check(&after)?;

    let xdp = r#"path="xdp""#;
    let udp = r#"path="udp""#;
    let series: &[(&str, &[&str])] = &[
        (REQUESTS, &[xdp, r#"type="A""#]),
        (REQUESTS, &[xdp, r#"type="fixed""#]),
        (REQUESTS, &[xdp]),
        (RESPONSES, &[xdp, r#"rcode="NOERROR""#]),
        ("lbdns_xdp_packets_total", &[r#"outcome="answered_a""#]),
        ("lbdns_xdp_packets_total", &[r#"outcome="answered_fixed""#]),
        ("lbdns_xdp_packets_total", &[r#"outcome="pass_type""#]),
        (REQUESTS, &[udp, r#"type="A""#]),
        (REQUESTS, &[udp, r#"type="MX""#]),
        (REQUESTS, &[udp]),
    ];
    let (k, fixed, passed) = (f64::from(k), f64::from(fixed), f64::from(passed));
    assert_eq!(
        moved(&before, &after, series),
        [
            k,
            fixed,
            k + fixed,
            k + fixed,
            k,
            fixed,
            passed,
            0.0,
            passed,
            passed
        ],
        "{series:?}\n{}",
        after.text
    );
    Ok(())
}

/// The error a daemon that cannot bind its metrics port stops with.
fn start_failure(topo: &Topology, extra: &[&str]) -> Result<String> {
    match Server::lbdns_with(topo, &[&example_zone()], &topo.server_addrs(53), extra) {
        Ok(_) => bail!("lbdns started although its metrics port is taken"),
        Err(error) => Ok(format!("{error:#}")),
    }
}

/// A metrics address in use is a start-up error that names it, from the flag and from the
/// `[metrics]` section of the configuration file alike.
#[test]
fn a_metrics_port_in_use_stops_start_up_and_names_the_address() -> Result<()> {
    let topo = Topology::new()?;
    let taken = topo.server_v4_addr(METRICS_PORT);
    let _holder = topo
        .server
        .enter(move || TcpListener::bind(taken))?
        .context("holding the metrics port")?;
    let expected = format!("cannot serve metrics on {taken}: Address already in use");

    let error = start_failure(&topo, &["--metrics", &taken.to_string()])?;
    ensure!(error.contains(&expected), "--metrics: {error}");

    let dir = TempDir::new("lbdns-metrics-config")?;
    let config = dir.write("lbdns.toml", &format!("[metrics]\nlisten = \"{taken}\"\n"))?;
    let error = start_failure(&topo, &["--config", &config.to_string_lossy()])?;
    ensure!(error.contains(&expected), "[metrics] listen: {error}");
    Ok(())
}

const RELOAD_ZONE: &str = "$ORIGIN metrics.test.\n$TTL 60\n@ SOA ns h SERIAL 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\nwww A 198.18.0.80\n";

/// Scrapes until `done` holds for the page (bounded: the reload takes milliseconds).
fn scrape_until(
    topo: &Topology,
    address: SocketAddr,
    what: &str,
    done: impl Fn(&Page) -> bool,
) -> Result<Page> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = scrape(topo, address)?;
        if done(&page) {
            return Ok(page);
        }
        if Instant::now() >= deadline {
            bail!("{what}: not within 10 s\n{}", page.text);
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The zone metrics follow reloads: a broken file leaves the served serial and load time and
/// sets the success gauge to 0; a good one brings the new serial and sets it back to 1.
#[test]
fn zone_metrics_follow_reloads_that_fail_and_succeed() -> Result<()> {
    let topo = Topology::new()?;
    let dir = TempDir::new("lbdns-metrics-reload")?;
    let zone = dir.write("db.metrics", &RELOAD_ZONE.replace("SERIAL", "1"))?;
    let metrics = topo.server_v4_addr(METRICS_PORT);
    let server = Server::lbdns_with(
        &topo,
        &[&zone],
        &topo.server_addrs(53),
        &["--metrics", &metrics.to_string()],
    )?;
    let serial = r#"lbdns_zone_serial{zone="metrics.test."}"#;
    let success = r#"lbdns_zone_last_load_success{zone="metrics.test."}"#;
    let loaded = r#"lbdns_zone_last_load_timestamp_seconds{zone="metrics.test."}"#;
    let records = r#"lbdns_zone_records{zone="metrics.test."}"#;
    let first = scrape(&topo, metrics)?;
    assert_eq!(
        (first.get(serial), first.get(success), first.get(records)),
        (1.0, 1.0, 4.0),
        "{}",
        first.text
    );

    dir.write("db.metrics", "$ORIGIN metrics.test.\n@ SOA broken\n")?;
    hangup(&server)?;
    let failed = scrape_until(&topo, metrics, "failed reload", |p| p.get(success) == 0.0)?;
    assert_eq!(failed.get(serial), 1.0, "the served serial stays");
    assert_eq!(
        failed.get(loaded),
        first.get(loaded),
        "the served data's age stays"
    );

    dir.write("db.metrics", &RELOAD_ZONE.replace("SERIAL", "2"))?;
    hangup(&server)?;
    let reloaded = scrape_until(&topo, metrics, "good reload", |p| p.get(serial) == 2.0)?;
    assert_eq!(reloaded.get(success), 1.0, "{}", reloaded.text);
    assert!(
        reloaded.get(loaded) >= first.get(loaded),
        "{}",
        reloaded.text
    );
    promtool_check(&reloaded)
}

fn hangup(server: &Server) -> Result<()> {
    let out = run_ok(
        Command::new("kill").args(["-HUP", &server.pid().to_string()]),
        TIMEOUT,
    )?;
    ensure!(out.status.success(), "kill -HUP: {}", out.combined());
    Ok(())
}

/// Pool endpoints: health follows the checks (a TCP listener closed turns its endpoint down,
/// one transition), the checks' durations are counted, and a drain shows.
#[test]
fn pool_endpoint_metrics_follow_checks_and_drains() -> Result<()> {
    let topo = Topology::new()?;
    let endpoints = ["198.18.60.1", "198.18.60.2"];
    let mut listeners = Vec::new();
    for address in endpoints {
        topo.server
            .ip(&["addr", "add", &format!("{address}/32"), "dev", "lo"])?;
        let backend: SocketAddr = format!("{address}:9000").parse()?;
        // A listener that never accepts still completes connections: the TCP check passes.
        listeners.push(topo.server.enter(move || TcpListener::bind(backend))??);
    }
    let dir = TempDir::new("lbdns-metrics-pools")?;
    let zone = dir.write(
        "db.lb",
        "$ORIGIN lb.example.\n$TTL 60\n@ SOA ns h 1 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\n",
    )?;
    let config = dir.write(
        "lbdns.toml",
        "[[pool]]\nname = \"www.lb.example.\"\n\
         [pool.check]\ntype = \"tcp\"\nport = 9000\ninterval = \"200ms\"\ntimeout = \"100ms\"\n\
         rise = 2\nfall = 3\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.2\"\n",
    )?;
    let metrics = topo.server_v4_addr(METRICS_PORT);
    let server = Server::lbdns_with(
        &topo,
        &[&zone],
        &topo.server_addrs(53),
        &[
            "--config",
            &config.to_string_lossy(),
            "--metrics",
            &metrics.to_string(),
        ],
    )?;
    let series = |metric: &str, address: &str| {
        format!("{metric}{{pool=\"www.lb.example.\",endpoint=\"{address}\"}}")
    };
    let up = |address| series("lbdns_pool_endpoint_up", address);
    let checks = |address| series("lbdns_health_check_duration_seconds_count", address);
    let transitions = |address| series("lbdns_health_transitions_total", address);
    let drained = |address| series("lbdns_pool_endpoint_drained", address);
    let [one, two] = endpoints;

    let checked = scrape_until(&topo, metrics, "checks counted", |p| {
        p.get(&checks(one)) >= 2.0 && p.get(&checks(two)) >= 2.0
    })?;
    assert_eq!(
        (checked.get(&up(one)), checked.get(&transitions(one))),
        (1.0, 0.0),
        "{}",
        checked.text
    );

    drop(listeners.remove(0));
    let down = scrape_until(&topo, metrics, "endpoint down", |p| p.get(&up(one)) == 0.0)?;
    assert_eq!(down.get(&transitions(one)), 1.0, "{}", down.text);
    assert!(
        down.get(&checks(one)) >= checked.get(&checks(one)) + 3.0,
        "fall = 3"
    );
    assert_eq!(
        (down.get(&up(two)), down.get(&transitions(two))),
        (1.0, 0.0),
        "{}",
        down.text
    );

    let control = server.control_socket().context("an lbdns server")?;
    run_ok(
        Command::new(lbdns_bin()?)
            .args(["drain", two, "--control"])
            .arg(control),
        TIMEOUT,
    )?;
    let page = scrape(&topo, metrics)?;
    assert_eq!(
        (page.get(&drained(one)), page.get(&drained(two))),
        (0.0, 1.0),
        "{}",
        page.text
    );
    promtool_check(&page)
}
