//! The answer records of a transfer, one at a time, read as RFC 5936 (AXFR) and RFC 1995 §4
//! (IXFR) shape them. Pure: the records in, a full zone, the diffs, or "up to date" out.
//!
//! - AXFR: the zone's SOA, every record, the same SOA again, and nothing after it.
//! - IXFR: a single SOA (we are up to date), or the new SOA followed by either the whole zone
//!   (AXFR-style, RFC 1995 §4 lets a server answer so) or difference sequences: the old SOA,
//!   the records deleted, the next SOA, the records added, chained from our serial to the new
//!   one, and the new SOA again at the end. Which one is told by the second record.

use std::path::Path;
use std::sync::Arc;

use hickory_proto::rr::{DNSClass, Name, RData, Record};

use super::error::{Inconsistency, Malformed, XfrErrorKind};
use super::serial;
use crate::zone::SourceRecord;

/// One RFC 1995 difference sequence: from one serial to the next (`Sequence` checks that
/// the serials chain).
#[derive(Debug, Default)]
pub(super) struct Diff {
    pub deleted: Vec<SourceRecord>,
    pub added: Vec<SourceRecord>,
}

/// What a complete transfer said.
#[derive(Debug)]
pub(super) enum Outcome {
    UpToDate {
        serial: u32,
    },
    /// Every record of the zone, its SOA first, each record's `line` its place in the stream.
    Full {
        records: Vec<SourceRecord>,
    },
    /// The new SOA and the diffs that lead to it from the current zone.
    Incremental {
        soa: Box<SourceRecord>,
        diffs: Vec<Diff>,
    },
}

/// Why reading stopped before a complete outcome.
#[derive(Debug)]
pub(super) enum Stop {
    /// The primary's answer is wrong or hostile: give up.
    Error(XfrErrorKind),
    /// The IXFR answer does not fit our zone: an AXFR may still work.
    Inconsistent(Inconsistency),
}

impl From<XfrErrorKind> for Stop {
    fn from(kind: XfrErrorKind) -> Self {
        Self::Error(kind)
    }
}

impl From<Inconsistency> for Stop {
    fn from(why: Inconsistency) -> Self {
        Self::Inconsistent(why)
    }
}

enum State {
    /// Nothing read yet.
    Start,
    /// IXFR: the new SOA read; the next record tells the answer's shape.
    Second {
        soa: Box<SourceRecord>,
        serial: u32,
    },
    /// The whole zone, until the SOA again.
    Full {
        serial: u32,
        records: Vec<SourceRecord>,
    },
    /// Difference sequences; `version` is the serial the zone has after the diffs so far.
    Diffs {
        soa: Box<SourceRecord>,
        serial: u32,
        diffs: Vec<Diff>,
        version: u32,
        adding: bool,
    },
    Done(Outcome),
}

/// Reads the answer records of one transfer in order.
pub(super) struct Sequence {
    origin: Name,
    /// The serial we hold, sent in an IXFR request (`None` for AXFR).
    ixfr_from: Option<u32>,
    /// Our serial for the RFC 1982 check, whichever the request.
    current: Option<u32>,
    source: Arc<Path>,
    position: usize,
    max_records: usize,
    state: State,
}

impl Sequence {
    pub(super) fn new(
        origin: &Name,
        ixfr_from: Option<u32>,
        current: Option<u32>,
        source: Arc<Path>,
        max_records: usize,
    ) -> Self {
        Self {
            origin: origin.clone(),
            ixfr_from,
            current,
            source,
            position: 0,
            max_records,
            state: State::Start,
        }
    }

    /// How many records have been read.
    pub(super) fn records(&self) -> usize {
        self.position
    }

    /// Reads the answers of message number `message`. Returns the outcome once the final SOA
    /// (or the lone SOA of an up-to-date IXFR answer) has been read; records after the final
    /// SOA are an error.
    pub(super) fn message(
        &mut self,
        message: usize,
        answers: Vec<Record>,
    ) -> Result<Option<Outcome>, Stop> {
        let count = answers.len();
        for (i, record) in answers.into_iter().enumerate() {
            let last = i + 1 == count;
            self.record(record, last)?;
            match std::mem::replace(&mut self.state, State::Start) {
                // Whatever follows "up to date" (the zone again, AXFR-style) is not needed.
                State::Done(outcome @ Outcome::UpToDate { .. }) => return Ok(Some(outcome)),
                State::Done(outcome) if last => return Ok(Some(outcome)),
                State::Done(_) => {
                    return Err(XfrErrorKind::Malformed {
                        message,
                        why: Malformed::AfterFinalSoa,
                    }
                    .into())
                }
                other => self.state = other,
            }
        }
        Ok(None)
    }

    fn record(&mut self, record: Record, last_in_message: bool) -> Result<(), Stop> {
        self.position += 1;
        let position = self.position;
        if position > self.max_records {
            return Err(XfrErrorKind::Limit(format!("{} records", self.max_records)).into());
        }
        if record.dns_class != DNSClass::IN {
            return Err(XfrErrorKind::WrongClass {
                position,
                class: record.dns_class,
                rtype: record.record_type(),
            }
            .into());
        }
        if !self.origin.zone_of(&record.name) {
            return Err(XfrErrorKind::OutOfZone {
                position,
                name: record.name.to_string(),
                origin: self.origin.to_string(),
            }
            .into());
        }
        let serial = self.apex_serial(&record);
        let record = SourceRecord {
            record,
            file: self.source.clone(),
            line: position,
        };
        self.state = match std::mem::replace(&mut self.state, State::Start) {
            State::Start => self.first(record, serial, last_in_message)?,
            State::Second { soa, serial: new } => match serial {
                // Difference sequences start with the SOA we hold.
                Some(s) if Some(s) == self.ixfr_from => State::Diffs {
                    soa,
                    serial: new,
                    diffs: vec![Diff::default()],
                    version: s,
                    adding: false,
                },
                // An AXFR-style answer of a zone that is only its SOA.
                Some(s) if s == new => State::Done(Outcome::Full {
                    records: vec![*soa],
                }),
                Some(s) => {
                    return Err(Inconsistency::NotChained {
                        position,
                        expected: self.ixfr_from.unwrap_or(new),
                        found: s,
                    }
                    .into())
                }
                None => State::Full {
                    serial: new,
                    records: vec![*soa, record],
                },
            },
            State::Full {
                serial: new,
                mut records,
            } => match serial {
                Some(s) if s == new => State::Done(Outcome::Full { records }),
                Some(s) => {
                    return Err(XfrErrorKind::WrongSoa {
                        position,
                        why: format!("an SOA with serial {s} inside a transfer of serial {new}"),
                    }
                    .into())
                }
                None => {
                    records.push(record);
                    State::Full {
                        serial: new,
                        records,
                    }
                }
            },
            State::Diffs {
                soa,
                serial: new,
                mut diffs,
                version,
                adding,
            } => {
                let diff = diffs.last_mut().expect("a diff is always open");
                match (serial, adding) {
                    (None, false) => diff.deleted.push(record),
                    (None, true) => diff.added.push(record),
                    // The SOA that ends the deletions carries the serial the diff leads to.
                    (Some(s), false) => {
                        if !serial::greater(s, version) || serial::greater(s, new) {
                            return Err(Inconsistency::NotChained {
                                position,
                                expected: new,
                                found: s,
                            }
                            .into());
                        }
                        return self.set(State::Diffs {
                            soa,
                            serial: new,
                            diffs,
                            version: s,
                            adding: true,
                        });
                    }
                    (Some(s), true) if s != version => {
                        return Err(Inconsistency::NotChained {
                            position,
                            expected: version,
                            found: s,
                        }
                        .into())
                    }
                    // The new serial reached: this is the final SOA.
                    (Some(_), true) if version == new => {
                        return self.set(State::Done(Outcome::Incremental { soa, diffs }));
                    }
                    (Some(_), true) => diffs.push(Diff::default()),
                }
                State::Diffs {
                    soa,
                    serial: new,
                    diffs,
                    version,
                    adding: adding && serial.is_none(),
                }
            }
            done @ State::Done(_) => done,
        };
        Ok(())
    }

    fn set(&mut self, state: State) -> Result<(), Stop> {
        self.state = state;
        Ok(())
    }

    /// The first record: the zone's SOA, whose serial decides much.
    fn first(
        &self,
        record: SourceRecord,
        serial: Option<u32>,
        last_in_message: bool,
    ) -> Result<State, Stop> {
        let Some(new) = serial else {
            return Err(XfrErrorKind::WrongSoa {
                position: 1,
                why: format!(
                    "the first record is {} {}, not the SOA of {}",
                    record.record.name,
                    record.record.record_type(),
                    self.origin
                ),
            }
            .into());
        };
        if let Some(current) = self.current {
            if serial::greater(current, new) {
                return Err(XfrErrorKind::LowerSerial {
                    current,
                    offered: new,
                }
                .into());
            }
        }
        Ok(match self.ixfr_from {
            Some(ours) if ours == new => State::Done(Outcome::UpToDate { serial: new }),
            // RFC 1995 §4: a lone SOA says "up to date"; a newer one alone makes no sense.
            Some(_) if last_in_message => return Err(Inconsistency::LoneNewerSoa(new).into()),
            Some(_) => State::Second {
                soa: Box::new(record),
                serial: new,
            },
            None => State::Full {
                serial: new,
                records: vec![record],
            },
        })
    }

    /// The serial of `record` if it is the zone's SOA.
    fn apex_serial(&self, record: &Record) -> Option<u32> {
        match &record.data {
            RData::SOA(soa) if record.name == self.origin => Some(soa.serial),
            _ => None,
        }
    }
}
