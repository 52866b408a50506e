//! Secrets that can be read from configuration but never journaled.
//!
//! [`Secret`] deliberately implements neither `Serialize` nor a revealing
//! `Debug`, and every event payload must be `Serialize`: so a type that holds a
//! secret cannot be put into an event or an export, by type rather than by
//! convention. This does not compile:
//!
//! ```compile_fail
//! #[derive(serde::Serialize)]
//! struct Creds { password: journal::Secret }
//! ```

use std::fmt;

/// A password, token or credential secret; its value is only reachable through
/// [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value, for the one call that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Returns true when the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }
}
