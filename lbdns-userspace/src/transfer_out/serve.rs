//! Answering AXFR and IXFR requests over TCP: the request's TSIG checked (§5.2 errors), the
//! zone's `provide_xfr` list consulted (REFUSED for everyone else), then the zone's records
//! as a stream of messages, each signed when the request was.
//!
//! IXFR (RFC 1995): a client already at our serial (or past it, RFC 1982) gets our SOA alone
//! (§4: "up to date"); one at a serial the kept differences (`history`) reach back to gets
//! those differences; any other gets the whole zone, AXFR-style (§4: a server may always
//! answer with a full transfer).

use std::net::IpAddr;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData;

use super::axfr::{ListedRecords, Messages, ZoneRecords};
use super::history::{DiffRecord, Difference};
use crate::authority::{Catalog, ZoneData};
use crate::tsig::{self, ResponseSigner, SignedRequest};

const AXFR: u16 = 252;
const IXFR: u16 = 251;
const QR: u8 = 0x80;
const AA: u8 = 0x04;
const RD: u8 = 0x01;

/// Whether `query` asks for a zone transfer (one question, of type AXFR or IXFR): those take
/// this module's path rather than `authority::respond`. Reads no more than the question.
pub fn is_transfer(query: &[u8]) -> bool {
    if query.len() < 12 || query[2] & QR != 0 || query[4..6] != [0, 1] {
        return false;
    }
    let mut at = 12;
    // Labels only: a question name is never compressed in a request.
    while let Some(&length) = query.get(at) {
        if length == 0 {
            return matches!(query.get(at + 1..at + 3), Some(&[0, 252]) | Some(&[0, 251]));
        }
        if length & 0xc0 != 0 {
            return false;
        }
        at += 1 + usize::from(length);
    }
    false
}

/// A transfer's reply: its messages, produced one at a time, each signed when the request
/// was.
#[derive(Debug)]
pub struct Transfer<'c> {
    body: Body<'c>,
    signer: Option<ResponseSigner>,
    /// What the log says when the transfer ends; `None` for a refusal or an error, logged
    /// when it was decided.
    pub summary: Option<String>,
}

#[derive(Debug)]
enum Body<'c> {
    Single(Option<Vec<u8>>),
    Zone(Messages<ZoneRecords<'c>>),
    Incremental(Messages<ListedRecords>),
}

impl Transfer<'_> {
    /// The next message, signed at `now` if the request was signed.
    pub fn next_message(&mut self, now: u64) -> Option<Vec<u8>> {
        let mut message = match &mut self.body {
            Body::Single(message) => message.take()?,
            Body::Zone(messages) => messages.next_message()?,
            Body::Incremental(messages) => messages.next_message()?,
        };
        if let Some(signer) = &mut self.signer {
            signer.sign(&mut message, now);
        }
        Some(message)
    }

    /// Records sent so far in a zone transfer.
    pub fn records(&self) -> usize {
        match &self.body {
            Body::Zone(messages) => messages.records,
            Body::Incremental(messages) => messages.records,
            Body::Single(_) => 0,
        }
    }

    fn single(message: Vec<u8>, signer: Option<ResponseSigner>, summary: Option<String>) -> Self {
        Self {
            body: Body::Single(Some(message)),
            signer,
            summary,
        }
    }
}

/// Answers a transfer request from `peer` received at `now` (the caller checked
/// [`is_transfer`]). `None`: nothing to send.
pub fn answer<'c>(
    catalog: &'c Catalog,
    query: &[u8],
    peer: IpAddr,
    now: u64,
) -> Option<Transfer<'c>> {
    let signed = match tsig::verify_request(query, &catalog.transfers().keys, now) {
        Ok(signed) => signed,
        Err(error) => {
            tracing::warn!(%peer, %error, "zone transfer request with a bad TSIG");
            let reply = tsig::error_reply(query, &error)?;
            return Some(Transfer::single(reply, None, None));
        }
    };
    let request = signed.as_ref().map_or(query, SignedRequest::message);
    let signer = signed.as_ref().map(ResponseSigner::new);
    let key = signed.as_ref().map(|s| s.key().name.clone());
    let parsed = match Message::from_vec(request) {
        Ok(parsed) if parsed.queries.len() == 1 => parsed,
        _ => {
            let reply = error(request, ResponseCode::FormErr)?;
            return Some(Transfer::single(reply, signer, None));
        }
    };
    let question = &parsed.queries[0];
    let origin = question.name();
    let zone = catalog
        .zone_for(origin)
        .filter(|zone| zone.origin == *origin);
    let allowed = zone.is_some()
        && catalog
            .transfers()
            .zone(origin)
            .is_some_and(|rules| rules.permits(peer, key.as_ref()));
    let who = match &key {
        Some(key) => format!("{peer} (key {key})"),
        None => format!("{peer} (no key)"),
    };
    let (Some(zone), true) = (zone, allowed) else {
        tracing::warn!(zone = %origin, "zone transfer refused to {who}");
        let reply = error(request, ResponseCode::Refused)?;
        return Some(Transfer::single(reply, signer, None));
    };
    let serial = soa_serial(zone);
    let header = [request[0], request[1], QR | AA | (request[2] & RD), 0];
    let question_octets = question_section(request)?;
    let theirs = (u16::from(question.query_type()) == IXFR)
        .then(|| ixfr_serial(&parsed))
        .flatten();
    if let Some(theirs) = theirs {
        if !is_newer(serial, theirs) {
            let reply = Messages::new(ZoneRecords::new(zone), header, question_octets)
                .first_record_only()?;
            let summary =
                format!("IXFR of {origin} serial {theirs} to {who}: up to date (ours {serial})");
            return Some(Transfer::single(reply, signer, Some(summary)));
        }
        // The kept differences must end at the version served: a zone replaced without
        // them being recorded is sent whole.
        let chain = catalog
            .transfers()
            .histories()
            .since(origin, theirs)
            .filter(|chain| chain.last().is_some_and(|d| d.new_serial() == serial));
        if let Some(chain) = chain {
            let summary = format!(
                "IXFR of {origin} from serial {theirs} to {serial}, {} difference(s), to {who}",
                chain.len()
            );
            let records = ListedRecords::new(incremental(zone, &chain));
            return Some(Transfer {
                body: Body::Incremental(Messages::new(records, header, question_octets)),
                signer,
                summary: Some(summary),
            });
        }
    }
    let kind = match u16::from(question.query_type()) {
        AXFR => "AXFR",
        _ => "IXFR (answered AXFR-style)",
    };
    Some(Transfer {
        body: Body::Zone(Messages::new(
            ZoneRecords::new(zone),
            header,
            question_octets,
        )),
        signer,
        summary: Some(format!("{kind} of {origin} serial {serial} to {who}")),
    })
}

/// RFC 1995 §4: the current SOA, then per difference the old SOA, what it removed, the new
/// SOA and what it added, then the current SOA again.
fn incremental(zone: &ZoneData, chain: &[std::sync::Arc<Difference>]) -> Vec<DiffRecord> {
    let current = DiffRecord::soa(zone);
    let mut records = vec![current.clone()];
    for difference in chain {
        records.push(difference.from.clone());
        records.extend(difference.removed.iter().cloned());
        records.push(difference.to.clone());
        records.extend(difference.added.iter().cloned());
    }
    records.push(current);
    records
}

/// The zone's serial.
pub fn soa_serial(zone: &ZoneData) -> u32 {
    match zone.soa().rdatas.first().and_then(|r| r.other()) {
        Some(RData::SOA(soa)) => soa.serial,
        _ => 0,
    }
}

/// RFC 1982 serial arithmetic: whether `a` is newer than `b`.
fn is_newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

/// The client's serial: the SOA in an IXFR request's authority section (RFC 1995 §3).
fn ixfr_serial(request: &Message) -> Option<u32> {
    request
        .authorities
        .iter()
        .find_map(|record| match &record.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
}

/// The request's question section octets.
fn question_section(request: &[u8]) -> Option<Vec<u8>> {
    let mut at = 12;
    loop {
        let length = *request.get(at)?;
        if length == 0 {
            return request.get(12..at + 5).map(<[u8]>::to_vec);
        }
        at += 1 + usize::from(length);
    }
}

/// A reply with the question and `rcode` only.
fn error(request: &[u8], rcode: ResponseCode) -> Option<Vec<u8>> {
    let mut reply = vec![
        request[0],
        request[1],
        QR | (request[2] & (RD | 0x78)),
        rcode.low(),
    ];
    reply.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    if let Some(question) = question_section(request) {
        reply[5] = 1;
        reply.extend_from_slice(&question);
    }
    Some(reply)
}
