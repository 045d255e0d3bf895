//! Whether stderr is connected to the journal, so log levels can reach it as priorities.
//!
//! systemd sets `$JOURNAL_STREAM` to `DEVICE:INODE` of the stream it connected to stdout and
//! stderr (systemd.exec(5)). A child process inherits the variable even when its stderr has
//! been redirected elsewhere, so the variable alone proves nothing: as systemd documents, the
//! stream counts only when stderr's own device and inode match it.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

/// Whether `$JOURNAL_STREAM` names the stream that is this process's stderr.
pub fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some(value) = value.to_str() else {
        return false;
    };
    stderr_identity().is_ok_and(|(device, inode)| names(value, device, inode))
}

/// The device and inode of stderr (fstat(2) of a duplicate of descriptor 2).
fn stderr_identity() -> io::Result<(u64, u64)> {
    let stderr = std::fs::File::from(io::stderr().as_fd().try_clone_to_owned()?);
    let metadata = stderr.metadata()?;
    Ok((metadata.dev(), metadata.ino()))
}

/// Whether `value`, a `$JOURNAL_STREAM`, is `device:inode` in decimal.
fn names(value: &str, device: u64, inode: u64) -> bool {
    value.split_once(':').is_some_and(|(d, i)| {
        d.parse::<u64>().is_ok_and(|d| d == device) && i.parse::<u64>().is_ok_and(|i| i == inode)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_counts_only_for_the_stream_it_names() {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("lbdns-journal-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let metadata = file.metadata().unwrap();
        let (device, inode) = (metadata.dev(), metadata.ino());
        assert!(names(&format!("{device}:{inode}"), device, inode));
        // Another file (an inherited variable, stderr redirected) is not the journal.
        assert!(!names(&format!("{device}:{}", inode + 1), device, inode));
        assert!(!names(&format!("{}:{inode}", device + 1), device, inode));
        for junk in [
            "",
            ":",
            "12",
            "a:b",
            &format!("{device}:{inode}:1"),
            &format!(" {device}:{inode}"),
        ] {
            assert!(!names(junk, device, inode), "{junk:?}");
        }
        std::fs::remove_file(&path).unwrap();
    }
}
