//! What a reply is, for its rate-limit bucket (`lbdns_common::rrl::Response`), read from the
//! reply's octets as the socket path sent it; and the truncated reply a limited response slips
//! as, the same octets the XDP program writes (`lbdns-ebpf/src/respond/slip.rs`).

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::BinEncodable;
use lbdns_common::rrl::{digest_of, Response};

use crate::authority::Catalog;

const HEADER_LEN: usize = 12;
const FLAG_QR: u8 = 0x80;
const FLAG_AA: u8 = 0x04;
const FLAG_TC: u8 = 0x02;
/// RD and CD, which a reply copies.
const COPIED_HIGH: u8 = 0x01;
const COPIED_LOW: u8 = 0x10;
const NOERROR: u8 = 0;
const NXDOMAIN: u8 = 3;

/// Whether `reply` answers a QUERY (opcode 0); NOTIFY and the rest are not limited.
pub fn is_query_reply(reply: &[u8]) -> bool {
    reply.len() >= HEADER_LEN && reply[2] & 0x78 == 0
}

/// The class of `reply`: a positive answer keyed by its question's name and type, NXDOMAIN
/// and NODATA by the zone's apex, a referral (NOERROR, no answer, not authoritative), or an
/// error (any other RCODE, or a reply without a readable question).
pub fn response(catalog: &Catalog, reply: &[u8]) -> Response {
    let Some((name, qtype)) = question(reply) else {
        return Response::Error;
    };
    let rcode = reply[3] & 0x0f;
    let answers = u16::from_be_bytes([reply[6], reply[7]]);
    let authoritative = reply[2] & FLAG_AA != 0;
    match rcode {
        NOERROR if answers > 0 => Response::Positive(digest_of(&name, qtype)),
        NOERROR if !authoritative => Response::Referral,
        NOERROR | NXDOMAIN => Response::Negative(zone_digest(catalog, &name)),
        _ => Response::Error,
    }
}

/// The digest of the apex of the zone holding `name` (wire format, lowercase), or of the
/// root when no zone does.
fn zone_digest(catalog: &Catalog, name: &[u8]) -> u64 {
    let apex = Name::from_labels(labels(name)).ok().and_then(|name| {
        catalog
            .zone_for(&name)
            .map(|zone| Name::from(zone.apex.clone()))
    });
    match apex {
        Some(apex) => digest_of(&apex.to_bytes().unwrap_or_default(), 0),
        None => digest_of(&[0], 0),
    }
}

/// The labels of a wire-format name.
fn labels(name: &[u8]) -> Vec<&[u8]> {
    let mut labels = Vec::new();
    let mut at = 0;
    while let Some(&len) = name.get(at) {
        if len == 0 {
            break;
        }
        labels.push(&name[at + 1..at + 1 + usize::from(len)]);
        at += 1 + usize::from(len);
    }
    labels
}

/// The question's name (lowercase wire format, checked) and type, and where the question ends.
fn question_at(message: &[u8]) -> Option<(Vec<u8>, u16, usize)> {
    if message.len() < HEADER_LEN || u16::from_be_bytes([message[4], message[5]]) == 0 {
        return None;
    }
    let mut at = HEADER_LEN;
    loop {
        let len = usize::from(*message.get(at)?);
        if len > 63 {
            return None;
        }
        at += 1 + len;
        if len == 0 {
            break;
        }
    }
    if at - HEADER_LEN > 255 {
        return None;
    }
    let fixed = message.get(at..at + 4)?;
    let name = message[HEADER_LEN..at].to_ascii_lowercase();
    Some((name, u16::from_be_bytes([fixed[0], fixed[1]]), at + 4))
}

fn question(message: &[u8]) -> Option<(Vec<u8>, u16)> {
    question_at(message).map(|(name, qtype, _)| (name, qtype))
}

/// The truncated reply to `query`: its ID, QR and TC set, RD and CD copied, NOERROR, its
/// question as sent and nothing else (no OPT). `None` if it has no readable question.
pub fn truncated(query: &[u8]) -> Option<Vec<u8>> {
    let (_, _, end) = question_at(query)?;
    let mut reply = query[..end].to_vec();
    reply[2] = FLAG_QR | FLAG_TC | (query[2] & COPIED_HIGH);
    reply[3] = query[3] & COPIED_LOW;
    reply[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    Some(reply)
}
