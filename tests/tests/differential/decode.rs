//! Decoding replies into a comparable form: our own message walk over hickory-proto's name and
//! RDATA decoders (the crate documentation says why not its whole-message decoder).

use anyhow::{ensure, Context, Result};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, Restrict,
};

use crate::corpus::Case;
use crate::presentation::{class_name, generic_rdata, txt_rdata, type_name};
use crate::reply::{Echo, Reply, ReplyEdns, Rr, RrKey};

/// Mask of the header flag bits compared: everything except opcode and RCODE.
const FLAG_BITS: u16 = 0x8000 | 0x0780 | 0x0070;

/// The big-endian u16 at `at` of `bytes`.
fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Reads a big-endian u16 from the decoder.
fn read_u16(d: &mut BinDecoder<'_>) -> Result<u16> {
    Ok(d.read_u16()?.unverified())
}

/// Decodes RDATA at `offset..offset+len` of `wire` into (canonical bytes, presentation).
/// Falls back to the raw bytes and RFC 3597 form when hickory does not know or cannot read
/// the type; both servers' replies go through the same path, so a fallback never hides a
/// difference in the bytes themselves.
fn decode_rdata(wire: &[u8], offset: usize, len: u16, rtype: u16) -> (Vec<u8>, String) {
    let raw = &wire[offset..offset + usize::from(len)];
    let generic = || (raw.to_vec(), generic_rdata(raw));
    if len == 0 {
        return generic();
    }
    let mut d = BinDecoder::new(wire);
    if d.read_slice(offset).is_err() {
        return generic();
    }
    let rdata = match RData::read(&mut d, RecordType::from(rtype), Restrict::new(len)) {
        Ok(r) if d.index() == offset + usize::from(len) => r,
        _ => return generic(),
    };
    let mut canonical = Vec::new();
    let mut enc = BinEncoder::new(&mut canonical);
    enc.set_canonical_form(true);
    if rdata.emit(&mut enc).is_err() {
        return generic();
    }
    let text = match &rdata {
        RData::TXT(_) => txt_rdata(raw).unwrap_or_else(|| generic_rdata(raw)),
        RData::Unknown { .. } => generic_rdata(raw),
        other => other.to_string(),
    };
    (canonical, text)
}

/// Decodes a reply to `case`.
pub fn decode(case: &Case, wire: &[u8]) -> Result<Reply> {
    ensure!(
        wire.len() >= 12,
        "{} bytes, shorter than a header",
        wire.len()
    );
    let w = |i: usize| be16(wire, i);
    let (id, flags) = (w(0), w(2));
    let counts = [w(4), w(6), w(8), w(10)];
    let mut d = BinDecoder::new(wire);
    d.read_slice(12)?;

    let question = if counts[0] == 0 {
        Echo::Absent
    } else {
        let start = d.index();
        let mut shown = Vec::new();
        for _ in 0..counts[0] {
            let name = Name::read(&mut d).context("question name")?;
            let (t, c) = (read_u16(&mut d)?, read_u16(&mut d)?);
            shown.push(format!("{name} {} {}", class_name(c), type_name(t)));
        }
        let sent = &case.wire[12..12 + case.question_len];
        if counts[0] == 1 && case.question_len > 0 && &wire[start..d.index()] == sent {
            Echo::Exact
        } else {
            Echo::Different(shown.join("; "))
        }
    };

    let mut sections: [Vec<Rr>; 3] = Default::default();
    let mut edns = None;
    for (s, &count) in counts[1..].iter().enumerate() {
        for _ in 0..count {
            let name = Name::read(&mut d).context("owner name")?;
            let rtype = read_u16(&mut d)?;
            let class = read_u16(&mut d)?;
            let ttl = d.read_u32()?.unverified();
            let len = read_u16(&mut d)?;
            let offset = d.index();
            d.read_slice(usize::from(len))
                .context("RDATA runs past the end")?;
            if rtype == 41 && s == 2 {
                ensure!(edns.is_none(), "more than one OPT record");
                edns = Some(decode_opt(&name, class, ttl, &wire[offset..d.index()])?);
                continue;
            }
            let (rdata, rtext) = decode_rdata(wire, offset, len, rtype);
            let (tname, cname) = (type_name(rtype), class_name(class));
            sections[s].push(Rr {
                text: format!("{name} {ttl} {cname} {tname} {rtext}"),
                key: RrKey {
                    owner: name.to_lowercase().to_ascii(),
                    rtype,
                    class,
                    ttl,
                    rdata,
                },
            });
        }
    }
    ensure!(
        d.is_empty(),
        "{} trailing bytes after the last record",
        d.len()
    );
    for s in &mut sections {
        s.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let [answer, authority, additional] = sections;
    let ext = edns.as_ref().map_or(0, |e: &ReplyEdns| e.ext_rcode);
    Ok(Reply {
        id_matches: id == be16(&case.wire, 0),
        opcode: ((flags >> 11) & 0xf) as u8,
        flags: flags & FLAG_BITS,
        rcode: (flags & 0xf) | (u16::from(ext) << 4),
        question,
        answer,
        authority,
        additional,
        edns,
        size: wire.len(),
    })
}

/// Decodes an OPT record from its owner, CLASS (the payload size), TTL and RDATA.
fn decode_opt(owner: &Name, payload: u16, ttl: u32, rdata: &[u8]) -> Result<ReplyEdns> {
    let mut options = Vec::new();
    let mut rest = rdata;
    while !rest.is_empty() {
        ensure!(rest.len() >= 4, "truncated EDNS option header");
        let code = be16(rest, 0);
        let len = usize::from(be16(rest, 2));
        ensure!(rest.len() >= 4 + len, "truncated EDNS option data");
        options.push((code, rest[4..4 + len].to_vec()));
        rest = &rest[4 + len..];
    }
    Ok(ReplyEdns {
        owner_is_root: owner.is_root(),
        payload,
        ext_rcode: (ttl >> 24) as u8,
        version: (ttl >> 16) as u8,
        dnssec_ok: ttl & 0x8000 != 0,
        z: (ttl & 0x7fff) as u16,
        options,
    })
}
