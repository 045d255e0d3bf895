//! The messages of a full zone transfer (RFC 5936 §2.2), built one at a time from the served
//! `ZoneData`, so a zone of a million names is never whole in memory as wire octets: the SOA,
//! every other record of the zone, the SOA again.
//!
//! The records are the zone's own: at a pool owner, whatever the zone file holds there (the
//! pool's answers are this host's policy and are not transferred).

use hickory_proto::rr::{DNSClass, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use crate::authority::{Rrset, ZoneData};

/// Octets of records per message: well under TCP's 65,535, so the TSIG always fits, and
/// about what BIND and NSD send.
const MESSAGE_BUDGET: usize = 16_384;
const HEADER_LEN: usize = 12;

/// Where the transfer stands.
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

/// The messages of one AXFR (or AXFR-style IXFR) answer.
#[derive(Debug)]
pub struct Axfr<'z> {
    zone: &'z ZoneData,
    /// The reply's header fields (ID and flags), copied into every message.
    id_and_flags: [u8; 4],
    /// The question, sent in the first message only (RFC 5936 §2.2.1).
    question: Option<Vec<u8>>,
    phase: Phase,
    node: usize,
    rrset: usize,
    record: usize,
    /// Records written so far, for the log.
    pub records: usize,
    /// The most records one message carries.
    per_message: u16,
}

impl<'z> Axfr<'z> {
    /// `id_and_flags` are the first four octets of every message; `question` the request's
    /// question section (name, type and class octets).
    pub fn new(zone: &'z ZoneData, id_and_flags: [u8; 4], question: Vec<u8>) -> Self {
        Self {
            zone,
            id_and_flags,
            question: Some(question),
            phase: Phase::Open,
            node: 0,
            rrset: 0,
            record: 0,
            records: 0,
            per_message: u16::MAX,
        }
    }

    /// One message with the question and the zone's SOA: RFC 1995 §4's reply to a client
    /// that is up to date.
    pub fn soa_only(mut self) -> Option<Vec<u8>> {
        self.per_message = 1;
        self.next_message()
    }

    /// The next message, or `None` once the closing SOA is sent.
    pub fn next_message(&mut self) -> Option<Vec<u8>> {
        if self.phase == Phase::Done {
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
            while let Some((rrset, index)) = self.current() {
                let before = enc.offset();
                let written = write_record(&mut enc, rrset, index).is_ok();
                if !written || (enc.offset() > MESSAGE_BUDGET && count > 0) {
                    enc.set_offset(before);
                    enc.trim();
                    if !written && count == 0 {
                        // A record that cannot be encoded at all: skip it rather than stall.
                        tracing::warn!(owner = %rrset.name, rtype = %rrset.rtype, "record left out of a transfer: it cannot be encoded");
                        self.advance();
                        continue;
                    }
                    break;
                }
                count += 1;
                self.records += 1;
                self.advance();
                if enc.offset() > MESSAGE_BUDGET || count == self.per_message {
                    break;
                }
            }
        }
        buf[6..8].copy_from_slice(&count.to_be_bytes());
        Some(buf)
    }

    /// The record to send next.
    fn current(&mut self) -> Option<(&'z Rrset, usize)> {
        match self.phase {
            Phase::Open | Phase::Close => Some((self.zone.soa(), 0)),
            Phase::Done => None,
            Phase::Body => {
                self.settle();
                if self.phase == Phase::Close {
                    return Some((self.zone.soa(), 0));
                }
                let (_, node) = self.zone.at(self.node as u32);
                Some((&node.rrsets[self.rrset], self.record))
            }
        }
    }

    /// Moves the cursor past exhausted RRsets and nodes and the apex SOA; to `Close` at the
    /// end.
    fn settle(&mut self) {
        let names = self.zone.names().len();
        while self.node < names {
            let (name, node) = self.zone.at(self.node as u32);
            match node.rrsets.get(self.rrset) {
                Some(rrset)
                    if self.record < rrset.rdatas.len()
                        && !(rrset.rtype == RecordType::SOA && *name == self.zone.apex) =>
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

fn write_record(
    enc: &mut BinEncoder<'_>,
    rrset: &Rrset,
    index: usize,
) -> Result<(), hickory_proto::ProtoError> {
    rrset.name.emit(enc)?;
    enc.emit_u16(rrset.rtype.into())?;
    enc.emit_u16(DNSClass::IN.into())?;
    enc.emit_u32(rrset.ttl)?;
    let length = enc.place::<u16>()?;
    rrset.rdatas[index].emit(enc)?;
    let written = enc.len_since_place(&length) as u16;
    length.replace(enc, written)
}
