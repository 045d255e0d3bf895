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
    admit, name_digest, prefix_v4, prefix_v6, Bucket, Event, Key, Rate, Response, Settings, Tally,
    Verdict, ENABLED, LOG_ONLY,
};

use crate::{
    maps::{tally, Scratch, RRL_ALLOW_V4, RRL_ALLOW_V6, RRL_BUCKETS, RRL_EVENTS, RRL_SETTINGS},
    parse::Query,
    verdict::{Skip, SLIP},
};

/// Limits the reply about to be sent to `query`: `Ok` sends it, `Err(SLIP)` sends a truncated
/// reply instead, `Err(Skip::Limited { slip: false })` nothing.
#[inline(always)]
pub fn response(scratch: *mut Scratch, query: &Query) -> Result<(), Skip> {
    let Some(settings) = RRL_SETTINGS.get(0) else {
        return Ok(());
    };
    if settings.flags & ENABLED == 0 {
        return Ok(());
    }
    let dns = &query.dns;
    let digest = name_digest(dns.name.hash, dns.name.len, dns.addr_type.rr_type());
    let v6 = query.ip.v6;
    let key = Key::new(
        prefix(scratch, v6, settings),
        v6,
        Response::Positive(digest),
    );
    let verdict = check(&key, &settings.responses, settings.slip);
    report(&key, verdict);
    enforce(scratch, v6, settings, verdict)
}

/// Limits a query the program is about to pass: `Err(Skip::Limited { slip: false })` drops it. Datagrams
/// that are not UDP to the DNS port are never counted.
#[inline(always)]
pub fn passed(scratch: *mut Scratch) -> Result<(), Skip> {
    // SAFETY: this CPU's scratch value, used only by this program run.
    let family = unsafe { (*scratch).source_family };
    if family == 0 {
        return Ok(());
    }
    let Some(settings) = RRL_SETTINGS.get(0) else {
        return Ok(());
    };
    if settings.flags & ENABLED == 0 {
        return Ok(());
    }
    let v6 = family == 6;
    let key = Key::new(prefix(scratch, v6, settings), v6, Response::Passed);
    // Nothing slips: a passed query has no reply of the program's to truncate.
    let verdict = check(&key, &settings.passed, 0);
    report(&key, verdict);
    match verdict {
        Verdict::Within { .. } => Ok(()),
        over => match enforce(scratch, v6, settings, over) {
            Ok(()) => Ok(()),
            Err(_) => Err(Skip::Limited { slip: false }),
        },
    }
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

/// Counts one response in `key`'s bucket.
#[inline(always)]
fn check(key: &Key, rate: &Rate, slip: u32) -> Verdict {
    // SAFETY: a helper without arguments.
    let now = unsafe { bpf_ktime_get_coarse_ns() };
    match RRL_BUCKETS.get_ptr_mut(key) {
        // SAFETY: the bucket's value, which lives while this program run holds it (RCU);
        // other CPUs may update it at once, which `admit` accounts for.
        Some(bucket) => admit(unsafe { &mut *bucket }, now, rate, slip),
        None => {
            let mut bucket = Bucket::default();
            let verdict = admit(&mut bucket, now, rate, slip);
            // A full map evicts its least recently used bucket; a failed insert only means
            // this response is not counted.
            let _ = RRL_BUCKETS.insert(key, bucket, 0);
            verdict
        }
    }
}

/// Tells the daemon when `key` starts or stops being limited.
#[inline(always)]
fn report(key: &Key, verdict: Verdict) {
    let started = verdict.started();
    if started || verdict == (Verdict::Within { ended: true }) {
        let event = Event {
            key: *key,
            started: u32::from(started),
            _pad: 0,
        };
        let _ = RRL_EVENTS.output::<Event>(&event, 0);
    }
}

/// What a verdict means for this packet, counted by family.
#[inline(always)]
fn enforce(
    scratch: *mut Scratch,
    v6: bool,
    settings: &Settings,
    verdict: Verdict,
) -> Result<(), Skip> {
    let (over, limited) = match verdict {
        Verdict::Within { .. } => {
            tally(Tally::AnsweredV4.family(v6));
            return Ok(());
        }
        Verdict::Slip { .. } => (Tally::SlippedV4.family(v6), SLIP),
        Verdict::Drop { .. } => (Tally::DroppedV4.family(v6), Skip::Limited { slip: false }),
    };
    if allowed(scratch, v6) {
        tally(Tally::AllowedV4.family(v6));
        return Ok(());
    }
    tally(over);
    if settings.flags & LOG_ONLY != 0 {
        return Ok(());
    }
    Err(limited)
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
