//! A zone file's characters read as the lexer asks for them, a line at a time, so reading a
//! file of millions of records never holds its whole text.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// The characters of one file, in order; stops at the end of the file or at the first error
/// (the error is kept in `error`).
pub struct FileChars {
    reader: BufReader<File>,
    line: String,
    at: usize,
    pub error: Option<io::Error>,
}

impl FileChars {
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            reader: BufReader::with_capacity(1 << 16, File::open(path)?),
            line: String::new(),
            at: 0,
            error: None,
        })
    }
}

impl Iterator for FileChars {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if self.at == self.line.len() {
            if self.error.is_some() {
                return None;
            }
            self.line.clear();
            self.at = 0;
            match self.reader.read_line(&mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(error) => {
                    self.error = Some(error);
                    return None;
                }
            }
        }
        let c = self.line[self.at..].chars().next()?;
        self.at += c.len_utf8();
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_comes_in_order_and_bad_utf8_is_an_error() {
        let path = std::env::temp_dir().join(format!("lbdns-chars-{}", std::process::id()));
        let text = "first line\n\tsecond, é and 𝄞\nno newline at the end";
        std::fs::write(&path, text).unwrap();
        let mut chars = FileChars::open(&path).unwrap();
        assert_eq!(chars.by_ref().collect::<String>(), text);
        assert!(chars.error.is_none());
        std::fs::write(&path, b"ok\n\xff\xfe\n").unwrap();
        let mut chars = FileChars::open(&path).unwrap();
        assert_eq!(chars.by_ref().collect::<String>(), "ok\n");
        assert!(chars.error.is_some());
        std::fs::remove_file(&path).unwrap();
    }
}
