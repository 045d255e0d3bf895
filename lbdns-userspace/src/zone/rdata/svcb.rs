//! SVCB and HTTPS (RFC 9460 §2.1): priority, target name, then `key[=value]` SvcParams.
//!
//! A quoted value arrives from the lexer as its own token after a bare `key=`; the two are
//! joined here (the lexer keeps no spacing, so `key= "v"` reads as `key="v"` too). Values are
//! character-strings (RFC 1035 escapes), and list values are then split on commas that are
//! not escaped (RFC 9460 Appendix A.1).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::encoding;
use super::fields::{put_name, Fields};
use crate::zone::lexer::unescape;
use crate::zone::ZoneErrorKind;

/// RFC 9460 §14.3.2 and RFC 9461, RFC 9540: the keys with names.
const KEYS: &[(u16, &str)] = &[
    (0, "mandatory"),
    (1, "alpn"),
    (2, "no-default-alpn"),
    (3, "port"),
    (4, "ipv4hint"),
    (5, "ech"),
    (6, "ipv6hint"),
    (7, "dohpath"),
    (8, "ohttp"),
];
const MANDATORY: u16 = 0;
const ALPN: u16 = 1;
const NO_DEFAULT_ALPN: u16 = 2;
const PORT: u16 = 3;
const IPV4HINT: u16 = 4;
const ECH: u16 = 5;
const IPV6HINT: u16 = 6;
const DOHPATH: u16 = 7;
const OHTTP: u16 = 8;
/// RFC 9460 §14.3.2: key65535 is reserved as "invalid".
const INVALID_KEY: u16 = 65535;

pub fn svcb(f: &mut Fields<'_>) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut wire = f.number::<u16>("SvcPriority")?.to_be_bytes().to_vec();
    put_name(&mut wire, &f.name("TargetName")?);
    let mut params = BTreeMap::new();
    let mut tokens = f.rest().iter().peekable();
    while let Some(token) = tokens.next() {
        if token.quoted {
            return Err(f.bad("SvcParam", "key or key=value", token));
        }
        let (name, value) = match token.text.split_once('=') {
            // `key="quoted value"`: the lexer split the quoted part off.
            Some((name, "")) => match tokens.next_if(|t| t.quoted) {
                Some(quoted) => (name, Some(quoted.text.as_str())),
                None => (name, Some("")),
            },
            Some((name, value)) => (name, Some(value)),
            None => (token.text.as_str(), None),
        };
        let key = key(name).ok_or_else(|| f.bad("SvcParamKey", "a key name or keyNNNNN", token))?;
        let value = param_value(f, key, name, value)?;
        if params.insert(key, value).is_some() {
            return Err(f.error(format!("SvcParamKey {name} appears twice")));
        }
    }
    check_consistency(f, &params)?;
    // RFC 9460 §2.2: keys in strictly increasing order on the wire.
    for (key, value) in params {
        let len = u16::try_from(value.len())
            .map_err(|_| f.error(format!("{}: value longer than 65535 octets", key_name(key))))?;
        wire.extend(key.to_be_bytes());
        wire.extend(len.to_be_bytes());
        wire.extend(value);
    }
    Ok(wire)
}

/// A key name or the generic `keyNNNNN`.
fn key(name: &str) -> Option<u16> {
    if let Some(&(code, _)) = KEYS.iter().find(|(_, known)| *known == name) {
        return Some(code);
    }
    let digits = name.strip_prefix("key")?;
    let code: u16 = digits.parse().ok()?;
    // No sign, no leading zeros: one key has one spelling.
    let canonical = digits == code.to_string();
    (canonical && code != INVALID_KEY).then_some(code)
}

fn key_name(key: u16) -> String {
    KEYS.iter()
        .find(|&&(code, _)| code == key)
        .map_or_else(|| format!("key{key}"), |(_, name)| (*name).to_owned())
}

/// The wire form of one SvcParamValue. A key without a defined format takes the value's
/// octets verbatim; a defined key has its format whether written by name or as `keyNNNNN`.
fn param_value(
    f: &Fields<'_>,
    key: u16,
    name: &str,
    value: Option<&str>,
) -> Result<Vec<u8>, ZoneErrorKind> {
    let err = |why: &str| f.error(format!("{name}: {why}"));
    let octets = value
        .map(unescape)
        .transpose()
        .map_err(|e| err(&e.to_string()))?;
    if !KEYS.iter().any(|&(code, _)| code == key) {
        return Ok(octets.unwrap_or_default());
    }
    let Some(octets) = octets else {
        return match key {
            NO_DEFAULT_ALPN | OHTTP => Ok(Vec::new()),
            _ => Err(err("needs a value")),
        };
    };
    let items = || value_list(&octets).ok_or_else(|| err("empty item or dangling '\\' in list"));
    let mut wire = Vec::new();
    match key {
        MANDATORY => {
            let mut keys = Vec::new();
            for item in items()? {
                let item = String::from_utf8_lossy(&item).into_owned();
                match self::key(&item) {
                    Some(MANDATORY) => return Err(err("must not list mandatory itself")),
                    Some(code) => keys.push(code),
                    None => return Err(err(&format!("unknown key '{item}'"))),
                }
            }
            keys.sort_unstable();
            if keys.windows(2).any(|pair| pair[0] == pair[1]) {
                return Err(err("a key is listed twice"));
            }
            keys.iter().for_each(|k| wire.extend(k.to_be_bytes()));
        }
        ALPN => {
            for id in items()? {
                // Non-empty by `value_list`; RFC 9460 §7.1.1 caps each at 255 octets.
                let len = u8::try_from(id.len()).map_err(|_| err("ALPN id over 255 octets"))?;
                wire.push(len);
                wire.extend(id);
            }
        }
        PORT => {
            let port: u16 = parse_text(&octets)
                .filter(|_| octets.iter().all(u8::is_ascii_digit))
                .ok_or_else(|| err("expected a port number from 0 to 65535"))?;
            wire.extend(port.to_be_bytes());
        }
        IPV4HINT => {
            for item in items()? {
                let address: Ipv4Addr =
                    parse_text(&item).ok_or_else(|| err("expected IPv4 addresses"))?;
                wire.extend(address.octets());
            }
        }
        ECH => {
            let text = std::str::from_utf8(&octets).unwrap_or("");
            wire = encoding::base64(text)
                .filter(|config| !config.is_empty())
                .ok_or_else(|| err("expected an ECHConfigList in base64"))?;
        }
        IPV6HINT => {
            for item in items()? {
                let address: Ipv6Addr =
                    parse_text(&item).ok_or_else(|| err("expected IPv6 addresses"))?;
                wire.extend(address.octets());
            }
        }
        DOHPATH => {
            // RFC 9461 §5: a relative URI template in UTF-8 with a "dns" variable.
            match std::str::from_utf8(&octets) {
                Ok(template) if template.contains("{?dns}") => wire = octets,
                _ => return Err(err("expected a URI template containing {?dns}")),
            }
        }
        _ => return Err(err("takes no value")),
    }
    Ok(wire)
}

fn parse_text<T: std::str::FromStr>(octets: &[u8]) -> Option<T> {
    std::str::from_utf8(octets).ok()?.parse().ok()
}

/// RFC 9460 Appendix A.1: split on commas, `\,` and `\\` standing for themselves in an item.
/// `None` for an empty item or a dangling backslash.
fn value_list(octets: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut items = vec![Vec::new()];
    let mut bytes = octets.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => items.last_mut()?.push(*bytes.next()?),
            b',' => items.push(Vec::new()),
            _ => items.last_mut()?.push(b),
        }
    }
    items.iter().all(|item| !item.is_empty()).then_some(items)
}

/// RFC 9460 §8 and §7.1.1: keys listed as mandatory must be present, and no-default-alpn
/// needs alpn.
fn check_consistency(f: &Fields<'_>, params: &BTreeMap<u16, Vec<u8>>) -> Result<(), ZoneErrorKind> {
    if let Some(mandatory) = params.get(&MANDATORY) {
        let pairs = mandatory.chunks_exact(2);
        if !pairs.remainder().is_empty() {
            return Err(f.error("key0: mandatory keys are two octets each"));
        }
        for pair in pairs {
            let key = u16::from_be_bytes([pair[0], pair[1]]);
            if !params.contains_key(&key) {
                return Err(f.error(format!(
                    "mandatory lists {} but the record does not set it",
                    key_name(key)
                )));
            }
        }
    }
    if params.contains_key(&NO_DEFAULT_ALPN) && !params.contains_key(&ALPN) {
        return Err(f.error("no-default-alpn without alpn (RFC 9460 §7.1.1)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{hex, rejects, wire};

    const SVCB: u16 = 64;
    const HTTPS: u16 = 65;
    /// `foo.example.org.` in wire form.
    const FOO_ORG: &str = "03666f6f076578616d706c65036f726700";

    #[test]
    fn rfc_9460_appendix_d_1_alias_mode() {
        assert_eq!(
            wire(HTTPS, "0 foo.example.com.").unwrap(),
            hex("000003666f6f076578616d706c6503636f6d00")
        );
    }

    #[test]
    fn rfc_9460_appendix_d_2_service_mode() {
        assert_eq!(wire(SVCB, "1 .").unwrap(), hex("000100"));
        let foo_com = "03666f6f076578616d706c6503636f6d00";
        assert_eq!(
            wire(SVCB, "16 foo.example.com. port=53").unwrap(),
            hex(&format!("0010{foo_com}000300020035"))
        );
        assert_eq!(
            wire(SVCB, "1 foo.example.com. key667=hello").unwrap(),
            hex(&format!("0001{foo_com}029b000568656c6c6f"))
        );
        assert_eq!(
            wire(SVCB, r#"1 foo.example.com. key667="hello\210qoo""#).unwrap(),
            hex(&format!("0001{foo_com}029b000968656c6c6fd2716f6f"))
        );
        assert_eq!(
            wire(SVCB, r#"1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1""#).unwrap(),
            hex(&format!(
                "0001{foo_com}0006002020010db800000000000000000000000120010db8000000000000000000530001"
            ))
        );
        assert_eq!(
            wire(
                SVCB,
                "1 example.com. ipv6hint=\"2001:db8:122:344::192.0.2.33\""
            )
            .unwrap(),
            hex("0001076578616d706c6503636f6d000006001020010db80122034400000000c0000221")
        );
        let figure_9 =
            format!("0010{FOO_ORG}0000000400010004000100090268320568332d313900040004c0000201");
        assert_eq!(
            wire(
                SVCB,
                "16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1"
            )
            .unwrap(),
            hex(&figure_9)
        );
    }

    #[test]
    fn rfc_9460_appendix_a_1_escaped_commas_in_value_lists() {
        let figure_10 = hex(&format!("0010{FOO_ORG}0001000c08665c6f6f2c626172026832"));
        assert_eq!(
            wire(SVCB, r#"16 foo.example.org. alpn="f\\\\oo\\,bar,h2""#).unwrap(),
            figure_10
        );
        assert_eq!(
            wire(SVCB, r"16 foo.example.org. alpn=f\\\092oo\092,bar,h2").unwrap(),
            figure_10
        );
    }

    #[test]
    fn rfc_9460_appendix_d_3_failure_cases() {
        rejects(
            SVCB,
            "1 foo.example.com. key123=abc key123=def",
            "key123 appears twice",
        );
        for key in ["mandatory", "alpn", "port", "ipv4hint", "ipv6hint"] {
            rejects(SVCB, &format!("1 foo.example.com. {key}"), "needs a value");
        }
        rejects(
            SVCB,
            "1 foo.example.com. no-default-alpn=abc",
            "takes no value",
        );
        rejects(
            SVCB,
            "1 foo.example.com. mandatory=key123",
            "mandatory lists key123 but the record does not set it",
        );
        rejects(
            SVCB,
            "1 foo.example.com. mandatory=mandatory",
            "must not list mandatory itself",
        );
        rejects(
            SVCB,
            r#"1 foo.example.com. ipv6hint="2001:db8::1 2001:db8::2""#,
            "expected IPv6 addresses",
        );
        rejects(
            SVCB,
            "1 foo.example.com. mandatory=port,port port=1",
            "a key is listed twice",
        );
    }

    #[test]
    fn bad_svcparams_name_the_key_and_the_problem() {
        rejects(
            SVCB,
            "1 . bogus=1",
            "SvcParamKey: expected a key name or keyNNNNN, found 'bogus=1'",
        );
        rejects(SVCB, "1 . key65535", "found 'key65535'");
        rejects(SVCB, "1 . key01=x", "found 'key01=x'");
        rejects(SVCB, "1 . port=65536", "port: expected a port number");
        rejects(SVCB, "1 . port=+53", "port: expected a port number");
        rejects(SVCB, "1 . ipv4hint=198.18.0.1,", "empty item");
        rejects(SVCB, "1 . ipv4hint=2001:db8::1", "expected IPv4 addresses");
        rejects(SVCB, "1 . alpn=h2,,h3", "empty item");
        rejects(
            SVCB,
            &format!("1 . alpn={}", "x".repeat(256)),
            "ALPN id over 255 octets",
        );
        rejects(SVCB, "1 . ech=AQI", "expected an ECHConfigList in base64");
        rejects(
            SVCB,
            "1 . dohpath=/dns-query",
            "URI template containing {?dns}",
        );
        rejects(SVCB, "1 . no-default-alpn", "no-default-alpn without alpn");
        rejects(
            SVCB,
            "1 . \"alpn=h2\"",
            "SvcParam: expected key or key=value",
        );
        rejects(SVCB, "1", "missing TargetName");
        rejects(SVCB, "65536 .", "SvcPriority");
        assert_eq!(
            wire(SVCB, "1 . ohttp key9").unwrap(),
            hex("0001000008000000090000")
        );
        assert_eq!(wire(SVCB, "1 . key9=").unwrap(), hex("00010000090000"));
    }
}
