//! Domain names written in master files: absolute or relative, `@`, and escaped octets.

use std::cmp::Ordering;

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use smallvec::SmallVec;

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
pub(crate) struct Wire {
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
    /// `name` in wire form, in lower case (as `LowerName` folds case: ASCII letters only).
    pub(crate) fn lower_case(name: &Name) -> Self {
        let mut wire = Self::default();
        // A name's labels fit in its wire form: hickory checks their lengths as it builds one.
        let fits = name
            .iter()
            .chain([&[][..]])
            .try_for_each(|label| wire.push(label));
        debug_assert!(fits.is_some(), "{name} is longer than a name can be");
        wire.octets[..wire.len].make_ascii_lowercase();
        wire
    }

    /// The octets pushed so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.octets[..self.len]
    }

    /// Leaves out the labels of `suffix`, a name in wire form, if this name is it or ends in
    /// it: what is left is a relative name, with no root label (see [`is_relative`]).
    pub(crate) fn strip_suffix(&mut self, suffix: &[u8]) {
        if is_within(self.as_bytes(), suffix) {
            self.len -= suffix.len();
        }
    }

    /// The relative name `relative` (wire form, no root label) followed by the name `suffix`.
    pub(crate) fn joined(relative: &[u8], suffix: &[u8]) -> Self {
        let mut wire = Self::default();
        for part in [relative, suffix] {
            wire.octets[wire.len..][..part.len()].copy_from_slice(part);
            wire.len += part.len();
        }
        wire
    }

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
        from_wire(self.as_bytes())
    }
}

/// Whether the name in wire form `wire` is the name `apex` (in wire form, the same case) or
/// below it.
fn is_within(wire: &[u8], apex: &[u8]) -> bool {
    let mut at = 0;
    while wire.len().saturating_sub(at) > apex.len() {
        at += 1 + usize::from(wire[at]);
    }
    wire.get(at..) == Some(apex)
}

/// Whether `wire` is a relative name in wire form: labels without the root's empty one at
/// their end (what [`Wire::strip_suffix`] leaves).
pub(crate) fn is_relative(wire: &[u8]) -> bool {
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        if len == 0 {
            return false;
        }
        at += 1 + usize::from(len);
    }
    true
}

/// The labels of the name in wire form `wire` (relative or not), the root's left out.
fn labels(wire: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    let mut starts: SmallVec<[usize; 16]> = SmallVec::new();
    let mut at = 0;
    while let Some(&len) = wire.get(at).filter(|&&len| len != 0) {
        starts.push(at);
        at += 1 + usize::from(len);
    }
    starts
        .into_iter()
        .map(move |at| &wire[at + 1..][..usize::from(wire[at])])
}

/// The first label of the name in wire form `wire`; `None` for the root.
pub(crate) fn first_label(wire: &[u8]) -> Option<&[u8]> {
    labels(wire).next()
}

/// The last label of the name in wire form `wire` (relative or not), the one right below the
/// name the form is relative to; `None` for the root or an empty relative name.
pub(crate) fn last_label(wire: &[u8]) -> Option<&[u8]> {
    labels(wire).next_back()
}

/// The canonical order of RFC 4034 §6.1 between two names in lower-case wire form, both
/// whole or both relative to one name: label by label from the root, each compared as octets,
/// a name that runs out of labels first.
pub(crate) fn canonical_cmp(a: &[u8], b: &[u8]) -> Ordering {
    labels(a).rev().cmp(labels(b).rev())
}

/// The name whose uncompressed wire form `octets` are; `None` if they are not one.
pub(crate) fn from_wire(octets: &[u8]) -> Option<Name> {
    Name::read(&mut BinDecoder::new(octets)).ok()
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
    use hickory_proto::rr::LowerName;

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

    /// The wire-form order is hickory's `LowerName` order, which is RFC 4034 §6.1's: the
    /// example list of §6.1, shuffled, sorts back into place both ways.
    #[test]
    fn canonical_order_on_wire_forms_is_rfc4034s() {
        let sorted = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let names: Vec<LowerName> = sorted
            .iter()
            .map(|text| LowerName::new(&parse(text, None).unwrap()))
            .collect();
        let wire = |name: &LowerName| Wire::lower_case(name).as_bytes().to_vec();
        let mut shuffled: Vec<&LowerName> = names.iter().rev().collect();
        shuffled.swap(1, 5);
        shuffled.sort_by(|a, b| canonical_cmp(&wire(a), &wire(b)));
        assert_eq!(shuffled, names.iter().collect::<Vec<_>>());
        let mut by_hickory = names.clone();
        by_hickory.reverse();
        by_hickory.sort();
        assert_eq!(by_hickory, names);
    }

    #[test]
    fn within_means_at_or_below_at_a_label_boundary() {
        let wire = |text: &str| {
            Wire::lower_case(&parse(text, None).unwrap())
                .as_bytes()
                .to_vec()
        };
        let apex = wire("Example.COM.");
        assert!(is_within(&wire("example.com."), &apex));
        assert!(is_within(&wire("a.B.example.com."), &apex));
        assert!(!is_within(&wire("xexample.com."), &apex));
        assert!(!is_within(&wire("com."), &apex));
        assert!(!is_within(&wire("example.org."), &apex));
        assert_eq!(first_label(&apex), Some(&b"example"[..]));
        assert_eq!(first_label(&wire(".")), None);
    }
}
