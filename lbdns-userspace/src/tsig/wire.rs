//! The TSIG record on the wire (RFC 8945 §4.2): finding it as the last record of a message,
//! reading its fields, writing one, and the octets the MAC is computed over (§4.3).

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::TsigError;

const HEADER_LEN: usize = 12;
/// CLASS ANY, which a TSIG record always has (§4.2).
const CLASS_ANY: u16 = 255;
const TSIG_TYPE: u16 = 250;

/// A TSIG record read from a message, with where it starts.
#[derive(Debug)]
pub(super) struct Found<'a> {
    pub key_name: Name,
    pub algorithm: Name,
    pub time_signed: u64,
    pub fudge: u16,
    pub mac: &'a [u8],
    pub original_id: u16,
    pub error: u16,
    pub other: &'a [u8],
    /// The offset of the record's first octet: the message before it is what was signed.
    pub start: usize,
}

impl Found<'_> {
    /// The message as it was before the TSIG was added (§4.3.2): the record removed, ARCOUNT
    /// one less, and, when `original_id` is set, the ID the signer saw.
    pub fn unsigned_message(&self, message: &[u8], original_id: bool) -> Vec<u8> {
        let mut out = message[..self.start].to_vec();
        let arcount = u16::from_be_bytes([out[10], out[11]]) - 1;
        out[10..12].copy_from_slice(&arcount.to_be_bytes());
        if original_id {
            out[0..2].copy_from_slice(&self.original_id.to_be_bytes());
        }
        out
    }
}

/// Whether any record of `message` is a TSIG, read without allocating: the socket path asks
/// this of every query, and nearly all are unsigned. One that is not last is found too, so
/// that [`find`] rejects it (FORMERR) rather than the query being answered as unsigned.
pub(super) fn ends_with_tsig(message: &[u8]) -> bool {
    let Some(header) = message.get(..HEADER_LEN) else {
        return false;
    };
    let count = |i: usize| usize::from(u16::from_be_bytes([header[i], header[i + 1]]));
    if count(10) == 0 {
        return false;
    }
    let mut at = HEADER_LEN;
    for _ in 0..count(4) {
        let Some(end) = skip_name(message, at) else {
            return false;
        };
        at = end + 4;
    }
    let records = count(6) + count(8) + count(10);
    for _ in 0..records {
        let Some(end) = skip_name(message, at) else {
            return false;
        };
        let Some(fixed) = message.get(end..end + 10) else {
            return false;
        };
        if u16::from_be_bytes([fixed[0], fixed[1]]) == TSIG_TYPE {
            return true;
        }
        at = end + 10 + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    }
    false
}

/// The offset after the name at `at`: its labels up to the root or a compression pointer.
fn skip_name(message: &[u8], mut at: usize) -> Option<usize> {
    // A name has at most 127 labels; the bound keeps a hostile message from looping.
    for _ in 0..128 {
        let length = *message.get(at)?;
        match length {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l if l & 0xc0 != 0 => return None,
            l => at += 1 + usize::from(l),
        }
    }
    None
}

/// Finds the TSIG record of `message`. `Ok(None)` when there is none; an error when the
/// message cannot be walked, or a TSIG is anywhere but last in the additional section
/// (§5.1), or is not the message's last octets.
pub(super) fn find(message: &[u8]) -> Result<Option<Found<'_>>, TsigError> {
    let header = message
        .get(..HEADER_LEN)
        .ok_or(TsigError::Malformed("message shorter than a header"))?;
    let count = |i: usize| usize::from(u16::from_be_bytes([header[i], header[i + 1]]));
    let (questions, answers, authority, additional) = (count(4), count(6), count(8), count(10));
    let records = answers + authority + additional;
    let walk = TsigError::Malformed("the message cannot be read");
    let mut decoder = BinDecoder::new(message);
    decoder.read_slice(HEADER_LEN).map_err(|_| walk.clone())?;
    for _ in 0..questions {
        Name::read(&mut decoder).map_err(|_| walk.clone())?;
        decoder.read_slice(4).map_err(|_| walk.clone())?;
    }
    for index in 0..records {
        let start = decoder.index();
        let owner = Name::read(&mut decoder).map_err(|_| walk.clone())?;
        let fixed = decoder
            .read_slice(10)
            .map_err(|_| walk.clone())?
            .unverified();
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let length = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata = decoder
            .read_slice(length)
            .map_err(|_| walk.clone())?
            .unverified();
        if rtype != TSIG_TYPE {
            continue;
        }
        if index + 1 != records || additional == 0 {
            return Err(TsigError::Malformed(
                "TSIG is not the last record of the additional section",
            ));
        }
        if decoder.index() != message.len() {
            return Err(TsigError::Malformed("octets follow the TSIG record"));
        }
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        if class != CLASS_ANY || ttl != 0 {
            return Err(TsigError::Malformed(
                "TSIG class is not ANY or TTL is not 0",
            ));
        }
        return read_rdata(owner, rdata, start).map(Some);
    }
    Ok(None)
}

fn read_rdata(key_name: Name, rdata: &[u8], start: usize) -> Result<Found<'_>, TsigError> {
    let bad = || TsigError::Malformed("TSIG RDATA is truncated");
    let mut decoder = BinDecoder::new(rdata);
    // The algorithm name is never compressed (§4.2), so it can be read from the RDATA alone.
    let algorithm = Name::read(&mut decoder).map_err(|_| bad())?;
    let mut take = |n: usize| -> Result<&[u8], TsigError> {
        decoder
            .read_slice(n)
            .map(|s| s.unverified())
            .map_err(|_| bad())
    };
    let time = take(6)?;
    let time_signed = time.iter().fold(0u64, |t, &b| t << 8 | u64::from(b));
    let fudge = u16_at(take(2)?);
    let mac_len = usize::from(u16_at(take(2)?));
    let mac = take(mac_len)?;
    let original_id = u16_at(take(2)?);
    let error = u16_at(take(2)?);
    let other_len = usize::from(u16_at(take(2)?));
    let other = take(other_len)?;
    if !decoder.is_empty() {
        return Err(TsigError::Malformed("octets follow the TSIG RDATA"));
    }
    Ok(Found {
        key_name,
        algorithm,
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
        start,
    })
}

fn u16_at(octets: &[u8]) -> u16 {
    u16::from_be_bytes([octets[0], octets[1]])
}

/// A name in canonical wire form (RFC 4034 §6.2): uncompressed, lowercase.
pub(super) fn canonical_name(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
    out
}

/// The fields of a TSIG record we write, and the TSIG variables (§4.3.3) hashed with them.
#[derive(Debug, Clone)]
pub(super) struct Fields {
    pub key_name: Vec<u8>,
    pub algorithm: Vec<u8>,
    pub time_signed: u64,
    pub fudge: u16,
    pub error: u16,
    pub other: Vec<u8>,
}

impl Fields {
    /// §4.3.3: the variables hashed after the message of a request or a first response.
    pub fn variables(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.key_name.len() + self.algorithm.len() + 20);
        out.extend_from_slice(&self.key_name);
        out.extend_from_slice(&CLASS_ANY.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&self.algorithm);
        out.extend_from_slice(&self.timers());
        out.extend_from_slice(&self.error.to_be_bytes());
        out.extend_from_slice(&(self.other.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.other);
        out
    }

    /// §4.3.3 "TSIG timers": what later messages of a stream hash instead (§5.3.1).
    pub fn timers(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..6].copy_from_slice(&self.time_signed.to_be_bytes()[2..]);
        out[6..].copy_from_slice(&self.fudge.to_be_bytes());
        out
    }

    /// Appends the TSIG record carrying `mac` to `message` and counts it in ARCOUNT.
    pub fn append(&self, message: &mut Vec<u8>, mac: &[u8]) {
        let original_id = [message[0], message[1]];
        message.extend_from_slice(&self.key_name);
        message.extend_from_slice(&TSIG_TYPE.to_be_bytes());
        message.extend_from_slice(&CLASS_ANY.to_be_bytes());
        message.extend_from_slice(&0u32.to_be_bytes());
        let rdlength = self.algorithm.len() + 16 + mac.len() + self.other.len();
        message.extend_from_slice(&(rdlength as u16).to_be_bytes());
        message.extend_from_slice(&self.algorithm);
        message.extend_from_slice(&self.timers());
        message.extend_from_slice(&(mac.len() as u16).to_be_bytes());
        message.extend_from_slice(mac);
        message.extend_from_slice(&original_id);
        message.extend_from_slice(&self.error.to_be_bytes());
        message.extend_from_slice(&(self.other.len() as u16).to_be_bytes());
        message.extend_from_slice(&self.other);
        let arcount = u16::from_be_bytes([message[10], message[11]]).wrapping_add(1);
        message[10..12].copy_from_slice(&arcount.to_be_bytes());
    }

    /// How many octets [`Fields::append`] adds with a MAC of `mac_len` octets.
    pub fn record_len(&self, mac_len: usize) -> usize {
        self.key_name.len() + 10 + self.algorithm.len() + 16 + mac_len + self.other.len()
    }
}

/// A 48-bit time as the six octets of Other Data in a BADTIME reply (§5.2.3).
pub(super) fn time_octets(time: u64) -> [u8; 6] {
    let mut out = [0u8; 6];
    out.copy_from_slice(&time.to_be_bytes()[2..]);
    out
}

/// The question section of `message` (its octets after the header), for error replies that
/// echo it; `None` when it cannot be walked.
pub(super) fn question_end(message: &[u8]) -> Option<usize> {
    let questions = u16::from_be_bytes([*message.get(4)?, *message.get(5)?]);
    let mut decoder = BinDecoder::new(message);
    decoder.read_slice(HEADER_LEN).ok()?;
    for _ in 0..questions {
        Name::read(&mut decoder).ok()?;
        decoder.read_slice(4).ok()?;
    }
    Some(decoder.index())
}
