use std::cell::{Cell, RefCell};

use lbdns_common::names::BUCKET_ENTRIES;

use super::*;

/// Buckets in memory, which check after every store that each placed entry is in one of its
/// two buckets, and only there: what a lookup running alongside relies on.
struct Model {
    buckets: RefCell<Vec<Bucket>>,
    /// Placed entries and their first buckets.
    placed: RefCell<Vec<(u32, u64)>>,
    /// The entry being placed, and its first bucket.
    placing: Cell<Option<(u32, u64)>>,
    /// Stores of an entry that was already placed: moves.
    moves: Cell<usize>,
}

impl Model {
    fn new(buckets: usize) -> Self {
        Self {
            buckets: RefCell::new(vec![[0; BUCKET_ENTRIES]; buckets]),
            placed: RefCell::default(),
            placing: Cell::new(None),
            moves: Cell::new(0),
        }
    }

    fn place(&self, first: u32, entry: u64) -> Result<(), MapError> {
        self.placing.set(Some((first, entry)));
        let placed = place(self, first, entry);
        self.placing.set(None);
        if placed.is_ok() {
            self.placed.borrow_mut().push((first, entry));
        }
        self.check();
        placed
    }

    fn clear(&self, at: usize) {
        let (first, entry) = self.placed.borrow_mut().swap_remove(at);
        assert!(clear(self, first, entry), "{entry:x} not found");
        self.check();
    }

    /// Where `entry` may be.
    fn homes(&self, first: u32, entry: u64) -> [u32; 2] {
        [
            first,
            other_bucket(first, entry_fingerprint(entry), self.mask()),
        ]
    }

    fn check(&self) {
        let buckets = self.buckets.borrow();
        let placed = self.placed.borrow();
        for &(first, entry) in placed.iter() {
            let found = self
                .homes(first, entry)
                .iter()
                .any(|&b| buckets[b as usize].contains(&entry));
            assert!(found, "entry {entry:x} is in neither of its buckets");
        }
        for (bucket, entries) in buckets.iter().enumerate() {
            for &entry in entries.iter().filter(|&&e| e != 0) {
                let (first, _) = placed
                    .iter()
                    .chain(&self.placing.get())
                    .find(|&&(_, e)| e == entry)
                    .copied()
                    .expect("only placed entries are stored");
                assert!(
                    self.homes(first, entry).contains(&(bucket as u32)),
                    "entry {entry:x} in bucket {bucket}, not one of its own"
                );
            }
        }
    }
}

impl Buckets for Model {
    fn mask(&self) -> u32 {
        self.buckets.borrow().len() as u32 - 1
    }

    fn bucket(&self, bucket: u32) -> Bucket {
        self.buckets.borrow()[bucket as usize]
    }

    fn store(&self, bucket: u32, index: usize, entry: u64) {
        if self.placed.borrow().iter().any(|&(_, e)| e == entry) {
            self.moves.set(self.moves.get() + 1);
        }
        self.buckets.borrow_mut()[bucket as usize][index] = entry;
        self.check();
    }
}

/// A reproducible stream of pseudo-random numbers (xorshift).
fn numbers(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Fills 4 buckets until no entry can be made free, removes half of the entries, and fills
/// again: entries move to make room, and each is in one of its buckets after every store.
#[test]
fn a_crowded_table_moves_entries_and_keeps_each_in_one_of_its_buckets() {
    let model = Model::new(4);
    // A stream under which the first fill moves entries (not every one does: the first
    // fill of some streams finds room in each name's own two buckets until the table is full).
    let mut next = numbers(3);
    let mut record = 0;
    let mut fill = |model: &Model| loop {
        record += 1;
        let hash = next();
        let new = entry(fingerprint(hash), record, record);
        if let Err(error) = model.place(first_bucket(hash, model.mask()), new) {
            assert!(matches!(error, MapError::NameTableFull));
            break;
        }
    };

    fill(&model);
    let capacity = 4 * BUCKET_ENTRIES;
    assert!(
        model.placed.borrow().len() >= capacity - 2,
        "only {} of {capacity} entries placed",
        model.placed.borrow().len()
    );
    assert!(model.moves.get() > 0, "no entry was moved");

    let mut pick = numbers(0x9e37_79b9_7f4a_7c15);
    for _ in 0..capacity / 2 {
        let len = model.placed.borrow().len() as u64;
        model.clear((pick() % len) as usize);
    }
    fill(&model);
    assert!(model.placed.borrow().len() >= capacity - 2);
}

/// A full table fails to place an entry and leaves every bucket as it was.
#[test]
fn placing_into_a_full_table_fails_without_a_store() {
    let model = Model::new(2);
    for record in 0..2 * BUCKET_ENTRIES as u32 {
        model
            .place(record % 2, entry(1, record, record + 1))
            .expect("room left");
    }
    let before = model.buckets.borrow().clone();
    assert!(matches!(
        model.place(0, entry(1, 99, 100)),
        Err(MapError::NameTableFull)
    ));
    assert_eq!(*model.buckets.borrow(), before);
}
