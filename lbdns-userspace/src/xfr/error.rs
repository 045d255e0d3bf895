//! What can go wrong in a transfer, each case a variant the scheduler and its log can tell
//! apart. None of them touches the zone being served: the caller keeps it.

use std::net::SocketAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, RecordType};

use crate::zone::ZoneErrors;

/// A failed SOA query or transfer, naming the primary asked.
#[derive(Debug, thiserror::Error)]
#[error("{primary}: {kind}")]
pub struct XfrError {
    pub primary: SocketAddr,
    pub kind: XfrErrorKind,
}

/// What went wrong. "Record N" counts the answer records of the whole stream from 1.
#[derive(Debug, thiserror::Error)]
pub enum XfrErrorKind {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("{0}")]
    Io(std::io::Error),
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("the stream ended after {records} record(s), before the final SOA")]
    Truncated { records: usize },
    #[error("message {message}: {why}")]
    Malformed { message: usize, why: Malformed },
    #[error("the transfer exceeds its limit of {0}")]
    Limit(String),
    #[error("REFUSED: the primary does not allow this transfer or query")]
    Refused,
    #[error("NOTAUTH: the primary is not authoritative for the zone or rejects the key")]
    NotAuth,
    #[error("answered {0}")]
    Rcode(ResponseCode),
    #[error("no SOA for the zone in the answer")]
    NoSoa,
    #[error("record {position}: {why}")]
    WrongSoa { position: usize, why: String },
    #[error("the primary's serial {offered} is lower than ours, {current} (RFC 1982)")]
    LowerSerial { current: u32, offered: u32 },
    #[error("record {position}: {name} is outside the zone {origin}")]
    OutOfZone {
        position: usize,
        name: String,
        origin: String,
    },
    #[error("record {position}: class {class} (type {rtype}); only IN is served")]
    WrongClass {
        position: usize,
        class: DNSClass,
        rtype: RecordType,
    },
    #[error("TSIG: {0}")]
    Tsig(crate::tsig::TsigError),
    #[error("the transferred zone is not valid:\n{0}")]
    Invalid(ZoneErrors),
}

/// Why a message cannot be read as the response it should be.
#[derive(Debug, thiserror::Error)]
pub enum Malformed {
    #[error("shorter than a DNS header")]
    ShortHeader,
    #[error("ID {found:#06x}, not the request's {expected:#06x}")]
    WrongId { expected: u16, found: u16 },
    #[error("not a response (QR=0)")]
    NotAResponse,
    #[error("opcode {0}, not QUERY")]
    Opcode(u8),
    #[error("{0} questions")]
    Questions(u16),
    #[error("question: {0}")]
    Question(String),
    #[error("the question is not the one asked")]
    WrongQuestion,
    #[error("answer record {position} of the message: {why}")]
    Record { position: usize, why: String },
    #[error("{0} octet(s) after the last record")]
    Trailing(usize),
    #[error("truncated (TC=1) over TCP")]
    TruncatedOverTcp,
    #[error("the connection closed inside the message")]
    CutShort,
    #[error("records after the final SOA")]
    AfterFinalSoa,
}

/// Why an IXFR answer cannot be applied to the zone we hold. Not the primary's fault as such
/// (its history may differ from ours), so the client asks for the whole zone once instead.
#[derive(Debug, thiserror::Error)]
pub enum Inconsistency {
    #[error("a lone SOA with the newer serial {0}, where a lone SOA means \"up to date\"")]
    LoneNewerSoa(u32),
    #[error("record {position}: serial {found} does not chain the diffs (expected {expected})")]
    NotChained {
        position: usize,
        expected: u32,
        found: u32,
    },
    #[error("record {position}: deletes {record}, which the zone does not hold")]
    MissingDeletion { position: usize, record: String },
    #[error("record {position}: adds {record}, which the zone already holds")]
    DuplicateAddition { position: usize, record: String },
    #[error("the primary answered IXFR with {0}")]
    Rcode(ResponseCode),
    #[error("the zone with the diffs applied is not valid:\n{0}")]
    Invalid(ZoneErrors),
}
