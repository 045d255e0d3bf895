//! What a reply answered: the addresses of a pool answer as a set, or NODATA, checked to be
//! an authoritative answer from the pool (owner, type, TTL) rather than anything else.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use anyhow::{ensure, Context, Result};
use lbdns_tests::wire::{rcode, rtype, Message};

use crate::{APEX, POOL_TTL};

/// One endpoint address, from a literal.
pub fn ip(text: &str) -> IpAddr {
    text.parse()
        .unwrap_or_else(|_| panic!("{text:?} is an address"))
}

/// `ip:port`.
pub fn at(text: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip(text), port)
}

/// What one reply answered, with order and duplicates set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Addrs(BTreeSet<IpAddr>),
    /// NOERROR, no answer, the zone's SOA in the authority section.
    Nodata,
}

/// An `Answer::Addrs` of literals.
pub fn addrs(list: &[&str]) -> Answer {
    Answer::Addrs(list.iter().map(|a| ip(a)).collect())
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Addrs(set) => write!(f, "{set:?}"),
            Answer::Nodata => f.write_str("NODATA"),
        }
    }
}

/// Checks that `reply` is an authoritative pool answer for `name`/`qtype` (every record of
/// that type, owner and TTL, no address twice) or a NODATA with the SOA, and says which.
pub fn read_answer(reply: &Message, name: &str, qtype: u16) -> Result<Answer> {
    ensure!(
        reply.rcode() == u16::from(rcode::NOERROR) && reply.header.aa(),
        "expected NOERROR with AA\n{reply}"
    );
    if reply.answers.is_empty() {
        ensure!(
            reply
                .authority
                .iter()
                .any(|r| r.rtype == rtype::SOA && r.name.eq_ignore_ascii_case(APEX)),
            "an empty answer without the zone's SOA is not a NODATA\n{reply}"
        );
        return Ok(Answer::Nodata);
    }
    let owner = format!("{}.", name.trim_end_matches('.'));
    let mut set = BTreeSet::new();
    for record in &reply.answers {
        ensure!(
            record.rtype == qtype
                && record.name.eq_ignore_ascii_case(&owner)
                && record.ttl == POOL_TTL,
            "expected only {owner} type {qtype} TTL {POOL_TTL} records\n{reply}"
        );
        let address = record.ip().context("an address record")?;
        ensure!(set.insert(address), "{address} answered twice\n{reply}");
    }
    Ok(Answer::Addrs(set))
}
