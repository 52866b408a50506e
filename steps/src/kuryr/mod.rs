//! The Kuryr → OVN-Kubernetes migration's pure decisions (M0–M11).
pub mod cidr;
pub mod finding;
pub mod identity;
pub mod ini;
pub mod multus;
pub mod names;
pub mod precheck;
pub mod readings;
pub mod reboot;
pub mod rollout;
pub mod settings;
pub mod ssh;
