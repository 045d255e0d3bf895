//! The hot RRsets the tests load: zones/example.com.zone's address RRsets for www, api, ns1, ns2
//! and mail, plus names that exercise each key-size tier and the size limits.

use std::net::IpAddr;

use lbdns::compile::{AddrType, HotRrset};
use lbdns_tests::wire;

/// A name of about `len` wire bytes under example.com, in labels of at most 60 bytes.
pub fn long_name(prefix: char, len: usize) -> String {
    let mut name = String::new();
    let mut wire_len = 13; // "example.com." in wire format
    while wire_len + 2 <= len {
        let label = (len - wire_len - 1).min(60);
        name.push_str(&prefix.to_string().repeat(label));
        name.push('.');
        wire_len += label + 1;
    }
    name + "example.com"
}

/// The tier names: key sizes just above 32, 64 and 128 bytes, and the longest legal name.
pub fn tier_names() -> Vec<String> {
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

/// A name with more addresses than one answer set holds: the socket path answers it.
pub const HUGE: &str = "huge.example.com";

fn rrset(name: &str, qtype: AddrType, ttl: u32, addrs: &[&str]) -> HotRrset {
    HotRrset {
        name: wire::name(&name.to_ascii_lowercase()),
        qtype,
        ttl,
        addrs: addrs.iter().map(|a| a.parse::<IpAddr>().unwrap()).collect(),
    }
}

/// Every hot RRset, as `Catalog::hot_rrsets` would produce them.
pub fn hot_rrsets() -> Vec<HotRrset> {
    use AddrType::{Aaaa, A};
    let mut rrsets = vec![
        rrset(
            "www.example.com",
            A,
            60,
            &["198.18.1.1", "198.18.1.2", "198.18.1.3", "198.18.1.4"],
        ),
        rrset(
            "www.example.com",
            Aaaa,
            60,
            &[
                "2001:db8:1::1",
                "2001:db8:1::2",
                "2001:db8:1::3",
                "2001:db8:1::4",
            ],
        ),
        rrset(
            "api.example.com",
            A,
            30,
            &["198.18.2.1", "198.18.2.2", "198.18.2.3"],
        ),
        rrset("ns1.example.com", A, 300, &["198.18.0.53"]),
        rrset("ns2.example.com", A, 300, &["198.18.0.54"]),
        rrset("ns2.example.com", Aaaa, 300, &["2001:db8::54"]),
        rrset("mail.example.com", A, 300, &["198.18.3.25"]),
    ];
    for (i, name) in tier_names().iter().enumerate() {
        rrsets.push(rrset(name, A, 120, &[&format!("198.18.6.{i}")]));
    }
    let big: Vec<String> = (1..=16).map(|i| format!("2001:db8:b16::{i:x}")).collect();
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    rrsets.push(rrset(&big_name(), Aaaa, 10, &big));
    let huge: Vec<String> = (1..=17).map(|i| format!("198.18.7.{i}")).collect();
    let huge: Vec<&str> = huge.iter().map(String::as_str).collect();
    rrsets.push(rrset(HUGE, A, 10, &huge));
    rrsets
}
