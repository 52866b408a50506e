//! The lab's Kubernetes API server: a generic store of JSON objects, driven by
//! a table of kinds, served over HTTP like kube-apiserver.
//!
//! [`kinds`] is the table; [`Store`] holds the objects and implements the
//! verbs (the write rules are in `write.rs`); [`server`] maps URLs onto the
//! store; [`discovery`] answers the discovery endpoints from the table;
//! [`table`] prints server-side Tables for `kubectl get`; [`openapi`] serves
//! the OpenAPI documents kubectl validates and patches with, [`validation`]
//! `fieldValidation`, [`strategic`] strategic merge patch, [`protobuf`] the
//! protobuf request bodies kubectl sends for built-in kinds, [`crd`] the
//! kinds CustomResourceDefinitions add, [`scale`] the scale subresource,
//! `dryrun.rs` `dryRun=All`, and [`exec`] `pods/exec` over the WebSocket
//! channel protocol.

pub mod crd;
pub mod discovery;
mod dryrun;
pub mod error;
pub mod exec;
pub mod kinds;
pub mod kubeconfig;
pub mod openapi;
pub mod patch;
pub mod protobuf;
mod protobuf_workloads;
pub mod scale;
pub mod selectors;
pub mod server;
mod store;
pub mod strategic;
pub mod table;
pub mod validation;
mod verbs;
mod write;

pub use error::ApiError;
pub use kinds::{KINDS, Kind};
pub use server::{ApiServer, start};
pub use store::{EventType, ListOptions, ListPage, Store, WatchEvent, resolve};
pub use write::{Patch, Preconditions, now};
