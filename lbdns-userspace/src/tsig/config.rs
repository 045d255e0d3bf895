//! The `[[key]]` tables of the configuration file: TSIG keys, found by name by the zones'
//! `provide_xfr`, `notify` and (secondary zones) `tsig` settings.
//!
//! ```toml
//! [[key]]
//! name = "xfr-key"             # the key's name, as the peers spell it
//! algorithm = "hmac-sha256"    # hmac-sha1 | hmac-sha256 | hmac-sha384 | hmac-sha512
//! secret = "base64..."         # the shared secret, base64 (as `tsig-keygen` prints it)
//! # secret_file = "xfr.key"    # or: a file holding only the base64, relative to this file
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use hickory_proto::rr::Name;
use serde::Deserialize;
use toml::Spanned;

use super::{Algorithm, Key, KeyRing};
use crate::config::ConfigError;

/// One `[[key]]` table as written; spans kept so errors name the line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    pub name: Spanned<String>,
    pub algorithm: Spanned<String>,
    pub secret: Option<Spanned<String>>,
    pub secret_file: Option<Spanned<PathBuf>>,
}

impl KeyRing {
    /// Validates the `[[key]]` tables of `file` (whose text is `text`); a secret file is
    /// read relative to `base`. Errors name the file and the line of the offending key.
    pub fn from_entries(
        entries: Vec<KeyEntry>,
        file: &Path,
        text: &str,
        base: &Path,
    ) -> Result<Self, ConfigError> {
        let error =
            |span: Range<usize>, message: String| ConfigError::at(file, text, span.start, message);
        let mut ring = KeyRing::default();
        for entry in entries {
            let name_span = entry.name.span();
            let mut name = Name::from_ascii(entry.name.get_ref())
                .ok()
                .filter(|name| !name.is_root())
                .ok_or_else(|| {
                    error(
                        name_span.clone(),
                        format!("key.name: {:?} is not a domain name", entry.name.get_ref()),
                    )
                })?;
            name.set_fqdn(true);
            let algorithm = Algorithm::from_name(entry.algorithm.get_ref()).ok_or_else(|| {
                error(
                    entry.algorithm.span(),
                    format!(
                        "key.algorithm: {:?} is not one of hmac-sha1, hmac-sha256, hmac-sha384, \
                         hmac-sha512",
                        entry.algorithm.get_ref()
                    ),
                )
            })?;
            let (span, encoded) = match (entry.secret, entry.secret_file) {
                (Some(secret), None) => (secret.span(), secret.into_inner()),
                (None, Some(path)) => {
                    let span = path.span();
                    let full = base.join(path.get_ref());
                    let read = std::fs::read_to_string(&full).map_err(|e| {
                        error(
                            span.clone(),
                            format!("key.secret_file: cannot read {}: {e}", full.display()),
                        )
                    })?;
                    (span, read.trim().to_owned())
                }
                (Some(_), Some(path)) => {
                    return Err(error(
                        path.span(),
                        "key.secret_file: give `secret` or `secret_file`, not both".into(),
                    ))
                }
                (None, None) => {
                    return Err(error(
                        name_span,
                        format!("key {name}: `secret` or `secret_file` is required"),
                    ))
                }
            };
            let secret = data_encoding::BASE64
                .decode(encoded.as_bytes())
                .ok()
                .filter(|secret| !secret.is_empty())
                .ok_or_else(|| {
                    error(
                        span,
                        format!("key {name}: the secret is not base64 (or is empty)"),
                    )
                })?;
            if ring
                .insert(Key::new(name.clone(), algorithm, secret))
                .is_some()
            {
                return Err(error(name_span, format!("key {name} is defined twice")));
            }
        }
        Ok(ring)
    }
}
