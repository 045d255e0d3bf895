//! DNSSEC records (RFC 4034, RFC 5155, RFC 7344, RFC 8976) in presentation form → wire octets.
//! lbdns serves them as it finds them; it never signs or validates.

use super::encoding;
use super::fields::{put_name, Fields};
use crate::zone::{rtype, ZoneErrorKind};

/// DNSSEC algorithm mnemonics (IANA "DNS Security Algorithm Numbers"), as NSD accepts them.
const ALGORITHMS: &[(u8, &str)] = &[
    (1, "RSAMD5"),
    (2, "DH"),
    (3, "DSA"),
    (4, "ECC"),
    (5, "RSASHA1"),
    (6, "DSA-NSEC3-SHA1"),
    (7, "RSASHA1-NSEC3-SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECC-GOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
    (252, "INDIRECT"),
    (253, "PRIVATEDNS"),
    (254, "PRIVATEOID"),
];

/// DS digest types of fixed length (RFC 4034, RFC 4509, RFC 5933, RFC 6605).
const DS_DIGESTS: &[(u8, &str, usize)] = &[
    (1, "SHA-1", 20),
    (2, "SHA-256", 32),
    (3, "GOST R 34.11-94", 32),
    (4, "SHA-384", 48),
];

/// ZONEMD hash algorithms (RFC 8976 §5.3).
const ZONEMD_HASHES: &[(u8, &str, usize)] = &[(1, "SHA-384", 48), (2, "SHA-512", 64)];

/// RFC 5155 §11: SHA-1 is the only NSEC3 hash algorithm, and its hashes are 20 octets.
const NSEC3_SHA1: u8 = 1;
const SHA1_LEN: usize = 20;

/// A DNSSEC algorithm: a number or a mnemonic such as `ECDSAP256SHA256`.
pub fn algorithm(f: &mut Fields<'_>, what: &str) -> Result<u8, ZoneErrorKind> {
    let token = f.token(what)?;
    let upper = token.text.to_ascii_uppercase();
    if let Some(&(code, _)) = ALGORITHMS.iter().find(|(_, name)| *name == upper) {
        return Ok(code);
    }
    f.parse_number(token, what).map_err(|_| {
        f.bad(
            what,
            "a number from 0 to 255 or a mnemonic such as RSASHA256 or ED25519",
            token,
        )
    })
}

/// DS and CDS (RFC 4034 §5.3, RFC 7344 §3.1): key tag, algorithm, digest type, digest.
pub fn ds(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = f.number::<u16>("key tag")?.to_be_bytes().to_vec();
    wire.push(algorithm(f, "algorithm")?);
    let digest_type = f.number("digest type")?;
    wire.push(digest_type);
    wire.extend(f.digest_rest("digest", digest_type, DS_DIGESTS)?);
    Ok(wire)
}

/// DNSKEY and CDNSKEY (RFC 4034 §2.2): flags, protocol, algorithm, base64 public key.
pub fn dnskey(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = f.number::<u16>("flags")?.to_be_bytes().to_vec();
    wire.push(f.number("protocol")?);
    wire.push(algorithm(f, "algorithm")?);
    wire.extend(f.base64_rest("public key")?);
    Ok(wire)
}

/// RRSIG (RFC 4034 §3.2).
pub fn rrsig(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let covered = f.token("type covered")?;
    let covered = rtype::code(&covered.text)
        .ok_or_else(|| f.bad("type covered", "a type mnemonic or TYPEnnn", covered))?;
    let mut wire = covered.to_be_bytes().to_vec();
    wire.push(algorithm(f, "algorithm")?);
    wire.push(f.number("labels")?);
    wire.extend(f.number::<u32>("original TTL")?.to_be_bytes());
    for what in ["signature expiration", "signature inception"] {
        let token = f.token(what)?;
        let time = encoding::rrsig_time(&token.text).ok_or_else(|| {
            f.bad(
                what,
                "YYYYMMDDHHmmSS or seconds since 1970 below 2^32",
                token,
            )
        })?;
        wire.extend(time.to_be_bytes());
    }
    wire.extend(f.number::<u16>("key tag")?.to_be_bytes());
    put_name(&mut wire, &f.name("signer's name")?);
    wire.extend(f.base64_rest("signature")?);
    Ok(wire)
}

/// NSEC (RFC 4034 §4.2): next owner name, then the types present.
pub fn nsec(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = Vec::new();
    put_name(&mut wire, &f.name("next domain name")?);
    wire.extend(f.type_bitmap_rest()?);
    Ok(wire)
}

/// NSEC3 (RFC 5155 §3.3): hash algorithm, flags, iterations, salt, next hashed owner, types.
pub fn nsec3(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = nsec3param(f)?;
    let token = f.token("next hashed owner name")?;
    let hash = encoding::base32hex(&token.text)
        .ok_or_else(|| f.bad("next hashed owner name", "base32hex", token))?;
    if hash.len() != SHA1_LEN {
        return Err(f.error(format!(
            "next hashed owner name: a SHA-1 hash is {SHA1_LEN} octets, found {}",
            hash.len()
        )));
    }
    wire.push(hash.len() as u8);
    wire.extend(hash);
    wire.extend(f.type_bitmap_rest()?);
    Ok(wire)
}

/// NSEC3PARAM (RFC 5155 §4.3), also the first four fields of NSEC3.
pub fn nsec3param(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let hash: u8 = f.number("hash algorithm")?;
    if hash != NSEC3_SHA1 {
        return Err(f.error(format!(
            "unknown NSEC3 hash algorithm {hash}: only 1 (SHA-1) is defined (RFC 5155 §11)"
        )));
    }
    let mut wire = vec![hash, f.number("flags")?];
    wire.extend(f.number::<u16>("iterations")?.to_be_bytes());
    let token = f.token("salt")?;
    let salt = match token.text.as_str() {
        "-" => Vec::new(),
        text => encoding::hex(text)
            .filter(|salt| !salt.is_empty() && salt.len() <= 255)
            .ok_or_else(|| f.bad("salt", "'-' or 1 to 255 octets in hex", token))?,
    };
    wire.push(salt.len() as u8);
    wire.extend(salt);
    Ok(wire)
}

/// ZONEMD (RFC 8976 §2.2): serial, scheme, hash algorithm, digest.
pub fn zonemd(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = f.number::<u32>("serial")?.to_be_bytes().to_vec();
    wire.push(f.number("scheme")?);
    let hash = f.number("hash algorithm")?;
    wire.push(hash);
    let digest = f.digest_rest("digest", hash, ZONEMD_HASHES)?;
    // RFC 8976 §2.2.4: shorter digests are not a hash of any defined algorithm.
    if digest.len() < 12 {
        return Err(f.error(format!(
            "digest: at least 12 octets, found {}",
            digest.len()
        )));
    }
    wire.extend(digest);
    Ok(wire)
}
