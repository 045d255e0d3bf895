//! The query corpus, `tests/corpus/queries.txt`: one query per line, parsed into the exact bytes
//! to send.

use std::fmt;

use anyhow::{bail, ensure, Context, Result};
use lbdns_tests::wire::{flag, Builder};

use crate::presentation::{parse_class, parse_hex, parse_qtype, Z_FLAG};

/// The query corpus, one query per line; see the header of the file for its grammar.
const CORPUS: &str = include_str!("../../corpus/queries.txt");
/// Queries for a server configured with an identity, a version and an NSID, in the same
/// grammar.
const IDENTITY_CORPUS: &str = include_str!("../../corpus/identity.txt");

/// The least number of queries the corpus must hold.
const MIN_QUERIES: usize = 200;

/// The DNSSEC corpus: lines in the same grammar whose QNAMEs hold `ZONE`, each sent with and
/// without DO to each signed zone.
const DNSSEC_CORPUS: &str = include_str!("../../corpus/dnssec-queries.txt");

/// The least number of queries the DNSSEC corpus must make.
const MIN_DNSSEC_QUERIES: usize = 300;

/// How a query travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp4,
    Udp6,
    Tcp4,
    Tcp6,
}

impl Transport {
    pub fn is_tcp(self) -> bool {
        matches!(self, Self::Tcp4 | Self::Tcp6)
    }
}

/// The OPT record a query carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct QueryEdns {
    payload: u16,
    version: u8,
    dnssec_ok: bool,
    /// Raw option bytes (code, length, data)*.
    options: Vec<u8>,
}

/// One line of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    /// 1-based line in `queries.txt`, for messages.
    pub line: usize,
    pub category: String,
    /// The line as written, minus the category, for messages.
    pub text: String,
    pub transport: Transport,
    /// The exact bytes sent (without TCP framing).
    pub wire: Vec<u8>,
    /// Length of the question section in `wire` (0 when there is none to echo).
    pub question_len: usize,
    /// QTYPE and QCLASS of a query built from QNAME/QTYPE (`None` for raw bytes).
    pub qtype: Option<u16>,
    pub qclass: Option<u16>,
    /// The query's header flags word (opcode included) and whether its OPT set DO.
    pub flags: u16,
    pub dnssec_ok: bool,
}

/// Encodes a presentation-format name as uncompressed wire labels, case kept. Understands the
/// RFC 1035 s5.1 escapes `\.`, `\\` and `\DDD`, so the corpus can hold labels with dots and
/// non-ASCII octets. Deliberately checks neither label nor name length: over-long names are
/// part of the corpus.
pub fn encode_name(name: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if name != "." {
        let mut label = Vec::new();
        let mut chars = name.strip_suffix('.').unwrap_or(name).bytes();
        let flush = |label: &mut Vec<u8>, out: &mut Vec<u8>| -> Result<()> {
            ensure!(!label.is_empty(), "empty label in {name:?}");
            out.push(u8::try_from(label.len()).context("label over 255 octets")?);
            out.append(label);
            Ok(())
        };
        while let Some(c) = chars.next() {
            match c {
                b'.' => flush(&mut label, &mut out)?,
                b'\\' => match chars.next() {
                    Some(d) if d.is_ascii_digit() => {
                        let digits = [Some(d), chars.next(), chars.next()];
                        let text: Option<String> =
                            digits.iter().map(|d| d.map(char::from)).collect();
                        let value = text.and_then(|t| t.parse::<u8>().ok());
                        label.push(value.with_context(|| format!("bad \\DDD in {name:?}"))?);
                    }
                    Some(other) => label.push(other),
                    None => bail!("trailing backslash in {name:?}"),
                },
                _ => label.push(c),
            }
        }
        flush(&mut label, &mut out)?;
    }
    out.push(0);
    Ok(out)
}

/// Length of the question starting at offset 12 of a query we built: an uncompressed name
/// followed by type and class. `None` when the bytes do not hold one.
fn question_len(wire: &[u8]) -> Option<usize> {
    let mut pos = 12;
    loop {
        let len = usize::from(*wire.get(pos)?);
        if len == 0 {
            break;
        }
        if len > 0x3f {
            return None;
        }
        pos += 1 + len;
    }
    let end = pos + 1 + 4;
    (end <= wire.len()).then_some(end - 12)
}

impl Case {
    /// Parses one non-comment corpus line; `id` becomes the query ID.
    pub fn parse(line: usize, text: &str, id: u16) -> Result<Self> {
        let text = text.split('#').next().unwrap_or_default().trim();
        let mut words = text.split_whitespace();
        let (Some(category), Some(qname), Some(qtype)) = (words.next(), words.next(), words.next())
        else {
            bail!("expected CATEGORY QNAME QTYPE [OPTION...]");
        };
        let mut transport = Transport::Udp4;
        let mut flags = 0u16;
        let mut opcode = 0u8;
        let mut class = 1u16;
        let mut edns: Option<QueryEdns> = None;
        let mut counts: [Option<u16>; 4] = [None; 4];
        let mut append = Vec::new();
        let mut raw = None;
        /// `do`, `ednsver` and `ednsopt` imply an OPT; 1232 is the RFC 9715 default size.
        fn edns_or_default(e: &mut Option<QueryEdns>) -> &mut QueryEdns {
            e.get_or_insert_with(|| QueryEdns {
                payload: 1232,
                ..QueryEdns::default()
            })
        }
        for opt in words {
            let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
            let num = || -> Result<u16> {
                value
                    .parse()
                    .with_context(|| format!("option {key} needs a number, got {value:?}"))
            };
            match key {
                "tcp" => transport = Transport::Tcp4,
                "tcp6" => transport = Transport::Tcp6,
                "udp6" => transport = Transport::Udp6,
                "rd" => flags |= flag::RD,
                "cd" => flags |= flag::CD,
                "ad" => flags |= flag::AD,
                "tc" => flags |= flag::TC,
                "qr" => flags |= flag::QR,
                "z" => flags |= Z_FLAG,
                "opcode" => opcode = u8::try_from(num()?)?,
                "class" => class = parse_class(value)?,
                "edns" => edns_or_default(&mut edns).payload = num()?,
                "do" => edns_or_default(&mut edns).dnssec_ok = true,
                "ednsver" => edns_or_default(&mut edns).version = u8::try_from(num()?)?,
                "ednsopt" => {
                    let (code, data) = value.split_once(':').context("ednsopt=CODE:HEX")?;
                    let code: u16 = code.parse()?;
                    let data = parse_hex(data)?;
                    let o = &mut edns_or_default(&mut edns).options;
                    o.extend_from_slice(&code.to_be_bytes());
                    o.extend_from_slice(&u16::try_from(data.len())?.to_be_bytes());
                    o.extend_from_slice(&data);
                }
                "qdcount" => counts[0] = Some(num()?),
                "ancount" => counts[1] = Some(num()?),
                "nscount" => counts[2] = Some(num()?),
                "arcount" => counts[3] = Some(num()?),
                "append" => append = parse_hex(value)?,
                "raw" => raw = Some(parse_hex(value)?),
                _ => bail!("unknown option {opt:?}"),
            }
        }
        let (wire, qtype) = if let Some(raw) = raw {
            ensure!(
                qname == "-" && qtype == "-",
                "raw= needs QNAME and QTYPE to be \"-\""
            );
            (raw, None)
        } else {
            let qtype = parse_qtype(qtype)?;
            let mut b = Builder::new(id, flags).opcode(opcode).question_raw(
                &encode_name(qname)?,
                qtype,
                class,
            );
            if let Some(e) = &edns {
                let ednsflags = if e.dnssec_ok { 0x8000 } else { 0 };
                b = b.opt(&[0], e.payload, e.version, ednsflags, &e.options);
            }
            if counts.iter().any(Option::is_some) {
                let natural = [1, 0, 0, u16::from(edns.is_some())];
                let c: Vec<u16> = counts
                    .iter()
                    .zip(natural)
                    .map(|(o, n)| o.unwrap_or(n))
                    .collect();
                b = b.counts(c[0], c[1], c[2], c[3]);
            }
            let mut wire = b.build();
            wire.extend_from_slice(&append);
            (wire, Some(qtype))
        };
        let question_len = question_len(&wire).unwrap_or(0);
        let header_flags = wire
            .get(2..4)
            .map_or(0, |f| u16::from_be_bytes([f[0], f[1]]));
        Ok(Self {
            line,
            category: category.to_string(),
            text: text[category.len()..]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            transport,
            wire,
            question_len,
            qclass: qtype.map(|_| class),
            qtype,
            flags: header_flags,
            dnssec_ok: edns.as_ref().is_some_and(|e| e.dnssec_ok),
        })
    }
}

/// `line N [category] query`, as reports name a case.
impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} [{}] {}", self.line, self.category, self.text)
    }
}

/// Parses the whole corpus, which must hold at least [`MIN_QUERIES`] queries.
pub fn load_corpus() -> Result<Vec<Case>> {
    let cases = load(CORPUS, "queries.txt")?;
    ensure!(
        cases.len() >= MIN_QUERIES,
        "the corpus has only {} queries",
        cases.len()
    );
    Ok(cases)
}

/// Parses the identity corpus, `tests/corpus/identity.txt`.
pub fn load_identity_corpus() -> Result<Vec<Case>> {
    load(IDENTITY_CORPUS, "identity.txt")
}

/// Parses a corpus file's text. Query IDs are derived from the line number so that every run
/// sends byte-identical queries.
fn load(corpus: &str, file: &str) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for (i, text) in corpus.lines().enumerate() {
        let t = text.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let line = i + 1;
        let id = 0x4000 + u16::try_from(line)?;
        cases.push(Case::parse(line, t, id).with_context(|| format!("{file} line {line}: {t}"))?);
    }
    Ok(cases)
}

/// Parses the DNSSEC corpus once per zone in `origins`, every line twice: as written, then
/// with the DO bit. IDs are derived from the zone, the line and DO, so runs are repeatable.
pub fn load_dnssec_corpus(origins: &[&str]) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for (z, origin) in origins.iter().enumerate() {
        for (i, text) in DNSSEC_CORPUS.lines().enumerate() {
            let t = text.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let line = i + 1;
            let t = t.replace("ZONE", origin);
            for (dnssec_ok, text) in [(false, t.clone()), (true, format!("{t} do"))] {
                let id = 0x8000 + u16::try_from((z * 1000 + line) * 2 + usize::from(dnssec_ok))?;
                let case = Case::parse(line, &text, id)
                    .with_context(|| format!("dnssec-queries.txt line {line}: {text}"))?;
                cases.push(case);
            }
        }
    }
    ensure!(
        cases.len() >= MIN_DNSSEC_QUERIES,
        "the DNSSEC corpus makes only {} queries",
        cases.len()
    );
    Ok(cases)
}
