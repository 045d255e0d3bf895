//! How userspace changes what the program answers while it answers: the publish protocol.
//!
//! This module holds no code; it is the contract that `lbdns_userspace::maps` implements and
//! the program relies on.
//!
//! # The lookup chain
//!
//! ```text
//! RRSETS_* [type + name]  ──▶  NameEntry { id }        hash map, one element per name
//! RRSET_SLOT_* [id]       ──▶  slot (u32)              array, written in place
//! ANSWERS_* [slot]        ──▶  AnswerSet               array
//! ROTATION_* [id]         ──▶  replies sent, per CPU   written by the program only
//! ```
//!
//! A name's id never changes while its entry exists. Changing an RRset's addresses writes a new
//! answer set into a free slot and then points the id at it: the hash map is not touched.
//!
//! The program reads each link once, in order, and only while it runs. XDP programs run inside
//! an RCU read-side critical section, so after a grace period (userspace:
//! `membarrier(MEMBARRIER_CMD_GLOBAL)`, which calls `synchronize_rcu`) no run that started
//! before it still holds an element, id or slot number it read.
//!
//! # What could make a reply wrong, and the rule against it
//!
//! 1. **Element reuse.** Deleting or replacing a hash-map element frees it through the kernel's
//!    BPF memory allocator, which may give it to the very next insert into the same map, with
//!    no grace period in between. A program that found name X's element could then read the
//!    value of name Y, and answer X with Y's complete answer set. Rule: values are never
//!    replaced, and no name is inserted between deleting names and the grace period after.
//! 2. **Id reuse.** A program that read X's id could read `RRSET_SLOT_*[id]` after the id went
//!    to Y. Rule: the id of a deleted name is given out again only after a grace period.
//! 3. **Slot reuse.** A program that read slot `s` could read `ANSWERS_*[s]` while a new set is
//!    being copied into it, and send half of one set and half of another. Rule: a slot that an id
//!    pointed at is written again only after a grace period that follows the switch away from it.
//! 4. **Torn slot numbers.** An array update through `bpf(2)` is a `memcpy` in the kernel, which
//!    on x86 CPUs with FSRM is `rep movsb`: not guaranteed to be one 4-byte store. A reader could
//!    see a mix of the old and new slot numbers, the slot of another RRset. Rule:
//!    `RRSET_SLOT_*` is memory-mapped (`BPF_F_MMAPABLE`) and userspace writes each value with one
//!    aligned atomic 4-byte store (release ordering, after the set it points at); the program
//!    reads it with one load. Answer sets, which are larger, are only ever written into slots no
//!    reader can reach (rule 3), also through a mapping: the writer compares the image with them
//!    there instead of keeping a copy.
//!
//! # One publish, in order
//!
//! 1. **Delete** the entries of removed names. Their ids and slots join the *retiring* ones,
//!    with the slots the previous publish switched away from.
//! 2. **Wait for a grace period**, if anything is retiring and step 3 has work. Afterwards no
//!    program holds a retiring id or slot, or an element step 1 freed: retiring ids and slots are
//!    free, and inserting is safe.
//! 3. **Write**, for each changed RRset: copy the new set into a free slot, then store that slot
//!    into `RRSET_SLOT_*[id]`. The old slot is retiring. For each new RRset: take a free id and a
//!    free slot, copy the set, store the slot, and insert the name's entry last, so a program
//!    that finds the entry finds a complete chain. When no slot (or id) is free and some are
//!    retiring, wait for another grace period and go on with those.
//!
//! Unchanged RRsets are not written at all. Step 2 is skipped when there is nothing to reuse
//! or nothing to write, so the common reload costs at most one grace period. A publish needs
//! one free slot beyond the live ones, not one per RRset it writes: a change of every RRset of
//! a family with `f` free slots waits `n / f` grace periods. The per-family id arrays
//! (`RRSET_SLOT_*`, `ROTATION_*`) have as many entries as there are slots: each id holds one.
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
//! - weights: [`crate::answer::AnswerSet::schedule`], the leading member of successive replies
//!   (a member repeated in proportion to its weight).
//!
//! Addresses, schedule and cap are one answer set, so storing a slot number switches all three
//! at once: no reply combines a schedule with addresses it was not made for. A change of
//! weights or cap alone is a new set like any other.
