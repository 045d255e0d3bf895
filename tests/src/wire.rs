//! A small, deliberately permissive DNS wire-format builder and a strict-enough parser.
//!
//! The builder can emit anything, including packets no real client would send: header counts
//! that disagree with the body, raw name bytes (compression loops, reserved label types,
//! over-long labels), several OPT records. It is written here rather than borrowed from a DNS
//! library so that the malformed inputs are not limited by what that library can express, and
//! so the tests do not share parsing bugs with the server.
//!
//! The parser ([`Message::parse`]) decodes responses for assertions; it follows compression
//! pointers only backwards and a bounded number of times.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{bail, ensure, Result};

/// RR type numbers used by the suites.
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const PTR: u16 = 12;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const OPT: u16 = 41;
    pub const DS: u16 = 43;
    pub const DNSKEY: u16 = 48;
    pub const HINFO: u16 = 13;
    pub const CAA: u16 = 257;
    pub const ANY: u16 = 255;
}

/// Response codes.
pub mod rcode {
    pub const NOERROR: u8 = 0;
    pub const FORMERR: u8 = 1;
    pub const SERVFAIL: u8 = 2;
    pub const NXDOMAIN: u8 = 3;
    pub const NOTIMP: u8 = 4;
    pub const REFUSED: u8 = 5;
}

/// Header flag bits (the 16-bit flags word).
pub mod flag {
    pub const QR: u16 = 0x8000;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const RA: u16 = 0x0080;
    pub const AD: u16 = 0x0020;
    pub const CD: u16 = 0x0010;
}

/// Encodes a presentation name (`"www.example.com"`, trailing dot optional, `"."` = root) as
/// uncompressed labels. Case is kept as given. Panics on an empty label or one over 63 bytes;
/// build invalid names with [`raw_labels`].
pub fn name(presentation: &str) -> Vec<u8> {
    let trimmed = presentation.strip_suffix('.').unwrap_or(presentation);
    let mut out = Vec::new();
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            assert!(
                !label.is_empty() && label.len() <= 63,
                "bad label {label:?} in {presentation:?}; use raw_labels for invalid names"
            );
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    out
}

/// Encodes labels without any validation, terminated by the root label: each label is written
/// as `len as u8` (truncating) followed by its bytes. For over-long labels and names.
pub fn raw_labels(labels: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in labels {
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
    out
}

/// Builds one DNS message. Counts are computed from what was added unless overridden with
/// [`Builder::counts`]; raw bytes can be appended anywhere.
#[derive(Debug, Clone)]
pub struct Builder {
    id: u16,
    flags: u16,
    counts: [u16; 4],
    count_override: Option<[u16; 4]>,
    body: Vec<u8>,
}

impl Builder {
    /// An empty message with the given ID and flags word (0 = standard query, RD clear).
    pub fn new(id: u16, flags: u16) -> Self {
        Self {
            id,
            flags,
            counts: [0; 4],
            count_override: None,
            body: Vec::new(),
        }
    }

    /// A standard query (opcode QUERY, RD clear) with one question of class IN.
    pub fn query(id: u16, qname: &str, qtype: u16) -> Self {
        Self::new(id, 0).question(qname, qtype)
    }

    /// Sets the opcode (0..=15) in the flags word.
    pub fn opcode(mut self, opcode: u8) -> Self {
        self.flags = (self.flags & !0x7800) | (u16::from(opcode & 0xf) << 11);
        self
    }

    /// ORs `bits` into the flags word.
    pub fn set_flags(mut self, bits: u16) -> Self {
        self.flags |= bits;
        self
    }

    /// Adds a question of class IN.
    pub fn question(self, qname: &str, qtype: u16) -> Self {
        self.question_raw(&name(qname), qtype, 1)
    }

    /// Adds a question with the name given as raw wire bytes.
    pub fn question_raw(mut self, name_wire: &[u8], qtype: u16, qclass: u16) -> Self {
        self.body.extend_from_slice(name_wire);
        self.body.extend_from_slice(&qtype.to_be_bytes());
        self.body.extend_from_slice(&qclass.to_be_bytes());
        self.counts[0] += 1;
        self
    }

    /// Adds a resource record to section 1 (answer), 2 (authority) or 3 (additional).
    pub fn record(
        mut self,
        section: usize,
        name_wire: &[u8],
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> Self {
        assert!((1..=3).contains(&section), "section must be 1..=3");
        self.body.extend_from_slice(name_wire);
        self.body.extend_from_slice(&rtype.to_be_bytes());
        self.body.extend_from_slice(&class.to_be_bytes());
        self.body.extend_from_slice(&ttl.to_be_bytes());
        self.body
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.body.extend_from_slice(rdata);
        self.counts[section] += 1;
        self
    }

    /// Adds an EDNS(0) OPT record owned by the root to the additional section.
    pub fn edns(self, udp_payload: u16) -> Self {
        self.opt(&[0], udp_payload, 0, 0, &[])
    }

    /// Adds an OPT record with full control: owner name bytes, advertised payload size, EDNS
    /// version, flags (0x8000 = DO) and raw option bytes.
    pub fn opt(
        self,
        owner: &[u8],
        udp_payload: u16,
        version: u8,
        flags: u16,
        options: &[u8],
    ) -> Self {
        let ttl = (u32::from(version) << 16) | u32::from(flags);
        self.record(3, owner, rtype::OPT, udp_payload, ttl, options)
    }

    /// Appends raw bytes to the body without touching any count.
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.body.extend_from_slice(bytes);
        self
    }

    /// Overrides the four header counts (QD, AN, NS, AR) regardless of the body.
    pub fn counts(mut self, qd: u16, an: u16, ns: u16, ar: u16) -> Self {
        self.count_override = Some([qd, an, ns, ar]);
        self
    }

    /// Serialises the message.
    pub fn build(&self) -> Vec<u8> {
        let counts = self.count_override.unwrap_or(self.counts);
        let mut out = Vec::with_capacity(12 + self.body.len());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for c in counts {
            out.extend_from_slice(&c.to_be_bytes());
        }
        out.extend_from_slice(&self.body);
        out
    }
}

/// Prefixes `msg` with its two-byte length, as on a TCP stream (RFC 1035 4.2.2).
pub fn tcp_frame(msg: &[u8]) -> Vec<u8> {
    let mut out = (msg.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(msg);
    out
}

/// The 12-byte header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    /// Decodes the first 12 bytes; `None` if shorter.
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < 12 {
            return None;
        }
        let w = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        Some(Self {
            id: w(0),
            flags: w(2),
            qdcount: w(4),
            ancount: w(6),
            nscount: w(8),
            arcount: w(10),
        })
    }
    pub fn qr(&self) -> bool {
        self.flags & flag::QR != 0
    }
    pub fn aa(&self) -> bool {
        self.flags & flag::AA != 0
    }
    pub fn tc(&self) -> bool {
        self.flags & flag::TC != 0
    }
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    /// The 4-bit header RCODE (without EDNS extended bits).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

/// A question entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Presentation form with a trailing dot, case as on the wire.
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// A resource record with raw RDATA (names inside RDATA are *not* decompressed; use
/// [`Message::rdata_name`] for NS/CNAME/PTR targets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    /// Offset of the RDATA within the message (for decompressing names inside it).
    pub rdata_offset: usize,
    pub rdata: Vec<u8>,
}

impl Rr {
    /// The address of an A or AAAA record.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        match (self.rtype, self.rdata.len()) {
            (rtype::A, 4) => {
                let b: [u8; 4] = self.rdata[..].try_into().ok()?;
                Some(Ipv4Addr::from(b).into())
            }
            (rtype::AAAA, 16) => {
                let b: [u8; 16] = self.rdata[..].try_into().ok()?;
                Some(Ipv6Addr::from(b).into())
            }
            _ => None,
        }
    }
}

/// EDNS data from the OPT record of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    pub udp_payload: u16,
    pub ext_rcode: u8,
    pub version: u8,
    pub flags: u16,
}

/// A decoded message. The OPT record stays in `additional` and is also summarised in `edns`.
#[derive(Debug, Clone)]
pub struct Message {
    pub header: Header,
    pub questions: Vec<Question>,
    pub answers: Vec<Rr>,
    pub authority: Vec<Rr>,
    pub additional: Vec<Rr>,
    pub edns: Option<Edns>,
    /// The bytes the message was decoded from.
    pub wire: Vec<u8>,
}

/// Reads a possibly compressed name at `pos`; returns (presentation name, offset after it).
pub fn read_name(msg: &[u8], mut pos: usize) -> Result<(String, usize)> {
    let mut out = String::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        ensure!(pos < msg.len(), "name runs past the end at offset {pos}");
        let len = msg[pos];
        match len & 0xc0 {
            0xc0 => {
                ensure!(pos + 1 < msg.len(), "truncated compression pointer");
                let target = usize::from(u16::from_be_bytes([len & 0x3f, msg[pos + 1]]));
                ensure!(target < pos, "compression pointer does not point backwards");
                jumps += 1;
                ensure!(jumps <= 64, "too many compression pointers");
                end.get_or_insert(pos + 2);
                pos = target;
            }
            0x00 if len == 0 => {
                if out.is_empty() {
                    out.push('.');
                }
                return Ok((out, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let l = usize::from(len);
                ensure!(pos + 1 + l <= msg.len(), "label runs past the end");
                for &c in &msg[pos + 1..pos + 1 + l] {
                    match c {
                        b'.' | b'\\' => {
                            out.push('\\');
                            out.push(c as char);
                        }
                        0x21..=0x7e => out.push(c as char),
                        _ => out.push_str(&format!("\\{c:03}")),
                    }
                }
                out.push('.');
                ensure!(out.len() <= 1024, "name too long");
                pos += 1 + l;
            }
            _ => bail!("reserved label type {len:#04x}"),
        }
    }
}

impl Message {
    /// Decodes a whole message; trailing bytes after the last counted record are an error.
    pub fn parse(wire: &[u8]) -> Result<Self> {
        let header = Header::parse(wire).ok_or_else(|| anyhow::anyhow!("shorter than a header"))?;
        let mut pos = 12;
        let mut questions = Vec::new();
        for _ in 0..header.qdcount {
            let (name, p) = read_name(wire, pos)?;
            ensure!(p + 4 <= wire.len(), "truncated question");
            let w = |i: usize| u16::from_be_bytes([wire[i], wire[i + 1]]);
            questions.push(Question {
                name,
                qtype: w(p),
                qclass: w(p + 2),
            });
            pos = p + 4;
        }
        let mut sections: [Vec<Rr>; 3] = Default::default();
        let counts = [header.ancount, header.nscount, header.arcount];
        for (section, &count) in sections.iter_mut().zip(&counts) {
            for _ in 0..count {
                let (name, p) = read_name(wire, pos)?;
                ensure!(p + 10 <= wire.len(), "truncated record header");
                let w = |i: usize| u16::from_be_bytes([wire[i], wire[i + 1]]);
                let rdlen = usize::from(w(p + 8));
                ensure!(p + 10 + rdlen <= wire.len(), "truncated rdata");
                section.push(Rr {
                    name,
                    rtype: w(p),
                    class: w(p + 2),
                    ttl: u32::from_be_bytes([wire[p + 4], wire[p + 5], wire[p + 6], wire[p + 7]]),
                    rdata_offset: p + 10,
                    rdata: wire[p + 10..p + 10 + rdlen].to_vec(),
                });
                pos = p + 10 + rdlen;
            }
        }
        ensure!(pos == wire.len(), "{} trailing bytes", wire.len() - pos);
        let [answers, authority, additional] = sections;
        let opts: Vec<&Rr> = additional
            .iter()
            .filter(|r| r.rtype == rtype::OPT)
            .collect();
        ensure!(opts.len() <= 1, "more than one OPT record");
        let edns = opts.first().map(|o| Edns {
            udp_payload: o.class,
            ext_rcode: (o.ttl >> 24) as u8,
            version: (o.ttl >> 16) as u8,
            flags: o.ttl as u16,
        });
        Ok(Self {
            header,
            questions,
            answers,
            authority,
            additional,
            edns,
            wire: wire.to_vec(),
        })
    }

    /// The full 12-bit RCODE (header bits plus EDNS extended bits).
    pub fn rcode(&self) -> u16 {
        u16::from(self.header.rcode()) | self.edns.map_or(0, |e| u16::from(e.ext_rcode) << 4)
    }

    /// Decompresses the domain name at the start of `rr`'s RDATA (NS, CNAME, PTR targets).
    pub fn rdata_name(&self, rr: &Rr) -> Result<String> {
        read_name(&self.wire, rr.rdata_offset).map(|(n, _)| n)
    }

    /// Answer-section addresses in order.
    pub fn answer_ips(&self) -> Vec<std::net::IpAddr> {
        self.answers.iter().filter_map(Rr::ip).collect()
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        writeln!(
            f,
            "id={} opcode={} rcode={} flags={:#06x} qd={} an={} ns={} ar={}",
            h.id,
            h.opcode(),
            self.rcode(),
            h.flags,
            h.qdcount,
            h.ancount,
            h.nscount,
            h.arcount
        )?;
        for q in &self.questions {
            writeln!(f, "  Q {} type={} class={}", q.name, q.qtype, q.qclass)?;
        }
        for (tag, sec) in [
            ("AN", &self.answers),
            ("NS", &self.authority),
            ("AR", &self.additional),
        ] {
            for r in sec {
                writeln!(
                    f,
                    "  {tag} {} type={} class={} ttl={} rdata={:02x?}",
                    r.name, r.rtype, r.class, r.ttl, r.rdata
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_roundtrip() {
        let q = Builder::query(0x1234, "WwW.example.com", rtype::A)
            .edns(1232)
            .build();
        let m = Message::parse(&q).unwrap();
        assert_eq!(m.header.id, 0x1234);
        assert_eq!(m.questions[0].name, "WwW.example.com.");
        assert_eq!(m.edns.unwrap().udp_payload, 1232);
    }

    #[test]
    fn loops_are_rejected() {
        // Header then a name that is a pointer to itself at offset 12.
        let q = Builder::new(1, 0)
            .question_raw(&[0xc0, 12], rtype::A, 1)
            .build();
        assert!(Message::parse(&q).is_err());
    }

    #[test]
    fn opcode_and_counts() {
        let q = Builder::new(7, 0).opcode(5).counts(2, 0, 0, 9).build();
        let h = Header::parse(&q).unwrap();
        assert_eq!((h.opcode(), h.qdcount, h.arcount), (5, 2, 9));
    }
}
