//! Differential test: lbdns against NSD, the reference authoritative server.
//!
//! Both servers load the same zones (`zones/example.com.zone` plus the zones in
//! `tests/corpus/`) inside the server namespace of a [`Topology`]; every query of
//! `tests/corpus/queries.txt` is sent from the client namespace to each of them, and the two
//! replies must agree on rcode, header flags, the echoed question, EDNS, and the answer,
//! authority and additional sections compared as sets of records with their TTLs.
//!
//! Why sets: record order within a section carries no meaning for an authoritative answer
//! (RFC 2181 §5 makes an RRset unordered), and lbdns deliberately rotates multi-record
//! A/AAAA RRsets, so sections are sorted before comparison. Names are compared caselessly
//! (RFC 4343) except the question, which must come back byte for byte (RFC 1035 §7.3 and the
//! 0x20 case-randomisation resolvers use).
//!
//! Where the two servers legitimately differ the test does not paper over it with a blanket
//! ignore: each divergence is listed in [`DIVERGENCES`] with the RFC text that allows both
//! behaviours, and it is reconciled only where the query and both replies show exactly that
//! difference; anything else left over fails the query.
//!
//! `LBDNS_DIFF_VERBOSE=1` prints every query with both replies (with `--nocapture`), and
//! `LBDNS_TEST_SERVER=nsd` puts a second NSD in lbdns's place to check the machinery itself.
//!
//! Replies are decoded record by record with hickory-proto's name and RDATA decoders, but the
//! message walk is our own: hickory's whole-message decoder rejects records with empty RDATA
//! (it takes them for RFC 2136 update prerequisites), which an unknown type in RFC 3597 form
//! legitimately has.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, Restrict,
};
use lbdns_tests::client::{udp_exchange, TcpConn, TcpRecv};
use lbdns_tests::wire::{flag, Builder};
use lbdns_tests::{preflight, workspace_root, Server, TempDir, Topology};

/// The query corpus, one query per line; see the header of the file for its grammar.
const CORPUS: &str = include_str!("../corpus/queries.txt");

/// Port lbdns listens on in the server namespace.
const LBDNS_PORT: u16 = 53;
/// Port NSD listens on, next to lbdns on the same addresses.
const NSD_PORT: u16 = 5300;

/// How long to wait for one reply. Replies over a veth pair take well under a millisecond;
/// the margin only matters for queries that are meant to be dropped.
const REPLY_TIMEOUT: Duration = Duration::from_millis(700);
/// UDP sends per query before concluding "no reply": a second try covers a first packet lost
/// while neighbour discovery settles.
const UDP_TRIES: u32 = 2;
/// Bound on the whole corpus run, so a wedged server cannot hang the suite.
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// The zones both servers serve: origin and file, relative to the workspace root.
const ZONES: &[(&str, &str)] = &[
    ("example.com", "zones/example.com.zone"),
    ("lbdns.test", "tests/corpus/lbdns.test.zone"),
    ("child.lbdns.test", "tests/corpus/child.lbdns.test.zone"),
];

// ------------------------------------------------------------------------------------------
// The corpus
// ------------------------------------------------------------------------------------------

/// How a query travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp4,
    Udp6,
    Tcp4,
    Tcp6,
}

impl Transport {
    fn is_tcp(self) -> bool {
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
struct Case {
    /// 1-based line in `queries.txt`, for messages.
    line: usize,
    category: String,
    /// The line as written, minus the category, for messages.
    text: String,
    transport: Transport,
    /// The exact bytes sent (without TCP framing).
    wire: Vec<u8>,
    /// Length of the question section in `wire` (0 when there is none to echo).
    question_len: usize,
    /// QTYPE and QCLASS of a query built from QNAME/QTYPE (`None` for raw bytes).
    qtype: Option<u16>,
    qclass: Option<u16>,
    /// The query's header flags word (opcode included) and whether its OPT set DO.
    flags: u16,
    dnssec_ok: bool,
}

/// Parses `TYPEnnn` (RFC 3597 §5) or a mnemonic.
fn parse_qtype(s: &str) -> Result<u16> {
    if let Some(n) = s.strip_prefix("TYPE") {
        return n
            .parse()
            .with_context(|| format!("bad RFC 3597 type {s:?}"));
    }
    let t: RecordType = s.parse().with_context(|| format!("unknown type {s:?}"))?;
    Ok(t.into())
}

/// Parses a class mnemonic or number.
fn parse_class(s: &str) -> Result<u16> {
    Ok(match s {
        "IN" => 1,
        "CH" => 3,
        "HS" => 4,
        "NONE" => 254,
        "ANY" => 255,
        n => n.parse().with_context(|| format!("unknown class {s:?}"))?,
    })
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    ensure!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).with_context(|| format!("bad hex {s:?}")))
        .collect()
}

/// Encodes a presentation-format name as uncompressed wire labels, case kept. Understands the
/// RFC 1035 s5.1 escapes `\.`, `\\` and `\DDD`, so the corpus can hold labels with dots and
/// non-ASCII octets. Deliberately checks neither label nor name length: over-long names are
/// part of the corpus.
fn encode_name(name: &str) -> Result<Vec<u8>> {
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
    fn parse(line: usize, text: &str, id: u16) -> Result<Self> {
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
                "z" => flags |= 0x0040,
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

/// Parses the whole corpus. Query IDs are derived from the line number so that every run
/// sends byte-identical queries.
fn load_corpus() -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for (i, text) in CORPUS.lines().enumerate() {
        let t = text.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let line = i + 1;
        let id = 0x4000 + u16::try_from(line)?;
        cases.push(
            Case::parse(line, t, id).with_context(|| format!("queries.txt line {line}: {t}"))?,
        );
    }
    Ok(cases)
}

// ------------------------------------------------------------------------------------------
// Decoding replies into a comparable form
// ------------------------------------------------------------------------------------------

/// A record as compared: owner lowercased, RDATA in DNSSEC canonical form (uncompressed,
/// embedded names lowercased, RFC 4034 §6.2) so that compression and case choices, which are
/// each server's own business, do not count as differences.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RrKey {
    owner: String,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: Vec<u8>,
}

/// A decoded record: its comparison key and a presentation line for diffs.
#[derive(Debug, Clone)]
struct Rr {
    key: RrKey,
    text: String,
}

/// The OPT record of a reply (RFC 6891 §6.1.2/6.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReplyEdns {
    owner_is_root: bool,
    payload: u16,
    /// Upper eight bits of the RCODE; shown as part of [`Reply::rcode`].
    ext_rcode: u8,
    version: u8,
    dnssec_ok: bool,
    /// The 15 flag bits after DO, which must be zero.
    z: u16,
    /// (code, data) of every option, in order.
    options: Vec<(u16, Vec<u8>)>,
}

/// How the question section of a reply relates to the query's.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Echo {
    /// Byte for byte the question that was sent, case included.
    Exact,
    /// No question section (qdcount 0).
    Absent,
    /// Something else: the presentation of what came back.
    Different(String),
}

/// A decoded reply.
#[derive(Debug, Clone)]
struct Reply {
    id_matches: bool,
    opcode: u8,
    /// QR AA TC RD RA Z AD CD, the header bits after the opcode.
    flags: u16,
    /// Full 12-bit RCODE: header bits plus the OPT's extended bits.
    rcode: u16,
    question: Echo,
    answer: Vec<Rr>,
    authority: Vec<Rr>,
    /// Additional section without the OPT record, which is in `edns`.
    additional: Vec<Rr>,
    edns: Option<ReplyEdns>,
    size: usize,
}

/// What one server did with one query.
#[derive(Debug, Clone)]
enum Outcome {
    /// Nothing within the timeout (dropped).
    NoReply,
    /// TCP only: the server closed the connection without replying.
    Closed,
    /// A reply that does not decode as DNS.
    Undecodable {
        error: String,
        hex: String,
    },
    Reply(Box<Reply>),
}

/// Mask of the header flag bits compared: everything except opcode and RCODE.
const FLAG_BITS: u16 = 0x8000 | 0x0780 | 0x0070;

fn rcode_name(rcode: u16) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        9 => "NOTAUTH".into(),
        16 => "BADVERS".into(),
        n => format!("RCODE{n}"),
    }
}

fn flags_text(flags: u16) -> String {
    let names = [
        (0x8000, "qr"),
        (flag::AA, "aa"),
        (flag::TC, "tc"),
        (flag::RD, "rd"),
        (flag::RA, "ra"),
        (0x0040, "z"),
        (flag::AD, "ad"),
        (flag::CD, "cd"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        "-".into()
    } else {
        set.join(" ")
    }
}

fn type_name(rtype: u16) -> String {
    match RecordType::from(rtype) {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        t => t.to_string(),
    }
}

fn class_name(class: u16) -> String {
    match class {
        1 => "IN".into(),
        3 => "CH".into(),
        4 => "HS".into(),
        254 => "NONE".into(),
        255 => "ANY".into(),
        n => format!("CLASS{n}"),
    }
}

/// RFC 3597 generic presentation: `\# LEN HEX`.
fn generic_rdata(rdata: &[u8]) -> String {
    let hex: String = rdata.iter().map(|b| format!("{b:02x}")).collect();
    format!("\\# {} {hex}", rdata.len())
}

/// TXT presentation with each character-string quoted, so string boundaries show.
fn txt_rdata(rdata: &[u8]) -> Option<String> {
    let mut out = Vec::new();
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let s = tail.get(..usize::from(len))?;
        let mut q = String::from("\"");
        for &c in s {
            match c {
                b'"' | b'\\' => {
                    q.push('\\');
                    q.push(char::from(c));
                }
                0x20..=0x7e => q.push(char::from(c)),
                _ => {
                    let _ = write!(q, "\\{c:03}");
                }
            }
        }
        q.push('"');
        out.push(q);
        rest = &tail[usize::from(len)..];
    }
    Some(out.join(" "))
}

/// Reads a big-endian u16 from the decoder.
fn read_u16(d: &mut BinDecoder<'_>) -> Result<u16> {
    Ok(d.read_u16()?.unverified())
}

/// Decodes RDATA at `offset..offset+len` of `wire` into (canonical bytes, presentation).
/// Falls back to the raw bytes and RFC 3597 form when hickory does not know or cannot read
/// the type; both servers' replies go through the same path, so a fallback never hides a
/// difference in the bytes themselves.
fn decode_rdata(wire: &[u8], offset: usize, len: u16, rtype: u16) -> (Vec<u8>, String) {
    let raw = &wire[offset..offset + usize::from(len)];
    let generic = || (raw.to_vec(), generic_rdata(raw));
    if len == 0 {
        return generic();
    }
    let mut d = BinDecoder::new(wire);
    if d.read_slice(offset).is_err() {
        return generic();
    }
    let rdata = match RData::read(&mut d, RecordType::from(rtype), Restrict::new(len)) {
        Ok(r) if d.index() == offset + usize::from(len) => r,
        _ => return generic(),
    };
    let mut canonical = Vec::new();
    let mut enc = BinEncoder::new(&mut canonical);
    enc.set_canonical_form(true);
    if rdata.emit(&mut enc).is_err() {
        return generic();
    }
    let text = match &rdata {
        RData::TXT(_) => txt_rdata(raw).unwrap_or_else(|| generic_rdata(raw)),
        RData::Unknown { .. } => generic_rdata(raw),
        other => other.to_string(),
    };
    (canonical, text)
}

/// Decodes a reply to `case`.
fn decode(case: &Case, wire: &[u8]) -> Result<Reply> {
    ensure!(
        wire.len() >= 12,
        "{} bytes, shorter than a header",
        wire.len()
    );
    let w = |i: usize| u16::from_be_bytes([wire[i], wire[i + 1]]);
    let (id, flags) = (w(0), w(2));
    let counts = [w(4), w(6), w(8), w(10)];
    let mut d = BinDecoder::new(wire);
    d.read_slice(12)?;

    let question = if counts[0] == 0 {
        Echo::Absent
    } else {
        let start = d.index();
        let mut shown = Vec::new();
        for _ in 0..counts[0] {
            let name = Name::read(&mut d).context("question name")?;
            let (t, c) = (read_u16(&mut d)?, read_u16(&mut d)?);
            shown.push(format!("{name} {} {}", class_name(c), type_name(t)));
        }
        let sent = &case.wire[12..12 + case.question_len];
        if counts[0] == 1 && case.question_len > 0 && &wire[start..d.index()] == sent {
            Echo::Exact
        } else {
            Echo::Different(shown.join("; "))
        }
    };

    let mut sections: [Vec<Rr>; 3] = Default::default();
    let mut edns = None;
    for (s, &count) in counts[1..].iter().enumerate() {
        for _ in 0..count {
            let name = Name::read(&mut d).context("owner name")?;
            let rtype = read_u16(&mut d)?;
            let class = read_u16(&mut d)?;
            let ttl = d.read_u32()?.unverified();
            let len = read_u16(&mut d)?;
            let offset = d.index();
            d.read_slice(usize::from(len))
                .context("RDATA runs past the end")?;
            if rtype == 41 && s == 2 {
                ensure!(edns.is_none(), "more than one OPT record");
                edns = Some(decode_opt(&name, class, ttl, &wire[offset..d.index()])?);
                continue;
            }
            let (rdata, rtext) = decode_rdata(wire, offset, len, rtype);
            let (tname, cname) = (type_name(rtype), class_name(class));
            sections[s].push(Rr {
                text: format!("{name} {ttl} {cname} {tname} {rtext}"),
                key: RrKey {
                    owner: name.to_lowercase().to_ascii(),
                    rtype,
                    class,
                    ttl,
                    rdata,
                },
            });
        }
    }
    ensure!(
        d.is_empty(),
        "{} trailing bytes after the last record",
        d.len()
    );
    for s in &mut sections {
        s.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let [answer, authority, additional] = sections;
    let ext = edns.as_ref().map_or(0, |e: &ReplyEdns| e.ext_rcode);
    Ok(Reply {
        id_matches: id == u16::from_be_bytes([case.wire[0], case.wire[1]]),
        opcode: ((flags >> 11) & 0xf) as u8,
        flags: flags & FLAG_BITS,
        rcode: (flags & 0xf) | (u16::from(ext) << 4),
        question,
        answer,
        authority,
        additional,
        edns,
        size: wire.len(),
    })
}

/// Decodes an OPT record from its owner, CLASS (the payload size), TTL and RDATA.
fn decode_opt(owner: &Name, payload: u16, ttl: u32, rdata: &[u8]) -> Result<ReplyEdns> {
    let mut options = Vec::new();
    let mut rest = rdata;
    while !rest.is_empty() {
        ensure!(rest.len() >= 4, "truncated EDNS option header");
        let code = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        ensure!(rest.len() >= 4 + len, "truncated EDNS option data");
        options.push((code, rest[4..4 + len].to_vec()));
        rest = &rest[4 + len..];
    }
    Ok(ReplyEdns {
        owner_is_root: owner.is_root(),
        payload,
        ext_rcode: (ttl >> 24) as u8,
        version: (ttl >> 16) as u8,
        dnssec_ok: ttl & 0x8000 != 0,
        z: (ttl & 0x7fff) as u16,
        options,
    })
}

impl fmt::Display for ReplyEdns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OPT payload={} version={}{}",
            self.payload,
            self.version,
            if self.dnssec_ok { " do" } else { "" }
        )?;
        if !self.owner_is_root {
            write!(f, " owner-not-root")?;
        }
        if self.z != 0 {
            write!(f, " z={:#06x}", self.z)?;
        }
        for (code, data) in &self.options {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            write!(f, " opt{code}={hex}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoReply => write!(f, "(no reply)"),
            Self::Closed => write!(f, "(connection closed without a reply)"),
            Self::Undecodable { error, hex } => write!(f, "(undecodable: {error}) {hex}"),
            Self::Reply(r) => {
                writeln!(
                    f,
                    "{} [{}] opcode={} {} bytes{}",
                    rcode_name(r.rcode),
                    flags_text(r.flags),
                    r.opcode,
                    r.size,
                    if r.id_matches { "" } else { " WRONG ID" }
                )?;
                match &r.question {
                    Echo::Exact => writeln!(f, "    question echoed exactly")?,
                    Echo::Absent => writeln!(f, "    no question")?,
                    Echo::Different(q) => writeln!(f, "    question differs: {q}")?,
                }
                for (tag, sec) in [
                    ("AN", &r.answer),
                    ("NS", &r.authority),
                    ("AR", &r.additional),
                ] {
                    for rr in sec {
                        writeln!(f, "    {tag} {}", rr.text)?;
                    }
                }
                if let Some(e) = &r.edns {
                    writeln!(f, "    {e}")?;
                }
                Ok(())
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Comparison
// ------------------------------------------------------------------------------------------

/// One field on which the two replies disagree, rendered for humans.
#[derive(Debug)]
struct Mismatch {
    field: &'static str,
    lbdns: String,
    nsd: String,
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
fn compare(lbdns: &Outcome, nsd: &Outcome) -> Vec<Mismatch> {
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

// ------------------------------------------------------------------------------------------
// Documented divergences
// ------------------------------------------------------------------------------------------

/// A difference between lbdns and NSD that the RFCs allow. `reason` says why both
/// behaviours are correct, with the RFC text; it is printed with the summary so that nobody
/// has to take an exemption on trust.
struct Divergence {
    name: &'static str,
    reason: &'static str,
    /// Rewrites the two replies (lbdns first) to cancel exactly this divergence when the
    /// query and replies show it, and reports whether it changed anything. It checks what it
    /// can of the side it discards, and never touches anything else, so any other difference
    /// still fails the case.
    reconcile: fn(&Case, &mut Reply, &mut Reply) -> bool,
}

/// The documented divergences. Every other difference is a bug in one server or the other.
const DIVERGENCES: &[Divergence] = &[
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
            let badvers = l.rcode == 16 && n.rcode == 16 && case.dnssec_ok;
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
                 REFUSED replies for names outside its zones; RFC 8914 s3 lets a server add EDE \
                 options but never requires them, and lbdns sends none.",
        reconcile: |_, l, n| {
            const EDE: u16 = 15;
            let lbdns_has_ede = l
                .edns
                .as_ref()
                .is_some_and(|e| e.options.iter().any(|o| o.0 == EDE));
            match &mut n.edns {
                Some(e) if !lbdns_has_ede && n.rcode == 5 => {
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
                && l.rcode == 5
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
            let empty = l.answer.is_empty() && l.authority.is_empty() && l.additional.is_empty();
            let changed = case.qclass == Some(255)
                && l.rcode == 5
                && empty
                && n.flags & flag::AA == 0
                && n.rcode != 5;
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
        name: "notify-not-implemented",
        reason: "lbdns does not implement NOTIFY (RFC 1996) and answers opcode 4 with NOTIMP, \
                 the RFC 1035 s4.1.1 code for an unsupported kind of query; NSD implements \
                 NOTIFY and refuses it from a sender not listed in allow-notify.",
        reconcile: |case, l, n| {
            let notify = (case.flags >> 11) & 0xf == 4;
            let changed = notify && l.rcode == 4 && n.rcode == 5;
            if changed {
                n.rcode = l.rcode;
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
            let changed = axfr_udp && l.rcode == 5 && n.rcode == 4;
            if changed {
                n.rcode = l.rcode;
            }
            changed
        },
    },
    Divergence {
        name: "opt-qtype-formerr",
        reason: "OPT is a pseudo-RR that exists only in messages (RFC 6891 s6.1.1), a Meta-TYPE \
                 in RFC 6895 s3.1, so a query for it is malformed: lbdns answers FORMERR, as \
                 BIND does. NSD treats it as a type without data (NODATA). The lbdns reply must \
                 be an empty FORMERR.",
        reconcile: |case, l, n| {
            let empty = l.answer.is_empty() && l.authority.is_empty() && l.additional.is_empty();
            let changed = case.qtype == Some(41)
                && l.rcode == 1
                && empty
                && n.rcode == 0
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
];

/// Compares two outcomes after applying every documented divergence that the query and
/// replies show; returns the differences left and the divergences that were applied.
fn reconcile(case: &Case, lbdns: &Outcome, nsd: &Outcome) -> (Vec<Mismatch>, Vec<&'static str>) {
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

/// Target name of an NS, MX or SRV record, lowercased, in the owner-name format of [`RrKey`].
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

/// [`DIVERGENCES`] `apex-ns-in-positive-answers`: removes from NSD's authoritative positive
/// answer the NS RRset owned by a zone apex, and the addresses of those servers from its
/// additional section unless the answer itself names them (an MX, SRV or NS target, whose
/// addresses lbdns must supply too).
fn drop_nsd_apex_ns(_: &Case, _: &mut Reply, n: &mut Reply) -> bool {
    if n.flags & flag::AA == 0 || n.answer.is_empty() {
        return false;
    }
    let apexes: Vec<String> = ZONES.iter().map(|(o, _)| format!("{o}.")).collect();
    let (apex_ns, rest): (Vec<Rr>, Vec<Rr>) = std::mem::take(&mut n.authority)
        .into_iter()
        .partition(|rr| rr.key.rtype == 2 && apexes.contains(&rr.key.owner));
    n.authority = rest;
    if apex_ns.is_empty() {
        return false;
    }
    let wanted: Vec<String> = n.answer.iter().filter_map(rdata_target).collect();
    let servers: Vec<String> = apex_ns.iter().filter_map(rdata_target).collect();
    n.additional.retain(|rr| {
        !(is_address(rr) && servers.contains(&rr.key.owner) && !wanted.contains(&rr.key.owner))
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

// ------------------------------------------------------------------------------------------
// Servers
// ------------------------------------------------------------------------------------------

fn zone_paths() -> Vec<(&'static str, PathBuf)> {
    let root = workspace_root();
    ZONES.iter().map(|(o, f)| (*o, root.join(f))).collect()
}

/// Starts NSD on `port` of both server addresses, serving [`ZONES`].
///
/// The configuration is ours rather than [`Server::nsd`]'s because these settings matter for
/// the comparison:
/// - rate limiting is off: the corpus is a burst from one client;
/// - `hide-version`/`hide-identity` make NSD refuse CH TXT `version.bind` and `id.server` like
///   any other question outside its zones, instead of answering with its own build data,
///   which is no part of the zones being compared;
/// - rotation stays off (NSD's default): sections are compared as sets;
/// - `minimal-responses` stays off (NSD's default), so NSD's additional-section processing for
///   MX, SRV and NS targets is there to check lbdns's against; the apex NS RRset NSD adds to
///   positive answers is then a documented divergence.
fn start_nsd(topo: &Topology, port: u16) -> Result<Running> {
    let dir = TempDir::new("differential-nsd")?;
    let d = dir.path().display();
    let mut conf = [
        "server:".to_string(),
        format!("  port: {port}"),
        "  server-count: 1".into(),
        "  zonesdir: \"\"".into(),
        "  database: \"\"".into(),
        "  username: \"\"".into(),
        "  chroot: \"\"".into(),
        format!("  pidfile: \"{d}/nsd.pid\""),
        format!("  xfrdfile: \"{d}/xfrd.state\""),
        format!("  zonelistfile: \"{d}/zone.list\""),
        "  rrl-ratelimit: 0".into(),
        "  rrl-whitelist-ratelimit: 0".into(),
        "  hide-version: yes".into(),
        "  hide-identity: yes".into(),
        "  verbosity: 1".into(),
    ]
    .join("\n");
    conf.push('\n');
    for addr in topo.server_addrs(port) {
        let _ = writeln!(conf, "  ip-address: {}@{port}", addr.ip());
    }
    conf.push_str("remote-control:\n  control-enable: no\n");
    for (origin, path) in zone_paths() {
        let _ = write!(
            conf,
            "zone:\n  name: \"{origin}\"\n  zonefile: \"{}\"\n",
            path.display()
        );
    }
    let conf_path = dir.write("nsd.conf", &conf)?;
    let mut cmd = topo.server.command("nsd");
    cmd.arg("-d").arg("-c").arg(&conf_path);
    let server = Server::spawn(
        "nsd",
        cmd,
        &topo.client,
        &topo.server_addrs(port),
        ZONES[0].0,
    )?;
    Ok(Running {
        server,
        _dir: Some(dir),
    })
}

/// A server and the directory holding its configuration and state files, if it has one,
/// which must outlive it (fields drop in order: the server first).
#[derive(Debug)]
struct Running {
    server: Server,
    _dir: Option<TempDir>,
}

/// Starts the server under test on [`LBDNS_PORT`]: lbdns, or a second NSD when
/// `LBDNS_TEST_SERVER=nsd` (the harness's switch for validating a suite against the reference
/// implementation: NSD against itself must agree on every query, which proves the corpus,
/// the client and the comparison before lbdns is involved).
fn start_under_test(topo: &Topology) -> Result<Running> {
    match std::env::var("LBDNS_TEST_SERVER").as_deref() {
        Ok("nsd") => start_nsd(topo, LBDNS_PORT),
        Ok("lbdns") | Err(_) => {
            let zones: Vec<PathBuf> = zone_paths().into_iter().map(|(_, p)| p).collect();
            let zones: Vec<&Path> = zones.iter().map(PathBuf::as_path).collect();
            let server = Server::lbdns(topo, &zones, &topo.server_addrs(LBDNS_PORT))?;
            Ok(Running { server, _dir: None })
        }
        Ok(other) => bail!("LBDNS_TEST_SERVER={other}: expected `lbdns` or `nsd`"),
    }
}

// ------------------------------------------------------------------------------------------
// Sending
// ------------------------------------------------------------------------------------------

/// Sends `case` to the server on `port` from the client namespace.
fn ask(topo: &Topology, case: &Case, port: u16) -> Result<Outcome> {
    let addr = match case.transport {
        Transport::Udp4 | Transport::Tcp4 => topo.server_v4_addr(port),
        Transport::Udp6 | Transport::Tcp6 => topo.server_v6_addr(port),
    };
    let reply = if case.transport.is_tcp() {
        let mut conn = TcpConn::connect(&topo.client, addr, REPLY_TIMEOUT)?;
        conn.send_msg(&case.wire)?;
        match conn.recv(REPLY_TIMEOUT)? {
            TcpRecv::Frame(f) => f,
            TcpRecv::Closed { .. } => return Ok(Outcome::Closed),
            TcpRecv::Timeout { .. } => return Ok(Outcome::NoReply),
        }
    } else {
        let mut got = None;
        for _ in 0..UDP_TRIES {
            got = udp_exchange(&topo.client, addr, &case.wire, REPLY_TIMEOUT)?;
            if got.is_some() {
                break;
            }
        }
        match got {
            Some(r) => r,
            None => return Ok(Outcome::NoReply),
        }
    };
    Ok(match decode(case, &reply) {
        Ok(r) => Outcome::Reply(Box::new(r)),
        Err(e) => Outcome::Undecodable {
            error: format!("{e:#}"),
            hex: reply.iter().map(|b| format!("{b:02x}")).collect(),
        },
    })
}

// ------------------------------------------------------------------------------------------
// The test
// ------------------------------------------------------------------------------------------

/// Per-category tallies for the summary.
#[derive(Debug, Default)]
struct Tally {
    queries: usize,
    agreed: usize,
    reconciled: usize,
}

#[test]
fn lbdns_agrees_with_nsd() -> Result<()> {
    preflight(&["nsd"])?;
    let cases = load_corpus()?;
    ensure!(
        cases.len() >= 200,
        "the corpus has only {} queries",
        cases.len()
    );

    // Declared before the servers so they are stopped before the namespaces go away.
    let topo = Topology::new()?;
    let mut nsd_server = start_nsd(&topo, NSD_PORT)?;
    let mut lbdns_server = start_under_test(&topo)?;

    // LBDNS_DIFF_VERBOSE=1 prints every query with both replies (run with --nocapture).
    let verbose = std::env::var_os("LBDNS_DIFF_VERBOSE").is_some();
    let started = Instant::now();
    let mut tally: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut report = String::new();
    let mut failures = 0;
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &cases {
        ensure!(
            started.elapsed() < RUN_TIMEOUT,
            "corpus run exceeded {RUN_TIMEOUT:?} at line {}",
            case.line
        );
        let at = || format!("queries.txt line {}: {}", case.line, case.text);
        let lbdns = ask(&topo, case, LBDNS_PORT).with_context(|| format!("lbdns, {}", at()))?;
        let nsd = ask(&topo, case, NSD_PORT).with_context(|| format!("nsd, {}", at()))?;
        if verbose {
            println!(
                "--- line {} [{}] {}\n  lbdns: {lbdns}\n  nsd:   {nsd}",
                case.line, case.category, case.text
            );
        }
        let t = tally.entry(case.category.as_str()).or_default();
        t.queries += 1;
        let (mismatches, applied) = reconcile(case, &lbdns, &nsd);
        if mismatches.is_empty() {
            if applied.is_empty() {
                t.agreed += 1;
            } else {
                t.reconciled += 1;
            }
            for name in applied {
                *used.entry(name).or_default() += 1;
            }
            continue;
        }
        failures += 1;
        let _ = writeln!(
            report,
            "\n=== line {} [{}] {}",
            case.line, case.category, case.text
        );
        if !applied.is_empty() {
            let _ = writeln!(report, "  (after reconciling {})", applied.join(", "));
        }
        for m in &mismatches {
            let _ = writeln!(
                report,
                "  {}:\n    lbdns: {}\n    nsd:   {}",
                m.field, m.lbdns, m.nsd
            );
        }
        let _ = write!(
            report,
            "  full lbdns reply: {lbdns}\n  full nsd reply:   {nsd}"
        );
    }

    println!(
        "differential corpus: {} queries in {:?}",
        cases.len(),
        started.elapsed()
    );
    println!(
        "{:<12} {:>7} {:>7} {:>10}",
        "category", "queries", "agreed", "reconciled"
    );
    for (cat, t) in &tally {
        println!(
            "{cat:<12} {:>7} {:>7} {:>10}",
            t.queries, t.agreed, t.reconciled
        );
    }
    for d in DIVERGENCES {
        let n = used.get(d.name).copied().unwrap_or(0);
        println!("divergence {} reconciled {n} queries: {}", d.name, d.reason);
    }
    // A crash mid-run would show up as a wall of "no reply" differences; say so plainly.
    lbdns_server.server.ensure_alive()?;
    nsd_server.server.ensure_alive()?;
    if failures > 0 {
        bail!(
            "lbdns and NSD disagree on {failures} of {} queries:{report}",
            cases.len()
        );
    }
    Ok(())
}

/// The corpus parses and covers every category the suite promises, without needing root.
#[test]
fn corpus_is_well_formed() -> Result<()> {
    let cases = load_corpus()?;
    ensure!(
        cases.len() >= 200,
        "the corpus has only {} queries",
        cases.len()
    );
    for category in [
        "type",
        "nxdomain",
        "nodata",
        "cname",
        "wildcard",
        "delegation",
        "nested",
        "refused",
        "case",
        "edns",
        "do",
        "truncation",
        "tcp",
        "ipv6",
        "any",
        "flags",
        "class",
        "opcode",
        "malformed",
    ] {
        ensure!(
            cases.iter().any(|c| c.category == category),
            "no query in category {category}"
        );
    }
    // Built queries have distinct IDs (a reply can be tied to its query) and a question
    // the echo check can use.
    let built: Vec<&Case> = cases.iter().filter(|c| c.qtype.is_some()).collect();
    let mut ids: Vec<&[u8]> = built.iter().map(|c| &c.wire[..2]).collect();
    ids.sort_unstable();
    ids.dedup();
    ensure!(ids.len() == built.len(), "duplicate query IDs");
    ensure!(
        built.iter().all(|c| c.question_len > 0),
        "a built query has no question"
    );
    ensure!(encode_name("a\\.b.C")? == b"\x03a.b\x01C\x00");
    ensure!(encode_name("\\200x.\\\\")? == b"\x02\xc8x\x01\\\x00");
    ensure!(encode_name(".")? == b"\x00" && encode_name("a..b").is_err());
    for (origin, path) in zone_paths() {
        ensure!(
            Path::new(&path).is_file(),
            "zone file for {origin} missing: {}",
            path.display()
        );
    }
    Ok(())
}

/// The comparison ignores exactly what it claims to (record order, owner-name case, name
/// compression) and catches the rest, checked on hand-built replies without any server.
#[test]
fn comparison_is_order_and_case_blind_but_not_ttl_blind() -> Result<()> {
    let case = Case::parse(1, "type www.example.com A", 0x1234)?;
    let reply = |flags: u16, records: &[(&str, u32, [u8; 4])]| -> Result<Outcome> {
        let mut b = Builder::new(0x1234, flag::QR | flags).question("www.example.com", 1);
        for (owner, ttl, addr) in records {
            b = b.record(1, &lbdns_tests::wire::name(owner), 1, 1, *ttl, addr);
        }
        Ok(Outcome::Reply(Box::new(decode(&case, &b.build())?)))
    };
    let a = reply(
        flag::AA,
        &[
            ("www.example.com", 60, [198, 18, 1, 1]),
            ("www.example.com", 60, [198, 18, 1, 2]),
        ],
    )?;
    let rotated = reply(
        flag::AA,
        &[
            ("WWW.example.COM", 60, [198, 18, 1, 2]),
            ("www.example.com", 60, [198, 18, 1, 1]),
        ],
    )?;
    ensure!(
        compare(&a, &rotated).is_empty(),
        "{:?}",
        compare(&a, &rotated)
    );

    let other_ttl = reply(
        flag::AA,
        &[
            ("www.example.com", 60, [198, 18, 1, 1]),
            ("www.example.com", 61, [198, 18, 1, 2]),
        ],
    )?;
    let fields: Vec<&str> = compare(&a, &other_ttl).iter().map(|m| m.field).collect();
    ensure!(
        fields == ["answer"],
        "TTL difference reported as {fields:?}"
    );

    let no_aa = reply(0, &[("www.example.com", 60, [198, 18, 1, 1])])?;
    let fields: Vec<&str> = compare(&a, &no_aa).iter().map(|m| m.field).collect();
    ensure!(fields == ["flags", "answer"], "got {fields:?}");
    ensure!(compare(&a, &Outcome::NoReply).len() == 1);

    // The question must come back byte for byte: a case change is a difference.
    let recased = Builder::new(0x1234, flag::QR).question("WWW.example.com", 1);
    let recased = decode(&case, &recased.build())?;
    ensure!(matches!(recased.question, Echo::Different(_)));
    Ok(())
}
