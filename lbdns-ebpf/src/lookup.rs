//! Finds the answer set for the parsed question: name → RRset id → slot → answer set, each link
//! read once (lbdns_common::publish says why that is safe while userspace publishes).

use aya_ebpf::maps::{Array, PerCpuArray};
use lbdns_common::{
    answer::AnswerSet,
    key::{AddrType, RrsetKey, KEY_TIERS},
};

use crate::maps::{Scratch, RRSETS_128, RRSETS_256, RRSETS_32, RRSETS_64};

/// The answer set for a question, and this CPU's rotation counter for its RRset.
pub struct Hit<'a, const L: usize> {
    /// The records to answer with.
    pub set: &'a AnswerSet<L>,
    /// Replies sent for this RRset on this CPU.
    pub rotation: *mut u32,
}

/// Completes the key in `scratch` (the name is already there) and looks it up in the map of its
/// size tier. Returns the RRset id.
#[inline(always)]
#[expect(
    clippy::needless_borrows_for_generic_args,
    reason = "by value, the key would be copied to the stack; the lookup takes it in place"
)]
pub fn rrset_id(scratch: *mut Scratch, name_len: usize, addr_type: AddrType) -> Option<u32> {
    // SAFETY: this CPU's scratch value, used only by this program run.
    unsafe { (*scratch).tag = addr_type as u8 };
    let key = Scratch::key(scratch);
    let key_len = 1 + name_len;
    // SAFETY (each arm): `key` points at 256 bytes, at least the size of every key type, and
    // `RrsetKey<N>` is a byte array with alignment 1.
    let entry = if key_len <= KEY_TIERS[0] {
        RRSETS_32.get_ptr(unsafe { &*(key as *const RrsetKey<32>) })
    } else if key_len <= KEY_TIERS[1] {
        RRSETS_64.get_ptr(unsafe { &*(key as *const RrsetKey<64>) })
    } else if key_len <= KEY_TIERS[2] {
        RRSETS_128.get_ptr(unsafe { &*(key as *const RrsetKey<128>) })
    } else {
        RRSETS_256.get_ptr(unsafe { &*(key as *const RrsetKey<256>) })
    }?;
    // SAFETY: the kernel returned a pointer to a live element's value, which userspace never
    // rewrites while the element exists.
    Some(unsafe { core::ptr::read_volatile(&(*entry).id) })
}

/// The current answer set of RRset `id` and its rotation counter.
#[inline(always)]
pub fn answer_set<'a, const L: usize>(
    slots: &Array<u32>,
    answers: &'a Array<AnswerSet<L>>,
    rotations: &PerCpuArray<u32>,
    id: u32,
) -> Option<Hit<'a, L>> {
    // One 4-byte load: userspace stores a new slot number here while this runs, and the set
    // must come from one slot, whichever it is.
    // SAFETY: a pointer into the array's value, which lives as long as the map.
    let slot = unsafe { core::ptr::read_volatile(slots.get_ptr(id)?) };
    Some(Hit {
        set: answers.get(slot)?,
        rotation: rotations.get_ptr_mut(id)?,
    })
}
