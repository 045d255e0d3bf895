//! What one publish does, decided without writing a map: [`plan`] is a pure function from what
//! the maps hold (read through [`Published`], and the free and retiring numbers in [`State`])
//! and what they must hold ([`MapImage`]) to [`Step`]s in the order `lbdns_common::publish`
//! prescribes. The writer executes the steps one by one and applies each to its state once it
//! has succeeded, so the state always describes the maps. Planning copies only the free and
//! retiring numbers: a health change that rewrites one RRset of millions costs one step.
//!
//! The state keeps no copy of what is published: which names, where each lives and its answer
//! set are in the maps already, and the writer reads them there. A copy would cost about 100
//! bytes per name and up to 300 per answer set, hundreds of megabytes for a zone of millions.

use std::collections::BTreeSet;

use lbdns_common::{answer::BLOCK_SLOTS, qtype::AddrType, signature::Signatures};

use crate::compile::{Answer, MapImage, RrsetId};

mod numbers;

use numbers::{words_of, Ends, Records};

/// Where a published RRset lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Live {
    /// Its RRset id: fixed while its name entry exists.
    pub id: u32,
    /// The slot of its current answer set.
    pub slot: u32,
    /// The first word of its name record in `NAME_WORDS`.
    pub record: u32,
    /// The `SIGNATURES` entry its current set names, if any.
    pub signatures: Option<u32>,
}

/// The RRsets the maps hold, which [`plan`] compares with the image's so that only changed
/// RRsets are written. The writer reads them from the mapped arrays.
pub trait Published {
    /// Where `rrset` lives, if it is published.
    fn find(&self, rrset: &RrsetId) -> Option<Live>;
    /// Calls `f` with every published RRset and where it lives, in any order.
    fn for_each(&self, f: impl FnMut(&RrsetId, Live));
    /// Whether the slot `slot` of `answer`'s family holds exactly `answer` (whatever signature
    /// entry it names), and that entry exactly `signatures`.
    fn holds(&self, slot: u32, answer: &Answer, signatures: Option<&Signatures>) -> bool;
}

/// One change to the maps. Each is whole on success; on failure it has left nothing that a
/// program can reach, so the state stays as it was. Written sets are borrowed from the image
/// the plan was made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Remove the name entry of an RRset the image no longer has. Its id, slot and record
    /// start retiring.
    Remove {
        /// The RRset.
        rrset: RrsetId,
        /// Its id, which starts retiring.
        id: u32,
        /// Its slot, which starts retiring.
        slot: u32,
        /// Its name record, which starts retiring.
        record: u32,
        /// Its signature entry, which starts retiring.
        signatures: Option<u32>,
    },
    /// Wait for an RCU grace period: every retiring id, slot, record and signature entry
    /// becomes free. Comes
    /// whenever a write needs one and none is free.
    WaitForReaders,
    /// Write a changed RRset's signatures into their free entry and its answer set into the free
    /// `slot`, then point `id` at it. The old slot and signature entry start retiring.
    Replace {
        /// The RRset.
        rrset: &'a RrsetId,
        /// Its id, unchanged.
        id: u32,
        /// The free slot the new set goes to.
        slot: u32,
        /// The slot of its current set, which starts retiring.
        old_slot: u32,
        /// The new set.
        answer: &'a Answer,
        /// A free signature entry and what goes into it, which the new set names.
        signatures: Option<(u32, &'a Signatures)>,
        /// The signature entry the current set names, which starts retiring.
        old_signatures: Option<u32>,
    },
    /// Write a new RRset's signatures into their free entry and its answer set into the free
    /// `slot`, point the free `id` at it, write the name record naming `id` at the free
    /// `record`, then store the entry that leads to it.
    Add {
        /// The RRset.
        rrset: &'a RrsetId,
        /// A free id.
        id: u32,
        /// A free slot.
        slot: u32,
        /// The first of `record_words(name length)` free words of `NAME_WORDS`.
        record: u32,
        /// Its set.
        answer: &'a Answer,
        /// A free signature entry and what goes into it, which the set names.
        signatures: Option<(u32, &'a Signatures)>,
    },
}

/// The steps of one publish and what they amount to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan<'a> {
    /// In execution order.
    pub steps: Vec<Step<'a>>,
    /// RRsets of the image that are already published as they are.
    pub unchanged: usize,
}

/// The image does not fit the maps; nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    /// More RRsets of a family than there are slots (an extended set takes a block of them),
    /// or changes while every slot is live.
    #[error(
        "the {0:?} RRsets to publish need more answer-set slots than the maps have: raise the \
         number of slots (--xdp-a-slots, --xdp-aaaa-slots; a set of more than four addresses or \
         with weights takes four)"
    )]
    Slots(AddrType),
    /// More RRsets than the name table holds.
    #[error("the image has more RRsets than the XDP name table holds: raise --xdp-rrset-entries")]
    Names,
    /// More signed RRsets with RRSIGs to store than `SIGNATURES` has entries.
    #[error(
        "the signed RRsets to publish need more signature entries than the maps have: raise \
         --xdp-signature-entries"
    )]
    Signatures,
    /// The names' records need more words than `NAME_WORDS` has free.
    #[error(
        "the names to publish need more name-table space than the maps have: raise \
         --xdp-name-bytes"
    )]
    NameSpace,
}

/// The ids and slots of one address family.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Family {
    ids: Ends,
    slots: Ends,
}

/// Which ids, slots, records and signature entries are free or retiring.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Numbering {
    v4: Family,
    v6: Family,
    records: Records,
    /// `SIGNATURES` entries, shared by both families.
    signatures: Ends,
}

impl Numbering {
    /// The step that writes `answer` for `rrset` with free numbers: a new slot for the RRset
    /// published at `live`, or a free id, slot and record for a new one.
    fn write<'a>(
        &mut self,
        rrset: &'a RrsetId,
        answer: &'a Answer,
        stored: Option<&'a Signatures>,
        live: Option<Live>,
    ) -> Result<Step<'a>, Full> {
        let full = Full::Slots(rrset.qtype);
        let signatures = match stored {
            Some(stored) => {
                let entry = self.signatures.free_single().ok_or(Full::Signatures)?;
                Some((entry, stored))
            }
            None => None,
        };
        let family = self.family(rrset.qtype);
        let extended = answer.is_extended();
        let free_id = family.ids.free_any(extended);
        let slot = if extended {
            family.slots.free_block()
        } else {
            family.slots.free_single()
        };
        let slot = slot.ok_or(full)?;
        Ok(match live {
            Some(live) => Step::Replace {
                rrset,
                id: live.id,
                slot,
                old_slot: live.slot,
                answer,
                signatures,
                old_signatures: live.signatures,
            },
            None => Step::Add {
                rrset,
                id: free_id.ok_or(full)?,
                slot,
                record: self.records.free(words_of(rrset)).ok_or(Full::NameSpace)?,
                answer,
                signatures,
            },
        })
    }

    /// Records what `step` takes, retires and frees.
    fn apply(&mut self, step: &Step) {
        match step {
            Step::Remove {
                rrset,
                id,
                slot,
                record,
                signatures,
            } => {
                if let Some(entry) = signatures {
                    self.signatures.retire(*entry);
                }
                self.records.retire(*record, words_of(rrset));
                let family = self.family(rrset.qtype);
                family.ids.retire(*id);
                family.slots.retire(*slot);
            }
            Step::WaitForReaders => {
                for family in [&mut self.v4, &mut self.v6] {
                    family.ids.grace_period_over();
                    family.slots.grace_period_over();
                }
                self.records.grace_period_over();
                self.signatures.grace_period_over();
            }
            Step::Replace {
                rrset,
                slot,
                old_slot,
                answer,
                signatures,
                old_signatures,
                ..
            } => {
                if let Some((entry, _)) = signatures {
                    self.signatures.take(*entry, false);
                }
                if let Some(entry) = old_signatures {
                    self.signatures.retire(*entry);
                }
                let family = self.family(rrset.qtype);
                family.slots.take(*slot, answer.is_extended());
                family.slots.retire(*old_slot);
            }
            Step::Add {
                rrset,
                id,
                slot,
                record,
                answer,
                signatures,
            } => {
                if let Some((entry, _)) = signatures {
                    self.signatures.take(*entry, false);
                }
                self.records.take(*record, words_of(rrset));
                let family = self.family(rrset.qtype);
                family.ids.take(*id, answer.is_extended());
                family.slots.take(*slot, answer.is_extended());
            }
        }
    }

    fn family(&mut self, qtype: AddrType) -> &mut Family {
        match qtype {
            AddrType::A => &mut self.v4,
            AddrType::Aaaa => &mut self.v6,
        }
    }

    fn anything_retiring(&self) -> bool {
        !self.records.retiring.is_empty()
            || !self.signatures.retiring.is_empty()
            || [&self.v4, &self.v6]
                .iter()
                .any(|f| !f.ids.retiring.is_empty() || !f.slots.retiring.is_empty())
    }
}

/// A published RRset of maps adopted from an earlier process ([`State::adopted`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adopted {
    /// Its family.
    pub qtype: AddrType,
    /// The words of its name record.
    pub words: u32,
    /// Where it lives.
    pub live: Live,
    /// Whether its set is extended: a block of slots.
    pub block: bool,
}

/// How many of each thing the maps have room for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// Ids and slots of A RRsets (the smallest of `ANSWERS_V4` and the ids `RRSET_SLOT_V4` and
    /// `GEO_ROW_V4` hold): an RRset takes one id, and one slot or a block of them
    /// (`lbdns_common::answer`).
    pub v4: u32,
    /// Ids and slots of AAAA RRsets.
    pub v6: u32,
    /// RRsets in the name table.
    pub names: u32,
    /// Words of `NAME_WORDS`.
    pub name_words: u32,
    /// Entries of `SIGNATURES`.
    pub signatures: u32,
}

/// How much of something the maps have room for is taken: live, or retiring until the next
/// grace period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub used: u32,
    pub capacity: u32,
}

/// How full the maps are, for the metrics page: what runs out first is what a publish fails on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fill {
    /// Answer-set slots of A RRsets (`ANSWERS_V4`), an extended set's block counted whole.
    pub a_slots: Usage,
    /// Answer-set slots of AAAA RRsets (`ANSWERS_V6`).
    pub aaaa_slots: Usage,
    /// RRsets in the name table.
    pub names: Usage,
    /// 8-byte words of `NAME_WORDS`, which hold the names' records.
    pub name_words: Usage,
    /// Entries of `SIGNATURES`, the RRSIGs of signed answer sets.
    pub signatures: Usage,
}

/// What the maps do not say themselves: which ids, slots and records are free or retiring, and
/// how many RRsets are published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    numbering: Numbering,
    /// RRsets that have a name entry.
    published: u32,
    /// The most RRsets the name table holds.
    names: u32,
}

impl State {
    /// Empty maps of `capacity`.
    pub fn new(capacity: Capacity) -> Self {
        let family = |capacity| Family {
            ids: Ends::with_capacity(capacity, 1),
            slots: Ends::with_capacity(capacity, BLOCK_SLOTS),
        };
        Self {
            numbering: Numbering {
                v4: family(capacity.v4),
                v6: family(capacity.v6),
                records: Records::with_capacity(capacity.name_words),
                signatures: Ends::with_capacity(capacity.signatures, 1),
            },
            published: 0,
            names: capacity.names,
        }
    }

    /// Maps of `capacity` that already hold `live` RRsets (adopted from an earlier process),
    /// each with its record's size in words and whether its set is a block; every other number
    /// is free.
    pub fn adopted(capacity: Capacity, live: &[Adopted]) -> Self {
        // Ids and slots by family, then of plain sets and of extended ones.
        let mut ids: [[BTreeSet<u32>; 2]; 2] = Default::default();
        let mut slots: [[BTreeSet<u32>; 2]; 2] = Default::default();
        let mut signatures = BTreeSet::new();
        let mut records = Vec::with_capacity(live.len());
        for adopted in live {
            let (family, live) = (usize::from(adopted.qtype == AddrType::Aaaa), adopted.live);
            let kind = usize::from(adopted.block);
            ids[family][kind].insert(live.id);
            slots[family][kind].insert(live.slot);
            signatures.extend(live.signatures);
            records.push((live.record, adopted.words));
        }
        let family = |family: usize, capacity| {
            let ([plain_ids, extended_ids], [plain_slots, extended_slots]) =
                (&ids[family], &slots[family]);
            Family {
                ids: Ends::adopted(capacity, 1, plain_ids, extended_ids),
                slots: Ends::adopted(capacity, BLOCK_SLOTS, plain_slots, extended_slots),
            }
        };
        Self {
            numbering: Numbering {
                v4: family(0, capacity.v4),
                v6: family(1, capacity.v6),
                records: Records::adopted(capacity.name_words, &records),
                signatures: Ends::adopted(capacity.signatures, 1, &signatures, &BTreeSet::new()),
            },
            published: live.len() as u32,
            names: capacity.names,
        }
    }

    /// What the maps have room for.
    pub fn capacity(&self) -> Capacity {
        let numbering = &self.numbering;
        Capacity {
            v4: numbering.v4.slots.capacity,
            v6: numbering.v6.slots.capacity,
            names: self.names,
            name_words: numbering.records.capacity,
            signatures: numbering.signatures.capacity,
        }
    }

    /// How many RRsets are published.
    pub fn published(&self) -> u32 {
        self.published
    }

    /// How full the maps are.
    pub fn fill(&self) -> Fill {
        Fill {
            a_slots: self.numbering.v4.slots.usage(),
            aaaa_slots: self.numbering.v6.slots.usage(),
            names: Usage {
                used: self.published,
                capacity: self.names,
            },
            name_words: self.numbering.records.usage(),
            signatures: self.numbering.signatures.usage(),
        }
    }

    /// Records that `step` has been carried out.
    pub fn apply(&mut self, step: &Step) {
        self.numbering.apply(step);
        match step {
            Step::Remove { .. } => self.published -= 1,
            Step::Add { .. } => self.published += 1,
            Step::WaitForReaders | Step::Replace { .. } => {}
        }
    }
}

/// What a publish's image stands for, and so which published RRsets it removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The image is all the maps must hold: every published RRset it lacks is removed, found
    /// by walking the name table when some are missing.
    Whole,
    /// The image holds the new state of some RRsets only (a health change, a changed name):
    /// `removed` are those of them that must go, and every other published RRset stays as it
    /// is. Nothing outside the image and `removed` is read.
    Part {
        /// RRsets to remove if they are published.
        removed: &'a [RrsetId],
    },
}

/// The steps that turn the maps described by `state` and `published` into `image` within
/// `scope`: removals, then one write per new or changed RRset, with a grace period whenever a
/// write needs a slot, id or record and only retiring ones are left. So a publish needs one free
/// slot, not one per RRset it changes; each batch of as many RRsets as there are free slots
/// costs a grace period. Fails, before any step, if the image does not fit.
pub fn plan<'a>(
    state: &State,
    image: &'a MapImage,
    scope: Scope<'a>,
    published: &impl Published,
) -> Result<Plan<'a>, Full> {
    if scope == Scope::Whole && image.rrsets.len() > state.names as usize {
        return Err(Full::Names);
    }
    let mut next = state.numbering.clone();
    let mut steps = Vec::new();
    let mut push = |next: &mut Numbering, step: Step<'a>| {
        next.apply(&step);
        steps.push(step);
    };

    type Write<'a> = (
        &'a RrsetId,
        &'a Answer,
        Option<&'a Signatures>,
        Option<Live>,
    );
    let mut writes: Vec<Write> = Vec::new();
    let mut found = Found::new(&state.numbering);
    for (rrset, answer) in &*image.rrsets {
        // Maps that hold no RRset (a first publish) have none to find: at a million names,
        // looking each one up in the mapped table took longer than writing it.
        let current = if state.published == 0 {
            None
        } else {
            published.find(rrset)
        };
        if let Some(live) = current {
            found.insert(rrset.qtype, live.id);
        }
        let stored = image.signatures_of(rrset);
        if !current.is_some_and(|live| published.holds(live.slot, answer, stored)) {
            writes.push((rrset, answer, stored, current));
        }
    }

    let removed = match scope {
        Scope::Whole => unlisted(state, &found, published),
        Scope::Part { removed } => {
            let removed: Vec<(RrsetId, Live)> = removed
                .iter()
                .filter_map(|rrset| Some((rrset.clone(), published.find(rrset)?)))
                .collect();
            let added = writes.iter().filter(|write| write.3.is_none()).count();
            if (state.published as usize + added).saturating_sub(removed.len())
                > state.names as usize
            {
                return Err(Full::Names);
            }
            removed
        }
    };
    for (rrset, gone) in removed {
        push(
            &mut next,
            Step::Remove {
                rrset,
                id: gone.id,
                slot: gone.slot,
                record: gone.record,
                signatures: gone.signatures,
            },
        );
    }

    for &(rrset, answer, stored, current) in &writes {
        let step = match next.write(rrset, answer, stored, current) {
            Ok(step) => step,
            Err(_) if next.anything_retiring() => {
                push(&mut next, Step::WaitForReaders);
                next.write(rrset, answer, stored, current)?
            }
            Err(full) => return Err(full),
        };
        push(&mut next, step);
    }

    Ok(Plan {
        steps,
        unchanged: image.rrsets.len() - writes.len(),
    })
}

/// The published RRsets that a whole image lacks. Every published RRset of the image was found:
/// if that is all of them, none is to be removed, and a publish that keeps its names reads no
/// other.
fn unlisted(state: &State, found: &Found, published: &impl Published) -> Vec<(RrsetId, Live)> {
    let mut removed = Vec::new();
    if found.count < state.published {
        published.for_each(|rrset, live| {
            if !found.contains(rrset.qtype, live.id) {
                removed.push((rrset.clone(), live));
            }
        });
        // The maps' order depends on the hash seed; plans should not.
        removed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
    debug_assert_eq!(found.count + removed.len() as u32, state.published);
    removed
}

/// The ids of the published RRsets that the image has, one bit per id of each family.
struct Found {
    v4: Vec<u64>,
    v6: Vec<u64>,
    count: u32,
}

impl Found {
    fn new(numbering: &Numbering) -> Self {
        let bits = |family: &Family| vec![0; family.ids.capacity.div_ceil(64) as usize];
        Self {
            v4: bits(&numbering.v4),
            v6: bits(&numbering.v6),
            count: 0,
        }
    }

    fn insert(&mut self, qtype: AddrType, id: u32) {
        let bits = match qtype {
            AddrType::A => &mut self.v4,
            AddrType::Aaaa => &mut self.v6,
        };
        bits[id as usize / 64] |= 1 << (id % 64);
        self.count += 1;
    }

    fn contains(&self, qtype: AddrType, id: u32) -> bool {
        let bits = match qtype {
            AddrType::A => &self.v4,
            AddrType::Aaaa => &self.v6,
        };
        bits[id as usize / 64] & 1 << (id % 64) != 0
    }
}

#[cfg(test)]
mod tests;
