//! The one record of a zone's plain negative answers, NXDOMAIN and NODATA without DNSSEC
//! records: the zone's SOA in the authority section (RFC 2308 §3), written once per zone
//! rather than once per reply.
//!
//! Such a reply is the header, the question, this record and OPT. The encoder writes the
//! record's names compressed against the question's suffixes and against each other, so its
//! octets depend on the question only through where the apex starts in it: every pointer in
//! the record leads to the apex or a name above it in the question, or into the record
//! itself, and both move with the question's length. [`NegativeSoa::new`] has the encoder
//! write the record once, after a question one label below the apex, and notes its pointers;
//! [`NegativeSoa::write`] copies it after a question that ends in the apex spelled the same
//! (compression compares octets, so a question spelling the apex otherwise is compressed
//! against otherwise) and moves the pointers. This is how a random-subdomain flood is
//! answered: each name comes once, so the reply cache keeps none of them.
//!
//! Left to the encoder (`applies` says no): a question whose label right above the apex is
//! that of the SOA's MNAME or RNAME (`hostmaster` in `hostmaster.<apex>`), which the encoder
//! then compresses into the question instead; a question of so many labels that the encoder
//! stops recording compression targets before the record's names are written; and the root
//! zone's apex itself, whose owner the reply writer points at the question.

use hickory_proto::op::Query;
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use smallvec::SmallVec;

use super::query::HEADER_LEN;
use super::wire::{write_record, Owner};
use super::zone_data::{Rrset, ZoneData};

/// How many names' suffixes hickory's encoder records as compression targets in one message
/// (`COMPRESSION_CANDIDATE_LIMIT`); past that it writes later names whole.
const COMPRESSION_TARGETS: usize = 64;

/// The longest record: owner pointer, type, class, TTL and RDLENGTH, two names of at most 255
/// octets, and the five counters.
const MAX_RECORD: usize = 2 + 10 + 255 + 255 + 20;

/// A zone's SOA as its negative answers carry it (TTL min(SOA TTL, MINIMUM)), ready to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegativeSoa {
    /// The apex's labels as the zone spells it, which the question's last labels must equal.
    apex: Box<[Box<[u8]>]>,
    /// The apex's wire length, its root label included.
    apex_len: usize,
    /// The record as the encoder wrote it after the reference question.
    record: Box<[u8]>,
    /// Where `record` holds compression pointers, and where each leads.
    pointers: SmallVec<[Pointer; 3]>,
    /// The labels right above the apex of the SOA's MNAME and RNAME, those that lie below the
    /// apex (spelled the same).
    above_apex: SmallVec<[Box<[u8]>; 2]>,
    /// The labels of MNAME and RNAME together: at most the compression targets they add.
    rdata_labels: usize,
}

/// A compression pointer in [`NegativeSoa::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pointer {
    /// Its offset in the record.
    at: usize,
    to: Target,
}

/// Where a pointer leads, relative to what moves with the question's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// This many octets after the start of the apex in the question.
    Question(usize),
    /// This many octets after the start of the record.
    Record(usize),
}

impl NegativeSoa {
    /// The negative SOA of `zone`; `None` if its SOA RRset is not one record (validation
    /// allows no other) or the encoder cannot write it.
    pub fn of(zone: &ZoneData) -> Option<Self> {
        Self::new(zone.spelled(&zone.apex), zone.soa(), zone.negative_ttl())
    }

    fn new(apex: &Name, soa: &Rrset, ttl: u32) -> Option<Self> {
        let [rdata] = &*soa.rdatas else {
            return None;
        };
        let Some(RData::SOA(data)) = rdata.other() else {
            return None;
        };
        let apex_labels: Box<[Box<[u8]>]> = apex.iter().map(Box::from).collect();
        let above_apex: SmallVec<[Box<[u8]>; 2]> = [&data.mname, &data.rname]
            .into_iter()
            .filter_map(|name| within_apex(name, &apex_labels).flatten())
            .map(Box::from)
            .collect();
        // A reference label no MNAME or RNAME has above the apex, so nothing compresses into it.
        let reference = ["0", "1", "2"]
            .into_iter()
            .find(|label| !above_apex.iter().any(|above| **above == *label.as_bytes()))?;
        let question = apex.prepend_label(reference).ok()?;
        let mut buf = Vec::with_capacity(512);
        let mut enc = BinEncoder::new(&mut buf);
        enc.emit_vec(&[0; HEADER_LEN]).ok()?;
        // Written as the reply writer writes a question whose suffixes are compression targets.
        Query::query(question.clone(), RecordType::SOA)
            .emit(&mut enc)
            .ok()?;
        let start = enc.offset();
        let owner = Owner::of(apex, &question);
        write_record(&mut enc, owner, RecordType::SOA, ttl, rdata).ok()?;
        let record: Box<[u8]> = buf[start..].into();
        let apex_at = HEADER_LEN + 1 + reference.len();
        // Owner, then type, class, TTL and RDLENGTH, then MNAME and RNAME.
        let mut found = SmallVec::new();
        let mut at = name_end(&record, 0, &mut found)? + 10;
        at = name_end(&record, at, &mut found)?;
        name_end(&record, at, &mut found)?;
        let pointers = found
            .into_iter()
            .map(|(at, target)| {
                let to = match target.checked_sub(start) {
                    Some(offset) => Target::Record(offset),
                    None => Target::Question(target.checked_sub(apex_at)?),
                };
                Some(Pointer { at, to })
            })
            .collect::<Option<_>>()?;
        Some(Self {
            apex_len: apex_labels
                .iter()
                .map(|label| 1 + label.len())
                .sum::<usize>()
                + 1,
            apex: apex_labels,
            record,
            pointers,
            above_apex,
            rdata_labels: data.mname.iter().len() + data.rname.iter().len(),
        })
    }

    /// The record as the encoder wrote it after a question one label below the apex, the
    /// pointers' octets included.
    pub fn record(&self) -> &[u8] {
        &self.record
    }

    /// Where the record holds compression pointers (offsets into [`Self::record`]), and
    /// where each leads.
    pub fn pointers(&self) -> impl Iterator<Item = (usize, Target)> + '_ {
        self.pointers.iter().map(|pointer| (pointer.at, pointer.to))
    }

    /// The labels right above the apex of the SOA's MNAME and RNAME, as the zone spells them:
    /// a question whose first label is one of them is compressed otherwise.
    pub fn above_apex(&self) -> impl Iterator<Item = &[u8]> {
        self.above_apex.iter().map(|label| &**label)
    }

    /// Whether [`Self::write`] writes what the encoder would after `question`: it ends in the
    /// apex spelled as the zone spells it, its label above the apex (if any) is none of the
    /// SOA names', and it leaves the encoder room to record the SOA names as targets.
    pub fn applies(&self, question: &Name) -> bool {
        if question.iter().len() + self.rdata_labels > COMPRESSION_TARGETS {
            return false;
        }
        match within_apex(question, &self.apex) {
            None => false,
            Some(Some(label)) => !self.above_apex.iter().any(|above| **above == *label),
            // The question is the apex: the reply writer points the owner at it whole, as the
            // record does unless the apex is the root, written as its one octet.
            Some(None) => self.record.first().is_some_and(|&len| len & 0xc0 == 0xc0),
        }
    }

    /// Writes the record within `limit` octets right after a question for which
    /// [`Self::applies`]: the record counts, and whether it did not fit (then nothing is
    /// written and the reply is truncated, as the encoder's would be).
    pub fn write(&self, enc: &mut BinEncoder<'_>, limit: usize) -> ([u16; 3], bool) {
        let start = enc.offset();
        // The question's type and class follow its name, which ends in the apex.
        let apex_at = start - 4 - self.apex_len;
        let end = start + self.record.len();
        if end > limit {
            return ([0; 3], true);
        }
        let mut record = [0; MAX_RECORD];
        let record = &mut record[..self.record.len()];
        record.copy_from_slice(&self.record);
        for pointer in &self.pointers {
            let to = match pointer.to {
                Target::Question(offset) => apex_at + offset,
                Target::Record(offset) => start + offset,
            };
            // Below 2^14: a negative answer's question and record take a few hundred octets.
            let to = 0xc000 | to as u16;
            record[pointer.at..pointer.at + 2].copy_from_slice(&to.to_be_bytes());
        }
        match enc.emit_vec(record) {
            Ok(()) => ([0, 1, 0], false),
            Err(_) => ([0; 3], true),
        }
    }
}

/// Where `name` lies against `apex` (labels, as the zone spells them), compared octet for
/// octet as the encoder compares: `None` if it does not end in the apex, `Some(None)` if it is
/// the apex, else its label right above the apex.
fn within_apex<'n>(name: &'n Name, apex: &[Box<[u8]>]) -> Option<Option<&'n [u8]>> {
    let mut labels = name.iter().rev();
    apex.iter()
        .rev()
        .all(|apex_label| labels.next() == Some(&**apex_label))
        .then(|| labels.next())
}

/// Walks the name at `at` in `record`, noting a compression pointer that ends it (its offset
/// and target); returns the offset after the name.
fn name_end(
    record: &[u8],
    mut at: usize,
    pointers: &mut SmallVec<[(usize, usize); 3]>,
) -> Option<usize> {
    loop {
        let len = *record.get(at)?;
        match len {
            0 => return Some(at + 1),
            _ if len & 0xc0 == 0xc0 => {
                let pointer = u16::from_be_bytes([len, *record.get(at + 1)?]) & 0x3fff;
                pointers.push((at, usize::from(pointer)));
                return Some(at + 2);
            }
            _ => at += 1 + usize::from(len),
        }
    }
}
