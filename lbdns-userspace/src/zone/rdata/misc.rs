//! The other types lbdns serves but never looks inside: certificates and key fingerprints,
//! naming and mail records, host data and hardware addresses. Each becomes wire octets;
//! names inside them are written uncompressed with their case as given (RFC 3597 §4).

use super::dnssec::algorithm;
use super::fields::{put_name, Fields};
use crate::zone::lexer::unescape;
use crate::zone::ZoneErrorKind;

/// RFC 4398 §2.1 certificate type mnemonics.
const CERT_TYPES: &[(u16, &str)] = &[
    (1, "PKIX"),
    (2, "SPKI"),
    (3, "PGP"),
    (4, "IPKIX"),
    (5, "ISPKI"),
    (6, "IPGP"),
    (7, "ACPKIX"),
    (8, "IACPKIX"),
    (253, "URI"),
    (254, "OID"),
];

/// TLSA matching types (RFC 6698 §2.1.3).
const TLSA_MATCHING: &[(u8, &str, usize)] = &[(1, "SHA-256", 32), (2, "SHA-512", 64)];

/// SSHFP fingerprint types (RFC 4255 §3.1.2, RFC 6594 §4).
const SSHFP_TYPES: &[(u8, &str, usize)] = &[(1, "SHA-1", 20), (2, "SHA-256", 32)];

/// TLSA (RFC 6698 §2.2) and SMIMEA (RFC 8162 §2): usage, selector, matching type, data.
pub fn tlsa(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = vec![
        f.number("certificate usage")?,
        f.number("selector")?,
        f.number("matching type")?,
    ];
    let data = f.digest_rest("certificate association data", wire[2], TLSA_MATCHING)?;
    wire.extend(data);
    Ok(wire)
}

/// SSHFP (RFC 4255 §3.2): algorithm, fingerprint type, fingerprint.
pub fn sshfp(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = vec![f.number("algorithm")?, f.number("fingerprint type")?];
    wire.extend(f.digest_rest("fingerprint", wire[1], SSHFP_TYPES)?);
    Ok(wire)
}

/// NAPTR (RFC 3403 §4.1): order, preference, flags, services, regexp, replacement.
pub fn naptr(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = f.number::<u16>("order")?.to_be_bytes().to_vec();
    wire.extend(f.number::<u16>("preference")?.to_be_bytes());
    for what in ["flags", "services", "regexp"] {
        put_string(&mut wire, f.string(what)?);
    }
    put_name(&mut wire, &f.name("replacement")?);
    Ok(wire)
}

/// DNAME (RFC 6672 §2.1): the target, uncompressed, so the authority can decode it back.
pub fn dname(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = Vec::new();
    put_name(&mut wire, &f.name("target")?);
    Ok(wire)
}

/// HINFO (RFC 1035 §3.3.2): CPU and OS character-strings.
pub fn hinfo(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = Vec::new();
    put_string(&mut wire, f.string("CPU")?);
    put_string(&mut wire, f.string("OS")?);
    Ok(wire)
}

/// URI (RFC 7553 §4.5): priority, weight, and the target as a quoted string whose octets
/// fill the rest of the RDATA without a length.
pub fn uri(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = f.number::<u16>("priority")?.to_be_bytes().to_vec();
    wire.extend(f.number::<u16>("weight")?.to_be_bytes());
    let token = f.token("target")?;
    if !token.quoted {
        return Err(f.bad("target", "a URI in double quotes", token));
    }
    let target = unescape(&token.text).map_err(|e| f.error(format!("target: {e}")))?;
    if target.is_empty() {
        return Err(f.error("target: the URI is empty"));
    }
    wire.extend(target);
    Ok(wire)
}

/// RP (RFC 1183 §2.2): a mailbox and a name holding TXT records.
pub fn rp(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = Vec::new();
    put_name(&mut wire, &f.name("mailbox")?);
    put_name(&mut wire, &f.name("TXT name")?);
    Ok(wire)
}

/// AFSDB (RFC 1183 §1): subtype and host name.
pub fn afsdb(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = f.number::<u16>("subtype")?.to_be_bytes().to_vec();
    put_name(&mut wire, &f.name("hostname")?);
    Ok(wire)
}

/// CERT (RFC 4398 §2.2): type (number or mnemonic), key tag, algorithm, base64 certificate.
pub fn cert(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let token = f.token("certificate type")?;
    let upper = token.text.to_ascii_uppercase();
    let cert_type = match CERT_TYPES.iter().find(|(_, name)| *name == upper) {
        Some(&(code, _)) => code,
        None => f
            .parse_number::<u16>(token, "certificate type")
            .map_err(|_| {
                f.bad(
                    "certificate type",
                    "a number from 0 to 65535 or a mnemonic such as PKIX or PGP",
                    token,
                )
            })?,
    };
    let mut wire = cert_type.to_be_bytes().to_vec();
    wire.extend(f.number::<u16>("key tag")?.to_be_bytes());
    wire.push(algorithm(f, "algorithm")?);
    wire.extend(f.base64_rest("certificate")?);
    Ok(wire)
}

/// EUI48 and EUI64 (RFC 7043 §3.2 and §4.2): `octets` hex pairs joined by hyphens.
pub fn eui(f: &mut Fields<'_>, octets: usize) -> Result<Vec<u8>, ZoneErrorKind> {
    let token = f.token("address")?;
    let wire: Option<Vec<u8>> = token
        .text
        .split('-')
        .map(|pair| match pair.as_bytes() {
            [hi, lo] if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
                u8::from_str_radix(pair, 16).ok()
            }
            _ => None,
        })
        .collect();
    match wire {
        Some(wire) if wire.len() == octets => Ok(wire),
        _ => {
            let example = vec!["xx"; octets].join("-");
            Err(f.bad(
                "address",
                &format!("{octets} hex pairs as {example}"),
                token,
            ))
        }
    }
}

/// CSYNC (RFC 7477 §2.1.1): SOA serial, flags, then the types to synchronise.
pub fn csync(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = f.number::<u32>("SOA serial")?.to_be_bytes().to_vec();
    wire.extend(f.number::<u16>("flags")?.to_be_bytes());
    wire.extend(f.type_bitmap_rest()?);
    Ok(wire)
}

/// RFC 8659 §4.1: flags, tag (ASCII letters and digits), value (a character-string).
pub fn caa(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let flags: u8 = f.number("flags")?;
    let token = f.token("tag")?;
    let tag = &token.text;
    if tag.is_empty() || tag.len() > 15 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(f.bad("tag", "1 to 15 ASCII letters and digits", token));
    }
    let value = f.token("value")?;
    let value = unescape(&value.text).map_err(|e| f.error(format!("value: {e}")))?;
    let mut wire = Vec::with_capacity(2 + tag.len() + value.len());
    wire.push(flags);
    wire.push(tag.len() as u8);
    wire.extend_from_slice(tag.as_bytes());
    wire.extend_from_slice(&value);
    Ok(wire)
}

/// Appends a character-string, already checked to be at most 255 octets.
fn put_string(wire: &mut Vec<u8>, octets: Vec<u8>) {
    wire.push(octets.len() as u8);
    wire.extend(octets);
}

#[cfg(test)]
mod tests {
    use super::super::tests::{hex, rejects, wire};

    #[test]
    fn rfc_6698_tlsa_and_rfc_4255_sshfp_fields() {
        assert_eq!(wire(52, "3 1 0 aBcD ef").unwrap(), hex("030100abcdef"));
        rejects(52, "3 1 1 abcdef", "SHA-256 digests are 32 octets, found 3");
        rejects(53, "3 1 2 abcdef", "SHA-512 digests are 64 octets, found 3");
        rejects(
            44,
            "4 2 abcdef",
            "fingerprint: SHA-256 digests are 32 octets, found 3",
        );
        assert_eq!(wire(53, "3 0 0 00").unwrap(), hex("03000000"));
        rejects(52, "3 1 1", "missing certificate association data");
        rejects(
            52,
            "3 1 256 00",
            "matching type: expected a number from 0 to 255",
        );
        rejects(
            44,
            "1 3 xyz",
            "fingerprint: expected an even number of hex digits",
        );
    }

    #[test]
    fn rfc_3403_naptr_fields() {
        assert_eq!(
            wire(35, r#"10 20 "U" "E2U+sip" "" X."#).unwrap(),
            hex("000a00140155074532552b73697000015800")
        );
        rejects(35, r#"10 20 "U" "E2U" "" "#, "missing replacement");
        rejects(
            35,
            &format!(r#"1 2 "{}" "" "" ."#, "x".repeat(256)),
            "flags: longer than 255",
        );
    }

    #[test]
    fn names_keep_their_case_uncompressed() {
        assert_eq!(
            wire(39, "Target.Example.").unwrap(),
            b"\x06Target\x07Example\x00"
        );
        assert_eq!(
            wire(17, ". Txt").unwrap(),
            b"\x00\x03Txt\x07example\x03com\x00"
        );
        assert_eq!(
            wire(18, "1 afs").unwrap(),
            b"\x00\x01\x03afs\x07example\x03com\x00"
        );
        rejects(39, "a..b.", "target: bad domain name");
        rejects(17, "a.", "missing TXT name");
    }

    #[test]
    fn rfc_7553_uri_target_is_quoted_and_unprefixed() {
        assert_eq!(wire(256, r#"1 2 "a:b""#).unwrap(), b"\x00\x01\x00\x02a:b");
        rejects(256, "1 2 a:b", "target: expected a URI in double quotes");
        rejects(256, r#"1 2 """#, "the URI is empty");
    }

    #[test]
    fn rfc_4398_cert_mnemonics() {
        assert_eq!(
            wire(37, "PGP 1 RSASHA256 AQID").unwrap(),
            hex("0003000108010203")
        );
        assert_eq!(wire(37, "oid 1 254 AQID").unwrap(), hex("00fe0001fe010203"));
        rejects(
            37,
            "X509 1 8 AQID",
            "certificate type: expected a number from 0 to 65535 or a mnemonic",
        );
        rejects(37, "1 1 8", "missing certificate");
    }

    #[test]
    fn rfc_7043_eui_addresses() {
        assert_eq!(wire(108, "00-00-5E-00-53-2a").unwrap(), hex("00005e00532a"));
        rejects(
            108,
            "00-00-5e-00-53",
            "address: expected 6 hex pairs as xx-xx-xx-xx-xx-xx",
        );
        rejects(108, "00:00:5e:00:53:2a", "expected 6 hex pairs");
        rejects(109, "00-00-5e-00-53-2a", "expected 8 hex pairs");
        rejects(109, "00-00-5e-00-53-2a-0-01", "expected 8 hex pairs");
    }

    #[test]
    fn other_types_reject_bad_fields() {
        rejects(13, r#""cpu""#, "missing OS");
        rejects(13, r#""cpu" "os" "x""#, "unexpected extra field 'x'");
        rejects(61, "", "missing public key");
        rejects(49, "AQI", "digest: expected base64");
        rejects(62, "1 0 A BOGUS", "type bitmap");
        rejects(
            257,
            "0 is-sue x",
            "tag: expected 1 to 15 ASCII letters and digits",
        );
    }
}
