//! What the tests serve: zones/example.com.zone, a generated zone example.net with long names
//! (name records of many words), the size limits and name lengths, a generated zone t with
//! names shorter than 8 bytes, a signed zone signed.test (RRSIGs in RFC 3597 form) that the
//! socket path does not treat as secure (no signed DNSKEY), and a secure zone secure.test whose
//! DO=1 answers carry RRSIGs. The server has an NSID ([`NSID`]). The hot RRsets come from the catalog
//! through `compile::hot_rrsets`, as in the daemon, so the socket path's answers are the
//! reference for the program's.

use std::{fmt::Write as _, path::Path, sync::Arc};

use lbdns::{
    authority::{Catalog, ServerIdentity},
    compile::{self, HotRrset},
    cookies::{Cookies, FixedClock},
    zone::Zone,
};

/// The example zone of the repository, as named in errors.
const EXAMPLE_ZONE: &str = "zones/example.com.zone";
/// Its text, found from this file: that holds in each crate that compiles it (this suite, and
/// the fuzz checks in tests/fuzz).
const EXAMPLE_TEXT: &str = include_str!("../../../zones/example.com.zone");
/// The apex of the generated zone.
const TEST_APEX: &str = "example.net";

/// A name of about `len` wire bytes under example.net, in labels of at most 60 bytes.
pub fn long_name(prefix: char, len: usize) -> String {
    let mut name = String::new();
    let mut wire_len = TEST_APEX.len() + 2; // wire format: one length byte per label, the root
    while wire_len + 2 <= len {
        let label = (len - wire_len - 1).min(60);
        name.push_str(&prefix.to_string().repeat(label));
        name.push('.');
        wire_len += label + 1;
    }
    name + TEST_APEX
}

/// Long names: 33, 70 and 140 bytes (name records of 6, 10 and 19 words), and the longest
/// legal name.
pub fn long_names() -> Vec<String> {
    vec![
        long_name('t', 33),
        long_name('u', 70),
        long_name('v', 140),
        long_name('w', 255),
    ]
}

/// A name whose 16 AAAA records make a reply larger than 512 bytes.
pub fn big_name() -> String {
    long_name('b', 120)
}

/// Names of every wire length from 15 to 40 bytes under example.net, and of 3 to 9 bytes in a
/// zone of their own: the program reads a name in 8-byte words, and the last 1 to 7 bytes of
/// each length, at the very end of a frame without EDNS too, are a case of their own.
pub fn length_names() -> Vec<String> {
    let mut names = vec![SHORT_APEX.to_owned()];
    names.extend((1..=6).map(|len| format!("{}.{SHORT_APEX}", &"abcdef"[..len])));
    names.extend((15..=40).map(|len| long_name('l', len)));
    names
}

/// The apex of a zone whose names are shorter than one 8-byte word: "t." is 3 bytes of wire
/// format.
const SHORT_APEX: &str = "t";

/// The short names' zone.
fn short_zone() -> String {
    let mut text = format!(
        "$ORIGIN {SHORT_APEX}.\n\
         @ 300 SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60\n\
         @ 300 NS ns1.example.com.\n"
    );
    for (i, name) in length_names().iter().take(7).enumerate() {
        writeln!(text, "{name}. 30 A 198.18.8.{i}").unwrap();
        writeln!(text, "{name}. 30 AAAA 2001:db8:8::{i:x}").unwrap();
    }
    text
}

/// A name with more addresses than one answer set holds: the socket path answers it.
pub const HUGE: &str = "huge.example.net";

/// A name whose TXT reply (527 octets without EDNS) is longer than a query without EDNS may
/// get, and short enough for a fixed reply.
pub const BIG_TXT: &str = "txt.example.net";

/// The generated zone's master file.
fn test_zone() -> String {
    let mut text = format!(
        "$ORIGIN {TEST_APEX}.\n\
         @ 300 SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60\n\
         @ 300 NS ns1.example.com.\n\
         {BIG_TXT}. 300 TXT \"{}\" \"{}\"\n",
        "a".repeat(250),
        "b".repeat(230)
    );
    for (i, name) in long_names().iter().enumerate() {
        writeln!(text, "{name}. 120 A 198.18.6.{i}").unwrap();
    }
    for i in 1..=16 {
        writeln!(text, "{}. 10 AAAA 2001:db8:b16::{i:x}", big_name()).unwrap();
    }
    for i in 1..=17 {
        writeln!(text, "{HUGE}. 10 A 198.18.7.{i}").unwrap();
    }
    // Between one and three records each, so the replies' lengths vary too.
    for (i, name) in length_names().iter().enumerate().skip(7) {
        for j in 0..=i % 3 {
            writeln!(text, "{name}. 40 A 198.18.9.{}", 3 * i + j).unwrap();
        }
        writeln!(text, "{name}. 40 AAAA 2001:db8:9::{i:x}").unwrap();
    }
    text
}

/// The signed zone's apex.
const SIGNED_APEX: &str = "signed.test";
/// A and AAAA, both covered by RRSIGs.
pub const SIGNED: &str = "www.signed.test";
/// A covered by an RRSIG, AAAA not: coverage is per type.
pub const HALF_SIGNED: &str = "half.signed.test";

/// An RRSIG covering `covered` in RFC 3597 form (the zone reader's only form for it so far):
/// algorithm 13, 3 labels, original TTL 60, fixed validity and key tag, signer signed.test.,
/// a 32-byte signature. Its content matters only for its first two octets.
fn rrsig(covered: u16) -> String {
    let mut rdata = covered.to_be_bytes().to_vec();
    rdata.extend_from_slice(&[
        13, 3, 0, 0, 0, 60, 0x70, 0xdb, 0xd8, 0x80, 0x5e, 0x0b, 0xe1, 0x00,
    ]);
    rdata.extend_from_slice(&[0x12, 0x34]);
    rdata.extend_from_slice(b"\x06signed\x04test\x00");
    rdata.extend(0..32u8);
    let hex: String = rdata.iter().map(|b| format!("{b:02x}")).collect();
    format!("TYPE46 \\# {} {hex}", rdata.len())
}

/// The signed zone: www's A and AAAA and half's A are covered by RRSIGs.
fn signed_zone() -> String {
    format!(
        "$ORIGIN {SIGNED_APEX}.\n\
         @ 300 SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60\n\
         @ 300 NS ns1.example.com.\n\
         www 60 A 198.18.10.1\n\
         www 60 A 198.18.10.2\n\
         www 60 AAAA 2001:db8:10::1\n\
         www 60 {}\n\
         www 60 {}\n\
         half 60 A 198.18.10.3\n\
         half 60 AAAA 2001:db8:10::3\n\
         half 60 {}\n",
        rrsig(1),
        rrsig(28),
        rrsig(1)
    )
}

/// The secure zone's apex: signed as NSD judges it (an RRSIG over the apex DNSKEY), so the
/// socket path sends RRSIGs with DO=1 answers, and the fast path copies them from its maps.
const SECURE_APEX: &str = "secure.test";
/// One A and one AAAA address, each covered by one ECDSA-sized RRSIG (RDATA of 95 octets: an
/// odd length, so the OPT record after it starts on an odd offset).
pub const SECURE_ONE: &str = "one.secure.test";
/// Three A and four AAAA addresses, each covered by two RRSIGs of a key rollover: ECDSA and
/// RSA-2048 sized (95 and 287 octets of RDATA).
pub const SECURE_MANY: &str = "many.secure.test";
/// Two A addresses covered by two ECDSA-sized RRSIGs; an even name length.
pub const SECURE_TWO: &str = "two2.secure.test";
/// Sixteen AAAA addresses covered by two RSA-2048-sized RRSIGs under a 166-octet name: with
/// DO=1 the reply takes 1239 octets, more than the socket path ever sends over UDP (1232),
/// whatever size the requester advertises.
pub fn secure_wide() -> String {
    format!(
        "{}.{}.{}.{SECURE_APEX}",
        "x".repeat(50),
        "y".repeat(50),
        "z".repeat(50)
    )
}

/// An A address covered by two RSA-4096-sized RRSIGs (543 octets of RDATA each): more than the
/// signature store holds, so DO=1 queries are passed.
pub const SECURE_BIG: &str = "big.secure.test";

/// The RDATA of an RRSIG by the secure zone's key covering `covered`, with a `len`-octet
/// signature whose octets count up from `first`: algorithm 13, 3 labels, original TTL 60, fixed
/// validity and key tag, signer secure.test. (18 + 13 octets before the signature).
pub fn secure_rrsig_rdata(covered: u16, len: usize, first: u8) -> Vec<u8> {
    let mut rdata = covered.to_be_bytes().to_vec();
    rdata.extend_from_slice(&[
        13, 3, 0, 0, 0, 60, 0x70, 0xdb, 0xd8, 0x80, 0x5e, 0x0b, 0xe1, 0x00,
    ]);
    rdata.extend_from_slice(&[0x56, 0x78]);
    rdata.extend_from_slice(b"\x06secure\x04test\x00");
    rdata.extend((0..len).map(|i| first.wrapping_add(i as u8)));
    rdata
}

/// [`secure_rrsig_rdata`] as an RRSIG in RFC 3597 form.
fn secure_rrsig(covered: u16, len: usize, first: u8) -> String {
    let rdata = secure_rrsig_rdata(covered, len, first);
    let hex: String = rdata.iter().map(|b| format!("{b:02x}")).collect();
    format!("TYPE46 \\# {} {hex}", rdata.len())
}

/// The secure zone: a DNSKEY at the apex with its RRSIG, and the signed hot names above.
fn secure_zone() -> String {
    let mut text = format!(
        "$ORIGIN {SECURE_APEX}.\n\
         @ 300 SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60\n\
         @ 300 NS ns1.example.com.\n\
         @ 300 TYPE48 \\# 36 0101030d{}\n\
         @ 300 {}\n",
        "ab".repeat(32),
        secure_rrsig(48, 64, 0x40)
    );
    let mut add = |line: String| {
        text.push_str(&line);
        text.push('\n');
    };
    add("one 60 A 198.18.11.1".into());
    add("one 60 AAAA 2001:db8:11::1".into());
    add(format!("one 120 {}", secure_rrsig(1, 64, 1)));
    add(format!("one 120 {}", secure_rrsig(28, 64, 2)));
    for i in 1..=3 {
        add(format!("many 60 A 198.18.11.{}", 10 + i));
    }
    for i in 1..=4 {
        add(format!("many 60 AAAA 2001:db8:11::{:x}", 0x10 + i));
    }
    for (covered, first) in [(1, 3), (28, 4)] {
        add(format!("many 90 {}", secure_rrsig(covered, 64, first)));
        add(format!(
            "many 90 {}",
            secure_rrsig(covered, 256, first + 100)
        ));
    }
    add("two2 60 A 198.18.11.21".into());
    add("two2 60 A 198.18.11.22".into());
    add(format!("two2 60 {}", secure_rrsig(1, 64, 5)));
    add(format!("two2 60 {}", secure_rrsig(1, 64, 6)));
    let wide = secure_wide();
    for i in 0..16 {
        add(format!("{wide}. 60 AAAA 2001:db8:11::1:{i:x}"));
    }
    add(format!("{wide}. 60 {}", secure_rrsig(28, 256, 9)));
    add(format!("{wide}. 60 {}", secure_rrsig(28, 256, 10)));
    add("big 60 A 198.18.11.31".into());
    add(format!("big 60 {}", secure_rrsig(1, 512, 7)));
    add(format!("big 60 {}", secure_rrsig(1, 512, 8)));
    text
}

/// The NSID the fixture's server is configured with.
pub const NSID: &[u8] = b"xdp-test";

/// The DNS Cookies secret of the fixture's server (RFC 9018 Appendix A's).
pub const COOKIE_SECRET: [u8; 16] = [
    0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf,
];
/// The secret it is rolling away from, whose cookies it still accepts.
pub const COOKIE_PREVIOUS: [u8; 16] = [
    0xdd, 0x3b, 0xdf, 0x93, 0x44, 0xb6, 0x78, 0xb1, 0x85, 0xa6, 0xf5, 0xcb, 0x60, 0xfc, 0xa7, 0x15,
];
/// The time both paths stamp cookies with: the socket path's clock, and the program's
/// `WALL_CLOCK` (RFC 9018 Appendix A.1's moment).
pub const COOKIE_NOW: u32 = 1_559_731_985;

/// The fixture server's cookies: [`COOKIE_SECRET`], [`COOKIE_PREVIOUS`], at [`COOKIE_NOW`].
pub fn cookies() -> Cookies {
    Cookies::new(COOKIE_SECRET, Some(COOKIE_PREVIOUS)).with_clock(Arc::new(FixedClock(COOKIE_NOW)))
}

/// The zones, as the socket path serves them, with [`NSID`] and [`cookies`] configured.
pub fn catalog() -> Catalog {
    let example = Zone::parse(EXAMPLE_TEXT, Path::new(EXAMPLE_ZONE), None)
        .unwrap_or_else(|error| panic!("{EXAMPLE_ZONE}: {error}"));
    let test = Zone::parse(&test_zone(), Path::new("example.net (generated)"), None)
        .unwrap_or_else(|error| panic!("{error}"));
    let short = Zone::parse(&short_zone(), Path::new("t (generated)"), None)
        .unwrap_or_else(|error| panic!("{error}"));
    let signed = Zone::parse(&signed_zone(), Path::new("signed.test (generated)"), None)
        .unwrap_or_else(|error| panic!("{error}"));
    let secure = Zone::parse(&secure_zone(), Path::new("secure.test (generated)"), None)
        .unwrap_or_else(|error| panic!("{error}"));
    let identity = ServerIdentity::default()
        .with_nsid(NSID.to_vec())
        .expect("a short NSID");
    Catalog::new(&[example, test, short, signed, secure])
        .expect("five apexes")
        .with_identity(identity)
        .with_cookies(cookies())
}

/// The RRsets the program is given: the catalog's hot RRsets.
pub fn hot_rrsets() -> Vec<HotRrset> {
    compile::hot_rrsets(&catalog())
}
