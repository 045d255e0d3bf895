//! The socket path's query parser and reply writer: `authority::respond` on any octets, from
//! the TestRun fixture's catalog (plain, signed and secure zones, long names, an NSID) with a
//! cookie secret and client locations, so every EDNS option (NSID, COOKIE, CLIENT_SUBNET,
//! unknown ones), DO, CHAOS and truncation path is reachable.
//!
//! Input: one selector octet (bit 0: TCP rather than UDP; bit 1: an IPv6 client), then the
//! query. Invariants: no panic; a query with QR set gets no reply; a reply parses as DNS,
//! carries the query's ID with QR set, and over UDP fits the limit (512 octets without an OPT
//! record in the reply, else what the query advertised, between 512 and 1232).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, MessageType};
use lbdns::authority::{respond, Client, Transport};

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

/// Answers the query in `data` (after its selector octet) and checks the reply.
pub fn check(data: &[u8]) {
    let Some((&selector, query)) = data.split_first() else {
        return;
    };
    let client = client(selector);
    let reply = crate::with_answering_catalog(|catalog| respond(catalog, query, client));
    check_reply(query, reply.as_deref(), client.transport);
}

/// The invariants every reply (or its absence) to `query` keeps.
pub fn check_reply(query: &[u8], reply: Option<&[u8]>, transport: Transport) {
    let is_response = query.get(2).is_some_and(|flags| flags & 0x80 != 0);
    let Some(reply) = reply else {
        return;
    };
    assert!(!is_response, "a response was answered: {reply:02x?}");
    let message = Message::from_vec(reply)
        .unwrap_or_else(|error| panic!("the reply does not parse ({error}): {reply:02x?}"));
    assert_eq!(reply[..2], query[..2], "the reply's ID is the query's");
    assert_eq!(
        message.metadata.message_type,
        MessageType::Response,
        "QR set"
    );
    let limit = match (transport, &message.edns) {
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

/// The UDP payload size `query` advertises, as an independent decoder reads it; the most lbdns
/// sends when that decoder cannot read the query.
fn advertised(query: &[u8]) -> usize {
    Message::from_vec(query)
        .ok()
        .and_then(|message| message.edns)
        .map_or(MAX_UDP, |edns| usize::from(edns.max_payload()))
}
