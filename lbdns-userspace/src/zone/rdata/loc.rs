//! LOC (RFC 1876 §3): `d1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [siz[m] [hp[m] [vp[m]]]]`.

use super::fields::Fields;
use crate::zone::lexer::Token;
use crate::zone::ZoneErrorKind;

/// RFC 1876 §3: a point 1m across, 10km horizontal and 10m vertical precision, in cm.
const DEFAULT_SIZE: u64 = 100;
const DEFAULT_HORIZONTAL: u64 = 1_000_000;
const DEFAULT_VERTICAL: u64 = 1_000;
/// The largest size or precision, 9e9 cm (a mantissa and exponent of 9).
const MAX_PRECISION: u64 = 9_000_000_000;
/// Altitude is stored in cm above a base 100000m below the WGS 84 spheroid.
const ALTITUDE_BASE: i64 = 10_000_000;
/// Latitude and longitude are thousandths of an arc second offset by 2^31 (the equator or
/// the prime meridian).
const EQUATOR: u32 = 1 << 31;
const MILLIS_PER_DEGREE: u32 = 3_600_000;

pub fn loc(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let latitude = coordinate(f, "latitude", 90, ('N', 'S'))?;
    let longitude = coordinate(f, "longitude", 180, ('E', 'W'))?;
    let altitude = altitude(f)?;
    let mut precisions = [DEFAULT_SIZE, DEFAULT_HORIZONTAL, DEFAULT_VERTICAL];
    for (i, what) in ["size", "horizontal precision", "vertical precision"]
        .into_iter()
        .enumerate()
    {
        if f.is_done() {
            break;
        }
        let token = f.token(what)?;
        precisions[i] = metres(&token.text, false)
            .and_then(|cm| u64::try_from(cm).ok())
            .filter(|&cm| cm <= MAX_PRECISION)
            .ok_or_else(|| f.bad(what, "metres from 0 to 90000000.00", token))?;
    }
    let mut wire = vec![0];
    wire.extend(precisions.map(mantissa_exponent));
    wire.extend(latitude.to_be_bytes());
    wire.extend(longitude.to_be_bytes());
    wire.extend(altitude.to_be_bytes());
    Ok(wire)
}

/// Degrees, optional minutes and seconds, then the hemisphere letter.
fn coordinate(
    f: &mut Fields<'_>,
    what: &str,
    max_degrees: u32,
    (positive, negative): (char, char),
) -> Result<u32, ZoneErrorKind> {
    let hemisphere = |token: &Token| match token.text.to_ascii_uppercase().as_str() {
        text if text == positive.to_string() => Some(true),
        text if text == negative.to_string() => Some(false),
        _ => None,
    };
    let degrees: u32 = f.number(&format!("{what} degrees"))?;
    // Saturating: far too many degrees must reach the range check below, not overflow.
    let mut millis = degrees.saturating_mul(MILLIS_PER_DEGREE);
    let expected = format!("minutes, seconds or {positive}/{negative}");
    let mut token = f.token(&format!("{what} hemisphere ({positive} or {negative})"))?;
    let mut north_or_east = hemisphere(token);
    // Minutes are whole; seconds have up to three decimals, so they count in thousandths.
    for (scale, places, limit) in [(60_000, 0, 59), (1, 3, 59_999)] {
        if north_or_east.is_some() {
            break;
        }
        let value = fixed(&token.text, places)
            .and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v <= limit)
            .ok_or_else(|| f.bad(what, &expected, token))?;
        millis = millis.saturating_add(value * scale);
        token = f.token(&format!("{what} hemisphere ({positive} or {negative})"))?;
        north_or_east = hemisphere(token);
    }
    let north_or_east =
        north_or_east.ok_or_else(|| f.bad(what, &format!("{positive} or {negative}"), token))?;
    if degrees > max_degrees || millis > max_degrees * MILLIS_PER_DEGREE {
        return Err(f.error(format!("{what}: more than {max_degrees} degrees")));
    }
    Ok(if north_or_east {
        EQUATOR + millis
    } else {
        EQUATOR - millis
    })
}

fn altitude(f: &mut Fields<'_>) -> Result<u32, ZoneErrorKind> {
    let token = f.token("altitude")?;
    metres(&token.text, true)
        .map(|cm| cm + ALTITUDE_BASE)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| f.bad("altitude", "metres from -100000.00 to 42849672.95", token))
}

/// `[-]digits[.cc][m]` in centimetres.
fn metres(text: &str, signed: bool) -> Option<i64> {
    let text = text.strip_suffix(['m', 'M']).unwrap_or(text);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        _ => (false, text),
    };
    let cm = i64::try_from(fixed(digits, 2)?).ok()?;
    Some(if negative { -cm } else { cm })
}

/// A decimal with at most `places` fraction digits, scaled to an integer.
fn fixed(text: &str, places: usize) -> Option<u64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 12 || fraction.len() > places {
        return None;
    }
    if !digits(whole) || !digits(fraction) {
        return None;
    }
    let padded = format!("{whole}{fraction:0<places$}");
    padded.parse().ok()
}

/// RFC 1876 §2: size and precision are `mantissa * 10^exponent` cm, in one octet. Values
/// between two representable ones round down, as BIND's and ldns's readers do.
fn mantissa_exponent(cm: u64) -> u8 {
    let mut exponent = 0;
    while exponent < 9 && cm >= 10u64.pow(exponent + 1) {
        exponent += 1;
    }
    let mantissa = (cm / 10u64.pow(exponent)).min(9) as u8;
    mantissa << 4 | exponent as u8
}

#[cfg(test)]
mod tests {
    use super::super::tests::{hex, rejects, wire};
    use super::mantissa_exponent;

    const LOC: u16 = 29;

    #[test]
    fn rfc_1876_section_3_every_field_and_the_defaults() {
        // RFC 1876 §4's example, written in full and with the optional fields left out.
        let full = wire(LOC, "42 21 54 N 71 06 18 W -24m 30m").unwrap();
        assert_eq!(full, hex("0033161389172dd070be15f000988d20"));
        assert_eq!(
            wire(LOC, "42 21 54 N 71 06 18 W -24m 30m 10000m 10m").unwrap(),
            full
        );
        assert_eq!(
            wire(LOC, "52 22 N 4 53 W 0").unwrap(),
            hex("001216138b3c96407ef3c02000989680")
        );
        assert_eq!(
            wire(LOC, "90 S 180 E 42849672.95m 90000000m 15m 0.05m").unwrap(),
            hex("009913506cb02700a69fb200ffffffff")
        );
    }

    #[test]
    fn rfc_1876_section_2_size_rounds_down_to_one_digit() {
        assert_eq!(mantissa_exponent(0), 0x00);
        assert_eq!(mantissa_exponent(100), 0x12);
        assert_eq!(mantissa_exponent(1_500), 0x13);
        assert_eq!(mantissa_exponent(9_000_000_000), 0x99);
    }

    #[test]
    fn bad_loc_fields_are_named() {
        rejects(LOC, "91 N 0 E 0", "latitude: more than 90 degrees");
        rejects(LOC, "90 0 0.001 N 0 E 0", "latitude: more than 90 degrees");
        rejects(LOC, "0 N 181 E 0", "longitude: more than 180 degrees");
        rejects(
            LOC,
            "0 60 N 0 E 0",
            "latitude: expected minutes, seconds or N/S, found '60'",
        );
        rejects(LOC, "0 1 60 N 0 E 0", "found '60'");
        rejects(LOC, "0 1 1.0001 N 0 E 0", "found '1.0001'");
        rejects(LOC, "0 1 1 X 0 E 0", "latitude: expected N or S, found 'X'");
        rejects(LOC, "0 E 0 N 0", "latitude");
        rejects(LOC, "0 N 0 E", "missing altitude");
        rejects(
            LOC,
            "0 N 0 E -100000.01m",
            "altitude: expected metres from -100000.00",
        );
        rejects(LOC, "0 N 0 E 42849672.96", "altitude");
        rejects(
            LOC,
            "0 N 0 E 0 90000000.01m",
            "size: expected metres from 0 to 90000000.00",
        );
        rejects(LOC, "0 N 0 E 0 1 -1", "horizontal precision");
        rejects(LOC, "0 N 0 E 0 1 1 1.001", "vertical precision");
        rejects(LOC, "0 N 0 E 0 1 1 1 1", "unexpected extra field");
        rejects(LOC, "0 N", "missing longitude degrees");
    }
}
