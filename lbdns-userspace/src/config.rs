//! The TOML configuration file and how it combines with command-line flags.
//!
//! ```toml
//! listen = ["0.0.0.0:53", "[::]:53"]
//!
//! [[zone]]
//! file = "zones/example.com.zone"   # relative to this file
//! origin = "example.com."           # optional; defaults to the SOA owner
//!
//! [tcp]
//! idle_timeout_secs = 10
//! max_connections = 512
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::server::{TcpLimits, DEFAULT_TCP_IDLE};
use crate::zone::ZoneSpec;

/// Default TCP connection bound: generous for an authoritative server, small for the kernel.
pub const DEFAULT_TCP_CONNECTIONS: usize = 512;

/// The file as written. Unknown keys are errors, so a typo never silently does nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<Vec<SocketAddr>>,
    #[serde(default)]
    pub zone: Vec<ZoneEntry>,
    #[serde(default)]
    pub tcp: TcpSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneEntry {
    pub file: PathBuf,
    pub origin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpSection {
    pub idle_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
}

/// A configuration error, displayed as `file:line: message`.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let error = |line, message| ConfigError {
            file: path.to_path_buf(),
            line,
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| error(0, format!("cannot read: {e}")))?;
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map_or(0, |span| 1 + text[..span.start].matches('\n').count());
            error(line, e.message().to_owned())
        })
    }
}

/// What `serve` and `check` run with, after flags and file are combined.
#[derive(Debug)]
pub struct Settings {
    pub zones: Vec<ZoneSpec>,
    pub listen: Vec<SocketAddr>,
    pub tcp: TcpLimits,
}

/// Flags given on the command line; they add zones to the file's and replace its listen set.
#[derive(Debug, Default)]
pub struct Overrides {
    pub zones: Vec<ZoneSpec>,
    pub listen: Vec<SocketAddr>,
    pub tcp_idle_timeout_secs: Option<u64>,
    pub tcp_max_connections: Option<usize>,
}

impl Settings {
    pub fn new(config: Option<&Path>, flags: Overrides) -> Result<Self, ConfigError> {
        let file = match config {
            Some(path) => ConfigFile::load(path)?,
            None => ConfigFile::default(),
        };
        let base = config.and_then(Path::parent).unwrap_or(Path::new(""));
        let mut zones = Vec::new();
        for entry in file.zone {
            let spec = ZoneSpec::new(base.join(&entry.file), entry.origin.as_deref()).map_err(
                |message| ConfigError {
                    file: config.map(Path::to_path_buf).unwrap_or_default(),
                    line: 0,
                    message,
                },
            )?;
            zones.push(spec);
        }
        zones.extend(flags.zones);
        let listen = if !flags.listen.is_empty() {
            flags.listen
        } else {
            file.listen.unwrap_or_else(default_listen)
        };
        let tcp = TcpLimits {
            idle_timeout: flags
                .tcp_idle_timeout_secs
                .or(file.tcp.idle_timeout_secs)
                .map_or(DEFAULT_TCP_IDLE, Duration::from_secs),
            max_connections: flags
                .tcp_max_connections
                .or(file.tcp.max_connections)
                .unwrap_or(DEFAULT_TCP_CONNECTIONS),
        };
        Ok(Self { zones, listen, tcp })
    }
}

/// Port 53 on every IPv4 and IPv6 address.
fn default_listen() -> Vec<SocketAddr> {
    vec![
        "0.0.0.0:53".parse().expect("valid literal"),
        "[::]:53".parse().expect("valid literal"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lbdns-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn unknown_keys_and_bad_values_name_file_and_line() {
        let path = write(
            "typo.toml",
            "listen = [\"127.0.0.1:53\"]\n\n[tcp]\nidle_timeout = 5\n",
        );
        let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert!(
            err.to_string()
                .contains("typo.toml:4: unknown field `idle_timeout`"),
            "{err}"
        );
        let path = write("addr.toml", "listen = [\"not an address\"]\n");
        let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(err.line, 1, "{err}");
        let path = write(
            "origin.toml",
            "[[zone]]\nfile = \"db\"\norigin = \"a..b.\"\n",
        );
        assert!(Settings::new(Some(&path), Overrides::default()).is_err());
    }

    #[test]
    fn zone_paths_are_relative_to_the_file_and_flags_take_precedence() {
        let path = write("ok.toml", "listen = [\"127.0.0.1:5300\"]\n[[zone]]\nfile = \"db.example\"\norigin = \"example.test.\"\n[tcp]\nmax_connections = 7\n");
        let flags = Overrides {
            zones: vec!["extra.zone".parse().unwrap()],
            tcp_idle_timeout_secs: Some(3),
            ..Overrides::default()
        };
        let settings = Settings::new(Some(&path), flags).unwrap();
        assert_eq!(
            settings.zones[0].file,
            path.parent().unwrap().join("db.example")
        );
        assert_eq!(
            settings.zones[0].origin.as_ref().unwrap().to_ascii(),
            "example.test."
        );
        assert_eq!(settings.zones[1].file, PathBuf::from("extra.zone"));
        assert_eq!(
            settings.listen,
            ["127.0.0.1:5300".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(settings.tcp.max_connections, 7);
        assert_eq!(settings.tcp.idle_timeout, Duration::from_secs(3));
        let cli = Overrides {
            listen: vec!["[::1]:53".parse().unwrap()],
            ..Overrides::default()
        };
        assert_eq!(Settings::new(Some(&path), cli).unwrap().listen.len(), 1);
        assert_eq!(
            Settings::new(None, Overrides::default())
                .unwrap()
                .listen
                .len(),
            2
        );
    }
}
