//! The zone transfer client: ask a primary for its SOA serial, and fetch its zone by IXFR
//! (RFC 1995) or AXFR (RFC 5936) over TCP into a validated `Zone`.
//!
//! The zone we hold is never changed here: an AXFR builds a new `Zone`, validated exactly as
//! a zone file is (`Zone::from_records`); an IXFR builds a `Patch`, the new records of the
//! owners it touches, validated by the same rules. The caller (`secondary`) puts either in
//! service. Every way a transfer can go
//! wrong is an `XfrError` naming the primary; an IXFR answer that does not fit our copy makes
//! `fetch` ask for the whole zone once instead.
//!
//! - `wire`: one response message read, records decoded into the zone reader's forms;
//! - `connection`: TCP framing within `Limits`;
//! - `sequence`: the records of a transfer read as AXFR or IXFR shape them;
//! - `apply`: IXFR diffs turned into a `Patch` of the owners they touch;
//! - `serial`: RFC 1982 comparison.

mod apply;
mod connection;
mod error;
mod sequence;
mod serial;
mod wire;

pub use apply::{unindexed, Held, Patch};
pub use error::{Inconsistency, Malformed, XfrError, XfrErrorKind};

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::time::{timeout_at, Instant};

use crate::authority::ZoneData;
use crate::blocking;
use crate::tsig::{self, ResponseVerifier, TsigError};
use crate::zone::{Zone, STREAM_PREFIX};
use connection::Connection;
use sequence::{Outcome, Sequence, Stop};

/// A primary server to transfer from.
#[derive(Debug, Clone)]
pub struct Primary {
    pub address: SocketAddr,
    /// With a key, every request is signed and every response message verified (RFC 8945
    /// §5.3.1: the first and the last signed, at most 99 unsigned in a row, MACs chained).
    pub key: Option<Arc<tsig::Key>>,
}

/// What a fetch brought.
#[derive(Debug)]
pub enum Fetched {
    /// The primary has the serial we hold.
    UpToDate { serial: u32 },
    /// The whole zone: an AXFR, or an IXFR the primary answered AXFR-style.
    Full { zone: Zone },
    /// The primary's diffs, as the new records of the owners they touched.
    Incremental { patch: Patch },
}

/// Bounds on one transfer, so that a slow or endless primary cannot hold a task or memory
/// without end.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The longest wait for the connection, or for any message once connected.
    pub idle: Duration,
    /// The longest a whole transfer may take.
    pub transfer_time: Duration,
    pub max_messages: usize,
    /// Answer records in the stream (an IXFR counts its deletions, additions and SOAs).
    pub max_records: usize,
    /// Octets received, message lengths included.
    pub max_octets: u64,
}

impl Default for Limits {
    /// Room for a zone of tens of millions of records (a million-name zone is about 50 MB
    /// and 20,000 messages from NSD), while a runaway stream is still cut off.
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30),
            transfer_time: Duration::from_secs(3600),
            max_messages: 10_000_000,
            max_records: 100_000_000,
            max_octets: 8 << 30,
        }
    }
}

/// The primary's SOA serial for `origin`: a query over UDP, repeated over TCP if the answer is
/// truncated.
pub async fn soa_serial(
    primary: &Primary,
    origin: &Name,
    timeout: Duration,
) -> Result<u32, XfrError> {
    let error = |kind| XfrError {
        primary: primary.address,
        kind,
    };
    let (request, mac) = sign(wire::request(origin, RecordType::SOA, None), primary);
    let mut verifier = verifier(primary, mac.as_ref());
    let mut reply = soa_over_udp(primary.address, &request, timeout)
        .await
        .map_err(error)?;
    let mut response = read(&reply, &request, verifier.as_mut(), 1).map_err(error)?;
    if response.truncated {
        let limits = Limits {
            idle: timeout,
            transfer_time: timeout,
            max_messages: 1,
            ..Limits::default()
        };
        let mut connection = Connection::open(primary.address, &limits)
            .await
            .map_err(error)?;
        connection.send(&request.octets).await.map_err(error)?;
        reply = connection
            .receive()
            .await
            .map_err(error)?
            .ok_or_else(|| error(XfrErrorKind::Truncated { records: 0 }))?;
        // The answer over TCP answers the same signed request afresh.
        verifier = self::verifier(primary, mac.as_ref());
        response = read(&reply, &request, verifier.as_mut(), 1).map_err(error)?;
    }
    rcode(response.rcode).map_err(error)?;
    check_question(&response, origin, RecordType::SOA)
        .map_err(|why| error(XfrErrorKind::Malformed { message: 1, why }))?;
    response
        .answers
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(soa) if r.name == *origin => Some(soa.serial),
            _ => None,
        })
        .ok_or_else(|| error(XfrErrorKind::NoSoa))
}

/// Sends the query and waits for the reply that carries its ID from the primary's address;
/// anything else arriving on the socket is ignored, as a resolver ignores spoofed answers.
async fn soa_over_udp(
    primary: SocketAddr,
    request: &wire::Request,
    timeout: Duration,
) -> Result<Vec<u8>, XfrErrorKind> {
    let deadline = Instant::now() + timeout;
    let local: SocketAddr = match primary {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(XfrErrorKind::Connect)?;
    socket
        .send_to(&request.octets, primary)
        .await
        .map_err(XfrErrorKind::Io)?;
    let mut buffer = vec![0u8; 65535];
    loop {
        let (len, from) = timeout_at(deadline, socket.recv_from(&mut buffer))
            .await
            .map_err(|_| XfrErrorKind::Timeout("waiting for the SOA answer"))?
            .map_err(XfrErrorKind::Io)?;
        if from == primary && buffer[..len].starts_with(&request.id.to_be_bytes()) {
            return Ok(buffer[..len].to_vec());
        }
    }
}

/// Fetches `origin` from `primary`: IXFR from the serial of `current` when there is one,
/// otherwise (or when the IXFR answer does not fit `current`) AXFR. The result is validated
/// like a zone file; its `warnings` are the caller's to log.
pub async fn fetch(
    primary: &Primary,
    origin: &Name,
    current: Option<Held<'_>>,
    limits: &Limits,
) -> Result<Fetched, XfrError> {
    let error = |kind| XfrError {
        primary: primary.address,
        kind,
    };
    let held = current.and_then(|held| soa_of(held).map(|(soa, serial)| (held, soa, serial)));
    if let Some((held, ref soa, serial)) = held {
        let why = match ixfr(primary, origin, held, soa, serial, limits).await {
            Ok(fetched) => return Ok(fetched),
            Err(Fallback::Error(kind)) => return Err(error(kind)),
            Err(Fallback::Axfr(why)) => why,
        };
        tracing::warn!(
            zone = %origin,
            primary = %primary.address,
            "IXFR from serial {serial} cannot be used ({why}); asking for the whole zone (AXFR)"
        );
    }
    let ours = held.map(|(_, _, serial)| serial);
    let records = match transfer(primary, origin, None, ours, limits).await {
        Ok(Outcome::Full { records }) => records,
        Ok(Outcome::UpToDate { .. } | Outcome::Incremental { .. }) => {
            unreachable!("an AXFR is read as a full zone only")
        }
        Err(Stop::Error(kind)) => return Err(error(kind)),
        Err(Stop::Inconsistent(why)) => {
            unreachable!("only IXFR answers are inconsistent, not AXFR: {why}")
        }
    };
    let zone = validated(records, primary, RecordType::AXFR, origin)
        .await
        .map_err(error)?;
    Ok(Fetched::Full { zone })
}

/// Why an IXFR did not produce a zone.
enum Fallback {
    Error(XfrErrorKind),
    /// Ask for the whole zone instead, for this reason.
    Axfr(Inconsistency),
}

async fn ixfr(
    primary: &Primary,
    origin: &Name,
    held: Held<'_>,
    soa: &Record,
    serial: u32,
    limits: &Limits,
) -> Result<Fetched, Fallback> {
    match transfer(primary, origin, Some(soa), Some(serial), limits).await {
        Ok(Outcome::UpToDate { serial }) => Ok(Fetched::UpToDate { serial }),
        Ok(Outcome::Full { records }) => validated(records, primary, RecordType::IXFR, origin)
            .await
            .map(|zone| Fetched::Full { zone })
            .map_err(Fallback::Error),
        Ok(Outcome::Incremental { soa, diffs }) => {
            let source = stream_source(primary, RecordType::IXFR);
            let owners = apply::apply(held, *soa, diffs, &source).map_err(Fallback::Axfr)?;
            // A zone that broke only through the diffs may be whole again by AXFR.
            let patch = validated_patch(owners, source, origin)
                .await
                .map_err(|errors| Fallback::Axfr(Inconsistency::Invalid(errors)))?;
            Ok(Fetched::Incremental { patch })
        }
        Err(Stop::Error(kind)) => Err(Fallback::Error(kind)),
        Err(Stop::Inconsistent(why)) => Err(Fallback::Axfr(why)),
    }
}

/// One transfer on its own connection: the request sent, every message read and checked,
/// the answers fed to a `Sequence` until it completes.
async fn transfer(
    primary: &Primary,
    origin: &Name,
    ixfr_soa: Option<&Record>,
    ours: Option<u32>,
    limits: &Limits,
) -> Result<Outcome, Stop> {
    let qtype = match ixfr_soa {
        Some(_) => RecordType::IXFR,
        None => RecordType::AXFR,
    };
    let (request, mac) = sign(wire::request(origin, qtype, ixfr_soa), primary);
    let mut verifier = verifier(primary, mac.as_ref());
    let mut connection = Connection::open(primary.address, limits).await?;
    connection.send(&request.octets).await?;
    let ixfr_from = ixfr_soa.and(ours);
    let source = stream_source(primary, qtype);
    let mut sequence = Sequence::new(origin, ixfr_from, ours, source, limits.max_records);
    let mut count = 0;
    loop {
        let Some(message) = connection.receive().await? else {
            return Err(XfrErrorKind::Truncated {
                records: sequence.records(),
            }
            .into());
        };
        count += 1;
        let response = read(&message, &request, verifier.as_mut(), count)?;
        let malformed = |why| XfrErrorKind::Malformed {
            message: count,
            why,
        };
        if response.truncated {
            return Err(malformed(Malformed::TruncatedOverTcp).into());
        }
        match response.rcode {
            ResponseCode::NotImp | ResponseCode::FormErr if qtype == RecordType::IXFR => {
                return Err(Inconsistency::Rcode(response.rcode).into())
            }
            other => rcode(other)?,
        }
        check_question(&response, origin, qtype).map_err(malformed)?;
        if let Some(outcome) = sequence.message(count, response.answers)? {
            // RFC 8945 §5.3.1: the last message must be signed.
            if let Some(verifier) = &verifier {
                verifier.finish().map_err(XfrErrorKind::Tsig)?;
            }
            return Ok(outcome);
        }
    }
}

/// Signs `request` with the primary's key, if it has one.
fn sign(
    mut request: wire::Request,
    primary: &Primary,
) -> (wire::Request, Option<tsig::RequestMac>) {
    let mac = primary
        .key
        .as_ref()
        .map(|key| tsig::sign_request(&mut request.octets, key, tsig::now()));
    (request, mac)
}

/// The verifier of the responses to a request signed with `mac`.
fn verifier(primary: &Primary, mac: Option<&tsig::RequestMac>) -> Option<ResponseVerifier> {
    primary
        .key
        .as_ref()
        .zip(mac)
        .map(|(key, mac)| ResponseVerifier::new(key, mac.clone()))
}

/// Message number `number` of the response to `request`: its TSIG verified and stripped when
/// the request was signed, then read.
fn read(
    message: &[u8],
    request: &wire::Request,
    verifier: Option<&mut ResponseVerifier>,
    number: usize,
) -> Result<wire::Response, XfrErrorKind> {
    let unsigned;
    let octets = match verifier {
        Some(verifier) => {
            unsigned = verifier.verify(message, tsig::now()).map_err(|e| match e {
                TsigError::Unsigned => unsigned_refusal(message, request.id)
                    .unwrap_or(XfrErrorKind::Tsig(TsigError::Unsigned)),
                other => XfrErrorKind::Tsig(other),
            })?;
            &unsigned[..]
        }
        None => message,
    };
    wire::response(octets, request.id).map_err(|why| XfrErrorKind::Malformed {
        message: number,
        why,
    })
}

/// A primary that refuses a signed request outright (REFUSED, NOTAUTH without a TSIG) says
/// more by its RCODE than "unsigned" would.
fn unsigned_refusal(message: &[u8], id: u16) -> Option<XfrErrorKind> {
    let response = wire::response(message, id).ok()?;
    rcode(response.rcode).err()
}

fn rcode(rcode: ResponseCode) -> Result<(), XfrErrorKind> {
    match rcode {
        ResponseCode::NoError => Ok(()),
        ResponseCode::Refused => Err(XfrErrorKind::Refused),
        ResponseCode::NotAuth => Err(XfrErrorKind::NotAuth),
        other => Err(XfrErrorKind::Rcode(other)),
    }
}

/// A message may leave the question out (RFC 5936 §2.2.1 after the first); one it repeats
/// must be ours.
fn check_question(
    response: &wire::Response,
    origin: &Name,
    qtype: RecordType,
) -> Result<(), Malformed> {
    match &response.question {
        Some((name, t, class)) if name != origin || *t != qtype || *class != DNSClass::IN => {
            Err(Malformed::WrongQuestion)
        }
        _ => Ok(()),
    }
}

/// The zone's SOA record and serial.
fn soa_of(zone: &ZoneData) -> Option<(Record, u32)> {
    let record = zone.soa_record()?;
    let RData::SOA(data) = &record.data else {
        return None;
    };
    let serial = data.serial;
    Some((record, serial))
}

/// What names the records of one transfer in errors and warnings, in place of a file name.
fn stream_source(primary: &Primary, qtype: RecordType) -> Arc<Path> {
    Arc::from(Path::new(&format!(
        "{STREAM_PREFIX}{} ({qtype})",
        primary.address
    )))
}

/// Validates a transfer's records as a zone file is validated, on a blocking thread: at a
/// million names that is seconds of CPU, and the runtime's workers also serve TCP.
async fn validated(
    records: Vec<crate::zone::SourceRecord>,
    primary: &Primary,
    qtype: RecordType,
    origin: &Name,
) -> Result<Zone, XfrErrorKind> {
    let (source, origin) = (stream_source(primary, qtype), origin.clone());
    blocking::run(move || Zone::from_records(records, &source, &origin))
        .await
        .map_err(XfrErrorKind::Invalid)
}

/// Validates the new records of a patch's owners by the zone-file rules, on a blocking thread
/// as [`validated`] does: the owners' records together, the apex (always among them, for its
/// SOA) giving the rules what they need of it. Each owner keeps its place.
async fn validated_patch(
    owners: Vec<(Name, Vec<crate::zone::SourceRecord>)>,
    source: Arc<Path>,
    origin: &Name,
) -> Result<Patch, crate::zone::ZoneErrors> {
    let origin = origin.clone();
    blocking::run(move || {
        let records = owners
            .iter()
            .flat_map(|(_, records)| records.clone())
            .collect();
        let zone = Zone::from_records(records, &source, &origin)?;
        let mut by_owner: std::collections::HashMap<Name, Vec<_>> = Default::default();
        for record in zone.records {
            by_owner
                .entry(record.record.name.clone())
                .or_default()
                .push(record);
        }
        let owners = owners
            .into_iter()
            .map(|(name, _)| {
                let records = by_owner.remove(&name).unwrap_or_default();
                (name, records)
            })
            .collect();
        Ok(Patch {
            owners,
            warnings: zone.warnings,
        })
    })
    .await
}

#[cfg(test)]
mod test_primary;
#[cfg(test)]
mod tests;
