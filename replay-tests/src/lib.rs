//! End-to-end tests of ovn-migrate against the lab live under `tests/`.
