//! Deterministic identifiers for scenarios: UUIDs, Neutron/Keystone hex IDs,
//! MAC addresses and cluster IDs drawn from one seeded RNG.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::openstack::format_uuid;

/// A seeded source of IDs.
pub struct Ids {
    rng: StdRng,
}

impl Ids {
    /// Returns a source seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Ids {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Returns a new UUID.
    pub fn uuid(&mut self) -> String {
        format_uuid(self.rng.random())
    }

    /// Returns a new MAC address in OpenStack's `fa:16:3e` range.
    pub fn mac(&mut self) -> String {
        let b: [u8; 3] = self.rng.random();
        format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
    }

    /// Returns `n` lowercase alphanumerics (cluster ID suffixes, pod name hashes).
    pub fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n)
            .map(|_| A[self.rng.random_range(0..A.len())] as char)
            .collect()
    }

    /// Returns a number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.random_range(0..n.max(1))
    }
}
