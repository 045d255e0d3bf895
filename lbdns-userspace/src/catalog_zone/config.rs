//! `[[catalog]]`: a catalog zone we consume, itself a secondary zone, and the directory that
//! holds its kept copy and its members' copies and state files.
//!
//! ```toml
//! [[catalog]]
//! origin = "catalog.invalid."
//! primaries = ["192.0.2.1"]            # the members are transferred from these too
//! tsig = "xfr-key"                     # optional; signs the members' transfers too
//! directory = "/var/lib/lbdns/catalog" # catalog.zone, and members/<zone>@<unique-id>.zone
//! ```

use std::path::{Path, PathBuf};

use hickory_proto::rr::{LowerName, Name};
use serde::Deserialize;
use toml::Spanned;

use super::members::{self, CatalogError, Members, SkipReason, Skipped};
use crate::secondary::config::SecondarySpec;
use crate::zone::Zone;

/// A `[[catalog]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub origin: Spanned<String>,
    pub primaries: Spanned<Vec<String>>,
    pub tsig: Option<String>,
    pub directory: Spanned<PathBuf>,
}

/// A catalog as configured, and the members its kept copy lists now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// The catalog zone as a secondary: kept in `<directory>/catalog.zone`.
    pub spec: SecondarySpec,
    pub directory: PathBuf,
    /// The members read from the kept copy (none before the first transfer), set aside as
    /// the rules say.
    pub members: Members,
    /// `Members::ids` of the kept copy as read, before any member was set aside: a new
    /// transfer of the catalog is applied when it lists something else.
    pub listed: Vec<(Name, String)>,
    /// Why the kept copy gives no members, when it cannot be read or applied.
    pub unread: Option<String>,
}

impl Consumed {
    /// The catalog of `entry`, with the members its kept copy lists. `configured` are the
    /// zones served otherwise (`[[zone]]`s, earlier catalogs' members): members among them
    /// are set aside. Errors are the message for `entry`'s line.
    pub fn new(
        entry: &CatalogEntry,
        base: &Path,
        configured: &[LowerName],
    ) -> Result<Self, String> {
        let directory = base.join(entry.directory.get_ref());
        let spec = SecondarySpec::new(
            Some(entry.origin.get_ref()),
            entry.primaries.get_ref(),
            entry.tsig.as_deref(),
            directory.join("catalog.zone"),
        )
        .map_err(|message| message.replace("zone.", "catalog."))?;
        if configured.contains(&LowerName::new(&spec.origin)) {
            return Err(format!(
                "catalog.origin: {} is also configured as a zone",
                spec.origin
            ));
        }
        let (members, unread) = match read_kept(&spec) {
            Ok(members) => (members, None),
            Err(reason) => (Members::default(), reason),
        };
        let listed = members.ids();
        let members = members.without(configured);
        Ok(Self {
            spec,
            directory,
            members,
            listed,
            unread,
        })
    }

    /// Each member as a secondary zone: the catalog's primaries and key, its copy kept in
    /// the catalog's directory under a name that holds the unique id, so a changed id
    /// (RFC 9432 §5.4) is a zone with no copy yet, transferred afresh.
    pub fn member_specs(&self) -> Vec<SecondarySpec> {
        self.members
            .members
            .iter()
            .map(|member| SecondarySpec {
                origin: member.zone.clone(),
                primaries: self.spec.primaries.clone(),
                tsig: self.spec.tsig.clone(),
                file: self.members_dir().join(format!(
                    "{}@{}.zone",
                    file_part(&member.zone.to_ascii()),
                    file_part(&member.unique)
                )),
            })
            .collect()
    }

    /// Where the members' copies and state files live.
    pub fn members_dir(&self) -> PathBuf {
        self.directory.join("members")
    }
}

/// The members listed by the catalog's kept copy; `Err(None)` when there is no copy yet.
fn read_kept(spec: &SecondarySpec) -> Result<Members, Option<String>> {
    if !spec.file.exists() {
        return Err(None);
    }
    let zone = Zone::load(&spec.file, Some(spec.origin.clone())).map_err(|errors| {
        Some(format!(
            "kept copy unreadable: {}",
            errors.messages().collect::<Vec<_>>().join("; ")
        ))
    })?;
    members::read(&zone).map_err(|error: CatalogError| Some(error.to_string()))
}

/// Sets aside, in each catalog after the first, the members an earlier catalog lists: a
/// zone has one catalog. (RFC 9432 §4.4.1's change of ownership is read and shown, not
/// acted on: a member stays with the catalog configured first.)
pub fn claim_once(catalogs: &mut [Consumed]) {
    let mut claimed: Vec<(LowerName, Name)> = Vec::new();
    for catalog in catalogs.iter_mut() {
        let origin = catalog.spec.origin.clone();
        let members = std::mem::take(&mut catalog.members.members);
        for member in members {
            let zone = LowerName::new(&member.zone);
            match claimed.iter().find(|(z, _)| *z == zone) {
                Some((_, owner)) => catalog.members.skipped.push(Skipped {
                    what: member.zone.to_ascii(),
                    reason: SkipReason::OtherCatalog(owner.clone()),
                }),
                None => {
                    claimed.push((zone, origin.clone()));
                    catalog.members.members.push(member);
                }
            }
        }
    }
}

/// A name or label as part of a file name: letters, digits, `-`, `_` and `.` as they are,
/// anything else (`/`, `@`, escapes) as `%xx`, so no two members share a file.
fn file_part(text: &str) -> String {
    let text = text.strip_suffix('.').unwrap_or(text);
    let text = if text.is_empty() { "." } else { text };
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(byte as char),
            b'A'..=b'Z' => out.push(byte.to_ascii_lowercase() as char),
            _ => out.push_str(&format!("%{byte:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_files_are_distinct_per_zone_and_unique_id() {
        assert_eq!(file_part("Example.COM."), "example.com");
        assert_eq!(file_part("a/b@c."), "a%2fb%40c");
        assert_eq!(file_part("."), ".");
    }
}
