//! Presentation format, both ways: the corpus names types, classes and bytes in it, and every
//! reply is printed in it for the diffs.

use std::fmt::Write as _;

use anyhow::{ensure, Context, Result};
use hickory_proto::rr::RecordType;
use lbdns_tests::wire::flag;

/// The header's reserved Z bit (RFC 1035 §4.1.1), which must be zero.
pub const Z_FLAG: u16 = 0x0040;

/// Class mnemonics, for [`parse_class`] and [`class_name`].
const CLASSES: &[(u16, &str)] = &[(1, "IN"), (3, "CH"), (4, "HS"), (254, "NONE"), (255, "ANY")];

/// Parses `TYPEnnn` (RFC 3597 §5) or a mnemonic.
pub fn parse_qtype(s: &str) -> Result<u16> {
    if let Some(n) = s.strip_prefix("TYPE") {
        return n
            .parse()
            .with_context(|| format!("bad RFC 3597 type {s:?}"));
    }
    let t: RecordType = s.parse().with_context(|| format!("unknown type {s:?}"))?;
    Ok(t.into())
}

/// Parses a class mnemonic or number.
pub fn parse_class(s: &str) -> Result<u16> {
    match CLASSES.iter().find(|(_, name)| *name == s) {
        Some((class, _)) => Ok(*class),
        None => s.parse().with_context(|| format!("unknown class {s:?}")),
    }
}

pub fn parse_hex(s: &str) -> Result<Vec<u8>> {
    ensure!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).with_context(|| format!("bad hex {s:?}")))
        .collect()
}

/// Lowercase hex, two digits a byte, nothing between them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn rcode_name(rcode: u16) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        9 => "NOTAUTH".into(),
        16 => "BADVERS".into(),
        n => format!("RCODE{n}"),
    }
}

pub fn flags_text(flags: u16) -> String {
    let names = [
        (flag::QR, "qr"),
        (flag::AA, "aa"),
        (flag::TC, "tc"),
        (flag::RD, "rd"),
        (flag::RA, "ra"),
        (Z_FLAG, "z"),
        (flag::AD, "ad"),
        (flag::CD, "cd"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        "-".into()
    } else {
        set.join(" ")
    }
}

pub fn type_name(rtype: u16) -> String {
    match RecordType::from(rtype) {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        t => t.to_string(),
    }
}

pub fn class_name(class: u16) -> String {
    match CLASSES.iter().find(|(c, _)| *c == class) {
        Some((_, name)) => (*name).into(),
        None => format!("CLASS{class}"),
    }
}

/// RFC 3597 generic presentation: `\# LEN HEX`.
pub fn generic_rdata(rdata: &[u8]) -> String {
    format!("\\# {} {}", rdata.len(), hex(rdata))
}

/// TXT presentation with each character-string quoted, so string boundaries show.
pub fn txt_rdata(rdata: &[u8]) -> Option<String> {
    let mut out = Vec::new();
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let s = tail.get(..usize::from(len))?;
        let mut q = String::from("\"");
        for &c in s {
            match c {
                b'"' | b'\\' => {
                    q.push('\\');
                    q.push(char::from(c));
                }
                0x20..=0x7e => q.push(char::from(c)),
                _ => {
                    let _ = write!(q, "\\{c:03}");
                }
            }
        }
        q.push('"');
        out.push(q);
        rest = &tail[usize::from(len)..];
    }
    Some(out.join(" "))
}
