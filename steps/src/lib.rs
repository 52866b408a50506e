//! The step engine and the workflows of ovn-migrate.
pub mod engine;
pub mod kube;
pub mod kuryr;
pub mod openstack;
pub mod ovs;
pub mod redact;
pub mod replay;
pub mod workflow;
