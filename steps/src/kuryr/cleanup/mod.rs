//! The Kuryr cleanup (C0–C22) and its restore, as pure parts the workflow
//! driver runs.
//!
//! [`snapshot`] is the typed, content-addressed C0 snapshot and [`collect`]
//! reads it (read-only, bounded concurrency); [`select`] decides, from the
//! snapshot alone, every object to delete and every object kept on purpose,
//! each with its reason; [`graph`] turns that selection into the C4–C22
//! operations as a dependency graph (layers, critical path, digest);
//! [`verdict`] classifies what each operation's call or re-observation
//! answered, and [`edge`] sends one operation's call and re-reads it;
//! [`restore`] plans recreating what a cleanup deleted ([`body`] builds
//! its create calls) and [`share`] measures how much of it came back;
//! [`record`] reads a cleanup run back from its journal, and [`run`] is the
//! cleanup as a journaled, resumable workflow on the engine. Only
//! [`collect`], [`edge`] and [`run`] perform I/O.

pub mod body;
pub mod collect;
pub mod edge;
#[cfg(test)]
pub(crate) mod fixture;
pub mod graph;
pub mod record;
pub mod restore;
pub mod restore_run;
pub mod run;
pub mod select;
pub mod share;
pub mod snapshot;
pub mod verdict;

pub use snapshot::Snapshot;
