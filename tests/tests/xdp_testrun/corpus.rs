//! The generated packet corpus: every case is a frame and the verdict it must get.

use std::net::IpAddr;

use lbdns_common::counters::Counter;
use lbdns_tests::wire::{self, flag, rtype, Builder};

use super::{
    fixed, fixture,
    frame::{udp_frame, Endpoints, Layout, Vlan},
    negative, signatures,
};

/// What the program must do with a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// XDP_TX with the oracle's reply; the frame's layers are where `Layout` says.
    Answer(Layout),
    /// XDP_TX with the oracle's NXDOMAIN (`lbdns_common::negative`), layers as for `Answer`.
    Nxdomain(Layout),
    /// XDP_TX with the oracle's reply from a fixed reply (`lbdns_common::fixed`).
    Fixed(Layout),
    /// XDP_PASS, frame unchanged, this counter incremented. A query whose pass counter is
    /// `pass_miss` or `pass_type` may get its fixed reply instead, which must then be the
    /// oracle's (which queries must have one, the fixed-reply cases say).
    Pass(Counter),
    /// As `Pass`, and never a fixed reply.
    PassNotFixed(Counter),
    /// XDP_PASS, frame unchanged, some pass counter incremented (truncated and random frames,
    /// whose exact reason depends on where they break).
    PassAny,
}

/// One packet and its verdict.
#[derive(Clone, Debug)]
pub struct Case {
    /// A description for failure messages.
    pub what: String,
    /// The frame given to the program.
    pub frame: Vec<u8>,
    /// The verdict.
    pub expect: Expect,
}

/// A small deterministic generator (xorshift64*), so the corpus is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The shortest frame BPF_PROG_TEST_RUN accepts for XDP.
const ETH_HLEN: usize = 14;

const VLANS: [Vlan; 3] = [Vlan::None, Vlan::Dot1q, Vlan::Dot1ad];

fn endpoints(v6: bool, rng: &mut Rng) -> Endpoints {
    let (client, server): (IpAddr, IpAddr) = if v6 {
        (
            "2001:db8:c::7".parse().unwrap(),
            "2001:db8::53".parse().unwrap(),
        )
    } else {
        ("192.0.2.7".parse().unwrap(), "198.18.0.53".parse().unwrap())
    };
    Endpoints {
        client,
        server,
        client_port: 1024 + rng.below(60000) as u16,
        server_port: 53,
    }
}

/// Frames a DNS message; the UDP checksum is random, as the program must not read it.
pub fn framed(v6: bool, vlan: Vlan, dns: &[u8], rng: &mut Rng) -> Vec<u8> {
    udp_frame(vlan, endpoints(v6, rng), dns, rng.next() as u16)
}

fn recase(name: &str, style: usize, rng: &mut Rng) -> String {
    match style {
        0 => name.to_ascii_lowercase(),
        1 => name.to_ascii_uppercase(),
        _ => name
            .chars()
            .map(|c| {
                if rng.below(2) == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect(),
    }
}

/// EDNS variants of the answerable matrix.
#[derive(Clone, Copy, Debug)]
pub enum Edns {
    None,
    Plain,
    DnssecOk,
    /// Advertises 512 and carries a cookie and a padding option, which the reply must not echo.
    WithOptions,
}

pub fn with_edns(builder: Builder, edns: Edns) -> Builder {
    match edns {
        Edns::None => builder,
        Edns::Plain => builder.edns(1232),
        Edns::DnssecOk => builder.opt(&[0], 1232, 0, 0x8000, &[]),
        Edns::WithOptions => {
            let mut options = vec![0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]; // client cookie
            options.extend_from_slice(&[0, 12, 0, 5, 0, 0, 0, 0, 0]); // padding
            builder.opt(&[0], 512, 0, 0, &options)
        }
    }
}

/// An EDNS Client Subnet option (RFC 7871) for 198.18.0.0/24.
pub const ECS_OPTION: [u8; 11] = [0, 8, 0, 7, 0, 1, 24, 0, 198, 18, 0];

/// A query for `name` and `qtype`, framed over IPv4 without a VLAN tag; with an OPT record
/// (1232 octets, DO=0) holding `options` unless there are none.
pub fn query_with_options(name: &str, qtype: u16, options: &[u8], rng: &mut Rng) -> Vec<u8> {
    let builder = Builder::query(rng.next() as u16, name, qtype);
    let builder = if options.is_empty() {
        builder
    } else {
        builder.opt(&[0], 1232, 0, 0, options)
    };
    framed(false, Vlan::None, &builder.build(), rng)
}

/// Whether the fixture has a hot RRset for (name, type).
fn hot(name: &str, qtype: u16) -> bool {
    let wire = wire::name(&name.to_ascii_lowercase());
    fixture::hot_rrsets()
        .iter()
        .any(|r| r.name == wire && r.qtype.rr_type() == qtype && r.addrs.len() <= 16)
}

/// Queries the fast path must answer or pass as misses: names × types × IP versions × VLAN
/// tagging × letter case × EDNS, with random RD/AD/CD flags.
fn answer_matrix(rng: &mut Rng, cases: &mut Vec<Case>) {
    let names = [
        "www.example.com",
        "api.example.com",
        "ns1.example.com",
        "ns2.example.com",
        "mail.example.com",
    ];
    for name in names {
        for qtype in [rtype::A, rtype::AAAA] {
            for v6 in [false, true] {
                for vlan in VLANS {
                    for style in 0..3 {
                        for edns in [Edns::None, Edns::Plain, Edns::DnssecOk, Edns::WithOptions] {
                            let qname = recase(name, style, rng);
                            let flags = [0, flag::RD, flag::AD, flag::CD][rng.below(4) as usize]
                                | if rng.below(2) == 0 { flag::RD } else { 0 };
                            let builder =
                                Builder::new(rng.next() as u16, flags).question(&qname, qtype);
                            let dns = with_edns(builder, edns).build();
                            let expect = if hot(name, qtype) {
                                Expect::Answer(Layout::new(vlan, v6))
                            } else {
                                negative::miss(name, Layout::new(vlan, v6))
                            };
                            cases.push(Case {
                                what: format!("{qname} type {qtype} v6={v6} {vlan:?} {edns:?} flags={flags:#06x}"),
                                frame: framed(v6, vlan, &dns, rng),
                                expect,
                            });
                        }
                    }
                }
            }
        }
    }
}

/// EDNS Client Subnet (RFC 7871): the socket path echoes a valid option with its scope (0 for
/// a name that does not vary by location) and answers a malformed one with FORMERR, which the
/// program leaves to it (`ecs.rs` has the geo answers).
fn client_subnet(rng: &mut Rng, cases: &mut Vec<Case>) {
    for (what, option, valid) in [
        ("valid", &[0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2][..], true),
        // Replies carry NSID, COOKIE, then Client Subnet, whatever the query's order.
        (
            "after NSID and a client cookie",
            &[
                0, 3, 0, 0, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2,
            ],
            true,
        ),
        (
            "before a client cookie and NSID, IPv6 /56",
            &[
                0, 8, 0, 11, 0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 10, 0, 8, 1, 2, 3, 4,
                5, 6, 7, 8, 0, 3, 0, 0,
            ],
            true,
        ),
        ("empty", &[0, 8, 0, 0], false),
        ("of family 3", &[0, 8, 0, 4, 0, 3, 0, 0], false),
        (
            "of prefix 40 for IPv4",
            &[0, 8, 0, 9, 0, 1, 40, 0, 1, 2, 3, 4, 5],
            false,
        ),
    ] {
        let dns = Builder::new(0x0a0d, 0)
            .question("www.example.com", rtype::A)
            .opt(&[0], 1232, 0, 0, option)
            .build();
        for v6 in [false, true] {
            cases.push(Case {
                what: format!("EDNS Client Subnet option, {what} (v6={v6})"),
                frame: framed(v6, Vlan::None, &dns, rng),
                expect: if valid {
                    Expect::Answer(Layout::new(Vlan::None, v6))
                } else {
                    Expect::Pass(Counter::PassEdns)
                },
            });
        }
    }
}

/// Header flags and EDNS contents that the reply must treat exactly as the socket path does.
fn flags_and_edns(rng: &mut Rng, cases: &mut Vec<Case>) {
    let www = "www.example.com";
    let mut add = |what: &str, dns: Vec<u8>, rng: &mut Rng| {
        for v6 in [false, true] {
            cases.push(Case {
                what: format!("{what} (v6={v6})"),
                frame: framed(v6, Vlan::None, &dns, rng),
                expect: Expect::Answer(Layout::new(Vlan::None, v6)),
            });
        }
    };
    let base = |flags| Builder::new(0x0a0d, flags).question(www, rtype::A);
    add(
        "RD, AD and CD",
        base(flag::RD | flag::AD | flag::CD).build(),
        rng,
    );
    add("AD alone", base(flag::AD).build(), rng);
    add("CD alone", base(flag::CD).build(), rng);
    add("EDNS size 0", base(0).edns(0).build(), rng);
    add("EDNS size 511", base(0).edns(511).build(), rng);
    add("EDNS size 65535", base(0).edns(65535).build(), rng);
    add(
        "OPT flags other than DO",
        base(0).opt(&[0], 1232, 0, 0x7fff, &[]).build(),
        rng,
    );
    add(
        "OPT flags DO and the rest",
        base(0).opt(&[0], 1232, 0, 0xffff, &[]).build(),
        rng,
    );
    for (what, option) in [
        ("an unknown option", vec![0xfd, 0xe9, 0, 3, 1, 2, 3]),
        ("an empty option of code 0", vec![0, 0, 0, 0]),
        ("a client cookie", vec![0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]),
    ] {
        add(
            &format!("EDNS with {what}"),
            base(0).opt(&[0], 1232, 0, 0, &option).build(),
            rng,
        );
    }
}

/// The NSID option (the fixture's server has one), DO=1 for signed RRsets (passed), DO=0 and
/// unsigned types (answered), and the CHAOS class (passed).
fn options_and_signatures(rng: &mut Rng, cases: &mut Vec<Case>) {
    let www = "www.example.com";
    let nsid = [0, 3, 0, 0];
    let cookie_then_nsid = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 3, 0, 0];
    for v6 in [false, true] {
        // RFC 5001 §2.2: the reply carries the fixture's NSID, as the socket path's does, after
        // names of odd and even length (the option's checksum share depends on its offset).
        for (what, name, qtype, size, options, flags, vlan) in [
            (
                "an empty NSID option",
                www,
                rtype::A,
                1232,
                &nsid[..],
                0,
                Vlan::None,
            ),
            (
                "a cookie, then NSID",
                www,
                rtype::AAAA,
                1232,
                &cookie_then_nsid,
                0,
                Vlan::Dot1q,
            ),
            (
                "NSID with DO=1",
                www,
                rtype::A,
                512,
                &nsid,
                0x8000,
                Vlan::Dot1ad,
            ),
            (
                "NSID, even name length",
                "ab.t",
                rtype::A,
                1232,
                &nsid,
                0,
                Vlan::None,
            ),
        ] {
            let dns = Builder::new(0x0a5d, flag::RD)
                .question(name, qtype)
                .opt(&[0], size, 0, flags, options)
                .build();
            cases.push(Case {
                what: format!("{name} type {qtype} EDNS with {what} (v6={v6})"),
                frame: framed(v6, vlan, &dns, rng),
                expect: Expect::Answer(Layout::new(vlan, v6)),
            });
        }
        // 16 AAAA records and the NSID fit 1232 bytes, not 512.
        let big = fixture::big_name();
        for (size, expect) in [
            (1232, Expect::Answer(Layout::new(Vlan::None, v6))),
            (512, Expect::Pass(Counter::PassSize)),
        ] {
            let dns = Builder::new(0x0b16, 0)
                .question(&big, rtype::AAAA)
                .opt(&[0], size, 0, 0, &nsid)
                .build();
            cases.push(Case {
                what: format!("{big} AAAA, NSID, EDNS {size} (v6={v6})"),
                frame: framed(v6, Vlan::None, &dns, rng),
                expect,
            });
        }
        let signed = [
            (fixture::SIGNED, rtype::A, true),
            (fixture::SIGNED, rtype::AAAA, true),
            (fixture::HALF_SIGNED, rtype::A, true),
            (fixture::HALF_SIGNED, rtype::AAAA, false),
        ];
        for (name, qtype, covered) in signed {
            for edns in [Edns::None, Edns::Plain, Edns::DnssecOk, Edns::WithOptions] {
                let builder = Builder::new(rng.next() as u16, flag::RD).question(name, qtype);
                let dns = with_edns(builder, edns).build();
                // RFC 4035 §3.1.1: DO=1 needs the RRSIG, which only the socket path adds.
                let expect = if covered && matches!(edns, Edns::DnssecOk) {
                    Expect::Pass(Counter::PassSigned)
                } else {
                    Expect::Answer(Layout::new(Vlan::None, v6))
                };
                cases.push(Case {
                    what: format!("{name} type {qtype} {edns:?} (v6={v6})"),
                    frame: framed(v6, Vlan::None, &dns, rng),
                    expect,
                });
            }
        }
        // The server's identity lives in class CH, which only the socket path answers.
        for (name, qtype) in [
            ("id.server", rtype::TXT),
            ("hostname.bind", rtype::TXT),
            ("version.bind", rtype::TXT),
            (www, rtype::A),
        ] {
            let dns = Builder::new(0x0c4a, 0)
                .question_raw(&wire::name(name), qtype, 3)
                .opt(&[0], 1232, 0, 0, &nsid)
                .build();
            cases.push(Case {
                what: format!("CH {name} type {qtype} (v6={v6})"),
                frame: framed(v6, Vlan::None, &dns, rng),
                expect: Expect::Pass(Counter::PassType),
            });
        }
    }
}

/// Long names, up to the longest legal one, and the size limits.
fn long_names_and_sizes(rng: &mut Rng, cases: &mut Vec<Case>) {
    for name in fixture::long_names() {
        for style in 0..3 {
            let qname = recase(&name, style, rng);
            let dns = Builder::query(rng.next() as u16, &qname, rtype::A).build();
            cases.push(Case {
                what: format!(
                    "long name of {} bytes, style {style}",
                    wire::name(&name).len()
                ),
                frame: framed(style == 1, Vlan::None, &dns, rng),
                expect: Expect::Answer(Layout::new(Vlan::None, style == 1)),
            });
        }
        // The same name one letter different is a miss: NXDOMAIN right below the apex.
        let other = name.replacen(|c: char| c.is_ascii_lowercase(), "z", 1);
        let dns = Builder::query(1, &other, rtype::A).build();
        cases.push(Case {
            what: format!("near miss of {} bytes", wire::name(&name).len()),
            frame: framed(false, Vlan::None, &dns, rng),
            expect: negative::miss(&other, Layout::new(Vlan::None, false)),
        });
    }
    let big = fixture::big_name();
    for v6 in [false, true] {
        let plain = Builder::query(2, &big, rtype::AAAA).build();
        cases.push(Case {
            what: "16 AAAA records without EDNS: over 512 bytes".into(),
            frame: framed(v6, Vlan::Dot1q, &plain, rng),
            expect: Expect::Pass(Counter::PassSize),
        });
        for (size, expect) in [
            (512, Expect::Pass(Counter::PassSize)),
            (100, Expect::Pass(Counter::PassSize)), // below 512 counts as 512
            (1232, Expect::Answer(Layout::new(Vlan::Dot1q, v6))),
            (4096, Expect::Answer(Layout::new(Vlan::Dot1q, v6))),
        ] {
            let dns = Builder::query(3, &big, rtype::AAAA).edns(size).build();
            cases.push(Case {
                what: format!("16 AAAA records, EDNS size {size}"),
                frame: framed(v6, Vlan::Dot1q, &dns, rng),
                expect,
            });
        }
    }
    let dns = Builder::query(4, fixture::HUGE, rtype::A)
        .edns(4096)
        .build();
    cases.push(Case {
        what: "17 A records: not compiled, the socket path answers".into(),
        frame: framed(false, Vlan::None, &dns, rng),
        expect: Expect::Pass(Counter::PassMiss),
    });
    // Ethernet padding after the datagram is dropped from the reply.
    let dns = Builder::query(5, "www.example.com", rtype::A).build();
    let mut padded = framed(false, Vlan::None, &dns, rng);
    padded.extend_from_slice(&[0; 6]);
    cases.push(Case {
        what: "frame with Ethernet padding".into(),
        frame: padded,
        expect: Expect::Answer(Layout::new(Vlan::None, false)),
    });
}

/// A and AAAA queries for names of every length from 3 to 40 bytes, with and without EDNS (the
/// question then ends the frame), over IPv4 and IPv6, in random letter case.
fn name_lengths(rng: &mut Rng, cases: &mut Vec<Case>) {
    for name in fixture::length_names() {
        for qtype in [rtype::A, rtype::AAAA] {
            for v6 in [false, true] {
                for edns in [Edns::None, Edns::Plain] {
                    let qname = recase(&name, 2, rng);
                    let builder = Builder::query(rng.next() as u16, &qname, qtype);
                    let dns = with_edns(builder, edns).build();
                    cases.push(Case {
                        what: format!(
                            "{qname} ({} bytes) type {qtype} v6={v6} {edns:?}",
                            wire::name(&name).len()
                        ),
                        frame: framed(v6, Vlan::None, &dns, rng),
                        expect: Expect::Answer(Layout::new(Vlan::None, v6)),
                    });
                }
            }
        }
    }
}

/// Well-formed queries for hot names that go to the socket path for a reason.
fn pass_reasons(rng: &mut Rng, cases: &mut Vec<Case>) {
    let www = "www.example.com";
    for name in [
        "example.com",
        "nope.example.com",
        "www.example.org",
        "x.apps.example.com",
        "www",
        ".",
    ] {
        let dns = Builder::query(1, name, rtype::A).build();
        for (v6, vlan) in [(false, Vlan::None), (true, Vlan::Dot1ad)] {
            cases.push(Case {
                what: format!("miss {name} (v6={v6})"),
                frame: framed(v6, vlan, &dns, rng),
                expect: negative::miss(name, Layout::new(vlan, v6)),
            });
        }
    }
    let mut add = |what: &str, dns: Vec<u8>, reason: Counter, rng: &mut Rng| {
        for (v6, vlan) in [(false, Vlan::None), (true, Vlan::Dot1ad)] {
            cases.push(Case {
                what: format!("{what} (v6={v6})"),
                frame: framed(v6, vlan, &dns, rng),
                expect: Expect::Pass(reason),
            });
        }
    };
    for qtype in [
        rtype::MX,
        rtype::TXT,
        rtype::ANY,
        rtype::CNAME,
        rtype::SOA,
        rtype::NS,
    ] {
        add(
            &format!("type {qtype}"),
            Builder::query(1, www, qtype).build(),
            Counter::PassType,
            rng,
        );
    }
    let chaos = Builder::new(1, 0)
        .question_raw(&wire::name(www), rtype::A, 3)
        .build();
    add("class CH", chaos, Counter::PassType, rng);
    let edns1 = Builder::query(1, www, rtype::A)
        .opt(&[0], 1232, 1, 0, &[])
        .build();
    add("EDNS version 1", edns1, Counter::PassEdns, rng);
    let ext_rcode = Builder::query(1, www, rtype::A)
        .record(3, &[0], rtype::OPT, 1232, 0x0100_0000, &[])
        .build();
    add(
        "OPT with an extended RCODE",
        ext_rcode,
        Counter::PassEdns,
        rng,
    );
    let many_options: Vec<u8> = (0..9).flat_map(|i| [0, 65 + i, 0, 0]).collect();
    let many = Builder::query(1, www, rtype::A)
        .opt(&[0], 1232, 0, 0, &many_options)
        .build();
    add("nine EDNS options", many, Counter::PassEdns, rng);
    let base = || Builder::query(1, www, rtype::A);
    add(
        "QR=1",
        base().set_flags(flag::QR).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "a response with an answer",
        base()
            .set_flags(flag::QR | flag::AA)
            .record(1, &[0xc0, 12], rtype::A, 1, 60, &[1, 2, 3, 4])
            .build(),
        Counter::PassOther,
        rng,
    );
    add(
        "opcode NOTIFY",
        base().opcode(4).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "opcode UPDATE",
        base().opcode(5).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "TC=1",
        base().set_flags(flag::TC).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "AA=1",
        base().set_flags(flag::AA).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "RA=1",
        base().set_flags(flag::RA).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "Z=1",
        base().set_flags(0x0040).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "RCODE 3 in a query",
        base().set_flags(3).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "QDCOUNT 2",
        base().question(www, rtype::A).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "QDCOUNT 0",
        Builder::new(1, 0).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "ANCOUNT 1",
        base()
            .record(1, &[0], rtype::A, 1, 60, &[1, 2, 3, 4])
            .build(),
        Counter::PassOther,
        rng,
    );
    add(
        "NSCOUNT 1",
        base().record(2, &[0], rtype::NS, 1, 60, &[0]).build(),
        Counter::PassOther,
        rng,
    );
    add(
        "ARCOUNT 2",
        base().edns(1232).edns(1232).build(),
        Counter::PassOther,
        rng,
    );
    let tsig_like = base()
        .record(3, &wire::name("key.example"), 250, 255, 0, &[0; 8])
        .build();
    add(
        "a TSIG record instead of OPT",
        tsig_like,
        Counter::PassOther,
        rng,
    );
    // Really signed queries (RFC 8945), alone and after an OPT: the program cannot sign a
    // reply, so the socket path must get them.
    let key = lbdns::tsig::Key::new(
        "xfr-key.".parse().unwrap(),
        lbdns::tsig::Algorithm::HmacSha256,
        b"secret".to_vec(),
    );
    for (what, mut signed) in [
        ("a TSIG-signed query", base().build()),
        ("a TSIG-signed query with OPT", base().edns(1232).build()),
    ] {
        lbdns::tsig::sign_request(&mut signed, &key, 1_700_000_000);
        add(what, signed, Counter::PassOther, rng);
    }
    let opt_not_root = base().opt(&wire::name("x"), 1232, 0, 0, &[]).build();
    add(
        "OPT owned by a non-root name",
        opt_not_root,
        Counter::PassOther,
        rng,
    );

    // Malformed DNS messages.
    let mut add_raw = |what: &str, dns: Vec<u8>, reason: Counter, rng: &mut Rng| {
        cases.push(Case {
            what: what.into(),
            frame: framed(false, Vlan::Dot1q, &dns, rng),
            expect: Expect::Pass(reason),
        });
    };
    let label64 = wire::raw_labels(&[&[b'a'; 64], b"example", b"com"]);
    add_raw(
        "label of 64 bytes",
        Builder::new(1, 0).question_raw(&label64, 1, 1).build(),
        Counter::PassMalformed,
        rng,
    );
    let pointer = [3, b'w', b'w', b'w', 0xc0, 12];
    add_raw(
        "compression pointer in the question",
        Builder::new(1, 0).question_raw(&pointer, 1, 1).build(),
        Counter::PassMalformed,
        rng,
    );
    let long: Vec<&[u8]> = vec![&[b'a'; 63]; 4];
    let too_long = wire::raw_labels(&long); // 4 * 64 + 1 = 257 bytes
    add_raw(
        "name of 257 bytes",
        Builder::new(1, 0).question_raw(&too_long, 1, 1).build(),
        Counter::PassMalformed,
        rng,
    );
    add_raw(
        "bytes after the question",
        base().raw(&[0, 0]).build(),
        Counter::PassMalformed,
        rng,
    );
    add_raw(
        "bytes after the OPT record",
        base().edns(1232).raw(&[0]).build(),
        Counter::PassMalformed,
        rng,
    );
    let short_option = base().opt(&[0], 1232, 0, 0, &[0, 10, 0, 8, 1, 2]).build();
    add_raw(
        "EDNS option longer than its OPT record",
        short_option,
        Counter::PassMalformed,
        rng,
    );
    let mut no_root = Builder::query(1, www, rtype::A).build();
    no_root.truncate(12 + 16); // the name without its root label
    add_raw(
        "question cut inside the name",
        no_root,
        Counter::PassMalformed,
        rng,
    );
    let mut no_type = Builder::query(1, www, rtype::A).build();
    no_type.truncate(no_type.len() - 2);
    add_raw(
        "question without QCLASS",
        no_type,
        Counter::PassMalformed,
        rng,
    );
    add_raw(
        "header only, QDCOUNT 1",
        base().counts(1, 0, 0, 0).build()[..12].to_vec(),
        Counter::PassMalformed,
        rng,
    );
    add_raw("eleven bytes", vec![0; 11], Counter::PassMalformed, rng);
}

/// Frames that are not DNS over UDP to port 53, or not in a form the fast path parses.
fn not_dns(rng: &mut Rng, cases: &mut Vec<Case>) {
    let dns = Builder::query(1, "www.example.com", rtype::A).build();
    let base = |v6: bool, vlan: Vlan, rng: &mut Rng| framed(v6, vlan, &dns, rng);
    let mut add = |what: &str, frame: Vec<u8>, reason: Counter| {
        cases.push(Case {
            what: what.into(),
            frame,
            expect: Expect::Pass(reason),
        });
    };
    for v6 in [false, true] {
        let layout = Layout::new(Vlan::None, v6);
        let mut other_port = base(v6, Vlan::None, rng);
        other_port[layout.l4 + 2..layout.l4 + 4].copy_from_slice(&5353u16.to_be_bytes());
        add("UDP to port 5353", other_port, Counter::PassNotDns);
        let mut tcp = base(v6, Vlan::None, rng);
        tcp[layout.l3 + if v6 { 6 } else { 9 }] = 6;
        add("TCP", tcp, Counter::PassNotDns);
        let mut from_port_0 = base(v6, Vlan::None, rng);
        from_port_0[layout.l4..layout.l4 + 2].fill(0);
        add("from port 0", from_port_0, Counter::PassOther);
        let mut udp_len = base(v6, Vlan::None, rng);
        udp_len[layout.l4 + 5] -= 1;
        add(
            "UDP length shorter than the IP payload",
            udp_len,
            Counter::PassMalformed,
        );
        let mut ip_len = base(v6, Vlan::None, rng);
        let len_at = layout.l3 + if v6 { 5 } else { 3 };
        ip_len[len_at] += 1;
        add("IP length beyond the frame", ip_len, Counter::PassMalformed);
    }
    let mut options = base(false, Vlan::None, rng);
    options[14] = 0x46;
    add("IPv4 header with options", options, Counter::PassNotDns);
    let mut more_fragments = base(false, Vlan::None, rng);
    more_fragments[20] = 0x20;
    add("IPv4 first fragment", more_fragments, Counter::PassNotDns);
    let mut fragment = base(false, Vlan::None, rng);
    fragment[21] = 0x10;
    add("IPv4 later fragment", fragment, Counter::PassNotDns);
    let mut hop_by_hop = base(true, Vlan::None, rng);
    hop_by_hop[14 + 6] = 0;
    add(
        "IPv6 with a hop-by-hop header",
        hop_by_hop,
        Counter::PassNotDns,
    );
    let mut version = base(false, Vlan::None, rng);
    version[14] = 0x65;
    add("IPv4 EtherType, version 6", version, Counter::PassNotDns);
    let mut arp = base(false, Vlan::None, rng);
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    add("ARP EtherType", arp, Counter::PassNotDns);
    let mut three_tags = base(false, Vlan::Dot1ad, rng);
    three_tags.splice(20..20, [0x81, 0x00, 0x00, 0x07]);
    add("three VLAN tags", three_tags, Counter::PassNotDns);
}

/// Every valid query cut short at each length, and random bytes.
fn truncated_and_garbage(rng: &mut Rng, cases: &mut Vec<Case>) {
    for (v6, vlan) in [(false, Vlan::None), (true, Vlan::Dot1q)] {
        let dns = Builder::query(1, "www.example.com", rtype::A)
            .edns(1232)
            .build();
        let frame = framed(v6, vlan, &dns, rng);
        // BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header.
        for len in ETH_HLEN..frame.len() {
            cases.push(Case {
                what: format!("query cut to {len} of {} bytes (v6={v6})", frame.len()),
                frame: frame[..len].to_vec(),
                expect: Expect::PassAny,
            });
        }
    }
    for i in 0..60 {
        let len = ETH_HLEN + rng.below(300) as usize;
        let mut frame: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 && len > 60 {
            // Valid headers, random DNS message.
            let header = framed(i % 4 == 0, Vlan::None, &frame[..len - 50], rng);
            frame = header;
        }
        cases.push(Case {
            what: format!("random frame {i} of {len} bytes"),
            frame,
            expect: Expect::PassAny,
        });
    }
}

/// The whole corpus.
pub fn corpus() -> Vec<Case> {
    let mut rng = Rng::new(0x6c62_646e_735f_7864);
    let mut cases = Vec::new();
    answer_matrix(&mut rng, &mut cases);
    flags_and_edns(&mut rng, &mut cases);
    client_subnet(&mut rng, &mut cases);
    options_and_signatures(&mut rng, &mut cases);
    super::cookies::cases(&mut rng, &mut cases);
    signatures::secure_answers(&mut rng, &mut cases);
    long_names_and_sizes(&mut rng, &mut cases);
    name_lengths(&mut rng, &mut cases);
    pass_reasons(&mut rng, &mut cases);
    negative::cases(&mut rng, &mut cases);
    fixed::cases(&mut rng, &mut cases);
    not_dns(&mut rng, &mut cases);
    truncated_and_garbage(&mut rng, &mut cases);
    cases
}
