//! A small ini parser for `kuryr.conf`, enough for oslo.config files.
//!
//! Sections in `[brackets]`, `key = value` or `key: value` pairs, comments
//! starting with `#` or `;` on their own line, blank lines, and indented
//! continuation lines (oslo.config appends them to the previous value with a
//! newline). Keys are case-sensitive like oslo's; a repeated key keeps the
//! last value. Lines outside any section belong to `DEFAULT`.

use std::collections::BTreeMap;

use thiserror::Error;

/// A parsed ini file: section → key → value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    sections: BTreeMap<String, BTreeMap<String, String>>,
}

/// Errors of ini parsing; messages read after "failed to …".
#[derive(Debug, Error, PartialEq, Eq)]
pub enum IniError {
    /// A section header without its closing bracket.
    #[error("parse ini line {line}: section header {text:?} has no closing ']'")]
    UnclosedSection {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A line that is neither a section, a pair, a comment nor a continuation.
    #[error("parse ini line {line}: expected 'key = value', found {text:?}")]
    NotAPair {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
}

/// The section of lines before any header.
pub const DEFAULT_SECTION: &str = "DEFAULT";

impl Ini {
    /// Parses ini text.
    pub fn parse(text: &str) -> Result<Ini, IniError> {
        let mut ini = Ini::default();
        let mut section = DEFAULT_SECTION.to_string();
        let mut last_key: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                last_key = None;
                continue;
            }
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            let indented = raw.starts_with(' ') || raw.starts_with('\t');
            if indented && let Some(key) = &last_key {
                let value = ini
                    .sections
                    .get_mut(&section)
                    .and_then(|s| s.get_mut(key))
                    .expect("continuation follows a stored key");
                value.push('\n');
                value.push_str(trimmed);
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(IniError::UnclosedSection {
                        line,
                        text: trimmed.to_string(),
                    });
                };
                section = name.trim().to_string();
                ini.sections.entry(section.clone()).or_default();
                last_key = None;
                continue;
            }
            let split = trimmed.find(['=', ':']);
            let Some(at) = split.filter(|&at| at > 0) else {
                return Err(IniError::NotAPair {
                    line,
                    text: trimmed.to_string(),
                });
            };
            let key = trimmed[..at].trim().to_string();
            let value = trimmed[at + 1..].trim().to_string();
            ini.sections
                .entry(section.clone())
                .or_default()
                .insert(key.clone(), value);
            last_key = Some(key);
        }
        Ok(ini)
    }

    /// Returns the value of `key` in `section`, if set and not empty.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .get(section)?
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Returns the comma-separated list in `key`, trimmed, without empty items.
    pub fn get_list(&self, section: &str, key: &str) -> Vec<String> {
        self.get(section, key)
            .map(|v| {
                v.split([',', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Returns the names of the sections.
    pub fn sections(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_pairs_and_comments() {
        let ini =
            Ini::parse("top = 1\n# comment\n[a]\nx = 1\n; other\ny: two words \n\n[b]\nx=3\nx=4\n")
                .unwrap();
        assert_eq!(ini.get(DEFAULT_SECTION, "top"), Some("1"));
        assert_eq!(ini.get("a", "x"), Some("1"));
        assert_eq!(ini.get("a", "y"), Some("two words"));
        assert_eq!(ini.get("b", "x"), Some("4"));
        assert_eq!(ini.get("b", "missing"), None);
        assert_eq!(
            ini.sections().collect::<Vec<_>>(),
            vec!["DEFAULT", "a", "b"]
        );
    }

    #[test]
    fn values_may_contain_separators() {
        let ini = Ini::parse("[s]\nurl = http://h:5000/v3\ntags = a=b,c\n").unwrap();
        assert_eq!(ini.get("s", "url"), Some("http://h:5000/v3"));
        assert_eq!(ini.get_list("s", "tags"), vec!["a=b", "c"]);
    }

    #[test]
    fn continuation_lines_extend_the_value() {
        let ini = Ini::parse("[s]\nsgs = a,\n  b\n").unwrap();
        assert_eq!(ini.get_list("s", "sgs"), vec!["a", "b"]);
    }

    #[test]
    fn empty_values_read_as_unset() {
        let ini = Ini::parse("[s]\nk =\n").unwrap();
        assert_eq!(ini.get("s", "k"), None);
        assert!(ini.get_list("s", "k").is_empty());
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        assert_eq!(
            Ini::parse("[s\n").unwrap_err(),
            IniError::UnclosedSection {
                line: 1,
                text: "[s".into()
            }
        );
        let err = Ini::parse("[s]\njunk\n").unwrap_err();
        assert!(matches!(err, IniError::NotAPair { line: 2, .. }));
        assert!(matches!(
            Ini::parse("= v\n"),
            Err(IniError::NotAPair { line: 1, .. })
        ));
    }
}
