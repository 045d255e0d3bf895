//! The `[cookies]` table of the configuration file: the server secret of DNS Cookies.
//!
//! ```toml
//! [cookies]
//! secret = "e5e973e5a6b2a43f48e7dc849e37bfcf"   # 16 octets as hex: the same on every host
//! # secret_file = "cookie.secret"               # or: a file, relative to this one, whose
//! #                                             # first line is the secret and whose second,
//! #                                             # if any, the previous one
//! previous_secret = "dd3bdf9344b678b185a6f5cb60fca715"  # accepted while rolling over
//! ```
//!
//! Without `secret` or `secret_file` the process draws a random secret (`super::Cookies`).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{Cookies, SECRET_LEN};
use crate::config::ConfigError;

/// The `[cookies]` table as written; spans kept so errors name the line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookiesSection {
    pub secret: Option<Spanned<String>>,
    pub secret_file: Option<Spanned<PathBuf>>,
    pub previous_secret: Option<Spanned<String>>,
}

impl CookiesSection {
    /// Validates the table of `file` (whose text is `text`); a secret file is read relative to
    /// `base`. Errors name the configuration's line, or the secret file's.
    pub fn cookies(self, file: &Path, text: &str, base: &Path) -> Result<Cookies, ConfigError> {
        let error =
            |span: Range<usize>, message: String| ConfigError::at(file, text, span.start, message);
        let (current, mut previous) = match (self.secret, self.secret_file) {
            (None, None) => {
                if let Some(previous) = self.previous_secret {
                    return Err(error(
                        previous.span(),
                        "cookies.previous_secret: only with `secret` or `secret_file`".into(),
                    ));
                }
                return Ok(Cookies::default());
            }
            (Some(_), Some(path)) => {
                return Err(error(
                    path.span(),
                    "cookies.secret_file: give `secret` or `secret_file`, not both".into(),
                ))
            }
            (Some(secret), None) => {
                let octets = decode(secret.get_ref())
                    .map_err(|why| error(secret.span(), format!("cookies.secret: {why}")))?;
                (octets, None)
            }
            (None, Some(path)) => {
                let full = base.join(path.get_ref());
                let read = std::fs::read_to_string(&full).map_err(|e| {
                    error(
                        path.span(),
                        format!("cookies.secret_file: cannot read {}: {e}", full.display()),
                    )
                })?;
                secret_file(&full, &read)?
            }
        };
        if let Some(text) = self.previous_secret {
            if previous.is_some() {
                return Err(error(
                    text.span(),
                    "cookies.previous_secret: the secret file names one already".into(),
                ));
            }
            let octets = decode(text.get_ref())
                .map_err(|why| error(text.span(), format!("cookies.previous_secret: {why}")))?;
            previous = Some(octets);
        }
        Ok(Cookies::new(current, previous))
    }
}

/// A secret file: its first non-empty line the secret, its second (if any) the previous one;
/// errors name the file and line.
fn secret_file(
    path: &Path,
    text: &str,
) -> Result<([u8; SECRET_LEN], Option<[u8; SECRET_LEN]>), ConfigError> {
    let mut secrets = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let error = |message: String| ConfigError {
            file: path.to_path_buf(),
            line: index + 1,
            message,
        };
        if secrets.len() == 2 {
            return Err(error(
                "a third secret: the file holds the secret and at most a previous one".into(),
            ));
        }
        secrets.push(decode(line).map_err(error)?);
    }
    match secrets[..] {
        [current] => Ok((current, None)),
        [current, previous] => Ok((current, Some(previous))),
        _ => Err(ConfigError {
            file: path.to_path_buf(),
            line: 0,
            message: "no secret in the file".into(),
        }),
    }
}

/// Sixteen octets from 32 hex digits.
fn decode(text: &str) -> Result<[u8; SECRET_LEN], String> {
    let octets = data_encoding::HEXLOWER_PERMISSIVE
        .decode(text.trim().as_bytes())
        .map_err(|_| format!("{text:?} is not pairs of hex digits"))?;
    octets.try_into().map_err(|octets: Vec<u8>| {
        format!(
            "{} octets; a secret is {SECRET_LEN} (32 hex digits)",
            octets.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> Result<Cookies, ConfigError> {
        let file: crate::config::ConfigFile = toml::from_str(text).unwrap();
        file.cookies
            .cookies(Path::new("lbdns.toml"), text, Path::new("/nonexistent"))
    }

    #[test]
    fn rfc9018_5_a_secret_and_a_previous_one_for_the_rollover() {
        let cookies = section(
            "[cookies]\nsecret = \"445536bcd2513298075a5d379663c962\"\n\
             previous_secret = \"DD3BDF9344B678B185A6F5CB60FCA715\"\n",
        )
        .unwrap();
        let expected = Cookies::new(
            [
                0x44, 0x55, 0x36, 0xbc, 0xd2, 0x51, 0x32, 0x98, 0x07, 0x5a, 0x5d, 0x37, 0x96, 0x63,
                0xc9, 0x62,
            ],
            Some([
                0xdd, 0x3b, 0xdf, 0x93, 0x44, 0xb6, 0x78, 0xb1, 0x85, 0xa6, 0xf5, 0xcb, 0x60, 0xfc,
                0xa7, 0x15,
            ]),
        );
        assert_eq!(cookies, expected);
    }

    #[test]
    fn without_a_secret_the_process_draws_one_and_keeps_it() {
        let first = section("").unwrap();
        assert_eq!(first, section("[cookies]\n").unwrap());
        assert_ne!(first.secrets().current.0, [0, 0]);
    }

    #[test]
    fn bad_secrets_name_the_line() {
        let cases = [
            (
                "[cookies]\n\nsecret = \"abc\"\n",
                "lbdns.toml:3: cookies.secret: \"abc\" is not pairs of hex digits",
            ),
            (
                "[cookies]\nsecret = \"0011\"\n",
                "lbdns.toml:2: cookies.secret: 2 octets; a secret is 16 (32 hex digits)",
            ),
            (
                "[cookies]\nprevious_secret = \"00112233445566778899aabbccddeeff\"\n",
                "lbdns.toml:2: cookies.previous_secret: only with `secret` or `secret_file`",
            ),
            (
                "[cookies]\nsecret = \"00112233445566778899aabbccddeeff\"\nsecret_file = \"x\"\n",
                "lbdns.toml:3: cookies.secret_file: give `secret` or `secret_file`, not both",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(section(text).unwrap_err().to_string(), message, "{text}");
        }
    }

    #[test]
    fn a_secret_file_holds_the_secret_and_the_previous_one() {
        let dir = std::env::temp_dir().join(format!("lbdns-cookies-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cookie.secret");
        std::fs::write(
            &path,
            "00112233445566778899aabbccddeeff\n\nffeeddccbbaa99887766554433221100\n",
        )
        .unwrap();
        let text = "[cookies]\nsecret_file = \"cookie.secret\"\n";
        let file: crate::config::ConfigFile = toml::from_str(text).unwrap();
        let cookies = file
            .cookies
            .cookies(Path::new("lbdns.toml"), text, &dir)
            .unwrap();
        assert_eq!(cookies.secrets().flags, lbdns_common::cookie::HAS_PREVIOUS);
        std::fs::write(&path, "00112233445566778899aabbccddeeff\nnot hex\n").unwrap();
        let file: crate::config::ConfigFile = toml::from_str(text).unwrap();
        let error = file
            .cookies
            .cookies(Path::new("lbdns.toml"), text, &dir)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}:2: \"not hex\" is not pairs of hex digits",
                path.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
