//! The Internet checksum (RFC 1071), accumulated from the values the reply is built from.

/// A running one's complement sum of big-endian 16-bit words.
///
/// It is kept as a plain 64-bit sum and folded to 16 bits once, for the checksum field: 2^16
/// is 1 modulo 0xffff, so adding a 32-bit word adds its two halves, and the end-around carries
/// all come out in the one fold. Swapping the bytes of a 16-bit sum multiplies it by 2^8 modulo
/// 0xffff, so a sum of byte-swapped words is turned into the sum of the words by a shift, not
/// folded and swapped: a fold is a chain of dependent steps, and a reply had seven of them.
#[derive(Clone, Copy, Default)]
pub struct Csum(u64);

impl Csum {
    /// Adds one 16-bit word.
    #[inline(always)]
    pub fn add16(&mut self, word: u16) {
        self.0 += word as u64;
    }

    /// Adds two 16-bit words given as one big-endian 32-bit value.
    #[inline(always)]
    pub fn add32(&mut self, words: u32) {
        self.0 += words as u64;
    }

    /// Adds another sum.
    #[inline(always)]
    pub fn add(&mut self, other: Csum) {
        self.0 += other.0;
    }

    /// The sum of 16-bit words given the sum of the same words byte-swapped, as little-endian
    /// loads of big-endian data see them (RFC 1071 §2(B)).
    #[inline(always)]
    pub fn from_swapped(swapped: u64) -> Csum {
        Csum(times_256(swapped))
    }

    /// The sum of `n` copies of this sum.
    #[inline(always)]
    pub fn times(self, n: u64) -> Csum {
        Csum(self.0 * n)
    }

    /// Adds bytes that start on a word boundary; an odd last byte is the high half of a word.
    #[inline(always)]
    pub fn add_bytes(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            let low = if i + 1 < bytes.len() { bytes[i + 1] } else { 0 };
            self.add16(u16::from_be_bytes([bytes[i], low]));
            i += 2;
        }
    }

    /// The sum as if every word had its bytes swapped: the sum of a block that starts on an odd
    /// offset, from its sum as if it were aligned.
    #[inline(always)]
    pub fn byte_swapped(self) -> Csum {
        Csum(times_256(self.0))
    }

    /// The 16-bit one's complement sum.
    #[inline(always)]
    fn fold(self) -> u16 {
        let mut sum = (self.0 & 0xffff_ffff) + (self.0 >> 32);
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        sum as u16
    }

    /// The value for an IPv4 header checksum field.
    #[inline(always)]
    pub fn ip_checksum(self) -> u16 {
        !self.fold()
    }

    /// The value for a UDP checksum field: 0 means "no checksum", so a computed 0 is sent as
    /// 0xffff (RFC 768; mandatory for IPv6, RFC 8200 §8.1).
    #[inline(always)]
    pub fn udp_checksum(self) -> u16 {
        match !self.fold() {
            0 => 0xffff,
            checksum => checksum,
        }
    }
}

/// `sum` times 2^8, modulo 0xffff, below 2^41: the sum of the same 16-bit words with their
/// bytes swapped. `sum` is first reduced below 2^33 (2^32 is 1 modulo 0xffff), so that the
/// shift cannot overflow whatever has been added.
#[inline(always)]
fn times_256(sum: u64) -> u64 {
    ((sum & 0xffff_ffff) + (sum >> 32)) << 8
}
