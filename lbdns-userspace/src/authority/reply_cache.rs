//! Replies remembered by their query's octets, for one UDP worker: a query seen again gets
//! the reply written for it before, its ID patched in, without parsing, lookup or encoding.
//! That work is most of what the socket path spends on a query of its own, the kernel's
//! share aside (`examples/answer_cost.rs`).
//!
//! A reply is remembered only when the query's octets decide it: not with a DNS Cookie (the
//! server cookie is made for one client, at one time), nor when a geo pool chose it by the
//! client's address. A rotating answer is remembered as every reply of its rotation
//! ([`answer_cycle`]), chosen by the RRset's own counter, so answers rotate as they would
//! without the cache, across every worker and the TCP path.
//!
//! Everything remembered was written from one catalog and one set of pool answers, which the
//! cache holds; a worker calls [`ReplyCache::follow`] before each batch, which forgets it all
//! when either changed (a reload, a transfer, a health change).
//!
//! A full table is forgotten whole to make room, at most once every [`REFILL_AFTER`]; until
//! then a query that would be remembered is answered as without the cache, at no extra cost.

use std::hash::BuildHasher;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::Guard;
use hashbrown::HashTable;
use lbdns_common::cookie::CookieState;

use super::query::HEADER_LEN;
use super::wire::{self, answer_cycle, Answered, Client, Replies};
use super::{Catalog, PoolAnswers, Rrset};

/// The most queries one worker remembers replies for: a fleet's hot names, each type and
/// query form, many times over.
const MAX_ENTRIES: usize = 4096;
/// The most octets one worker's remembered queries and replies take: small beside a large
/// zone's index, which a million names make about 120 MiB.
const MAX_BYTES: usize = 1 << 20;
/// How often a full table may be forgotten to make room. A flood of names that each arrive
/// twice fills the table with what will not come back; refilling at once after every clear
/// would spend the worker writing replies nobody asks for again. Between clears, what is not
/// remembered is answered as without the cache.
const REFILL_AFTER: Duration = Duration::from_secs(1);
/// What an entry costs besides its octets: the table's slot, the allocation's header.
const ENTRY_OVERHEAD: usize = 64;
/// The longest query remembered; any ordinary query is far shorter.
const MAX_QUERY: usize = 512;
/// Slots of the admission filter. A query is remembered the second time its octets arrive
/// while its slot still holds them: a flood of names that never repeat (random subdomains, a
/// million-name zone queried at random) passes straight through, never written out, and
/// never evicts what repeats.
const SEEN_SLOTS: usize = 4096;

/// One worker's remembered replies. See the module documentation.
#[derive(Debug)]
pub struct ReplyCache {
    /// By query octets after the ID, hashed with `hasher`. Declared first, so dropped before
    /// what its counters point into.
    entries: HashTable<Entry>,
    hasher: foldhash::fast::RandomState,
    /// The catalog the replies were written from, and its pool answers then.
    catalog: Arc<Catalog>,
    pools: Arc<PoolAnswers>,
    /// The octets `entries` holds, with [`ENTRY_OVERHEAD`] each.
    bytes: usize,
    /// The hash of the query octets last seen in each slot.
    seen: Box<[u64]>,
    /// Queries answered from `entries`, ever.
    hits: u64,
    /// When a full table was last forgotten to make room.
    made_room: Option<Instant>,
    /// When the batch being answered arrived: the clock, read once a batch.
    now: Instant,
}

/// Every reply one query gets, in turn, in one allocation.
#[derive(Debug)]
struct Entry {
    /// The query's octets after the ID, then each reply in turn.
    octets: Box<[u8]>,
    key_len: usize,
    /// How many replies follow the key, all of one length.
    turns: usize,
    /// What turns them; `None` with one reply.
    counter: Option<Counter>,
}

impl Entry {
    /// `None` if the replies differ in length. A rotation only reorders one RRset's records
    /// or picks as many of them, all of one type, so none do; should one, the query is
    /// answered without the cache.
    fn new(key: &[u8], replies: &[Vec<u8>], counter: Option<Counter>) -> Option<Self> {
        let len = replies.first()?.len();
        if replies.iter().any(|reply| reply.len() != len) {
            return None;
        }
        let mut octets = Vec::with_capacity(key.len() + len * replies.len());
        octets.extend_from_slice(key);
        replies
            .iter()
            .for_each(|reply| octets.extend_from_slice(reply));
        Some(Self {
            octets: octets.into_boxed_slice(),
            key_len: key.len(),
            turns: replies.len(),
            counter,
        })
    }

    fn key(&self) -> &[u8] {
        &self.octets[..self.key_len]
    }

    /// The reply the next answer gets: the counter's next turn.
    fn next(&self) -> &[u8] {
        let turn = self.counter.as_ref().map_or(0, Counter::take_turn) % self.turns;
        let len = (self.octets.len() - self.key_len) / self.turns;
        let start = self.key_len + turn * len;
        &self.octets[start..start + len]
    }
}

/// The rotation counter of an RRset in the catalog or pool answers a cache holds.
/// A pointer, not a borrow: the cache outlives each catalog it follows. Sound because the
/// cache keeps every such RRset alive and unmoved (a catalog's zones and its pool answers are
/// never changed in place, only replaced), and [`ReplyCache::follow`] drops every entry before
/// it lets them go.
#[derive(Debug)]
struct Counter(NonNull<Rrset>);

impl Counter {
    fn take_turn(&self) -> usize {
        // SAFETY: the RRset is alive, as the type's documentation says; only its atomic
        // counter is touched.
        unsafe { self.0.as_ref() }.take_turn()
    }
}

impl ReplyCache {
    /// A cache for replies from `catalog`.
    pub fn new(catalog: &Arc<Catalog>) -> Self {
        Self {
            entries: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            catalog: catalog.clone(),
            pools: Guard::into_inner(catalog.pools()),
            bytes: 0,
            seen: vec![0; SEEN_SLOTS].into_boxed_slice(),
            hits: 0,
            made_room: None,
            now: Instant::now(),
        }
    }

    /// Makes `catalog`, with its pool answers now, the source of the replies from here on;
    /// forgets every reply written from another. Called before each batch, which arrived at
    /// `now`.
    pub fn follow(&mut self, catalog: &Arc<Catalog>, now: Instant) {
        self.now = now;
        let pools = Guard::into_inner(catalog.pools());
        if !Arc::ptr_eq(&self.catalog, catalog) || !Arc::ptr_eq(&self.pools, &pools) {
            self.forget();
            self.catalog = catalog.clone();
            self.pools = pools;
        }
    }

    /// `authority::answer` to a UDP `query` from `client`, from the catalog last followed: the
    /// reply remembered for its octets if there is one.
    pub fn answer(&mut self, query: &[u8], client: Client) -> Option<Answered> {
        let key = match query.get(2..) {
            Some(key) if query.len() >= HEADER_LEN && query.len() <= MAX_QUERY => key,
            _ => return wire::answer(&self.catalog, query, client, 0),
        };
        let hash = self.hasher.hash_one(key);
        if let Some(entry) = self.entries.find(hash, |entry| entry.key() == key) {
            let mut reply = entry.next().to_vec();
            reply[..2].copy_from_slice(&query[..2]);
            self.hits += 1;
            return Some(Answered {
                reply,
                cookie: CookieState::None,
            });
        }
        if !self.admit(hash) || !self.has_room() {
            return wire::answer(&self.catalog, query, client, 0);
        }
        // From the held pool answers, not the catalog's current ones, which may be newer and
        // let go while the entry lives.
        let (replies, rrset) = match answer_cycle(&self.catalog, &self.pools, query, client)? {
            Replies::Single(answered) => return Some(answered),
            Replies::Cycle { replies, counter } => (replies, counter),
        };
        let counter = rrset.map(|rrset| Counter(NonNull::from(rrset)));
        let Some(entry) = Entry::new(key, &replies, counter) else {
            // Not kept, but answered in turn all the same.
            let turn = rrset.map_or(0, Rrset::take_turn) % replies.len().max(1);
            return Some(Answered {
                reply: replies.into_iter().nth(turn)?,
                cookie: CookieState::None,
            });
        };
        let reply = entry.next().to_vec();
        self.remember(hash, entry);
        Some(Answered {
            reply,
            cookie: CookieState::None,
        })
    }

    /// How many queries were answered with a reply remembered before them.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Whether query octets of hash `hash` were the last seen in their slot; records them
    /// there if not.
    fn admit(&mut self, hash: u64) -> bool {
        let slot = &mut self.seen[hash as usize % SEEN_SLOTS];
        let seen = *slot == hash;
        *slot = hash;
        seen
    }

    /// Whether an entry can be kept: the table has room, or may be forgotten to make some.
    fn has_room(&self) -> bool {
        let full = self.entries.len() >= MAX_ENTRIES || self.bytes >= MAX_BYTES;
        !full || self.may_make_room()
    }

    fn may_make_room(&self) -> bool {
        self.made_room
            .is_none_or(|then| self.now.duration_since(then) >= REFILL_AFTER)
    }

    /// Keeps `entry`, whose key hashes to `hash`, forgetting the whole table first if it has
    /// no room and may (what is hot comes back after two sightings).
    fn remember(&mut self, hash: u64, entry: Entry) {
        let bytes = ENTRY_OVERHEAD + entry.octets.len();
        if self.entries.len() >= MAX_ENTRIES || self.bytes + bytes > MAX_BYTES {
            if !self.may_make_room() {
                return;
            }
            self.forget();
            self.made_room = Some(self.now);
        }
        self.bytes += bytes;
        let hasher = &self.hasher;
        self.entries
            .insert_unique(hash, entry, |entry| hasher.hash_one(entry.key()));
    }

    fn forget(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// How many queries have replies remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
#[path = "reply_cache_tests.rs"]
mod tests;
