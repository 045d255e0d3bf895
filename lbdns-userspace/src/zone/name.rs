//! Domain names written in master files: absolute or relative, `@`, and escaped octets.

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::{lexer::unescape, ZoneErrorKind};

/// The longest label and name allowed on the wire (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;
const MAX_NAME_WIRE: usize = 255;

/// Parses `text` as a domain name; relative names are completed with `origin`.
///
/// Labels are split on unescaped dots only, so `a\.b.example.` has two labels before `example`.
/// The name is put together in wire form and decoded once: hickory's constructors from labels
/// copy the whole name again for every label, which made names the largest cost of loading a
/// zone of a million names.
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
    let mut wire = Wire::default();
    for label in split_labels(body) {
        let unescaped;
        let label = if label.contains('\\') {
            unescaped = unescape(label)?;
            unescaped.as_slice()
        } else {
            label.as_bytes()
        };
        if label.is_empty() {
            return Err(bad(text, "empty label"));
        }
        if label.len() > MAX_LABEL {
            return Err(bad(text, "label longer than 63 octets"));
        }
        wire.push(label).ok_or_else(|| too_long(text))?;
    }
    if !absolute {
        let origin = origin.ok_or(ZoneErrorKind::NoOrigin)?;
        for label in origin.iter() {
            wire.push(label).ok_or_else(|| too_long(text))?;
        }
    }
    wire.push(&[]).ok_or_else(|| too_long(text))?;
    wire.name().ok_or_else(|| bad(text, "invalid labels"))
}

/// The ancestor of `name` made of its last `labels` labels (all of them if it has fewer),
/// counted as `Name::trim_to` counts them, a wildcard's `*` included: what `trim_to` gives,
/// which rebuilds the name label by label, copying it whole at each one. Finding a query's
/// zone and its cuts asks for ancestors on every query.
pub fn ancestor(name: &Name, labels: usize) -> Name {
    let mut wire = Wire::default();
    let skip = name.iter().len().saturating_sub(labels);
    // A valid name's labels never overflow the wire form; `trim_to` stays the answer if one did.
    let built = name
        .iter()
        .skip(skip)
        .chain([&[][..]])
        .try_for_each(|label| wire.push(label));
    built
        .and_then(|()| wire.name())
        .unwrap_or_else(|| name.trim_to(labels))
}

/// An uncompressed wire-format name being put together, at most [`MAX_NAME_WIRE`] octets.
struct Wire {
    octets: [u8; MAX_NAME_WIRE],
    len: usize,
}

impl Default for Wire {
    fn default() -> Self {
        Self {
            octets: [0; MAX_NAME_WIRE],
            len: 0,
        }
    }
}

impl Wire {
    /// Appends a label of at most [`MAX_LABEL`] octets (the empty one is the root); `None` if
    /// the name would grow past [`MAX_NAME_WIRE`] octets.
    fn push(&mut self, label: &[u8]) -> Option<()> {
        let end = self.len + 1 + label.len();
        let room = self.octets.get_mut(self.len..end)?;
        room[0] = label.len() as u8;
        room[1..].copy_from_slice(label);
        self.len = end;
        Some(())
    }

    /// The name the labels pushed so far spell, the root among them; `None` if hickory
    /// refuses them.
    fn name(&self) -> Option<Name> {
        Name::read(&mut BinDecoder::new(&self.octets[..self.len])).ok()
    }
}

fn too_long(name: &str) -> ZoneErrorKind {
    bad(name, "name longer than 255 octets")
}

fn bad(name: &str, why: &'static str) -> ZoneErrorKind {
    ZoneErrorKind::BadName {
        name: name.to_owned(),
        why,
    }
}

fn ends_with_unescaped_dot(text: &str) -> bool {
    let trailing_backslashes = text
        .strip_suffix('.')
        .map(|rest| rest.bytes().rev().take_while(|&b| b == b'\\').count());
    matches!(trailing_backslashes, Some(n) if n % 2 == 0)
}

/// Splits on dots that are not escaped, keeping escapes for `unescape`.
fn split_labels(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let from = start?;
        let mut i = from;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'.' => {
                    start = Some(i + 1);
                    return Some(&text[from..i]);
                }
                _ => i += 1,
            }
        }
        start = None;
        text.get(from..)
    })
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
    fn case_and_escaped_octets_are_kept() {
        let name = parse(r"WwW.Ex\065mple", Some(&origin())).unwrap();
        assert_eq!(name.to_ascii(), "WwW.ExAmple.example.com.");
    }

    #[test]
    fn a_name_of_255_octets_is_the_longest() {
        // Wire octets: a length octet per label, its octets, and the root's 0.
        let wire_len = |name: &Name| name.iter().map(|l| 1 + l.len()).sum::<usize>() + 1;
        let label = |n| "a".repeat(n);
        // 3 * 64 + 62 + 1.
        let longest = [label(63), label(63), label(63), label(61)].join(".") + ".";
        assert_eq!(wire_len(&parse(&longest, None).unwrap()), 255);
        let longer = [label(63), label(63), label(63), label(62)].join(".") + ".";
        assert!(parse(&longer, None).is_err());
        // 3 * 64 + 50, and `example.com.` in 13.
        let relative = [label(63), label(63), label(63), label(49)].join(".");
        assert_eq!(wire_len(&parse(&relative, Some(&origin())).unwrap()), 255);
        let relative = [label(63), label(63), label(63), label(50)].join(".");
        assert!(parse(&relative, Some(&origin())).is_err());
    }

    #[test]
    fn ancestors_are_what_trim_to_gives() {
        for text in ["www.Example.COM.", r"*.a\.b.example.", ".", "a.b.c.d.e."] {
            let name = parse(text, None).unwrap();
            for labels in 0..=name.iter().len() + 1 {
                let (ours, theirs) = (ancestor(&name, labels), name.trim_to(labels));
                assert_eq!(ours.to_ascii(), theirs.to_ascii(), "{text} to {labels}");
                assert!(ours.is_fqdn());
            }
        }
    }

    #[test]
    fn rejects_long_labels_long_names_and_empty_labels() {
        assert!(parse(&"a".repeat(64), Some(&origin())).is_err());
        let long = vec!["abcdefghij"; 24].join(".") + ".";
        assert!(parse(&long, None).is_err());
        assert!(parse("a..b.", None).is_err());
    }
}
