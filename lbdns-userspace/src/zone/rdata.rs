//! RDATA in presentation form → wire-ready `RData`: the common types, DNSSEC, SVCB/HTTPS and
//! the other types zones carry (README.md lists them), and RFC 3597 `\#` for any type.
//!
//! Types whose RDATA the server must read or follow (A, AAAA, TXT, NS, CNAME, PTR, MX, SRV, SOA)
//! become typed hickory values so lookups can read them and responses can compress them.
//! Everything else is kept as opaque wire octets, names uncompressed and in the case written,
//! which the encoder writes back byte for byte. The parsers of those live in submodules by
//! family: `dnssec`, `svcb`, `loc` and `misc`; `encoding` holds the text encodings they share
//! and `fields` the cursor that turns every bad field into a `ZoneErrorKind::Rdata`.

mod dnssec;
mod encoding;
mod fields;
mod loc;
mod misc;
mod svcb;

use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, NULL, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};
use hickory_proto::serialize::txt::parse_ttl;

use super::lexer::Token;
use super::{rtype, ZoneErrorKind};
use fields::Fields;

/// Parses the RDATA fields of one record of type `rtype`.
pub fn parse(
    rtype: RecordType,
    fields: &[Token],
    origin: Option<&Name>,
) -> Result<RData, ZoneErrorKind> {
    if fields.first().is_some_and(|t| !t.quoted && t.text == r"\#") {
        return generic(rtype, &fields[1..]);
    }
    let mut f = Fields::new(rtype, fields, origin);
    let rdata = match rtype {
        RecordType::A => RData::A(A(address(&mut f, "an IPv4 address")?)),
        RecordType::AAAA => RData::AAAA(AAAA(address(&mut f, "an IPv6 address")?)),
        RecordType::NS => RData::NS(NS(f.name("name server")?)),
        RecordType::CNAME => RData::CNAME(CNAME(f.name("target")?)),
        RecordType::PTR => RData::PTR(PTR(f.name("target")?)),
        RecordType::MX => RData::MX(MX::new(f.number("preference")?, f.name("exchange")?)),
        RecordType::SRV => RData::SRV(SRV::new(
            f.number("priority")?,
            f.number("weight")?,
            f.number("port")?,
            f.name("target")?,
        )),
        RecordType::SOA => RData::SOA(SOA::new(
            f.name("primary name server")?,
            f.name("responsible mailbox")?,
            f.number("serial")?,
            timer(&mut f, "refresh")?,
            timer(&mut f, "retry")?,
            timer(&mut f, "expire")?,
            ttl(&mut f, "minimum")?,
        )),
        RecordType::TXT => {
            let mut strings = vec![f.string("character-string")?];
            while !f.is_done() {
                strings.push(f.string("character-string")?);
            }
            RData::TXT(TXT::from_bytes(strings.iter().map(Vec::as_slice).collect()))
        }
        other => {
            let wire = opaque_wire(&mut f)?;
            if wire.len() > usize::from(u16::MAX) {
                return Err(f.error(format!(
                    "{} octets of RDATA; at most 65535 fit in a record",
                    wire.len()
                )));
            }
            opaque(other, wire)
        }
    };
    f.finish()?;
    Ok(rdata)
}

/// The types kept as wire octets, each parsed by the module that owns its family.
fn opaque_wire(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    match rtype::name(f.rtype()).as_str() {
        "DS" | "CDS" => dnssec::ds(f),
        "DNSKEY" | "CDNSKEY" => dnssec::dnskey(f),
        "RRSIG" => dnssec::rrsig(f),
        "NSEC" => dnssec::nsec(f),
        "NSEC3" => dnssec::nsec3(f),
        "NSEC3PARAM" => dnssec::nsec3param(f),
        "ZONEMD" => dnssec::zonemd(f),
        "SVCB" | "HTTPS" => svcb::svcb(f),
        "TLSA" | "SMIMEA" => misc::tlsa(f),
        "SSHFP" => misc::sshfp(f),
        "OPENPGPKEY" => f.base64_rest("public key"),
        "DHCID" => f.base64_rest("digest"),
        "NAPTR" => misc::naptr(f),
        "DNAME" => misc::dname(f),
        "HINFO" => misc::hinfo(f),
        "LOC" => loc::loc(f),
        "URI" => misc::uri(f),
        "RP" => misc::rp(f),
        "AFSDB" => misc::afsdb(f),
        "CERT" => misc::cert(f),
        "EUI48" => misc::eui(f, 6),
        "EUI64" => misc::eui(f, 8),
        "CSYNC" => misc::csync(f),
        "CAA" => misc::caa(f),
        _ => Err(ZoneErrorKind::UnsupportedText(f.rtype())),
    }
}

fn address<T: FromStr>(f: &mut Fields<'_>, expected: &str) -> Result<T, ZoneErrorKind> {
    let token = f.token("address")?;
    token
        .text
        .parse()
        .map_err(|_| f.bad("address", expected, token))
}

/// SOA timers accept the same unit suffixes as TTLs (`1h`, `2w`).
fn ttl(f: &mut Fields<'_>, what: &str) -> Result<u32, ZoneErrorKind> {
    let token = f.token(what)?;
    parse_ttl(&token.text).map_err(|_| f.bad(what, "seconds or a duration such as 1h", token))
}

/// Refresh, retry and expire are unsigned on the wire; hickory stores them as `i32`, and the
/// bit-preserving cast writes back exactly the octets the operator gave.
fn timer(f: &mut Fields<'_>, what: &str) -> Result<i32, ZoneErrorKind> {
    ttl(f, what).map(u32::cast_signed)
}

/// Wraps wire octets that the server never needs to look inside.
/// RDATA kept as `rtype`'s wire octets, names uncompressed (every type [`is_typed`] is not).
pub(crate) fn opaque(rtype: RecordType, wire: Vec<u8>) -> RData {
    // `NULL::with` rejects empty data, which RFC 3597 §5 (`\# 0`) allows.
    let mut rdata = NULL::new();
    rdata.anything = wire;
    RData::Unknown { code: rtype, rdata }
}

/// The types held as typed hickory values, because lookups read or follow their RDATA; the
/// zone reader, `\#` data and the transfer client all give these the same form.
pub(crate) fn is_typed(rtype: RecordType) -> bool {
    matches!(
        rtype,
        RecordType::A
            | RecordType::AAAA
            | RecordType::NS
            | RecordType::CNAME
            | RecordType::PTR
            | RecordType::MX
            | RecordType::SRV
            | RecordType::SOA
            | RecordType::TXT
    )
}

/// RFC 3597 §5: `\# <length> <hex>...`, valid for any type, known or not.
fn generic(rtype: RecordType, fields: &[Token]) -> Result<RData, ZoneErrorKind> {
    let bad = |why: String| ZoneErrorKind::Rdata { rtype, why };
    let (len, hex) = fields
        .split_first()
        .ok_or_else(|| bad("\\# needs a length".into()))?;
    let len: usize = len
        .text
        .parse()
        .map_err(|_| bad(format!("bad \\# length '{}'", len.text)))?;
    let hex: String = hex.iter().map(|t| t.text.as_str()).collect();
    let wire = encoding::hex(&hex).ok_or_else(|| bad(format!("bad hex data '{hex}'")))?;
    if wire.len() != len {
        return Err(bad(format!(
            "\\# length {len} but {} octets of data",
            wire.len()
        )));
    }
    if len > usize::from(u16::MAX) {
        return Err(bad("RDATA longer than 65535 octets".into()));
    }
    match rtype {
        // Decode the types that lookups look inside, so they behave as if written in text.
        rtype if is_typed(rtype) => {
            let mut decoder = BinDecoder::new(&wire);
            let rdata = RData::read(&mut decoder, rtype, Restrict::new(len as u16))
                .map_err(|e| bad(format!("invalid wire data: {e}")))?;
            if !decoder.is_empty() {
                return Err(bad("trailing octets after the RDATA".into()));
            }
            Ok(rdata)
        }
        RecordType::OPT | RecordType::ANY | RecordType::AXFR | RecordType::IXFR => {
            Err(bad("meta types cannot appear in a zone".into()))
        }
        _ => Ok(opaque(rtype, wire)),
    }
}

#[cfg(test)]
mod tests;
