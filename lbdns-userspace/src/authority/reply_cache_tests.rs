//! The reply cache gives every query the octets `authority::respond` would, turn for turn,
//! and remembers only what the query's octets decide.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::{Edns, Message};
use hickory_proto::rr::{LowerName, Name, RData, RecordType};

use super::*;
use crate::authority::tests::{catalog, pool_rrset, pooled_catalog, query, UDP};
use crate::authority::{respond, Order, PoolAnswers};
use crate::zone::Zone;

/// Asks `query` with the ID `id` through `cache`, which follows `catalog`.
fn ask(cache: &mut ReplyCache, catalog: &Arc<Catalog>, query: &[u8], id: u16) -> Option<Vec<u8>> {
    let mut query = query.to_vec();
    query[..2].copy_from_slice(&id.to_be_bytes());
    cache.follow(catalog, Instant::now());
    cache.answer(&query, UDP).map(|answered| answered.reply)
}

/// The addresses of a reply's answer section, in order.
fn addresses(reply: &[u8]) -> Vec<String> {
    Message::from_vec(reply)
        .unwrap()
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(a) => Some(a.to_string()),
            RData::AAAA(aaaa) => Some(aaaa.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_reply_equals_respond_s_turn_for_turn() {
    let edns = || {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        Some(edns)
    };
    let queries = [
        // A pool: weighted, one answer each (period 4); and plain over three (period 3).
        query("www.example.test.", RecordType::A, None),
        query("pool-only.example.test.", RecordType::AAAA, edns()),
        // Mixed case is its own query: 0x20 spelling goes back as asked.
        query("Pool-Only.Example.Test.", RecordType::AAAA, None),
        query("mx.example.test.", RecordType::MX, None),
        query("alias.example.test.", RecordType::A, edns()),
        query("nothing.example.test.", RecordType::A, None),
        query("x.wild.example.test.", RecordType::TXT, None),
        query("host.sub.example.test.", RecordType::A, None),
        query("big.example.test.", RecordType::TXT, None),
        query("elsewhere.test.", RecordType::A, None),
        query("host.child.example.test.", RecordType::A, edns()),
    ];
    for asked in &queries {
        // Two catalogs alike: one answered through two workers' caches in turn, one by
        // `respond`. The rotation is the RRset's, whichever worker answers.
        let cached = Arc::new(pooled_catalog());
        let plain = pooled_catalog();
        let mut workers = [ReplyCache::new(&cached), ReplyCache::new(&cached)];
        for id in 0..26u16 {
            let mut direct = asked.clone();
            direct[..2].copy_from_slice(&id.to_be_bytes());
            let want = respond(&plain, &direct, UDP).unwrap();
            // Each worker twice in a row, so that each sees the query again at once.
            let cache = &mut workers[usize::from(id / 2 % 2)];
            let got = ask(cache, &cached, asked, id).unwrap();
            assert_eq!(
                got,
                want,
                "query {id} for {:?}",
                Message::from_vec(asked).unwrap().queries
            );
        }
        for cache in &workers {
            assert_eq!(cache.len(), 1, "seen again, the query is remembered");
            assert!(cache.hits() > 0);
        }
    }
}

#[test]
fn a_query_seen_once_is_not_remembered_and_the_table_stays_bounded() {
    let catalog = Arc::new(catalog());
    let mut cache = ReplyCache::new(&catalog);
    for n in 0..2 * SEEN_SLOTS {
        let name = format!("random-{n}.example.test.");
        ask(&mut cache, &catalog, &query(&name, RecordType::A, None), 1).unwrap();
    }
    assert_eq!(
        cache.len(),
        0,
        "names that never repeat pass straight through"
    );
    for n in 0..MAX_ENTRIES + 10 {
        let name = format!("twice-{n}.example.test.");
        for id in 0..2 {
            ask(&mut cache, &catalog, &query(&name, RecordType::A, None), id).unwrap();
        }
        assert!(cache.len() <= MAX_ENTRIES && cache.bytes <= MAX_BYTES);
    }
    assert!(cache.len() > 0);
}

#[test]
fn a_full_table_is_forgotten_to_make_room_at_most_once_a_second() {
    let catalog = Arc::new(catalog());
    let mut cache = ReplyCache::new(&catalog);
    let keep = |cache: &mut ReplyCache, key: &[u8], now: Instant| {
        cache.follow(&catalog, now);
        if cache.has_room() {
            let entry = Entry::new(key, &[vec![0; 100]], None).unwrap();
            cache.remember(cache.hasher.hash_one(key), entry);
        }
    };
    let has = |cache: &ReplyCache, key: &[u8]| {
        let hash = cache.hasher.hash_one(key);
        cache
            .entries
            .find(hash, |entry| entry.key() == key)
            .is_some()
    };
    let start = Instant::now();
    for n in 0..MAX_ENTRIES as u32 {
        keep(&mut cache, &n.to_be_bytes(), start);
    }
    assert_eq!(cache.len(), MAX_ENTRIES);
    // Full: the first that finds no room makes some; the next within the second do not.
    keep(&mut cache, b"first", start);
    assert_eq!(cache.len(), 1);
    let soon = start + REFILL_AFTER / 2;
    for n in 0..MAX_ENTRIES as u32 {
        keep(&mut cache, &n.to_be_bytes(), soon);
    }
    keep(&mut cache, b"too soon", soon);
    assert_eq!(cache.len(), MAX_ENTRIES);
    assert!(has(&cache, b"first") && !has(&cache, b"too soon"));
    keep(&mut cache, b"a second on", start + REFILL_AFTER);
    assert_eq!(cache.len(), 1);
    assert!(has(&cache, b"a second on"));
}

#[test]
fn a_new_catalog_or_new_pool_answers_are_answered_from_at_once() {
    let www = query("www.example.test.", RecordType::A, None);
    let served = Arc::new(pooled_catalog());
    let mut cache = ReplyCache::new(&served);
    for id in 0..3 {
        ask(&mut cache, &served, &www, id).unwrap();
    }
    assert_eq!(cache.len(), 1);
    // A health change: the pool now answers one other address.
    let mut pools = PoolAnswers::default();
    let owner = LowerName::new(&Name::from_ascii("www.example.test.").unwrap());
    pools.set(owner, pool_rrset(RecordType::A, &[99], Order::default()));
    served.set_pools(pools);
    let reply = ask(&mut cache, &served, &www, 3).unwrap();
    assert_eq!(addresses(&reply), ["198.18.20.99"]);
    // A reload that drops the pool: the zone's own www, three addresses, answers again.
    let reloaded = Arc::new(catalog());
    cache.follow(&reloaded, Instant::now());
    assert_eq!(cache.len(), 0, "the old catalog's replies are forgotten");
    let reply = ask(&mut cache, &reloaded, &www, 4).unwrap();
    assert_eq!(addresses(&reply).len(), 3);
}

#[test]
fn replies_chosen_by_the_client_or_its_cookie_are_not_remembered() {
    // A geo pool answers by the client's address.
    let geo = Arc::new(crate::authority::ecs::tests::geo_catalog(
        Default::default(),
        true,
    ));
    let www = crate::authority::ecs::tests::query("www.example.test", &[]);
    let mut cache = ReplyCache::new(&geo);
    let from = |addr: &str| Client::new(addr.parse().unwrap(), crate::authority::Transport::Udp);
    for (client, want) in [
        ("10.1.7.7", "198.18.1.1"),
        ("10.1.7.7", "198.18.1.1"),
        ("10.1.2.7", "198.18.2.1"),
        ("192.0.2.1", "198.18.9.1"),
    ] {
        let reply = cache.answer(&www, from(client)).unwrap().reply;
        assert_eq!(addresses(&reply), [want], "from {client}");
    }
    assert_eq!(cache.len(), 0);
    // A DNS Cookie: the server cookie is the client's own, and time's.
    let cookies = Arc::new(crate::authority::cookie_tests::catalog());
    let with_cookie =
        crate::authority::cookie_tests::query(&crate::authority::cookie_tests::CLIENT);
    let mut cache = ReplyCache::new(&cookies);
    for id in 0..3u16 {
        let mut asked = with_cookie.clone();
        asked[..2].copy_from_slice(&id.to_be_bytes());
        let answered = cache
            .answer(&asked, crate::authority::cookie_tests::from_a_1())
            .unwrap();
        assert_eq!(answered.cookie, CookieState::ClientOnly);
    }
    assert_eq!(cache.len(), 0);
}

#[test]
fn a_rotation_too_long_to_write_out_is_answered_without_the_cache() {
    let mut zone =
        String::from("$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n");
    for n in 0..=wire::MAX_TURNS {
        zone.push_str(&format!("many A 198.18.7.{n}\n"));
    }
    let zone = Zone::parse(&zone, Path::new("zone"), None).unwrap();
    let catalog = Arc::new(Catalog::new(&[zone]).unwrap());
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    let many = query("many.example.test.", RecordType::A, Some(edns));
    let mut cache = ReplyCache::new(&catalog);
    let leaders: Vec<String> = (0..3)
        .map(|id| addresses(&ask(&mut cache, &catalog, &many, id).unwrap())[0].clone())
        .collect();
    assert_eq!(leaders, ["198.18.7.0", "198.18.7.1", "198.18.7.2"]);
    assert_eq!(cache.len(), 0);
}
