//! What a reply must be. The tests compare every XDP_TX reply's DNS message with
//! [`Oracle::expected_reply`] through [`assert_same_reply`].

use std::net::IpAddr;

use lbdns::authority::{respond, Catalog, Client, Transport};

/// Produces the DNS reply the fast path must send for a query it answers.
pub trait Oracle {
    /// The reply to `query` (a DNS message) from `client`, as bytes. Called once per answered
    /// query, in order, so an oracle that rotates RRsets advances its rotation here.
    fn expected_reply(&mut self, client: IpAddr, query: &[u8]) -> Vec<u8>;
}

/// The socket path: `authority::respond` over UDP, from the catalog the maps were compiled
/// from.
#[derive(Debug)]
pub struct SocketOracle {
    catalog: Catalog,
}

impl SocketOracle {
    pub fn new(catalog: Catalog) -> Self {
        Self { catalog }
    }
}

impl Oracle for SocketOracle {
    fn expected_reply(&mut self, client: IpAddr, query: &[u8]) -> Vec<u8> {
        respond(&self.catalog, query, Client::new(client, Transport::Udp))
            .expect("the socket path answers every query the fast path answers")
    }
}

/// A reply cut where rotation may differ: the octets before the answer section, each answer
/// record, and the octets after.
struct Parts<'a> {
    head: &'a [u8],
    answers: Vec<&'a [u8]>,
    tail: &'a [u8],
}

impl<'a> Parts<'a> {
    /// Splits `message`, which has one question (its header says so, as it matches the fast
    /// path's); the answer records' owners may be compressed.
    fn new(message: &'a [u8]) -> Self {
        let ancount = u16::from_be_bytes([message[6], message[7]]);
        let mut at = skip_name(message, 12) + 4;
        let head = &message[..at];
        let mut answers = Vec::new();
        for _ in 0..ancount {
            let start = at;
            at = skip_name(message, at);
            let rdlen = usize::from(u16::from_be_bytes([message[at + 8], message[at + 9]]));
            at += 10 + rdlen;
            answers.push(&message[start..at]);
        }
        Self {
            head,
            answers,
            tail: &message[at..],
        }
    }
}

/// The offset after the (possibly compressed) name at `at`.
fn skip_name(message: &[u8], mut at: usize) -> usize {
    loop {
        match message[at] {
            0 => return at + 1,
            len if len & 0xc0 == 0xc0 => return at + 2,
            len => at += 1 + usize::from(len),
        }
    }
}

/// The record's type: the two octets after its owner (a pointer, or a name).
fn record_type(record: &[u8]) -> [u8; 2] {
    let at = skip_name(record, 0);
    [record[at], record[at + 1]]
}

/// Asserts that `xdp` is `expected` apart from where the rotation of the answer RRset starts:
/// header, question, the answer RRset's records in order from some starting record, the
/// records after them (its RRSIGs, for a DO=1 query to a signed RRset) in the same order, and
/// everything after them, octet for octet.
pub fn assert_same_reply(what: &str, xdp: &[u8], expected: &[u8]) {
    assert_eq!(
        xdp[..12],
        expected[..12],
        "{what}: header (the socket path's reply: {expected:02x?})"
    );
    let (got, want) = (Parts::new(xdp), Parts::new(expected));
    assert_eq!(got.head, want.head, "{what}: header and question");
    // The rotated RRset: the leading records of the first record's type.
    let rotated = |answers: &[&[u8]]| {
        answers
            .iter()
            .take_while(|record| record_type(record) == record_type(answers[0]))
            .count()
    };
    let n = if want.answers.is_empty() {
        0
    } else {
        rotated(&want.answers)
    };
    assert!(
        got.answers.len() == want.answers.len()
            && (0..n.max(1))
                .any(|k| (0..n).all(|i| got.answers[i] == want.answers[(i + k) % n]))
            && got.answers[n..] == want.answers[n..],
        "{what}: answers are not a rotation of the socket path's:\n  xdp:    {:02x?}\n  socket: {:02x?}",
        got.answers,
        want.answers
    );
    assert_eq!(
        got.tail, want.tail,
        "{what}: authority and additional sections"
    );
}
