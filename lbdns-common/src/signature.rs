//! The signature store: for a signed hot RRset, the RRSIG records a DO=1 answer carries right
//! after the address records (RFC 4035 §3.1.1), kept as the octets the program copies.
//!
//! Values live in the `SIGNATURES` array (one for both families), written by userspace only
//! (`lbdns_userspace::maps`), through a memory mapping, into entries no program can reach. An
//! answer set names its entry ([`crate::answer::AnswerSet::signatures`], valid when its flags
//! have [`crate::answer::SIGNATURES`]), so storing the set's slot number switches addresses
//! and signatures at once; an entry is free again, like a slot, only after a grace period that
//! follows the switch away from the set naming it ([`crate::publish`]). A published entry is
//! never written.
//!
//! Why whole records rather than RDATA: every field but the RDATA is the same in each reply
//! (owner = a pointer to the question, type RRSIG, class IN, the RRSIG RRset's TTL, RDLENGTH),
//! so the program copies one block of 8-byte words and adds one precomputed checksum share.

use crate::csum::folded_sum;

/// The most octets of RRSIG records one RRset's signatures take: two records of 312 octets
/// (12 fixed, RDATA up to 300: 18 fixed octets, a signer name, and a signature of 64 octets for
/// ECDSA P-256 and Ed25519, 256 for RSA-2048), or more, smaller ones. Signatures that do not
/// fit are not stored; the set keeps [`crate::answer::SIGNED`] alone, and the program passes
/// DO=1 queries for it to the socket path.
pub const MAX_SIGNATURE_BYTES: usize = 624;

/// The octets of an RRSIG record besides its RDATA: owner pointer, type, class, TTL, RDLENGTH.
pub const RRSIG_FIXED_LEN: usize = 12;

/// RR type RRSIG (RFC 4034 §3).
pub const TYPE_RRSIG: u16 = 46;

/// The RRSIG records of one RRset, as the program copies them into a reply.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signatures {
    /// Octets of `records` in use: 1..=[`MAX_SIGNATURE_BYTES`]. The program passes DO=1 queries
    /// for the set when it is outside that range.
    pub len: u16,
    /// How many records `records` holds: 1 or more (the reply's ANCOUNT grows by this).
    pub count: u16,
    /// The one's complement sum of `records[..len]` as big-endian 16-bit words from its first
    /// octet (an odd last octet is the high half of a word), folded to 16 bits: the records'
    /// share of the UDP checksum, computed once rather than per reply. The octets from `len`
    /// on are zero, so summing all of them gives the same.
    pub sum: u16,
    /// Zero; explicit so that the value has no uninitialised bytes.
    pub _pad: u16,
    /// The records, back to back: `c0 0c`, type 46, class 1, TTL, RDLENGTH, RDATA. Zero from
    /// `len` on. 8-aligned, so the program reads it in 8-byte words.
    pub records: [u8; MAX_SIGNATURE_BYTES],
}

impl Signatures {
    /// The records of the RRSIGs `rdatas` (wire-format RDATA, in the order the socket path sends
    /// them) with the RRSIG RRset's `ttl`; `None` if there are none or they take more than
    /// [`MAX_SIGNATURE_BYTES`].
    pub fn new<'a>(ttl: u32, rdatas: impl IntoIterator<Item = &'a [u8]>) -> Option<Self> {
        let mut records = [0; MAX_SIGNATURE_BYTES];
        let mut len = 0;
        let mut count: u16 = 0;
        for rdata in rdatas {
            let end = len + RRSIG_FIXED_LEN + rdata.len();
            if end > MAX_SIGNATURE_BYTES {
                return None;
            }
            let [t0, t1, t2, t3] = ttl.to_be_bytes();
            let [type_hi, type_lo] = TYPE_RRSIG.to_be_bytes();
            let [rdlen_hi, rdlen_lo] = (rdata.len() as u16).to_be_bytes();
            records[len..len + RRSIG_FIXED_LEN].copy_from_slice(&[
                0xc0, 0x0c, type_hi, type_lo, 0, 1, t0, t1, t2, t3, rdlen_hi, rdlen_lo,
            ]);
            records[len + RRSIG_FIXED_LEN..end].copy_from_slice(rdata);
            len = end;
            count += 1;
        }
        if count == 0 {
            return None;
        }
        Some(Self {
            len: len as u16,
            count,
            sum: folded_sum(&records),
            _pad: 0,
            records,
        })
    }
}

/// The 8-byte words of [`Signatures::records`].
pub const SIGNATURE_WORDS: usize = MAX_SIGNATURE_BYTES / 8;

const _: () = {
    assert!(MAX_SIGNATURE_BYTES.is_multiple_of(8));
    assert!(core::mem::offset_of!(Signatures, records) == 8);
    assert!(core::mem::size_of::<Signatures>() == 8 + MAX_SIGNATURE_BYTES);
    assert!(core::mem::align_of::<Signatures>() == 8);
};

#[cfg(feature = "user")]
// SAFETY: four `u16`s then bytes, no implicit padding (asserted above); every bit pattern is
// valid.
unsafe impl aya::Pod for Signatures {}
