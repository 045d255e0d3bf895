//! NOTIFY in (RFC 1996): a primary tells us its zone changed, and we refresh at once.
//!
//! Only a NOTIFY from one of the zone's configured primaries rings its task; anyone else is
//! REFUSED and logged (RFC 1996 §3.10 leaves the policy to us; NSD and Knot refuse what
//! their ACL does not allow). A NOTIFY for a zone we are not secondary for gets NOTAUTH, as
//! Knot answers (NSD answers NXDOMAIN). The reply echoes the question with QR and AA set
//! (RFC 1996 §3.7, §4.7).

use std::net::IpAddr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::LowerName;

use super::Secondaries;

/// The NOTIFY opcode (RFC 1996 §3.1).
const NOTIFY: u8 = 4;

/// Whether `message` is a NOTIFY request, which [`answer`] handles instead of the authority.
pub fn is_notify(message: &[u8]) -> bool {
    message.len() >= 4 && message[2] & 0x80 == 0 && (message[2] >> 3) & 0x0f == NOTIFY
}

/// The reply to the NOTIFY `message` from `peer`; `None` for one too broken to answer.
pub fn answer(secondaries: &Secondaries, message: &[u8], peer: IpAddr) -> Option<Vec<u8>> {
    let request = match Message::from_vec(message) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(%peer, %error, "malformed NOTIFY dropped");
            return None;
        }
    };
    let rcode = match request.queries.as_slice() {
        [question] => {
            let origin = LowerName::new(question.name());
            match secondaries.get(&origin) {
                None => {
                    tracing::info!(%peer, zone = %question.name(), "NOTIFY for a zone we are not secondary for: NOTAUTH");
                    ResponseCode::NotAuth
                }
                Some(zone) if !zone.spec.primaries.iter().any(|p| p.ip() == peer) => {
                    tracing::warn!(%peer, zone = %zone.spec.origin, "NOTIFY from an address that is not a primary of the zone: REFUSED");
                    ResponseCode::Refused
                }
                Some(zone) => {
                    tracing::debug!(%peer, zone = %zone.spec.origin, "NOTIFY from a primary");
                    zone.wake.notify_one();
                    ResponseCode::NoError
                }
            }
        }
        _ => ResponseCode::FormErr,
    };
    let mut reply = Message::new(request.metadata.id, MessageType::Response, OpCode::Notify);
    reply.metadata.authoritative = true;
    reply.metadata.response_code = rcode;
    reply.add_queries(request.queries);
    reply.to_vec().ok()
}
