//! The reply's OPT record (RFC 6891 §6.1.2), sent when the query had one, with the options the
//! query asked for: the NSID (RFC 5001) when one is configured, then the DNS Cookie (RFC 7873)
//! when the query had one, then the Client Subnet echo (RFC 7871, [`super::ecs`]) when the
//! server answers ECS. Options go in `lbdns_common::edns::REPLY_ORDER`, as the socket path
//! writes them.

use lbdns_common::{
    cookie::REPLY_LEN,
    edns::{Nsid, ANSWERS_NSID, MAX_NSID_LEN, NSID_SLOT, OPTION_COOKIE, OPTION_NSID},
    limits::EDNS_UDP_PAYLOAD,
};

use super::{csum::Csum, ecs};
use crate::{
    frame::{store_unaligned_u32, store_unaligned_u64, Frame},
    maps::{edns_answers, opaque, Scratch, NSID_VALUES},
    parse::{
        cookie::Cookie,
        ecs::Ecs,
        opt::{Edns, FLAG_DO, OPT_FIXED_LEN, SEEN_NSID},
    },
    verdict::{Skip, OTHER},
};

/// Option code and length.
const OPTION_HEADER_LEN: usize = 4;
/// The COOKIE option of a reply: header, client cookie, server cookie.
pub const COOKIE_OPTION_LEN: usize = OPTION_HEADER_LEN + REPLY_LEN;

/// The NSID the reply carries: the configured one, if the query asks for it (without one
/// configured the option is ignored, as the socket path ignores it). A value userspace cannot
/// have written passes the query.
#[inline(always)]
pub fn nsid(edns: &Edns) -> Result<Option<&'static Nsid>, Skip> {
    if edns.options & SEEN_NSID == 0 {
        return Ok(None);
    }
    let answers = edns_answers();
    if answers & ANSWERS_NSID == 0 {
        return Ok(None);
    }
    let slot = u32::from(answers & NSID_SLOT != 0);
    let nsid = NSID_VALUES.get(slot).ok_or(OTHER)?;
    if nsid.len == 0 || usize::from(nsid.len) > MAX_NSID_LEN {
        return Err(OTHER);
    }
    Ok(Some(nsid))
}

/// The bytes the options take after the OPT record's fixed part, with `cookie_len` those of
/// the COOKIE option ([`cookie_len`]).
#[inline(always)]
pub fn options_len(nsid: Option<&Nsid>, cookie_len: usize) -> usize {
    let nsid = match nsid {
        Some(nsid) => OPTION_HEADER_LEN + usize::from(nsid.len),
        None => 0,
    };
    nsid + cookie_len
}

/// The bytes the reply's COOKIE option takes: [`COOKIE_OPTION_LEN`] or none. Passed through
/// `cell` (`maps::opaque`), and tested again by [`write`] rather than the cookie: as a constant
/// of its own on each path, the lengths after it would have the whole reply verified twice, with
/// a cookie and without, and a second test of the same condition lets LLVM copy everything
/// between the two tests (found in this project: twice the verified instructions).
#[inline(always)]
pub fn cookie_len(cookie: &Cookie, cell: &mut u32) -> Result<usize, Skip> {
    let len = if cookie.present() {
        COOKIE_OPTION_LEN as u32
    } else {
        0
    };
    let len = opaque(cell, len) as usize;
    if len > COOKIE_OPTION_LEN {
        return Err(OTHER);
    }
    Ok(len)
}

/// The OPT record's fixed part: root owner, type 41, our UDP payload size as the class,
/// the extended RCODE's upper eight bits, version 0, the DO bit copied from the query (RFC 3225
/// §3), other flags 0, then the options' length.
#[inline(always)]
fn encode(dnssec_ok: bool, extended_rcode: u8, rdlen: u16) -> [u8; OPT_FIXED_LEN] {
    let [size_hi, size_lo] = EDNS_UDP_PAYLOAD.to_be_bytes();
    let [flags_hi, flags_lo] = if dnssec_ok { FLAG_DO } else { 0 }.to_be_bytes();
    let [len_hi, len_lo] = rdlen.to_be_bytes();
    [
        0,
        0,
        41,
        size_hi,
        size_lo,
        extended_rcode,
        0,
        flags_hi,
        flags_lo,
        len_hi,
        len_lo,
    ]
}

/// The Client Subnet echo of a reply: the query's option, its length in the reply (0 for no
/// echo) and the answer's scope.
pub struct Echo<'a> {
    pub ecs: &'a Ecs,
    pub len: usize,
    pub scope: u8,
}

impl Echo<'_> {
    /// No echo.
    pub const NONE: Echo<'static> = Echo {
        ecs: &Ecs::NONE,
        len: 0,
        scope: 0,
    };
}

/// The options a reply's OPT record carries after its fixed part.
pub struct Options<'a> {
    /// The NSID, if the reply carries it.
    pub nsid: Option<&'a Nsid>,
    /// The COOKIE option's length ([`cookie_len`]), 0 for none.
    pub cookie_len: usize,
    /// The Client Subnet echo.
    pub echo: Echo<'a>,
}

/// Writes the OPT record at `off`, with the NSID option if `options` has one, the COOKIE
/// option if its `cookie_len` ([`cookie_len`]) has room for it and the Client Subnet option if
/// its echo has a length; the frame ends right after it. `extended_rcode` is the upper eight
/// bits of the reply's RCODE. Returns its checksum
/// contribution as if `off` were on a word boundary.
#[inline(always)]
pub fn write(
    frame: &Frame,
    scratch: *mut Scratch,
    off: usize,
    dnssec_ok: bool,
    extended_rcode: u8,
    options: Options<'_>,
) -> Option<Csum> {
    let Options {
        nsid,
        cookie_len,
        echo,
    } = options;
    let mut sum = write_nsid(
        frame,
        off,
        dnssec_ok,
        extended_rcode,
        nsid,
        cookie_len + echo.len,
    )?;
    if cookie_len != 0 {
        let at = OPT_FIXED_LEN + nsid.map_or(0, |nsid| OPTION_HEADER_LEN + usize::from(nsid.len));
        // SAFETY: this CPU's scratch value, used only by this program run.
        let words = unsafe { &(*scratch).cookie };
        let mut option = write_cookie(frame, off + at, words)?;
        if at % 2 == 1 {
            option = option.byte_swapped();
        }
        sum.add(option);
    }
    if echo.len != 0 {
        let at = OPT_FIXED_LEN + options_len(nsid, cookie_len);
        let mut option = ecs::write(frame, off + at, echo.ecs, echo.scope)?;
        if at % 2 == 1 {
            option = option.byte_swapped();
        }
        sum.add(option);
    }
    Some(sum)
}

/// [`write`] for a reply whose RCODE fits the header, with its checksum contribution as the
/// tail of the message counts it (`net::Turned::seal`): byte-swapped when the records before it
/// take an odd number of octets, so that it starts on an odd offset.
#[inline(always)]
pub fn write_after_records(
    frame: &Frame,
    scratch: *mut Scratch,
    off: usize,
    dnssec_ok: bool,
    options: Options<'_>,
    odd_records: bool,
) -> Option<Csum> {
    let sum = write(frame, scratch, off, dnssec_ok, 0, options)?;
    Some(if odd_records { sum.byte_swapped() } else { sum })
}

/// Writes the OPT record's fixed part, with `after` octets of options after the NSID, and the
/// NSID option if `nsid` is given; returns their checksum contribution as if `off` were on a
/// word boundary.
#[inline(always)]
fn write_nsid(
    frame: &Frame,
    off: usize,
    dnssec_ok: bool,
    extended_rcode: u8,
    nsid: Option<&Nsid>,
    after: usize,
) -> Option<Csum> {
    let record = encode(dnssec_ok, extended_rcode, options_len(nsid, after) as u16);
    let to = frame.bytes::<OPT_FIXED_LEN>(off)?.as_mut_ptr();
    // Two 8-byte stores, the second overlapping the first: bytes 0..8 and 3..11.
    let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10] = record;
    // SAFETY: `bytes` checked that the 11 bytes are inside the frame.
    unsafe {
        store_unaligned_u64(
            to.cast(),
            u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
        );
        store_unaligned_u64(
            to.add(OPT_FIXED_LEN - 8).cast(),
            u64::from_le_bytes([b3, b4, b5, b6, b7, b8, b9, b10]),
        );
    }
    let mut sum = Csum::default();
    let Some(nsid) = nsid else {
        sum.add_bytes(&record);
        return Some(sum);
    };
    let [code_hi, code_lo] = OPTION_NSID.to_be_bytes();
    let [len_hi, len_lo] = nsid.len.to_be_bytes();
    let header = [code_hi, code_lo, len_hi, len_lo];
    let at = off + OPT_FIXED_LEN;
    let to = frame.bytes::<OPTION_HEADER_LEN>(at)?.as_mut_ptr();
    // SAFETY: `bytes` checked that the 4 bytes are inside the frame.
    unsafe { store_unaligned_u32(to.cast(), u32::from_le_bytes(header)) };
    copy_nsid(frame, at + OPTION_HEADER_LEN, nsid)?;
    sum.add_bytes(&[
        b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, code_hi, code_lo, len_hi, len_lo,
    ]);
    // The data starts 15 bytes in, on an odd offset: its aligned sum, byte-swapped.
    let mut data = Csum::default();
    data.add16(nsid.sum);
    sum.add(data.byte_swapped());
    Some(sum)
}

/// Writes the COOKIE option at `off`: the client cookie and the server cookie `parse::cookie`
/// settled on, as `words`. Returns its checksum contribution as if `off` were on a word
/// boundary.
#[inline(always)]
fn write_cookie(frame: &Frame, off: usize, words: &[u64; 3]) -> Option<Csum> {
    let [client, meta, mac] = *words;
    let [code_hi, code_lo] = OPTION_COOKIE.to_be_bytes();
    let [len_hi, len_lo] = (REPLY_LEN as u16).to_be_bytes();
    let header = [code_hi, code_lo, len_hi, len_lo];
    let to = frame.bytes::<COOKIE_OPTION_LEN>(off)?.as_mut_ptr();
    // SAFETY: `bytes` checked that the option's bytes are inside the frame.
    unsafe {
        store_unaligned_u32(to.cast(), u32::from_le_bytes(header));
        store_unaligned_u64(to.add(4).cast(), client);
        store_unaligned_u64(to.add(12).cast(), meta);
        store_unaligned_u64(to.add(20).cast(), mac);
    }
    let mut sum = Csum::default();
    sum.add_bytes(&header);
    for word in [client, meta, mac] {
        sum.add_bytes(&word.to_le_bytes());
    }
    Some(sum)
}

/// Copies the NSID's `len` bytes to `off`, byte by byte: an NSID goes out only to the rare
/// query that asks for it, so simplicity beats speed here.
#[inline(always)]
fn copy_nsid(frame: &Frame, off: usize, nsid: &Nsid) -> Option<()> {
    let len = usize::from(nsid.len);
    for (i, &byte) in nsid.data.iter().enumerate() {
        if i >= len {
            break;
        }
        let to = frame.last_byte(off + i)?;
        // SAFETY: `last_byte` checked that the byte is inside the frame.
        unsafe { to.write(byte) };
    }
    Some(())
}
