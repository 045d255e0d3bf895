//! Domain names written in master files: absolute or relative, `@`, and escaped octets.

use hickory_proto::rr::Name;

use super::{lexer::unescape, ZoneErrorKind};

/// The longest label and name allowed on the wire (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;
const MAX_NAME_WIRE: usize = 255;

/// Parses `text` as a domain name; relative names are completed with `origin`.
///
/// Labels are split on unescaped dots only, so `a\.b.example.` has two labels before `example`.
pub fn parse(text: &str, origin: Option<&Name>) -> Result<Name, ZoneErrorKind> {
    if text == "@" {
        return origin.cloned().ok_or(ZoneErrorKind::NoOrigin);
    }
    if text == "." {
        return Ok(Name::root());
    }
    let absolute = ends_with_unescaped_dot(text);
    let body = if absolute {
        &text[..text.len() - 1]
    } else {
        text
    };
    let labels = split_labels(body)
        .into_iter()
        .map(unescape)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(label) = labels.iter().find(|l| l.is_empty() || l.len() > MAX_LABEL) {
        return Err(ZoneErrorKind::BadName {
            name: text.to_owned(),
            why: if label.is_empty() {
                "empty label"
            } else {
                "label longer than 63 octets"
            },
        });
    }
    let name = Name::from_labels(labels).map_err(|_| bad(text, "invalid labels"))?;
    let name = if absolute {
        name
    } else {
        let origin = origin.ok_or(ZoneErrorKind::NoOrigin)?;
        name.append_domain(origin)
            .map_err(|_| bad(text, "name longer than 255 octets"))?
    };
    if wire_len(&name) > MAX_NAME_WIRE {
        return Err(bad(text, "name longer than 255 octets"));
    }
    Ok(name)
}

fn bad(name: &str, why: &'static str) -> ZoneErrorKind {
    ZoneErrorKind::BadName {
        name: name.to_owned(),
        why,
    }
}

/// Length of the uncompressed wire form, including the root label.
fn wire_len(name: &Name) -> usize {
    name.iter().map(|label| label.len() + 1).sum::<usize>() + 1
}

fn ends_with_unescaped_dot(text: &str) -> bool {
    let trailing_backslashes = text
        .strip_suffix('.')
        .map(|rest| rest.bytes().rev().take_while(|&b| b == b'\\').count());
    matches!(trailing_backslashes, Some(n) if n % 2 == 0)
}

/// Splits on dots that are not escaped, keeping escapes for `unescape`.
fn split_labels(text: &str) -> Vec<&str> {
    let mut labels = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'.' => {
                labels.push(&text[start..i]);
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    labels.push(&text[start..]);
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Name {
        Name::from_ascii("example.com.").unwrap()
    }

    #[test]
    fn relative_absolute_and_at() {
        assert_eq!(
            parse("www", Some(&origin())).unwrap().to_ascii(),
            "www.example.com."
        );
        assert_eq!(parse("a.b.", Some(&origin())).unwrap().to_ascii(), "a.b.");
        assert_eq!(parse("@", Some(&origin())).unwrap(), origin());
        assert!(matches!(parse("www", None), Err(ZoneErrorKind::NoOrigin)));
    }

    #[test]
    fn escaped_dots_stay_inside_labels() {
        let name = parse(r"a\.b.example.", None).unwrap();
        assert_eq!(name.iter().next().unwrap(), b"a.b");
        assert_eq!(name.num_labels(), 2);
        let trailing = parse(r"x\.", Some(&origin())).unwrap();
        assert_eq!(trailing.iter().next().unwrap(), b"x.");
    }

    #[test]
    fn rejects_long_labels_long_names_and_empty_labels() {
        assert!(parse(&"a".repeat(64), Some(&origin())).is_err());
        let long = vec!["abcdefghij"; 24].join(".") + ".";
        assert!(parse(&long, None).is_err());
        assert!(parse("a..b.", None).is_err());
    }
}
