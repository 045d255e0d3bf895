//! Changes cost what they change: a health change or a drain publishes only the answer sets of
//! the pools it touches, and a reload only the names whose answers differ
//! (`authority::changed_names`), through `served::Xdp::publish_names`; the maps then answer
//! as the socket path does from the same catalog. The report's counts say what was written;
//! nothing else is.

use std::net::Ipv4Addr;

use hickory_proto::rr::{LowerName, Name, RecordType};
use lbdns::{
    authority::{
        changed_names, respond, Catalog, Client, Order, PoolAnswers, Pooled, Rdata, Rrset,
        Transport,
    },
    maps::PublishReport,
    served::Xdp,
    xdp::XdpConfig,
};
use lbdns_tests::{
    env::pin_to_cpu0,
    wire::{rtype, Builder},
};

use super::{
    fixture::catalog,
    frame::{check_reply_headers, udp_frame, Layout, Vlan},
    oracle::assert_same_reply,
};
use crate::{load, test_run, v4_endpoints, XDP_PASS, XDP_TX};

const POOL: &str = "pool.example.net.";

/// The pool's answer with the endpoints `hosts` up (198.18.7.host), NODATA with none.
fn pool_answers(hosts: &[u8]) -> PoolAnswers {
    let mut answers = PoolAnswers::default();
    if !hosts.is_empty() {
        let rdatas = hosts
            .iter()
            .map(|&host| Rdata::A(Ipv4Addr::new(198, 18, 7, host)))
            .collect();
        let rrset = Rrset::new(RecordType::A, 30, rdatas);
        let order = Order::default();
        answers.set(owner(), Pooled { rrset, order });
    }
    answers
}

fn owner() -> LowerName {
    LowerName::new(&Name::from_ascii(POOL).unwrap())
}

/// The fixture's zones with a pool at [`POOL`], published whole as at start-up.
fn started(hosts: &[u8]) -> (Catalog, Xdp) {
    let catalog = catalog().with_pool_owners([Name::from_ascii(POOL).unwrap()]);
    catalog.set_pools(pool_answers(hosts));
    let mut xdp = Xdp::new(load(&XdpConfig::default())).expect("map writer");
    let report = xdp.publish(&catalog).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        report.written > 10,
        "start-up writes every hot RRset: {report:?}"
    );
    (catalog, xdp)
}

/// Asks the program for `name`'s A records: the reply must be the socket path's, or the query
/// passed when `answered` is false.
fn ask(xdp: &Xdp, catalog: &Catalog, name: &str, answered: bool) {
    let dns = Builder::query(3, name, rtype::A).build();
    let frame = udp_frame(Vlan::None, v4_endpoints(53), &dns, 0);
    let (action, out) = test_run(xdp.fast_path(), &frame);
    if !answered {
        assert_eq!(action, XDP_PASS, "{name}: passed to the socket path");
        return;
    }
    assert_eq!(action, XDP_TX, "{name}: answered");
    let reply = check_reply_headers(name, &frame, &out, Layout::new(Vlan::None, false));
    let client = Client::new(v4_endpoints(53).client, Transport::Udp);
    let expected = respond(catalog, &dns, client).expect("the socket path answers");
    assert_same_reply(name, reply, &expected);
}

fn counts(report: PublishReport) -> (usize, usize, usize) {
    (report.written, report.removed, report.unchanged)
}

/// A pool endpoint goes down, then every one: one answer set is rewritten, then removed (the
/// pool fails closed, NODATA, which the socket path answers); no zone RRset is compiled or
/// compared.
#[test]
fn a_health_change_writes_only_its_pools_answer_set() {
    pin_to_cpu0().expect("pin to CPU 0");
    let (catalog, mut xdp) = started(&[1, 2, 3]);
    ask(&xdp, &catalog, POOL, true);

    catalog.set_pools(pool_answers(&[1, 3]));
    let report = xdp.publish_names(&catalog, [&owner()]).expect("publish");
    assert_eq!(counts(report), (1, 0, 0), "one set written: {report:?}");
    ask(&xdp, &catalog, POOL, true);
    ask(&xdp, &catalog, "www.example.com", true);

    // The same answers again (a drain of an endpoint already down) write nothing.
    let report = xdp.publish_names(&catalog, [&owner()]).expect("publish");
    assert_eq!(counts(report), (0, 0, 1), "{report:?}");

    catalog.set_pools(pool_answers(&[]));
    let report = xdp.publish_names(&catalog, [&owner()]).expect("publish");
    assert_eq!(counts(report), (0, 1, 0), "the set removed: {report:?}");
    ask(&xdp, &catalog, POOL, false);

    catalog.set_pools(pool_answers(&[2]));
    let report = xdp.publish_names(&catalog, [&owner()]).expect("publish");
    assert_eq!(counts(report), (1, 0, 0), "added back: {report:?}");
    ask(&xdp, &catalog, POOL, true);
    ask(&xdp, &catalog, "www.example.com", true);
}

/// A zone of `hosts` names (hN, 198.18.8.N), with `edit` applied to its text.
fn zone(hosts: u8, edit: impl FnOnce(String) -> String) -> Catalog {
    let mut text = String::from("$ORIGIN reload.test.\n$TTL 300\n@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\nns1 A 198.18.8.250\n");
    for host in 0..hosts {
        text.push_str(&format!("h{host} A 198.18.8.{host}\n"));
    }
    let text = edit(text);
    let zone = lbdns::zone::Zone::parse(&text, std::path::Path::new("reload.test"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    Catalog::new(&[zone]).expect("one zone")
}

/// A reload of a zone with one name changed, one added and one removed: only those are
/// compiled, compared and written, and both paths answer alike for them and for the rest.
#[test]
fn a_reload_writes_only_the_names_that_changed() {
    pin_to_cpu0().expect("pin to CPU 0");
    let old = zone(200, |text| text);
    let mut xdp = Xdp::new(load(&XdpConfig::default())).expect("map writer");
    let report = xdp.publish(&old).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(counts(report), (201, 0, 0));

    let edit = |text: String| {
        text.replace("h7 A 198.18.8.7\n", "h7 A 198.18.9.7\n")
            .replace("h9 A 198.18.8.9\n", "")
            + "added A 198.18.9.1\n"
    };
    let new = zone(200, edit);
    let names = changed_names(&old, &new).expect("confined to names");
    assert_eq!(names.len(), 3, "{names:?}");
    let report = xdp.publish_names(&new, &names).expect("publish");
    assert_eq!(counts(report), (2, 1, 0), "{report:?}");
    ask(&xdp, &new, "h7.reload.test", true);
    ask(&xdp, &new, "added.reload.test", true);
    // Gone from the zone: the program's NXDOMAIN is the socket path's.
    ask(&xdp, &new, "h9.reload.test", true);
    ask(&xdp, &new, "h8.reload.test", true);

    // The same file again: no name to compile, nothing written.
    let again = zone(200, edit);
    let names = changed_names(&new, &again).expect("confined to names");
    assert_eq!(names, []);
    let report = xdp.publish_names(&again, &names).expect("publish");
    assert_eq!(counts(report), (0, 0, 0), "{report:?}");
    ask(&xdp, &again, "h7.reload.test", true);
}
