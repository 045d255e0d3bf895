//! The documented divergences: where lbdns and NSD legitimately differ, each with the RFC text
//! that allows both behaviours, and the reconciling that cancels exactly that difference.

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use lbdns_tests::wire::flag;

use crate::compare::{compare, Mismatch};
use crate::corpus::Case;
use crate::reply::{Echo, Outcome, Reply, Rr};
use crate::servers::ZONES;
use crate::signed::SIGNED_ZONES;

// RCODEs the divergences name (RFC 1035 s4.1.1, RFC 6891 s9).
const NOERROR: u16 = 0;
const FORMERR: u16 = 1;
const NOTIMP: u16 = 4;
const REFUSED: u16 = 5;
const YXDOMAIN: u16 = 6;
const BADVERS: u16 = 16;

/// A difference between lbdns and NSD that the RFCs allow. `reason` says why both
/// behaviours are correct, with the RFC text; it is printed with the summary so that nobody
/// has to take an exemption on trust.
pub struct Divergence {
    pub name: &'static str,
    pub reason: &'static str,
    /// Rewrites the two replies (lbdns first) to cancel exactly this divergence when the
    /// query and replies show it, and reports whether it changed anything. It checks what it
    /// can of the side it discards, and never touches anything else, so any other difference
    /// still fails the case.
    reconcile: fn(&Case, &mut Reply, &mut Reply) -> bool,
}

/// The documented divergences. Every other difference is a bug in one server or the other.
pub const DIVERGENCES: &[Divergence] = &[
    Divergence {
        name: "apex-ns-in-positive-answers",
        reason: "NSD (unless minimal-responses is set) adds the zone's NS RRset to the \
                 authority section of positive answers and those servers' addresses to the \
                 additional section; lbdns does not. RFC 1034 s4.3.2 requires authority data \
                 only for referrals (NS) and negative answers (SOA, RFC 2308 s2-3), and RFC \
                 2181 s9 makes additional data optional unless a referral needs glue.",
        reconcile: drop_nsd_apex_ns,
    },
    Divergence {
        name: "rfc9471-glue-truncation",
        reason: "RFC 9471 s3: when not all in-domain glue of a referral fits, the server MUST \
                 set TC. lbdns does; NSD 4.6 predates RFC 9471 and sends what fits without TC. \
                 Both replies must still be referrals with the same NS RRset and only glue in \
                 the additional section.",
        reconcile: accept_glue_truncation,
    },
    Divergence {
        name: "cd-copied",
        reason: "RFC 4035 s3.2.2: 'The name server side MUST copy the setting of the CD bit \
                 from a query to the corresponding response.' lbdns copies it; NSD 4.6 clears \
                 it when it serves no signed zone.",
        reconcile: |case, l, n| {
            let copied = case.flags & flag::CD != 0 && l.flags & flag::CD != 0;
            let changed = copied && n.flags & flag::CD == 0;
            if changed {
                l.flags &= !flag::CD;
            }
            changed
        },
    },
    Divergence {
        name: "do-copied-in-badvers",
        reason: "RFC 3225 s3: 'the DO bit of the query MUST be copied in the response.' \
                 lbdns also copies it into BADVERS replies; NSD 4.6 clears it there (RFC 6891 \
                 s6.1.3 says nothing specific about DO in BADVERS replies).",
        reconcile: |case, l, n| {
            let badvers = l.rcode == BADVERS && n.rcode == BADVERS && case.dnssec_ok;
            match (badvers, &mut l.edns, &n.edns) {
                (true, Some(le), Some(ne)) if le.dnssec_ok && !ne.dnssec_ok => {
                    le.dnssec_ok = false;
                    true
                }
                _ => false,
            }
        },
    },
    Divergence {
        name: "extended-dns-error",
        reason: "NSD attaches Extended DNS Error 20 'Not Authoritative' (RFC 8914 s4.21) to \
                 REFUSED replies for names outside its zones, and EDE 0 'DNAME expansion \
                 became too large' to the YXDOMAIN of RFC 6672 s2.2; RFC 8914 s3 lets a server \
                 add EDE options but never requires them, and lbdns sends none.",
        reconcile: |_, l, n| {
            const EDE: u16 = 15;
            let lbdns_has_ede = l
                .edns
                .as_ref()
                .is_some_and(|e| e.options.iter().any(|o| o.0 == EDE));
            match &mut n.edns {
                Some(e) if !lbdns_has_ede && matches!(n.rcode, REFUSED | YXDOMAIN) => {
                    let before = e.options.len();
                    e.options.retain(|o| o.0 != EDE);
                    e.options.len() != before
                }
                _ => false,
            }
        },
    },
    Divergence {
        name: "question-in-refusal",
        reason: "For classes it does not serve (HS, NONE) NSD refuses without a question \
                 section; lbdns echoes the question. RFC 1035 s4.1.1 does not require the \
                 question in error replies, and echoing it lets the client match the reply to \
                 its query (RFC 5452 s9.1).",
        reconcile: |_, l, n| {
            let changed = l.rcode == n.rcode
                && l.rcode == REFUSED
                && l.question == Echo::Exact
                && n.question == Echo::Absent;
            if changed {
                n.question = Echo::Exact;
            }
            changed
        },
    },
    Divergence {
        name: "qclass-any-refused",
        reason: "lbdns refuses QCLASS ANY; NSD answers it from its IN data without AA. RFC \
                 1035 s3.2.5 defines QCLASS * but RFC 6895 s3.2 notes its semantics were never \
                 fully specified, and an authoritative server may refuse what it does not \
                 serve (RFC 1035 s4.1.1, REFUSED for policy reasons). The lbdns reply must be \
                 an empty REFUSED and the NSD reply non-authoritative.",
        reconcile: |case, l, n| {
            let changed = case.qclass == Some(255)
                && l.rcode == REFUSED
                && l.has_no_records()
                && n.flags & flag::AA == 0
                && n.rcode != REFUSED;
            if changed {
                n.rcode = l.rcode;
                n.answer.clear();
                n.authority.clear();
                n.additional.clear();
            }
            changed
        },
    },
    Divergence {
        name: "axfr-over-udp-refused",
        reason: "RFC 5936 s4.2 leaves AXFR over UDP undefined. lbdns provides no zone \
                 transfers and refuses AXFR on any transport (RFC 1035 s4.1.1, REFUSED for \
                 policy), as both servers do over TCP; NSD answers NOTIMP over UDP because it \
                 implements AXFR only over TCP.",
        reconcile: |case, l, n| {
            let axfr_udp = case.qtype == Some(252) && !case.transport.is_tcp();
            rcode_only(axfr_udp, l, n, REFUSED, NOTIMP)
        },
    },
    Divergence {
        name: "opt-qtype-formerr",
        reason: "OPT is a pseudo-RR that exists only in messages (RFC 6891 s6.1.1), a Meta-TYPE \
                 in RFC 6895 s3.1, so a query for it is malformed: lbdns answers FORMERR, as \
                 BIND does. NSD treats it as a type without data (NODATA). The lbdns reply must \
                 be an empty FORMERR.",
        reconcile: |case, l, n| {
            let changed = case.qtype == Some(41)
                && l.rcode == FORMERR
                && l.has_no_records()
                && n.rcode == NOERROR
                && n.answer.is_empty();
            if changed {
                n.rcode = l.rcode;
                n.flags = l.flags;
                n.authority.clear();
                n.additional.clear();
            }
            changed
        },
    },
    Divergence {
        name: "dname-wildcard-nsec",
        reason: "When a DNAME leads to a name that a wildcard answers in an NSEC-signed zone, \
                 RFC 4035 s3.1.3.3 requires the NSEC proving that no closer match exists for \
                 the name answered. lbdns sends that NSEC; NSD 4.6 sends the one covering the \
                 target's closest encloser instead (query.c follows a DNAME through a \
                 temporary domain outside its tree), which a validator cannot use. Both \
                 replies must carry the same wildcard answer behind the DNAME and one NSEC \
                 with its RRSIG in authority.",
        reconcile: dname_wildcard_nsec,
    },
    Divergence {
        name: "rfc7871-client-subnet-echoed",
        reason: "RFC 7871 s7.2.1: 'An Authoritative Nameserver that implements this protocol \
                 and receives an ECS option MUST include an ECS option in its response', with \
                 the query's FAMILY, SOURCE PREFIX-LENGTH and ADDRESS; lbdns implements it \
                 (SCOPE 0 for a name that does not vary by location). NSD 4.6 does not, and \
                 ignores the option as RFC 6891 s6.1.2 asks of an unknown one. The echo must \
                 be the query's option with scope 0.",
        reconcile: |case, l, n| {
            let Some(asked) = case.edns.as_ref().map(|e| e.options.as_slice()) else {
                return false;
            };
            match (&mut l.edns, &n.edns) {
                (Some(le), Some(ne)) if ne.options.iter().all(|(code, _)| *code != 8) => {
                    let before = le.options.len();
                    le.options.retain(|(code, data)| {
                        // The query's option (code 8, length, data) with SCOPE (octet 3) 0.
                        let echoed = *code == 8
                            && data.len() >= 4
                            && data[3] == 0
                            && asked.windows(data.len() + 4).any(|w| {
                                w[..2] == [0, 8]
                                    && usize::from(u16::from_be_bytes([w[2], w[3]])) == data.len()
                                    && w[4..7] == data[..3]
                                    && w[8..] == data[4..]
                            });
                        !echoed
                    });
                    le.options.len() != before
                }
                _ => false,
            }
        },
    },
];

/// Compares two outcomes after applying every documented divergence that the query and
/// replies show; returns the differences left and the divergences that were applied.
pub fn reconcile(
    case: &Case,
    lbdns: &Outcome,
    nsd: &Outcome,
) -> (Vec<Mismatch>, Vec<&'static str>) {
    let mismatches = compare(lbdns, nsd);
    let (Outcome::Reply(l), Outcome::Reply(n)) = (lbdns, nsd) else {
        return (mismatches, Vec::new());
    };
    if mismatches.is_empty() {
        return (mismatches, Vec::new());
    }
    let (mut l, mut n) = (l.clone(), n.clone());
    let applied: Vec<&str> = DIVERGENCES
        .iter()
        .filter(|d| (d.reconcile)(case, &mut l, &mut n))
        .map(|d| d.name)
        .collect();
    (compare(&Outcome::Reply(l), &Outcome::Reply(n)), applied)
}

/// A divergence in the RCODE alone: when `applies` to the query and lbdns answered
/// `lbdns_rcode` where NSD answered `nsd_rcode`, NSD's reply takes lbdns's RCODE; every other
/// field is still compared.
fn rcode_only(applies: bool, l: &Reply, n: &mut Reply, lbdns_rcode: u16, nsd_rcode: u16) -> bool {
    let changed = applies && l.rcode == lbdns_rcode && n.rcode == nsd_rcode;
    if changed {
        n.rcode = l.rcode;
    }
    changed
}

/// Target name of an NS, MX or SRV record, lowercased, in the owner-name format of
/// [`RrKey`](crate::reply::RrKey).
fn rdata_target(rr: &Rr) -> Option<String> {
    let skip = match rr.key.rtype {
        2 => 0,
        15 => 2,
        33 => 6,
        _ => return None,
    };
    let mut d = BinDecoder::new(rr.key.rdata.get(skip..)?);
    Name::read(&mut d).ok().map(|n| n.to_lowercase().to_ascii())
}

fn is_address(rr: &Rr) -> bool {
    matches!(rr.key.rtype, 1 | 28)
}

/// The type an RRSIG record covers (RFC 4034 §3.1.1); `None` for other records.
fn covered(rr: &Rr) -> Option<u16> {
    match (rr.key.rtype, rr.key.rdata.as_slice()) {
        (46, [high, low, ..]) => Some(u16::from_be_bytes([*high, *low])),
        _ => None,
    }
}

/// [`DIVERGENCES`] `apex-ns-in-positive-answers`: removes from NSD's authoritative positive
/// answer the NS RRset owned by a zone apex (and its RRSIGs, with DO=1 in a signed zone), and
/// the addresses of those servers (and their RRSIGs) from its additional section unless the
/// answer itself names them (an MX, SRV or NS target, whose addresses lbdns must supply too).
fn drop_nsd_apex_ns(_: &Case, _: &mut Reply, n: &mut Reply) -> bool {
    if n.flags & flag::AA == 0 || n.answer.is_empty() {
        return false;
    }
    let apexes: Vec<String> = ZONES
        .iter()
        .map(|(o, _)| *o)
        .chain(SIGNED_ZONES.iter().map(|(o, _)| *o))
        .map(|o| format!("{o}."))
        .collect();
    let is_apex_ns =
        |rr: &Rr| apexes.contains(&rr.key.owner) && (rr.key.rtype == 2 || covered(rr) == Some(2));
    let (apex_ns, rest): (Vec<Rr>, Vec<Rr>) = std::mem::take(&mut n.authority)
        .into_iter()
        .partition(is_apex_ns);
    n.authority = rest;
    if apex_ns.is_empty() {
        return false;
    }
    let wanted: Vec<String> = n.answer.iter().filter_map(rdata_target).collect();
    let servers: Vec<String> = apex_ns.iter().filter_map(rdata_target).collect();
    n.additional.retain(|rr| {
        let address = is_address(rr) || matches!(covered(rr), Some(1 | 28));
        !(address && servers.contains(&rr.key.owner) && !wanted.contains(&rr.key.owner))
    });
    true
}

/// [`DIVERGENCES`] `rfc9471-glue-truncation`: lbdns set TC on a referral whose glue did not
/// all fit, NSD did not. Checks that both are the same referral carrying only glue for its
/// own NS targets, then accepts NSD's choice of which glue fitted.
fn accept_glue_truncation(_: &Case, l: &mut Reply, n: &mut Reply) -> bool {
    let referral = |r: &Reply| {
        r.flags & flag::AA == 0
            && r.answer.is_empty()
            && !r.authority.is_empty()
            && r.authority.iter().all(|rr| rr.key.rtype == 2)
    };
    if !(l.flags & flag::TC != 0 && n.flags & flag::TC == 0 && referral(l) && referral(n)) {
        return false;
    }
    let targets: Vec<String> = l.authority.iter().filter_map(rdata_target).collect();
    let only_glue = |r: &Reply| {
        r.additional
            .iter()
            .all(|rr| is_address(rr) && targets.contains(&rr.key.owner))
    };
    if !only_glue(l) || !only_glue(n) {
        return false;
    }
    l.flags &= !flag::TC;
    l.additional = n.additional.clone();
    true
}

/// [`DIVERGENCES`] `dname-wildcard-nsec`: a DO=1 answer through a DNAME to a wildcard in an
/// NSEC-signed zone, where the two servers picked different NSECs as the wildcard proof.
/// Drops the NSEC and its RRSIG from both authority sections, nothing else.
fn dname_wildcard_nsec(case: &Case, l: &mut Reply, n: &mut Reply) -> bool {
    const DNAME: u16 = 39;
    const NSEC: u16 = 47;
    const RRSIG: u16 = 46;
    let is_proof = |rr: &Rr| rr.key.rtype == NSEC || covered(rr) == Some(NSEC);
    // An RRSIG whose labels field is below its owner's label count signs a wildcard
    // expansion (RFC 4035 s5.3.2).
    let expanded = |rr: &Rr| {
        let labels = rr.key.owner.split('.').filter(|l| !l.is_empty()).count();
        rr.key.rtype == RRSIG
            && rr
                .key
                .rdata
                .get(3)
                .is_some_and(|&l| usize::from(l) < labels)
    };
    let shape = |r: &Reply| {
        r.rcode == NOERROR
            && r.answer.iter().any(|rr| rr.key.rtype == DNAME)
            && r.answer.iter().any(expanded)
            && r.authority.iter().filter(|rr| rr.key.rtype == NSEC).count() == 1
            && r.authority.iter().filter(|rr| is_proof(rr)).count() == 2
    };
    let nsec_owner = |r: &Reply| {
        r.authority
            .iter()
            .find(|rr| rr.key.rtype == NSEC)
            .map(|rr| rr.key.owner.clone())
    };
    if !(case.dnssec_ok && shape(l) && shape(n) && nsec_owner(l) != nsec_owner(n)) {
        return false;
    }
    l.authority.retain(|rr| !is_proof(rr));
    n.authority.retain(|rr| !is_proof(rr));
    true
}
