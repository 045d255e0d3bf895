//! The RDATA fields of one record, read in order, with errors that say which field is wrong
//! and what was expected.

use std::collections::BTreeSet;
use std::str::FromStr;

use hickory_proto::rr::{Name, RecordType};

use super::encoding;
use crate::zone::lexer::{unescape, Token};
use crate::zone::{name, rtype, ZoneErrorKind};

/// A cursor over the RDATA tokens of one record.
pub struct Fields<'a> {
    rtype: RecordType,
    tokens: &'a [Token],
    origin: Option<&'a Name>,
    next: usize,
}

/// Unsigned wire integers, so that range errors can state the range.
pub trait Unsigned: FromStr {
    const MAX: u64;
}

impl Unsigned for u8 {
    const MAX: u64 = u8::MAX as u64;
}
impl Unsigned for u16 {
    const MAX: u64 = u16::MAX as u64;
}
impl Unsigned for u32 {
    const MAX: u64 = u32::MAX as u64;
}

impl<'a> Fields<'a> {
    pub fn new(rtype: RecordType, tokens: &'a [Token], origin: Option<&'a Name>) -> Self {
        Self {
            rtype,
            tokens,
            origin,
            next: 0,
        }
    }

    pub fn rtype(&self) -> RecordType {
        self.rtype
    }

    /// Whether every field has been read.
    pub fn is_done(&self) -> bool {
        self.next == self.tokens.len()
    }

    /// An RDATA error for this record's type.
    pub fn error(&self, why: impl Into<String>) -> ZoneErrorKind {
        ZoneErrorKind::Rdata {
            rtype: self.rtype,
            why: why.into(),
        }
    }

    /// "`what`: expected `expected`, found '`text`'".
    pub fn bad(&self, what: &str, expected: &str, found: &Token) -> ZoneErrorKind {
        self.error(format!(
            "{what}: expected {expected}, found '{}'",
            found.text
        ))
    }

    /// The next field; its absence is an error naming it.
    pub fn token(&mut self, what: &str) -> Result<&'a Token, ZoneErrorKind> {
        let token = self
            .tokens
            .get(self.next)
            .ok_or_else(|| self.error(format!("missing {what}")))?;
        self.next += 1;
        Ok(token)
    }

    /// Every field not yet read.
    pub fn rest(&mut self) -> &'a [Token] {
        let rest = &self.tokens[self.next..];
        self.next = self.tokens.len();
        rest
    }

    /// Every field not yet read, at least one of them.
    pub fn rest_nonempty(&mut self, what: &str) -> Result<&'a [Token], ZoneErrorKind> {
        match self.rest() {
            [] => Err(self.error(format!("missing {what}"))),
            rest => Ok(rest),
        }
    }

    /// Fails if fields are left over.
    pub fn finish(&self) -> Result<(), ZoneErrorKind> {
        match self.tokens.get(self.next) {
            None => Ok(()),
            Some(extra) => Err(self.error(format!("unexpected extra field '{}'", extra.text))),
        }
    }

    pub fn number<T: Unsigned>(&mut self, what: &str) -> Result<T, ZoneErrorKind> {
        let token = self.token(what)?;
        self.parse_number(token, what)
    }

    pub fn parse_number<T: Unsigned>(&self, token: &Token, what: &str) -> Result<T, ZoneErrorKind> {
        let digits = !token.text.is_empty() && token.text.bytes().all(|b| b.is_ascii_digit());
        match token.text.parse() {
            Ok(n) if digits => Ok(n),
            _ => Err(self.bad(what, &format!("a number from 0 to {}", T::MAX), token)),
        }
    }

    pub fn name(&mut self, what: &str) -> Result<Name, ZoneErrorKind> {
        let token = self.token(what)?;
        name::parse(&token.text, self.origin).map_err(|e| self.error(format!("{what}: {e}")))
    }

    /// A character-string (RFC 1035 §3.3): escapes decoded, at most 255 octets.
    pub fn string(&mut self, what: &str) -> Result<Vec<u8>, ZoneErrorKind> {
        let token = self.token(what)?;
        let octets = unescape(&token.text).map_err(|e| self.error(format!("{what}: {e}")))?;
        if octets.len() > 255 {
            return Err(self.error(format!("{what}: longer than 255 octets")));
        }
        Ok(octets)
    }

    /// Base64 that may be split over several fields (RFC 4034 §2.2: white space is allowed).
    pub fn base64_rest(&mut self, what: &str) -> Result<Vec<u8>, ZoneErrorKind> {
        let text = joined(self.rest_nonempty(what)?);
        encoding::base64(&text)
            .ok_or_else(|| self.error(format!("{what}: expected base64, found '{text}'")))
    }

    /// Hexadecimal that may be split over several fields.
    fn hex_rest(&mut self, what: &str) -> Result<Vec<u8>, ZoneErrorKind> {
        let text = joined(self.rest_nonempty(what)?);
        encoding::hex(&text).ok_or_else(|| {
            self.error(format!(
                "{what}: expected an even number of hex digits, found '{text}'"
            ))
        })
    }
}

impl Fields<'_> {
    /// The rest of the fields as a hex digest made with `algorithm`, looked up in `lengths`
    /// (number, name, octets). A digest of a known algorithm must have its length: a cut-off
    /// paste is caught here rather than by a validating resolver.
    pub fn digest_rest(
        &mut self,
        what: &str,
        algorithm: u8,
        lengths: &[(u8, &str, usize)],
    ) -> Result<Vec<u8>, ZoneErrorKind> {
        let digest = self.hex_rest(what)?;
        match lengths.iter().find(|&&(number, ..)| number == algorithm) {
            Some(&(_, name, len)) if digest.len() != len => Err(self.error(format!(
                "{what}: {name} digests are {len} octets, found {}",
                digest.len()
            ))),
            _ => Ok(digest),
        }
    }

    /// The rest of the fields as an RFC 4034 §4.1.2 type bitmap (NSEC, NSEC3, CSYNC).
    pub fn type_bitmap_rest(&mut self) -> Result<Vec<u8>, ZoneErrorKind> {
        let mut types = BTreeSet::new();
        for token in self.rest() {
            let code = rtype::code(&token.text)
                .ok_or_else(|| self.bad("type bitmap", "type mnemonics or TYPEnnn", token))?;
            types.insert(code);
        }
        Ok(encoding::type_bitmap(&types))
    }
}

/// The text of `tokens` without the white space between them.
pub fn joined(tokens: &[Token]) -> String {
    tokens.iter().map(|t| t.text.as_str()).collect()
}

/// Appends the uncompressed wire form of `name`, its labels' case as written.
pub fn put_name(wire: &mut Vec<u8>, name: &Name) {
    for label in name.iter() {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label);
    }
    wire.push(0);
}
