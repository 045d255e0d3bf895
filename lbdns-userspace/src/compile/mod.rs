//! Hot RRsets → the image of the XDP program's maps. Pure and deterministic: no I/O, no map
//! handles, and the same input always gives the same image.
//!
//! The image says what the maps must answer, not where it lives: choosing answer-set slots is
//! the map writer's job ([`crate::maps`]), because it depends on what the maps hold now.
//!
//! [`hot_rrsets`] takes the input from a [`Catalog`](crate::authority::Catalog), so the fast
//! path serves exactly what the authority answers directly.

pub mod fixed;
pub mod geo;
mod hot;
pub mod negative;
mod prepared;
mod shares;
mod zone_parts;

use std::{cmp::Ordering, net::IpAddr};

pub use geo::{GeoRow, RowEntry};
pub use hot::{hot_rrsets, hot_rrsets_at, HotPart};
use lbdns_common::edns::Nsid;
use smallvec::SmallVec;

use crate::{
    authority::{Catalog, ServerIdentity},
    cache,
};
pub use lbdns_common::qtype::AddrType;
use lbdns_common::{
    answer::{
        AnswerSet, Extension, BLOCK_SLOTS, EXTENDED, GEO, INLINE_ADDRS, NO_ECS, SIGNATURES, SIGNED,
    },
    limits::{MAX_ADDRS, MAX_NAME_LEN, MAX_SCHEDULE},
    signature::Signatures,
};

/// An RRset the fast path should answer: the authority's A or AAAA records for one name, and
/// the order its replies give them in.
///
/// Reply k (per CPU) leads with `addrs[schedule[k % schedule.len()]]`, or `addrs[k % n]` with an
/// empty schedule, and carries the leading address and the next `min(cap, n) - 1`, wrapping
/// around. The socket path orders a pool's replies by the same rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotRrset {
    /// The owner name in lowercase wire format, root label included (`\x03www\x07example\x03com\x00`).
    pub name: Vec<u8>,
    /// A or AAAA.
    pub qtype: AddrType,
    /// The TTL of every record.
    pub ttl: u32,
    /// The records' addresses, in the order replies rotate through them (zone order for a plain
    /// RRset); all of `qtype`'s family.
    pub addrs: Addrs,
    /// The leading address of successive replies, as indices into `addrs`: a weighted pool's
    /// addresses, each repeated in proportion to its weight, at most [`MAX_SCHEDULE`] entries.
    /// Empty for plain rotation.
    pub schedule: Vec<u8>,
    /// The most records one reply carries (a pool's `answers`); `None`, or anything from the
    /// number of addresses up, carries them all.
    pub cap: Option<usize>,
    /// An RRSIG at the owner covers the RRset: a DO=1 answer carries `rrsigs`, or, without
    /// them, goes to the socket path (`lbdns_common::answer::SIGNED`).
    pub signed: bool,
    /// The RRSIG records a DO=1 answer carries after the addresses, as the socket path sends
    /// them (`DirectRrset::answer_signatures`); `None` where it sends none.
    pub rrsigs: Option<Rrsigs>,
}

/// A hot RRset's addresses. Most RRsets have one or two, and those are held inline: a
/// million-name zone's compile made, and then freed, a million small lists.
pub type Addrs = SmallVec<[IpAddr; 2]>;

/// The RRSIG RRset that covers a hot RRset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rrsigs {
    /// The RRSIG RRset's own TTL.
    pub ttl: u32,
    /// Each RRSIG's RDATA in wire format, in the order the socket path sends them.
    pub rdatas: Vec<Vec<u8>>,
}

/// Identifies an RRset in the image and in the maps: (name, type).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RrsetId {
    /// A or AAAA.
    pub qtype: AddrType,
    /// Lowercase wire-format name.
    pub name: Vec<u8>,
}

/// An answer set of either family. The AAAA set is boxed: it is more than twice the A set's
/// size, and an image of a million A sets held each at the larger size was megabytes more to
/// fill and fault in on every whole publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// For an A RRset.
    V4(Set<4>),
    /// For an AAAA RRset.
    V6(Box<Set<16>>),
}

impl Answer {
    /// The flags of the set's head (`lbdns_common::answer::AnswerSet::flags`).
    pub fn flags(&self) -> u8 {
        match self {
            Answer::V4(set) => set.head.flags,
            Answer::V6(set) => set.head.flags,
        }
    }

    /// Whether the set is extended: its schedule or further addresses in the slots after its
    /// head, a block of them.
    pub fn is_extended(&self) -> bool {
        self.flags() & EXTENDED != 0
    }

    /// The answer-set slots the set takes: one, or a block for an extended set.
    pub fn slots(&self) -> u32 {
        if self.is_extended() {
            BLOCK_SLOTS
        } else {
            1
        }
    }

    fn add_flags(&mut self, flags: u8) {
        match self {
            Answer::V4(set) => set.head.flags |= flags,
            Answer::V6(set) => set.head.flags |= flags,
        }
    }
}

/// One RRset's answer set whole, as the writer puts it into the maps: its head slot and, when
/// the head has `EXTENDED`, the extension that fills the slots after it
/// (`lbdns_common::answer`). Boxed, because most sets have none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set<const L: usize> {
    /// The head slot. Its `signatures` entry is zero here: the writer chooses it.
    pub head: AnswerSet<L>,
    /// The schedule and the addresses past the head's, with `EXTENDED` only.
    pub extension: Option<Box<Extension<L>>>,
}

/// What the maps must hold: one answer set per hot RRset, and the RRSIG records of those whose
/// sets have `lbdns_common::answer::SIGNATURES`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapImage {
    /// Answer sets by RRset, sorted by RRset, each RRset once. A slice, not a map: the writer
    /// only walks it, and a million sets of up to 300 bytes are not worth a second copy. A set's
    /// `signatures` entry is zero here: the writer chooses it.
    pub rrsets: Box<[(RrsetId, Answer)]>,
    /// The signature store's values by RRset, sorted by RRset: exactly the RRsets whose sets
    /// have `SIGNATURES`.
    pub signatures: Box<[(RrsetId, Signatures)]>,
    /// The rows of geo RRsets (whose sets have `lbdns_common::answer::GEO`), sorted by owner:
    /// which location gets which RRset's set (`lbdns_common::geo`).
    pub geo: Box<[GeoRow]>,
}

impl MapImage {
    /// The RRSIG records of `rrset`'s DO=1 answers, if the fast path sends them.
    pub fn signatures_of(&self, rrset: &RrsetId) -> Option<&Signatures> {
        let at = self
            .signatures
            .binary_search_by(|(other, _)| other.cmp(rrset))
            .ok()?;
        Some(&self.signatures[at].1)
    }
}

/// A hot RRset that the image leaves to the socket path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Which RRset.
    pub id: RrsetId,
    /// Why.
    pub reason: SkipReason,
}

/// Why an RRset is not in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// More addresses than one answer set holds ([`MAX_ADDRS`]).
    TooManyAddresses(usize),
}

/// The image and the RRsets it leaves out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compiled {
    /// What to write.
    pub image: MapImage,
    /// What the socket path keeps answering alone.
    pub skipped: Vec<Skipped>,
    /// Signed RRsets whose RRSIG records take more than the signature store holds
    /// (`lbdns_common::signature::MAX_SIGNATURE_BYTES`): the socket path answers their DO=1
    /// queries.
    pub signatures_too_large: Vec<RrsetId>,
}

/// Input that cannot come from a correct authority: a bug in the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    /// The name is not a lowercase wire-format name of at most 255 bytes.
    #[error("{name:?} is not a lowercase wire-format domain name: {reason}")]
    BadName {
        /// The name as given.
        name: Vec<u8>,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An address of the other family.
    #[error("{qtype:?} RRset {name:?} holds {addr}")]
    WrongFamily {
        /// The RRset's name.
        name: Vec<u8>,
        /// Its type.
        qtype: AddrType,
        /// The offending address.
        addr: IpAddr,
    },
    /// An RRset with no records.
    #[error("{qtype:?} RRset {name:?} is empty")]
    Empty {
        /// The RRset's name.
        name: Vec<u8>,
        /// Its type.
        qtype: AddrType,
    },
    /// A schedule entry that names no address.
    #[error("{qtype:?} RRset {name:?}: schedule index {index} with {addrs} addresses")]
    ScheduleIndex {
        /// The RRset's name.
        name: Vec<u8>,
        /// Its type.
        qtype: AddrType,
        /// The offending entry.
        index: u8,
        /// How many addresses the RRset has.
        addrs: usize,
    },
    /// A schedule longer than an answer set holds: the weights were not scaled to fit.
    #[error(
        "{qtype:?} RRset {name:?}: schedule of {len} entries, more than the XDP ABI's {MAX_SCHEDULE}"
    )]
    ScheduleTooLong {
        /// The RRset's name.
        name: Vec<u8>,
        /// Its type.
        qtype: AddrType,
        /// The schedule's length.
        len: usize,
    },
    /// A cap of 0: replies with no records.
    #[error("{qtype:?} RRset {name:?}: answer cap of 0")]
    ZeroCap {
        /// The RRset's name.
        name: Vec<u8>,
        /// Its type.
        qtype: AddrType,
    },
    /// The same (name, type) twice.
    #[error("{qtype:?} RRset {name:?} appears twice")]
    Duplicate {
        /// The RRset's name.
        name: Vec<u8>,
        /// Its type.
        qtype: AddrType,
    },
}

/// The NSID the program sends to queries that ask for it, if `identity` has one.
pub fn nsid(identity: &ServerIdentity) -> Option<Nsid> {
    // `ServerIdentity` holds 1..=MAX_NSID_LEN octets, all of which `Nsid` takes.
    identity.nsid().and_then(Nsid::new)
}

/// Compiles hot RRsets into a map image. Each answer set keeps the RRset's address order, its
/// schedule (`0, 1, .., count - 1` for plain rotation) and its cap clamped to the number of
/// addresses (`limit == count` without one). The input may come in any order: the image is the
/// same.
pub fn compile(mut rrsets: Vec<HotRrset>) -> Result<Compiled, CompileError> {
    let keyed = rrsets
        .iter_mut()
        .map(|rrset| (sort_key(rrset), rrset))
        .collect();
    let compiled = compile_keyed(keyed)?;
    check_skipped(&compiled)?;
    // What stays behind in `rrsets` holds nothing on the heap for a plain RRset, so dropping
    // it frees nothing per RRset.
    Ok(compiled)
}

/// How many RRsets ahead [`compile_keyed`] asks for a name, and twice as many for an RRset.
const PREFETCH_AHEAD: usize = 8;

/// An RRset to compile with its [`sort_key`], borrowed so that its name can move into the
/// image.
type Keyed<'r> = (u64, &'r mut HotRrset);

/// [`compile`] but for the check of skipped RRsets against the rest, which needs all of an
/// input split in shares (`shares`).
fn compile_keyed(mut keyed: Vec<Keyed<'_>>) -> Result<Compiled, CompileError> {
    let mut compiled = Compiled::default();
    let mut answers: Vec<(RrsetId, Answer)> = Vec::with_capacity(keyed.len());
    let mut signatures = Vec::new();
    // Walked in the image's order, so the image is built sorted. Each name moves out into its
    // id.
    keyed.sort_unstable_by(|a, b| image_order((a.0, &a.1.name), (b.0, &b.1.name)));
    for at in 0..keyed.len() {
        // The RRsets lie in the catalog's order, their names on the heap in the same: in the
        // image's order, each is a cache miss. Ask for them ahead, the name once its RRset,
        // which says where it is, has arrived.
        if let Some((_, ahead)) = keyed.get(at + 2 * PREFETCH_AHEAD) {
            cache::prefetch_value(&**ahead);
        }
        if let Some((_, ahead)) = keyed.get(at + PREFETCH_AHEAD) {
            cache::prefetch(ahead.name.as_ptr());
        }
        let rrset = &mut *keyed[at].1;
        check_name(&rrset.name)?;
        if rrset.addrs.is_empty() {
            return Err(CompileError::Empty {
                name: rrset.name.clone(),
                qtype: rrset.qtype,
            });
        }
        check_order(rrset)?;
        if rrset.addrs.len() > MAX_ADDRS {
            compiled.skipped.push(Skipped {
                reason: SkipReason::TooManyAddresses(rrset.addrs.len()),
                id: RrsetId {
                    qtype: rrset.qtype,
                    name: std::mem::take(&mut rrset.name),
                },
            });
            continue;
        }
        // `too_large`: signed with RRSIGs the store cannot hold.
        let (stored, too_large) = match &rrset.rrsigs {
            Some(rrsigs) if rrset.signed => {
                let stored = Signatures::new(rrsigs.ttl, rrsigs.rdatas.iter().map(Vec::as_slice));
                let too_large = stored.is_none();
                (stored, too_large)
            }
            _ => (None, false),
        };
        let flags = match (rrset.signed, stored.is_some()) {
            (false, _) => 0,
            (true, false) => SIGNED,
            (true, true) => SIGNED | SIGNATURES,
        };
        let answer = match rrset.qtype {
            AddrType::A => Answer::V4(answer_set(rrset, flags, |addr| match addr {
                IpAddr::V4(v4) => Some(v4.octets()),
                IpAddr::V6(_) => None,
            })?),
            AddrType::Aaaa => Answer::V6(Box::new(answer_set(rrset, flags, |addr| match addr {
                IpAddr::V6(v6) => Some(v6.octets()),
                IpAddr::V4(_) => None,
            })?)),
        };
        let id = RrsetId {
            qtype: rrset.qtype,
            name: std::mem::take(&mut rrset.name),
        };
        if too_large {
            compiled.signatures_too_large.push(id.clone());
        }
        if let Some(stored) = stored {
            signatures.push((id.clone(), stored));
        }
        if answers.last().is_some_and(|(last, _)| *last == id) {
            return Err(duplicate_error(&id));
        }
        answers.push((id, answer));
    }
    compiled.image.rrsets = answers.into_boxed_slice();
    compiled.image.signatures = signatures.into_boxed_slice();
    Ok(compiled)
}

/// Fails if a skipped RRset is also in the image, or skipped twice. Skipped RRsets are rare:
/// each is compared with the rest directly.
fn check_skipped(compiled: &Compiled) -> Result<(), CompileError> {
    let skipped = &compiled.skipped;
    let duplicate = skipped.iter().map(|s| &s.id).find(|&id| {
        compiled
            .image
            .rrsets
            .binary_search_by(|(other, _)| other.cmp(id))
            .is_ok()
            || skipped.iter().filter(|s| &s.id == id).count() > 1
    });
    match duplicate {
        Some(id) => Err(duplicate_error(id)),
        None => Ok(()),
    }
}

fn duplicate_error(id: &RrsetId) -> CompileError {
    CompileError::Duplicate {
        name: id.name.clone(),
        qtype: id.qtype,
    }
}

/// The first eight octets of an RRset's place in the image: its type, then the first seven
/// octets of its name. Sorting by this key, and by name only where keys are equal, reads most
/// names not at all: comparing the RRsets themselves took a cache miss per comparison at a
/// million names.
fn sort_key(rrset: &HotRrset) -> u64 {
    let mut key = [0u8; 8];
    key[0] = rrset.qtype as u8;
    let head = rrset.name.len().min(7);
    key[1..=head].copy_from_slice(&rrset.name[..head]);
    // A name shorter than seven octets ends with its root label, a 0 that no other name has
    // there unless it is the same name, so the zeros after it order it correctly.
    u64::from_be_bytes(key)
}

/// The image's order, by type and name, of two RRsets given as their [`sort_key`] and name:
/// the key first, the name only where keys are equal.
fn image_order(a: (u64, &[u8]), b: (u64, &[u8])) -> Ordering {
    a.cmp(&b)
}

/// Compiles every RRset the fast path answers for `catalog`: [`hot_rrsets`] and the geo pools'
/// ([`geo::hot_geo`]). A catalog of many names is compiled on one thread per CPU
/// ([`shares`]).
pub fn compile_catalog(catalog: &Catalog) -> Result<Compiled, CompileError> {
    let located = geo::hot_geo(catalog);
    let compiled = shares::compile(catalog, located.rrsets)?;
    check_skipped(&compiled)?;
    Ok(with_geo(compiled, located.rows))
}

/// [`compile`], then the geo owners' sets of `rows` flagged `GEO` (and `NO_ECS` for pools that
/// ignore ECS) and the rows kept in the image. A row whose owner the image leaves out goes
/// too.
pub fn compile_geo(rrsets: Vec<HotRrset>, rows: Vec<GeoRow>) -> Result<Compiled, CompileError> {
    Ok(with_geo(compile(rrsets)?, rows))
}

/// `compiled` with the geo rows of [`compile_geo`].
fn with_geo(mut compiled: Compiled, rows: Vec<GeoRow>) -> Compiled {
    let answers = &mut compiled.image.rrsets;
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows {
        let Ok(at) = answers.binary_search_by(|(other, _)| other.cmp(&row.owner)) else {
            continue;
        };
        answers[at]
            .1
            .add_flags(GEO | if row.ecs { 0 } else { NO_ECS });
        kept.push(row);
    }
    kept.sort_unstable();
    compiled.image.geo = kept.into_boxed_slice();
    compiled
}

/// Checks the schedule and the cap against the XDP ABI and the RRset's addresses.
fn check_order(rrset: &HotRrset) -> Result<(), CompileError> {
    let name = || rrset.name.clone();
    if rrset.schedule.len() > MAX_SCHEDULE {
        return Err(CompileError::ScheduleTooLong {
            name: name(),
            qtype: rrset.qtype,
            len: rrset.schedule.len(),
        });
    }
    if let Some(&index) = rrset
        .schedule
        .iter()
        .find(|&&index| usize::from(index) >= rrset.addrs.len())
    {
        return Err(CompileError::ScheduleIndex {
            name: name(),
            qtype: rrset.qtype,
            index,
            addrs: rrset.addrs.len(),
        });
    }
    if rrset.cap == Some(0) {
        return Err(CompileError::ZeroCap {
            name: name(),
            qtype: rrset.qtype,
        });
    }
    Ok(())
}

/// Builds an answer set from an RRset of at most [`MAX_ADDRS`] addresses whose schedule and cap
/// passed [`check_order`]: its head alone for a few addresses in plain rotation, with an
/// extension for more, or for a weighted order.
fn answer_set<const L: usize>(
    rrset: &HotRrset,
    flags: u8,
    octets: impl Fn(IpAddr) -> Option<[u8; L]>,
) -> Result<Set<L>, CompileError> {
    let count = rrset.addrs.len();
    let mut addrs = [[0; L]; MAX_ADDRS];
    for (slot, &addr) in addrs.iter_mut().zip(&rrset.addrs) {
        *slot = octets(addr).ok_or_else(|| CompileError::WrongFamily {
            name: rrset.name.clone(),
            qtype: rrset.qtype,
            addr,
        })?;
    }
    // A schedule that leads with each address in turn is plain rotation.
    let plain = rrset.schedule.iter().copied().eq(0..count as u8);
    let schedule_len = if plain || rrset.schedule.is_empty() {
        0
    } else {
        rrset.schedule.len()
    };
    let extended = count > INLINE_ADDRS || schedule_len != 0;
    let head = AnswerSet {
        ttl: rrset.ttl,
        count: count as u8,
        limit: rrset.cap.map_or(count, |cap| cap.min(count)) as u8,
        schedule_len: schedule_len as u8,
        flags: flags | if extended { EXTENDED } else { 0 },
        signatures: 0,
        _pad: [0; 4],
        addrs: addrs[..INLINE_ADDRS]
            .try_into()
            .expect("INLINE_ADDRS addresses"),
    };
    let extension = extended.then(|| {
        let mut extension = Extension {
            schedule: [0; MAX_SCHEDULE],
            addrs: addrs[INLINE_ADDRS..].try_into().expect("the rest"),
        };
        extension.schedule[..schedule_len].copy_from_slice(&rrset.schedule[..schedule_len]);
        Box::new(extension)
    });
    Ok(Set { head, extension })
}

/// Checks that `name` is what the XDP program builds from a query: length-prefixed labels of
/// 1..=63 bytes, the root label last, 255 bytes at most, no uppercase ASCII.
fn check_name(name: &[u8]) -> Result<(), CompileError> {
    let bad = |reason| CompileError::BadName {
        name: name.to_vec(),
        reason,
    };
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(bad("longer than 255 bytes or empty"));
    }
    // A location RRset's name has one upper-case label, first (`geo::location_name`).
    let lower = if geo::is_location_name(name) {
        &name[lbdns_common::geo::LOCATION_LABEL.len() + 4..]
    } else {
        name
    };
    if lower.iter().any(u8::is_ascii_uppercase) {
        return Err(bad("has uppercase letters"));
    }
    let mut at = 0;
    loop {
        let Some(&len) = name.get(at) else {
            return Err(bad("runs past its end"));
        };
        if len == 0 {
            break;
        }
        if len > 63 {
            return Err(bad("has a label longer than 63 bytes"));
        }
        at += 1 + len as usize;
    }
    if at + 1 != name.len() {
        return Err(bad("has bytes after the root label"));
    }
    Ok(())
}

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod negative_tests;
#[cfg(test)]
mod tests;
