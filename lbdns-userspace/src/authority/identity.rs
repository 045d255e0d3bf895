//! What the server says about itself when asked: its NSID (RFC 5001) and the CHAOS-class TXT
//! names `id.server`/`hostname.bind` (RFC 4892) and `version.bind`/`version.server`. Each is off
//! unless configured: an operator decides what the world may learn about a server.

use hickory_proto::rr::{Name, RecordType};

pub use lbdns_common::edns::MAX_NSID_LEN;
/// The longest identity or version: one TXT character-string (RFC 1035 §3.3).
pub const MAX_TXT_LEN: usize = 255;

/// A configured value the server cannot send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("an empty NSID asks for nothing; leave it out to send none")]
    EmptyNsid,
    #[error("an NSID of {0} octets; at most {MAX_NSID_LEN} are sent")]
    LongNsid(usize),
    #[error("{0} octets; a TXT string holds at most {MAX_TXT_LEN}")]
    LongText(usize),
}

/// The server's answers about itself, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerIdentity {
    nsid: Option<Box<[u8]>>,
    identity: Option<Box<[u8]>>,
    version: Option<Box<[u8]>>,
}

/// Where a CHAOS-class question goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chaos<'a> {
    /// One TXT record with this text, TTL 0, class CH.
    Txt(&'a [u8]),
    /// REFUSED: nothing configured for the name, or a type other than TXT or ANY, as NSD
    /// answers.
    Refused,
}

impl ServerIdentity {
    /// Sends `nsid` to queries that ask for it.
    pub fn with_nsid(mut self, nsid: Vec<u8>) -> Result<Self, IdentityError> {
        match nsid.len() {
            0 => return Err(IdentityError::EmptyNsid),
            len if len > MAX_NSID_LEN => return Err(IdentityError::LongNsid(len)),
            _ => {}
        }
        self.nsid = Some(nsid.into_boxed_slice());
        Ok(self)
    }

    /// Answers `id.server` and `hostname.bind` with `text`.
    pub fn with_identity(mut self, text: Vec<u8>) -> Result<Self, IdentityError> {
        self.identity = Some(txt(text)?);
        Ok(self)
    }

    /// Answers `version.bind` and `version.server` with `text`.
    pub fn with_version(mut self, text: Vec<u8>) -> Result<Self, IdentityError> {
        self.version = Some(txt(text)?);
        Ok(self)
    }

    /// The NSID to send to queries that ask for it.
    pub fn nsid(&self) -> Option<&[u8]> {
        self.nsid.as_deref()
    }

    /// The answer to a CHAOS-class question for `name` and `qtype`.
    pub fn chaos(&self, name: &Name, qtype: RecordType) -> Chaos<'_> {
        let text = match name.to_ascii().to_ascii_lowercase().as_str() {
            "id.server." | "hostname.bind." => self.identity.as_deref(),
            "version.bind." | "version.server." => self.version.as_deref(),
            _ => None,
        };
        match (text, qtype) {
            (Some(text), RecordType::TXT | RecordType::ANY) => Chaos::Txt(text),
            _ => Chaos::Refused,
        }
    }
}

/// `text` as one TXT character-string holds it.
fn txt(text: Vec<u8>) -> Result<Box<[u8]>, IdentityError> {
    if text.len() > MAX_TXT_LEN {
        return Err(IdentityError::LongText(text.len()));
    }
    Ok(text.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn rfc4892_2_identity_and_version_names_answer_only_when_configured() {
        let off = ServerIdentity::default();
        assert_eq!(
            off.chaos(&name("id.server."), RecordType::TXT),
            Chaos::Refused
        );
        let on = ServerIdentity::default()
            .with_identity(b"ns1".to_vec())
            .and_then(|id| id.with_version(b"v1".to_vec()))
            .unwrap();
        for (query, text) in [
            ("id.server.", &b"ns1"[..]),
            ("HOSTNAME.Bind.", b"ns1"),
            ("version.bind.", b"v1"),
            ("version.server.", b"v1"),
        ] {
            let expected = Chaos::Txt(text);
            assert_eq!(on.chaos(&name(query), RecordType::TXT), expected, "{query}");
            assert_eq!(on.chaos(&name(query), RecordType::ANY), expected, "{query}");
            assert_eq!(on.chaos(&name(query), RecordType::A), Chaos::Refused);
        }
        for other in ["authors.bind.", "x.id.server.", "server."] {
            assert_eq!(on.chaos(&name(other), RecordType::TXT), Chaos::Refused);
        }
        let identity_only = ServerIdentity::default()
            .with_identity(b"ns1".to_vec())
            .unwrap();
        assert_eq!(
            identity_only.chaos(&name("version.bind."), RecordType::TXT),
            Chaos::Refused
        );
    }

    #[test]
    fn values_the_server_cannot_send_are_rejected() {
        let none = ServerIdentity::default;
        assert_eq!(none().with_nsid(Vec::new()), Err(IdentityError::EmptyNsid));
        assert_eq!(
            none().with_nsid(vec![1; 129]),
            Err(IdentityError::LongNsid(129))
        );
        assert_eq!(
            none().with_version(vec![b'v'; 256]),
            Err(IdentityError::LongText(256))
        );
        assert!(none().with_nsid(vec![1; 128]).is_ok());
        assert!(none().with_identity(vec![b'i'; 255]).is_ok());
    }
}
