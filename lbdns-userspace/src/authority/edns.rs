//! The socket path's one walk over a query's EDNS options, and the options a reply carries.
//!
//! [`read_options`] checks each option's framing and recognises the options the server
//! implements; every other option is skipped (RFC 6891 §6.1.2), so a malformed option of a kind
//! lbdns does not implement is not a FORMERR. A new option (DNS Cookies, RFC 7873; Client
//! Subnet, RFC 7871) gets a field in [`RequestOptions`], an arm in the walker's `match`, and
//! its reply value in [`ReplyOptions`], written in `lbdns_common::edns::REPLY_ORDER`. Each
//! option's own rules live in its module (`cookie`, `ecs`).

use hickory_proto::serialize::binary::BinEncoder;
use hickory_proto::ProtoError;
use lbdns_common::cookie::REPLY_LEN;
use lbdns_common::edns::{OPTION_CLIENT_SUBNET, OPTION_COOKIE, OPTION_NSID, REPLY_ORDER};

use super::cookie::{self, QueryCookie};
use super::ecs::{self, ClientSubnet, Ecs};
use super::identity::ServerIdentity;

/// The options of a query that the server acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// The query asks for the server's NSID (RFC 5001 §2.1). Its data, which a query should not
    /// carry, is ignored.
    pub nsid: bool,
    /// The query's DNS Cookie (RFC 7873).
    pub cookie: Option<QueryCookie>,
    /// The Client Subnet option (RFC 7871), as read by `ecs::read`: a malformed one is a
    /// FORMERR only while ECS is on, so it is kept rather than refused here.
    pub ecs: Option<Ecs>,
}

/// Options a query cannot be answered with, but FORMERR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadOptions {
    /// An option's code and length do not frame the RDATA exactly.
    Unframed,
    /// A COOKIE option of a malformed length (RFC 7873 §5.2.2), or a second one.
    Cookie,
}

/// Walks the options of an OPT record's RDATA: each is code, length, then that many octets,
/// and together they fill the RDATA.
pub fn read_options(mut rdata: &[u8]) -> Result<RequestOptions, BadOptions> {
    let mut options = RequestOptions::default();
    while !rdata.is_empty() {
        let Some(&[code_hi, code_lo, len_hi, len_lo]) = rdata.get(..4) else {
            return Err(BadOptions::Unframed);
        };
        let end = 4 + usize::from(u16::from_be_bytes([len_hi, len_lo]));
        let (Some(data), Some(rest)) = (rdata.get(4..end), rdata.get(end..)) else {
            return Err(BadOptions::Unframed);
        };
        match u16::from_be_bytes([code_hi, code_lo]) {
            OPTION_NSID => options.nsid = true,
            OPTION_COOKIE => options.cookie = Some(one_cookie(&options, data)?),
            OPTION_CLIENT_SUBNET => options.ecs = Some(ecs::read_once(options.ecs, data)),
            _ => {}
        }
        rdata = rest;
    }
    Ok(options)
}

/// The query's one COOKIE option: a second is as malformed as a bad length.
fn one_cookie(options: &RequestOptions, data: &[u8]) -> Result<QueryCookie, BadOptions> {
    match options.cookie {
        Some(_) => Err(BadOptions::Cookie),
        None => cookie::read(data).map_err(|_| BadOptions::Cookie),
    }
}

/// The options a reply's OPT record carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplyOptions<'a> {
    /// The NSID, when the query asked for it and one is configured.
    pub nsid: Option<&'a [u8]>,
    /// The COOKIE option's data (client cookie, server cookie), when the query had one.
    pub cookie: Option<[u8; REPLY_LEN]>,
    /// The Client Subnet echo (RFC 7871 §7.2.1), data and length, when the query had a valid
    /// one and ECS is on.
    pub ecs: Option<([u8; ecs::MAX_REPLY_LEN], usize)>,
}

impl<'a> ReplyOptions<'a> {
    /// What the server answers to the options the query asked with; the cookie is
    /// `authority::cookie::answer`'s. An ECS echo starts at scope 0
    /// ([`ReplyOptions::set_ecs_scope`] sets it once the answer is known).
    pub fn answering(
        identity: &'a ServerIdentity,
        asked: RequestOptions,
        cookie: Option<[u8; REPLY_LEN]>,
        ecs: Option<&ClientSubnet>,
    ) -> Self {
        Self {
            nsid: asked.nsid.then(|| identity.nsid()).flatten(),
            cookie,
            ecs: ecs.map(|subnet| ecs::reply_data(subnet, 0)),
        }
    }

    /// Sets the ECS echo's SCOPE PREFIX-LENGTH, if the reply carries one.
    pub fn set_ecs_scope(&mut self, scope: u8) {
        if let Some((data, _)) = &mut self.ecs {
            data[3] = scope;
        }
    }

    /// The data of the option `code`, if the reply carries it.
    fn data(&self, code: u16) -> Option<&[u8]> {
        match code {
            OPTION_NSID => self.nsid,
            OPTION_COOKIE => self.cookie.as_ref().map(|data| &data[..]),
            OPTION_CLIENT_SUBNET => self.ecs.as_ref().map(|(data, len)| &data[..*len]),
            _ => None,
        }
    }

    /// The octets the options take in the OPT RDATA.
    pub fn len(&self) -> usize {
        REPLY_ORDER
            .iter()
            .filter_map(|&code| self.data(code))
            .map(|data| 4 + data.len())
            .sum()
    }

    /// Writes the options in `REPLY_ORDER`.
    pub fn emit(&self, enc: &mut BinEncoder<'_>) -> Result<(), ProtoError> {
        for code in REPLY_ORDER {
            if let Some(data) = self.data(code) {
                enc.emit_u16(code)?;
                // `ServerIdentity` bounds every value far below 65535 octets.
                enc.emit_u16(data.len() as u16)?;
                enc.emit_vec(data)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6891_6_1_2_unknown_options_are_skipped_and_framing_checked() {
        let options = [
            0xfd, 0xe9, 0, 2, 0xab, 0xcd, 0, 11, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        assert_eq!(read_options(&options), Ok(RequestOptions::default()));
        assert_eq!(read_options(&[]), Ok(RequestOptions::default()));
        assert_eq!(read_options(&[0, 3, 0]), Err(BadOptions::Unframed));
        assert_eq!(read_options(&[0, 3, 0, 1]), Err(BadOptions::Unframed));
        assert_eq!(read_options(&[0, 8, 0, 0, 0xff]), Err(BadOptions::Unframed));
    }

    #[test]
    fn rfc5001_2_1_an_nsid_option_among_others_asks_for_the_nsid() {
        let asks = RequestOptions {
            nsid: true,
            ..Default::default()
        };
        let options = [0, 11, 0, 1, 7, 0, 3, 0, 0];
        assert_eq!(read_options(&options), Ok(asks));
        // A query should send it empty; one with data still asks.
        assert_eq!(read_options(&[0, 3, 0, 2, 1, 2]), Ok(asks));
    }

    #[test]
    fn rfc7873_5_2_2_a_malformed_or_second_cookie_is_bad() {
        let client = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
        let options = read_options(&client).unwrap();
        assert_eq!(options.cookie, Some(cookie::read(&client[4..]).unwrap()));
        assert_eq!(read_options(&[0, 10, 0, 1, 7]), Err(BadOptions::Cookie));
        assert_eq!(
            read_options(&[client, client].concat()),
            Err(BadOptions::Cookie)
        );
    }

    #[test]
    fn rfc5001_2_2_the_nsid_goes_out_only_when_asked_and_configured() {
        let asked = RequestOptions {
            nsid: true,
            ..Default::default()
        };
        let off = ServerIdentity::default();
        assert_eq!(
            ReplyOptions::answering(&off, asked, None, None),
            ReplyOptions::default()
        );
        let on = ServerIdentity::default()
            .with_nsid(b"host-17".to_vec())
            .unwrap();
        let reply = ReplyOptions::answering(&on, RequestOptions::default(), None, None);
        assert_eq!(reply, ReplyOptions::default());
        let reply = ReplyOptions::answering(&on, asked, None, None);
        assert_eq!(reply.len(), 11);
        let mut out = Vec::new();
        reply.emit(&mut BinEncoder::new(&mut out)).unwrap();
        assert_eq!(out, b"\0\x03\0\x07host-17");
    }

    #[test]
    fn rfc7873_5_2_the_cookie_follows_the_nsid() {
        let on = ServerIdentity::default().with_nsid(b"h".to_vec()).unwrap();
        let asked = RequestOptions {
            nsid: true,
            ..Default::default()
        };
        let reply = ReplyOptions::answering(&on, asked, Some([7; REPLY_LEN]), None);
        assert_eq!(reply.len(), 5 + 28);
        let mut out = Vec::new();
        reply.emit(&mut BinEncoder::new(&mut out)).unwrap();
        assert_eq!(out[..9], *b"\0\x03\0\x01h\0\x0a\0\x18");
        assert_eq!(out[9..], [7; REPLY_LEN]);
    }
}
