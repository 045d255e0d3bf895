//! The TOML configuration: `Settings::from_text` on any text, then, when it reads, its pools
//! validated against the TestRun fixture's catalog as a load validates them.
//!
//! Invariants: no panic; every error names the file and, when it has one, a line of the text.

use std::path::Path;

use lbdns::{
    config::{ConfigText, Overrides, Settings},
    pool,
    served::CatalogZones,
};

/// The name the text is read under; relative paths in it are taken from its directory, which
/// does not exist.
const CONFIG_PATH: &str = "/nonexistent/lbdns-fuzz/lbdns.toml";

/// Reads `data` as a configuration file and checks the outcome.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let path = Path::new(CONFIG_PATH);
    // An error at the very end (an unclosed array) is on the line after the last newline.
    let lines = text.matches('\n').count() + 1;
    let settings = match Settings::from_text(path, text.clone(), Overrides::default()) {
        Ok(settings) => settings,
        Err(error) => {
            check_place(&error.to_string(), &error.file, error.line, lines);
            return;
        }
    };
    let source = ConfigText {
        path: path.to_path_buf(),
        text,
    };
    let validated = crate::with_catalog(|catalog| {
        pool::validate(
            &settings.pools,
            source.source(),
            &CatalogZones(catalog),
            &settings.geo.locations,
        )
    });
    if let Err(error) = validated {
        check_place(&error.to_string(), &error.file, error.line, lines);
    }
}

/// An error displayed as `file:line: ...` (or `file: ...`) with a line of the text.
fn check_place(shown: &str, file: &Path, line: usize, lines: usize) {
    assert_eq!(
        file,
        Path::new(CONFIG_PATH),
        "the error names another file: {shown}"
    );
    assert!(
        shown.starts_with(CONFIG_PATH),
        "the error does not start with its file: {shown}"
    );
    assert!(
        line <= lines,
        "line {line} of a text of {lines} lines: {shown}"
    );
}
