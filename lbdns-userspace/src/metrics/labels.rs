//! The bounded label values of the query and response counters, and how a query's type and a
//! reply's RCODE are read from their octets.
//!
//! Labels must come from a small fixed set: a label value per QTYPE number would let any client
//! create 65,536 series. The common types are named (as CoreDNS and Knot name them); the rest
//! count as `other`. Reading the octets here, rather than asking `authority`, keeps the socket
//! path's accounting out of the DNS semantics.

use std::net::SocketAddr;

/// The QTYPEs counted by name, with their label value.
pub const QTYPES: [(u16, &str); 18] = [
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (15, "MX"),
    (16, "TXT"),
    (28, "AAAA"),
    (33, "SRV"),
    (35, "NAPTR"),
    (43, "DS"),
    (48, "DNSKEY"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (251, "IXFR"),
    (252, "AXFR"),
    (255, "ANY"),
    (257, "CAA"),
];

/// Label values of the `type` label: the named QTYPEs, then `other`.
pub const QTYPE_LABELS: usize = QTYPES.len() + 1;

/// The label value of the QTYPE at `index` (an index from [`qtype_index`]).
pub fn qtype_label(index: usize) -> &'static str {
    QTYPES.get(index).map_or("other", |&(_, name)| name)
}

/// Where `qtype` is counted: its place in [`QTYPES`], or the last place (`other`).
pub fn qtype_index(qtype: u16) -> usize {
    QTYPES
        .iter()
        .position(|&(number, _)| number == qtype)
        .unwrap_or(QTYPES.len())
}

/// The RCODEs counted by name, indexed by their value (0–10), then BADVERS (16, which only an
/// OPT record can carry), then `other`.
const RCODES: [&str; 12] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE", "BADVERS",
];

/// RCODE 16, BADVERS (RFC 6891 §6.1.3).
const BADVERS: u16 = 16;

/// Label values of the `rcode` label: the named RCODEs, then `other`.
pub const RCODE_LABELS: usize = RCODES.len() + 1;

/// The label value of the RCODE at `index` (an index from [`rcode_index`]).
pub fn rcode_label(index: usize) -> &'static str {
    RCODES.get(index).copied().unwrap_or("other")
}

/// Where `rcode` (the full 12-bit value) is counted.
pub fn rcode_index(rcode: u16) -> usize {
    match rcode {
        0..=10 => usize::from(rcode),
        BADVERS => 11,
        _ => RCODES.len(),
    }
}

/// Label values of the `family` label: IPv4 and IPv6, written as CoreDNS writes them (the
/// address family numbers 1 and 2).
pub const FAMILY_LABELS: [&str; 2] = ["1", "2"];

/// The family index of a peer address: 0 for IPv4, 1 for IPv6.
pub fn family_index(peer: &SocketAddr) -> usize {
    usize::from(peer.is_ipv6())
}

const HEADER: usize = 12;

/// The QTYPE of the first question of `message`, if it has a whole one.
pub fn question_type(message: &[u8]) -> Option<u16> {
    let qdcount = u16::from_be_bytes([*message.get(4)?, *message.get(5)?]);
    if qdcount == 0 {
        return None;
    }
    let end = name_end(message, HEADER)?;
    Some(u16::from_be_bytes([
        *message.get(end)?,
        *message.get(end + 1)?,
    ]))
}

/// The full RCODE of a reply lbdns built: the header's four bits, and the OPT record's upper
/// eight when the reply holds only its question and the OPT record, as every reply with an
/// extended RCODE does (BADVERS carries no other record). Reading the OPT record of any other
/// reply would mean walking all its records for an upper part that is always zero.
pub fn reply_rcode(reply: &[u8]) -> u16 {
    let Some(&flags) = reply.get(3) else {
        return 0;
    };
    let low = u16::from(flags & 0x0f);
    let count = |at: usize| {
        reply
            .get(at..at + 2)
            .map(|octets| u16::from_be_bytes([octets[0], octets[1]]))
    };
    if (count(4), count(6), count(8), count(10)) != (Some(1), Some(0), Some(0), Some(1)) {
        return low;
    }
    // The question's name, QTYPE and QCLASS, then the OPT record: root name, TYPE 41, CLASS,
    // then TTL whose first octet is the RCODE's upper eight bits.
    let Some(opt) = name_end(reply, HEADER).map(|end| end + 4) else {
        return low;
    };
    match reply.get(opt..opt + 6) {
        Some([0, 0, 41, _, _, upper]) => (u16::from(*upper) << 4) | low,
        _ => low,
    }
}

/// The offset just past the uncompressed name starting at `at`, if it is whole. A question's
/// name is never compressed (nothing precedes it to point at).
fn name_end(message: &[u8], mut at: usize) -> Option<usize> {
    // At most 128 labels fit the 255 octets of a name; the bound keeps the loop finite anyway.
    for _ in 0..=128 {
        let length = usize::from(*message.get(at)?);
        if length == 0 {
            return Some(at + 1);
        }
        if length > 63 {
            return None;
        }
        at += 1 + length;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message with `question` as its one question (name www.example.com.) and the given
    /// counts after QDCOUNT.
    fn message(flags: u8, counts: [u16; 3], question_type: u16, tail: &[u8]) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x84, flags, 0, 1];
        for count in counts {
            m.extend_from_slice(&count.to_be_bytes());
        }
        m.extend_from_slice(b"\x03www\x07example\x03com\x00");
        m.extend_from_slice(&question_type.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(tail);
        m
    }

    #[test]
    fn qtypes_are_named_or_other() {
        assert_eq!(qtype_label(qtype_index(1)), "A");
        assert_eq!(qtype_label(qtype_index(28)), "AAAA");
        assert_eq!(qtype_label(qtype_index(257)), "CAA");
        assert_eq!(qtype_label(qtype_index(99)), "other");
        assert_eq!(qtype_index(65535), QTYPE_LABELS - 1);
        let mut names: Vec<_> = (0..QTYPE_LABELS).map(qtype_label).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), QTYPE_LABELS, "every label value is distinct");
    }

    #[test]
    fn the_question_type_is_read_past_the_name() {
        assert_eq!(question_type(&message(0, [0, 0, 0], 28, &[])), Some(28));
        let mut no_question = message(0, [0, 0, 0], 28, &[]);
        no_question[5] = 0;
        assert_eq!(question_type(&no_question), None);
        let whole = message(0, [0, 0, 0], 28, &[]);
        for cut in 0..whole.len() - 2 {
            assert_eq!(question_type(&whole[..cut]), None, "cut at {cut}");
        }
        let mut bad_label = whole.clone();
        bad_label[12] = 0xc0;
        assert_eq!(
            question_type(&bad_label),
            None,
            "a pointer is no question name"
        );
    }

    /// RFC 1035 §4.1.1 (the header's RCODE) and RFC 6891 §6.1.3 (its upper eight bits in OPT).
    #[test]
    fn rfc6891_6_1_3_rcode_includes_the_opt_extension() {
        assert_eq!(reply_rcode(&message(0x03, [0, 1, 0], 1, &[])), 3);
        assert_eq!(rcode_label(rcode_index(3)), "NXDOMAIN");
        assert_eq!(reply_rcode(&message(0x05, [0, 0, 0], 1, &[])), 5);
        // BADVERS: header RCODE 0, OPT extended RCODE 1, version 0, no options.
        let opt = [0, 0, 41, 0x04, 0xd0, 1, 0, 0, 0, 0, 0];
        let badvers = message(0x00, [0, 0, 1], 1, &opt);
        assert_eq!(reply_rcode(&badvers), BADVERS);
        assert_eq!(rcode_label(rcode_index(reply_rcode(&badvers))), "BADVERS");
        // An OPT with extended RCODE 0 leaves the header's value.
        let plain = [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0];
        assert_eq!(reply_rcode(&message(0x01, [0, 0, 1], 1, &plain)), 1);
        assert_eq!(reply_rcode(&[0x12]), 0, "too short to have a header");
        assert_eq!(rcode_label(rcode_index(23)), "other");
        assert_eq!(rcode_index(4095), RCODE_LABELS - 1);
    }
}
