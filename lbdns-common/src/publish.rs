//! How userspace changes what the program answers while it answers: the publish protocol.
//!
//! This module holds no code; it is the contract that `lbdns_userspace::maps` implements and
//! the program relies on.
//!
//! # The lookup chain
//!
//! ```text
//! NAME_BUCKETS, NAME_WORDS [type + name]  ──▶  id              entry { id }, then record { id }
//!                                                               checked (crate::names)
//! RRSET_SLOT_* [id]                       ──▶  slot (u32)      array, written in place
//! ANSWERS_* [slot]                        ──▶  AnswerSet       array (an extended set's
//!                                                               extension in the slots after)
//! SIGNATURES [AnswerSet::signatures]      ──▶  Signatures      array, DO=1 (crate::signature)
//! ROTATION_* [id]                         ──▶  replies sent, per CPU, written by the program only
//! ```
//!
//! A name's id never changes while its entry exists. Changing an RRset's addresses writes a new
//! answer set into a free slot and then points the id at it: the name table is not touched.
//!
//! The program reads each link once, in order, and only while it runs. (It also loads the set
//! in slot `id` before it has read the slot number, only to start that cache miss early, and
//! uses nothing it loaded that way.) XDP programs run inside
//! an RCU read-side critical section, so after a grace period (userspace:
//! `membarrier(MEMBARRIER_CMD_GLOBAL)`, which calls `synchronize_rcu`) no run that started
//! before it still holds an entry, record, id or slot number it read.
//!
//! # What could make a reply wrong, and the rule against it
//!
//! 1. **Record reuse.** A program that found name X's entry compares X's record (its name and
//!    the id the entry carries) with the query. If the record's words were rewritten for name Y
//!    meanwhile, it could compare half of each and answer with the wrong id. Rule: the words of
//!    a removed name's record are written again only after a grace period. (Entries themselves
//!    are single 8-byte stores and may be reused at once: see [`crate::names`].)
//! 2. **Id reuse.** A program that read X's id could read `RRSET_SLOT_*[id]` after the id went
//!    to Y. Rule: the id of a removed name is given out again only after a grace period.
//! 3. **Slot reuse.** A program that read slot `s` could read `ANSWERS_*[s]` while a new set is
//!    being copied into it, and send half of one set and half of another. Rule: a slot that an id
//!    pointed at is written again only after a grace period that follows the switch away from it.
//!    The same holds for the `SIGNATURES` entry a set names: it retires with the set's slot, so
//!    a reply's RRSIGs are always those written with its addresses.
//! 4. **Torn numbers.** An array update through `bpf(2)` is a `memcpy` in the kernel, which on
//!    x86 CPUs with FSRM is `rep movsb`: not guaranteed to be one 4-byte store. A reader could
//!    see a mix of the old and new slot numbers, the slot of another RRset. Rule: the arrays
//!    are memory-mapped (`BPF_F_MMAPABLE`); userspace writes each slot number with one aligned
//!    atomic 4-byte store, and each name table entry with one aligned 8-byte store (release
//!    ordering, after what it points at); the program reads each with one load. Answer sets
//!    and records, which are larger, are only ever written where no reader can reach them
//!    (rules 1 and 3), also through a mapping: the writer compares the image with the sets
//!    there instead of keeping a copy.
//!
//! # One publish, in order
//!
//! 1. **Remove** the entries of removed names. Their records, ids and slots start *retiring*,
//!    with the slots the previous publish switched away from.
//! 2. **Write**, for each changed RRset: copy its RRSIG records (if the set names any) into a
//!    free `SIGNATURES` entry and the new set into a free slot, then store that slot into
//!    `RRSET_SLOT_*[id]`. The old slot and signature entry start retiring. New signatures alone
//!    (a re-signed zone) are a new set like any other. For each new RRset: take a free id,
//!    slot and record, copy the set, store the slot, write the record, and store the name's
//!    entry last, so a program that finds the entry finds a complete chain.
//! 3. Whenever a write needs a free slot, id or record and none is left but some are retiring,
//!    **wait for a grace period**: afterwards no program holds a retiring one, and they are free.
//!
//! Unchanged RRsets are not written at all, and a publish waits only when it runs out of free
//! numbers. It needs one free slot beyond the live ones, not one per RRset it writes: a change
//! of every RRset of a family with `f` free slots waits about `n / f` grace periods. The
//! per-family id arrays (`RRSET_SLOT_*`, `ROTATION_*`) have as many entries as there are slots:
//! each id holds one slot, or one block of slots (`crate::answer`). A block is one slot for
//! these rules: taken, retired and reused whole.
//!
//! # Pools (weights, priority tiers, health, an answer cap)
//!
//! Health checks and weight changes become new answer sets of the same RRset id, published by
//! step 3 at whatever rate they change (100 ms is one slot write and one 4-byte store per
//! changed RRset, and a grace period per publish when slots are to be reused):
//!
//! - health filtering and priority tiers: userspace compiles the set from the healthy members
//!   of the best tier that has any; the program does not know there were others;
//! - an answer cap: [`crate::answer::AnswerSet::limit`] records per reply, the leading one and
//!   those after it;
//! - weights: [`crate::answer::Extension::schedule`], the leading member of successive replies
//!   (a member repeated in proportion to its weight).
//!
//! Addresses, schedule and cap are one answer set (one slot, or one block), so storing a slot
//! number switches all three at once: no reply combines a schedule with addresses it was not
//! made for. A change of weights or cap alone is a new set like any other.
