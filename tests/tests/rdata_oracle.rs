//! The wire octets lbdns reads from presentation-form RDATA equal what ldns reads from the
//! same text: `ldns-read-zone -U SOA` prints every record in RFC 3597 §5 form (`\# len hex`),
//! and each record lbdns keeps as opaque octets must match it exactly.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use hickory_proto::rr::RData;
use lbdns::zone::Zone;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/rdata.zone");

/// Every type whose presentation form lbdns parses into opaque octets: the corpus must hold
/// each of them, so a type dropped from the file makes the test fail rather than shrink.
const TYPES: &[(&str, u16)] = &[
    ("DS", 43),
    ("CDS", 59),
    ("DNSKEY", 48),
    ("CDNSKEY", 60),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("NSEC3", 50),
    ("NSEC3PARAM", 51),
    ("ZONEMD", 63),
    ("CSYNC", 62),
    ("SVCB", 64),
    ("HTTPS", 65),
    ("TLSA", 52),
    ("SMIMEA", 53),
    ("SSHFP", 44),
    ("OPENPGPKEY", 61),
    ("DHCID", 49),
    ("NAPTR", 35),
    ("DNAME", 39),
    ("HINFO", 13),
    ("LOC", 29),
    ("URI", 256),
    ("RP", 17),
    ("AFSDB", 18),
    ("CERT", 37),
    ("EUI48", 108),
    ("EUI64", 109),
];

/// `(type code, RDATA)` of each record ldns prints, in file order.
fn ldns_records() -> Vec<(u16, Vec<u8>)> {
    let output = Command::new("ldns-read-zone")
        .args(["-U", "SOA", CORPUS])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run ldns-read-zone ({e}): install ldnsutils, this test needs it")
        });
    assert!(
        output.status.success(),
        "ldns-read-zone rejected {CORPUS}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("ldns-read-zone prints ASCII")
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let code = fields.get(3)?.strip_prefix("TYPE")?.parse().ok()?;
            assert_eq!(fields[4], r"\#", "not RFC 3597 form: {line}");
            let len: usize = fields[5].parse().expect("RFC 3597 length");
            let hex: String = fields[6..].concat();
            let wire: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            assert_eq!(wire.len(), len, "{line}");
            Some((code, wire))
        })
        .collect()
}

#[test]
fn rfc_3597_wire_form_matches_ldns_for_every_opaque_type() {
    let zone = Zone::load(Path::new(CORPUS), None).unwrap_or_else(|e| panic!("{e}"));
    let ours: Vec<(u16, usize, Vec<u8>)> = zone
        .records
        .iter()
        .filter_map(|r| match &r.record.data {
            RData::Unknown { code, rdata } => {
                Some((u16::from(*code), r.line, rdata.anything.clone()))
            }
            _ => None,
        })
        .collect();
    let codes: BTreeSet<u16> = ours.iter().map(|(code, ..)| *code).collect();
    for (name, code) in TYPES {
        assert!(codes.contains(code), "the corpus has no {name} record");
    }
    let theirs: Vec<(u16, Vec<u8>)> = ldns_records()
        .into_iter()
        .filter(|(code, _)| codes.contains(code))
        .collect();
    assert_eq!(ours.len(), theirs.len(), "record counts differ");
    for ((code, line, wire), (their_code, their_wire)) in ours.iter().zip(&theirs) {
        assert_eq!(code, their_code, "{CORPUS}:{line}: types differ");
        assert_eq!(
            hex(wire),
            hex(their_wire),
            "{CORPUS}:{line}: lbdns (left) and ldns (right) disagree"
        );
    }
}

fn hex(octets: &[u8]) -> String {
    octets.iter().map(|b| format!("{b:02x}")).collect()
}
