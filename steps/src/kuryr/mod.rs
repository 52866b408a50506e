//! The Kuryr → OVN-Kubernetes migration's pure decisions (M0–M11).
//!
//! One file per concern, each taking plain data (`serde_json::Value` from
//! `steps::kube`, or small structs) and returning plain data, with unit tests
//! on hand-built JSON: identities and `kuryr.conf` ([`identity`], [`ini`]),
//! M0 ([`precheck`], [`geneve`]), M4 ([`settings`], [`cidr`]), M5/M6 ([`rollout`]), M8
//! ([`multus`]), M9 ([`reboot`], [`ssh`]), M10 ([`verify`]) and the ordered
//! plan with its discovery digest ([`plan`], [`digest`]). Every exact string
//! from the spec is in [`names`]. Nothing here performs I/O.

pub mod cidr;
pub mod cleanup;
pub mod digest;
pub mod finding;
pub mod geneve;
pub mod identity;
pub mod ini;
pub mod merge;
pub mod migrate;
pub mod multus;
pub mod names;
pub mod plan;
pub mod precheck;
pub mod readings;
pub mod reboot;
pub mod rollout;
pub mod settings;
pub mod ssh;
pub mod verify;

pub use finding::{Finding, Severity, any_blocks};
pub use plan::{Action, Operation, Plan, StepId, build_plan};
