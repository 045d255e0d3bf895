//! The query's DNS Cookie (RFC 7873): read by the option walker ([`read`]), then judged
//! against the published secrets once the client's address is known ([`check`]), with
//! `lbdns_common::cookie::answer`, the socket path's rule. The outcome, in [`Cookie`], is what
//! response rate limiting's exemption reads; the words the reply's COOKIE option carries wait
//! in `Scratch::cookie` for `respond::opt`.
//!
//! The program answers the cookies of RFC 9018 only: a client cookie alone (8 octets) or with
//! a 16-octet server cookie of version 1. Any other length, malformed (FORMERR) or another
//! server's format, goes to the socket path, as do cookies before a secret and a clock are
//! published.
//!
//! The outcome and the words live where the verifier does not follow them (`maps::opaque`,
//! scratch map memory): were they constants on the stack, one for each outcome, everything
//! after the check would be verified once per outcome.

use lbdns_common::{
    cookie::{self, ClientAddr, CookieState, ServerCookie, CLIENT_LEN, REPLY_LEN},
    edns::{ANSWERS_COOKIE, COOKIE_SLOT},
};

use super::ip::Ip;
use crate::{
    frame::{load_unaligned_u32, Frame},
    maps::{edns_answers, opaque, wall_clock, Scratch, COOKIE_SECRETS},
    verdict::{Skip, COOKIE, MALFORMED},
};

/// The walker's mark for a client cookie with a server cookie, before [`check`].
const WITH_SERVER: u8 = 0x80;

/// What the query's COOKIE option is worth.
#[derive(Clone, Copy)]
pub struct Cookie {
    /// A [`CookieState`] as its `u8` (while parsing, [`WITH_SERVER`] may be added to it).
    state: u8,
}

impl Cookie {
    /// No COOKIE option.
    pub const NONE: Cookie = Cookie {
        state: CookieState::None as u8,
    };

    /// Whether the reply carries a COOKIE option.
    #[inline(always)]
    pub fn present(&self) -> bool {
        self.state != CookieState::None as u8
    }

    /// Whether the query brought a valid server cookie, which exempts it from response rate
    /// limiting (RFC 7873 §5.2.5).
    #[inline(always)]
    pub fn is_valid(&self) -> bool {
        self.state == CookieState::Valid as u8
    }
}

/// The walker's arm for a COOKIE option whose `len` octets of data start at `at`: the words
/// go to `words` (client cookie, then the server cookie's two, if any).
#[inline(always)]
pub fn read(
    frame: &Frame,
    at: usize,
    len: usize,
    cookie: &mut Cookie,
    words: &mut [u64; 3],
) -> Result<(), Skip> {
    if cookie.present() {
        return Err(COOKIE);
    }
    if len != CLIENT_LEN && len != REPLY_LEN {
        return Err(COOKIE);
    }
    words[0] = frame.le64(at).ok_or(MALFORMED)?;
    cookie.state = CookieState::ClientOnly as u8;
    if len == REPLY_LEN {
        let meta = frame.le64(at + CLIENT_LEN).ok_or(MALFORMED)?;
        if cookie::version(meta) != cookie::VERSION {
            return Err(COOKIE);
        }
        words[1] = meta;
        words[2] = frame.le64(at + CLIENT_LEN + 8).ok_or(MALFORMED)?;
        cookie.state |= WITH_SERVER;
    }
    Ok(())
}

/// Judges the cookie the walker read against the published secrets, for the client at `ip`'s
/// source address, and leaves the reply's server cookie in `Scratch::cookie`. Every query with
/// an OPT record comes here, with a cookie or not, so that the outcome is opaque on every path.
#[inline(always)]
pub fn check(
    frame: &Frame,
    ip: &Ip,
    cookie: &mut Cookie,
    scratch: *mut Scratch,
) -> Result<(), Skip> {
    // SAFETY: this CPU's scratch value, used only by this program run.
    let (cell, words) = unsafe { (&mut (*scratch).cookie_state, &mut (*scratch).cookie) };
    if !cookie.present() {
        cookie.state = opaque(cell, CookieState::None as u32) as u8;
        return Ok(());
    }
    let answers = edns_answers();
    let now = wall_clock();
    if answers & ANSWERS_COOKIE == 0 || now == 0 {
        return Err(COOKIE);
    }
    let slot = u32::from(answers & COOKIE_SLOT != 0);
    let secrets = COOKIE_SECRETS.get(slot).ok_or(COOKIE)?;
    let addr = if ip.v6 {
        // The source address: bytes 8..24 of the IPv6 header.
        ClientAddr::V6(
            frame.le64(ip.off + 8).ok_or(MALFORMED)?,
            frame.le64(ip.off + 16).ok_or(MALFORMED)?,
        )
    } else {
        // Bytes 12..16 of the IPv4 header.
        let at = frame.ptr::<u32>(ip.off + 12).ok_or(MALFORMED)?;
        // SAFETY: `ptr` checked that the 4 bytes are inside the frame.
        ClientAddr::V4(unsafe { load_unaligned_u32(at) })
    };
    let server = (cookie.state & WITH_SERVER != 0).then_some(ServerCookie {
        meta: words[1],
        mac: words[2],
    });
    // Unix time modulo 2^32, as RFC 9018 §4.3 stamps it.
    let (state, reply) = cookie::answer(secrets, words[0], server, addr, now as u32);
    words[1] = reply.meta;
    words[2] = reply.mac;
    cookie.state = opaque(cell, state as u32) as u8;
    Ok(())
}
