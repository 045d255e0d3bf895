//! TSIG (RFC 8945): transaction signatures over raw message octets.
//!
//! The server builds its replies with its own encoder (`authority::wire`), so TSIG works on the
//! finished octets: a signature is appended to a message as its last additional record, and a
//! received one is found, checked and stripped there. Both roles are here:
//!
//! - the client side (transfers in, NOTIFY out): [`sign_request`], then a
//!   [`ResponseVerifier`] over the one or many response messages (§5.3.1);
//! - the server side (ordinary queries, transfers out, NOTIFY in): [`verify_request`], a
//!   [`ResponseSigner`] for the reply or the reply stream, and [`error_reply`] for the
//!   NOTAUTH answers of §5.2.
//!
//! Keys come from `[[key]]` tables of the configuration (`config.rs` in this module) and live
//! in a [`KeyRing`].

mod config;
mod sign;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use hickory_proto::rr::Name;
use ring::hmac;

pub use config::KeyEntry;
pub use sign::{
    error_reply, now, sign_request, verify_request, RequestMac, ResponseSigner, ResponseVerifier,
    SignedRequest,
};

/// Whether `message` carries a TSIG record (as its last record): a cheap test, without
/// allocating, for the queries that need [`verify_request`].
pub fn is_signed(message: &[u8]) -> bool {
    wire::ends_with_tsig(message)
}

/// The time window we sign with and accept (RFC 8945 §10 recommends 300 seconds).
pub const FUDGE: u16 = 300;

/// §5.3.1: a client accepts at most 99 unsigned messages between two signed ones.
pub const MAX_UNSIGNED_RUN: usize = 99;

/// The TSIG error codes of RFC 8945 §3 that lbdns sends or understands.
pub mod rcode {
    pub const BADSIG: u16 = 16;
    pub const BADKEY: u16 = 17;
    pub const BADTIME: u16 = 18;
    pub const BADTRUNC: u16 = 22;
}

/// The HMAC algorithms of RFC 8945 §6: SHA-1 and SHA-256 are mandatory to implement; SHA-384
/// and SHA-512 are offered too. HMAC-MD5 is not: a request with it gets BADKEY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [
        Algorithm::HmacSha1,
        Algorithm::HmacSha256,
        Algorithm::HmacSha384,
        Algorithm::HmacSha512,
    ];

    /// The algorithm's name as written in configuration files (BIND's, NSD's and Knot's
    /// spelling) and, with a trailing dot, on the wire.
    pub fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "hmac-sha1",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha384 => "hmac-sha384",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// The algorithm a wire name or configuration word (with or without the trailing dot,
    /// any case) names.
    pub fn from_name(text: &str) -> Option<Self> {
        let text = text.strip_suffix('.').unwrap_or(text);
        Self::ALL
            .into_iter()
            .find(|a| a.mnemonic().eq_ignore_ascii_case(text))
    }

    /// The full length of the MAC in octets.
    pub fn mac_len(self) -> usize {
        self.ring().digest_algorithm().output_len()
    }

    fn ring(self) -> hmac::Algorithm {
        match self {
            Algorithm::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::HmacSha256 => hmac::HMAC_SHA256,
            Algorithm::HmacSha384 => hmac::HMAC_SHA384,
            Algorithm::HmacSha512 => hmac::HMAC_SHA512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

/// A shared secret with its name and algorithm. The secret never leaves this module: `Debug`
/// leaves it out, so a logged key gives nothing away.
#[derive(Clone)]
pub struct Key {
    pub name: Name,
    pub algorithm: Algorithm,
    secret: Vec<u8>,
}

impl Key {
    pub fn new(name: Name, algorithm: Algorithm, secret: Vec<u8>) -> Self {
        Self {
            name,
            algorithm,
            secret,
        }
    }

    fn hmac(&self) -> hmac::Key {
        hmac::Key::new(self.algorithm.ring(), &self.secret)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The configured keys, found by name (case-insensitively, as names compare).
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: HashMap<Name, Arc<Key>>,
}

impl KeyRing {
    /// Adds `key`; returns the key it replaces, if one had the same name.
    pub fn insert(&mut self, key: Key) -> Option<Arc<Key>> {
        let mut name = key.name.to_lowercase();
        name.set_fqdn(true);
        self.keys.insert(name, Arc::new(key))
    }

    pub fn get(&self, name: &Name) -> Option<&Arc<Key>> {
        let mut name = name.to_lowercase();
        name.set_fqdn(true);
        self.keys.get(&name)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Why a message's TSIG was not accepted, or why there was none where one was needed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TsigError {
    /// The TSIG record cannot be read, or is not where §5.1 puts it: FORMERR.
    #[error("malformed TSIG record: {0}")]
    Malformed(&'static str),
    /// A TSIG was required and the message has none (or, in a stream, the first or last
    /// message has none).
    #[error("the message is not signed")]
    Unsigned,
    /// §5.2.1: the key name is unknown, or the algorithm is not the key's (names as text,
    /// for the log).
    #[error("unknown TSIG key {name} ({algorithm})")]
    BadKey { name: String, algorithm: String },
    /// §5.2.2: the MAC does not match (the key's name).
    #[error("TSIG MAC does not verify (key {0})")]
    BadSig(String),
    /// §5.2.3: signed outside the window. `key` is set when the MAC was good, so the error
    /// reply can be signed as §5.3.2 asks.
    #[error("TSIG time {signed} is outside {now} ± {fudge} s")]
    BadTime {
        signed: u64,
        fudge: u16,
        now: u64,
        key: Option<Arc<Key>>,
    },
    /// §5.3.1: more than 99 unsigned messages in a row in a stream.
    #[error("more than {MAX_UNSIGNED_RUN} unsigned messages in a row")]
    UnsignedRun,
    /// The other side answered with a TSIG error (for example BADKEY when it does not know
    /// our key).
    #[error("the peer answered with TSIG error {}", error_name(*.0))]
    Peer(u16),
}

/// The mnemonic of a TSIG error code, for logs.
pub fn error_name(code: u16) -> String {
    match code {
        rcode::BADSIG => "BADSIG".into(),
        rcode::BADKEY => "BADKEY".into(),
        rcode::BADTIME => "BADTIME".into(),
        rcode::BADTRUNC => "BADTRUNC".into(),
        other => other.to_string(),
    }
}
