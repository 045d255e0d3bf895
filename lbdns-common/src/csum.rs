//! The checksum shares userspace computes once, when it writes a value the program copies into
//! replies (an NSID, RRSIG records, a negative answer's SOA), so that the program adds one
//! number instead of summing the octets of every reply.

/// The one's complement sum of `octets` as big-endian 16-bit words from the first octet (an odd
/// last octet is the high half of a word), folded to 16 bits (RFC 1071).
pub fn folded_sum(octets: &[u8]) -> u16 {
    let mut sum: u32 = octets
        .chunks(2)
        .map(|pair| {
            u32::from(u16::from_be_bytes([
                pair[0],
                pair.get(1).copied().unwrap_or(0),
            ]))
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_wrap_around_and_an_odd_octet_is_a_high_half() {
        assert_eq!(folded_sum(&[]), 0);
        assert_eq!(folded_sum(&[0x12]), 0x1200);
        assert_eq!(folded_sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        // 0xffff + 0x0002 = 0x10001, folded to 0x0002.
        assert_eq!(folded_sum(&[0xff, 0xff, 0x00, 0x02]), 0x0002);
    }
}
