//! Thin, typed access to the Kubernetes API for every step.
//!
//! A client built as `oc` users expect ([`connect`]), a table of the resource
//! kinds the tool touches ([`Kind`]), generic JSON reads and writes over
//! `DynamicObject` ([`get`], [`list_all`], [`merge_patch`], [`json_patch`],
//! [`delete`]), the spec's finalizer removal ([`remove_finalizer`]), one
//! error type sorted by what a step does next ([`KubeError`], [`ErrorKind`]),
//! the cluster [`lease`] that keeps a second machine out, and running a
//! command in a pod over the exec protocol ([`exec`], [`KubeClient::exec`]).
//! Decision code never sees a client: it gets the `serde_json::Value`s these
//! functions return.

mod client;
mod error;
pub mod exec;
mod finalizer;
pub mod lease;
mod ops;
mod resources;

pub use client::{
    ClientOptions, KubeClient, KubeconfigPaths, check_reachable, connect, kubeconfig_paths,
    read_kubeconfig, select_context, server_of,
};
pub use error::{ErrorKind, ExecProblem, KubeError, classify_status};
pub use exec::{ExecOptions, ExecOutput, ExecProtocol};
pub use finalizer::{
    FINALIZER_ATTEMPTS, FinalizerOutcome, FinalizerSweep, carrying, finalizers, removal_patch,
    remove_finalizer, remove_finalizer_everywhere,
};
pub use ops::{Deleted, PAGE_SIZE, delete, get, json_patch, list_all, merge_patch};
pub use resources::{Kind, ObjectRef, ResourceKind};
