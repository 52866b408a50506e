//! The step engine and the workflows of ovn-migrate.
pub mod kube;
pub mod kuryr;
