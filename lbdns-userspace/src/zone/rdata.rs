//! RDATA in presentation form → wire-ready `RData`, for the common types and RFC 3597 `\#`.
//!
//! Types whose RDATA holds names the server must follow (NS, CNAME, PTR, MX, SRV, SOA) become
//! typed hickory values so lookups can read them and responses can compress them. Everything
//! else is kept as opaque wire octets, which the encoder writes back byte for byte.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, NULL, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};
use hickory_proto::serialize::txt::parse_ttl;

use super::lexer::{unescape, Token};
use super::{name, ZoneErrorKind};

/// Parses the RDATA fields of one record of type `rtype`.
pub fn parse(
    rtype: RecordType,
    fields: &[Token],
    origin: Option<&Name>,
) -> Result<RData, ZoneErrorKind> {
    if fields.first().is_some_and(|t| !t.quoted && t.text == r"\#") {
        return generic(rtype, &fields[1..]);
    }
    let f = Fields {
        rtype,
        fields,
        origin,
    };
    Ok(match rtype {
        RecordType::A => RData::A(A(f.single()?.parse::<Ipv4Addr>().map_err(|_| f.bad(0))?)),
        RecordType::AAAA => {
            RData::AAAA(AAAA(f.single()?.parse::<Ipv6Addr>().map_err(|_| f.bad(0))?))
        }
        RecordType::NS => RData::NS(NS(f.expect(1).and_then(|_| f.name(0))?)),
        RecordType::CNAME => RData::CNAME(CNAME(f.expect(1).and_then(|_| f.name(0))?)),
        RecordType::PTR => RData::PTR(PTR(f.expect(1).and_then(|_| f.name(0))?)),
        RecordType::MX => {
            f.expect(2)?;
            RData::MX(MX::new(f.number(0)?, f.name(1)?))
        }
        RecordType::SRV => {
            f.expect(4)?;
            RData::SRV(SRV::new(
                f.number(0)?,
                f.number(1)?,
                f.number(2)?,
                f.name(3)?,
            ))
        }
        RecordType::SOA => {
            f.expect(7)?;
            RData::SOA(SOA::new(
                f.name(0)?,
                f.name(1)?,
                f.number(2)?,
                f.timer(3)?,
                f.timer(4)?,
                f.timer(5)?,
                f.ttl(6)?,
            ))
        }
        RecordType::TXT => {
            if fields.is_empty() {
                return Err(f.count_error("at least 1"));
            }
            let strings = (0..fields.len())
                .map(|i| f.string(i))
                .collect::<Result<Vec<_>, _>>()?;
            RData::TXT(TXT::from_bytes(strings.iter().map(Vec::as_slice).collect()))
        }
        RecordType::CAA => opaque(rtype, caa(&f)?),
        other => return Err(ZoneErrorKind::UnsupportedText(other)),
    })
}

/// Wraps wire octets that the server never needs to look inside.
fn opaque(rtype: RecordType, wire: Vec<u8>) -> RData {
    // `NULL::with` rejects empty data, which RFC 3597 §5 (`\# 0`) allows.
    let mut rdata = NULL::new();
    rdata.anything = wire;
    RData::Unknown { code: rtype, rdata }
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
    let wire = decode_hex(&hex).ok_or_else(|| bad(format!("bad hex data '{hex}'")))?;
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
        RecordType::A
        | RecordType::AAAA
        | RecordType::NS
        | RecordType::CNAME
        | RecordType::PTR
        | RecordType::MX
        | RecordType::SRV
        | RecordType::SOA
        | RecordType::TXT => {
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

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// RFC 8659 §4.1: flags, tag (ASCII letters and digits), value (a character-string).
fn caa(f: &Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    f.expect(3)?;
    let flags: u8 = f.number(0)?;
    let tag = &f.fields[1].text;
    if tag.is_empty() || tag.len() > 15 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(f.bad(1));
    }
    let value = unescape(&f.fields[2].text)?;
    let mut wire = Vec::with_capacity(2 + tag.len() + value.len());
    wire.push(flags);
    wire.push(tag.len() as u8);
    wire.extend_from_slice(tag.as_bytes());
    wire.extend_from_slice(&value);
    Ok(wire)
}

/// The RDATA fields of one record, with typed accessors that report which field is wrong.
struct Fields<'a> {
    rtype: RecordType,
    fields: &'a [Token],
    origin: Option<&'a Name>,
}

impl Fields<'_> {
    fn bad(&self, i: usize) -> ZoneErrorKind {
        ZoneErrorKind::Rdata {
            rtype: self.rtype,
            why: format!("invalid field {} '{}'", i + 1, self.fields[i].text),
        }
    }

    fn count_error(&self, expected: &str) -> ZoneErrorKind {
        ZoneErrorKind::Rdata {
            rtype: self.rtype,
            why: format!(
                "expected {expected} RDATA fields, found {}",
                self.fields.len()
            ),
        }
    }

    fn expect(&self, n: usize) -> Result<(), ZoneErrorKind> {
        if self.fields.len() == n {
            Ok(())
        } else {
            Err(self.count_error(&n.to_string()))
        }
    }

    fn single(&self) -> Result<&str, ZoneErrorKind> {
        self.expect(1)?;
        Ok(&self.fields[0].text)
    }

    fn name(&self, i: usize) -> Result<Name, ZoneErrorKind> {
        name::parse(&self.fields[i].text, self.origin)
    }

    fn number<T: FromStr>(&self, i: usize) -> Result<T, ZoneErrorKind> {
        self.fields[i].text.parse().map_err(|_| self.bad(i))
    }

    /// SOA timers accept the same unit suffixes as TTLs (`1h`, `2w`).
    fn ttl(&self, i: usize) -> Result<u32, ZoneErrorKind> {
        parse_ttl(&self.fields[i].text).map_err(|_| self.bad(i))
    }

    /// Refresh, retry and expire are unsigned on the wire; hickory stores them as `i32`, and the
    /// bit-preserving cast writes back exactly the octets the operator gave.
    fn timer(&self, i: usize) -> Result<i32, ZoneErrorKind> {
        self.ttl(i).map(u32::cast_signed)
    }

    fn string(&self, i: usize) -> Result<Vec<u8>, ZoneErrorKind> {
        let octets = unescape(&self.fields[i].text)?;
        if octets.len() > 255 {
            return Err(ZoneErrorKind::Rdata {
                rtype: self.rtype,
                why: format!("character-string {} is longer than 255 octets", i + 1),
            });
        }
        Ok(octets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::lexer::entries;

    fn rdata(rtype: RecordType, text: &str) -> Result<RData, ZoneErrorKind> {
        let tokens = entries(text).unwrap().remove(0).tokens;
        parse(
            rtype,
            &tokens,
            Some(&Name::from_ascii("example.com.").unwrap()),
        )
    }

    #[test]
    fn typed_records_parse_with_relative_names() {
        let mx = rdata(RecordType::MX, "10 mail").unwrap();
        assert_eq!(
            mx,
            RData::MX(MX::new(10, Name::from_ascii("mail.example.com.").unwrap()))
        );
        let soa = rdata(RecordType::SOA, "ns1 host 1 1h 10m 1w 60").unwrap();
        let RData::SOA(soa) = soa else {
            panic!("not an SOA")
        };
        assert_eq!(
            (soa.refresh, soa.retry, soa.expire, soa.minimum),
            (3600, 600, 604_800, 60)
        );
    }

    #[test]
    fn txt_decodes_escapes_and_keeps_every_string() {
        let RData::TXT(txt) = rdata(RecordType::TXT, r#""a\"b" c "\065""#).unwrap() else {
            panic!("not TXT")
        };
        let strings: Vec<&[u8]> = txt.txt_data.iter().map(|s| &s[..]).collect();
        assert_eq!(strings, [&b"a\"b"[..], b"c", b"A"]);
        assert!(rdata(RecordType::TXT, &format!("\"{}\"", "x".repeat(256))).is_err());
    }

    #[test]
    fn caa_is_kept_as_wire_octets() {
        let RData::Unknown { rdata: wire, .. } =
            rdata(RecordType::CAA, r#"0 issue "ca.example""#).unwrap()
        else {
            panic!("CAA should be opaque")
        };
        assert_eq!(wire.anything, b"\x00\x05issueca.example");
        assert!(rdata(RecordType::CAA, "0 is-sue x").is_err());
    }

    #[test]
    fn rfc3597_generic_form_for_known_and_unknown_types() {
        assert_eq!(
            rdata(RecordType::A, r"\# 4 C6120001").unwrap(),
            RData::A(A::new(198, 18, 0, 1))
        );
        let unknown = rdata(RecordType::Unknown(65280), r"\# 3 ab CD ef").unwrap();
        assert_eq!(unknown.record_type(), RecordType::Unknown(65280));
        assert!(rdata(RecordType::Unknown(65280), r"\# 4 abcdef").is_err());
        assert!(rdata(RecordType::A, r"\# 5 C612000101").is_err());
        let empty = rdata(RecordType::Unknown(65281), r"\# 0").unwrap();
        assert!(matches!(empty, RData::Unknown { rdata, .. } if rdata.anything.is_empty()));
    }

    #[test]
    fn wrong_field_counts_and_values_are_errors() {
        assert!(rdata(RecordType::A, "198.18.0.1 extra").is_err());
        assert!(rdata(RecordType::A, "198.18.0.256").is_err());
        assert!(rdata(RecordType::MX, "mail").is_err());
        assert!(matches!(
            rdata(RecordType::HINFO, "a b"),
            Err(ZoneErrorKind::UnsupportedText(RecordType::HINFO))
        ));
    }
}
