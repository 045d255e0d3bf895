//! Splits RFC 1035 §5.1 master-file text into entries: one resource record or directive each,
//! with parentheses joined, comments removed and the line number where the entry starts.
//!
//! Tokens keep their escapes (`\.`, `\DDD`): only the consumer knows whether a token is a
//! domain name (where `\.` is a literal dot inside a label) or a character-string.

use super::ZoneErrorKind;

/// One word of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text as written, without surrounding quotes, escapes kept.
    pub text: String,
    /// Whether it was written in double quotes (only character-strings may be).
    pub quoted: bool,
}

/// One logical entry: a record or a `$` directive, possibly spanning lines inside `( )`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line on which the entry starts.
    pub line: usize,
    /// The entry began with white space, so the owner is the previous record's owner.
    pub inherits_owner: bool,
    pub tokens: Vec<Token>,
}

/// Lexer error with the line it happened on.
#[derive(Debug)]
pub struct LexError {
    pub line: usize,
    pub kind: ZoneErrorKind,
}

/// The entries of the text `chars` spell, in order, each read as it is asked for, or the
/// error of one that could not be read. Blank and comment-only lines produce none. After an
/// error the lexer skips to the end of the entry (past the closing parenthesis if one was
/// open), so one typo is one error. Lazy, so that a file of millions of entries never holds
/// their tokens all at once, and the characters can come from a file as it is read.
pub fn read<I: Iterator<Item = char>>(chars: I) -> Entries<I> {
    Entries {
        lexer: Lexer {
            chars: chars.peekable(),
            line: 1,
            open_at: None,
            spare: Spare::default(),
        },
    }
}

/// The iterator of [`read`]. An entry handed back with [`Entries::recycle`] lends its buffers
/// to the next ones: a file of a million records then costs no allocation per token.
pub struct Entries<I: Iterator<Item = char>> {
    lexer: Lexer<I>,
}

impl<I: Iterator<Item = char>> Entries<I> {
    /// Takes back an entry that is no longer needed, to reuse its buffers.
    pub fn recycle(&mut self, entry: Entry) {
        let spare = &mut self.lexer.spare;
        let mut tokens = entry.tokens;
        spare.texts.extend(tokens.drain(..).map(|token| token.text));
        spare.tokens = tokens;
    }
}

impl<I: Iterator<Item = char>> Iterator for Entries<I> {
    type Item = Result<Entry, LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.lexer.entry() {
            Ok(entry) => entry.map(Ok),
            Err(error) => {
                self.lexer.recover();
                Some(Err(error))
            }
        }
    }
}

/// Buffers of recycled entries, emptied, for the next entries to fill.
#[derive(Default)]
struct Spare {
    tokens: Vec<Token>,
    texts: Vec<String>,
}

impl Spare {
    /// An empty string for a token's text.
    fn text(&mut self) -> String {
        let mut text = self.texts.pop().unwrap_or_default();
        text.clear();
        text
    }
}

/// [`read`] collected: the entries, and the errors apart.
#[cfg(test)]
pub fn entries(text: &str) -> (Vec<Entry>, Vec<LexError>) {
    let (mut entries, mut errors) = (Vec::new(), Vec::new());
    for entry in read(text.chars()) {
        match entry {
            Ok(entry) => entries.push(entry),
            Err(error) => errors.push(error),
        }
    }
    (entries, errors)
}

struct Lexer<I: Iterator<Item = char>> {
    chars: std::iter::Peekable<I>,
    line: usize,
    /// The line of the `(` the current entry is inside, if any.
    open_at: Option<usize>,
    spare: Spare,
}

impl<I: Iterator<Item = char>> Lexer<I> {
    fn error(&self, kind: ZoneErrorKind) -> LexError {
        LexError {
            line: self.line,
            kind,
        }
    }

    /// Reads the next non-empty entry, or `None` at the end of the text.
    fn entry(&mut self) -> Result<Option<Entry>, LexError> {
        loop {
            if self.chars.peek().is_none() {
                return Ok(None);
            }
            let line = self.line;
            let inherits_owner = matches!(self.chars.peek(), Some(' ' | '\t'));
            let tokens = self.logical_line()?;
            if !tokens.is_empty() {
                return Ok(Some(Entry {
                    line,
                    inherits_owner,
                    tokens,
                }));
            }
        }
    }

    /// Skips the rest of a broken entry: through the closing parenthesis if one is open, then
    /// to the end of the line.
    fn recover(&mut self) {
        let mut open = self.open_at.take().is_some();
        for c in self.chars.by_ref() {
            match c {
                '\n' => {
                    self.line += 1;
                    if !open {
                        return;
                    }
                }
                ')' => open = false,
                _ => {}
            }
        }
    }

    /// Reads tokens up to the end of a line that is not inside parentheses.
    fn logical_line(&mut self) -> Result<Vec<Token>, LexError> {
        let mut tokens = std::mem::take(&mut self.spare.tokens);
        while let Some(&c) = self.chars.peek() {
            match c {
                '\n' => {
                    self.chars.next();
                    self.line += 1;
                    if self.open_at.is_none() {
                        return Ok(tokens);
                    }
                }
                ' ' | '\t' | '\r' => {
                    self.chars.next();
                }
                ';' => while self.chars.next_if(|&c| c != '\n').is_some() {},
                '(' => {
                    if self.open_at.is_some() {
                        return Err(self.error(ZoneErrorKind::Syntax("nested '('".into())));
                    }
                    self.chars.next();
                    self.open_at = Some(self.line);
                }
                ')' => {
                    if self.open_at.take().is_none() {
                        return Err(self.error(ZoneErrorKind::Syntax("')' without '('".into())));
                    }
                    self.chars.next();
                }
                '"' => {
                    self.chars.next();
                    tokens.push(self.quoted()?);
                }
                _ => tokens.push(self.bare()?),
            }
        }
        match self.open_at.take() {
            Some(line) => Err(LexError {
                line,
                kind: ZoneErrorKind::Syntax("'(' is never closed".into()),
            }),
            None => Ok(tokens),
        }
    }

    fn bare(&mut self) -> Result<Token, LexError> {
        let mut text = self.spare.text();
        while let Some(&c) = self.chars.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '(' | ')' | '"' => break,
                '\\' => self.escape(&mut text)?,
                c if c.is_control() => {
                    return Err(self.error(ZoneErrorKind::Syntax(format!(
                        "control character {:#04x}",
                        u32::from(c)
                    ))))
                }
                _ => {
                    text.push(c);
                    self.chars.next();
                }
            }
        }
        Ok(Token {
            text,
            quoted: false,
        })
    }

    fn quoted(&mut self) -> Result<Token, LexError> {
        let start = self.line;
        let mut text = self.spare.text();
        loop {
            match self.chars.peek() {
                None => {
                    return Err(LexError {
                        line: start,
                        kind: ZoneErrorKind::Syntax("unterminated quoted string".into()),
                    })
                }
                Some('"') => {
                    self.chars.next();
                    return Ok(Token { text, quoted: true });
                }
                Some('\\') => self.escape(&mut text)?,
                Some(&c) => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    text.push(c);
                    self.chars.next();
                }
            }
        }
    }

    /// Copies a backslash escape verbatim so that the consumer can decode it in context.
    fn escape(&mut self, text: &mut String) -> Result<(), LexError> {
        self.chars.next();
        text.push('\\');
        // The newline is left for `recover`, which counts it.
        match self.chars.next_if(|&c| c != '\n') {
            None => Err(self.error(ZoneErrorKind::Syntax("dangling '\\'".into()))),
            Some(c) => {
                text.push(c);
                Ok(())
            }
        }
    }
}

/// Decodes the escapes of a token into raw octets (RFC 1035 §5.1: `\X` and `\DDD`).
pub fn unescape(text: &str) -> Result<Vec<u8>, ZoneErrorKind> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(d) if d.is_ascii_digit() => {
                let digits = [Some(d), bytes.next(), bytes.next()];
                let mut value = 0u16;
                for digit in digits {
                    match digit {
                        Some(d) if d.is_ascii_digit() => value = value * 10 + u16::from(d - b'0'),
                        _ => {
                            return Err(ZoneErrorKind::Syntax(
                                "\\DDD escape needs three digits".into(),
                            ))
                        }
                    }
                }
                let octet = u8::try_from(value).map_err(|_| {
                    ZoneErrorKind::Syntax(format!("\\{value:03} is larger than 255"))
                })?;
                out.push(octet);
            }
            Some(other) => out.push(other),
            None => return Err(ZoneErrorKind::Syntax("dangling '\\'".into())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(entry: &Entry) -> Vec<&str> {
        entry.tokens.iter().map(|t| t.text.as_str()).collect()
    }

    /// The entries of text that has no lexical errors.
    fn clean(text: &str) -> Vec<Entry> {
        let (entries, errors) = entries(text);
        assert!(errors.is_empty(), "{errors:?}");
        entries
    }

    fn error_lines(text: &str) -> Vec<usize> {
        entries(text).1.iter().map(|e| e.line).collect()
    }

    #[test]
    fn joins_parentheses_and_strips_comments() {
        let e = clean("@ IN SOA a. b. ( 1 ; serial\n 2 3\n 4 5 )\nwww A 192.0.2.1 ; c\n");
        assert_eq!(e.len(), 2);
        assert_eq!(
            texts(&e[0]),
            ["@", "IN", "SOA", "a.", "b.", "1", "2", "3", "4", "5"]
        );
        assert_eq!(e[1].line, 4);
        assert!(!e[1].inherits_owner);
    }

    #[test]
    fn leading_blank_inherits_owner_and_blank_lines_vanish() {
        let e = clean("\n; only a comment\n   \n\tA 192.0.2.1\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].inherits_owner);
        assert_eq!(e[0].line, 4);
    }

    #[test]
    fn quoted_strings_keep_spaces_semicolons_and_escapes() {
        let e = clean(r#"t TXT "a b;c" "q\"x" plain"#);
        let t = &e[0].tokens;
        assert_eq!((t[2].text.as_str(), t[2].quoted), ("a b;c", true));
        assert_eq!(t[3].text, r#"q\"x"#);
        assert!(!t[4].quoted);
    }

    #[test]
    fn reports_the_line_of_an_unclosed_parenthesis() {
        assert_eq!(error_lines("a A 1.2.3.4\nb SOA ( 1 2\n3\n"), [2]);
        assert_eq!(error_lines("a ) b"), [1]);
        assert_eq!(error_lines("a \"open"), [1]);
    }

    #[test]
    fn after_an_error_the_next_entry_is_read() {
        let text = "a ) b\nc A 1\nd ( ( 2\n 3 )\ne A 2\nf A \\\ng A 3\n";
        let (entries, errors) = entries(text);
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 3, 6]);
        let owners: Vec<(&str, usize)> = entries
            .iter()
            .map(|e| (e.tokens[0].text.as_str(), e.line))
            .collect();
        assert_eq!(owners, [("c", 2), ("e", 5), ("g", 7)]);
    }

    #[test]
    fn unescape_decodes_decimal_and_literal_escapes() {
        assert_eq!(unescape(r"a\.b\065\\").unwrap(), b"a.bA\\");
        assert!(unescape(r"\25").is_err());
        assert!(unescape(r"\256").is_err());
    }
}
