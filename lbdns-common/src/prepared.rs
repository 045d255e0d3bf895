//! Replies userspace prepares whole, for the program to copy after the question: NXDOMAIN
//! (`crate::negative`) and fixed replies (`crate::fixed`). Both live in BPF hash maps, whose
//! elements the kernel may hand to the next insertion as soon as one is replaced or removed;
//! one state word covers them all.
//!
//! # Publishing
//!
//! A program run reads `PREPARED_STATE`, then the elements. Userspace inserts new keys while
//! the program answers (no element a run may hold changes), but replaces or removes elements
//! only after storing 0 in the state and waiting for a grace period (no run that read
//! [`PREPARED_ON`] is still running), and stores [`PREPARED_ON`] again when it is done;
//! meanwhile the socket path answers (`lbdns_userspace::maps::prepared`).

/// The longest records the program copies: the longest SOA record (owner pointer, type,
/// class, TTL and RDLENGTH, two names of at most 255 octets, five counters), rounded up to
/// whole words.
pub const MAX_RECORD_LEN: usize = (2 + 10 + 255 + 255 + 20usize).next_multiple_of(8);

/// The 8-byte words of [`Records::octets`].
pub const RECORD_WORDS: usize = MAX_RECORD_LEN / 8;

/// The shortest records the program copies: it copies the last 8 octets as one word ending at
/// their end. (The shortest SOA record is 34.)
pub const MIN_RECORD_LEN: usize = 8;

/// The most compression pointers that move with the question: one ending each of an SOA
/// record's three names.
pub const MAX_POINTERS: usize = 3;

/// [`Pointer::to`]'s flag: the target is relative to the records' first octet, not to the
/// apex's first octet in the question.
pub const INTO_RECORD: u16 = 0x8000;

/// [`Records::flags`]: the zone is signed. A DO=1 query needs DNSSEC records the copy lacks
/// (NSEC or NSEC3, RRSIGs), which the socket path sends; the program passes it.
pub const SIGNED_ZONE: u8 = 1;

/// `PREPARED_STATE`'s value while the program may answer from the prepared replies.
pub const PREPARED_ON: u32 = 1;

/// A compression pointer in [`Records::octets`] that moves with the question.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pointer {
    /// Its offset in the records. They hold zeroes there.
    pub at: u16,
    /// The octets from the apex's start in the question to the target, or, with
    /// [`INTO_RECORD`], from the records' start.
    pub to: u16,
}

/// Records ready to copy after a question, and what the program needs to checksum them and
/// move their pointers.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Records {
    /// Octets of `octets` in use, at least [`MIN_RECORD_LEN`].
    pub len: u16,
    /// The one's complement sum of `octets` as big-endian 16-bit words from its first octet,
    /// folded to 16 bits, with the pointers' octets zero.
    pub sum: u16,
    /// [`SIGNED_ZONE`].
    pub flags: u8,
    /// Entries of `pointers` in use.
    pub pointer_count: u8,
    /// Zero; explicit so that the value has no uninitialised bytes.
    pub _pad: [u8; 6],
    /// The compression pointers that move with the question.
    pub pointers: [Pointer; MAX_POINTERS],
    /// The records, zero from `len` on and where the pointers go.
    pub octets: [u8; MAX_RECORD_LEN],
}

impl Default for Records {
    fn default() -> Self {
        Self {
            len: 0,
            sum: 0,
            flags: 0,
            pointer_count: 0,
            _pad: [0; 6],
            pointers: [Pointer::default(); MAX_POINTERS],
            octets: [0; MAX_RECORD_LEN],
        }
    }
}

const _: () = {
    assert!(core::mem::offset_of!(Records, pointers) == 12);
    assert!(core::mem::offset_of!(Records, octets) == 24);
    assert!(core::mem::size_of::<Records>() == 24 + MAX_RECORD_LEN);
};
