//! The text encodings RDATA fields use: hex, base64, base32hex, RFC 4034 type bitmaps and
//! RRSIG timestamps. Pure functions over text; `Fields` turns their failures into errors.

use std::collections::BTreeSet;

use data_encoding::{BASE32_DNSSEC, BASE64, HEXLOWER_PERMISSIVE};

/// Hex digits of either case, an even number of them.
pub fn hex(text: &str) -> Option<Vec<u8>> {
    HEXLOWER_PERMISSIVE.decode(text.as_bytes()).ok()
}

/// RFC 4648 §4 base64 with padding.
pub fn base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.as_bytes()).ok()
}

/// RFC 4648 §7 base32 with the extended hex alphabet, no padding, either case (RFC 5155 §3.3).
pub fn base32hex(text: &str) -> Option<Vec<u8>> {
    BASE32_DNSSEC.decode(text.as_bytes()).ok()
}

/// RFC 4034 §4.1.2: the types in windows of 256, each a window number, a length and the
/// bitmap up to its last non-zero octet. Empty windows are left out.
pub fn type_bitmap(types: &BTreeSet<u16>) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut types = types.iter().copied().peekable();
    while let Some(&first) = types.peek() {
        let window = (first >> 8) as u8;
        let mut bits = [0u8; 32];
        while let Some(code) = types.next_if(|code| code >> 8 == u16::from(window)) {
            let low = (code & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
        }
        let len = bits.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        wire.push(window);
        wire.push(len as u8);
        wire.extend_from_slice(&bits[..len]);
    }
    wire
}

/// RFC 4034 §3.2: an RRSIG expiration or inception time, either `YYYYMMDDHHmmSS` in UTC or
/// seconds since the epoch. The 14-digit form is always a date: no 32-bit count has 14 digits.
/// Dates after 2106 wrap, as the field is compared in serial number arithmetic.
pub fn rrsig_time(text: &str) -> Option<u32> {
    if !text.bytes().all(|b| b.is_ascii_digit()) || text.is_empty() {
        return None;
    }
    if text.len() != 14 {
        return text.parse().ok();
    }
    let part = |range: std::ops::Range<usize>| text[range].parse::<i64>().ok();
    let (year, month, day) = (part(0..4)?, part(4..6)?, part(6..8)?);
    let (hour, minute, second) = (part(8..10)?, part(10..12)?, part(12..14)?);
    let valid = year >= 1970
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let seconds = days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds as u32)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar, counting whole eras of
/// 400 years (146097 days) from 0000-03-01 so that the leap day ends each counted year.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4034_section_3_2_time_forms() {
        assert_eq!(rrsig_time("19700101000000"), Some(0));
        assert_eq!(rrsig_time("20000229235959"), Some(951_868_799));
        assert_eq!(rrsig_time("20380119031408"), Some(1 << 31));
        assert_eq!(rrsig_time("21060207062816"), Some(0), "wraps after 2106");
        assert_eq!(rrsig_time("1234567890"), Some(1_234_567_890));
        assert_eq!(rrsig_time("4294967296"), None);
        assert_eq!(rrsig_time("20230229000000"), None, "not a leap year");
        assert_eq!(rrsig_time("20231301000000"), None);
        assert_eq!(rrsig_time("20230101240000"), None);
        assert_eq!(rrsig_time("2023-01-01"), None);
    }

    #[test]
    fn rfc_4034_section_4_1_2_bitmap_windows() {
        // RFC 4034 §4.3's example: A MX RRSIG NSEC TYPE1234.
        let types = BTreeSet::from([1, 15, 46, 47, 1234]);
        assert_eq!(
            type_bitmap(&types),
            [
                0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20
            ]
        );
        assert!(type_bitmap(&BTreeSet::new()).is_empty());
    }

    #[test]
    fn encodings_accept_either_case_and_reject_garbage() {
        assert_eq!(hex("aBcD"), Some(vec![0xab, 0xcd]));
        assert_eq!(hex("abc"), None);
        assert_eq!(base64("AQID"), Some(vec![1, 2, 3]));
        assert_eq!(base64("AQI"), None);
        assert_eq!(base32hex("C5H66P35"), base32hex("c5h66p35"));
        assert_eq!(base32hex("C5H66P35").unwrap(), b"abcde");
        assert_eq!(base32hex("WXYZ"), None);
    }
}
