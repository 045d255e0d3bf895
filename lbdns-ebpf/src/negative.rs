//! Whether an A or AAAA query's name, which has no hot answer set, is proven not to exist, or
//! to have no records of the type, and the NXDOMAIN or NODATA reply that says so
//! (lbdns_common::negative holds the rule and why it is safe while userspace publishes).

use lbdns_common::{
    negative::{
        APEX_WORDS, CHILD_LABEL_LEN, CHILD_LABEL_WORDS, MAX_APEX_LEN, NODATA_A, NODATA_AAAA,
    },
    qtype::AddrType,
};

use crate::{
    frame::Frame,
    maps::{prepared_on, Scratch, NEGATIVE_CHILDREN, NEGATIVE_ZONES},
    parse::{dns::HEADER_LEN, name::suffix_word, Query},
    respond::{header::FLAG_AA, prepared::Prepared},
    verdict::{Skip, MISS},
};

/// RCODE 3, NXDOMAIN (RFC 1035 §4.1.1).
const RCODE_NXDOMAIN: u16 = 3;

/// What a negative reply says.
pub enum Negative {
    /// The name does not exist.
    Nxdomain,
    /// The name exists without records of the type.
    Nodata,
}

/// The negative reply to `query` (of `addr_type`), when its name is one label below a zone's
/// apex: NXDOMAIN if it does not exist, NODATA if it exists and userspace marked the type as
/// answered NODATA; either carries the zone's SOA record, its pointers moved past the first
/// label. `Err(MISS)` when neither is proven, and the socket path answers.
///
/// The apex is looked up by the question's own octets, so an apex spelled with capitals is not
/// found: the socket path's encoder would not compress the record's names into it, and the
/// record the program copies would differ. The first label is looked up lowercase, as the
/// name's existence does not depend on its case.
#[inline(always)]
// The keys are passed by reference: they live in the scratch value, and by value they would
// be copied to the 512-byte stack, which the entry's frame nearly fills.
#[allow(clippy::needless_borrows_for_generic_args)]
pub fn reply(
    frame: &Frame,
    scratch: *mut Scratch,
    query: &Query,
    addr_type: AddrType,
) -> Result<(Prepared, Negative), Skip> {
    if !prepared_on() {
        return Err(MISS);
    }
    let dns = &query.dns;
    // SAFETY: this CPU's scratch value, used only by this program run.
    let scratch = unsafe { &mut *scratch };
    let label_len = (scratch.name[0] & 0xff) as usize + 1;
    let apex_len = dns.name.len.wrapping_sub(label_len);
    if !(2..=CHILD_LABEL_LEN).contains(&label_len) || !(1..=MAX_APEX_LEN).contains(&apex_len) {
        return Err(MISS);
    }

    let apex_off = dns.off + HEADER_LEN + label_len;
    for i in 0..APEX_WORDS {
        scratch.zone_key.apex[i] = suffix_word(frame, apex_off, apex_len, 8 * i).ok_or(MISS)?;
    }
    // SAFETY: an element userspace neither replaces nor removes while `PREPARED_STATE` says
    // on, which it said when this run read it (lbdns_common::negative).
    let zone = unsafe { NEGATIVE_ZONES.get(&scratch.zone_key) }.ok_or(MISS)?;

    scratch.child_key.zone = zone.zone;
    for i in 0..CHILD_LABEL_WORDS {
        let at = 8 * i;
        scratch.child_key.label[i] = if at >= label_len {
            0
        } else {
            scratch.name[i] & low_bytes(label_len - at)
        };
    }
    // SAFETY: as above.
    let (rcode, negative) = match unsafe { NEGATIVE_CHILDREN.get(&scratch.child_key) } {
        None => (RCODE_NXDOMAIN, Negative::Nxdomain),
        Some(&marks) => {
            let nodata = match addr_type {
                AddrType::A => NODATA_A,
                AddrType::Aaaa => NODATA_AAAA,
            };
            if marks & nodata == 0 {
                return Err(MISS);
            }
            (0, Negative::Nodata)
        }
    };
    let reply = Prepared {
        records: &zone.records,
        flags: FLAG_AA | rcode,
        counts: [0, 1, 0],
        apex: HEADER_LEN + label_len,
    };
    Ok((reply, negative))
}

/// A mask of the low `n` bytes of a word, all of them for 8 or more.
#[inline(always)]
fn low_bytes(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1 << (8 * n)) - 1
    }
}
