//! Free text and documents whose stored size is bounded by construction.
//!
//! An event carries what a cluster, a cloud or a command said: an error, a
//! command's stderr, a condition's message, an observed object. Those have no
//! size limit, but a record does (`keys::MAX_RECORD`, 4 KiB). So events hold
//! them as [`Text`] and [`Doc`], which keep at most a short inline part and
//! put the full form in the blob store, by its hash. The only constructors
//! that take new data ([`Text::new`], [`Doc::new`], and the journal's
//! [`crate::Journal::text`] / [`crate::Journal::doc`] built on them) enforce
//! the bound; what version 1 and 2 records stored (at most a record's size)
//! comes back through the upcasts as it was.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::event::{BlobHash, Json};

/// Most bytes of a [`Text`] kept inline (the rest is in the blob store).
pub const TEXT_INLINE: usize = 256;
/// Most bytes of a [`Doc`] kept inline; a larger document is stored as a blob
/// and only its first [`DOC_PREVIEW`] bytes are kept, as a preview.
pub const DOC_INLINE: usize = 1024;
/// Bytes of a large [`Doc`] kept inline as a preview.
pub const DOC_PREVIEW: usize = 200;

/// Returns the longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Free text: whole when short, else a prefix of at most [`TEXT_INLINE`]
/// bytes and the blob hash of the full text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    inline: String,
    len: u64,
    full: Option<BlobHash>,
}

impl Text {
    /// Bounds `s`: when it is longer than [`TEXT_INLINE`], `store` is given its
    /// bytes and must return their blob address.
    pub fn new(s: &str, store: impl FnOnce(&[u8]) -> Result<BlobHash>) -> Result<Text> {
        let full = if s.len() > TEXT_INLINE {
            Some(store(s.as_bytes())?)
        } else {
            None
        };
        Ok(Text {
            inline: prefix(s, TEXT_INLINE).to_string(),
            len: s.len() as u64,
            full,
        })
    }

    /// Returns a short text as it is; `None` when it would need the blob store.
    pub fn short(s: &str) -> Option<Text> {
        (s.len() <= TEXT_INLINE).then(|| Text {
            inline: s.to_string(),
            len: s.len() as u64,
            full: None,
        })
    }

    /// Keeps text read from an old record as it was (bounded by that record).
    pub(crate) fn legacy(s: String) -> Text {
        Text {
            len: s.len() as u64,
            inline: s,
            full: None,
        }
    }

    /// Returns the inline part: the whole text when [`Self::is_complete`].
    pub fn inline(&self) -> &str {
        &self.inline
    }

    /// Returns the full text's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Returns true when the text is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns true when the inline part is the whole text.
    pub fn is_complete(&self) -> bool {
        self.full.is_none()
    }

    /// Returns the blob holding the full text, when it was cut.
    pub fn full_blob(&self) -> Option<BlobHash> {
        self.full
    }
}

/// Shows the inline part, and when the text was cut, a marker naming its
/// length and the blob that holds all of it.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inline)?;
        if let Some(h) = self.full {
            write!(
                f,
                "… [cut at {} of {} bytes; full text in blob {h}]",
                self.inline.len(),
                self.len
            )?;
        }
        Ok(())
    }
}

/// A JSON document: inline when at most [`DOC_INLINE`] bytes, else in the
/// blob store with a preview of its first [`DOC_PREVIEW`] bytes inline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    /// The document when whole, else a preview (not valid JSON in general).
    inline: String,
    len: u64,
    full: Option<BlobHash>,
}

impl Doc {
    /// Bounds `json`: when it is longer than [`DOC_INLINE`], `store` is given
    /// its bytes and must return their blob address.
    pub fn new(json: Json, store: impl FnOnce(&[u8]) -> Result<BlobHash>) -> Result<Doc> {
        let len = json.0.len() as u64;
        if json.0.len() <= DOC_INLINE {
            return Ok(Doc {
                inline: json.0,
                len,
                full: None,
            });
        }
        let full = store(json.0.as_bytes())?;
        Ok(Doc {
            inline: prefix(&json.0, DOC_PREVIEW).to_string(),
            len,
            full: Some(full),
        })
    }

    /// Returns the JSON `null` document.
    pub fn null() -> Doc {
        Doc {
            inline: "null".into(),
            len: 4,
            full: None,
        }
    }

    /// Returns a small document as it is; `None` when it would need the blob store.
    pub fn short(json: Json) -> Option<Doc> {
        let len = json.0.len();
        (len <= DOC_INLINE).then_some(Doc {
            len: len as u64,
            inline: json.0,
            full: None,
        })
    }

    /// Keeps a document read from an old record as it was.
    pub(crate) fn legacy(json: Json) -> Doc {
        Doc {
            len: json.0.len() as u64,
            inline: json.0,
            full: None,
        }
    }

    /// A version-2 observation stored whole in the blob store (length unknown).
    pub(crate) fn legacy_blob(hash: BlobHash) -> Doc {
        Doc {
            inline: String::new(),
            len: 0,
            full: Some(hash),
        }
    }

    /// Returns the document when it is inline and whole.
    pub fn json(&self) -> Option<Json> {
        self.full.is_none().then(|| Json(self.inline.clone()))
    }

    /// Returns the document's value when inline and whole (`None` otherwise,
    /// or when it does not parse): use [`crate::Journal::load_doc`] for all.
    pub fn inline_value(&self) -> Option<serde_json::Value> {
        self.json().and_then(|j| serde_json::from_str(&j.0).ok())
    }

    /// Returns the inline text: the document, or the preview of a large one.
    pub fn preview(&self) -> &str {
        &self.inline
    }

    /// Returns the document's length in bytes (0 when an old record did not say).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Returns true when the document is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.full.is_none()
    }

    /// Returns the blob holding the whole document, when it is not inline.
    pub fn full_blob(&self) -> Option<BlobHash> {
        self.full
    }
}

/// Shows the document, or its preview and a marker naming its blob.
impl fmt::Display for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inline)?;
        if let Some(h) = self.full {
            write!(f, "… [{}-byte document in blob {h}]", self.len)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(b: &[u8]) -> Result<BlobHash> {
        Ok(BlobHash::of(b))
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary_and_referenced() {
        let s = "é".repeat(300); // 600 bytes, 2 per char
        let t = Text::new(&s, store).unwrap();
        assert!(t.inline().len() <= TEXT_INLINE);
        assert!(s.starts_with(t.inline()));
        assert_eq!(t.len(), 600);
        assert_eq!(t.full_blob(), Some(BlobHash::of(s.as_bytes())));
        assert!(t.to_string().contains("of 600 bytes"));
        let short = Text::new("boom", |_| panic!("no blob for short text")).unwrap();
        assert!(short.is_complete());
        assert_eq!(short.to_string(), "boom");
        assert!(Text::short(&s).is_none());
    }

    #[test]
    fn large_doc_goes_to_the_blob_store() {
        let big = Json(format!("{{\"x\":\"{}\"}}", "a".repeat(5000)));
        let d = Doc::new(big.clone(), store).unwrap();
        assert!(d.json().is_none());
        assert_eq!(d.full_blob(), Some(BlobHash::of(big.0.as_bytes())));
        assert!(d.preview().len() <= DOC_PREVIEW);
        let small = Doc::new(Json("{\"a\":1}".into()), |_| panic!("inline")).unwrap();
        assert_eq!(small.inline_value().unwrap()["a"], 1);
    }
}
