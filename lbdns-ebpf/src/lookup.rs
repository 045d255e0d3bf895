//! Finds the answer set for the parsed question: name → RRset id → slot → answer set, each link
//! read once (lbdns_common::publish says why that is safe while userspace publishes).

use aya_ebpf::maps::Array;
use lbdns_common::{
    answer::AnswerSet,
    maps::IdPair,
    names::{
        entry_fingerprint, entry_id, entry_record, fingerprint, finish, first_bucket, other_bucket,
        record_header, BUCKET_ENTRIES,
    },
    qtype::AddrType,
};

use crate::{
    maps::{by_id, name_bucket_mask, Rotations, Scratch, NAME_BUCKETS, NAME_WORDS},
    parse::name::Name,
};

/// The answer set for a question, and this CPU's rotation counter for its RRset.
pub struct Hit<'a, const L: usize> {
    /// The records to answer with: the set's head slot.
    pub set: &'a AnswerSet<L>,
    /// Where the set is in `answers`: an extended set's extension is in the slots after it.
    pub slot: u32,
    /// `ANSWERS_*`.
    pub answers: &'a Array<AnswerSet<L>>,
    /// Replies sent for this RRset on this CPU.
    pub rotation: *mut u32,
    /// The ECS scope of the answer (RFC 7871 §7.2.1): 0 for an RRset whose answer is the same
    /// everywhere, the matched prefix's length for a geo RRset's (`crate::geo`).
    pub scope: u8,
}

/// Finds the question in the name table (lbdns_common::names): the entries of the name's two
/// buckets whose fingerprint matches, each checked against its record. Returns the RRset id.
#[inline(always)]
pub fn rrset_id(scratch: *mut Scratch, name: &Name, addr_type: AddrType) -> Option<u32> {
    let hash = finish(name.hash, name.len, addr_type);
    let fingerprint = fingerprint(hash);
    let mask = name_bucket_mask();
    let first = first_bucket(hash, mask);
    for bucket in [first, other_bucket(first, fingerprint, mask)] {
        let entries = NAME_BUCKETS.get_ptr(bucket)?;
        for i in 0..BUCKET_ENTRIES {
            // One 8-byte load: userspace stores whole entries while this runs.
            // SAFETY: an entry inside the array's value, which lives as long as the map.
            let found = unsafe { core::ptr::read_volatile(entries.cast::<u64>().add(i)) };
            if entry_fingerprint(found) != fingerprint {
                continue;
            }
            let id = entry_id(found);
            if is_record_of(entry_record(found), id, scratch, name.len, addr_type) {
                return Some(id);
            }
        }
    }
    None
}

/// Whether the record at word `record` is the query's RRset `id`: same id, type and length,
/// and every word of the name equal.
#[inline(always)]
fn is_record_of(
    record: u32,
    id: u32,
    scratch: *mut Scratch,
    len: usize,
    addr_type: AddrType,
) -> bool {
    let Some(header) = NAME_WORDS.get_ptr(record) else {
        return false;
    };
    // SAFETY: a word of the array's value, which lives as long as the map; userspace does not
    // write a record that an entry may lead to (lbdns_common::publish, rule 1).
    let header = unsafe { core::ptr::read_volatile(header) };
    if header != record_header(id, len, addr_type) {
        return false;
    }
    // SAFETY: this CPU's scratch value, used only by this program run.
    let words = unsafe { &(*scratch).name };
    for (i, &word) in words.iter().enumerate().take(len.div_ceil(8)) {
        match NAME_WORDS.get(record.wrapping_add(1 + i as u32)) {
            Some(stored) if *stored == word => {}
            _ => return false,
        }
    }
    true
}

/// Starts the loads [`answer_set`] will make for RRset `id`, so that their cache misses overlap
/// instead of waiting one for the other: its slot number, its rotation counter, and the answer
/// set in slot `id`, which is where the set is unless a publish has moved it (the writer hands
/// out ids and slots lowest first, so a catalog's first publish puts every set at its id). The
/// values are not used: a set elsewhere is read from its slot as before, only later. Returns
/// this CPU's rotation counter of the RRset, for [`answer_set`].
#[inline(always)]
pub fn touch<const L: usize>(
    slots: &Array<IdPair>,
    answers: &Array<AnswerSet<L>>,
    rotations: Rotations,
    id: u32,
) -> Option<*mut u32> {
    let rotation = rotations.on_this_cpu(id)?;
    // SAFETY: loads of values inside the arrays, which live as long as the maps.
    unsafe {
        if let Some(slot) = by_id(slots, id) {
            core::ptr::read_volatile(slot);
        }
        if let Some(set) = answers.get_ptr(id) {
            core::ptr::read_volatile(&(*set).ttl);
            core::ptr::read_volatile(&(*set).addrs[0][0]);
        }
        core::ptr::read_volatile(rotation);
    }
    Some(rotation)
}

/// The current answer set of RRset `id`, with its `rotation` counter ([`touch`]'s).
#[inline(always)]
pub fn answer_set<'a, const L: usize>(
    slots: &Array<IdPair>,
    answers: &'a Array<AnswerSet<L>>,
    rotation: *mut u32,
    id: u32,
) -> Option<Hit<'a, L>> {
    // One 4-byte load: userspace stores a new slot number here while this runs, and the set
    // must come from one slot, whichever it is.
    // SAFETY: a pointer into the array's value, which lives as long as the map.
    let slot = unsafe { core::ptr::read_volatile(by_id(slots, id)?) };
    Some(Hit {
        set: answers.get(slot)?,
        slot,
        answers,
        rotation,
        scope: 0,
    })
}
