//! DNS Cookies (RFC 7873) as configured: the server secrets and the clock both paths make and
//! check server cookies with (RFC 9018). The cookie logic itself is `lbdns_common::cookie`,
//! shared with the XDP program; the socket path reads options in `authority::cookie`.
//!
//! Without a configured secret the server draws a random one, once per process, as NSD and
//! Knot do when none is set: cookies then work for this host, and a reload keeps them valid.
//! An anycast fleet configures one secret on every host, so each accepts the others' cookies;
//! rolling it over (RFC 9018 §5) is a reload with the new `secret` and the old one as
//! `previous_secret`, then, an hour later, one without it.

pub mod config;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use lbdns_common::cookie::{CookieSecrets, SecretKey, HAS_PREVIOUS};

pub use config::CookiesSection;

/// The length of a server secret (RFC 9018 §4.4: SipHash-2-4 takes 128-bit keys).
pub const SECRET_LEN: usize = 16;

/// Where cookie time stamps come from: Unix time in seconds, modulo 2^32 (RFC 9018 §4.3).
pub trait Clock: Send + Sync + fmt::Debug {
    fn unix_seconds(&self) -> u32;
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> u32 {
        // Truncated to 32 bits on purpose: the stamps wrap, and are compared as serials.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() as u32)
    }
}

/// A clock stopped at one second: replies that compare byte for byte across the two paths,
/// and the RFC's examples, need both to stamp cookies with the same time.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u32);

impl Clock for FixedClock {
    fn unix_seconds(&self) -> u32 {
        self.0
    }
}

/// The secrets and clock the server makes and checks cookies with.
#[derive(Clone)]
pub struct Cookies {
    secrets: CookieSecrets,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Cookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secrets themselves.
        f.debug_struct("Cookies")
            .field("previous", &(self.secrets.flags & HAS_PREVIOUS != 0))
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Default for Cookies {
    /// This process's random secret, on the system clock.
    fn default() -> Self {
        Self::new(process_secret(), None)
    }
}

impl PartialEq for Cookies {
    fn eq(&self, other: &Self) -> bool {
        self.secrets == other.secrets
    }
}

impl Cookies {
    /// Cookies made with `current`, accepting those `previous` made too, on the system clock.
    pub fn new(current: [u8; SECRET_LEN], previous: Option<[u8; SECRET_LEN]>) -> Self {
        Self {
            secrets: CookieSecrets {
                current: SecretKey::new(current),
                previous: previous.map_or(SecretKey::default(), SecretKey::new),
                flags: if previous.is_some() { HAS_PREVIOUS } else { 0 },
            },
            clock: Arc::new(SystemClock),
        }
    }

    /// The same secrets on another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The secrets, as the XDP program gets them.
    pub fn secrets(&self) -> &CookieSecrets {
        &self.secrets
    }

    /// Now, for cookie time stamps.
    pub fn now(&self) -> u32 {
        self.clock.unix_seconds()
    }
}

/// A random secret drawn once per process: the default when none is configured. Kept for the
/// process's life, so a reload does not invalidate every client's cookie.
fn process_secret() -> [u8; SECRET_LEN] {
    static SECRET: OnceLock<[u8; SECRET_LEN]> = OnceLock::new();
    *SECRET.get_or_init(|| {
        let mut secret = [0; SECRET_LEN];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
            .expect("the kernel's random source does not fail once the system has booted");
        secret
    })
}
