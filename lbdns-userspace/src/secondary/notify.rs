//! NOTIFY in (RFC 1996): a primary tells us its zone changed, and we refresh at once.
//!
//! Only a NOTIFY from one of the zone's configured primaries, signed with the zone's TSIG key
//! when it has one (RFC 8945; the reply is then signed too), rings its task. A bad signature
//! gets the §5.2 NOTAUTH errors; anyone else is REFUSED and logged (RFC 1996 §3.10 leaves the policy to us; NSD and Knot refuse what
//! their ACL does not allow). A NOTIFY for a zone we are not secondary for gets NOTAUTH, as
//! Knot answers (NSD answers NXDOMAIN). The reply echoes the question with QR and AA set
//! (RFC 1996 §3.7, §4.7).

use std::net::IpAddr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::LowerName;

use super::{Handle, Secondaries};
use crate::authority::Catalog;
use crate::tsig::{self, ResponseSigner, SignedRequest, TsigError};

/// The NOTIFY opcode (RFC 1996 §3.1).
const NOTIFY: u8 = 4;

/// Whether `message` is a NOTIFY request, which [`answer`] handles instead of the authority.
pub fn is_notify(message: &[u8]) -> bool {
    message.len() >= 4 && message[2] & 0x80 == 0 && (message[2] >> 3) & 0x0f == NOTIFY
}

/// The reply to the NOTIFY `message` from `peer`; `None` for one too broken to answer.
/// `catalog` tells a zone served from a file (REFUSED) from one not served (NOTAUTH).
pub fn answer(
    secondaries: &Secondaries,
    catalog: &Catalog,
    message: &[u8],
    peer: IpAddr,
) -> Option<Vec<u8>> {
    let request = match Message::from_vec(message) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(%peer, %error, "malformed NOTIFY dropped");
            return None;
        }
    };
    let mut signed = None;
    let rcode = match request.queries.as_slice() {
        [question] => {
            let origin = LowerName::new(question.name());
            match secondaries.get(&origin) {
                None if catalog.zone_at(question.name()).is_some() => {
                    tracing::info!(%peer, zone = %question.name(), "NOTIFY for a zone served from a file: REFUSED");
                    ResponseCode::Refused
                }
                None => {
                    tracing::info!(%peer, zone = %question.name(), "NOTIFY for a zone we are not secondary for: NOTAUTH");
                    ResponseCode::NotAuth
                }
                Some(zone) if !zone.spec.primaries.iter().any(|p| p.ip() == peer) => {
                    tracing::warn!(%peer, zone = %zone.spec.origin, "NOTIFY from an address that is not a primary of the zone: REFUSED");
                    ResponseCode::Refused
                }
                Some(zone) => match verify(secondaries, &zone, message, peer) {
                    Err(Some(error)) => return tsig::error_reply(message, &error),
                    Err(None) => ResponseCode::Refused,
                    Ok(request) => {
                        signed = request;
                        tracing::info!(%peer, zone = %zone.spec.origin, "NOTIFY from a primary: refreshing");
                        zone.wake.notify_one();
                        ResponseCode::NoError
                    }
                },
            }
        }
        _ => ResponseCode::FormErr,
    };
    let mut reply = Message::new(request.metadata.id, MessageType::Response, OpCode::Notify);
    reply.metadata.authoritative = rcode == ResponseCode::NoError;
    reply.metadata.response_code = rcode;
    reply.add_queries(request.queries);
    let mut reply = reply.to_vec().ok()?;
    if let Some(signed) = signed {
        ResponseSigner::new(&signed).sign(&mut reply, tsig::now());
    }
    Some(reply)
}

/// Checks the TSIG of a NOTIFY for `zone`: `Ok(Some(..))` signed with the zone's key,
/// `Ok(None)` when the zone has no key; otherwise, logged, the §5.2 error to answer with, or
/// `None` (REFUSED) for a NOTIFY unsigned or signed with another key.
fn verify(
    secondaries: &Secondaries,
    zone: &Handle,
    message: &[u8],
    peer: IpAddr,
) -> Result<Option<SignedRequest>, Option<TsigError>> {
    let Some(wanted) = &zone.spec.tsig else {
        return Ok(None);
    };
    let origin = &zone.spec.origin;
    match tsig::verify_request(message, &secondaries.keys(), tsig::now()) {
        Ok(Some(signed)) if signed.key().name == *wanted => Ok(Some(signed)),
        Ok(other) => {
            let key = other.map(|s| s.key().name.to_string());
            tracing::warn!(%peer, zone = %origin, ?key, "NOTIFY not signed with the zone's key {wanted}: REFUSED");
            Err(None)
        }
        Err(error) => {
            tracing::warn!(%peer, zone = %origin, "NOTIFY with a bad TSIG: {error}");
            Err(Some(error))
        }
    }
}
