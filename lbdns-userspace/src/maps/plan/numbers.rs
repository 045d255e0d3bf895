//! The free, live and retiring numbers a plan hands out: ids and slots of each family,
//! signature entries ([`Numbers`]), and the words of the name table's records ([`Records`]).

use std::collections::{BTreeMap, BTreeSet};

use lbdns_common::names::record_words;

use super::Usage;
use crate::compile::RrsetId;

/// Numbers (ids or slots) of one family: each is live, retiring or free. Free are those never
/// used (`fresh..capacity`) and those given back, so a family with millions of numbers costs
/// nothing until they are used and returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Numbers {
    /// Free numbers below `fresh`: nobody refers to these, and no program run can still hold
    /// one, so they are reusable now.
    pub(super) returned: BTreeSet<u32>,
    /// The lowest number never used; every number from here to `capacity` is free.
    pub(super) fresh: u32,
    pub(super) capacity: u32,
    /// Nothing refers to these any more, but a program that started earlier may still hold
    /// one: reusable after the next grace period.
    pub(super) retiring: BTreeSet<u32>,
}

impl Numbers {
    pub(super) fn with_capacity(capacity: u32) -> Self {
        Self {
            returned: BTreeSet::new(),
            fresh: 0,
            capacity,
            retiring: BTreeSet::new(),
        }
    }

    /// The lowest free number, not yet taken.
    pub(super) fn lowest_free(&self) -> Option<u32> {
        self.returned
            .first()
            .copied()
            .or((self.fresh < self.capacity).then_some(self.fresh))
    }

    /// Numbers of which exactly `live` are taken, the rest free: maps adopted from an earlier
    /// process, after a grace period (nothing it retired is still read).
    pub(super) fn adopted(capacity: u32, live: &BTreeSet<u32>) -> Self {
        let fresh = live.last().map_or(0, |last| last + 1);
        Self {
            returned: (0..fresh).filter(|n| !live.contains(n)).collect(),
            fresh,
            capacity,
            retiring: BTreeSet::new(),
        }
    }

    pub(super) fn take(&mut self, n: u32) {
        if !self.returned.remove(&n) {
            debug_assert_eq!(n, self.fresh, "{n} taken while not free");
            self.fresh += 1;
        }
    }

    pub(super) fn retire(&mut self, n: u32) {
        self.retiring.insert(n);
    }

    pub(super) fn grace_period_over(&mut self) {
        self.returned.append(&mut self.retiring);
    }

    /// Live and retiring numbers: those not free to take now.
    pub(super) fn usage(&self) -> Usage {
        Usage {
            used: self.fresh - self.returned.len() as u32,
            capacity: self.capacity,
        }
    }

    /// Every free number, for checking the accounting.
    #[cfg(test)]
    pub(super) fn free(&self) -> BTreeSet<u32> {
        self.returned
            .iter()
            .copied()
            .chain(self.fresh..self.capacity)
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
