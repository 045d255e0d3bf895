//! The record types the fast path answers.

/// The record types the fast path answers. The discriminant is stored in name records
/// ([`crate::names`]).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddrType {
    /// IPv4 address records (type 1); answer sets live in `ANSWERS_V4`.
    A = 1,
    /// IPv6 address records (type 28); answer sets live in `ANSWERS_V6`.
    Aaaa = 2,
}

impl AddrType {
    /// The RR type code on the wire.
    pub const fn rr_type(self) -> u16 {
        match self {
            AddrType::A => 1,
            AddrType::Aaaa => 28,
        }
    }

    /// The type for an RR type code, if the fast path answers it.
    pub const fn from_rr_type(rr_type: u16) -> Option<Self> {
        match rr_type {
            1 => Some(AddrType::A),
            28 => Some(AddrType::Aaaa),
            _ => None,
        }
    }

    /// The type whose discriminant (as stored in name records) is `discriminant`.
    pub const fn from_discriminant(discriminant: u8) -> Option<Self> {
        match discriminant {
            1 => Some(AddrType::A),
            2 => Some(AddrType::Aaaa),
            _ => None,
        }
    }

    /// The length of one address (RDLENGTH of one record).
    pub const fn addr_len(self) -> usize {
        match self {
            AddrType::A => 4,
            AddrType::Aaaa => 16,
        }
    }
}
