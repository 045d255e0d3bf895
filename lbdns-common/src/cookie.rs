//! DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018, defined once for
//! both paths: the option's lengths, the SipHash-2-4 that makes and checks server cookies, the
//! timestamp window, and the one decision of what a query's cookie is worth and what the reply
//! carries ([`answer`]). The socket path (`authority::cookie`) and the XDP program
//! (`parse::cookie`, `respond::cookie`) both call [`answer`], so they cannot disagree.
//!
//! A server cookie (RFC 9018 §4.2) is version (1), three reserved octets, a 32-bit Unix time
//! stamp, then SipHash-2-4 keyed with the 16-octet server secret over the client cookie, those
//! eight octets and the client's IP address. Every host of an anycast fleet with the same
//! secret makes and accepts the same cookies.
//!
//! Words here are the octets as little-endian `u64`s, as SipHash reads its input (and as the
//! program loads them from the packet): `client` is the client cookie's eight octets, `meta`
//! the server cookie's first eight (version, reserved, time stamp), `mac` its last eight.

/// Length of a client cookie (RFC 7873 §4.1).
pub const CLIENT_LEN: usize = 8;
/// Length of the server cookie this server makes (RFC 9018 §4.2).
pub const SERVER_LEN: usize = 16;
/// Length of the COOKIE option data of every reply: client cookie and server cookie.
pub const REPLY_LEN: usize = CLIENT_LEN + SERVER_LEN;
/// The server cookie version of RFC 9018.
pub const VERSION: u8 = 1;
/// How old a server cookie may be and still be accepted (RFC 9018 §4.3: an hour).
pub const MAX_AGE: u32 = 3600;
/// How far ahead of the server's clock a time stamp may be (RFC 9018 §4.3: five minutes of
/// clock skew between the hosts of a fleet).
pub const MAX_AHEAD: u32 = 300;
/// The age from which a valid server cookie is replaced by a fresh one in the reply (RFC 9018
/// §4.3: half an hour); a younger one goes back as it came, which spares a hash.
pub const RENEW_AGE: u32 = 1800;

/// Whether COOKIE option data of `len` octets is malformed, which RFC 7873 §5.2.2 answers with
/// FORMERR: a client cookie alone is 8 octets, with a server cookie of 8 to 32 octets 16 to 40.
#[inline(always)]
pub const fn is_malformed_len(len: usize) -> bool {
    len < CLIENT_LEN || (len > CLIENT_LEN && len < CLIENT_LEN + 8) || len > CLIENT_LEN + 32
}

/// What a query's cookie is worth: the state both paths hand to response rate limiting, whose
/// exemption needs [`CookieState::Valid`].
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CookieState {
    /// No COOKIE option.
    #[default]
    None = 0,
    /// A client cookie alone (RFC 7873 §5.2.3).
    ClientOnly = 1,
    /// A client cookie with a server cookie this server (or a host with its secret) made for
    /// this client's address, within the time window (RFC 7873 §5.2.5).
    Valid = 2,
    /// A client cookie with a server cookie that does not check out: another secret, another
    /// address, too old, too far ahead, another version or length (RFC 7873 §5.2.4). It is
    /// answered as a client cookie alone, but is not [`CookieState::Valid`].
    Invalid = 3,
}

/// The client address a server cookie is bound to, as its octets in little-endian words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAddr {
    /// The four octets of an IPv4 address.
    V4(u32),
    /// The sixteen octets of an IPv6 address: the first eight, then the last eight.
    V6(u64, u64),
}

impl ClientAddr {
    /// The words of an IPv4 address's octets.
    pub const fn v4(octets: [u8; 4]) -> Self {
        Self::V4(u32::from_le_bytes(octets))
    }

    /// The words of an IPv6 address's octets.
    pub const fn v6(octets: [u8; 16]) -> Self {
        let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p] = octets;
        Self::V6(
            u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            u64::from_le_bytes([i, j, k, l, m, n, o, p]),
        )
    }
}

/// A 16-octet server secret as SipHash's two key words.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecretKey(pub [u64; 2]);

impl SecretKey {
    /// The key of a secret given as octets (RFC 9018 §4.4 writes secrets as hex octets).
    pub const fn new(octets: [u8; 16]) -> Self {
        let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p] = octets;
        Self([
            u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            u64::from_le_bytes([i, j, k, l, m, n, o, p]),
        ])
    }
}

/// The secrets both paths make and check server cookies with: a value of the `COOKIE_SECRETS`
/// map, two slots published like the NSID (`crate::edns::COOKIE_SLOT`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CookieSecrets {
    /// The secret new server cookies are made with.
    pub current: SecretKey,
    /// A secret being rolled away from (RFC 9018 §5): cookies it made are still accepted, and
    /// replaced in the reply by cookies of [`Self::current`].
    pub previous: SecretKey,
    /// [`HAS_PREVIOUS`] when [`Self::previous`] is in use. A `u64` so the value has no padding.
    pub flags: u64,
}

/// [`CookieSecrets::flags`] bit: the previous secret is accepted.
pub const HAS_PREVIOUS: u64 = 1;

const _: () = assert!(core::mem::size_of::<CookieSecrets>() == 40);

#[cfg(feature = "user")]
// SAFETY: `#[repr(C)]`, `u64`s only, no padding (asserted above); every bit pattern is valid.
unsafe impl aya::Pod for CookieSecrets {}

/// The `meta` word of a server cookie this server makes at `now`: version 1, reserved 0, the
/// time stamp in network order.
#[inline(always)]
pub const fn meta_at(now: u32) -> u64 {
    VERSION as u64 | (u32::from_le_bytes(now.to_be_bytes()) as u64) << 32
}

/// The version octet of a `meta` word.
#[inline(always)]
pub const fn version(meta: u64) -> u8 {
    meta as u8
}

/// The time stamp of a `meta` word.
#[inline(always)]
pub const fn timestamp(meta: u64) -> u32 {
    u32::from_be_bytes(((meta >> 32) as u32).to_le_bytes())
}

/// How many seconds before `now` the time stamp `stamp` was made, in serial number arithmetic
/// (RFC 1982, as RFC 9018 §4.3 asks): negative for a stamp ahead of the clock.
#[inline(always)]
pub const fn age(stamp: u32, now: u32) -> i32 {
    now.wrapping_sub(stamp) as i32
}

/// Whether a cookie stamped at `stamp` is accepted at `now`: at most [`MAX_AGE`] old and at
/// most [`MAX_AHEAD`] ahead.
#[inline(always)]
pub const fn is_fresh(stamp: u32, now: u32) -> bool {
    let age = age(stamp, now);
    age >= -(MAX_AHEAD as i32) && age <= MAX_AGE as i32
}

/// The MAC of a server cookie (RFC 9018 §4.4): SipHash-2-4 keyed with `key` over the client
/// cookie, the server cookie's first eight octets and the client's address.
#[inline(always)]
pub fn mac(key: &SecretKey, client: u64, meta: u64, addr: ClientAddr) -> u64 {
    let mut hash = SipHash24::new(key);
    hash.block(client);
    hash.block(meta);
    match addr {
        // 20 octets: the last block holds the address's four and the length.
        ClientAddr::V4(addr) => hash.finish((20 << 56) | addr as u64),
        ClientAddr::V6(high, low) => {
            hash.block(high);
            hash.block(low);
            hash.finish(32 << 56)
        }
    }
}

/// The reply's COOKIE option, past the client cookie it echoes: the server cookie's two words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerCookie {
    pub meta: u64,
    pub mac: u64,
}

impl ServerCookie {
    /// The sixteen octets of the server cookie.
    pub const fn octets(&self) -> [u8; SERVER_LEN] {
        let [a, b, c, d, e, f, g, h] = self.meta.to_le_bytes();
        let [i, j, k, l, m, n, o, p] = self.mac.to_le_bytes();
        [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p]
    }
}

/// The one decision both paths make about a query's cookie: what it is worth, and the server
/// cookie the reply carries.
///
/// `server` is the query's server cookie, `Some` only when it is [`SERVER_LEN`] octets (any
/// other well-formed length is another server's format: [`CookieState::Invalid`], and the
/// program passes such a query rather than decide). A valid cookie made with the current
/// secret less than [`RENEW_AGE`] ago goes back as it came; every other reply gets a fresh one
/// made with the current secret at `now`.
#[inline(always)]
pub fn answer(
    secrets: &CookieSecrets,
    client: u64,
    server: Option<ServerCookie>,
    addr: ClientAddr,
    now: u32,
) -> (CookieState, ServerCookie) {
    let mut state = CookieState::ClientOnly;
    if let Some(cookie) = server {
        state = CookieState::Invalid;
        let stamp = timestamp(cookie.meta);
        if version(cookie.meta) == VERSION && is_fresh(stamp, now) {
            if mac(&secrets.current, client, cookie.meta, addr) == cookie.mac {
                if age(stamp, now) < RENEW_AGE as i32 {
                    return (CookieState::Valid, cookie);
                }
                state = CookieState::Valid;
            } else if secrets.flags & HAS_PREVIOUS != 0
                && mac(&secrets.previous, client, cookie.meta, addr) == cookie.mac
            {
                state = CookieState::Valid;
            }
        }
    }
    let meta = meta_at(now);
    let mac = mac(&secrets.current, client, meta, addr);
    (state, ServerCookie { meta, mac })
}

/// SipHash-2-4 (Aumasson and Bernstein) over whole 8-octet words, which is all a server cookie
/// needs: straight-line arithmetic, no loop over the input, so the verifier walks it once.
struct SipHash24 {
    v: [u64; 4],
}

impl SipHash24 {
    #[inline(always)]
    const fn new(key: &SecretKey) -> Self {
        let [k0, k1] = key.0;
        Self {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
        }
    }

    #[inline(always)]
    fn round(&mut self) {
        let [mut v0, mut v1, mut v2, mut v3] = self.v;
        v0 = v0.wrapping_add(v1);
        v1 = v1.rotate_left(13) ^ v0;
        v0 = v0.rotate_left(32);
        v2 = v2.wrapping_add(v3);
        v3 = v3.rotate_left(16) ^ v2;
        v0 = v0.wrapping_add(v3);
        v3 = v3.rotate_left(21) ^ v0;
        v2 = v2.wrapping_add(v1);
        v1 = v1.rotate_left(17) ^ v2;
        v2 = v2.rotate_left(32);
        self.v = [v0, v1, v2, v3];
    }

    /// Absorbs one 8-octet word (two compression rounds).
    #[inline(always)]
    fn block(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.round();
        self.v[0] ^= m;
    }

    /// Absorbs the last word (the input's remaining octets with its length in the top octet),
    /// then the four finalisation rounds.
    #[inline(always)]
    fn finish(mut self, last: u64) -> u64 {
        self.block(last);
        self.v[2] ^= 0xff;
        self.round();
        self.round();
        self.round();
        self.round();
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_2_4_reference_vector() {
        // The paper's Appendix A: key 00..0f, input 00..0e (15 octets).
        let key = SecretKey::new([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        let mut hash = SipHash24::new(&key);
        hash.block(u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]));
        // Octets 08..0e, then the length (15) in the top octet.
        let last = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        assert_eq!(hash.finish(last), 0xa129_ca61_49be_45e5);
    }

    fn hex<const N: usize>(text: &str) -> [u8; N] {
        let mut out = [0; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn word(text: &str) -> u64 {
        u64::from_le_bytes(hex(text))
    }

    const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

    fn secrets(current: &str, previous: Option<&str>) -> CookieSecrets {
        CookieSecrets {
            current: SecretKey::new(hex(current)),
            previous: previous.map_or(SecretKey::default(), |p| SecretKey::new(hex(p))),
            flags: if previous.is_some() { HAS_PREVIOUS } else { 0 },
        }
    }

    fn server(text: &str) -> Option<ServerCookie> {
        Some(ServerCookie {
            meta: word(&text[..16]),
            mac: word(&text[16..]),
        })
    }

    #[test]
    fn rfc9018_a_1_learning_a_new_server_cookie() {
        let addr = ClientAddr::v4([198, 51, 100, 100]);
        let (state, cookie) = answer(
            &secrets(SECRET, None),
            word("2464c4abcf10c957"),
            None,
            addr,
            1_559_731_985,
        );
        assert_eq!(state, CookieState::ClientOnly);
        assert_eq!(cookie.octets(), hex("010000005cf79f111f8130c3eee29480"));
    }

    #[test]
    fn rfc9018_a_2_a_valid_cookie_older_than_half_an_hour_is_renewed() {
        let addr = ClientAddr::v4([198, 51, 100, 100]);
        let (state, cookie) = answer(
            &secrets(SECRET, None),
            word("2464c4abcf10c957"),
            server("010000005cf79f111f8130c3eee29480"),
            addr,
            1_559_734_385,
        );
        assert_eq!(state, CookieState::Valid);
        assert_eq!(cookie.octets(), hex("010000005cf7a871d4a564a1442aca77"));
    }

    #[test]
    fn rfc9018_a_3_reserved_octets_are_hashed_as_received() {
        let addr = ClientAddr::v4([203, 0, 113, 203]);
        let (state, cookie) = answer(
            &secrets(SECRET, None),
            word("fc93fc62807ddb86"),
            server("01abcdef5cf78f71a314227b6679ebf5"),
            addr,
            1_559_734_700,
        );
        // Made at 1559727985, 6715 seconds earlier: past the hour this server accepts.
        assert_eq!(state, CookieState::Invalid);
        assert_eq!(cookie.octets(), hex("010000005cf7a9acf73a7810aca2381e"));
        // Within the hour it checks out, reserved octets and all, and goes back as it came.
        let (state, echoed) = answer(
            &secrets(SECRET, None),
            word("fc93fc62807ddb86"),
            server("01abcdef5cf78f71a314227b6679ebf5"),
            addr,
            0x5cf7_8f71 + 60,
        );
        assert_eq!(state, CookieState::Valid);
        assert_eq!(echoed, server("01abcdef5cf78f71a314227b6679ebf5").unwrap());
    }

    #[test]
    fn rfc9018_a_4_the_previous_secret_is_accepted_and_a_new_cookie_made() {
        let addr = ClientAddr::v6(hex("20010db80220000159ded0f4876982b8"));
        let old = "dd3bdf9344b678b185a6f5cb60fca715";
        let new = "445536bcd2513298075a5d379663c962";
        let query = server("010000005cf7c57926556bd0934c72f8");
        let client = word("22681ab97d52c298");
        let now = 1_559_741_961;
        let (state, cookie) = answer(&secrets(new, Some(old)), client, query, addr, now);
        assert_eq!(state, CookieState::Valid);
        assert_eq!(cookie.octets(), hex("010000005cf7c609a6bb79d16625507a"));
        // Without the previous secret, the same cookie is not ours.
        let (state, _) = answer(&secrets(new, None), client, query, addr, now);
        assert_eq!(state, CookieState::Invalid);
        // From another address, neither.
        let other = ClientAddr::v6(hex("20010db8022000010000000000000001"));
        let (state, _) = answer(&secrets(new, Some(old)), client, query, other, now);
        assert_eq!(state, CookieState::Invalid);
    }

    #[test]
    fn rfc7873_5_2_4_another_version_is_invalid() {
        let addr = ClientAddr::v4([198, 51, 100, 100]);
        let (state, _) = answer(
            &secrets(SECRET, None),
            word("2464c4abcf10c957"),
            server("020000005cf79f111f8130c3eee29480"),
            addr,
            1_559_731_985,
        );
        assert_eq!(state, CookieState::Invalid);
    }

    #[test]
    fn rfc7873_5_2_2_lengths() {
        let malformed: [usize; 8] = [0, 1, 7, 9, 12, 15, 41, 255];
        for len in malformed {
            assert!(is_malformed_len(len), "{len}");
        }
        for len in [8, 16, 24, 40] {
            assert!(!is_malformed_len(len), "{len}");
        }
    }

    #[test]
    fn rfc9018_4_3_time_window_in_serial_arithmetic() {
        let now = 1_559_731_985;
        assert!(is_fresh(now, now));
        assert!(is_fresh(now - 3600, now));
        assert!(!is_fresh(now - 3601, now));
        assert!(is_fresh(now + 300, now));
        assert!(!is_fresh(now + 301, now));
        // Across the wrap of the 32-bit stamp.
        assert!(is_fresh(u32::MAX - 2599, 1000));
    }

    #[test]
    fn rfc9018_4_2_meta_word_holds_version_and_stamp() {
        let meta = meta_at(0x5cf7_9f11);
        assert_eq!(meta.to_le_bytes(), [1, 0, 0, 0, 0x5c, 0xf7, 0x9f, 0x11]);
        assert_eq!(timestamp(meta), 0x5cf7_9f11);
        assert_eq!(version(meta), 1);
    }
}
