//! The free, live and retiring numbers a plan hands out: ids and answer-set slots of each
//! family and signature entries ([`Ends`]), and the words of the name table's records
//! ([`Records`]).

use std::collections::{BTreeMap, BTreeSet};

use lbdns_common::names::record_words;

use super::Usage;
use crate::compile::RrsetId;

/// Numbers handed out from both ends: singles from the bottom, lowest first, and blocks of
/// `block` consecutive numbers from the top, each below the last. Free are those never used
/// (the middle) and those given back, so millions of numbers cost nothing until they are used
/// and returned. The `SIGNATURES` entries use the bottom end alone. The answer-set slots of a
/// family use it with blocks of [`BLOCK_SLOTS`](lbdns_common::answer::BLOCK_SLOTS) for
/// extended sets (`lbdns_common::answer`); the ids of a family with blocks of one, an extended
/// set's id from the top, so that ids and slots of the other sets are handed out in step and a
/// set lies in the slot numbered as its id (where the program starts loading it early:
/// `lookup::touch`).
///
/// Neither kind is split or merged into the other, so taking and returning cost a lookup, and a
/// number's place says which kind it is: singles lie below `low`, blocks at or above `high`.
/// Free numbers at the edge of either region go back to the free middle at each grace period,
/// so that a family whose sets change kind is not kept apart for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Ends {
    /// Free singles below `low`: reusable now.
    singles: BTreeSet<u32>,
    /// Free blocks at or above `high`, by first number: reusable now.
    blocks: BTreeSet<u32>,
    /// Every number from `low` to `high` is free.
    low: u32,
    high: u32,
    block: u32,
    pub(super) capacity: u32,
    /// Numbers (first numbers of blocks) that nothing refers to any more, but a program that
    /// started earlier may still read: reusable after the next grace period.
    pub(super) retiring: Vec<u32>,
}

impl Ends {
    pub(super) fn with_capacity(capacity: u32, block: u32) -> Self {
        Self {
            singles: BTreeSet::new(),
            blocks: BTreeSet::new(),
            low: 0,
            high: capacity,
            block,
            capacity,
            retiring: Vec::new(),
        }
    }

    /// Numbers of which exactly `singles` and the blocks starting at `blocks` are taken: maps
    /// adopted from an earlier process, after a grace period. Blocks were taken from the top
    /// down, so each lies a whole number of blocks below `capacity`; should a single lie among
    /// them (ids of sets that changed kind; slots no build of this layout writes so), the
    /// region starts above it, and every number of the blocks below stays taken: none is
    /// handed out twice.
    pub(super) fn adopted(
        capacity: u32,
        block: u32,
        singles: &BTreeSet<u32>,
        blocks: &BTreeSet<u32>,
    ) -> Self {
        let low = singles.last().map_or(0, |last| last + 1);
        let high = blocks
            .iter()
            .copied()
            .find(|&start| start >= low)
            .unwrap_or(capacity);
        let blocks_low = blocks.range(..low).flat_map(|&start| start..start + block);
        let taken_low: BTreeSet<u32> = singles.iter().copied().chain(blocks_low).collect();
        let mut adopted = Self {
            singles: (0..low).filter(|n| !taken_low.contains(n)).collect(),
            blocks: (1..)
                .map_while(|k| capacity.checked_sub(k * block))
                .take_while(|&start| start >= high)
                .filter(|start| !blocks.contains(start))
                .collect(),
            low,
            high,
            block,
            capacity,
            retiring: Vec::new(),
        };
        adopted.shrink_edges();
        adopted
    }

    /// A free single, not yet taken: the lowest. While numbers are retiring, the last
    /// `capacity / 8` of the free middle are kept for blocks (`None`: the plan waits for the
    /// retiring ones instead). Else a change of every single (a reload that changes every TTL)
    /// would spread them over the whole middle, and the next set to become extended would find
    /// no block.
    pub(super) fn free_single(&self) -> Option<u32> {
        if let Some(&n) = self.singles.first() {
            return Some(n);
        }
        let reserve = if self.retiring.is_empty() || self.block == 1 {
            0
        } else {
            self.capacity / 8
        };
        (self.high - self.low > reserve).then_some(self.low)
    }

    /// A free block's first number, not yet taken: the highest.
    pub(super) fn free_block(&self) -> Option<u32> {
        self.blocks.last().copied().or_else(|| {
            let start = self.high.checked_sub(self.block)?;
            (start >= self.low).then_some(start)
        })
    }

    /// Takes `n`, a free number of either end: a single for a plain set (`block` false), a
    /// block for an extended one, or, with blocks of one, a number of the other end when its
    /// own has none (`free_any`).
    pub(super) fn take(&mut self, n: u32, block: bool) {
        if self.blocks.remove(&n) || self.singles.remove(&n) {
            return;
        }
        // Fresh from the middle: its top for a block, else its bottom. (With blocks of one, the
        // middle's last number is taken the same way from either end.)
        if block && n + self.block == self.high {
            self.high = n;
        } else {
            debug_assert_eq!(n, self.low, "{n} not free");
            self.low = n + 1;
        }
    }

    /// A free number for a set of either kind when blocks are single numbers (ids): its own
    /// end's first, else the other's. Ids of either kind are interchangeable; the ends only keep
    /// plain sets' ids in step with their slots, so running out at one end while the other has
    /// some is no reason to fail. (Maps adopted after a restart put every id a plain set holds
    /// at the bottom, the top ones a once-extended set kept too.)
    pub(super) fn free_any(&self, block: bool) -> Option<u32> {
        debug_assert_eq!(
            self.block, 1,
            "only numbers of one at either end are interchangeable"
        );
        if block {
            self.free_block().or_else(|| self.singles.first().copied())
        } else {
            self.free_single().or_else(|| self.blocks.last().copied())
        }
    }

    pub(super) fn retire(&mut self, n: u32) {
        self.retiring.push(n);
    }

    pub(super) fn grace_period_over(&mut self) {
        for n in self.retiring.drain(..) {
            if n >= self.high {
                self.blocks.insert(n);
            } else {
                self.singles.insert(n);
            }
        }
        self.shrink_edges();
    }

    /// Gives the free numbers at the inner edge of each region back to the middle.
    fn shrink_edges(&mut self) {
        while self
            .singles
            .last()
            .is_some_and(|&last| last + 1 == self.low)
        {
            self.singles.pop_last();
            self.low -= 1;
        }
        while self.blocks.first() == Some(&self.high) {
            self.blocks.pop_first();
            self.high += self.block;
        }
    }

    /// Live and retiring numbers: those not free to take now.
    pub(super) fn usage(&self) -> Usage {
        let singles = self.low - self.singles.len() as u32;
        let blocks = self.capacity - self.high - self.block * self.blocks.len() as u32;
        Usage {
            used: singles + blocks,
            capacity: self.capacity,
        }
    }

    /// Every free number, blocks' included, for checking the accounting.
    #[cfg(test)]
    pub(super) fn free(&self) -> BTreeSet<u32> {
        let blocks = self
            .blocks
            .iter()
            .flat_map(|&start| start..start + self.block);
        self.singles
            .iter()
            .copied()
            .chain(blocks)
            .chain(self.low..self.high)
            .collect()
    }

    /// Every retiring number, blocks' included, for checking the accounting.
    #[cfg(test)]
    pub(super) fn retiring_numbers(&self) -> BTreeSet<u32> {
        self.retiring
            .iter()
            .flat_map(|&n| {
                let len = if n >= self.high { self.block } else { 1 };
                n..n + len
            })
            .collect()
    }
}

/// The words of `NAME_WORDS`, handed out as whole records of `record_words(name length)`
/// words. A returned record is kept by its size and given whole to a name of the same size:
/// nothing is split or merged, so taking and returning cost a lookup, and a zone whose names
/// change length wholesale needs room for both sets of records until its next publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Records {
    /// Free records below `fresh`, by size in words: reusable now.
    pub(super) returned: BTreeMap<u32, Vec<u32>>,
    /// The lowest word never used; every word from here to `capacity` is free.
    pub(super) fresh: u32,
    pub(super) capacity: u32,
    /// Records (first word, size) that nothing refers to any more, but a program that started
    /// earlier may still be comparing: reusable after the next grace period.
    pub(super) retiring: Vec<(u32, u32)>,
}

impl Records {
    pub(super) fn with_capacity(capacity: u32) -> Self {
        Self {
            returned: BTreeMap::new(),
            fresh: 0,
            capacity,
            retiring: Vec::new(),
        }
    }

    /// Records of which `live` (first word, size) are taken: maps adopted from an earlier
    /// process. The gaps between them were records of sizes nobody recorded, so they stay
    /// unused; a publish that runs out of words builds new, compact maps
    /// (`served::Xdp::publish`).
    pub(super) fn adopted(capacity: u32, live: &[(u32, u32)]) -> Self {
        Self {
            returned: BTreeMap::new(),
            fresh: live
                .iter()
                .map(|(start, words)| start + words)
                .max()
                .unwrap_or(0),
            capacity,
            retiring: Vec::new(),
        }
    }

    /// A free record of `words` words, not yet taken.
    pub(super) fn free(&self, words: u32) -> Option<u32> {
        let returned = self.returned.get(&words).and_then(|starts| starts.last());
        let fresh = (self.capacity - self.fresh >= words).then_some(self.fresh);
        returned.copied().or(fresh)
    }

    pub(super) fn take(&mut self, start: u32, words: u32) {
        let starts = self.returned.entry(words).or_default();
        if starts.last() == Some(&start) {
            starts.pop();
        } else {
            debug_assert_eq!(start, self.fresh, "record {start} taken while not free");
            self.fresh += words;
        }
    }

    pub(super) fn retire(&mut self, start: u32, words: u32) {
        self.retiring.push((start, words));
    }

    pub(super) fn grace_period_over(&mut self) {
        for (start, words) in self.retiring.drain(..) {
            self.returned.entry(words).or_default().push(start);
        }
    }

    /// Words of live and retiring records: those not free to take now.
    pub(super) fn usage(&self) -> Usage {
        let returned: u32 = self
            .returned
            .iter()
            .map(|(words, starts)| words * starts.len() as u32)
            .sum();
        Usage {
            used: self.fresh - returned,
            capacity: self.capacity,
        }
    }

    /// The free words, for checking the accounting.
    #[cfg(test)]
    pub(super) fn free_words(&self) -> u32 {
        let returned: u32 = self
            .returned
            .iter()
            .map(|(words, starts)| words * starts.len() as u32)
            .sum();
        returned + self.capacity - self.fresh
    }
}

/// The words of the record of `rrset`'s name.
pub(super) fn words_of(rrset: &RrsetId) -> u32 {
    record_words(rrset.name.len()) as u32
}
