//! Comparing two servers' outcomes field by field, sections as multisets of records.

use std::collections::BTreeMap;

use crate::presentation::{flags_text, rcode_name};
use crate::reply::{Outcome, ReplyEdns, Rr, RrKey};

/// One field on which the two replies disagree, rendered for humans.
#[derive(Debug)]
pub struct Mismatch {
    pub field: &'static str,
    pub lbdns: String,
    pub nsd: String,
}

/// Records of `a` not in `b` (multiset difference on the comparison key).
fn only_in<'a>(a: &'a [Rr], b: &[Rr]) -> Vec<&'a Rr> {
    let mut left: BTreeMap<&RrKey, usize> = BTreeMap::new();
    for rr in b {
        *left.entry(&rr.key).or_default() += 1;
    }
    a.iter()
        .filter(|rr| match left.get_mut(&rr.key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

fn lines(rrs: &[&Rr]) -> String {
    if rrs.is_empty() {
        return "(nothing extra)".into();
    }
    rrs.iter()
        .map(|r| r.text.as_str())
        .collect::<Vec<_>>()
        .join("\n              ")
}

/// Compares two outcomes field by field.
pub fn compare(lbdns: &Outcome, nsd: &Outcome) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let (l, n) = match (lbdns, nsd) {
        (Outcome::Reply(l), Outcome::Reply(n)) => (l, n),
        (Outcome::NoReply, Outcome::NoReply) | (Outcome::Closed, Outcome::Closed) => return out,
        _ => {
            out.push(Mismatch {
                field: "outcome",
                lbdns: lbdns.to_string(),
                nsd: nsd.to_string(),
            });
            return out;
        }
    };
    let mut field = |name: &'static str, a: String, b: String| {
        if a != b {
            out.push(Mismatch {
                field: name,
                lbdns: a,
                nsd: b,
            });
        }
    };
    field("id", l.id_matches.to_string(), n.id_matches.to_string());
    field("opcode", l.opcode.to_string(), n.opcode.to_string());
    field("rcode", rcode_name(l.rcode), rcode_name(n.rcode));
    field("flags", flags_text(l.flags), flags_text(n.flags));
    field(
        "question",
        format!("{:?}", l.question),
        format!("{:?}", n.question),
    );
    let show = |e: &Option<ReplyEdns>| e.as_ref().map_or("(no OPT)".into(), ToString::to_string);
    field("edns", show(&l.edns), show(&n.edns));
    for (name, a, b) in [
        ("answer", &l.answer, &n.answer),
        ("authority", &l.authority, &n.authority),
        ("additional", &l.additional, &n.additional),
    ] {
        let (extra_l, extra_n) = (only_in(a, b), only_in(b, a));
        if !extra_l.is_empty() || !extra_n.is_empty() {
            out.push(Mismatch {
                field: name,
                lbdns: lines(&extra_l),
                nsd: lines(&extra_n),
            });
        }
    }
    out
}
