//! What a reply must be. The tests compare every XDP_TX reply's DNS message with
//! [`Oracle::expected_reply`], so the fast path can be checked against any implementation that
//! answers the same queries: the fixture model here, or the socket path's authority.

use std::collections::HashMap;

use lbdns::compile::{AddrType, HotRrset};

/// Produces the DNS reply the fast path must send for a query it answers.
pub trait Oracle {
    /// The reply to `query` (a DNS message), as bytes. Called once per answered query, in
    /// order, so an oracle that rotates RRsets advances its rotation here.
    fn expected_reply(&mut self, query: &[u8]) -> Vec<u8>;
}

/// The reply lbdns gives for a hot RRset, from the fixture alone: header with QR, AA and RD
/// copied, the question echoed, one record per address starting at the RRset's rotation point
/// (advancing by one per reply), and an OPT record (1232, DO copied) if the query had one.
pub struct FixtureOracle {
    rrsets: HashMap<(Vec<u8>, u16), HotRrset>,
    rotation: HashMap<(Vec<u8>, u16), usize>,
}

impl FixtureOracle {
    pub fn new(rrsets: &[HotRrset]) -> Self {
        Self {
            rrsets: rrsets
                .iter()
                .map(|r| ((r.name.clone(), r.qtype.rr_type()), r.clone()))
                .collect(),
            rotation: HashMap::new(),
        }
    }
}

impl Oracle for FixtureOracle {
    fn expected_reply(&mut self, query: &[u8]) -> Vec<u8> {
        // The fast path answers uncompressed names only: walk the labels to the root label.
        let mut at = 12;
        while query[at] != 0 {
            at += 1 + usize::from(query[at]);
        }
        let name_end = at + 1;
        let question_end = name_end + 4;
        let qtype = u16::from_be_bytes([query[name_end], query[name_end + 1]]);
        let key = (query[12..name_end].to_ascii_lowercase(), qtype);
        let rrset = &self.rrsets[&key];
        let start = self.rotation.entry(key).or_default();
        let first = *start % rrset.addrs.len();
        *start += 1;
        let edns_do = (u16::from_be_bytes([query[10], query[11]]) == 1)
            .then(|| query[question_end + 7] & 0x80 != 0);

        let mut reply = Vec::new();
        reply.extend_from_slice(&query[0..2]);
        let flags = 0x8400 | (u16::from_be_bytes([query[2], query[3]]) & 0x0100);
        reply.extend_from_slice(&flags.to_be_bytes());
        let n = rrset.addrs.len() as u16;
        for count in [1, n, 0, u16::from(edns_do.is_some())] {
            reply.extend_from_slice(&count.to_be_bytes());
        }
        reply.extend_from_slice(&query[12..question_end]);
        for i in 0..rrset.addrs.len() {
            let addr = rrset.addrs[(first + i) % rrset.addrs.len()];
            reply.extend_from_slice(&[0xc0, 0x0c]);
            reply.extend_from_slice(&qtype.to_be_bytes());
            reply.extend_from_slice(&[0, 1]);
            reply.extend_from_slice(&rrset.ttl.to_be_bytes());
            let octets = match (addr, rrset.qtype) {
                (std::net::IpAddr::V4(v4), AddrType::A) => v4.octets().to_vec(),
                (std::net::IpAddr::V6(v6), AddrType::Aaaa) => v6.octets().to_vec(),
                other => panic!("fixture mixes families: {other:?}"),
            };
            reply.extend_from_slice(&(octets.len() as u16).to_be_bytes());
            reply.extend_from_slice(&octets);
        }
        if let Some(dnssec_ok) = edns_do {
            reply.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0]);
            reply.extend_from_slice(&[if dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
        }
        reply
    }
}
