//! The only code that writes the XDP program's maps: it makes the maps hold a [`MapImage`],
//! changing only what differs, without a query ever being answered from another name's data
//! or from a half-written answer set.
//!
//! The protocol, and why each step is where it is, is `lbdns_common::publish`. [`plan`] decides
//! the steps of a publish as a pure function; [`MapWriter`] carries them out.

mod geo;
mod life;
mod mapped;
mod names;
pub mod plan;
mod prepared;
mod rrl;
mod rrl_log;

use std::io;
use std::sync::{Arc, Mutex};

use aya::{maps::MapError as AyaMapError, Ebpf};
use lbdns_common::{
    answer::{AnswerSet, AnswerSetV4, AnswerSetV6, EXTENDED, SIGNATURES},
    cookie::CookieSecrets,
    edns::{answers_ecs, Nsid, ANSWERS_COOKIE, ANSWERS_NSID, COOKIE_SLOT, ECS_BITS, NSID_SLOT},
    maps,
    names::record_words,
    qtype::AddrType,
    signature::Signatures,
};

use crate::compile::{fixed::FixedImage, negative::NegativeImage, Answer, MapImage, RrsetId, Set};
use crate::rrl::RateLimits;
pub use geo::{geo_chunks_needed, geo_v6_slots_needed, GeoMapReport};
use geo::{GeoRows, Tries};
pub use life::{now_ns as coarse_now_ns, Heartbeat};
use mapped::{IdArray, MappedArray};
use names::NameTable;
use plan::{plan, Adopted, Capacity, Live, Published, Scope, State, Step};
pub use plan::{Fill, Usage};
use prepared::PreparedMaps;
pub use prepared::PreparedReport;
pub use rrl_log::RrlLog;

/// How many steps ahead a publish asks for the bucket a new name goes into, and twice as many
/// for the name itself: enough for several cache misses to be on their way while one step is
/// written.
const PREFETCH_AHEAD: usize = 8;

/// Why the maps could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The loaded object has no map of this name: it does not match this build.
    #[error("the XDP object has no map {0} (object and daemon are from different builds?)")]
    Missing(&'static str),
    /// The map is not what this build expects.
    #[error("map {map} is {reason} (object and daemon are from different builds?)")]
    Layout {
        /// Which map.
        map: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A map operation failed.
    #[error("{op} on map {map}: {source}")]
    Map {
        /// What was being done.
        op: &'static str,
        /// Which map.
        map: &'static str,
        /// The kernel's answer.
        source: AyaMapError,
    },
    /// Mapping one of the arrays userspace writes into memory failed.
    #[error("mapping {map} into memory: {source}")]
    Mmap {
        /// Which map.
        map: &'static str,
        /// The kernel's answer.
        source: io::Error,
    },
    /// The image does not fit the maps; nothing was written.
    #[error(transparent)]
    Full(#[from] plan::Full),
    /// A name's two buckets were full, and so were the buckets their entries could move to:
    /// the table is far fuller than the sizes it was made for allow.
    #[error("no room in the XDP name table's buckets: raise --xdp-rrset-entries")]
    NameTableFull,
    /// A publish of prepared replies would hold more elements of a map at once (the old ones
    /// and the new) than it has entries; nothing was written.
    #[error("{needed} elements do not fit the {entries} entries of the XDP map {map}")]
    PreparedFull {
        /// Which map.
        map: &'static str,
        /// Elements the map would hold at once.
        needed: usize,
        /// The map's entries.
        entries: u32,
    },
    /// Every row of `GEO_LOCATIONS_*` is taken.
    #[error("no free row in the XDP geo maps: more geo pool owners than it has rows")]
    GeoRowsFull,
    /// Waiting for running programs to finish failed; retiring ids and slots stay unused.
    #[error("waiting for an RCU grace period (membarrier): {0}")]
    GracePeriod(io::Error),
}

impl MapError {
    /// The error of map `map`'s operation `op`, for `map_err`.
    fn during(op: &'static str, map: &'static str) -> impl Fn(AyaMapError) -> Self {
        move |source| Self::Map { op, map, source }
    }
}

/// What one [`MapWriter::publish`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// RRsets added or changed.
    pub written: usize,
    /// RRsets removed.
    pub removed: usize,
    /// RRsets left as they were.
    pub unchanged: usize,
    /// Whether the publish waited for an RCU grace period.
    pub waited: bool,
}

/// Owns the maps userspace writes (`NAME_*`, `RRSET_SLOT_*`, `ANSWERS_*`, `SIGNATURES`,
/// `EDNS_ANSWERS`, `NSID_VALUES`, `COOKIE_SECRETS`, `RRL_SETTINGS`, `RRL_ALLOW_*`,
/// `PREPARED_STATE`, `NEGATIVE_*`, `FIXED_REPLIES`) and knows what they hold.
pub struct MapWriter {
    names: NameTable,
    edns_answers: MappedArray<u32>,
    nsids: MappedArray<Nsid>,
    cookie_secrets: MappedArray<CookieSecrets>,
    slots_v4: IdArray,
    slots_v6: IdArray,
    answers: Answers,
    signatures: MappedArray<Signatures>,
    tries: Tries,
    rows: GeoRows,
    state: State,
    heartbeat: Arc<Heartbeat>,
    rrl: rrl::RrlMaps,
    rrl_log: Arc<Mutex<RrlLog>>,
    prepared: PreparedMaps,
}

/// The `ANSWERS_*` arrays.
struct Answers {
    v4: MappedArray<AnswerSetV4>,
    v6: MappedArray<AnswerSetV6>,
}

impl Answers {
    /// Copies a set into a slot (and an extended set's extension into the slots after it) that
    /// no program can reach (the plan chose free ones), naming signature entry `signatures` if
    /// it has one.
    fn write(&self, slot: u32, answer: &Answer, signatures: Option<u32>) {
        match answer {
            Answer::V4(set) => write_set(&self.v4, slot, set, signatures),
            Answer::V6(set) => write_set(&self.v6, slot, set, signatures),
        }
    }

    /// The signature entry of the set in the slots from `slot`, if they hold exactly `answer`
    /// apart from that entry.
    fn holds(&self, slot: u32, answer: &Answer) -> Option<u32> {
        match answer {
            Answer::V4(set) => holds_set(&self.v4, slot, set),
            Answer::V6(set) => holds_set(&self.v6, slot, set),
        }
    }

    /// The head of the set in `slot` of `qtype`'s family: its flags and signature entry.
    fn head(&self, qtype: AddrType, slot: u32) -> (u8, u32) {
        match qtype {
            AddrType::A => {
                let set = self.v4.read(slot);
                (set.flags, set.signatures)
            }
            AddrType::Aaaa => {
                let set = self.v6.read(slot);
                (set.flags, set.signatures)
            }
        }
    }

    /// The signature entry the set in `slot` of `qtype`'s family names, if it has one.
    fn signature_entry(&self, qtype: AddrType, slot: u32) -> Option<u32> {
        let (flags, entry) = self.head(qtype, slot);
        (flags & SIGNATURES != 0).then_some(entry)
    }

    /// Whether the set in `slot` of `qtype`'s family is extended: a block of slots.
    fn is_block(&self, qtype: AddrType, slot: u32) -> bool {
        self.head(qtype, slot).0 & EXTENDED != 0
    }
}

/// The extension first, then the head: the order does not matter to programs, which reach
/// neither yet, but a head never names slots that were not written.
fn write_set<const L: usize>(
    slots: &MappedArray<AnswerSet<L>>,
    slot: u32,
    set: &Set<L>,
    signatures: Option<u32>,
) where
    AnswerSet<L>: aya::Pod,
{
    if let Some(extension) = &set.extension {
        for (at, value) in (slot + 1..).zip(extension.slots()) {
            slots.write(at, &value);
        }
    }
    let head = AnswerSet {
        signatures: signatures.unwrap_or(0),
        ..set.head
    };
    slots.write(slot, &head);
}

/// The signature entry the set in the slots from `slot` names, if they hold `set`, whose
/// signature entry is not chosen yet; `None` if they hold another.
fn holds_set<const L: usize>(
    slots: &MappedArray<AnswerSet<L>>,
    slot: u32,
    set: &Set<L>,
) -> Option<u32>
where
    AnswerSet<L>: aya::Pod,
{
    let head = slots.read(slot);
    let same = AnswerSet {
        signatures: 0,
        ..head
    } == set.head
        && set.extension.as_ref().is_none_or(|extension| {
            (slot + 1..)
                .zip(extension.slots())
                .all(|(at, value)| slots.read(at) == value)
        });
    same.then_some(head.signatures)
}

/// The writer reads what is published from the maps themselves: the name table says which
/// RRsets are there, with their ids and records, and `RRSET_SLOT_*` where their sets are.
impl Published for MapWriter {
    fn find(&self, rrset: &RrsetId) -> Option<Live> {
        let (id, record) = self.names.find(rrset)?;
        Some(self.live(rrset.qtype, id, record))
    }

    fn for_each(&self, mut f: impl FnMut(&RrsetId, Live)) {
        self.names.for_each(|rrset, id, record| {
            f(rrset, self.live(rrset.qtype, id, record));
        });
    }

    fn holds(&self, slot: u32, answer: &Answer, signatures: Option<&Signatures>) -> bool {
        // The flags compared equal, so the published set names an entry exactly when `answer`
        // has signatures stored.
        let Some(entry) = self.answers.holds(slot, answer) else {
            return false;
        };
        match (answer.flags() & SIGNATURES != 0, signatures) {
            (true, Some(wanted)) => self.signatures.read(entry) == *wanted,
            (false, None) => true,
            _ => false,
        }
    }
}

impl std::fmt::Debug for MapWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapWriter")
            .field("published", &self.state.published())
            .finish_non_exhaustive()
    }
}

impl MapWriter {
    /// Takes the writable maps out of a freshly loaded program, whose name table holds up to
    /// `names` RRsets, hashed with `name_seed`, and stamps them with this build's layout
    /// version. The maps must be empty.
    pub fn new(ebpf: &mut Ebpf, names: u32, name_seed: u64) -> Result<Self, MapError> {
        let mut writer = Self::take(ebpf, names, name_seed)?;
        Arc::get_mut(&mut writer.heartbeat)
            .expect("not shared yet")
            .stamp(names, name_seed);
        Ok(writer)
    }

    /// Takes the maps of a program loaded with maps an earlier process filled (pinned, of this
    /// build's layout version: `xdp::pins`), and reads what they hold: every published RRset
    /// stays, and every other id, slot and entry is free once no program run of the earlier
    /// process can still read one (one grace period, here).
    pub fn adopt(ebpf: &mut Ebpf, names: u32, name_seed: u64) -> Result<Self, MapError> {
        let mut writer = Self::take(ebpf, names, name_seed)?;
        wait_for_readers().map_err(MapError::GracePeriod)?;
        let mut live = Vec::new();
        writer.names.for_each(|rrset, id, record| {
            let live_at = writer.live(rrset.qtype, id, record);
            live.push(Adopted {
                qtype: rrset.qtype,
                words: record_words(rrset.name.len()) as u32,
                live: live_at,
                block: writer.answers.is_block(rrset.qtype, live_at.slot),
            });
        });
        let capacity = writer.state.capacity();
        writer.state = State::adopted(capacity, &live);
        let mut ids = Vec::new();
        writer
            .names
            .for_each(|rrset, id, _| ids.push((rrset.clone(), id)));
        writer.rows.adopt(&ids);
        Ok(writer)
    }

    fn take(ebpf: &mut Ebpf, names: u32, name_seed: u64) -> Result<Self, MapError> {
        let answers = Answers {
            v4: mapped(ebpf, maps::ANSWERS_V4)?,
            v6: mapped(ebpf, maps::ANSWERS_V6)?,
        };
        let edns_answers = mapped(ebpf, maps::EDNS_ANSWERS)?;
        let nsids = mapped(ebpf, maps::NSID_VALUES)?;
        let cookie_secrets = mapped(ebpf, maps::COOKIE_SECRETS)?;
        let slots_v4 = IdArray::new(mapped(ebpf, maps::RRSET_SLOT_V4)?);
        let slots_v6 = IdArray::new(mapped(ebpf, maps::RRSET_SLOT_V6)?);
        let signatures: MappedArray<Signatures> = mapped(ebpf, maps::SIGNATURES)?;
        let heartbeat = Arc::new(Heartbeat::new(
            mapped(ebpf, maps::LIFE)?,
            Some(mapped(ebpf, maps::WALL_CLOCK)?),
        ));
        let rrl = rrl::RrlMaps::take(ebpf)?;
        let rrl_log = Arc::new(Mutex::new(RrlLog::take(ebpf)?));
        let tries = Tries::take(ebpf)?;
        let rows = GeoRows::take(ebpf)?;
        let prepared = PreparedMaps::take(ebpf)?;
        let table = NameTable::new(
            mapped(ebpf, maps::NAME_BUCKETS)?,
            mapped(ebpf, maps::NAME_WORDS)?,
            name_seed,
        )?;
        // Ids index RRSET_SLOT_* and GEO_ROW_*, slots index ANSWERS_*: a family has as many of
        // each as the smallest array allows.
        let state = State::new(Capacity {
            v4: (answers.v4.entries())
                .min(slots_v4.entries())
                .min(rows.ids(AddrType::A)),
            v6: (answers.v6.entries())
                .min(slots_v6.entries())
                .min(rows.ids(AddrType::Aaaa)),
            names,
            name_words: table.words(),
            signatures: signatures.entries(),
        });
        Ok(Self {
            names: table,
            edns_answers,
            nsids,
            cookie_secrets,
            slots_v4,
            slots_v6,
            answers,
            signatures,
            tries,
            rows,
            state,
            heartbeat,
            rrl,
            rrl_log,
            prepared,
        })
    }

    /// The log of the program's rate limiting, for the heartbeat thread to report.
    pub fn rrl_log(&self) -> Arc<Mutex<RrlLog>> {
        self.rrl_log.clone()
    }

    /// The `LIFE` map: the layout stamp, and the heartbeat the daemon beats.
    pub fn heartbeat(&self) -> Arc<Heartbeat> {
        self.heartbeat.clone()
    }

    /// Makes the maps hold `image`, in the order of `lbdns_common::publish`: every query is
    /// answered from its own RRset as it was before or after its change. On error the maps
    /// hold a mix of the old and new image, each RRset whole, and a later publish carries on
    /// from there.
    pub fn publish(&mut self, image: &MapImage) -> Result<PublishReport, MapError> {
        self.publish_scoped(image, Scope::Whole)
    }

    /// Makes the maps hold `image` for the RRsets it has, and none of `removed`, leaving every
    /// other published RRset as it is: a change costs the RRsets it touches, not the maps'
    /// size. Same order and failure rules as [`MapWriter::publish`].
    pub fn publish_part(
        &mut self,
        image: &MapImage,
        removed: &[RrsetId],
    ) -> Result<PublishReport, MapError> {
        self.publish_scoped(image, Scope::Part { removed })
    }

    fn publish_scoped(
        &mut self,
        image: &MapImage,
        scope: Scope<'_>,
    ) -> Result<PublishReport, MapError> {
        let plan = plan(&self.state, image, scope, self)?;
        // Rows first lose what the publish removes (`geo`).
        let in_image = |rrset: &RrsetId| {
            image
                .rrsets
                .binary_search_by(|(other, _)| other.cmp(rrset))
                .is_ok()
        };
        let has_row = |rrset: &RrsetId| {
            image
                .geo
                .binary_search_by(|row| row.owner.cmp(rrset))
                .is_ok()
        };
        match scope {
            Scope::Whole => self.rows.before(image, |owner| !has_row(owner)),
            Scope::Part { removed } => self.rows.before(image, |owner| {
                removed.contains(owner) || (in_image(owner) && !has_row(owner))
            }),
        }
        let mut report = PublishReport {
            unchanged: plan.unchanged,
            ..PublishReport::default()
        };
        for (at, step) in plan.steps.iter().enumerate() {
            if let Some(Step::Add { rrset, .. }) = plan.steps.get(at + 2 * PREFETCH_AHEAD) {
                names::prefetch_name(rrset);
            }
            if let Some(Step::Add { rrset, .. }) = plan.steps.get(at + PREFETCH_AHEAD) {
                self.names.prefetch(rrset);
            }
            // On failure the state still describes the maps: the steps before this one.
            self.execute(step)?;
            self.state.apply(step);
            match step {
                Step::Remove { .. } => report.removed += 1,
                Step::WaitForReaders => report.waited = true,
                Step::Replace { .. } | Step::Add { .. } => report.written += 1,
            }
        }
        let names = &self.names;
        self.rows
            .after(image, |rrset| names.find(rrset).map(|(id, _)| id))?;
        Ok(report)
    }

    /// Makes the program send `nsid` to queries that ask for it, or no NSID. A new value goes
    /// into the `NSID_VALUES` slot that is not current, once no program can still be reading
    /// it, and one store to `EDNS_ANSWERS` switches to it (`lbdns_common::edns::NSID_SLOT`).
    pub fn publish_nsid(&self, nsid: Option<&Nsid>) -> Result<(), MapError> {
        let answers = self.edns_answers.read(0);
        let current = u32::from(answers & NSID_SLOT != 0);
        let Some(nsid) = nsid else {
            if answers & ANSWERS_NSID != 0 {
                self.edns_answers.point(0, answers & !ANSWERS_NSID);
            }
            return Ok(());
        };
        if answers & ANSWERS_NSID != 0 && self.nsids.read(current) == *nsid {
            return Ok(());
        }
        let next = 1 - current;
        // A program that read `EDNS_ANSWERS` before it last pointed at `next` may still be
        // copying from it. Only at the first publish has no program ever read it.
        if self.nsids.read(next).len != 0 {
            wait_for_readers().map_err(MapError::GracePeriod)?;
        }
        self.nsids.write(next, nsid);
        let slot = if next == 1 { NSID_SLOT } else { 0 };
        let others = answers & !(ANSWERS_NSID | NSID_SLOT);
        self.edns_answers.point(0, others | ANSWERS_NSID | slot);
        Ok(())
    }

    /// Makes the program make and check DNS Cookies with `secrets`, as [`Self::publish_nsid`]
    /// publishes an NSID: into the `COOKIE_SECRETS` slot that is not current, once no program
    /// can still be reading it, then one store to `EDNS_ANSWERS`
    /// (`lbdns_common::edns::COOKIE_SLOT`). A query checked against the old secrets meanwhile
    /// is answered as it would have been a moment earlier.
    pub fn publish_cookies(&self, secrets: &CookieSecrets) -> Result<(), MapError> {
        let answers = self.edns_answers.read(0);
        let current = u32::from(answers & COOKIE_SLOT != 0);
        if answers & ANSWERS_COOKIE != 0 && self.cookie_secrets.read(current) == *secrets {
            return Ok(());
        }
        let next = 1 - current;
        // As for the NSID: only a slot never written has never been read.
        if self.cookie_secrets.read(next) != CookieSecrets::default() {
            wait_for_readers().map_err(MapError::GracePeriod)?;
        }
        self.cookie_secrets.write(next, secrets);
        let slot = if next == 1 { COOKIE_SLOT } else { 0 };
        let others = answers & !(ANSWERS_COOKIE | COOKIE_SLOT);
        self.edns_answers.point(0, others | ANSWERS_COOKIE | slot);
        Ok(())
    }

    /// Makes the program limit response rates as `limits` say (start-up and reload).
    pub fn publish_rate_limits(&mut self, limits: &RateLimits) -> Result<(), MapError> {
        self.rrl.publish(limits)
    }

    /// Makes the program answer NXDOMAIN from `negative` (`compile::negative`) and the fixed
    /// replies of `fixed` (`compile::fixed`), changing only what differs.
    pub fn publish_prepared(
        &mut self,
        negative: &NegativeImage,
        fixed: &FixedImage,
    ) -> Result<PreparedReport, MapError> {
        self.prepared.publish(negative, fixed)
    }

    /// Makes the program answer Client Subnet (RFC 7871) with these privacy caps (IPv4's,
    /// IPv6's), or ignore the option (`None`): one store to `EDNS_ANSWERS`, which keeps the
    /// other options' bits.
    pub fn publish_ecs(&self, caps: Option<(u8, u8)>) {
        let answers = self.edns_answers.read(0);
        let others = answers & !ECS_BITS;
        let ecs = caps.map_or(0, |(v4, v6)| answers_ecs(v4, v6));
        if answers != others | ecs {
            self.edns_answers.point(0, others | ecs);
        }
    }

    /// Makes the client tries hold `map`'s pieces, writing only the prefixes that differ; the
    /// map published last (the same `Arc`) costs nothing.
    pub fn publish_geo_map(
        &mut self,
        map: &std::sync::Arc<crate::geo::GeoMap>,
    ) -> Result<GeoMapReport, MapError> {
        self.tries.publish(map)
    }

    /// Carries out one step. On failure nothing a program can reach has changed.
    fn execute(&mut self, step: &Step) -> Result<(), MapError> {
        match step {
            Step::Remove {
                rrset, id, record, ..
            } => {
                self.names.remove(rrset, *id, *record);
                Ok(())
            }
            Step::WaitForReaders => wait_for_readers().map_err(MapError::GracePeriod),
            Step::Replace {
                rrset,
                id,
                slot,
                answer,
                signatures,
                ..
            } => {
                self.write_set(*slot, answer, *signatures);
                self.slot_table(rrset.qtype).point(*id, *slot);
                Ok(())
            }
            Step::Add {
                rrset,
                id,
                slot,
                record,
                answer,
                signatures,
            } => {
                self.write_set(*slot, answer, *signatures);
                self.slot_table(rrset.qtype).point(*id, *slot);
                // Last: until the name's entry is there, no program reaches the id.
                self.names.insert(rrset, *id, *record)
            }
        }
    }

    /// How full the maps are now.
    pub fn fill(&self) -> Fill {
        self.state.fill()
    }

    /// Where the RRset with `id` and `record` lives: the slot its id points at, and the
    /// signature entry the set there names.
    fn live(&self, qtype: AddrType, id: u32, record: u32) -> Live {
        let slot = self.slot_table(qtype).read(id);
        Live {
            id,
            slot,
            record,
            signatures: self.answers.signature_entry(qtype, slot),
        }
    }

    /// Copies the signatures into their free entry, then the set, naming it, into its free
    /// slot: neither is reachable until the slot is stored.
    fn write_set(&self, slot: u32, answer: &Answer, signatures: Option<(u32, &Signatures)>) {
        if let Some((entry, stored)) = signatures {
            self.signatures.write(entry, stored);
        }
        self.answers
            .write(slot, answer, signatures.map(|(entry, _)| entry));
    }

    fn slot_table(&self, qtype: AddrType) -> &IdArray {
        match qtype {
            AddrType::A => &self.slots_v4,
            AddrType::Aaaa => &self.slots_v6,
        }
    }
}

fn mapped<T: aya::Pod>(ebpf: &mut Ebpf, name: &'static str) -> Result<MappedArray<T>, MapError> {
    MappedArray::new(ebpf.take_map(name).ok_or(MapError::Missing(name))?, name)
}

/// Returns once every XDP program run that started before the call has finished.
///
/// `MEMBARRIER_CMD_GLOBAL` waits for an RCU grace period (`synchronize_rcu`), and XDP programs
/// run inside RCU read-side sections, so after it no program still uses an element, id or slot
/// it read before. It fails on `nohz_full` kernels.
fn wait_for_readers() -> io::Result<()> {
    /// From linux/membarrier.h; libc does not export it.
    const MEMBARRIER_CMD_GLOBAL: libc::c_int = 1;
    // SAFETY: membarrier takes two integers and a CPU id and touches no memory of ours.
    let ret = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
