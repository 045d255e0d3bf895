//! Response rate limiting at the NIC (lbdns_common::rrl holds the rule).
//!
//! Two checks, so that each response is counted once, by the path that sends it:
//! - [`response`]: a reply the program sends, keyed by its owner name and type, just before
//!   the frame is rewritten (every reason to pass the query is decided by then);
//! - [`passed`]: a UDP datagram to the DNS port that the program passes, keyed by its prefix
//!   alone, against the higher `passed` ceiling. Whatever goes through is the socket path's
//!   to answer, and to count against the per-response rule.
//!
//! With nobody over a limit, a response costs the settings read, the clock and one bucket
//! lookup and store; the allow list is only consulted for a response over its limit.

use aya_ebpf::{helpers::bpf_ktime_get_coarse_ns, maps::lpm_trie::Key as AllowKey};
use lbdns_common::rrl::{
    admit, name_digest, prefix_v4, prefix_v6, slot_of, Bucket, Event, Key, Rate, Response,
    Settings, Tally, Verdict, ENABLED, LOG_ONLY,
};

use crate::{
    maps::{
        tally, untally, Scratch, RRL_ALLOW_V4, RRL_ALLOW_V6, RRL_BUCKETS, RRL_EVENTS, RRL_SETTINGS,
    },
    parse::Query,
};

/// What to do with a packet under the rate limits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Send the reply, or pass the query; `true` if a response was counted (see [`refund`]).
    Send(bool),
    /// Send the slip instead of the reply (`respond::slip::send`).
    Slip,
    /// Drop the packet.
    Drop,
}

/// Limits the reply about to be sent to `query`. A query with a valid server cookie is neither
/// counted nor limited.
#[inline(always)]
pub fn response(scratch: *mut Scratch, query: &Query) -> Limit {
    // A valid server cookie exempts the client (RFC 7873 §5.2.5): it is who it says.
    if query.dns.edns.is_some_and(|edns| edns.cookie.is_valid()) {
        return Limit::Send(false);
    }
    let Some(settings) = enabled() else {
        return Limit::Send(false);
    };
    let key = answer_key(scratch, query, settings);
    let verdict = check(key, &settings.responses, settings.slip);
    report(scratch, key, verdict);
    enforce(scratch, query.ip.v6, settings, verdict)
}

/// Gives back the response [`response`] counted for `query` (`Limit::Send(true)`): the reply
/// was not sent after all, the query goes on to the socket path, which counts its answer.
#[inline(always)]
pub fn refund(scratch: *mut Scratch, query: &Query) {
    let Some(settings) = RRL_SETTINGS.get(0) else {
        return;
    };
    let key = answer_key(scratch, query, settings);
    if let Some(slot) = RRL_BUCKETS.get_ptr_mut(slot_of(key)) {
        // SAFETY: as in `check`.
        let slot = unsafe { &mut *slot };
        if slot.key == *key {
            slot.bucket.tat_ns = slot
                .bucket
                .tat_ns
                .saturating_sub(settings.responses.interval_ns);
            untally(Tally::AnsweredV4.family(query.ip.v6));
        }
    }
}

/// Limits a query the program is about to pass: [`Limit::Drop`] or [`Limit::Send`]. Datagrams
/// that are not UDP to the DNS port are never counted.
#[inline(always)]
pub fn passed(scratch: *mut Scratch) -> Limit {
    // SAFETY: this CPU's scratch value, used only by this program run.
    let family = unsafe { (*scratch).source_family };
    if family == 0 {
        return Limit::Send(false);
    }
    let Some(settings) = enabled() else {
        return Limit::Send(false);
    };
    let v6 = family == 6;
    let key = key(scratch, v6, settings, Response::Passed);
    // Nothing slips: a passed query has no reply of the program's to truncate.
    let verdict = check(key, &settings.passed, 0);
    report(scratch, key, verdict);
    match verdict {
        Verdict::Within { .. } => Limit::Send(false),
        over => match enforce(scratch, v6, settings, over) {
            Limit::Send(_) => Limit::Send(false),
            Limit::Slip | Limit::Drop => Limit::Drop,
        },
    }
}

/// Whether rate limiting is on (enforcing or logging).
#[inline(always)]
pub fn is_on() -> bool {
    enabled().is_some()
}

/// The settings, if rate limiting is on.
#[inline(always)]
fn enabled() -> Option<&'static Settings> {
    RRL_SETTINGS
        .get(0)
        .filter(|settings| settings.flags & ENABLED != 0)
}

/// The bucket key of a positive answer to `query`: its owner name and type.
#[inline(always)]
fn answer_key<'a>(scratch: *mut Scratch, query: &Query, settings: &'a Settings) -> &'a Key {
    let dns = &query.dns;
    let digest = name_digest(dns.name.hash, dns.name.len, dns.qtype);
    key(scratch, query.ip.v6, settings, Response::Positive(digest))
}

/// The source's prefix, as the settings ask.
#[inline(always)]
fn prefix(scratch: *mut Scratch, v6: bool, settings: &Settings) -> u64 {
    // SAFETY: this CPU's scratch value, used only by this program run.
    let high = unsafe { (*scratch).source[0] }.to_le_bytes();
    if v6 {
        prefix_v6(high, settings.v6_prefix)
    } else {
        prefix_v4([high[0], high[1], high[2], high[3]], settings.v4_prefix)
    }
}

/// The bucket key of `response` to the source, written to `scratch` (`Scratch::rrl`).
#[inline(always)]
fn key(scratch: *mut Scratch, v6: bool, settings: &Settings, response: Response) -> &Key {
    let prefix = prefix(scratch, v6, settings);
    // SAFETY: this CPU's scratch value, used only by this program run.
    let key = unsafe { &mut (*scratch).rrl.key };
    *key = Key::new(prefix, v6, response);
    key
}

/// Counts one response in `key`'s bucket, which takes over its entry of the table from any
/// other key (`lbdns_common::rrl::Slot`).
#[inline(always)]
fn check(key: &Key, rate: &Rate, slip: u32) -> Verdict {
    // SAFETY: a helper without arguments.
    let now = unsafe { bpf_ktime_get_coarse_ns() };
    let Some(slot) = RRL_BUCKETS.get_ptr_mut(slot_of(key)) else {
        return Verdict::Within { ended: false };
    };
    // SAFETY: the entry's value, which lives as long as the map; other CPUs may update it at
    // once, which `admit` accounts for (and a key taking the entry over, at worst, resets it).
    let slot = unsafe { &mut *slot };
    if slot.key != *key {
        slot.key = *key;
        slot.bucket = Bucket::default();
    }
    admit(&mut slot.bucket, now, rate, slip)
}

/// Tells the daemon when `key` starts or stops being limited.
#[inline(always)]
fn report(scratch: *mut Scratch, key: &Key, verdict: Verdict) {
    let started = verdict.started();
    if started || verdict == (Verdict::Within { ended: true }) {
        // SAFETY: this CPU's scratch value, used only by this program run.
        let event = unsafe { &mut (*scratch).rrl.event };
        *event = Event {
            key: *key,
            started: u32::from(started),
            _pad: 0,
        };
        let _ = RRL_EVENTS.output::<Event>(event, 0);
    }
}

/// What a verdict means for this packet, counted by family.
#[inline(always)]
fn enforce(scratch: *mut Scratch, v6: bool, settings: &Settings, verdict: Verdict) -> Limit {
    let (over, limited) = match verdict {
        Verdict::Within { .. } => {
            tally(Tally::AnsweredV4.family(v6));
            return Limit::Send(true);
        }
        Verdict::Slip { .. } => (Tally::SlippedV4.family(v6), Limit::Slip),
        Verdict::Drop { .. } => (Tally::DroppedV4.family(v6), Limit::Drop),
    };
    if allowed(scratch, v6) {
        tally(Tally::AllowedV4.family(v6));
        return Limit::Send(false);
    }
    tally(over);
    if settings.flags & LOG_ONLY != 0 {
        return Limit::Send(false);
    }
    limited
}

/// Whether the source is on the allow list.
#[inline(always)]
fn allowed(scratch: *mut Scratch, v6: bool) -> bool {
    // SAFETY: this CPU's scratch value, used only by this program run.
    let source = unsafe { (*scratch).source };
    if v6 {
        let mut address = [0u8; 16];
        address[..8].copy_from_slice(&source[0].to_le_bytes());
        address[8..].copy_from_slice(&source[1].to_le_bytes());
        RRL_ALLOW_V6.get(AllowKey::new(128, address)).is_some()
    } else {
        let high = source[0].to_le_bytes();
        let address = [high[0], high[1], high[2], high[3]];
        RRL_ALLOW_V4.get(AllowKey::new(32, address)).is_some()
    }
}
