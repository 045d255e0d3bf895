//! The socket path's query parser and reply writer: `authority::respond` on any octets, from
//! the TestRun fixture's catalog (plain, signed and secure zones, long names, an NSID) with a
//! cookie secret and client locations, so every EDNS option (NSID, COOKIE, CLIENT_SUBNET,
//! unknown ones), DO, CHAOS and truncation path is reachable.
//!
//! Input: one selector octet (bit 0: TCP rather than UDP; bit 1: an IPv6 client), then the
//! query. Invariants: no panic; a query with QR set gets no reply; a reply parses as DNS (its
//! records framed exactly, its EDNS options framed, the rest decoded by hickory-proto),
//! carries the query's ID with QR set, and over UDP fits the limit (512 octets without an OPT
//! record in the reply, else what the query advertised, between 512 and 1232). Over UDP the
//! same holds for the replies a UDP worker's reply cache gives the query sent again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::{Message, MessageType};
use lbdns::authority::{answer_cycle, respond, Catalog, Client, Replies, ReplyCache, Transport};
use lbdns_tests::wire::{self, rtype};

/// The most lbdns sends over UDP, whatever a query advertises.
const MAX_UDP: usize = 1232;
/// RFC 1035 §4.2.1: the limit without EDNS, and the floor of an advertised size.
const PLAIN_UDP: usize = 512;

/// Who asks, as the selector octet says.
pub fn client(selector: u8) -> Client {
    let transport = if selector & 1 == 0 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let addr = if selector & 2 == 0 {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))
    } else {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 7))
    };
    Client::new(addr, transport)
}

/// Answers the query in `data` (after its selector octet) and checks the reply; over UDP,
/// also the replies a worker's reply cache gives the query sent three times, the third from
/// what it remembered.
pub fn check(data: &[u8]) {
    let Some((&selector, query)) = data.split_first() else {
        return;
    };
    let client = client(selector);
    crate::with_answering_catalog(|catalog| {
        let reply = respond(catalog, query, client);
        check_reply(query, reply.as_deref(), client.transport);
        if client.transport == Transport::Udp {
            check_cached(catalog, query, client, reply.as_deref());
        }
    });
}

/// The query sent three times through a fresh reply cache, each with its own ID: every reply
/// keeps the invariants and carries its query's ID, and all are as long as `reply` (a rotation
/// reorders records, never resizes the message), or all absent with it. Where the query's
/// octets decide its replies (`answer_cycle` gives their cycle), each is one of them.
fn check_cached(catalog: &Arc<Catalog>, query: &[u8], client: Client, reply: Option<&[u8]>) {
    let mut cache = ReplyCache::new(catalog);
    for id in [0x1111u16, 0x2222, 0x3333] {
        let mut asked = query.to_vec();
        if let Some(octets) = asked.get_mut(..2) {
            octets.copy_from_slice(&id.to_be_bytes());
        }
        cache.follow(catalog, Instant::now());
        let cached = cache.answer(&asked, client).map(|answered| answered.reply);
        check_reply(&asked, cached.as_deref(), client.transport);
        assert_eq!(
            cached.as_ref().map(Vec::len),
            reply.map(<[u8]>::len),
            "the reply cache's reply to query {id:#x} differs in length: {cached:02x?}"
        );
        let pools = catalog.pools();
        let cycle = answer_cycle(catalog, &pools, &asked, client);
        if let (Some(cached), Some(Replies::Cycle { replies, .. })) = (&cached, cycle) {
            assert!(
                replies.contains(cached),
                "the reply cache's reply to query {id:#x} is none of the {} its octets get: \
                 {cached:02x?}",
                replies.len()
            );
        }
    }
}

/// The invariants every reply (or its absence) to `query` keeps.
pub fn check_reply(query: &[u8], reply: Option<&[u8]>, transport: Transport) {
    let is_response = query.get(2).is_some_and(|flags| flags & 0x80 != 0);
    let Some(reply) = reply else {
        return;
    };
    assert!(!is_response, "a response was answered: {reply:02x?}");
    let framed = wire::Message::parse(reply)
        .unwrap_or_else(|error| panic!("the reply does not parse ({error}): {reply:02x?}"));
    let message = Message::from_vec(&without_option_contents(&framed, reply))
        .unwrap_or_else(|error| panic!("the reply does not decode ({error}): {reply:02x?}"));
    assert_eq!(reply[..2], query[..2], "the reply's ID is the query's");
    assert_eq!(
        message.metadata.message_type,
        MessageType::Response,
        "QR set"
    );
    let limit = match (transport, &framed.edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, None) => PLAIN_UDP,
        (Transport::Udp, Some(_)) => advertised(query).clamp(PLAIN_UDP, MAX_UDP),
    };
    assert!(
        reply.len() <= limit,
        "{} octets over {transport:?}, limit {limit}: {reply:02x?}",
        reply.len()
    );
}

/// `reply` with its OPT record's options checked for framing (code, length, data within the
/// record) and then removed, when the OPT record is the last one: hickory-proto decodes the
/// rest strictly, while option contents it reads more narrowly than the RFCs (an ECS option of
/// FAMILY 0) are the options' own modules' business.
fn without_option_contents(framed: &wire::Message, reply: &[u8]) -> Vec<u8> {
    let Some(opt) = framed.additional.iter().find(|rr| rr.rtype == rtype::OPT) else {
        return reply.to_vec();
    };
    let mut at = 0;
    while at < opt.rdata.len() {
        let len = opt
            .rdata
            .get(at + 2..at + 4)
            .map(|octets| usize::from(u16::from_be_bytes([octets[0], octets[1]])));
        match len {
            Some(len) if at + 4 + len <= opt.rdata.len() => at += 4 + len,
            _ => panic!("the reply's EDNS options overrun the OPT record: {reply:02x?}"),
        }
    }
    if opt.rdata_offset + opt.rdata.len() != reply.len() {
        return reply.to_vec();
    }
    let mut stripped = reply[..opt.rdata_offset].to_vec();
    let rdlen_at = stripped.len() - 2;
    stripped[rdlen_at..].copy_from_slice(&[0, 0]);
    stripped
}

/// The UDP payload size `query` advertises, as an independent decoder reads it; the most lbdns
/// sends when that decoder cannot read the query.
fn advertised(query: &[u8]) -> usize {
    Message::from_vec(query)
        .ok()
        .and_then(|message| message.edns)
        .map_or(MAX_UDP, |edns| usize::from(edns.max_payload()))
}
