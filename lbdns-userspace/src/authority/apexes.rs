//! The catalog's zones by apex, and which of them holds a name.
//!
//! Every query asks which zone holds its name. Looking each candidate apex up as a `LowerName`
//! meant building the ancestor as a name and lowercasing it, per query; here the candidates are
//! hashed and compared straight from the query name's labels, and only the apexes, stored once,
//! are names.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hickory_proto::rr::{LowerName, Name};

use super::ZoneData;

/// A zone as the catalog holds it: `None` is a zone served without usable data (a secondary
/// before its first transfer, or after it expired).
pub type Served = Option<Arc<ZoneData>>;

/// Each zone by apex, and the label counts at which apexes exist.
#[derive(Debug, Clone, Default)]
pub struct Apexes {
    table: HashTable<(LowerName, Served)>,
    hasher: RandomState,
    /// The label counts of the apexes, deepest first, so finding a name's zone probes only
    /// depths where a zone exists.
    depths: Vec<u8>,
}

impl Apexes {
    /// Adds the zone at `apex`; `false`, and nothing changed, if one is there already.
    pub fn insert(&mut self, apex: LowerName, zone: Served) -> bool {
        if self.get(&apex).is_some() {
            return false;
        }
        let depth = apex.num_labels();
        if !self.depths.contains(&depth) {
            self.depths.push(depth);
            self.depths.sort_unstable_by(|a, b| b.cmp(a));
        }
        let hash = self.hash(apex.iter());
        let hasher = &self.hasher;
        self.table.insert_unique(hash, (apex, zone), |(apex, _)| {
            hash_labels(hasher, apex.iter())
        });
        true
    }

    /// Replaces the zone at `apex`; `false`, and nothing changed, if there is none.
    pub fn replace(&mut self, apex: &LowerName, zone: Served) -> bool {
        match self.find_mut(|| apex.iter()) {
            Some(entry) => {
                *entry = zone;
                true
            }
            None => false,
        }
    }

    /// The zone at `apex` exactly.
    pub fn get(&self, apex: &LowerName) -> Option<&Served> {
        self.find(|| apex.iter())
    }

    /// The zone whose apex is the closest ancestor of `name`, or `name` itself.
    pub fn closest(&self, name: &Name) -> Option<&Served> {
        self.closest_entry(name).map(|(_, zone)| zone)
    }

    /// [`Self::closest`] with its apex.
    pub fn closest_entry(&self, name: &Name) -> Option<(&LowerName, &Served)> {
        let total = name.iter().len();
        let depth = name.num_labels();
        // `num_labels` leaves a wildcard's `*` out, and the suffixes count it, as
        // `Name::trim_to` does: `*.example.` is held by `example.`, never by `*.example.`.
        self.depths
            .iter()
            .filter(|&&d| d <= depth)
            .find_map(|&d| self.find_entry(|| name.iter().skip(total.saturating_sub(d.into()))))
    }

    /// The apexes with their zones, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (&LowerName, &Served)> {
        self.table.iter().map(|(apex, zone)| (apex, zone))
    }

    /// How many zones there are.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// The label counts at which apexes exist, deepest first.
    pub fn depths(&self) -> &[u8] {
        &self.depths
    }

    /// The zone whose apex `labels` spell; a closure, to walk them twice.
    fn find<'l, L: ExactSizeIterator<Item = &'l [u8]>>(
        &self,
        labels: impl Fn() -> L,
    ) -> Option<&Served> {
        self.find_entry(labels).map(|(_, zone)| zone)
    }

    /// [`Self::find`] with its apex.
    fn find_entry<'l, L: ExactSizeIterator<Item = &'l [u8]>>(
        &self,
        labels: impl Fn() -> L,
    ) -> Option<(&LowerName, &Served)> {
        let hash = self.hash(labels());
        self.table
            .find(hash, |(apex, _)| spells(apex, labels()))
            .map(|(apex, zone)| (apex, zone))
    }

    fn find_mut<'l, L: ExactSizeIterator<Item = &'l [u8]>>(
        &mut self,
        labels: impl Fn() -> L,
    ) -> Option<&mut Served> {
        let hash = self.hash(labels());
        self.table
            .find_mut(hash, |(apex, _)| spells(apex, labels()))
            .map(|(_, zone)| zone)
    }

    fn hash<'l>(&self, labels: impl Iterator<Item = &'l [u8]>) -> u64 {
        hash_labels(&self.hasher, labels)
    }
}

/// The hash of a name from its labels, the same in any case.
fn hash_labels<'l>(hasher: &RandomState, labels: impl Iterator<Item = &'l [u8]>) -> u64 {
    let mut state = hasher.build_hasher();
    let mut lower = [0; 63];
    for label in labels {
        // Labels are at most 63 octets; a longer one (never in a decoded name) hashes cut short,
        // which only costs a comparison.
        let lower = &mut lower[..label.len().min(63)];
        for (to, from) in lower.iter_mut().zip(label) {
            *to = from.to_ascii_lowercase();
        }
        state.write_usize(label.len());
        state.write(lower);
    }
    state.finish()
}

/// Whether `labels`, in any case, spell `apex`.
fn spells<'l>(apex: &LowerName, labels: impl ExactSizeIterator<Item = &'l [u8]>) -> bool {
    apex.iter().len() == labels.len()
        && apex
            .iter()
            .zip(labels)
            .all(|(ours, theirs)| ours.eq_ignore_ascii_case(theirs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn apexes(names: &[&str]) -> Apexes {
        let mut apexes = Apexes::default();
        for apex in names {
            assert!(apexes.insert(LowerName::new(&name(apex)), None));
        }
        apexes
    }

    fn closest(apexes: &Apexes, query: &str) -> Option<String> {
        let found = apexes.closest(&name(query))?;
        assert!(found.is_none(), "these zones are served without data");
        let apex = apexes
            .iter()
            .find(|(_, zone)| std::ptr::eq(*zone, found))
            .map(|(apex, _)| apex.to_string());
        apex
    }

    #[test]
    fn the_most_specific_apex_holds_a_name_in_any_case() {
        let apexes = apexes(&["example.test.", "child.example.test.", "other.test."]);
        assert_eq!(apexes.depths(), [3, 2]);
        let found = |query| closest(&apexes, query);
        assert_eq!(found("WWW.Example.TEST.").as_deref(), Some("example.test."));
        assert_eq!(
            found("a.b.CHILD.example.test.").as_deref(),
            Some("child.example.test.")
        );
        assert_eq!(
            found("child.example.test.").as_deref(),
            Some("child.example.test.")
        );
        assert_eq!(found("example.test.").as_deref(), Some("example.test."));
        assert_eq!(
            found("*.child.example.test.").as_deref(),
            Some("child.example.test.")
        );
        assert_eq!(found("*.example.test.").as_deref(), Some("example.test."));
        assert_eq!(found("test."), None);
        assert_eq!(found("example.org."), None);
        assert_eq!(found("xample.test."), None);
    }

    #[test]
    fn an_apex_is_inserted_once_and_replaced_in_place() {
        let mut apexes = apexes(&["example.test."]);
        let apex = LowerName::new(&name("EXAMPLE.test."));
        assert!(!apexes.insert(apex.clone(), None));
        assert!(!apexes.replace(&LowerName::new(&name("other.test.")), None));
        assert!(apexes.replace(&apex, None));
        assert_eq!(apexes.iter().count(), 1);
        assert!(apexes.get(&apex).is_some());
    }
}
