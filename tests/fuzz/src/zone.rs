//! The master-file reader: `Zone::parse` on any text (octets that are not UTF-8 replaced, as
//! a file that is not UTF-8 never reaches it).
//!
//! Invariants: no panic; every error names the file it is in, and a line of the text when it
//! is in the text; a zone that loads is written by `zone::write::save` and read back to the
//! same records, as a secondary's kept copy is.

use std::path::{Path, PathBuf};

use lbdns::zone::{write, Zone, ZoneErrors};

/// The name the text is read under. Relative `$INCLUDE`s are taken from its directory, which
/// does not exist: an include reaches a file only through an absolute path.
const ZONE_PATH: &str = "/nonexistent/lbdns-fuzz/zone.db";

/// Reads `data` as a zone file and checks the outcome.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new(ZONE_PATH);
    match Zone::parse(&text, path, None) {
        Err(errors) => check_errors(&text, path, &errors),
        Ok(zone) => round_trip(&zone),
    }
}

/// Each error names a file; one in the text itself names a line of it (or none, 0, when it is
/// about the zone as a whole).
fn check_errors(text: &str, path: &Path, errors: &ZoneErrors) {
    // An error at the very end is on the line after the last newline.
    let lines = text.matches('\n').count() + 1;
    for error in errors.errors() {
        let shown = error.to_string();
        assert!(
            shown.starts_with(&error.file.display().to_string()),
            "an error that does not start with its file: {shown}"
        );
        if error.file == path {
            assert!(
                error.line <= lines,
                "line {} of a text of {lines} lines: {shown}",
                error.line
            );
        }
    }
    assert!(!errors.to_string().is_empty());
}

/// Writes `zone` as a master file, reads it back, and compares the records in order.
fn round_trip(zone: &Zone) {
    let file = scratch().join("round-trip.zone");
    write::save(zone, &file).unwrap_or_else(|error| panic!("{error}"));
    let again = Zone::load(&file, Some(zone.origin.clone()))
        .unwrap_or_else(|errors| panic!("the written zone does not load:\n{errors}"));
    let before: Vec<_> = zone.records.iter().map(|r| &r.record).collect();
    let after: Vec<_> = again.records.iter().map(|r| &r.record).collect();
    assert_eq!(
        before.len(),
        after.len(),
        "records before and after the round trip"
    );
    for (was, is) in before.iter().zip(&after) {
        assert_eq!(was, is, "a record changed in the round trip");
        assert_eq!(
            was.name.to_string(),
            is.name.to_string(),
            "an owner's case or escapes changed in the round trip"
        );
    }
}

/// A directory of this process's own for the round trip's file.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lbdns-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    dir
}
