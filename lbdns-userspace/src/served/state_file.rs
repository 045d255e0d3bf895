//! What the daemon keeps across restarts besides the XDP pins: drained endpoints, and the
//! endpoints its health checks last found down. A new process starts from them rather than
//! from "every endpoint up and none drained", so its first answers are the last process's.
//!
//! One small JSON file, rewritten whole on every drain and health transition: written to a
//! temporary file beside it, flushed to disk, then renamed over it, so a crash leaves the old
//! state or the new one, never half of each.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::health::TargetStatus;
use crate::pool::{PoolSet, Target};

/// The persisted state.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persisted {
    /// Endpoint addresses drained with `lbdns drain`.
    pub drained: BTreeSet<IpAddr>,
    /// Health-check targets last found down, by [`key`].
    pub down: BTreeSet<String>,
}

impl Persisted {
    /// The state of `pools` and the checks in `health`.
    pub fn of(pools: &PoolSet, health: &[TargetStatus]) -> Self {
        Self {
            drained: pools.drained().into_iter().collect(),
            down: health
                .iter()
                .filter(|status| !status.up)
                .map(|status| key(&status.target))
                .collect(),
        }
    }
}

/// How a target is named in the file: its address and check as written in the
/// configuration's model. A target whose check changed is a new one, and starts up.
pub fn key(target: &Target) -> String {
    format!("{target:?}")
}

/// The file.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state last saved; empty when there is none. A file that cannot be read is logged
    /// and ignored: the daemon starts as it would without one.
    pub fn load(&self) -> Persisted {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(file = %self.path.display(), "ignoring the state file: {error}");
                Persisted::default()
            }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Persisted::default(),
            Err(error) => {
                tracing::warn!(file = %self.path.display(), "cannot read the state file: {error}");
                Persisted::default()
            }
        }
    }

    /// Replaces the file with `state`, atomically (temporary file, fsync, rename, fsync of the
    /// directory).
    pub fn save(&self, state: &Persisted) -> io::Result<()> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)?;
        let mut temporary = self.path.as_os_str().to_owned();
        temporary.push(".new");
        let temporary = PathBuf::from(temporary);
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&serde_json::to_vec_pretty(state).map_err(io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)?;
        std::fs::File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_loads_back_and_a_broken_file_is_ignored() {
        let dir = std::env::temp_dir().join(format!("lbdns-state-{}", std::process::id()));
        let file = StateFile::new(dir.join("state.json"));
        assert_eq!(file.load(), Persisted::default());
        let state = Persisted {
            drained: ["198.18.0.1".parse().unwrap()].into(),
            down: ["a target".to_owned()].into(),
        };
        file.save(&state).unwrap();
        assert_eq!(file.load(), state);
        std::fs::write(file.path(), b"{ half").unwrap();
        assert_eq!(file.load(), Persisted::default());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
