//! The Kuryr → OVN-Kubernetes migration's pure decisions (M0–M11).
pub mod cidr;
pub mod finding;
pub mod identity;
pub mod ini;
pub mod names;
pub mod precheck;
pub mod readings;
