//! RFC 1035 master files → the records of one zone. Pure apart from reading the files.
//!
//! hickory-proto supplies the record types and wire encoding; the reading is ours because the
//! operator needs `file:line: message` errors and hickory's zone parser keeps no line numbers.

mod lexer;
mod name;
mod rdata;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use hickory_proto::rr::{DNSClass, LowerName, Name, Record, RecordType};
use hickory_proto::serialize::txt::parse_ttl;

/// `$INCLUDE` nesting deeper than this is almost certainly a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

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

/// An error in a zone file, displayed as `file:line: message`.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ZoneError {
    pub file: PathBuf,
    /// 0 when the error concerns the file as a whole.
    pub line: usize,
    pub kind: ZoneErrorKind,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.kind),
            line => write!(f, "{}:{}: {}", self.file.display(), line, self.kind),
        }
    }
}

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
    #[error("{rtype} RDATA: {why}")]
    Rdata { rtype: RecordType, why: String },
    #[error(
        "{0} in presentation form is not supported; write it in RFC 3597 form (\\# length hex)"
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
    #[error("the zone apex cannot be a CNAME")]
    ApexCname,
    #[error("no NS records at the zone apex {0}")]
    NoApexNs(String),
    #[error(
        "TTLs differ within the {rtype} RRset of {name}; using the lowest, {ttl} (RFC 2181 §5.2)"
    )]
    TtlMismatch {
        name: String,
        rtype: RecordType,
        ttl: u32,
    },
}

impl Zone {
    /// Reads and validates the zone in `path`. `origin` overrides the file's own idea of its apex.
    pub fn load(path: &Path, origin: Option<Name>) -> Result<Zone, ZoneError> {
        let text = std::fs::read_to_string(path).map_err(|e| ZoneError {
            file: path.to_path_buf(),
            line: 0,
            kind: ZoneErrorKind::Io(e.to_string()),
        })?;
        Self::parse(&text, path, origin)
    }

    /// Parses master-file `text` as if read from `path` (which names it in errors and anchors
    /// relative `$INCLUDE`s).
    pub fn parse(text: &str, path: &Path, origin: Option<Name>) -> Result<Zone, ZoneError> {
        let mut reader = Reader::new(origin.clone());
        reader.read_text(text, path, origin.clone(), 0)?;
        validate(reader.records, path, origin.as_ref())
    }
}

/// State carried across entries and into `$INCLUDE`d files.
struct Reader {
    records: Vec<SourceRecord>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<Name>,
    /// The origin a relative `@` refers to when no `$ORIGIN` has been seen yet.
    initial_origin: Option<Name>,
}

impl Reader {
    fn new(initial_origin: Option<Name>) -> Self {
        Self {
            records: Vec::new(),
            default_ttl: None,
            last_ttl: None,
            last_owner: None,
            initial_origin,
        }
    }

    fn read_text(
        &mut self,
        text: &str,
        path: &Path,
        origin: Option<Name>,
        depth: usize,
    ) -> Result<(), ZoneError> {
        let file: Arc<Path> = Arc::from(path);
        let at = |line, kind| ZoneError {
            file: path.to_path_buf(),
            line,
            kind,
        };
        let entries = lexer::entries(text).map_err(|e| at(e.line, e.kind))?;
        let mut origin = origin.or_else(|| self.initial_origin.clone());
        for entry in entries {
            let line = entry.line;
            let first = &entry.tokens[0];
            if !entry.inherits_owner && !first.quoted && first.text.starts_with('$') {
                self.directive(path, &entry, &mut origin, depth)?;
            } else {
                let record = self
                    .record(&entry, origin.as_ref())
                    .map_err(|kind| at(line, kind))?;
                self.records.push(SourceRecord {
                    record,
                    file: file.clone(),
                    line,
                });
            }
        }
        Ok(())
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
                self.read_text(&text, &target, include_origin, depth + 1)?;
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
        let mut tokens = entry.tokens.iter().peekable();
        let owner = if entry.inherits_owner {
            self.last_owner.clone().ok_or(ZoneErrorKind::Syntax(
                "no previous owner name to inherit".into(),
            ))?
        } else {
            let token = tokens
                .next()
                .ok_or(ZoneErrorKind::Syntax("empty entry".into()))?;
            name::parse(&token.text, origin)?
        };
        let mut ttl = None;
        let mut class_seen = false;
        let rtype = loop {
            let token = tokens
                .next()
                .ok_or(ZoneErrorKind::Syntax("missing record type".into()))?;
            let upper = token.text.to_ascii_uppercase();
            if !class_seen && is_class(&upper) {
                if upper != "IN" {
                    return Err(ZoneErrorKind::Class(token.text.clone()));
                }
                class_seen = true;
            } else if ttl.is_none() && upper.starts_with(|c: char| c.is_ascii_digit()) {
                ttl = Some(
                    parse_ttl(&token.text)
                        .map_err(|_| ZoneErrorKind::BadTtl(token.text.clone()))?,
                );
            } else {
                break record_type(&upper)?;
            }
        };
        let fields: Vec<_> = tokens.cloned().collect();
        let rdata = rdata::parse(rtype, &fields, origin)?;
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
        self.last_owner = Some(owner.clone());
        let mut record = Record::from_rdata(owner, ttl, rdata);
        record.dns_class = DNSClass::IN;
        Ok(record)
    }
}

fn is_class(upper: &str) -> bool {
    matches!(upper, "IN" | "CH" | "CS" | "HS")
        || upper
            .strip_prefix("CLASS")
            .is_some_and(|n| n.parse::<u16>().is_ok())
}

/// Mnemonics and the RFC 3597 `TYPEnnn` form.
fn record_type(upper: &str) -> Result<RecordType, ZoneErrorKind> {
    if let Some(code) = upper
        .strip_prefix("TYPE")
        .and_then(|n| n.parse::<u16>().ok())
    {
        return Ok(RecordType::from(code));
    }
    match RecordType::from_str(upper) {
        Ok(RecordType::OPT | RecordType::ANY | RecordType::AXFR | RecordType::IXFR) | Err(_) => {
            Err(ZoneErrorKind::UnknownType(upper.to_owned()))
        }
        Ok(rtype) => Ok(rtype),
    }
}

/// Checks the zone-wide rules of RFC 1034/1035/2181 that single records cannot break alone.
fn validate(
    mut records: Vec<SourceRecord>,
    path: &Path,
    explicit_origin: Option<&Name>,
) -> Result<Zone, ZoneError> {
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

    let mut soas = records
        .iter()
        .filter(|r| r.record.record_type() == RecordType::SOA);
    let Some(soa) = soas.next() else {
        return Err(whole(ZoneErrorKind::NoSoa(records.first().map_or_else(
            || "(empty file)".into(),
            |r| r.record.name.to_string(),
        ))));
    };
    if let Some(second) = soas.next() {
        return Err(at(second, ZoneErrorKind::DuplicateSoa));
    }
    let origin = soa.record.name.clone();
    let apex = LowerName::new(&origin);
    if explicit_origin.is_some_and(|named| LowerName::new(named) != apex) {
        return Err(at(
            soa,
            ZoneErrorKind::MisplacedSoa(explicit_origin.unwrap_or(&origin).to_string()),
        ));
    }
    let mut types_at: HashMap<LowerName, HashSet<RecordType>> = HashMap::new();
    let mut warnings = Vec::new();
    for r in &records {
        let owner = LowerName::new(&r.record.name);
        if !apex.zone_of(&owner) {
            return Err(at(
                r,
                ZoneErrorKind::OutOfZone {
                    name: r.record.name.to_string(),
                    origin: origin.to_string(),
                },
            ));
        }
        let rtype = r.record.record_type();
        if rtype == RecordType::SOA && owner != apex {
            return Err(at(r, ZoneErrorKind::MisplacedSoa(origin.to_string())));
        }
        let types = types_at.entry(owner.clone()).or_default();
        if rtype == RecordType::CNAME {
            if owner == apex {
                return Err(at(r, ZoneErrorKind::ApexCname));
            }
            if types.contains(&RecordType::CNAME) {
                return Err(at(
                    r,
                    ZoneErrorKind::MultipleCname(r.record.name.to_string()),
                ));
            }
        }
        // RFC 4035 §2.5: a CNAME's name also holds its signatures and its NSEC.
        let beside_cname = |t: &RecordType| matches!(t, RecordType::RRSIG | RecordType::NSEC);
        let clash = if rtype == RecordType::CNAME {
            types.iter().any(|t| !beside_cname(t))
        } else {
            !beside_cname(&rtype) && types.contains(&RecordType::CNAME)
        };
        if clash {
            return Err(at(
                r,
                ZoneErrorKind::CnameAndOther(r.record.name.to_string()),
            ));
        }
        types.insert(rtype);
    }
    if !types_at
        .get(&apex)
        .is_some_and(|t| t.contains(&RecordType::NS))
    {
        warnings.push(whole(ZoneErrorKind::NoApexNs(origin.to_string())));
    }
    equalise_ttls(&mut records, &mut warnings);
    Ok(Zone {
        origin,
        records,
        warnings,
    })
}

/// RFC 2181 §5.2: an RRset has one TTL. Lower the others to the smallest and warn once per set.
/// RRSIGs are grouped by the type they cover: each follows its RRset's TTL (RFC 4034 §3).
fn equalise_ttls(records: &mut [SourceRecord], warnings: &mut Vec<ZoneError>) {
    type Key = (LowerName, RecordType, Option<RecordType>);
    let key = |r: &SourceRecord| -> Key {
        (
            LowerName::new(&r.record.name),
            r.record.record_type(),
            crate::dnssec::type_covered(&r.record.data),
        )
    };
    let mut lowest: HashMap<Key, (u32, bool)> = HashMap::new();
    for r in records.iter() {
        lowest
            .entry(key(r))
            .and_modify(|(ttl, differs)| {
                *differs |= *ttl != r.record.ttl;
                *ttl = (*ttl).min(r.record.ttl);
            })
            .or_insert((r.record.ttl, false));
    }
    for r in records.iter_mut() {
        let key = key(r);
        let Some(&mut (ttl, ref mut differs)) = lowest.get_mut(&key) else {
            continue;
        };
        if *differs {
            *differs = false;
            warnings.push(ZoneError {
                file: r.file.to_path_buf(),
                line: r.line,
                kind: ZoneErrorKind::TtlMismatch {
                    name: r.record.name.to_string(),
                    rtype: key.1,
                    ttl,
                },
            });
        }
        r.record.ttl = ttl;
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

/// Loads every zone, reporting every broken file rather than stopping at the first.
pub fn load_all(specs: &[ZoneSpec]) -> Result<Vec<Zone>, Vec<ZoneError>> {
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
