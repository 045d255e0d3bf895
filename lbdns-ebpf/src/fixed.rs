//! The fixed reply to a query, when userspace prepared one for its name and type
//! (lbdns_common::fixed holds the rule).

use lbdns_common::fixed::{MAX_NAME_LEN, NAME_WORDS, REPLY_FLAGS};

use crate::{
    frame::Frame,
    maps::{prepared_on, Scratch, FIXED_REPLIES},
    parse::{dns::HEADER_LEN, name::suffix_word, Query},
    respond::prepared::Prepared,
    verdict::Skip,
};

/// The fixed reply to `query`; `Err(passed)` when there is none, and the socket path answers.
///
/// The name is looked up by the question's own octets: a name spelled with capitals is not
/// found, as the socket path's encoder compresses against the question's octets and its
/// records would differ.
#[inline(always)]
// The key is passed by reference: it lives in the scratch value, and by value it would be
// copied to the 512-byte stack, which the entry's frame nearly fills.
#[allow(clippy::needless_borrows_for_generic_args)]
pub fn find(
    frame: &Frame,
    scratch: *mut Scratch,
    query: &Query,
    passed: Skip,
) -> Result<Prepared, Skip> {
    let dns = &query.dns;
    if dns.name.len > MAX_NAME_LEN || !prepared_on() {
        return Err(passed);
    }
    // SAFETY: this CPU's scratch value, used only by this program run.
    let scratch = unsafe { &mut *scratch };
    let off = dns.off + HEADER_LEN;
    for i in 0..NAME_WORDS {
        scratch.fixed_key.name[i] = suffix_word(frame, off, dns.name.len, 8 * i).ok_or(passed)?;
    }
    scratch.fixed_key.qtype = dns.qtype;
    // SAFETY: an element userspace neither replaces nor removes while `PREPARED_STATE` says
    // on, which it said when this run read it (lbdns_common::prepared).
    let reply = unsafe { FIXED_REPLIES.get(&scratch.fixed_key) }.ok_or(passed)?;
    Ok(Prepared {
        records: &reply.records,
        flags: reply.flags & REPLY_FLAGS,
        counts: reply.counts,
        apex: 0,
    })
}
