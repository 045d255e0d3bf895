//! DO=1 answers for RRsets of a secure zone (RFC 4035 §3.1.1): the fast path sends the RRSIG
//! records from its signature store right after the addresses, as the socket path does. The
//! corpus cases ([`secure_answers`]) compare each reply with the socket path's; the tests here
//! check one reply against octets written out from the RFCs, and that no DO=0 reply carries an
//! RRSIG.

use hickory_proto::{op::Message, rr::RecordType};
use lbdns::xdp::XdpConfig;
use lbdns_common::counters::Counter;
use lbdns_tests::{
    env::pin_to_cpu0,
    wire::{rtype, Builder},
};

use super::{
    corpus::{framed, with_edns, Case, Edns, Expect, Rng},
    fixture::{
        hot_rrsets, secure_rrsig_rdata, secure_wide, SECURE_BIG, SECURE_MANY, SECURE_ONE,
        SECURE_TWO,
    },
    frame::{check_reply_headers, udp_frame, Layout, Vlan},
};
use crate::{v4_endpoints, Loaded, XDP_TX};

/// DO=1 queries for signed hot RRsets with one or several addresses and one or two RRSIGs,
/// answered with them; with DO=0 or without EDNS, answered without; signatures beyond the
/// store's bound and replies beyond the requester's size or the socket path's 1232, passed.
pub fn secure_answers(rng: &mut Rng, cases: &mut Vec<Case>) {
    let nsid = [0, 3, 0, 0];
    for v6 in [false, true] {
        for (name, qtype) in [
            (SECURE_ONE, rtype::A),
            (SECURE_ONE, rtype::AAAA),
            (SECURE_MANY, rtype::A),
            (SECURE_MANY, rtype::AAAA),
            (SECURE_TWO, rtype::A),
            // Too big for the store: DO=0 and no EDNS are still answered.
            (SECURE_BIG, rtype::A),
        ] {
            for edns in [Edns::None, Edns::Plain, Edns::DnssecOk, Edns::WithOptions] {
                for vlan in [Vlan::None, Vlan::Dot1q] {
                    let builder = Builder::new(rng.next() as u16, 0).question(name, qtype);
                    let dns = with_edns(builder, edns).build();
                    let expect = match edns {
                        Edns::DnssecOk if name == SECURE_BIG => Expect::Pass(Counter::PassSigned),
                        _ => Expect::Answer(Layout::new(vlan, v6)),
                    };
                    cases.push(Case {
                        what: format!("{name} type {qtype} {edns:?} {vlan:?} (v6={v6})"),
                        frame: framed(v6, vlan, &dns, rng),
                        expect,
                    });
                }
            }
            // After RRSIG records of odd length (one.secure.test's) the OPT record and its
            // NSID start on an odd offset.
            if name != SECURE_BIG {
                let dns = Builder::new(rng.next() as u16, 0x0010)
                    .question(name, qtype)
                    .opt(&[0], 1232, 0, 0x8000, &nsid)
                    .build();
                cases.push(Case {
                    what: format!("{name} type {qtype} DO=1, CD, NSID (v6={v6})"),
                    frame: framed(v6, Vlan::Dot1ad, &dns, rng),
                    expect: Expect::Answer(Layout::new(Vlan::Dot1ad, v6)),
                });
            }
        }
        // 1239 octets: passed whatever the requester takes, as the socket path sends at most
        // 1232 (and sets TC); without DO the 641 octets are answered.
        let wide = secure_wide();
        for (size, flags, expect) in [
            (4096, 0x8000, Expect::Pass(Counter::PassSize)),
            (1232, 0x8000, Expect::Pass(Counter::PassSize)),
            (4096, 0, Expect::Answer(Layout::new(Vlan::None, v6))),
        ] {
            let dns = Builder::new(rng.next() as u16, 0)
                .question(&wide, rtype::AAAA)
                .opt(&[0], size, 0, flags, &[])
                .build();
            cases.push(Case {
                what: format!("{wide} AAAA flags {flags:#x}, EDNS {size} (v6={v6})"),
                frame: framed(v6, Vlan::None, &dns, rng),
                expect,
            });
        }
        // 4 AAAA records and two RRSIGs take 563 octets: more than 512. 3 A records and two
        // RRSIGs take 499: they fit.
        for (qtype, expect) in [
            (rtype::AAAA, Expect::Pass(Counter::PassSize)),
            (rtype::A, Expect::Answer(Layout::new(Vlan::None, v6))),
        ] {
            let dns = Builder::new(rng.next() as u16, 0)
                .question(SECURE_MANY, qtype)
                .opt(&[0], 512, 0, 0x8000, &[])
                .build();
            cases.push(Case {
                what: format!("{SECURE_MANY} type {qtype} DO=1, EDNS 512 (v6={v6})"),
                frame: framed(v6, Vlan::None, &dns, rng),
                expect,
            });
        }
    }
}

/// RFC 4035 §3.1.1 and RFC 1035 §4.1: the reply to a DO=1 query for one.secure.test A, octet
/// for octet: the header with ANCOUNT 2 and ARCOUNT 1, the question as sent, the A record, its
/// RRSIG (owner a pointer to the question, type 46, class IN, the RRSIG RRset's TTL of 120, not
/// the A RRset's 60), then the OPT record with DO set.
#[test]
fn rfc4035_3_1_1_a_do1_answer_is_the_rrset_then_its_rrsig_then_opt() {
    pin_to_cpu0().expect("pin to CPU 0");
    let loaded = Loaded::new(&XdpConfig::default(), &hot_rrsets());
    let query = Builder::new(0x1234, 0x0100)
        .question("One.Secure.TEST", rtype::A)
        .opt(&[0], 1232, 0, 0x8000, &[])
        .build();
    let frame = udp_frame(Vlan::None, v4_endpoints(53), &query, 0);
    let (action, reply) = loaded.run(&frame);
    assert_eq!(action, XDP_TX);
    let layout = Layout::new(Vlan::None, false);
    let dns = check_reply_headers("one.secure.test A DO=1", &frame, &reply, layout);

    let mut expected = vec![0x12, 0x34, 0x85, 0x00, 0, 1, 0, 2, 0, 0, 0, 1];
    expected.extend_from_slice(b"\x03One\x06Secure\x04TEST\x00\x00\x01\x00\x01");
    // A: pointer to offset 12, type 1, class 1, TTL 60, RDLENGTH 4, 198.18.11.1.
    expected.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 11, 1]);
    // RRSIG: pointer to offset 12, type 46, class 1, TTL 120, RDLENGTH 95, RDATA.
    let rdata = secure_rrsig_rdata(1, 64, 1);
    assert_eq!(rdata.len(), 95);
    expected.extend_from_slice(&[0xc0, 12, 0, 46, 0, 1, 0, 0, 0, 120, 0, 95]);
    expected.extend_from_slice(&rdata);
    // OPT: root, type 41, payload 1232, extended RCODE 0, version 0, DO, no options.
    expected.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
    assert_eq!(dns, &expected[..]);
}

/// RFC 4035 §3.1.1 asks for RRSIGs only when DO is set: no reply to a query without DO (with
/// EDNS or without) carries one, for any signed hot RRset, from either path's point of view.
#[test]
fn rfc4035_3_1_1_no_rrsig_without_do() {
    pin_to_cpu0().expect("pin to CPU 0");
    let loaded = Loaded::new(&XdpConfig::default(), &hot_rrsets());
    let layout = Layout::new(Vlan::None, false);
    for name in [SECURE_ONE, SECURE_MANY, SECURE_TWO, SECURE_BIG] {
        for qtype in [rtype::A, rtype::AAAA] {
            if name != SECURE_ONE && name != SECURE_MANY && qtype == rtype::AAAA {
                continue;
            }
            for with_opt in [false, true] {
                let mut builder = Builder::new(7, 0).question(name, qtype);
                if with_opt {
                    builder = builder.edns(1232);
                }
                let frame = udp_frame(Vlan::None, v4_endpoints(53), &builder.build(), 0);
                let what = format!("{name} type {qtype} EDNS={with_opt}");
                let (action, reply) = loaded.run(&frame);
                assert_eq!(action, XDP_TX, "{what}");
                let dns = check_reply_headers(&what, &frame, &reply, layout);
                let message = Message::from_vec(dns).expect("reply parses");
                assert!(!message.answers.is_empty(), "{what}");
                assert!(
                    message
                        .answers
                        .iter()
                        .chain(&message.authorities)
                        .chain(&message.additionals)
                        .all(|record| record.record_type() != RecordType::RRSIG),
                    "{what}: an RRSIG without DO: {message:?}"
                );
            }
        }
    }
}
