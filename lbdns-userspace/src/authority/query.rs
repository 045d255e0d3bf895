//! Reading a query: its header, its question and its OPT record, and nothing more.
//!
//! A full message decoder validates every EDNS option it knows, so a malformed option that lbdns
//! does not implement (Client Subnet, say) would become FORMERR; RFC 6891 §6.1.2 says a server
//! ignores options it does not implement. Here the options go through [`edns::read_options`],
//! which checks their framing and recognises only the options the server implements.

use hickory_proto::op::{OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, DecodeError};

use super::edns::{self, RequestOptions};

pub const HEADER_LEN: usize = 12;

pub const QR: u16 = 0x8000;
const RD: u16 = 0x0100;
const CD: u16 = 0x0010;

/// The header fields of the query that the response depends on.
#[derive(Debug, Clone, Copy)]
pub struct QueryHeader {
    pub id: u16,
    pub opcode: u8,
    /// RD and CD, copied into the response (RFC 1035 §4.1.1, RFC 6840 §5.9).
    pub copied_flags: u16,
}

/// What the query said in its OPT record.
#[derive(Debug, Clone, Copy)]
pub struct EdnsRequest {
    pub payload: u16,
    pub version: u8,
    pub dnssec_ok: bool,
    /// The options the server implements, as the query gave them.
    pub options: RequestOptions,
}

/// A query worth answering.
#[derive(Debug)]
pub struct ParsedQuery {
    pub head: QueryHeader,
    pub question: Query,
    pub edns: Option<EdnsRequest>,
}

/// Why a packet gets no ordinary answer.
#[derive(Debug)]
pub enum Rejected {
    /// Send nothing: a response (no reflection loops) or too short to carry an ID.
    Drop,
    /// Answer with this RCODE and a bare header: the rest cannot be trusted to echo.
    Bare(QueryHeader, ResponseCode),
}

pub fn parse(packet: &[u8]) -> Result<ParsedQuery, Rejected> {
    let header = packet.get(..HEADER_LEN).ok_or(Rejected::Drop)?;
    let word = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    let flags = word(2);
    if flags & QR != 0 {
        return Err(Rejected::Drop);
    }
    let head = QueryHeader {
        id: word(0),
        opcode: ((flags >> 11) & 0xf) as u8,
        copied_flags: flags & (RD | CD),
    };
    if head.opcode != u8::from(OpCode::Query) {
        return Err(Rejected::Bare(head, ResponseCode::NotImp));
    }
    let formerr = |_| Rejected::Bare(head, ResponseCode::FormErr);
    if word(4) != 1 {
        return Err(formerr(()));
    }
    let mut decoder = BinDecoder::new(packet);
    decoder.read_slice(HEADER_LEN).map_err(|_| formerr(()))?;
    let question = read_question(packet, &mut decoder).map_err(|_| formerr(()))?;
    for _ in 0..u32::from(word(6)) + u32::from(word(8)) {
        let record = read_record(packet, &mut decoder).map_err(|_| formerr(()))?;
        // OPT (RFC 6891 §6.1.1) and transaction signatures belong in the additional section.
        if matches!(
            record.rtype,
            RecordType::OPT | RecordType::SIG | RecordType::TSIG
        ) {
            return Err(formerr(()));
        }
    }
    let mut edns = None;
    for _ in 0..word(10) {
        let record = read_record(packet, &mut decoder).map_err(|_| formerr(()))?;
        if record.rtype != RecordType::OPT {
            continue;
        }
        // RFC 6891 §6.1.1: one OPT, owned by the root, with well-framed options.
        if edns.is_some() || !record.owner.is_root() {
            return Err(formerr(()));
        }
        let options = edns::read_options(record.rdata).map_err(|_| formerr(()))?;
        edns = Some(EdnsRequest {
            payload: record.class,
            version: (record.ttl >> 16) as u8,
            dnssec_ok: record.ttl & 0x8000 != 0,
            options,
        });
    }
    Ok(ParsedQuery {
        head,
        question,
        edns,
    })
}

fn read_question(packet: &[u8], decoder: &mut BinDecoder<'_>) -> Result<Query, DecodeError> {
    let name = read_name(packet, decoder)?;
    let rtype = RecordType::from(decoder.read_u16()?.unverified());
    let class = DNSClass::from(decoder.read_u16()?.unverified());
    let mut query = Query::query(name, rtype);
    query.set_query_class(class);
    Ok(query)
}

/// A resource record's fields, with RDATA left as octets.
struct RawRecord<'a> {
    owner: Name,
    rtype: RecordType,
    class: u16,
    ttl: u32,
    rdata: &'a [u8],
}

fn read_record<'a>(
    packet: &[u8],
    decoder: &mut BinDecoder<'a>,
) -> Result<RawRecord<'a>, DecodeError> {
    let owner = read_name(packet, decoder)?;
    let rtype = RecordType::from(decoder.read_u16()?.unverified());
    let class = decoder.read_u16()?.unverified();
    let ttl = decoder.read_u32()?.unverified();
    let length = decoder.read_u16()?.unverified();
    let rdata = decoder.read_slice(usize::from(length))?.unverified();
    Ok(RawRecord {
        owner,
        rtype,
        class,
        ttl,
        rdata,
    })
}

/// The name at the decoder's position in `packet`, refused if a compression pointer on its way
/// points into the header. A pointer names an earlier occurrence of a name (RFC 1035 §4.1.4),
/// and the header holds none; hickory-proto follows any pointer to an earlier offset, so a
/// name could be spelled with the query's ID and flags as labels. Its reply would then depend
/// on the ID, which the UDP reply cache (`ReplyCache`, keyed on the octets after the ID) must
/// not see: found by the `respond` fuzz target, a question `c0 01` answered as the root when
/// the ID's second octet was 0 and FORMERR otherwise. The question, the first name, can
/// therefore hold no pointer at all.
fn read_name(packet: &[u8], decoder: &mut BinDecoder<'_>) -> Result<Name, DecodeError> {
    if let Some((idx, ptr)) = pointer_into_header(packet, decoder.index()) {
        return Err(DecodeError::PointerNotPriorToLabel { idx, ptr });
    }
    Name::read(decoder)
}

/// The first pointer (its offset and its target) into the header on the way through the name
/// at `at`, following pointers as the decoder does. Anything else wrong with the name is left to
/// the decoder, which refuses it too: the walk stops at the end of the packet, at a pointer that
/// is not to an offset before the labels it ends, and at labels that run into those read before
/// the last pointer. Each stretch of labels so lies before the one read before it, and the walk
/// reads each octet at most once.
fn pointer_into_header(packet: &[u8], mut at: usize) -> Option<(usize, u16)> {
    let (mut start, mut end) = (at, usize::MAX);
    loop {
        if at >= end {
            return None;
        }
        let len = *packet.get(at)?;
        if len == 0 {
            return None;
        }
        if len & 0xc0 != 0xc0 {
            at += 1 + usize::from(len);
            continue;
        }
        let ptr = u16::from_be_bytes([len & 0x3f, *packet.get(at + 1)?]);
        let target = usize::from(ptr);
        if target < HEADER_LEN {
            return Some((at, ptr));
        }
        if target >= start {
            return None;
        }
        (at, end, start) = (target, start, target);
    }
}
