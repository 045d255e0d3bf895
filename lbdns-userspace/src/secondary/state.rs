//! What a secondary zone's copy is worth, kept beside it (as NSD keeps xfrd.state) so that a
//! restart knows whether the copy may still be served: its serial, when it was last confirmed
//! current, and when it expires.
//!
//! ```text
//! # lbdns secondary zone state
//! origin example.com.
//! serial 2024120501
//! refreshed 1764900000
//! expires 1764986400
//! ```
//! Times are seconds since the Unix epoch. The file is replaced whole (temp file, fsync,
//! rename, fsync of the directory), so a crash leaves the previous state or the new one.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::rr::Name;

/// The refresh state of one zone's kept copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedState {
    pub origin: Name,
    pub serial: u32,
    /// The last time a primary confirmed or replaced the copy.
    pub refreshed: SystemTime,
    /// After this the copy must not be served.
    pub expires: SystemTime,
}

/// A state file that cannot be used; the zone is then refreshed as if it had none.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl SavedState {
    /// The state in `path`; `Ok(None)` when there is none yet.
    pub fn read(path: &Path) -> Result<Option<Self>, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Self::parse(&text, path).map(Some)
    }

    fn parse(text: &str, path: &Path) -> Result<Self, StateError> {
        let malformed = |line, message: String| StateError::Malformed {
            path: path.to_path_buf(),
            line,
            message,
        };
        let (mut origin, mut serial, mut refreshed, mut expires) = (None, None, None, None);
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once(' ')
                .ok_or_else(|| malformed(line_number, format!("'{line}' is not `key value`")))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| malformed(line_number, format!("{key}: '{value}' is no number")))
            };
            match key {
                "origin" => {
                    origin =
                        Some(Name::from_ascii(value).map_err(|e| {
                            malformed(line_number, format!("origin: '{value}': {e}"))
                        })?)
                }
                "serial" => {
                    serial = Some(u32::try_from(number()?).map_err(|_| {
                        malformed(line_number, format!("serial: {value} is above 2^32-1"))
                    })?)
                }
                "refreshed" => refreshed = Some(UNIX_EPOCH + Duration::from_secs(number()?)),
                "expires" => expires = Some(UNIX_EPOCH + Duration::from_secs(number()?)),
                other => return Err(malformed(line_number, format!("unknown key '{other}'"))),
            }
        }
        let missing = |key: &str| malformed(0, format!("no {key}"));
        Ok(Self {
            origin: origin.ok_or_else(|| missing("origin"))?,
            serial: serial.ok_or_else(|| missing("serial"))?,
            refreshed: refreshed.ok_or_else(|| missing("refreshed"))?,
            expires: expires.ok_or_else(|| missing("expires"))?,
        })
    }

    fn text(&self) -> String {
        format!(
            "# lbdns secondary zone state\norigin {}\nserial {}\nrefreshed {}\nexpires {}\n",
            self.origin.to_ascii(),
            self.serial,
            unix_secs(self.refreshed),
            unix_secs(self.expires)
        )
    }

    /// Replaces the state in `path`, safely.
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        write_atomically(path, self.text().as_bytes()).map_err(|source| StateError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Whether the copy may no longer be served at `now`.
    pub fn expired(&self, now: SystemTime) -> bool {
        now >= self.expires
    }
}

pub fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Writes `contents` to `path` so that a crash at any point leaves either the old file or the
/// new one: a temporary file beside it, fsynced, renamed over it, then the directory fsynced
/// so the rename itself is durable.
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = File::create(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    File::open(directory)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SavedState {
        SavedState {
            origin: Name::from_ascii("example.test.").unwrap(),
            serial: 2024120501,
            refreshed: UNIX_EPOCH + Duration::from_secs(1_764_900_000),
            expires: UNIX_EPOCH + Duration::from_secs(1_764_986_400),
        }
    }

    #[test]
    fn a_written_state_reads_back_and_replaces_the_old_one() {
        let dir = std::env::temp_dir().join(format!("lbdns-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("example.test.zone.state");
        assert_eq!(SavedState::read(&path).unwrap(), None);
        let mut saved = state();
        saved.write(&path).unwrap();
        saved.serial += 1;
        saved.write(&path).unwrap();
        assert_eq!(SavedState::read(&path).unwrap(), Some(saved));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["example.test.zone.state"], "no temporary file left");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_malformed_state_names_its_line() {
        let text = "# state\norigin example.test.\nserial twelve\n";
        let error = SavedState::parse(text, Path::new("z.state")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "z.state:3: serial: 'twelve' is no number"
        );
        let error = SavedState::parse("origin example.test.\n", Path::new("z.state")).unwrap_err();
        assert_eq!(error.to_string(), "z.state:0: no serial");
    }

    #[test]
    fn rfc1035_4_3_5_a_copy_past_its_expiry_is_expired() {
        let state = state();
        assert!(!state.expired(state.expires - Duration::from_secs(1)));
        assert!(state.expired(state.expires));
    }
}
