//! Record type mnemonics as master files write them: in the type field, in NSEC/NSEC3/CSYNC
//! type bitmaps and in the RRSIG "type covered" field.
//!
//! hickory's `RecordType::from_str` knows only the types hickory decodes, so LOC, URI or
//! ZONEMD would be "unknown"; this table holds every mnemonic NSD accepts.

use hickory_proto::rr::RecordType;

/// IANA code and mnemonic of every type NSD reads by name.
const TYPES: &[(u16, &str)] = &[
    (1, "A"),
    (2, "NS"),
    (3, "MD"),
    (4, "MF"),
    (5, "CNAME"),
    (6, "SOA"),
    (7, "MB"),
    (8, "MG"),
    (9, "MR"),
    (10, "NULL"),
    (11, "WKS"),
    (12, "PTR"),
    (13, "HINFO"),
    (14, "MINFO"),
    (15, "MX"),
    (16, "TXT"),
    (17, "RP"),
    (18, "AFSDB"),
    (19, "X25"),
    (20, "ISDN"),
    (21, "RT"),
    (22, "NSAP"),
    (23, "NSAP-PTR"),
    (24, "SIG"),
    (25, "KEY"),
    (26, "PX"),
    (27, "GPOS"),
    (28, "AAAA"),
    (29, "LOC"),
    (30, "NXT"),
    (31, "EID"),
    (32, "NIMLOC"),
    (33, "SRV"),
    (34, "ATMA"),
    (35, "NAPTR"),
    (36, "KX"),
    (37, "CERT"),
    (38, "A6"),
    (39, "DNAME"),
    (40, "SINK"),
    (41, "OPT"),
    (42, "APL"),
    (43, "DS"),
    (44, "SSHFP"),
    (45, "IPSECKEY"),
    (46, "RRSIG"),
    (47, "NSEC"),
    (48, "DNSKEY"),
    (49, "DHCID"),
    (50, "NSEC3"),
    (51, "NSEC3PARAM"),
    (52, "TLSA"),
    (53, "SMIMEA"),
    (55, "HIP"),
    (56, "NINFO"),
    (57, "RKEY"),
    (58, "TALINK"),
    (59, "CDS"),
    (60, "CDNSKEY"),
    (61, "OPENPGPKEY"),
    (62, "CSYNC"),
    (63, "ZONEMD"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (66, "DSYNC"),
    (99, "SPF"),
    (100, "UINFO"),
    (101, "UID"),
    (102, "GID"),
    (103, "UNSPEC"),
    (104, "NID"),
    (105, "L32"),
    (106, "L64"),
    (107, "LP"),
    (108, "EUI48"),
    (109, "EUI64"),
    (249, "TKEY"),
    (250, "TSIG"),
    (251, "IXFR"),
    (252, "AXFR"),
    (253, "MAILB"),
    (254, "MAILA"),
    (255, "ANY"),
    (256, "URI"),
    (257, "CAA"),
    (258, "AVC"),
    (259, "DOA"),
    (260, "AMTRELAY"),
    (261, "RESINFO"),
    (262, "WALLET"),
    (32768, "TA"),
    (32769, "DLV"),
];

/// The code of a mnemonic (any case) or of the RFC 3597 `TYPEnnn` form.
pub fn code(text: &str) -> Option<u16> {
    if let Some(digits) = generic(text, "TYPE") {
        return digits.parse().ok();
    }
    TYPES
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(text))
        .map(|&(code, _)| code)
}

/// The digits of RFC 3597's generic form (§5) of a type or class, `TYPEnnn` or `CLASSnnn`:
/// what follows `prefix` in `text`, any case; `None` if `text` does not start with it.
pub fn generic<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    text.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &text[prefix.len()..])
}

/// Whether a type exists only in queries and transfers, never as zone data (RFC 6895 §3.1).
pub fn is_meta(code: u16) -> bool {
    code == 41 || (128..=255).contains(&code)
}

/// The mnemonic of `rtype`, or `TYPEnnn` when it has none.
pub fn name(rtype: RecordType) -> String {
    let code = u16::from(rtype);
    TYPES
        .iter()
        .find(|&&(c, _)| c == code)
        .map_or_else(|| format!("TYPE{code}"), |(_, name)| (*name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3597_type_forms_and_mnemonics_round_trip() {
        assert_eq!(code("loc"), Some(29));
        assert_eq!(code("TYPE65534"), Some(65534));
        assert_eq!(code("type29"), Some(29));
        assert_eq!(code("TYPE65536"), None);
        assert_eq!(code("BOGUS"), None);
        assert_eq!(name(RecordType::from(29)), "LOC");
        assert_eq!(name(RecordType::from(65280)), "TYPE65280");
        assert!(is_meta(255) && is_meta(41) && !is_meta(256));
    }
}
