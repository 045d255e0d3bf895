//! RFC 1035 master files → the records of one zone. Pure apart from reading the files.
//!
//! hickory-proto supplies the record types and wire encoding; the reading is ours because the
//! operator needs `file:line: message` errors and hickory's zone parser keeps no line numbers.

mod chars;
pub mod dnssec;
mod error;
mod lexer;
pub(crate) mod name;
mod owners;
pub(crate) mod rdata;
mod rtype;
pub mod write;

pub use error::{ZoneError, ZoneErrorKind, ZoneErrors, MAX_REPORTED, STREAM_PREFIX};
pub(crate) use owners::Numbered;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use foldhash::{HashSet, HashSetExt as _};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::parse_ttl;

use owners::Owners;
use smallvec::SmallVec;

/// `$INCLUDE` nesting deeper than this is almost certainly a loop.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 16;

/// A zone as read from its master file(s), validated but not yet indexed for lookup.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The apex: the owner of the SOA record.
    pub origin: Name,
    /// Every record in file order, each with where it was written.
    pub records: Vec<SourceRecord>,
    /// Problems that do not stop the zone from loading (logged by the caller).
    pub warnings: Vec<ZoneError>,
}

/// A record and the place in the master file that defined it.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub record: Record,
    pub file: Arc<Path>,
    pub line: usize,
}

impl Zone {
    /// Reads and validates the zone in `path`. `origin` overrides the file's own idea of its apex.
    pub fn load(path: &Path, origin: Option<Name>) -> Result<Zone, ZoneErrors> {
        let text = read_file(path)?;
        Self::parse(&text, path, origin)
    }

    /// Parses master-file `text` as if read from `path` (which names it in errors and anchors
    /// relative `$INCLUDE`s). Reading goes on past a broken entry, so every error is reported.
    pub fn parse(text: &str, path: &Path, origin: Option<Name>) -> Result<Zone, ZoneErrors> {
        // At most one record per line (without `$INCLUDE`s): reserved once, the list is never
        // copied as it grows, and what stays unused is address space, never touched. Asked,
        // not insisted on: a file of mostly empty lines could ask for more address space than
        // the system gives, and then the list grows as it needs.
        let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
        let mut records = Vec::new();
        let _ = records.try_reserve_exact(lines);
        let errors = read(text, path, origin.clone(), |record| {
            records.push(record);
            true
        });
        validate(records, path, origin.as_ref(), errors)
    }

    /// Reads the zone file at `path` (with `origin` as [`Zone::load`] takes it) record by
    /// record as it reads the file, handing each record to `each` in file order and keeping
    /// none, so a file of millions of records costs a line and a record at a time (an
    /// `$INCLUDE`d file is read whole). `each` returns whether to go on; reading stops at the
    /// first `false`. Nothing is validated beyond each record on its own (the zone-wide rules
    /// need the whole zone: [`Zone::from_records`]). Returns the errors of the entries that
    /// could not be read, and of the file if it could not be (none when all was read).
    pub fn stream(
        path: &Path,
        origin: Option<Name>,
        each: impl FnMut(SourceRecord) -> bool,
    ) -> ZoneErrors {
        let mut chars = match chars::FileChars::open(path) {
            Ok(chars) => chars,
            Err(error) => return unreadable(path, &error),
        };
        let mut reader = Reader::new(origin.clone(), path, each);
        reader.read_chars(&mut chars, path, origin, 0);
        match chars.error {
            Some(error) => unreadable(path, &error),
            None => reader.errors,
        }
    }

    /// Validates records that did not come from a master file (a zone transfer) by exactly
    /// the rules a file is held to. `source` stands for the file in errors and warnings; each
    /// record's `line` is its place there (a transfer's records count from 1 in the stream,
    /// and a `source` starting with `STREAM_PREFIX` makes errors say "record N").
    pub fn from_records(
        records: Vec<SourceRecord>,
        source: &Path,
        origin: &Name,
    ) -> Result<Zone, ZoneErrors> {
        validate(records, source, Some(origin), ZoneErrors::new(source))
    }
}

/// The text of the zone file at `path`, or the error naming it.
fn read_file(path: &Path) -> Result<String, ZoneErrors> {
    std::fs::read_to_string(path).map_err(|error| unreadable(path, &error))
}

/// The error of a zone file that could not be read.
fn unreadable(path: &Path, error: &std::io::Error) -> ZoneErrors {
    let mut errors = ZoneErrors::new(path);
    errors.push(ZoneError {
        file: path.to_path_buf(),
        line: 0,
        kind: ZoneErrorKind::Io(error.to_string()),
    });
    errors
}

/// Reads master-file `text` from `path`, handing each record to `sink` until it returns
/// `false`; returns the errors of the entries that could not be read.
fn read(
    text: &str,
    path: &Path,
    origin: Option<Name>,
    sink: impl FnMut(SourceRecord) -> bool,
) -> ZoneErrors {
    let mut reader = Reader::new(origin.clone(), path, sink);
    reader.read_chars(text.chars(), path, origin, 0);
    reader.errors
}

/// State carried across entries and into `$INCLUDE`d files.
struct Reader<S> {
    /// Takes each record read; `false` stops the reading.
    sink: S,
    stopped: bool,
    errors: ZoneErrors,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<Name>,
    /// The origin a relative `@` refers to when no `$ORIGIN` has been seen yet.
    initial_origin: Option<Name>,
}

impl<S: FnMut(SourceRecord) -> bool> Reader<S> {
    fn new(initial_origin: Option<Name>, path: &Path, sink: S) -> Self {
        Self {
            sink,
            stopped: false,
            errors: ZoneErrors::new(path),
            default_ttl: None,
            last_ttl: None,
            last_owner: None,
            initial_origin,
        }
    }

    fn read_chars(
        &mut self,
        chars: impl Iterator<Item = char>,
        path: &Path,
        origin: Option<Name>,
        depth: usize,
    ) {
        let file: Arc<Path> = Arc::from(path);
        let at = |line, kind| ZoneError {
            file: path.to_path_buf(),
            line,
            kind,
        };
        let mut origin = origin.or_else(|| self.initial_origin.clone());
        // Entries and lexical errors come in file order, one at a time.
        let mut entries = lexer::read(chars);
        while let Some(entry) = entries.next() {
            if self.stopped {
                return;
            }
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.errors.push(at(e.line, e.kind));
                    continue;
                }
            };
            let line = entry.line;
            let first = &entry.tokens[0];
            if !entry.inherits_owner && !first.quoted && first.text.starts_with('$') {
                if let Err(e) = self.directive(path, &entry, &mut origin, depth) {
                    self.errors.push(e);
                }
            } else {
                match self.record(&entry, origin.as_ref()) {
                    Ok(record) => {
                        self.stopped = !(self.sink)(SourceRecord {
                            record,
                            file: file.clone(),
                            line,
                        });
                    }
                    Err(kind) => self.errors.push(at(line, kind)),
                }
            }
            entries.recycle(entry);
        }
    }

    fn directive(
        &mut self,
        path: &Path,
        entry: &lexer::Entry,
        origin: &mut Option<Name>,
        depth: usize,
    ) -> Result<(), ZoneError> {
        let at = |kind| ZoneError {
            file: path.to_path_buf(),
            line: entry.line,
            kind,
        };
        let args = &entry.tokens[1..];
        let directive = entry.tokens[0].text.to_ascii_uppercase();
        let arity = |range: std::ops::RangeInclusive<usize>| {
            if range.contains(&args.len()) {
                Ok(())
            } else {
                Err(at(ZoneErrorKind::Syntax(format!(
                    "{directive} takes {range:?} arguments"
                ))))
            }
        };
        match directive.as_str() {
            "$ORIGIN" => {
                arity(1..=1)?;
                *origin = Some(name::parse(&args[0].text, origin.as_ref()).map_err(at)?);
            }
            "$TTL" => {
                arity(1..=1)?;
                let ttl = parse_ttl(&args[0].text)
                    .map_err(|_| at(ZoneErrorKind::BadTtl(args[0].text.clone())))?;
                self.default_ttl = Some(ttl);
            }
            "$INCLUDE" => {
                arity(1..=2)?;
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(at(ZoneErrorKind::IncludeDepth));
                }
                let target = Path::new(&args[0].text);
                let target = match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target.to_path_buf(),
                };
                let include_origin = match args.get(1) {
                    Some(name) => Some(name::parse(&name.text, origin.as_ref()).map_err(at)?),
                    None => origin.clone(),
                };
                let text = std::fs::read_to_string(&target).map_err(|e| {
                    at(ZoneErrorKind::Io(format!(
                        "$INCLUDE {}: {e}",
                        target.display()
                    )))
                })?;
                // RFC 1035 §5.1: the included file never changes the parent's origin.
                self.read_chars(text.chars(), &target, include_origin, depth + 1);
            }
            _ => return Err(at(ZoneErrorKind::Directive(entry.tokens[0].text.clone()))),
        }
        Ok(())
    }

    /// `[owner] [ttl] [class] type rdata` or `[owner] [class] [ttl] type rdata`.
    fn record(
        &mut self,
        entry: &lexer::Entry,
        origin: Option<&Name>,
    ) -> Result<Record, ZoneErrorKind> {
        let mut tokens = entry.tokens.as_slice();
        let owner = if entry.inherits_owner {
            self.last_owner.clone().ok_or(ZoneErrorKind::Syntax(
                "no previous owner name to inherit".into(),
            ))?
        } else {
            let (token, rest) = tokens
                .split_first()
                .ok_or(ZoneErrorKind::Syntax("empty entry".into()))?;
            tokens = rest;
            name::parse(&token.text, origin)?
        };
        // Set before the rest can fail, so that the lines inheriting it are read against it.
        self.last_owner = Some(owner.clone());
        let mut ttl = None;
        let mut class_seen = false;
        let rtype = loop {
            let (token, rest) = tokens
                .split_first()
                .ok_or(ZoneErrorKind::Syntax("missing record type".into()))?;
            tokens = rest;
            let text = token.text.as_str();
            if !class_seen && is_class(text) {
                if !text.eq_ignore_ascii_case("IN") {
                    return Err(ZoneErrorKind::Class(token.text.clone()));
                }
                class_seen = true;
            } else if ttl.is_none() && text.starts_with(|c: char| c.is_ascii_digit()) {
                ttl = Some(parse_ttl(text).map_err(|_| ZoneErrorKind::BadTtl(token.text.clone()))?);
            } else {
                break record_type(text)?;
            }
        };
        let rdata = rdata::parse(rtype, tokens, origin)?;
        let ttl = match ttl {
            Some(ttl) => {
                self.last_ttl = Some(ttl);
                ttl
            }
            None => self
                .default_ttl
                .or(self.last_ttl)
                .ok_or(ZoneErrorKind::NoTtl)?,
        };
        let mut record = Record::from_rdata(owner, ttl, rdata);
        record.dns_class = DNSClass::IN;
        Ok(record)
    }
}

/// A class mnemonic or the RFC 3597 `CLASSnnn` form, in any case.
fn is_class(text: &str) -> bool {
    ["IN", "CH", "CS", "HS"]
        .iter()
        .any(|class| text.eq_ignore_ascii_case(class))
        || rtype::generic(text, "CLASS").is_some_and(|digits| digits.parse::<u16>().is_ok())
}

/// Mnemonics and the RFC 3597 `TYPEnnn` form, in any case; meta types never appear in a zone.
fn record_type(text: &str) -> Result<RecordType, ZoneErrorKind> {
    match rtype::code(text) {
        Some(code) if !rtype::is_meta(code) => Ok(RecordType::from(code)),
        _ => Err(ZoneErrorKind::UnknownType(text.to_ascii_uppercase())),
    }
}

/// Checks the zone-wide rules of RFC 1034/1035/2181 that single records cannot break alone,
/// adding each broken one to `errors`. Without an SOA the other rules cannot be checked.
fn validate(
    mut records: Vec<SourceRecord>,
    path: &Path,
    explicit_origin: Option<&Name>,
    mut errors: ZoneErrors,
) -> Result<Zone, ZoneErrors> {
    let whole = |kind| ZoneError {
        file: path.to_path_buf(),
        line: 0,
        kind,
    };
    let at = |r: &SourceRecord, kind| ZoneError {
        file: r.file.to_path_buf(),
        line: r.line,
        kind,
    };

    let Some(soa) = records
        .iter()
        .position(|r| r.record.record_type() == RecordType::SOA)
    else {
        errors.push(whole(ZoneErrorKind::NoSoa(records.first().map_or_else(
            || "(no records)".into(),
            |r| r.record.name.to_string(),
        ))));
        return Err(errors);
    };
    let origin = records[soa].record.name.clone();
    let apex = LowerName::new(&origin);
    if explicit_origin.is_some_and(|named| LowerName::new(named) != apex) {
        errors.push(at(
            &records[soa],
            ZoneErrorKind::MisplacedSoa(explicit_origin.unwrap_or(&origin).to_string()),
        ));
    }
    let mut owners = Owners::number(&records, &apex);
    let apex_number = owners.of_record(soa);
    for (i, r) in records.iter().enumerate() {
        let number = owners.of_record(i);
        let rtype = r.record.record_type();
        if !owners.is_within(number) {
            errors.push(at(
                r,
                ZoneErrorKind::OutOfZone {
                    name: r.record.name.to_string(),
                    origin: origin.to_string(),
                },
            ));
            continue;
        }
        let at_apex = number == apex_number;
        if rtype == RecordType::SOA && i != soa {
            errors.push(at(
                r,
                if at_apex {
                    ZoneErrorKind::DuplicateSoa
                } else {
                    ZoneErrorKind::MisplacedSoa(origin.to_string())
                },
            ));
            continue;
        }
        let types = owners.types(number);
        let problem = if rtype == RecordType::CNAME && at_apex {
            Some(ZoneErrorKind::ApexCname)
        } else if rtype == RecordType::CNAME && types.contains(&RecordType::CNAME) {
            Some(ZoneErrorKind::MultipleCname(r.record.name.to_string()))
        } else if rtype == RecordType::DNAME && types.contains(&RecordType::DNAME) {
            Some(ZoneErrorKind::MultipleDname(r.record.name.to_string()))
        } else if rtype == RecordType::CNAME {
            types
                .iter()
                .any(|&t| !may_accompany_cname(t))
                .then(|| ZoneErrorKind::CnameAndOther(r.record.name.to_string()))
        } else {
            (types.contains(&RecordType::CNAME) && !may_accompany_cname(rtype))
                .then(|| ZoneErrorKind::CnameAndOther(r.record.name.to_string()))
        };
        match problem {
            Some(kind) => errors.push(at(r, kind)),
            None => owners.accept(number, rtype),
        }
    }
    data_below_dname(&records, &owners, &apex, &mut errors);
    let (dnssec_errors, mut warnings) = dnssec::check(&records, &apex, &owners);
    for error in dnssec_errors {
        errors.push(error);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if !owners.types(apex_number).contains(&RecordType::NS) {
        warnings.push(whole(ZoneErrorKind::NoApexNs(origin.to_string())));
    }
    equalise_ttls(&mut records, &owners, &mut warnings);
    Ok(Zone {
        origin,
        records,
        warnings,
    })
}

/// RFC 6672 §2.4: "Resource records MUST NOT exist at any subdomain of the owner of a DNAME
/// RR." NSD refuses such a zone, and so do we: it is what lets lookup treat every name below
/// a DNAME owner as redirected, and the XDP maps hold no name below one. The NSEC3 records
/// of a DNAME-at-apex zone are exempt: they live in the hashed chain, not the name space
/// (RFC 5155 §7.2.8). One error per owner below, naming its first record.
fn data_below_dname(
    records: &[SourceRecord],
    owners: &Owners,
    apex: &LowerName,
    errors: &mut ZoneErrors,
) {
    let is_dname = |name: &LowerName| {
        owners
            .types_at(name)
            .is_some_and(|types| types.contains(&RecordType::DNAME))
    };
    // Most zones have no DNAME: one pass over the types, no owner hashed.
    if !owners.any_has(RecordType::DNAME) {
        return;
    }
    let mut reported = HashSet::new();
    for (i, r) in records.iter().enumerate() {
        let number = owners.of_record(i);
        let owner = owners.name(number);
        let types = owners.types(number);
        let hashed = !types.is_empty()
            && types
                .iter()
                .all(|&t| matches!(t, RecordType::NSEC3 | RecordType::RRSIG));
        if hashed || owner == *apex || reported.contains(&number) {
            continue;
        }
        let mut parent = owner.base_name();
        let dname = loop {
            if is_dname(&parent) {
                break Some(parent);
            }
            if parent == *apex || parent.is_root() {
                break None;
            }
            parent = parent.base_name();
        };
        if let Some(dname) = dname {
            errors.push(ZoneError {
                file: r.file.to_path_buf(),
                line: r.line,
                kind: ZoneErrorKind::DataBelowDname {
                    name: r.record.name.to_string(),
                    dname: dname.to_string(),
                },
            });
            reported.insert(number);
        }
    }
}

/// RFC 4035 §2.5: a signed zone has the CNAME's signatures and an NSEC beside it.
fn may_accompany_cname(rtype: RecordType) -> bool {
    matches!(rtype, RecordType::RRSIG | RecordType::NSEC)
}

/// RFC 2181 §5.2: an RRset has one TTL. Lower the others to the smallest and warn once per set.
/// Signatures count per type covered: each RRSIG takes the TTL of the RRset it signs
/// (RFC 4034 §3), so the apex's RRSIG(SOA) and RRSIG(NSEC3PARAM) may differ.
///
/// Each record's set is found among its owner's few, by the owner's number: nothing is hashed.
fn equalise_ttls(records: &mut [SourceRecord], owners: &Owners, warnings: &mut Vec<ZoneError>) {
    /// One set's lowest TTL, and whether its records differ (until the warning is given).
    struct Set {
        key: SetKey,
        ttl: u32,
        differs: bool,
    }
    /// The set of `record` among its owner's, made if it is the first of its set.
    fn set_of<'s>(owner: &'s mut SmallVec<[Set; 2]>, record: &Record) -> &'s mut Set {
        let key = SetKey::of(record);
        let place = match owner.iter().position(|set| set.key == key) {
            Some(place) => place,
            None => {
                owner.push(Set {
                    key,
                    ttl: record.ttl,
                    differs: false,
                });
                owner.len() - 1
            }
        };
        &mut owner[place]
    }
    // Each owner's sets, by owner number: most owners have one or two.
    let mut sets: Vec<SmallVec<[Set; 2]>> = (0..owners.len()).map(|_| SmallVec::new()).collect();
    for (i, r) in records.iter().enumerate() {
        let set = set_of(&mut sets[owners.of_record(i) as usize], &r.record);
        set.differs |= set.ttl != r.record.ttl;
        set.ttl = set.ttl.min(r.record.ttl);
    }
    for (i, r) in records.iter_mut().enumerate() {
        let set = set_of(&mut sets[owners.of_record(i) as usize], &r.record);
        if set.differs {
            set.differs = false;
            warnings.push(ZoneError {
                file: r.file.to_path_buf(),
                line: r.line,
                kind: ZoneErrorKind::TtlMismatch {
                    name: r.record.name.to_string(),
                    rtype: r.record.record_type(),
                    ttl: set.ttl,
                },
            });
        }
        r.record.ttl = set.ttl;
    }
}

/// What tells an owner's RRsets apart: the type, and for RRSIG the type covered.
#[derive(Clone, Copy, PartialEq, Eq)]
struct SetKey {
    rtype: RecordType,
    covered: Option<[u8; 2]>,
}

impl SetKey {
    fn of(record: &Record) -> Self {
        let covered = match &record.data {
            // The type covered is the first field of RRSIG's wire form (RFC 4034 §3.1).
            RData::Unknown { code, rdata } if *code == RecordType::RRSIG => {
                rdata.anything.first_chunk::<2>().copied()
            }
            _ => None,
        };
        Self {
            rtype: record.record_type(),
            covered,
        }
    }
}

/// A zone to load: its file and, optionally, the apex the operator says it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSpec {
    pub file: PathBuf,
    pub origin: Option<Name>,
}

impl FromStr for ZoneSpec {
    type Err = String;

    /// `FILE` or `ORIGIN=FILE`, where ORIGIN is an absolute name such as `example.com.`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once('=') {
            Some((origin, file)) => Self::new(PathBuf::from(file), Some(origin)),
            None => Self::new(PathBuf::from(text), None),
        }
    }
}

impl ZoneSpec {
    pub fn new(file: PathBuf, origin: Option<&str>) -> Result<Self, String> {
        let origin = origin
            .map(|text| {
                name::parse(text, None).map_err(|e| format!("bad zone origin '{text}': {e}"))
            })
            .transpose()?;
        Ok(Self { file, origin })
    }
}

/// Loads every zone, reporting the errors of every broken file rather than stopping at the
/// first.
pub fn load_all(specs: &[ZoneSpec]) -> Result<Vec<Zone>, Vec<ZoneErrors>> {
    let (zones, errors): (Vec<_>, Vec<_>) = specs
        .iter()
        .map(|spec| Zone::load(&spec.file, spec.origin.clone()))
        .partition(Result::is_ok);
    if errors.is_empty() {
        Ok(zones.into_iter().map(Result::unwrap).collect())
    } else {
        Err(errors.into_iter().map(Result::unwrap_err).collect())
    }
}

#[cfg(test)]
mod tests;
