//! The OpenStack OVS → OVN readiness workflow (`spec/ovs-to-ovn.md`): the
//! assessment's groundwork, and the fixes built on it.
//!
//! [`collect`] reads an [`Inventory`] (Neutron and Nova, paginated,
//! concurrent, only the fields needed) and the OpenStackDeployment;
//! [`Settings`] resolves the deployment's values and the flags; every check
//! in [`checks`] is a pure function of the two; [`report`] renders the
//! reference's YAML and the table. Only [`fix`] writes to the cloud: the
//! checks' safe remediations, journaled, on the step engine.

pub mod checks;
pub mod collect;
pub mod fix;
pub mod inventory;
pub mod mtu;
pub mod prepare;
pub mod report;
pub mod settings;

pub use checks::{ALL as CHECKS, Check, CheckResult, Severity, run_all};
pub use collect::{CollectOptions, CollectStats, collect, read_deployment};
pub use inventory::Inventory;
pub use settings::{Flags, Settings};
