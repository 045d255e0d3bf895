//! The name table (`lbdns_common::names`) filled to the load it is sized for: with 6 names per
//! 8-entry bucket, many names find both their buckets full and entries move to make room. Every
//! name must still answer from its own set, through removals and additions, and names that are
//! not published, including ones that differ from a published name only in the type or a byte
//! past the first word, must pass. An entry whose fingerprint matches but whose record is
//! another name's, or whose RRset id is not its record's, never answers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aya::maps::{Array, Map, MapData};
use lbdns::{
    compile::{compile, AddrType, HotRrset},
    xdp::XdpConfig,
};
use lbdns_common::{
    maps,
    names::{entry, entry_fingerprint, entry_id, entry_record, name_words, parse_header, Bucket},
};
use lbdns_tests::wire::{self, Builder, Message};

use super::frame::{udp_frame, Layout, Vlan};
use crate::{test_run, v4_endpoints, Loaded, XDP_PASS, XDP_TX};

/// 96 names in 16 buckets of 8 entries: the table as full as its size allows.
const NAMES: u32 = 96;

const CONFIG: XdpConfig = XdpConfig {
    dns_port: 53,
    rrset_entries: NAMES,
    // Records of 4 and 5 words, and room to replace the shorter ones by longer ones.
    name_bytes: NAMES * 8 * 6,
    a_slots: NAMES,
    aaaa_slots: 1,
    signature_entries: 1,
    geo_chunks: 1,
    geo_v6_slots: 1,
    // Nothing here answers from prepared replies.
    negative_children: 1,
    fixed_replies: 1,
};

/// Name `index`: names of two and three words, sharing their first word.
fn name(index: u32) -> String {
    format!("host-{index}.crowded.example")
}

fn address(index: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, (index / 256) as u8, index as u8)
}

fn rrsets(indices: impl Iterator<Item = u32>) -> Vec<HotRrset> {
    indices
        .map(|index| HotRrset {
            name: wire::name(&name(index)),
            qtype: AddrType::A,
            ttl: 60,
            addrs: vec![IpAddr::V4(address(index))].into(),
            schedule: Vec::new(),
            cap: None,
            signed: false,
            rrsigs: None,
        })
        .collect()
}

/// The address the program answers `qname` with, or `None` if it passes.
fn ask(loaded: &Loaded, qname: &str, qtype: AddrType) -> Option<Vec<IpAddr>> {
    let dns = Builder::query(9, qname, qtype.rr_type()).build();
    let frame = udp_frame(Vlan::None, v4_endpoints(53), &dns, 0);
    match test_run(&loaded.fast, &frame) {
        (XDP_PASS, _) => None,
        (XDP_TX, reply) => {
            let dns = &reply[Layout::new(Vlan::None, false).dns..];
            Some(Message::parse(dns).expect("the reply parses").answer_ips())
        }
        (other, _) => panic!("action {other} for {qname}"),
    }
}

/// Names in `live` answer with their own address; the others pass.
fn assert_answers(loaded: &Loaded, live: &[u32], after: &str) {
    for index in 0..2 * NAMES {
        let expected = live
            .contains(&index)
            .then(|| vec![IpAddr::V4(address(index))]);
        let qname = name(index);
        assert_eq!(
            ask(loaded, &qname, AddrType::A),
            expected,
            "{qname} {after}"
        );
        assert_eq!(ask(loaded, &qname, AddrType::Aaaa), None, "{qname} AAAA");
    }
}

#[test]
fn a_full_table_answers_every_name_from_its_own_set() {
    let first: Vec<u32> = (0..NAMES).collect();
    let mut loaded = Loaded::new(&CONFIG, &rrsets(first.iter().copied()));
    assert_answers(&loaded, &first, "after the first publish");
    // A name past the last one published, and a published one with a changed last byte.
    assert_eq!(ask(&loaded, "host-0.crowded.examplf", AddrType::A), None);

    // Every other name replaced by one not yet seen: removals from either bucket, then
    // insertions into a table that is as full as before.
    let second: Vec<u32> = (0..NAMES)
        .map(|index| if index % 2 == 0 { index } else { NAMES + index })
        .collect();
    let image = compile(rrsets(second.iter().copied()))
        .expect("compiles")
        .image;
    let report = loaded.writer.publish(&image).expect("publish");
    assert_eq!((report.removed, report.written), (48, 48));
    assert_answers(&loaded, &second, "after replacing half of the names");
}

/// One of the program's arrays, opened by id: the writer holds the handles the load gave.
pub fn program_array<V: aya::Pod>(loaded: &Loaded, name: &str) -> Array<MapData, V> {
    let ids = loaded
        .fast
        .program()
        .info()
        .expect("program info")
        .map_ids()
        .expect("map ids")
        .expect("the kernel lists the program's maps");
    let map = ids
        .into_iter()
        .map(|id| MapData::from_id(id).expect("map by id"))
        .find(|map| map.info().expect("map info").name_as_str() == Some(name))
        .unwrap_or_else(|| panic!("the program has no map {name}"));
    Array::try_from(Map::Array(map)).expect("an array")
}

/// The name table as the kernel holds it.
struct Table {
    buckets: Array<MapData, Bucket>,
    words: Array<MapData, u64>,
}

impl Table {
    fn of(loaded: &Loaded) -> Self {
        Self {
            buckets: program_array(loaded, maps::NAME_BUCKETS),
            words: program_array(loaded, maps::NAME_WORDS),
        }
    }

    /// Where the entry of (`qname`, `qtype`) is, and the entry.
    fn find(&self, qname: &str, qtype: AddrType) -> (u32, usize, u64) {
        let wire = wire::name(qname);
        for bucket in 0..self.buckets.len() {
            let entries = self.buckets.get(&bucket, 0).expect("bucket");
            for (index, &e) in entries.iter().enumerate().filter(|(_, &e)| e != 0) {
                let record = entry_record(e);
                let header = self.words.get(&record, 0).expect("record header");
                let (_, len, addr_type) = parse_header(header).expect("a record header");
                let same = (len, addr_type) == (wire.len(), qtype)
                    && (1..)
                        .zip(name_words(&wire))
                        .all(|(i, word)| self.words.get(&(record + i), 0).unwrap() == word);
                if same {
                    return (bucket, index, e);
                }
            }
        }
        panic!("no entry for {qname} {qtype:?}");
    }

    /// Stores `value` as entry `index` of `bucket`.
    fn store(&mut self, (bucket, index): (u32, usize), value: u64) {
        let mut entries = self.buckets.get(&bucket, 0).expect("bucket");
        entries[index] = value;
        self.buckets.set(bucket, entries, 0).expect("store entry");
    }
}

#[test]
fn an_entry_leading_to_another_names_record_never_answers() {
    // The same length and the same first two words: only the last word tells them apart.
    let (own, twin) = (name(0), "host-0.crowded.exampld");
    let v4 = |qname: &str, last| HotRrset {
        name: wire::name(qname),
        qtype: AddrType::A,
        ttl: 60,
        addrs: vec![IpAddr::V4(address(last))].into(),
        schedule: Vec::new(),
        cap: None,
        signed: false,
        rrsigs: None,
    };
    let v6 = HotRrset {
        qtype: AddrType::Aaaa,
        addrs: vec![IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))].into(),
        ..v4(&own, 0)
    };
    let config = XdpConfig {
        aaaa_slots: 2,
        ..CONFIG
    };
    let loaded = Loaded::new(&config, &[v4(&own, 0), v4(twin, 1), v6]);
    let answer = |qname| ask(&loaded, qname, AddrType::A);
    assert_eq!(answer(&own), Some(vec![IpAddr::V4(address(0))]));

    let mut table = Table::of(&loaded);
    let (bucket, index, own_entry) = table.find(&own, AddrType::A);
    let others = [
        ("the twin's record", table.find(twin, AddrType::A).2),
        ("its AAAA record", table.find(&own, AddrType::Aaaa).2),
    ];
    let fingerprint = entry_fingerprint(own_entry);
    for (what, other) in others {
        // With its own RRset id, and with the other record's.
        for id in [entry_id(own_entry), entry_id(other)] {
            let forged = entry(fingerprint, id, entry_record(other));
            table.store((bucket, index), forged);
            assert_eq!(
                answer(&own),
                None,
                "{own} with {what} behind its entry (id {id})"
            );
            assert_eq!(answer(twin), Some(vec![IpAddr::V4(address(1))]));
        }
    }
    // Its own record with the twin's RRset id: the record's header says whose it is.
    let twin_id = entry_id(others[0].1);
    let forged = entry(fingerprint, twin_id, entry_record(own_entry));
    table.store((bucket, index), forged);
    assert_eq!(answer(&own), None, "{own} with the twin's id in its entry");
    table.store((bucket, index), own_entry);
    assert_eq!(answer(&own), Some(vec![IpAddr::V4(address(0))]), "restored");
}
