//! A catalog zone read as RFC 9432 §4 describes it: its schema version, and the member zones
//! it lists with their properties. Pure: a `Zone` in, a member set (and the reason for each
//! entry set aside) out; nothing here touches the network, the disk or the served state.

use std::collections::BTreeMap;
use std::fmt;

use hickory_proto::rr::{LowerName, Name, RData};

use crate::zone::Zone;

/// The only schema version this consumer reads (RFC 9432 §4.2.1).
pub const VERSION: &str = "2";

/// One member zone (RFC 9432 §4.1) and the properties we read for it (§4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub zone: Name,
    /// The member node's label, lower-cased: a change means a new zone (§5.4).
    pub unique: String,
    /// §4.4.2: group names, which a consumer may map to settings. Read and shown; lbdns gives
    /// every member the catalog's primaries and key, whatever its groups.
    pub groups: Vec<String>,
    /// §4.4.1: the catalog the member is being handed to, if any.
    pub coo: Option<Name>,
}

/// A catalog entry set aside, and why: the rest of the catalog is still applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The member zone, or the member node's owner when no single zone can be named.
    pub what: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// §4.1: a member node holds exactly one PTR record.
    ManyPtr(usize),
    /// §4.1: a zone is a member once; every node listing it is set aside.
    Duplicate(Vec<String>),
    /// §4.1: the unique id is a single label directly below `zones`.
    NotOneLabel,
    /// A zone this host already serves from its own `[[zone]]` configuration.
    Configured,
    /// The member is the catalog itself, or inside it.
    InsideCatalog,
    /// A catalog configured earlier lists it already.
    OtherCatalog(Name),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ManyPtr(n) => write!(
                f,
                "its member node has {n} PTR records, not one (RFC 9432 §4.1)"
            ),
            Self::Duplicate(ids) => write!(
                f,
                "listed under more than one unique id ({}) (RFC 9432 §4.1)",
                ids.join(", ")
            ),
            Self::NotOneLabel => {
                write!(
                    f,
                    "its unique id is not a single label under zones (RFC 9432 §4.1)"
                )
            }
            Self::Configured => write!(f, "it is configured as a [[zone]] of its own"),
            Self::InsideCatalog => write!(f, "it is the catalog zone or inside it"),
            Self::OtherCatalog(owner) => write!(f, "catalog {owner} lists it already"),
        }
    }
}

/// A catalog this consumer does not apply at all: the member set in force stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog {0} has no version TXT record (RFC 9432 §4.2.1): not applied")]
    NoVersion(Name),
    #[error("catalog {0} has {1} version TXT records, not one (RFC 9432 §4.2.1): not applied")]
    ManyVersions(Name, usize),
    #[error("catalog {0} has schema version \"{1}\"; lbdns reads version \"2\" (RFC 9432 §4.2.1): not applied")]
    Version(Name, String),
}

/// What a catalog lists: the members in zone order, and the entries set aside.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    pub members: Vec<Member>,
    pub skipped: Vec<Skipped>,
}

/// What one member node (`<unique>.zones.<catalog>`) holds while the catalog is read.
#[derive(Default)]
struct Node {
    ptrs: Vec<Name>,
    groups: Vec<String>,
    coo: Option<Name>,
}

/// Reads `catalog` (its apex is the catalog's name) as RFC 9432 §4 says. Records the schema
/// does not define (NS, custom `ext` properties, unknown properties) are ignored (§4.4).
pub fn read(catalog: &Zone) -> Result<Members, CatalogError> {
    let apex = &catalog.origin;
    check_version(catalog)?;
    let zones = Name::from_ascii("zones")
        .and_then(|label| label.append_domain(apex))
        .expect("zones.<catalog> is a valid name when <catalog> is");
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut skipped = Vec::new();
    for source in &catalog.records {
        let record = &source.record;
        let owner = &record.name;
        if !zones.zone_of(owner) || *owner == zones {
            continue;
        }
        let below = owner.num_labels() - zones.num_labels();
        let labels: Vec<String> = owner
            .iter()
            .take(below as usize)
            .map(|label| String::from_utf8_lossy(label).to_ascii_lowercase())
            .collect();
        match (labels.as_slice(), &record.data) {
            ([unique], RData::PTR(ptr)) => {
                nodes
                    .entry(unique.clone())
                    .or_default()
                    .ptrs
                    .push(ptr.0.clone());
            }
            ([property, unique], RData::TXT(txt)) if property == "group" => {
                let node = nodes.entry(unique.clone()).or_default();
                node.groups.extend(
                    txt.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned()),
                );
            }
            ([property, unique], RData::PTR(ptr)) if property == "coo" => {
                nodes.entry(unique.clone()).or_default().coo = Some(ptr.0.clone());
            }
            (labels, RData::PTR(_)) if labels.len() > 1 && !is_property(&labels[0]) => {
                skipped.push(Skipped {
                    what: owner.to_ascii(),
                    reason: SkipReason::NotOneLabel,
                });
            }
            _ => {}
        }
    }
    let mut by_zone: BTreeMap<LowerName, Vec<String>> = BTreeMap::new();
    for (unique, node) in &nodes {
        if let [zone] = node.ptrs.as_slice() {
            by_zone
                .entry(LowerName::new(zone))
                .or_default()
                .push(unique.clone());
        }
    }
    let mut members = Vec::new();
    for (unique, node) in nodes {
        let zone = match node.ptrs.as_slice() {
            [] => continue, // properties without a member: nothing to serve
            [zone] => zone.clone(),
            many => {
                skipped.push(Skipped {
                    what: format!("{unique}.{zones}"),
                    reason: SkipReason::ManyPtr(many.len()),
                });
                continue;
            }
        };
        let ids = &by_zone[&LowerName::new(&zone)];
        if ids.len() > 1 {
            if ids[0] == unique {
                skipped.push(Skipped {
                    what: zone.to_ascii(),
                    reason: SkipReason::Duplicate(ids.clone()),
                });
            }
            continue;
        }
        if apex.zone_of(&zone) {
            skipped.push(Skipped {
                what: zone.to_ascii(),
                reason: SkipReason::InsideCatalog,
            });
            continue;
        }
        members.push(Member {
            zone,
            unique,
            groups: node.groups,
            coo: node.coo,
        });
    }
    Ok(Members { members, skipped })
}

/// A label RFC 9432 §4.4 gives a meaning to, or leaves to custom properties.
fn is_property(label: &str) -> bool {
    matches!(label, "group" | "coo" | "ext")
}

/// §4.2.1: exactly one `version` TXT record, and it says "2".
fn check_version(catalog: &Zone) -> Result<(), CatalogError> {
    let apex = &catalog.origin;
    let version = Name::from_ascii("version")
        .and_then(|label| label.append_domain(apex))
        .expect("version.<catalog> is a valid name when <catalog> is");
    let texts: Vec<String> = catalog
        .records
        .iter()
        .filter(|r| r.record.name == version)
        .filter_map(|r| match &r.record.data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
            ),
            _ => None,
        })
        .collect();
    match texts.as_slice() {
        [] => Err(CatalogError::NoVersion(apex.clone())),
        [text] if text == VERSION => Ok(()),
        [text] => Err(CatalogError::Version(apex.clone(), text.clone())),
        many => Err(CatalogError::ManyVersions(apex.clone(), many.len())),
    }
}

impl Members {
    /// Each member zone (lower-cased) and its unique id, sorted: what a change of the member
    /// set compares.
    pub fn ids(&self) -> Vec<(Name, String)> {
        let mut ids: Vec<_> = self
            .members
            .iter()
            .map(|m| (m.zone.to_lowercase(), m.unique.clone()))
            .collect();
        ids.sort();
        ids
    }

    /// Sets aside the members that are also among `configured` (zones served from this
    /// host's own configuration win: a catalog cannot take them over).
    pub fn without(mut self, configured: &[LowerName]) -> Self {
        let (kept, taken): (Vec<_>, Vec<_>) = self
            .members
            .into_iter()
            .partition(|m| !configured.contains(&LowerName::new(&m.zone)));
        self.members = kept;
        self.skipped.extend(taken.into_iter().map(|m| Skipped {
            what: m.zone.to_ascii(),
            reason: SkipReason::Configured,
        }));
        self
    }
}
