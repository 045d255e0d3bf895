//! DNSSEC records as lbdns reads them. lbdns serves pre-signed zones: every DNSSEC record is
//! kept as its wire octets and written back unchanged, and this module decodes only the fields
//! that answering and load-time checks need (RFC 4034 §3–4, RFC 5155 §3–4), and computes the
//! NSEC3 owner hash (RFC 5155 §5). Pure.

use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

/// Length of a SHA-1 digest, the only NSEC3 hash (algorithm 1, RFC 5155 §11).
pub const SHA1_LEN: usize = 20;
/// The NSEC3 hash algorithm lbdns can compute.
pub const SHA1: u8 = 1;
/// NSEC3 flags bit 0: this record's span may cover unsigned delegations (RFC 5155 §3.1.2.1).
pub const OPT_OUT: u8 = 1;

/// DNSSEC RDATA that does not hold the fields its type requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {rtype} RDATA: {why}")]
pub struct Malformed {
    pub rtype: RecordType,
    pub why: &'static str,
}

/// The wire octets of a record lbdns keeps opaque (every DNSSEC type is).
pub fn octets(rdata: &RData) -> Option<&[u8]> {
    match rdata {
        RData::Unknown { rdata, .. } => Some(&rdata.anything),
        _ => None,
    }
}

/// The type an RRSIG covers, read from its first two octets; `None` for other types.
pub fn type_covered(rdata: &RData) -> Option<RecordType> {
    match rdata {
        RData::Unknown {
            code: RecordType::RRSIG,
            rdata,
        } => match rdata.anything[..] {
            [high, low, ..] => Some(RecordType::from(u16::from_be_bytes([high, low]))),
            _ => None,
        },
        _ => None,
    }
}

/// The RRSIG fields lbdns reads (RFC 4034 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rrsig {
    pub type_covered: RecordType,
    pub algorithm: u8,
    /// Labels of the owner the signature was made for, without a leading `*` (RFC 4034
    /// §3.1.3): fewer than the owner's own labels marks a wildcard expansion.
    pub labels: u8,
    /// Seconds since 1970, in RFC 1982 serial arithmetic (RFC 4034 §3.1.5).
    pub expiration: u32,
    pub inception: u32,
    pub key_tag: u16,
    pub signer: Name,
}

impl Rrsig {
    pub fn decode(wire: &[u8]) -> Result<Self, Malformed> {
        let bad = |why| Malformed {
            rtype: RecordType::RRSIG,
            why,
        };
        let fixed = wire
            .get(..18)
            .ok_or(bad("shorter than its 18 fixed octets"))?;
        let be32 = |at: usize| {
            u32::from_be_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]])
        };
        let mut decoder = BinDecoder::new(&wire[18..]);
        let signer = Name::read(&mut decoder).map_err(|_| bad("bad signer's name"))?;
        if decoder.is_empty() {
            return Err(bad("no signature"));
        }
        Ok(Self {
            type_covered: RecordType::from(u16::from_be_bytes([fixed[0], fixed[1]])),
            algorithm: fixed[2],
            labels: fixed[3],
            expiration: be32(8),
            inception: be32(12),
            key_tag: u16::from_be_bytes([fixed[16], fixed[17]]),
            signer,
        })
    }
}

/// The hash parameters an NSEC3 chain is built with (RFC 5155 §3.1.1–3.1.5, §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsec3Params {
    pub algorithm: u8,
    pub iterations: u16,
    pub salt: Box<[u8]>,
}

impl Nsec3Params {
    /// Reads algorithm, flags, iterations and salt from the start of NSEC3 or NSEC3PARAM
    /// RDATA; returns them, the flags and the octets that follow.
    fn decode(rtype: RecordType, wire: &[u8]) -> Result<(Self, u8, &[u8]), Malformed> {
        let bad = |why| Malformed { rtype, why };
        let &[algorithm, flags, high, low, salt_len, ref rest @ ..] = wire else {
            return Err(bad("shorter than its 5 fixed octets"));
        };
        let salt = rest
            .get(..usize::from(salt_len))
            .ok_or(bad("salt runs past the end"))?;
        let params = Self {
            algorithm,
            iterations: u16::from_be_bytes([high, low]),
            salt: salt.into(),
        };
        Ok((params, flags, &rest[usize::from(salt_len)..]))
    }

    /// NSEC3PARAM RDATA (RFC 5155 §4.2).
    pub fn from_nsec3param(wire: &[u8]) -> Result<Self, Malformed> {
        let (params, _flags, rest) = Self::decode(RecordType::NSEC3PARAM, wire)?;
        if !rest.is_empty() {
            return Err(Malformed {
                rtype: RecordType::NSEC3PARAM,
                why: "octets after the salt",
            });
        }
        Ok(params)
    }

    /// RFC 5155 §5: IH(salt, x, 0) = H(x || salt), IH(salt, x, k) = H(IH(salt, x, k-1) || salt),
    /// over the owner's canonical (lowercase, uncompressed) wire form.
    pub fn hash(&self, name: &Name) -> [u8; SHA1_LEN] {
        let mut input = canonical_wire(name);
        let mut digest = [0; SHA1_LEN];
        for _ in 0..=self.iterations {
            input.extend_from_slice(&self.salt);
            let round = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
            digest.copy_from_slice(round.as_ref());
            input.clear();
            input.extend_from_slice(&digest);
        }
        digest
    }
}

/// The NSEC3 fields lbdns reads (RFC 5155 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsec3 {
    pub params: Nsec3Params,
    pub flags: u8,
    pub next_hashed_owner: Box<[u8]>,
}

impl Nsec3 {
    pub fn decode(wire: &[u8]) -> Result<Self, Malformed> {
        let bad = |why| Malformed {
            rtype: RecordType::NSEC3,
            why,
        };
        let (params, flags, rest) = Nsec3Params::decode(RecordType::NSEC3, wire)?;
        let (&hash_len, rest) = rest.split_first().ok_or(bad("no hash length"))?;
        if hash_len == 0 {
            return Err(bad("empty next hashed owner"));
        }
        let next = rest
            .get(..usize::from(hash_len))
            .ok_or(bad("next hashed owner runs past the end"))?;
        check_type_bitmap(&rest[usize::from(hash_len)..]).map_err(bad)?;
        Ok(Self {
            params,
            flags,
            next_hashed_owner: next.into(),
        })
    }
}

/// The next owner name of NSEC RDATA (RFC 4034 §4.1), after checking the type bitmap.
pub fn nsec_next_name(wire: &[u8]) -> Result<Name, Malformed> {
    let bad = |why| Malformed {
        rtype: RecordType::NSEC,
        why,
    };
    let mut decoder = BinDecoder::new(wire);
    let next = Name::read(&mut decoder).map_err(|_| bad("bad next domain name"))?;
    check_type_bitmap(&wire[decoder.index()..]).map_err(bad)?;
    Ok(next)
}

/// DNSKEY RDATA (RFC 4034 §2.1): flags, protocol 3, algorithm, a key.
pub fn check_dnskey(wire: &[u8]) -> Result<(), Malformed> {
    let bad = |why| Malformed {
        rtype: RecordType::DNSKEY,
        why,
    };
    match wire {
        [_, _, 3, _, _, ..] => Ok(()),
        [_, _, _, _, _, ..] => Err(bad("protocol is not 3")),
        _ => Err(bad("no public key")),
    }
}

/// DS RDATA (RFC 4034 §5.1): key tag, algorithm, digest type, a digest.
pub fn check_ds(wire: &[u8]) -> Result<(), Malformed> {
    if wire.len() < 5 {
        return Err(Malformed {
            rtype: RecordType::DS,
            why: "no digest",
        });
    }
    Ok(())
}

/// RFC 4034 §4.1.2: windows in increasing order, each 1–32 octets long.
fn check_type_bitmap(mut bitmap: &[u8]) -> Result<(), &'static str> {
    let mut last_window = None;
    while let [window, len, rest @ ..] = bitmap {
        if last_window.is_some_and(|last| last >= *window) {
            return Err("type bitmap windows out of order");
        }
        if !(1..=32).contains(len) {
            return Err("type bitmap window of a bad length");
        }
        bitmap = rest
            .get(usize::from(*len)..)
            .ok_or("type bitmap runs past the end")?;
        last_window = Some(*window);
    }
    if bitmap.is_empty() {
        Ok(())
    } else {
        Err("type bitmap runs past the end")
    }
}

/// The owner's octets as hashed and ordered: labels lowercased, no compression.
fn canonical_wire(name: &Name) -> Vec<u8> {
    let mut wire = Vec::with_capacity(name.len() + 1);
    for label in name.to_lowercase().iter() {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label);
    }
    wire.push(0);
    wire
}

/// Base32 with the extended hex alphabet (RFC 4648 §7), unpadded, either case: the first
/// label of an NSEC3 owner. `None` unless it decodes to exactly one SHA-1 digest.
pub fn decode_hashed_label(label: &[u8]) -> Option<[u8; SHA1_LEN]> {
    if label.len() != SHA1_LEN * 8 / 5 {
        return None;
    }
    let mut out = [0u8; SHA1_LEN];
    let mut bits: u32 = 0;
    let mut pending = 0;
    let mut at = 0;
    for &c in label {
        let value = match c.to_ascii_lowercase() {
            d @ b'0'..=b'9' => d - b'0',
            l @ b'a'..=b'v' => l - b'a' + 10,
            _ => return None,
        };
        bits = bits << 5 | u32::from(value);
        pending += 5;
        if pending >= 8 {
            pending -= 8;
            out[at] = (bits >> pending) as u8;
            at += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5155 Appendix A: salt AABBCCDD, 12 iterations.
    #[test]
    fn rfc5155_appendix_a_hashes() {
        let params = Nsec3Params {
            algorithm: SHA1,
            iterations: 12,
            salt: [0xaa, 0xbb, 0xcc, 0xdd].into(),
        };
        for (name, hashed) in [
            ("example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
            ("a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
            ("*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"),
            ("xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"),
        ] {
            let name = Name::from_ascii(name).unwrap();
            assert_eq!(
                Some(params.hash(&name)),
                decode_hashed_label(hashed.as_bytes()),
                "{name}"
            );
        }
        assert_eq!(
            decode_hashed_label(b"0P9MHAVEQVM6T7VBL5LOP2U3T2RP3TOM"),
            decode_hashed_label(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom")
        );
        assert!(decode_hashed_label(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tow").is_none());
        assert!(decode_hashed_label(b"www").is_none());
    }

    #[test]
    fn rfc4034_4_1_2_type_bitmaps_are_checked() {
        assert!(check_type_bitmap(&[0, 1, 0x40]).is_ok());
        assert!(check_type_bitmap(&[0, 1, 0x40, 0, 1, 0x40]).is_err());
        assert!(check_type_bitmap(&[0, 0]).is_err());
        assert!(check_type_bitmap(&[0, 2, 0x40]).is_err());
        assert!(check_type_bitmap(&[]).is_ok());
    }
}
