//! Zone file errors: where (`file:line`), what, and every one of a file together.

use std::fmt;
use std::path::{Path, PathBuf};

use hickory_proto::rr::RecordType;

use super::{rtype, MAX_INCLUDE_DEPTH};

/// An error in a zone file, displayed as `file:line: message`.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ZoneError {
    pub file: PathBuf,
    /// 0 when the error concerns the file as a whole.
    pub line: usize,
    pub kind: ZoneErrorKind,
}

/// The `file` of records that came from a stream rather than a file (a zone transfer, see
/// `Zone::from_records`) starts with this; their `line` is their position in the stream.
pub const STREAM_PREFIX: &str = "zone transfer from ";

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stream = self
            .file
            .to_str()
            .is_some_and(|f| f.starts_with(STREAM_PREFIX));
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.kind),
            line if stream => write!(f, "{}, record {line}: {}", self.file.display(), self.kind),
            line => write!(f, "{}:{}: {}", self.file.display(), line, self.kind),
        }
    }
}

/// Every error found in one zone, in file order, up to `MAX_REPORTED`: an operator fixes a
/// file in one pass rather than one error per run.
#[derive(Debug, Clone)]
pub struct ZoneErrors {
    /// The zone's main file, which names the summary of errors left out.
    file: PathBuf,
    errors: Vec<ZoneError>,
    /// How many more errors were found than `errors` holds.
    more: usize,
}

/// Past this many errors a file is probably not a zone file at all; the rest are counted.
pub const MAX_REPORTED: usize = 100;

impl ZoneErrors {
    pub(super) fn new(file: &Path) -> Self {
        Self {
            file: file.to_path_buf(),
            errors: Vec::new(),
            more: 0,
        }
    }

    pub(super) fn push(&mut self, error: ZoneError) {
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(error);
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors kept, in file order (`$INCLUDE`d files at the point of inclusion).
    pub fn errors(&self) -> &[ZoneError] {
        &self.errors
    }

    /// How many errors there were in all.
    pub fn total(&self) -> usize {
        self.errors.len() + self.more
    }

    /// One `file:line: message` line per error kept, then "and N more" if some were not.
    pub fn messages(&self) -> impl Iterator<Item = String> + '_ {
        let more = (self.more > 0).then(|| {
            format!(
                "{}: and {} more error(s) not shown",
                self.file.display(),
                self.more
            )
        });
        self.errors.iter().map(ToString::to_string).chain(more)
    }
}

impl fmt::Display for ZoneErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, message) in self.messages().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            f.write_str(&message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ZoneErrors {}

/// What went wrong, independent of where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneErrorKind {
    #[error("cannot read file: {0}")]
    Io(String),
    #[error("syntax error: {0}")]
    Syntax(String),
    #[error("relative name but no origin is known: add $ORIGIN or give the zone's name")]
    NoOrigin,
    #[error("bad domain name '{name}': {why}")]
    BadName { name: String, why: &'static str },
    #[error("bad TTL '{0}'")]
    BadTtl(String),
    #[error("no TTL for this record: add a $TTL directive or a TTL field")]
    NoTtl,
    #[error("class {0} is not served; only IN is")]
    Class(String),
    #[error("unknown record type '{0}'")]
    UnknownType(String),
    #[error("{} RDATA: {why}", rtype::name(*rtype))]
    Rdata { rtype: RecordType, why: String },
    #[error(
        "{} in presentation form is not supported; write it in RFC 3597 form (\\# length hex)",
        rtype::name(*.0)
    )]
    UnsupportedText(RecordType),
    #[error("unknown directive '{0}'")]
    Directive(String),
    #[error("$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (a loop?)")]
    IncludeDepth,
    #[error("'{name}' is not inside the zone {origin}")]
    OutOfZone { name: String, origin: String },
    #[error("the zone has no SOA record at its apex {0}")]
    NoSoa(String),
    #[error("SOA record not at the zone apex {0}")]
    MisplacedSoa(String),
    #[error("a second SOA record; a zone has exactly one")]
    DuplicateSoa,
    #[error("{0} has a CNAME and other data (RFC 1034 §3.6.2)")]
    CnameAndOther(String),
    #[error("{0} has more than one CNAME")]
    MultipleCname(String),
    #[error("{0} has more than one DNAME (RFC 6672 §2.4)")]
    MultipleDname(String),
    #[error("{name} is below the DNAME at {dname}, where no data may exist (RFC 6672 §2.4)")]
    DataBelowDname { name: String, dname: String },
    #[error("the zone apex cannot be a CNAME")]
    ApexCname,
    #[error("no NS records at the zone apex {0}")]
    NoApexNs(String),
    #[error(
        "TTLs differ within the {} RRset of {name}; using the lowest, {ttl} (RFC 2181 §5.2)",
        rtype::name(*rtype)
    )]
    TtlMismatch {
        name: String,
        rtype: RecordType,
        ttl: u32,
    },
    #[error("{0}")]
    MalformedDnssec(crate::dnssec::Malformed),
    #[error("NSEC3 chain: {0}")]
    Nsec3Chain(String),
    #[error(
        "an RRSIG covering {} at {name}, which has no such RRset: it is never served",
        rtype::name(*covered)
    )]
    OrphanSignature { name: String, covered: RecordType },
    #[error(
        "zone {zone}: the RRSIG of {name} {} {} {expiry}{}",
        rtype::name(*covered),
        if *expired { "expired at" } else { "expires at" },
        if *expired { "; validating resolvers reject it: re-sign the zone" } else { "; re-sign the zone before then" }
    )]
    SignatureExpiry {
        zone: String,
        name: String,
        covered: RecordType,
        expiry: String,
        expired: bool,
    },
}
