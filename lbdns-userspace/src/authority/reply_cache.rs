//! Replies remembered by their query's octets, for one UDP worker: a query seen again gets
//! the reply written for it before, its ID patched in, without parsing, lookup or encoding.
//! That work is most of what the socket path spends on a query of its own (`answer_cost`);
//! gdnsd avoids it the same way, with replies compiled ahead.
//!
//! A reply is remembered only when the query's octets decide it: not with a DNS Cookie (the
//! server cookie is made for one client, at one time), nor when a geo pool chose it by the
//! client's address. A rotating answer is remembered as every reply of its rotation
//! ([`answer_cycle`]), served in turn by the entry's own counter: each worker then rotates
//! each query on its own, as the XDP program's per-CPU counters do.
//!
//! Everything remembered was written from one catalog and one set of pool answers; a worker
//! calls [`ReplyCache::follow`] before each batch, which forgets it all when either changed (a
//! reload, a transfer, a health change).

use std::hash::BuildHasher;
use std::sync::Arc;

use arc_swap::Guard;
use foldhash::{HashMap, HashMapExt};
use lbdns_common::cookie::CookieState;

use super::query::HEADER_LEN;
use super::wire::{self, answer_cycle, Answered, Client, Replies};
use super::{Catalog, PoolAnswers};

/// The most queries one worker remembers replies for: a fleet's hot names, each type and
/// query form, many times over.
const MAX_ENTRIES: usize = 8192;
/// The most octets one worker's remembered queries and replies take.
const MAX_BYTES: usize = 4 << 20;
/// What an entry costs besides its octets: the table's slot, the boxes' headers.
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
    /// What the replies were written from.
    source: Option<(Arc<Catalog>, Arc<PoolAnswers>)>,
    /// By query octets after the ID.
    entries: HashMap<Box<[u8]>, Entry>,
    /// The octets `entries` holds, with [`ENTRY_OVERHEAD`] each.
    bytes: usize,
    /// The hash of the query octets last seen in each slot.
    seen: Box<[u64]>,
}

/// Every reply one query gets, in turn.
#[derive(Debug)]
struct Entry {
    replies: Box<[Box<[u8]>]>,
    /// The next turn to serve.
    next: usize,
}

impl Default for ReplyCache {
    fn default() -> Self {
        Self {
            source: None,
            entries: HashMap::new(),
            bytes: 0,
            seen: vec![0; SEEN_SLOTS].into_boxed_slice(),
        }
    }
}

impl ReplyCache {
    /// Makes `catalog`, with its pool answers now, the source of the replies remembered from
    /// here on; forgets every reply written from another.
    pub fn follow(&mut self, catalog: &Arc<Catalog>) {
        let pools = Guard::into_inner(catalog.pools());
        let same = self.source.as_ref().is_some_and(|(held, held_pools)| {
            Arc::ptr_eq(held, catalog) && Arc::ptr_eq(held_pools, &pools)
        });
        if !same {
            self.forget();
            self.source = Some((catalog.clone(), pools));
        }
    }

    /// `authority::answer` to a UDP `query` from `client`, from `catalog`, the one last given
    /// to [`ReplyCache::follow`]: the reply remembered for its octets if there is one.
    pub fn answer(&mut self, catalog: &Catalog, query: &[u8], client: Client) -> Option<Answered> {
        debug_assert!(self
            .source
            .as_ref()
            .is_some_and(|(held, _)| std::ptr::eq(&**held, catalog)));
        let key = match query.get(2..) {
            Some(key) if query.len() >= HEADER_LEN && query.len() <= MAX_QUERY => key,
            _ => return wire::answer(catalog, query, client, 0),
        };
        if let Some(entry) = self.entries.get_mut(key) {
            let mut reply = entry.replies[entry.next % entry.replies.len()].to_vec();
            entry.next = entry.next.wrapping_add(1);
            reply[..2].copy_from_slice(&query[..2]);
            return Some(Answered {
                reply,
                cookie: CookieState::None,
            });
        }
        if !self.admit(key) {
            return wire::answer(catalog, query, client, 0);
        }
        match answer_cycle(catalog, query, client)? {
            Replies::Single(answered) => Some(answered),
            Replies::Cycle { replies, turn } => {
                let reply = replies[turn].clone();
                self.remember(key, replies, turn + 1);
                Some(Answered {
                    reply,
                    cookie: CookieState::None,
                })
            }
        }
    }

    /// Whether `key` was the last seen in its slot; records it there if not.
    fn admit(&mut self, key: &[u8]) -> bool {
        let hash = self.entries.hasher().hash_one(key);
        let slot = &mut self.seen[hash as usize % SEEN_SLOTS];
        let seen = *slot == hash;
        *slot = hash;
        seen
    }

    fn remember(&mut self, key: &[u8], replies: Vec<Vec<u8>>, next: usize) {
        let bytes = ENTRY_OVERHEAD + key.len() + replies.iter().map(Vec::len).sum::<usize>();
        if self.entries.len() >= MAX_ENTRIES || self.bytes + bytes > MAX_BYTES {
            // Whole, not by age: what is hot comes back after two sightings.
            self.forget();
        }
        self.bytes += bytes;
        let replies = replies.into_iter().map(Vec::into_boxed_slice).collect();
        self.entries.insert(key.into(), Entry { replies, next });
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
