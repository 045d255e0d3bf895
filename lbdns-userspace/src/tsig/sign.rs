//! Signing and verifying: requests (§4.3.3, §5.2), responses chained to their request (§4.3.1,
//! §5.3) and streams of responses (§5.3.1), and the error replies of §5.2.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::hmac;

use super::wire::{self, canonical_name, Fields, Found};
use super::{rcode, Algorithm, Key, KeyRing, TsigError, FUDGE, MAX_UNSIGNED_RUN};

/// RCODE NOTAUTH (RFC 8945 §5.2: "not authorized", the TSIG errors' RCODE).
const NOTAUTH: u8 = 9;
const FORMERR: u8 = 1;

/// Seconds since the epoch: the clock TSIG times are read against.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The MAC of a signed request, which the response's MAC covers (§4.3.1).
#[derive(Debug, Clone)]
pub struct RequestMac {
    mac: Vec<u8>,
}

/// Signs `message` (a request: a query, a transfer request, a NOTIFY) with `key` at `now`:
/// appends the TSIG record and counts it in ARCOUNT. Keep the returned MAC to verify the
/// response with a [`ResponseVerifier`].
pub fn sign_request(message: &mut Vec<u8>, key: &Key, now: u64) -> RequestMac {
    let fields = Fields {
        key_name: canonical_name(&key.name),
        algorithm: algorithm_name(key.algorithm),
        time_signed: now,
        fudge: FUDGE,
        error: 0,
        other: Vec::new(),
    };
    let mac = mac(key, &[message, &fields.variables()]);
    fields.append(message, &mac);
    RequestMac { mac }
}

/// A request whose TSIG verified: the key it was signed with, its MAC (which the reply's
/// covers) and the message without its TSIG record.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    key: Arc<Key>,
    mac: Vec<u8>,
    message: Vec<u8>,
}

impl SignedRequest {
    /// The key that signed the request, for access lists that name keys.
    pub fn key(&self) -> &Arc<Key> {
        &self.key
    }

    /// The request without its TSIG record (ARCOUNT one less), to be answered as usual.
    pub fn message(&self) -> &[u8] {
        &self.message
    }
}

/// Checks the TSIG of a request as a server does (§5.2): `Ok(None)` when there is none,
/// `Ok(Some(..))` when it verifies. Errors come in §5.2's order: the record unreadable
/// (FORMERR), the key unknown (BADKEY), the MAC wrong (BADSIG), the time outside the window
/// (BADTIME); [`error_reply`] turns each into its reply.
pub fn verify_request(
    message: &[u8],
    keys: &KeyRing,
    now: u64,
) -> Result<Option<SignedRequest>, TsigError> {
    let Some(found) = wire::find(message)? else {
        return Ok(None);
    };
    let key = keys
        .get(&found.key_name)
        .filter(|key| algorithm_of(&found) == Some(key.algorithm))
        .ok_or_else(|| TsigError::BadKey {
            name: found.key_name.to_string(),
            algorithm: found.algorithm.to_string(),
        })?;
    let signed = found.unsigned_message(message, true);
    check_mac(
        key,
        &found,
        &[&signed, &received_fields(&found).variables()],
    )?;
    if !in_window(found.time_signed, found.fudge, now) {
        return Err(TsigError::BadTime {
            signed: found.time_signed,
            fudge: found.fudge,
            now,
            key: Some(key.clone()),
        });
    }
    Ok(Some(SignedRequest {
        key: key.clone(),
        mac: found.mac.to_vec(),
        message: found.unsigned_message(message, false),
    }))
}

/// Signs the responses to one signed request, in order: the first covers the request's MAC
/// (§4.3.1), each later one the MAC before it and only the timers (§5.3.1). lbdns signs every
/// message of a stream, which every client accepts.
#[derive(Debug)]
pub struct ResponseSigner {
    key: Arc<Key>,
    /// The fields every signature carries; the time is set per message.
    fields: Fields,
    prior: Vec<u8>,
    first: bool,
}

impl ResponseSigner {
    pub fn new(request: &SignedRequest) -> Self {
        Self {
            fields: Fields {
                key_name: canonical_name(&request.key.name),
                algorithm: algorithm_name(request.key.algorithm),
                time_signed: 0,
                fudge: FUDGE,
                error: 0,
                other: Vec::new(),
            },
            key: request.key.clone(),
            prior: request.mac.clone(),
            first: true,
        }
    }

    /// The octets a signature adds to a message, to keep a reply within its size limit.
    pub fn overhead(&self) -> usize {
        self.fields.record_len(self.key.algorithm.mac_len())
    }

    /// Appends this message's TSIG record at `now`.
    pub fn sign(&mut self, message: &mut Vec<u8>, now: u64) {
        let mut fields = self.fields.clone();
        fields.time_signed = now;
        let covered: &[u8] = if self.first {
            &fields.variables()
        } else {
            &fields.timers()
        };
        let mac = mac(
            &self.key,
            &[&mac_prefix(&self.prior), &self.prior, message, covered],
        );
        fields.append(message, &mac);
        self.prior = mac;
        self.first = false;
    }
}

/// Verifies the responses to a signed request, one message at a time (§5.3.1): the first
/// must be signed; up to 99 unsigned ones may follow a signed one, each then covered by the
/// next signature; the last must be signed ([`ResponseVerifier::finish`]).
#[derive(Debug)]
pub struct ResponseVerifier {
    key: Key,
    prior: Vec<u8>,
    first: bool,
    /// The unsigned messages since the last signed one, as the next MAC covers them.
    pending: Vec<u8>,
    unsigned_run: usize,
}

impl ResponseVerifier {
    pub fn new(key: &Key, request: RequestMac) -> Self {
        Self {
            key: key.clone(),
            prior: request.mac,
            first: true,
            pending: Vec::new(),
            unsigned_run: 0,
        }
    }

    /// Checks one response message at `now` and returns it without its TSIG record.
    pub fn verify(&mut self, message: &[u8], now: u64) -> Result<Vec<u8>, TsigError> {
        let Some(found) = wire::find(message)? else {
            if self.first {
                return Err(TsigError::Unsigned);
            }
            self.unsigned_run += 1;
            if self.unsigned_run > MAX_UNSIGNED_RUN {
                return Err(TsigError::UnsignedRun);
            }
            self.pending.extend_from_slice(message);
            return Ok(message.to_vec());
        };
        if found.key_name != self.key.name || algorithm_of(&found) != Some(self.key.algorithm) {
            return Err(TsigError::BadKey {
                name: found.key_name.to_string(),
                algorithm: found.algorithm.to_string(),
            });
        }
        // §5.3.2: a server that could not check our key or MAC answers unsigned.
        if found.error != 0 && found.mac.is_empty() {
            return Err(TsigError::Peer(found.error));
        }
        let fields = received_fields(&found);
        let covered: &[u8] = if self.first {
            &fields.variables()
        } else {
            &fields.timers()
        };
        let signed = found.unsigned_message(message, true);
        check_mac(
            &self.key,
            &found,
            &[
                &mac_prefix(&self.prior),
                &self.prior,
                &self.pending,
                &signed,
                covered,
            ],
        )?;
        if found.error != 0 {
            return Err(TsigError::Peer(found.error));
        }
        if !in_window(found.time_signed, found.fudge, now) {
            return Err(TsigError::BadTime {
                signed: found.time_signed,
                fudge: found.fudge,
                now,
                key: None,
            });
        }
        self.prior = found.mac.to_vec();
        self.first = false;
        self.pending.clear();
        self.unsigned_run = 0;
        Ok(found.unsigned_message(message, false))
    }

    /// Whether the stream ended signed: at least one message, the last one signed.
    pub fn finish(&self) -> Result<(), TsigError> {
        if self.first || self.unsigned_run > 0 {
            return Err(TsigError::Unsigned);
        }
        Ok(())
    }
}

/// The reply §5.2 asks for when a request's TSIG fails: FORMERR for an unreadable record;
/// NOTAUTH with BADKEY or BADSIG in an unsigned TSIG (§5.3.2: never signed, the key or MAC
/// being in doubt); NOTAUTH with BADTIME signed with the request's key, its Time Signed the
/// request's and the server's time in Other Data, so the client can tell the skew. `None`
/// for errors that get no reply, and for a request that is itself a response.
pub fn error_reply(request: &[u8], error: &TsigError) -> Option<Vec<u8>> {
    let header = request.get(..12)?;
    if header[2] & 0x80 != 0 {
        return None;
    }
    let (rcode, tsig_error) = match error {
        TsigError::Malformed(_) => (FORMERR, None),
        TsigError::BadKey { .. } => (NOTAUTH, Some(rcode::BADKEY)),
        TsigError::BadSig(_) => (NOTAUTH, Some(rcode::BADSIG)),
        TsigError::BadTime { .. } => (NOTAUTH, Some(rcode::BADTIME)),
        TsigError::Unsigned | TsigError::UnsignedRun | TsigError::Peer(_) => return None,
    };
    let question_end = wire::question_end(request);
    let mut reply = request[..question_end.unwrap_or(12)].to_vec();
    // QR, the opcode and RD kept; CD kept; AA, TC, RA, AD clear (RFC 1035 §4.1.1).
    reply[2] = 0x80 | (header[2] & 0x79);
    reply[3] = (header[3] & 0x10) | rcode;
    let questions = if question_end.is_some() {
        [header[4], header[5]]
    } else {
        [0, 0]
    };
    reply[4..6].copy_from_slice(&questions);
    reply[6..12].fill(0);
    let Some(tsig_error) = tsig_error else {
        return Some(reply);
    };
    let found = wire::find(request).ok().flatten()?;
    let mut fields = Fields {
        key_name: canonical_name(&found.key_name),
        algorithm: canonical_name(&found.algorithm),
        time_signed: found.time_signed,
        fudge: found.fudge,
        error: tsig_error,
        other: Vec::new(),
    };
    match error {
        TsigError::BadTime {
            now,
            key: Some(key),
            ..
        } => {
            fields.other = wire::time_octets(*now).to_vec();
            let mac = mac(
                key,
                &[
                    &mac_prefix(found.mac),
                    found.mac,
                    &reply,
                    &fields.variables(),
                ],
            );
            fields.append(&mut reply, &mac);
        }
        _ => fields.append(&mut reply, &[]),
    }
    Some(reply)
}

/// The algorithm a received TSIG names, if lbdns implements it.
fn algorithm_of(found: &Found<'_>) -> Option<Algorithm> {
    Algorithm::from_name(&found.algorithm.to_ascii())
}

/// An algorithm's name in canonical wire form.
fn algorithm_name(algorithm: Algorithm) -> Vec<u8> {
    let label = algorithm.mnemonic().as_bytes();
    let mut out = Vec::with_capacity(label.len() + 2);
    out.push(label.len() as u8);
    out.extend_from_slice(label);
    out.push(0);
    out
}

/// The TSIG variables of a received record, as its signer hashed them.
fn received_fields(found: &Found<'_>) -> Fields {
    Fields {
        key_name: canonical_name(&found.key_name),
        algorithm: canonical_name(&found.algorithm),
        time_signed: found.time_signed,
        fudge: found.fudge,
        error: found.error,
        other: found.other.to_vec(),
    }
}

/// §4.3.1: a MAC is hashed after its length, as two octets.
fn mac_prefix(mac: &[u8]) -> [u8; 2] {
    (mac.len() as u16).to_be_bytes()
}

pub(super) fn mac(key: &Key, parts: &[&[u8]]) -> Vec<u8> {
    let mut context = hmac::Context::with_key(&key.hmac());
    for part in parts {
        context.update(part);
    }
    context.sign().as_ref().to_vec()
}

/// §5.2.2: the received MAC against the one computed over `parts`. A MAC may be truncated
/// (§5.2.2.1) to no less than half the hash and 10 octets; shorter or longer is FORMERR.
fn check_mac(key: &Key, found: &Found<'_>, parts: &[&[u8]]) -> Result<(), TsigError> {
    let full = key.algorithm.mac_len();
    let received = found.mac;
    if received.is_empty() {
        return Err(TsigError::BadSig(key.name.to_string()));
    }
    if received.len() > full || received.len() < (full / 2).max(10) {
        return Err(TsigError::Malformed(
            "MAC size is outside what RFC 8945 §5.2.2.1 allows",
        ));
    }
    let computed = mac(key, parts);
    // Constant time: how much of a forged MAC matched must not show in the timing.
    let difference = computed
        .iter()
        .zip(received)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if difference != 0 {
        return Err(TsigError::BadSig(key.name.to_string()));
    }
    Ok(())
}

/// §5.2.3: whether `now` is within `fudge` seconds of the time signed.
fn in_window(signed: u64, fudge: u16, now: u64) -> bool {
    now.abs_diff(signed) <= u64::from(fudge)
}
