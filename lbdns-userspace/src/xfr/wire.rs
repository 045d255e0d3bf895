//! One response message of a transfer or an SOA query: the header checked, the question read,
//! the answer records decoded into the `Record`/`RData` the zone-file reader makes.
//!
//! hickory's `Message::from_vec` would decode LOC, CAA, DNSSEC and other types into typed values
//! the rest of lbdns never uses; a zone read from a file keeps them as opaque wire octets
//! (`zone/rdata.rs`), and a transferred zone must hold exactly the same records so that the
//! two compare, publish and save alike. So the records are read here, field by field.

use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, Restrict,
};

use super::error::Malformed;
use crate::zone::rdata;

const HEADER_LEN: usize = 12;
const QR: u16 = 0x8000;
const TC: u16 = 0x0200;

/// A request: its octets and the ID every response message must carry.
pub struct Request {
    pub id: u16,
    pub octets: Vec<u8>,
}

/// An SOA, AXFR or IXFR query for `origin`. An IXFR query carries the client's SOA in its
/// authority section (RFC 1995 §3), which is how the primary knows where to start the diffs.
pub fn request(origin: &Name, qtype: RecordType, current_soa: Option<&Record>) -> Request {
    let mut message = Message::query();
    message.add_query(Query::query(origin.clone(), qtype));
    if let Some(soa) = current_soa {
        message.add_authority(soa.clone());
    }
    let mut octets = Vec::with_capacity(512);
    let mut encoder = BinEncoder::new(&mut octets);
    // A query of one name and at most one SOA always encodes.
    message
        .emit(&mut encoder)
        .expect("a query of one name and one SOA encodes");
    Request {
        id: message.metadata.id,
        octets,
    }
}

/// What one response message says, its answers decoded.
#[derive(Debug)]
pub struct Response {
    pub rcode: ResponseCode,
    pub truncated: bool,
    /// The question, when the message repeats it (RFC 5936 §2.2: later messages may omit it).
    pub question: Option<(Name, RecordType, DNSClass)>,
    pub answers: Vec<Record>,
}

/// Reads `message` as a response to the request with ID `id`. The authority and additional
/// sections are walked (so a message cut short is noticed) but not kept: a transfer's data is
/// its answer section, and TSIG, when used, is checked on the octets before this.
pub fn response(message: &[u8], id: u16) -> Result<Response, Malformed> {
    let header = message.get(..HEADER_LEN).ok_or(Malformed::ShortHeader)?;
    let word = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    if word(0) != id {
        return Err(Malformed::WrongId {
            expected: id,
            found: word(0),
        });
    }
    let flags = word(2);
    if flags & QR == 0 {
        return Err(Malformed::NotAResponse);
    }
    let opcode = ((flags >> 11) & 0xf) as u8;
    if opcode != u8::from(OpCode::Query) {
        return Err(Malformed::Opcode(opcode));
    }
    // The four low bits; an extended RCODE would need the OPT record, which a transfer never
    // needs: any of them is an error anyway.
    let rcode = ResponseCode::from_low((flags & 0xf) as u8);
    let (qdcount, ancount) = (word(4), word(6));
    let others = u32::from(word(8)) + u32::from(word(10));
    if qdcount > 1 {
        return Err(Malformed::Questions(qdcount));
    }
    let mut decoder = BinDecoder::new(message);
    decoder
        .read_slice(HEADER_LEN)
        .map_err(|_| Malformed::ShortHeader)?;
    let question = if qdcount == 1 {
        let name = Name::read(&mut decoder).map_err(|e| Malformed::Question(e.to_string()))?;
        let qtype = read_u16(&mut decoder).ok_or(Malformed::Question("cut short".into()))?;
        let qclass = read_u16(&mut decoder).ok_or(Malformed::Question("cut short".into()))?;
        Some((name, RecordType::from(qtype), DNSClass::from(qclass)))
    } else {
        None
    };
    let mut answers = Vec::with_capacity(usize::from(ancount));
    for i in 0..ancount {
        answers.push(
            record(&mut decoder, message).map_err(|why| Malformed::Record {
                position: usize::from(i) + 1,
                why,
            })?,
        );
    }
    for _ in 0..others {
        skip_record(&mut decoder).map_err(|why| Malformed::Record { position: 0, why })?;
    }
    if !decoder.is_empty() {
        return Err(Malformed::Trailing(decoder.len()));
    }
    Ok(Response {
        rcode,
        truncated: flags & TC != 0,
        question,
        answers,
    })
}

fn read_u16(decoder: &mut BinDecoder<'_>) -> Option<u16> {
    decoder.read_u16().ok().map(Restrict::unverified)
}

/// The fixed part of a resource record after its owner.
struct Fixed {
    rtype: RecordType,
    class: DNSClass,
    ttl: u32,
    rdlength: u16,
}

fn fixed(decoder: &mut BinDecoder<'_>) -> Result<Fixed, String> {
    let cut = || "cut short".to_string();
    let rtype = RecordType::from(read_u16(decoder).ok_or_else(cut)?);
    let class = DNSClass::from(read_u16(decoder).ok_or_else(cut)?);
    let ttl = decoder.read_u32().map_err(|_| cut())?.unverified();
    let rdlength = read_u16(decoder).ok_or_else(cut)?;
    Ok(Fixed {
        rtype,
        class,
        ttl,
        rdlength,
    })
}

fn skip_record(decoder: &mut BinDecoder<'_>) -> Result<(), String> {
    Name::read(decoder).map_err(|e| e.to_string())?;
    let fixed = fixed(decoder)?;
    decoder
        .read_slice(usize::from(fixed.rdlength))
        .map_err(|_| "RDATA cut short".to_string())?;
    Ok(())
}

/// One answer record, RDATA in the zone reader's form: typed for the nine types lbdns reads,
/// opaque uncompressed octets for every other type.
fn record(decoder: &mut BinDecoder<'_>, message: &[u8]) -> Result<Record, String> {
    let owner = Name::read(decoder).map_err(|e| format!("owner name: {e}"))?;
    let fixed = fixed(decoder)?;
    let start = decoder.index();
    let end = start + usize::from(fixed.rdlength);
    if end > message.len() {
        return Err("RDATA cut short".into());
    }
    let rtype = fixed.rtype;
    let rdata = match rtype {
        rtype if rdata::is_typed(rtype) => {
            // The decoder runs over the whole message so that compression pointers resolve.
            let rdata = RData::read(decoder, rtype, Restrict::new(fixed.rdlength))
                .map_err(|e| format!("{rtype} RDATA: {e}"))?;
            if decoder.index() != end {
                return Err(format!("{rtype} RDATA does not fill its RDLENGTH"));
            }
            rdata
        }
        RecordType::OPT
        | RecordType::TSIG
        | RecordType::ANY
        | RecordType::AXFR
        | RecordType::IXFR
        | RecordType::ZERO => return Err(format!("meta type {rtype} in the answer section")),
        _ => rdata::opaque(rtype, decompressed(decoder, rtype, end)?),
    };
    let mut record = Record::from_rdata(owner, fixed.ttl, rdata);
    record.dns_class = fixed.class;
    Ok(record)
}

/// A field of an RDATA layout whose names a receiver expands.
#[derive(Clone, Copy)]
enum Field {
    Octets(usize),
    Name,
    CharacterString,
    /// Whatever is left, verbatim.
    Rest,
}

/// The layouts of the types whose embedded names RFC 3597 §4 says a receiver decompresses
/// (those of RFC 1035, which must be, and RP, AFSDB, RT, SIG, PX, NXT, NAPTR and SRV, which
/// should be), less the typed ones that hickory decodes. Any other type is copied verbatim:
/// a primary must not compress it, so its octets are already what the zone reader would make.
fn layout(rtype: RecordType) -> Option<&'static [Field]> {
    use Field::{CharacterString as S, Name as N, Octets as O, Rest as R};
    Some(match u16::from(rtype) {
        3 | 4 | 7 | 8 | 9 => &[N], // MD, MF, MB, MG, MR
        14 | 17 => &[N, N],        // MINFO, RP
        18 | 21 => &[O(2), N],     // AFSDB, RT
        24 => &[O(18), N, R],      // SIG: fixed fields, signer, signature
        26 => &[O(2), N, N],       // PX
        30 => &[N, R],             // NXT
        35 => &[O(4), S, S, S, N], // NAPTR
        _ => return None,
    })
}

/// The RDATA from the decoder's position to `end`, names expanded where the type's layout
/// has them.
fn decompressed(
    decoder: &mut BinDecoder<'_>,
    rtype: RecordType,
    end: usize,
) -> Result<Vec<u8>, String> {
    let Some(fields) = layout(rtype) else {
        let len = end - decoder.index();
        return Ok(decoder
            .read_slice(len)
            .map_err(|_| "RDATA cut short".to_string())?
            .unverified()
            .to_vec());
    };
    let bad = |what: &str| format!("{rtype} RDATA: {what}");
    let mut wire = Vec::with_capacity(end - decoder.index() + 32);
    for field in fields {
        match *field {
            Field::Octets(n) => {
                let octets = decoder.read_slice(n).map_err(|_| bad("cut short"))?;
                wire.extend_from_slice(octets.unverified());
            }
            Field::Name => {
                let name = Name::read(decoder).map_err(|e| bad(&e.to_string()))?;
                // Uncompressed and in the case sent, as the zone reader keeps names it does
                // not look inside.
                for label in name.iter() {
                    wire.push(label.len() as u8);
                    wire.extend_from_slice(label);
                }
                wire.push(0);
            }
            Field::CharacterString => {
                let octets = decoder
                    .read_character_data()
                    .map_err(|_| bad("cut short"))?
                    .unverified();
                wire.push(octets.len() as u8);
                wire.extend_from_slice(octets);
            }
            Field::Rest => {
                let len = end
                    .checked_sub(decoder.index())
                    .ok_or_else(|| bad("overruns its RDLENGTH"))?;
                let octets = decoder.read_slice(len).map_err(|_| bad("cut short"))?;
                wire.extend_from_slice(octets.unverified());
            }
        }
        if decoder.index() > end {
            return Err(bad("overruns its RDLENGTH"));
        }
    }
    if decoder.index() != end {
        return Err(bad("does not fill its RDLENGTH"));
    }
    Ok(wire)
}
