//! RFC 1982 serial number arithmetic, SERIAL_BITS = 32: serials wrap, so "newer" is "ahead by
//! less than half the space".

/// Whether `a` is greater than `b`. Exactly half the space apart is undefined (§3.2) and
/// counts as neither greater nor lower, so such a serial is never taken as newer.
pub(super) fn greater(a: u32, b: u32) -> bool {
    let ahead = a.wrapping_sub(b);
    ahead != 0 && ahead < 1 << 31
}

#[cfg(test)]
mod tests {
    use super::greater;

    #[test]
    fn rfc1982_section3_2_comparison_wraps() {
        assert!(greater(2, 1));
        assert!(!greater(1, 2));
        assert!(!greater(7, 7));
        // Wrapping: 0 follows 0xffff_ffff, and 100 is newer than 0xffff_ff00.
        assert!(greater(0, u32::MAX));
        assert!(greater(100, 0xffff_ff00));
        assert!(!greater(0xffff_ff00, 100));
        // Half the space apart is undefined: neither is greater.
        assert!(!greater(1 << 31, 0));
        assert!(!greater(0, 1 << 31));
    }
}
