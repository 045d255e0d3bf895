//! The signature store's entries in a plan: given out, switched with their set and retired like
//! slots.

use super::*;
use crate::compile::Rrsigs;

/// An A RRset at `s` covered by one RRSIG whose RDATA ends in `signature`.
fn signed(signature: u8) -> MapImage {
    let rrset = HotRrset {
        name: wire("s"),
        qtype: AddrType::A,
        ttl: 60,
        addrs: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))].into(),
        schedule: Vec::new(),
        cap: None,
        signed: true,
        rrsigs: Some(Rrsigs {
            ttl: 60,
            rdatas: vec![vec![0, 1, signature]],
        }),
    };
    compile(vec![rrset]).unwrap().image
}

/// RFC 4035 §3.1.1 answers carry the RRSIGs with the RRset, so the signatures are switched with
/// the set: new signatures alone write a new set naming a new entry, and the old entry is
/// reused only after a grace period, like the old slot.
#[test]
fn rfc4035_3_1_1_new_signatures_replace_the_set_and_their_old_entry_waits() {
    let mut maps = Maps::with(Capacity {
        v4: 4,
        v6: 1,
        names: 8,
        name_words: 64,
        signatures: 2,
    });
    let first = signed(1);
    maps.publish(&first);
    assert_eq!(maps.live[&first.rrsets[0].0].signatures, Some(0));
    assert_eq!(maps.publish(&first).steps, [], "unchanged signatures");

    let plan = maps.publish(&signed(2));
    assert_eq!(plan.steps, [step("replace", "s", 0, 1)]);
    assert_eq!(maps.live[&first.rrsets[0].0].signatures, Some(1));

    // Entry 0 is retiring and no other is free: the next change waits, then takes it.
    let plan = maps.publish(&signed(3));
    assert_eq!(plan.steps, [wait(), step("replace", "s", 0, 0)]);
    assert_eq!(maps.live[&first.rrsets[0].0].signatures, Some(0));
}

#[test]
fn signatures_beyond_the_store_do_not_fit() {
    let maps = Maps::with(Capacity {
        v4: 4,
        v6: 1,
        names: 8,
        name_words: 64,
        signatures: 0,
    });
    assert_eq!(maps.plan(&signed(1)), Err(Full::Signatures));
}

/// Signed and unsigned A RRsets at `names`, with signatures ending in the given octet (`None`:
/// unsigned).
fn mixed(names: &[(&str, Option<u8>)]) -> MapImage {
    let rrsets: Vec<HotRrset> = names
        .iter()
        .map(|&(name, signature)| HotRrset {
            name: wire(name),
            qtype: AddrType::A,
            ttl: 60,
            addrs: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))].into(),
            schedule: Vec::new(),
            cap: None,
            signed: signature.is_some(),
            rrsigs: signature.map(|octet| Rrsigs {
                ttl: 60,
                rdatas: vec![vec![0, 1, octet]],
            }),
        })
        .collect();
    compile(rrsets).unwrap().image
}

/// Random publishes of signed, re-signed, unsigned and removed RRsets: a signature entry that a
/// program may still read (named by a live set, or by one switched away from since the last
/// grace period) is never written, and every entry is live, retiring or free exactly once.
#[test]
fn random_publishes_never_rewrite_signatures_a_reader_may_hold() {
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let names = ["a", "b", "c", "d"];
    let capacity = Capacity {
        v4: 8,
        v6: 1,
        names: 8,
        name_words: 64,
        signatures: 5,
    };
    let mut maps = Maps::with(capacity);
    let mut released = BTreeSet::new();
    for _ in 0..2000 {
        let mut wanted = Vec::new();
        for name in names {
            match next(4) {
                0 => {}
                1 => wanted.push((name, None)),
                _ => wanted.push((name, Some(next(3) as u8))),
            }
        }
        let image = mixed(&wanted);
        for step in maps.plan(&image).unwrap().steps {
            let live: BTreeSet<u32> = maps.live.values().filter_map(|l| l.signatures).collect();
            match &step {
                Step::WaitForReaders => released.clear(),
                Step::Remove { signatures, .. } => released.extend(*signatures),
                Step::Replace {
                    signatures,
                    old_signatures,
                    ..
                } => {
                    if let Some((entry, _)) = signatures {
                        assert!(
                            !live.contains(entry) && !released.contains(entry),
                            "{step:?}"
                        );
                    }
                    released.extend(*old_signatures);
                }
                Step::Add { signatures, .. } => {
                    if let Some((entry, _)) = signatures {
                        assert!(
                            !live.contains(entry) && !released.contains(entry),
                            "{step:?}"
                        );
                    }
                }
            }
            maps.execute(&step);
        }
        assert!(maps.hold(&image));
        let live: Vec<u32> = maps.live.values().filter_map(|l| l.signatures).collect();
        let distinct: BTreeSet<u32> = live.iter().copied().collect();
        assert_eq!(distinct.len(), live.len(), "an entry named by two sets");
        let numbers = &maps.state.numbering.signatures;
        let (free, retiring) = (numbers.free(), numbers.retiring_numbers());
        assert!(distinct.is_disjoint(&free) && distinct.is_disjoint(&retiring));
        assert!(free.is_disjoint(&retiring));
        assert_eq!(
            distinct.len() + free.len() + retiring.len(),
            capacity.signatures as usize,
            "every entry is accounted for"
        );
    }
}
