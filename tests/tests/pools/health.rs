//! Health checks against real backends: an HTTP endpoint that answers 503, then the wrong
//! body, and a TCP endpoint whose listener is closed, leave the answers within
//! `interval * fall + 1 s` and come back within `interval * rise + 1 s` of recovering.

use anyhow::Result;
use lbdns_tests::wire::rtype::A;

use crate::backend::{HttpBackend, Reply, TcpBackend};
use crate::{addrs, at, down_within, up_within, Mode, Net, CHECK_TIMING, POOL_TTL};

on_both_paths!(http_status_and_body, tcp_stop_and_restart);

const WWW: &str = "www.lb.example";

/// 200 → 503 → 200 → 200 with the wrong body → 200, on one of two endpoints.
fn http_status_and_body(mode: Mode) -> Result<()> {
    let net = Net::new(mode)?;
    let ok = Reply::new(200, "status: healthy\n");
    let one = HttpBackend::start(net.server_ns(), at("198.18.60.1", 8080), ok.clone())?;
    let _two = HttpBackend::start(net.server_ns(), at("198.18.60.2", 8080), ok.clone())?;
    let lb = net.serve(&format!(
        "[[pool]]\nname = \"www.lb.example.\"\nttl = {POOL_TTL}\n\
         [pool.check]\ntype = \"http\"\nport = 8080\npath = \"/health\"\nbody = \"healthy\"\n\
         {CHECK_TIMING}\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.2\"\n"
    ))?;
    let both = addrs(&["198.18.60.1", "198.18.60.2"]);
    let second = addrs(&["198.18.60.2"]);
    lb.expect(WWW, A, &both)?;

    one.set(Reply::new(503, "status: healthy\n"));
    let event = "198.18.60.1:8080 started answering 503";
    lb.wait_change(WWW, A, (&both, &second), down_within(), event)?;

    one.set(ok.clone());
    let event = "198.18.60.1:8080 answered 200 again";
    lb.wait_change(WWW, A, (&second, &both), up_within(), event)?;

    one.set(Reply::new(200, "status: degraded\n"));
    let event = "198.18.60.1:8080 started answering 200 without \"healthy\" in the body";
    lb.wait_change(WWW, A, (&both, &second), down_within(), event)?;

    one.set(ok);
    let event = "198.18.60.1:8080 answered the right body again";
    lb.wait_change(WWW, A, (&second, &both), up_within(), event)?;
    lb.expect(WWW, A, &both)
}

/// A TCP endpoint whose listener closes, then opens again.
fn tcp_stop_and_restart(mode: Mode) -> Result<()> {
    let net = Net::new(mode)?;
    let mut one = TcpBackend::start_in(net.server_ns(), at("198.18.60.1", 9000))?;
    let _two = TcpBackend::start_in(net.server_ns(), at("198.18.60.2", 9000))?;
    let lb = net.serve(&format!(
        "[[pool]]\nname = \"www.lb.example.\"\nttl = {POOL_TTL}\n\
         [pool.check]\ntype = \"tcp\"\nport = 9000\n{CHECK_TIMING}\n\
         [[pool.endpoint]]\naddress = \"198.18.60.1\"\n\
         [[pool.endpoint]]\naddress = \"198.18.60.2\"\n"
    ))?;
    let both = addrs(&["198.18.60.1", "198.18.60.2"]);
    let second = addrs(&["198.18.60.2"]);
    lb.expect(WWW, A, &both)?;

    one.stop();
    let event = "198.18.60.1:9000 stopped listening";
    lb.wait_change(WWW, A, (&both, &second), down_within(), event)?;

    one.start(net.server_ns())?;
    let event = "198.18.60.1:9000 listened again";
    lb.wait_change(WWW, A, (&second, &both), up_within(), event)?;
    lb.expect(WWW, A, &both)
}
