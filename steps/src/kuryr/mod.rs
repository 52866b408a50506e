//! Kuryr decisions.
