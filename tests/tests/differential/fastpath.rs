//! Proof that the XDP program, not the socket path, answered: in [`Mode::Xdp`](crate::Mode) the
//! program's counters are read (`lbdns stats`) after every query to lbdns, and every query the
//! program must answer has to have moved an `answered_*` counter. Without this the XDP variant
//! would pass just as well with a program that passes everything to the sockets.
//!
//! Which queries the program must answer is decided here from the zones, with lbdns's own
//! `compile::hot_rrsets` and `compile::compile` (the RRsets the daemon puts in the maps), and from the query bytes,
//! conservatively: a UDP query with one IN A or AAAA question for a hot name, no header flag
//! but RD, AD and CD, no EDNS or EDNS version 0 without options, not DO=1 for a signed RRset
//! unless the maps hold its RRSIGs, whose reply (with those RRSIGs under DO=1) fits 512 octets
//! or the advertised size up to 1232. The program answers more than that (NSID); those count as
//! answered but are not required.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, ensure, Result};
use lbdns::compile::{compile, hot_rrsets, AddrType};
use lbdns::config::Overrides;
use lbdns::served;
use lbdns::zone::ZoneSpec;
use lbdns_common::counters::Counter;
use lbdns_tests::env::run_ok;
use lbdns_tests::lbdns_bin;

use crate::corpus::Case;

/// Bound on one `lbdns stats`; it answers in milliseconds.
const STATS_TIMEOUT: Duration = Duration::from_secs(10);
/// The counters of queries the program answered: addresses, NXDOMAIN, or a fixed reply.
const ANSWERED: [&str; 5] = [
    "answered_a",
    "answered_aaaa",
    "answered_nxdomain_a",
    "answered_nxdomain_aaaa",
    "answered_fixed",
];
/// Bytes of an answer record besides its address: a compression pointer to the question,
/// TYPE, CLASS, TTL and RDLENGTH.
const RECORD_FIXED_LEN: usize = 12;
/// Bytes of an OPT record without options.
const OPT_LEN: usize = 11;
/// The largest UDP reply either path sends, whatever the requester advertises.
const EDNS_PAYLOAD: usize = 1232;
/// The header flags a query the program answers may carry: RD, AD and CD.
const ANSWERABLE_FLAGS: u16 = 0x0100 | 0x0020 | 0x0010;

/// A hot RRset as far as the reply's size and DO=1 are concerned.
#[derive(Debug, Clone, Copy)]
struct Hot {
    records: usize,
    addr_len: usize,
    signed: bool,
    /// Octets of the RRSIG records a DO=1 reply carries, when the maps hold them.
    rrsig_len: Option<usize>,
}

/// The hot RRsets of the zones lbdns serves that its maps hold, by (lowercase wire-format owner, RR type).
#[derive(Debug)]
pub struct HotNames(HashMap<(Vec<u8>, u16), Hot>);

impl HotNames {
    /// Loads `zones` with the daemon's own loading (`served::load`, each file's own `$ORIGIN`)
    /// and takes their hot RRsets.
    pub fn load(zones: &[(String, PathBuf)]) -> Result<Self> {
        let overrides = Overrides {
            zones: zones
                .iter()
                .map(|(_, path)| ZoneSpec {
                    file: path.clone(),
                    origin: None,
                })
                .collect(),
            ..Overrides::default()
        };
        let loaded = served::settings(None, overrides)
            .and_then(|settings| served::load(&settings))
            .map_err(|error| anyhow!("{}", error.messages().join("\n")))?;
        let rrsets = hot_rrsets(&loaded.catalog);
        // What the compiler leaves out of the maps (more addresses than an answer set holds)
        // the socket path answers alone.
        let compiled = compile(rrsets.clone())?;
        let skipped = compiled.skipped;
        let too_large = compiled.signatures_too_large;
        let hot = rrsets
            .into_iter()
            .filter(|rrset| {
                !skipped
                    .iter()
                    .any(|s| s.id.name == rrset.name && s.id.qtype == rrset.qtype)
            })
            .map(|rrset| {
                let addr_len = match rrset.qtype {
                    AddrType::A => 4,
                    AddrType::Aaaa => 16,
                };
                let records = rrset
                    .cap
                    .map_or(rrset.addrs.len(), |cap| cap.min(rrset.addrs.len()));
                let stored = !too_large
                    .iter()
                    .any(|id| id.name == rrset.name && id.qtype == rrset.qtype);
                let rrsig_len = rrset.rrsigs.as_ref().filter(|_| stored).map(|rrsigs| {
                    rrsigs
                        .rdatas
                        .iter()
                        .map(|rdata| RECORD_FIXED_LEN + rdata.len())
                        .sum()
                });
                let hot = Hot {
                    records,
                    addr_len,
                    signed: rrset.signed,
                    rrsig_len,
                };
                ((rrset.name, rrset.qtype.rr_type()), hot)
            })
            .collect();
        Ok(Self(hot))
    }

    /// Whether the program must answer `case` (see the module comment).
    pub fn must_answer(&self, case: &Case) -> bool {
        let (Some(qtype), Some(1)) = (case.qtype, case.qclass) else {
            return false;
        };
        if case.transport.is_tcp() || case.flags & !ANSWERABLE_FLAGS != 0 {
            return false;
        }
        let question_end = 12 + case.question_len;
        if case.question_len < 5 || !shaped_as_built(case, question_end) {
            return false;
        }
        let name = case.wire[12..question_end - 4].to_ascii_lowercase();
        let Some(hot) = self.0.get(&(name, qtype)) else {
            return false;
        };
        let answer_end = question_end + hot.records * (RECORD_FIXED_LEN + hot.addr_len);
        let fits = match &case.edns {
            None => answer_end <= 512,
            Some(edns) => {
                let plain = edns.version == 0 && edns.options.is_empty();
                let limit = usize::from(edns.payload).clamp(512, EDNS_PAYLOAD);
                let end = match (edns.dnssec_ok && hot.signed, hot.rrsig_len) {
                    (false, _) => Some(answer_end),
                    (true, Some(rrsigs)) => Some(answer_end + rrsigs),
                    (true, None) => None,
                };
                plain && end.is_some_and(|end| end + OPT_LEN <= limit)
            }
        };
        fits && hot.records > 0
    }
}

/// Whether the query is exactly its header, one question and the OPT record it was given:
/// the corpus also makes queries with other section counts or trailing bytes.
fn shaped_as_built(case: &Case, question_end: usize) -> bool {
    let opt_len = case
        .edns
        .as_ref()
        .map_or(0, |edns| OPT_LEN + edns.options.len());
    let arcount = u8::from(case.edns.is_some());
    case.wire.len() == question_end + opt_len && case.wire[4..12] == [0, 1, 0, 0, 0, 0, 0, arcount]
}

/// The program's counters, read after each query to lbdns, and which queries it answered.
#[derive(Debug)]
pub struct FastPathWatch {
    control: PathBuf,
    hot: HotNames,
    last: BTreeMap<String, u64>,
    answered: usize,
    required: usize,
    /// Queries the program had to answer but passed, with the counters they moved.
    missed: Vec<String>,
}

impl FastPathWatch {
    /// Starts from the counters as they are now.
    pub fn new(control: &Path, hot: HotNames) -> Result<Self> {
        let last = counters(control)?;
        Ok(Self {
            control: control.to_path_buf(),
            hot,
            last,
            answered: 0,
            required: 0,
            missed: Vec::new(),
        })
    }

    /// Records what the program did with `case`, just sent to lbdns (and only to it since the
    /// last call: queries to NSD's port only move `pass_not_dns`, which is ignored, as are ARP
    /// and neighbour discovery). Returns whether the program answered it.
    pub fn observe(&mut self, case: &Case) -> Result<bool> {
        let now = counters(&self.control)?;
        let moved: BTreeMap<&str, u64> = now
            .iter()
            .filter(|(name, _)| name.as_str() != "pass_not_dns")
            .filter_map(|(name, &value)| {
                let delta = value - self.last.get(name).copied().unwrap_or(0);
                (delta > 0).then_some((name.as_str(), delta))
            })
            .collect();
        let answered = ANSWERED.iter().any(|name| moved.contains_key(name));
        self.answered += usize::from(answered);
        if self.hot.must_answer(case) {
            self.required += 1;
            if !answered {
                self.missed
                    .push(format!("{case}: counters moved {moved:?}"));
            }
        }
        self.last = now;
        Ok(answered)
    }

    /// Fails unless the program answered every query it must, and at least one.
    pub fn verdict(&self, total: usize) -> Result<()> {
        println!(
            "XDP answered {} of {total} queries; {} of them had to be ({} passed instead)",
            self.answered,
            self.required,
            self.missed.len()
        );
        ensure!(
            self.required > 0,
            "no query of the corpus is one the XDP program must answer: the XDP mode proves nothing"
        );
        ensure!(
            self.missed.is_empty(),
            "the XDP program passed {} of the {} queries it must answer:\n  {}",
            self.missed.len(),
            self.required,
            self.missed.join("\n  ")
        );
        Ok(())
    }
}

/// `lbdns stats` over the control socket: the program's counters by name (its other lines,
/// the socket path's counters and the cost per packet, left out).
fn counters(control: &Path) -> Result<BTreeMap<String, u64>> {
    let out = run_ok(
        Command::new(lbdns_bin()?)
            .arg("stats")
            .arg("--control")
            .arg(control),
        STATS_TIMEOUT,
    )?;
    let counters: BTreeMap<String, u64> = out
        .stdout
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(' ')?;
            let value = value.trim().parse().ok()?;
            let known = Counter::ALL.iter().any(|counter| counter.name() == name);
            known.then(|| (name.to_owned(), value))
        })
        .collect();
    ensure!(
        ANSWERED.iter().all(|name| counters.contains_key(*name)),
        "`lbdns stats` printed no XDP counters:\n{}",
        out.stdout
    );
    Ok(counters)
}
