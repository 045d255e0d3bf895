//! The messages of a transfer (RFC 5936 §2.2, RFC 1995 §4), built one at a time from a
//! [`Source`] of records, so a zone of a million names is never whole in memory as wire
//! octets. [`ZoneRecords`] is a full transfer from the served `ZoneData` (the SOA, every other
//! record, the SOA again); [`ListedRecords`] sends records already listed (an incremental
//! transfer's differences).
//!
//! The records are the zone's own: at a pool owner, whatever the zone file holds there (the
//! pool's answers are this host's policy and are not transferred).

use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use super::history::DiffRecord;
use crate::authority::{Rdata, Rrset, ZoneData};

/// Octets of records per message: well under TCP's 65,535, so the TSIG always fits, and
/// about what BIND and NSD send.
const MESSAGE_BUDGET: usize = 16_384;
const HEADER_LEN: usize = 12;

/// One record to send.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub name: &'a Name,
    pub rtype: RecordType,
    pub ttl: u32,
    pub rdata: &'a Rdata,
}

/// Records in transfer order, read one at a time.
pub trait Source {
    /// The record to send next, without moving past it; `None` at the end.
    fn peek(&mut self) -> Option<Entry<'_>>;
    /// Moves past the record [`Source::peek`] returned.
    fn advance(&mut self);
}

/// The messages carrying a [`Source`]'s records.
#[derive(Debug)]
pub struct Messages<S> {
    source: S,
    /// The reply's header fields (ID and flags), copied into every message.
    id_and_flags: [u8; 4],
    /// The question, sent in the first message only (RFC 5936 §2.2.1).
    question: Option<Vec<u8>>,
    /// The most records one message carries.
    per_message: u16,
    done: bool,
    /// Records written so far, for the log.
    pub records: usize,
}

impl<S: Source> Messages<S> {
    /// `id_and_flags` are the first four octets of every message; `question` the request's
    /// question section (name, type and class octets).
    pub fn new(source: S, id_and_flags: [u8; 4], question: Vec<u8>) -> Self {
        Self {
            source,
            id_and_flags,
            question: Some(question),
            per_message: u16::MAX,
            done: false,
            records: 0,
        }
    }

    /// The first message alone, with one record: RFC 1995 §4's reply to a client that is up
    /// to date (the source's first record being the SOA).
    pub fn first_record_only(mut self) -> Option<Vec<u8>> {
        self.per_message = 1;
        self.next_message()
    }

    /// The next message, or `None` once every record is sent.
    pub fn next_message(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let mut buf = Vec::with_capacity(MESSAGE_BUDGET + 512);
        let mut count = 0u16;
        let question = self.question.take();
        {
            let mut enc = BinEncoder::new(&mut buf);
            let mut header = [0u8; HEADER_LEN];
            header[..4].copy_from_slice(&self.id_and_flags);
            header[5] = u8::from(question.is_some());
            let ok = enc.emit_vec(&header).is_ok()
                && question.as_deref().is_none_or(|q| enc.emit_vec(q).is_ok());
            debug_assert!(ok, "a header and question always encode");
            while count < self.per_message {
                let Some(entry) = self.source.peek() else {
                    self.done = true;
                    break;
                };
                let before = enc.offset();
                let written = write_record(&mut enc, entry).is_ok();
                if written && (enc.offset() <= MESSAGE_BUDGET || count == 0) {
                    count += 1;
                    self.records += 1;
                    self.source.advance();
                    continue;
                }
                enc.set_offset(before);
                enc.trim();
                if written {
                    break;
                }
                // A record that cannot be encoded at all: left out rather than stalling.
                tracing::warn!(owner = %entry.name, rtype = %entry.rtype, "record left out of a transfer: it cannot be encoded");
                self.source.advance();
            }
        }
        buf[6..8].copy_from_slice(&count.to_be_bytes());
        Some(buf)
    }
}

/// Where a full transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The opening SOA is next.
    Open,
    /// The record at the cursor is next.
    Body,
    /// The closing SOA is next.
    Close,
    Done,
}

/// A full transfer's records: the SOA, every other record of the zone, the SOA again.
#[derive(Debug)]
pub struct ZoneRecords<'z> {
    zone: &'z ZoneData,
    /// The apex's position, whose SOA goes out first and last only.
    apex: Option<usize>,
    phase: Phase,
    node: usize,
    rrset: usize,
    record: usize,
    /// The owner of the node at the cursor, as the zone spells it, once read back: the zone
    /// keeps names in wire form.
    owner: Option<(usize, Name)>,
}

impl<'z> ZoneRecords<'z> {
    pub fn new(zone: &'z ZoneData) -> Self {
        Self {
            zone,
            apex: zone.position(&zone.apex),
            phase: Phase::Open,
            node: 0,
            rrset: 0,
            record: 0,
            owner: None,
        }
    }

    /// Moves the cursor past exhausted RRsets and nodes and the apex SOA; to `Close` at the
    /// end.
    fn settle(&mut self) {
        let names = self.zone.len();
        while self.node < names {
            let node = self.zone.node_at(self.node as u32);
            match node.rrsets.get(self.rrset) {
                Some(rrset)
                    if self.record < rrset.rdatas.len()
                        && !(rrset.rtype == RecordType::SOA && Some(self.node) == self.apex) =>
                {
                    return
                }
                Some(_) => {
                    self.rrset += 1;
                    self.record = 0;
                }
                None => {
                    self.node += 1;
                    self.rrset = 0;
                    self.record = 0;
                }
            }
        }
        self.phase = Phase::Close;
    }
}

impl Source for ZoneRecords<'_> {
    fn peek(&mut self) -> Option<Entry<'_>> {
        if self.phase == Phase::Body {
            self.settle();
        }
        let zone = self.zone;
        let (name, rrset, index): (&Name, &Rrset, usize) = match self.phase {
            Phase::Open | Phase::Close => (zone.spelled(&zone.apex), zone.soa(), 0),
            Phase::Done => return None,
            Phase::Body => {
                let at = self.node;
                if self.owner.as_ref().is_none_or(|(cached, _)| *cached != at) {
                    let name = zone.name_at(at as u32);
                    self.owner = Some((at, zone.spelled(&name).clone()));
                }
                let owner = self.owner.as_ref().map(|(_, owner)| owner);
                let node = zone.node_at(at as u32);
                (owner?, &node.rrsets[self.rrset], self.record)
            }
        };
        Some(Entry {
            name,
            rtype: rrset.rtype,
            ttl: rrset.ttl,
            rdata: &rrset.rdatas[index],
        })
    }

    fn advance(&mut self) {
        self.phase = match self.phase {
            Phase::Open => Phase::Body,
            Phase::Body => {
                self.record += 1;
                Phase::Body
            }
            Phase::Close | Phase::Done => Phase::Done,
        };
    }
}

/// Records listed in advance, sent in order.
#[derive(Debug)]
pub struct ListedRecords {
    records: Vec<DiffRecord>,
    next: usize,
}

impl ListedRecords {
    pub fn new(records: Vec<DiffRecord>) -> Self {
        Self { records, next: 0 }
    }
}

impl Source for ListedRecords {
    fn peek(&mut self) -> Option<Entry<'_>> {
        self.records.get(self.next).map(|record| Entry {
            name: &record.name,
            rtype: record.rtype,
            ttl: record.ttl,
            rdata: &record.rdata,
        })
    }

    fn advance(&mut self) {
        self.next += 1;
    }
}

fn write_record(
    enc: &mut BinEncoder<'_>,
    entry: Entry<'_>,
) -> Result<(), hickory_proto::ProtoError> {
    entry.name.emit(enc)?;
    enc.emit_u16(entry.rtype.into())?;
    enc.emit_u16(DNSClass::IN.into())?;
    enc.emit_u32(entry.ttl)?;
    let length = enc.place::<u16>()?;
    entry.rdata.emit(enc)?;
    let written = enc.len_since_place(&length) as u16;
    length.replace(enc, written)
}
