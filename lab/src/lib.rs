//! The lab: a simulated OpenShift-on-OpenStack cluster served over real HTTP on
//! loopback, for tests, benchmarks and the demo.
//!
//! * [`k8s`]: a generic Kubernetes API server (one JSON store, a table of kinds).
//! * [`controllers`]: the network operator, the machine config operator and
//!   nodes, as small tasks reacting to store changes.
//! * [`openstack`]: Keystone, Neutron, Octavia and Nova models whose answers
//!   follow the real services (the conformance suite is their specification).
//! * [`scenario`]: seeded generators of Kuryr clusters and OVS-era clouds.
//! * [`faults`]: fault injection and per-object call accounting, on every server.
//! * [`galera`]: the MariaDB Galera StatefulSet whose pods answer exec (real MariaDB or simulated).
//! * [`Lab`] (in `lab.rs`): starts all of it and writes a kubeconfig and a clouds.yaml.
//! * [`OvsLab`] (in `ovs_lab.rs`): the OVS-era cloud and its OpenStackDeployment, for the `ovs` workflow.

pub mod controllers;
pub mod faults;
pub mod galera;
pub mod k8s;
mod lab;
pub mod openstack;
mod ovs_lab;
pub mod scenario;

pub use lab::*;
pub use ovs_lab::OvsLab;
