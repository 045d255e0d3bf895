//! What came back from a server, in the form the comparison works on, and how it is printed.

use std::fmt;

use crate::presentation::{flags_text, hex, rcode_name};

/// A record as compared: owner lowercased, RDATA in DNSSEC canonical form (uncompressed,
/// embedded names lowercased, RFC 4034 §6.2) so that compression and case choices, which are
/// each server's own business, do not count as differences.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RrKey {
    pub owner: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

/// A decoded record: its comparison key and a presentation line for diffs.
#[derive(Debug, Clone)]
pub struct Rr {
    pub key: RrKey,
    pub text: String,
}

/// The OPT record of a reply (RFC 6891 §6.1.2/6.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyEdns {
    pub owner_is_root: bool,
    pub payload: u16,
    /// Upper eight bits of the RCODE; shown as part of [`Reply::rcode`].
    pub ext_rcode: u8,
    pub version: u8,
    pub dnssec_ok: bool,
    /// The 15 flag bits after DO, which must be zero.
    pub z: u16,
    /// (code, data) of every option, in order.
    pub options: Vec<(u16, Vec<u8>)>,
}

/// How the question section of a reply relates to the query's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Echo {
    /// Byte for byte the question that was sent, case included.
    Exact,
    /// No question section (qdcount 0).
    Absent,
    /// Something else: the presentation of what came back.
    Different(String),
}

/// A decoded reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub id_matches: bool,
    pub opcode: u8,
    /// QR AA TC RD RA Z AD CD, the header bits after the opcode.
    pub flags: u16,
    /// Full 12-bit RCODE: header bits plus the OPT's extended bits.
    pub rcode: u16,
    pub question: Echo,
    pub answer: Vec<Rr>,
    pub authority: Vec<Rr>,
    /// Additional section without the OPT record, which is in `edns`.
    pub additional: Vec<Rr>,
    pub edns: Option<ReplyEdns>,
    pub size: usize,
}

impl Reply {
    /// Whether the answer, authority and additional sections are all empty (the OPT record
    /// aside).
    pub fn has_no_records(&self) -> bool {
        self.answer.is_empty() && self.authority.is_empty() && self.additional.is_empty()
    }
}

/// What one server did with one query.
#[derive(Debug, Clone)]
pub enum Outcome {
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
            write!(f, " opt{code}={}", hex(data))?;
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
