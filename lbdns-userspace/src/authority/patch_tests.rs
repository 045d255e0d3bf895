//! `ZoneData::patched`: a patched zone answers every query exactly as the same zone indexed
//! whole does, signed or not, patch after patch; and what a patch cannot express is refused,
//! not patched wrong.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{LowerName, Name, RecordType};

use super::dnssec_tests::{nsec3_zone, nsec_zone};
use super::patch::Unpatchable;
use super::tests::{TCP, UDP};
use super::{changed_names, respond, Catalog, ZoneData};
use crate::zone::{SourceRecord, Zone};

const PLAIN: &str = "$ORIGIN p.test.\n$TTL 300\n@ SOA ns h 1 2 3 4 60\n@ NS ns\n\
                     ns A 198.18.0.53\na A 198.18.0.1\na AAAA 2001:db8::1\nb.c A 198.18.0.3\n\
                     www CNAME a\n*.w TXT \"wild\"\nd NS ns.d\nns.d A 198.18.1.1\nm MX 10 a\n";

const TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::AAAA,
    RecordType::TXT,
    RecordType::MX,
    RecordType::NS,
    RecordType::SOA,
    RecordType::CNAME,
    RecordType::DS,
    RecordType::NSEC,
    RecordType::RRSIG,
];

fn parse(text: &str) -> Zone {
    Zone::parse(text, Path::new("patch.test"), None).unwrap()
}

/// The owners whose records differ between `old` and `new`, each with all of its records in
/// `new` (none if it is gone): what an IXFR hands the patch.
fn changes(old: &Zone, new: &Zone) -> Vec<(Name, Vec<SourceRecord>)> {
    let by_owner = |zone: &Zone| {
        let mut owners: BTreeMap<LowerName, (Name, Vec<SourceRecord>)> = BTreeMap::new();
        for r in &zone.records {
            let entry = owners
                .entry(LowerName::new(&r.record.name))
                .or_insert_with(|| (r.record.name.clone(), Vec::new()));
            entry.1.push(r.clone());
        }
        owners
    };
    let (before, after) = (by_owner(old), by_owner(new));
    let shape = |records: Option<&(Name, Vec<SourceRecord>)>| -> Vec<String> {
        let mut lines: Vec<String> = records
            .map(|(_, rs)| rs.iter().map(|r| r.record.to_string()).collect())
            .unwrap_or_default();
        lines.sort();
        lines
    };
    let mut owners: Vec<&LowerName> = before.keys().chain(after.keys()).collect();
    owners.sort();
    owners.dedup();
    owners
        .into_iter()
        .filter(|owner| shape(before.get(*owner)) != shape(after.get(*owner)))
        .map(|owner| match after.get(owner) {
            Some((name, records)) => (name.clone(), records.clone()),
            None => (Name::from(owner), Vec::new()),
        })
        .collect()
}

/// Every name either zone has, a child and an absent sibling of each, asked each type with
/// DO clear and set: the replies' octets.
pub(crate) fn answers(data: ZoneData, names: &[Name]) -> Vec<(String, Vec<u8>)> {
    let origin = data.origin.clone();
    let catalog = Catalog::default()
        .with_zones([(origin, Some(Arc::new(data)))])
        .unwrap();
    let mut replies = Vec::new();
    for name in names {
        let probes = [
            Some(name.clone()),
            name.prepend_label("child").ok(),
            name.prepend_label("*").ok(),
        ];
        for probe in probes.into_iter().flatten() {
            for &rtype in TYPES {
                for dnssec_ok in [false, true] {
                    let mut query = Message::query();
                    query.metadata.id = 7;
                    query.add_query(Query::query(probe.clone(), rtype));
                    let mut edns = Edns::new();
                    edns.set_dnssec_ok(dnssec_ok).set_max_payload(4096);
                    query.edns = Some(edns);
                    let octets = query.to_vec().unwrap();
                    for client in [UDP, TCP] {
                        let reply = respond(&catalog, &octets, client).unwrap();
                        replies.push((format!("{probe} {rtype} do={dnssec_ok}"), reply));
                    }
                }
            }
        }
    }
    replies
}

fn owners(zones: &[&Zone]) -> Vec<Name> {
    let mut names: Vec<Name> = zones
        .iter()
        .flat_map(|zone| zone.records.iter().map(|r| r.record.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Patches `data` (indexed from `old`) into `new`, checks the patched zone answers as `new`
/// indexed whole, and that `changed_names` found by the patch covers what differs. Returns the
/// patched zone, for the next step.
fn patch_and_compare(data: &Arc<ZoneData>, old: &Zone, new: &Zone) -> Arc<ZoneData> {
    let patched = data
        .patched(&changes(old, new))
        .unwrap_or_else(|why| panic!("refused: {why}"));
    let names = owners(&[old, new]);
    let (ours, whole) = (
        answers(data.patched(&changes(old, new)).unwrap(), &names),
        answers(ZoneData::new(new), &names),
    );
    for ((question, mine), (_, theirs)) in ours.iter().zip(&whole) {
        assert_eq!(
            mine, theirs,
            "{question}: the patched zone answers otherwise"
        );
    }
    assert_eq!(ours.len(), whole.len());
    // Records as a transfer sends them, owners spelled as the zone spells them.
    let records = |zone: &ZoneData| {
        let mut lines: Vec<String> = zone.records().map(|r| r.to_string()).collect();
        lines.sort();
        lines
    };
    assert_eq!(records(&patched), records(&ZoneData::new(new)));
    let patched = Arc::new(patched);
    let catalog = |data: &Arc<ZoneData>| {
        Catalog::default()
            .with_zones([(data.origin.clone(), Some(data.clone()))])
            .unwrap()
    };
    let (before, after) = (catalog(data), catalog(&patched));
    let found = changed_names(&before, &after).expect("a patch changes names only");
    let whole = changed_names(&before, &catalog(&Arc::new(ZoneData::new(new))))
        .expect("a patchable change is names only");
    for name in whole {
        assert!(found.contains(&name), "{name} changed but was not found");
    }
    patched
}

/// Applies each edit in turn, patching the previous patched zone each time.
fn patch_in_steps(text: &str, edits: &[(&str, &str)]) {
    let mut old = parse(text);
    let mut data = Arc::new(ZoneData::new(&old));
    let mut current = text.to_owned();
    for (step, (from, to)) in edits.iter().enumerate() {
        assert!(
            current.contains(from),
            "edit {step}: {from:?} not in the zone"
        );
        current = current.replacen(from, to, 1);
        let new = parse(&current);
        data = patch_and_compare(&data, &old, &new);
        old = new;
    }
}

fn refusal(text: &str, from: &str, to: &str) -> Unpatchable {
    let old = parse(text);
    let new = parse(&text.replacen(from, to, 1));
    let changes = changes(&old, &new);
    assert!(!changes.is_empty());
    ZoneData::new(&old)
        .patched(&changes)
        .expect_err("must be refused")
}

/// RFC 1995 §4: an IXFR carries the records added and removed; the zone after it must
/// answer as the primary's zone does. Addresses, new names under new and old empty
/// non-terminals, an empty non-terminal gaining data, wildcards, CNAMEs.
#[test]
fn rfc1995_4_an_unsigned_zone_patched_answers_as_indexed_whole() {
    patch_in_steps(
        PLAIN,
        &[
            ("1 2 3 4 60\n", "2 2 3 4 60\n"),
            ("a A 198.18.0.1\n", "a A 198.18.0.9\n"),
            ("a A 198.18.0.9\n", "A A 198.18.0.9\n"),
            ("m MX", "New.Name A 198.18.0.2\nm MX"),
            ("m MX", "x.y.z A 198.18.0.7\nm MX"),
            ("m MX", "e.c A 198.18.0.4\nm MX"),
            ("m MX", "c TXT \"now\"\nm MX"),
            ("m MX", "*.c A 198.18.0.5\nm MX"),
            // Wildcards at depths the zone had none at: one whole, one an empty non-terminal.
            ("m MX", "*.x.y.z TXT \"deep\"\nm MX"),
            ("m MX", "n.*.e.c A 198.18.0.10\nm MX"),
            ("www CNAME a", "www CNAME m"),
            ("m MX", "q.w A 198.18.0.6\nm MX"),
            (
                "x.y.z A 198.18.0.7",
                "x.y.z A 198.18.0.8\nx.y.z 60 AAAA 2001:db8::8",
            ),
            ("A A 198.18.0.9\n", "a A 198.18.0.9\n"),
            ("ns.d A 198.18.1.1", "ns.d A 198.18.1.9"),
        ],
    );
}

/// RFC 4035 §3.1: signed answers and denial proofs stay right when addresses, their
/// signatures and an NSEC's type bitmap change in place.
#[test]
fn rfc4035_3_1_a_signed_zone_patched_answers_as_indexed_whole() {
    let nsec = nsec_zone();
    let a_sig = nsec
        .lines()
        .find(|line| line.starts_with("a RRSIG A "))
        .unwrap()
        .to_owned();
    patch_in_steps(
        &nsec,
        &[
            ("a A 198.18.0.1\n", "a A 198.18.0.9\n"),
            (&a_sig, &a_sig.replace("20300101000000", "20310101000000")),
            (
                "a NSEC b.c A MX RRSIG NSEC\n",
                "a NSEC b.c A MX TXT RRSIG NSEC\na TXT \"t\"\n",
            ),
            ("ns A 198.18.0.53", "ns A 198.18.0.54\nns AAAA 2001:db8::53"),
        ],
    );
    patch_in_steps(
        &nsec3_zone(),
        &[
            ("a A 198.18.0.1\n", "a A 198.18.0.9\n"),
            ("b.c A 198.18.0.3\n", "b.c A 198.18.0.4\n"),
        ],
    );
}

#[test]
fn what_a_patch_cannot_express_is_refused() {
    assert!(matches!(
        refusal(PLAIN, "m MX 10 a\n", ""),
        Unpatchable::Emptied(_)
    ));
    assert!(matches!(
        refusal(PLAIN, "m MX", "n NS ns.n\nm MX"),
        Unpatchable::Delegation(_)
    ));
    assert!(matches!(
        refusal(PLAIN, "m MX", "n DNAME a.p.test.\nm MX"),
        Unpatchable::Dname(_)
    ));
    assert!(matches!(
        refusal(
            &nsec_zone(),
            "ns A 198.18.0.53\n",
            "ns A 198.18.0.53\nnew.x A 198.18.0.9\nnew.x NSEC a A RRSIG NSEC\n"
        ),
        Unpatchable::Chains(_)
    ));
    assert!(matches!(
        refusal(
            &nsec3_zone(),
            "ns A 198.18.0.53\n",
            "ns A 198.18.0.53\nnew A 198.18.0.9\n"
        ),
        Unpatchable::Chains(_)
    ));
    let nsec = nsec_zone();
    let dnskey_sig = nsec
        .lines()
        .find(|line| line.starts_with("@ RRSIG DNSKEY "))
        .unwrap()
        .to_owned()
        + "\n";
    assert!(matches!(
        refusal(&nsec, &dnskey_sig, ""),
        Unpatchable::Chains(_)
    ));
}
