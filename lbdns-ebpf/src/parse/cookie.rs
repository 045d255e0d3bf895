//! The query's DNS Cookie (RFC 7873): read by the option walker ([`read`]), then judged
//! against the published secrets once the client's address is known ([`check`]), with
//! `lbdns_common::cookie::answer`, the socket path's rule. The outcome, in [`Cookie`], is what
//! the reply carries (`respond::opt`) and what response rate limiting's exemption reads.
//!
//! The program answers the cookies of RFC 9018 only: a client cookie alone (8 octets) or with
//! a 16-octet server cookie of version 1. Any other length, malformed (FORMERR) or another
//! server's format, goes to the socket path, as do cookies before a secret and a clock are
//! published.

use lbdns_common::{
    cookie::{self, ClientAddr, CookieState, ServerCookie, CLIENT_LEN, REPLY_LEN},
    edns::{ANSWERS_COOKIE, COOKIE_SLOT},
};

use super::ip::Ip;
use crate::{
    frame::{load_unaligned_u32, Frame},
    maps::{edns_answers, opaque, wall_clock, COOKIE_SECRETS},
    verdict::{Skip, COOKIE, MALFORMED},
};

/// The query's COOKIE option and, once [`check`]ed, the reply's server cookie.
#[derive(Clone, Copy)]
pub struct Cookie {
    /// A [`CookieState`] as its `u8`: [`CookieState::None`] while the query has no COOKIE
    /// option; after [`check`], what the cookie is worth, passed through `maps::opaque` so that
    /// the rest of the program is verified once for every outcome rather than once for each
    /// (see [`Cookie::state`]).
    state: u8,
    /// The client cookie, as a little-endian word of its octets.
    pub client: u64,
    /// The server cookie the query brought, until [`check`]; then the one the reply carries.
    pub server: ServerCookie,
    /// Whether the query brought a server cookie.
    has_server: bool,
}

impl Cookie {
    /// No COOKIE option.
    pub const NONE: Cookie = Cookie {
        state: CookieState::None as u8,
        client: 0,
        server: ServerCookie { meta: 0, mac: 0 },
        has_server: false,
    };

    /// Whether the reply carries a COOKIE option.
    #[inline(always)]
    pub fn present(&self) -> bool {
        self.state != CookieState::None as u8
    }

    /// Whether the query brought a valid server cookie, which exempts it from response rate
    /// limiting (RFC 7873 §5.2.5).
    #[inline(always)]
    #[expect(
        dead_code,
        reason = "the state response rate limiting's exemption reads (issue 15 part 1)"
    )]
    pub fn is_valid(&self) -> bool {
        self.state == CookieState::Valid as u8
    }
}

/// The walker's arm for a COOKIE option whose `len` octets of data start at `at`.
#[inline(always)]
pub fn read(frame: &Frame, at: usize, len: usize, cookie: &mut Cookie) -> Result<(), Skip> {
    if cookie.present() {
        return Err(COOKIE);
    }
    if len != CLIENT_LEN && len != REPLY_LEN {
        return Err(COOKIE);
    }
    cookie.client = frame.le64(at).ok_or(MALFORMED)?;
    cookie.state = CookieState::ClientOnly as u8;
    if len == REPLY_LEN {
        let meta = frame.le64(at + CLIENT_LEN).ok_or(MALFORMED)?;
        if cookie::version(meta) != cookie::VERSION {
            return Err(COOKIE);
        }
        cookie.server = ServerCookie {
            meta,
            mac: frame.le64(at + CLIENT_LEN + 8).ok_or(MALFORMED)?,
        };
        cookie.has_server = true;
    }
    Ok(())
}

/// Judges the cookie the walker read against the published secrets, for the client at `ip`'s
/// source address, and puts the reply's server cookie in its place. `cell` is the scratch
/// space the outcome passes through (`maps::opaque`).
#[inline(always)]
pub fn check(frame: &Frame, ip: &Ip, cookie: &mut Cookie, cell: &mut u32) -> Result<(), Skip> {
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
    let server = cookie.has_server.then_some(cookie.server);
    // Unix time modulo 2^32, as RFC 9018 §4.3 stamps it.
    let (state, reply) = cookie::answer(secrets, cookie.client, server, addr, now as u32);
    cookie.state = opaque(cell, state as u32) as u8;
    cookie.server = reply;
    Ok(())
}
