//! The blake3 hash chain over stored records, exactly as the spec states:
//! `h_0 = H("journal/v1/genesis" ‖ run_id ‖ target fingerprint)` and
//! `h_i = H("journal/v1/event" ‖ seq_i (u64 BE) ‖ h_{i−1} ‖ length (u64 BE) ‖ stored bytes)`.
//! The stored bytes are hashed as stored, never re-serialised.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A link of the chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainHash(pub [u8; 32]);

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", &hex::encode(&self.0[..8]))
    }
}

/// Returns `h_0` for a run.
pub fn genesis(run_id: &str, target_fingerprint: &[u8; 32]) -> ChainHash {
    let mut h = blake3::Hasher::new();
    h.update(b"journal/v1/genesis");
    h.update(run_id.as_bytes());
    h.update(target_fingerprint);
    ChainHash(*h.finalize().as_bytes())
}

/// Returns `h_i` for the stored bytes of record `seq` following `prev`.
pub fn link(seq: u64, prev: &ChainHash, stored: &[u8]) -> ChainHash {
    let mut h = blake3::Hasher::new();
    h.update(b"journal/v1/event");
    h.update(&seq.to_be_bytes());
    h.update(&prev.0);
    h.update(&(stored.len() as u64).to_be_bytes());
    h.update(stored);
    ChainHash(*h.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_depends_on_every_input() {
        let g = genesis("run", &[0; 32]);
        let base = link(1, &g, b"abc");
        assert_ne!(base, link(2, &g, b"abc"));
        assert_ne!(base, link(1, &genesis("run2", &[0; 32]), b"abc"));
        assert_ne!(base, link(1, &g, b"abd"));
        assert_ne!(genesis("run", &[1; 32]), g);
    }
}
