//! Load-time checks of a signed zone's DNSSEC data, and the signature expiry report.
//!
//! Errors (the zone is not served, and a reload keeps the old one): DNSSEC RDATA that does not
//! decode (possible in RFC 3597 form), an NSEC3 owner that is not a hash directly below the
//! apex, and NSEC3 records hashed with parameters no NSEC3PARAM has: a chain that cannot prove
//! anything. Warnings, as NSD gives them: an NSEC3PARAM whose chain has no record for the apex
//! (ignored, as NSD ignores it), an RRSIG covering a type its owner does not have (never
//! served).

use hickory_proto::rr::{LowerName, Name, RecordType};

use super::owners::Owners;
use super::{SourceRecord, Zone, ZoneError, ZoneErrorKind};
use crate::dnssec::{self, Malformed, Nsec3, Nsec3Params, Rrsig};

/// The errors and warnings of the DNSSEC records in `records` of the zone at `apex`, given
/// the types each owner has (from `validate`). A record that `validate` did not accept among
/// them is an error of its own, which rejects the zone, so an orphan warning it might cause is
/// never shown.
pub(super) fn check(
    records: &[SourceRecord],
    apex: &LowerName,
    owners: &Owners,
) -> (Vec<ZoneError>, Vec<ZoneError>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let at = |r: &SourceRecord, kind| ZoneError {
        file: r.file.to_path_buf(),
        line: r.line,
        kind,
    };
    let params: Vec<Nsec3Params> = records
        .iter()
        .filter(|r| r.record.record_type() == RecordType::NSEC3PARAM)
        .filter_map(|r| Nsec3Params::from_nsec3param(dnssec::octets(&r.record.data)?).ok())
        .collect();
    for (i, r) in records.iter().enumerate() {
        let Some(wire) = dnssec::octets(&r.record.data) else {
            continue;
        };
        let decoded: Result<(), Malformed> = match r.record.record_type() {
            RecordType::RRSIG => Rrsig::decode(wire).map(|sig| {
                let covered = owners
                    .types(owners.of_record(i))
                    .contains(&sig.type_covered);
                if !covered {
                    warnings.push(at(
                        r,
                        ZoneErrorKind::OrphanSignature {
                            name: r.record.name.to_string(),
                            covered: sig.type_covered,
                        },
                    ));
                }
            }),
            RecordType::NSEC => dnssec::nsec_next_name(wire).map(drop),
            RecordType::NSEC3PARAM => Nsec3Params::from_nsec3param(wire).map(drop),
            RecordType::DNSKEY => dnssec::check_dnskey(wire),
            RecordType::DS => dnssec::check_ds(wire),
            RecordType::NSEC3 => Nsec3::decode(wire).map(|nsec3| {
                if let Some(why) = nsec3_problem(&r.record.name, apex, &nsec3, &params) {
                    errors.push(at(r, ZoneErrorKind::Nsec3Chain(why)));
                }
            }),
            _ => Ok(()),
        };
        if let Err(malformed) = decoded {
            errors.push(at(r, ZoneErrorKind::MalformedDnssec(malformed)));
        }
    }
    // As NSD: the first NSEC3PARAM whose chain holds the apex is used, and one without such a
    // chain is ignored with a warning (with none usable, negative answers carry no NSEC3).
    for r in records
        .iter()
        .filter(|r| r.record.record_type() == RecordType::NSEC3PARAM)
    {
        let Some(param) =
            dnssec::octets(&r.record.data).and_then(|wire| Nsec3Params::from_nsec3param(wire).ok())
        else {
            continue;
        };
        if chain_holds_apex(records, apex, &param) {
            break;
        }
        warnings.push(at(
            r,
            ZoneErrorKind::Nsec3Chain(format!(
                "no NSEC3 record for the apex {apex} made with this NSEC3PARAM: it is ignored, \
                 as NSD does, and denials cannot be proven with it"
            )),
        ));
    }
    (errors, warnings)
}

/// Whether the NSEC3 records made with `param` include one for the apex: the chain lbdns (and
/// NSD) would answer from. Only SHA-1 without flags can be used (RFC 5155 §4.1.2).
pub fn chain_holds_apex(records: &[SourceRecord], apex: &LowerName, param: &Nsec3Params) -> bool {
    if param.algorithm != dnssec::SHA1 {
        return false;
    }
    let hashed = param.hash(&Name::from(apex));
    records.iter().any(|r| {
        r.record.record_type() == RecordType::NSEC3
            && r.record
                .name
                .iter()
                .next()
                .and_then(dnssec::decode_hashed_label)
                == Some(hashed)
            && dnssec::octets(&r.record.data)
                .and_then(|wire| Nsec3::decode(wire).ok())
                .is_some_and(|nsec3| nsec3.params == *param)
    })
}

/// Why an NSEC3 record does not belong to the zone's chain, if it does not.
fn nsec3_problem(
    owner: &Name,
    apex: &LowerName,
    nsec3: &Nsec3,
    params: &[Nsec3Params],
) -> Option<String> {
    let hashed = owner.iter().next().and_then(dnssec::decode_hashed_label);
    if hashed.is_none() || LowerName::new(&owner.base_name()) != *apex {
        return Some(format!(
            "the owner {owner} is not a base32hex SHA-1 hash directly below the apex {apex}"
        ));
    }
    if nsec3.next_hashed_owner.len() != dnssec::SHA1_LEN {
        return Some("the next hashed owner is not a SHA-1 hash".to_owned());
    }
    match params.first() {
        None => Some("NSEC3 records but no NSEC3PARAM at the apex".to_owned()),
        Some(_) if params.contains(&nsec3.params) => None,
        Some(zone) => Some(format!(
            "hashed with algorithm {} iterations {} salt {} but the NSEC3PARAM says algorithm {} \
             iterations {} salt {}",
            nsec3.params.algorithm,
            nsec3.params.iterations,
            salt_text(&nsec3.params.salt),
            zone.algorithm,
            zone.iterations,
            salt_text(&zone.salt),
        )),
    }
}

fn salt_text(salt: &[u8]) -> String {
    if salt.is_empty() {
        return "-".to_owned();
    }
    salt.iter().map(|b| format!("{b:02X}")).collect()
}

/// Warnings for the signatures of `zone` that expire within `window` seconds of `now` (both
/// seconds since 1970), or have expired: each names the record's place, its owner, the type
/// it covers and when it expires. Times compare in RFC 1982 serial arithmetic (RFC 4034
/// §3.1.5), so the report stays right past 2106.
pub fn expiring(zone: &Zone, now: u64, window: u64) -> Vec<ZoneError> {
    zone.records
        .iter()
        .filter(|r| r.record.record_type() == RecordType::RRSIG)
        .filter_map(|r| {
            let sig = Rrsig::decode(dnssec::octets(&r.record.data)?).ok()?;
            let left = i64::from(sig.expiration.wrapping_sub(now as u32) as i32);
            (left < window as i64).then(|| ZoneError {
                file: r.file.to_path_buf(),
                line: r.line,
                kind: ZoneErrorKind::SignatureExpiry {
                    zone: zone.origin.to_string(),
                    name: r.record.name.to_string(),
                    covered: sig.type_covered,
                    expiry: timestamp(now as i64 + left),
                    expired: left <= 0,
                },
            })
        })
        .collect()
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a time in seconds since 1970.
fn timestamp(seconds: i64) -> String {
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const ZONE: &str = "$ORIGIN z.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 198.18.0.1\n";

    /// `text` after [`ZONE`], and the messages it loads with or fails with.
    fn load(text: &str) -> Result<Vec<String>, Vec<String>> {
        match Zone::parse(&format!("{ZONE}{text}"), Path::new("z"), None) {
            Ok(zone) => Ok(zone.warnings.iter().map(ToString::to_string).collect()),
            Err(errors) => Err(errors.messages().collect()),
        }
    }

    fn rrsig(covered: &str, expiry: &str) -> String {
        format!("RRSIG {covered} 13 3 60 {expiry} 20200101000000 7 z.test. c2ln")
    }

    #[test]
    fn rfc5155_4_nsec3_records_must_use_the_nsec3param_hash() {
        let params = Nsec3Params {
            algorithm: 1,
            iterations: 0,
            salt: [].into(),
        };
        let hash = |name: &str| {
            let digest = params.hash(&Name::from_ascii(name).unwrap());
            data_encoding::BASE32HEX_NOPAD.encode(&digest)
        };
        let apex = hash("z.test.");
        let good = format!("@ NSEC3PARAM 1 0 0 -\n{apex} NSEC3 1 0 0 - {apex} NS SOA\n");
        assert!(load(&good).is_ok(), "{:?}", load(&good));
        let salted = format!("@ NSEC3PARAM 1 0 0 -\n{apex} NSEC3 1 0 0 AB {apex} NS SOA\n");
        let errors = load(&salted).unwrap_err();
        assert!(
            errors[0].starts_with("z:7: NSEC3 chain: hashed with algorithm 1 iterations 0 salt AB"),
            "{errors:?}"
        );
        let other = format!("@ NSEC3PARAM 1 0 5 -\n{apex} NSEC3 1 0 5 - {apex} NS SOA\n");
        // The chain of the (first) NSEC3PARAM lacks the apex: ignored with a warning, as NSD.
        let warnings = load(&other).unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("z:6: NSEC3 chain: no NSEC3 record for the apex")),
            "{warnings:?}"
        );
        let misplaced = format!("@ NSEC3PARAM 1 0 0 -\n{apex}.ns NSEC3 1 0 0 - {apex} A\n");
        assert!(load(&misplaced)
            .unwrap_err()
            .iter()
            .any(|e| e.contains("not a base32hex SHA-1 hash directly below")));
    }

    #[test]
    fn rfc4034_malformed_dnssec_rdata_is_an_error_and_an_orphan_rrsig_a_warning() {
        let errors = load("ns TYPE46 \\# 4 00010d02\n").unwrap_err();
        assert!(
            errors[0].starts_with("z:6: malformed RRSIG RDATA"),
            "{errors:?}"
        );
        let warnings = load(&format!("ns {}\n", rrsig("TXT", "20300101000000"))).unwrap();
        assert!(
            warnings[0].contains("an RRSIG covering TXT at ns.z.test., which has no such RRset"),
            "{warnings:?}"
        );
    }

    #[test]
    fn rfc4034_3_1_5_signatures_near_or_past_expiry_are_reported() {
        let text = format!(
            "{ZONE}ns {}\n@ {}\n@ {}\n",
            rrsig("A", "20240110000000"),
            rrsig("SOA", "20231201000000"),
            rrsig("NS", "20300101000000")
        );
        let zone = Zone::parse(&text, Path::new("z"), None).unwrap();
        // 2024-01-05 00:00:00 UTC, a week's window.
        let report: Vec<String> = expiring(&zone, 1_704_412_800, 7 * 86_400)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            report,
            [
                "z:6: zone z.test.: the RRSIG of ns.z.test. A expires at 2024-01-10 00:00:00 UTC; re-sign the zone before then",
                "z:7: zone z.test.: the RRSIG of z.test. SOA expired at 2023-12-01 00:00:00 UTC; validating resolvers reject it: re-sign the zone",
            ]
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(timestamp(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
